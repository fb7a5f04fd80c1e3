// Runtime helpers for senders' own applications and operators; imports no Pulumi code.
export { InvalidInputError, normaliseEmail } from "./functions/shared/email";
export * from "./functions/shared/feedback-events";
export { applicationMetricsNamespace, publishSendOutcomes, SEND_OUTCOME_METRICS, sendOutcomeEmf, sendOutcomeMetricData, type SendOutcomes } from "./functions/shared/send-outcomes";
export * from "./functions/shared/sender-admin";
export * from "./functions/shared/sender-check";
export * from "./functions/shared/sender-reputation";
export * from "./functions/shared/suppression-client";
export { deriveSmtpPassword } from "./functions/shared/smtp-password";
// The feedback worker as a long-polling consumer (EKS: deploy/feedback-worker, `ses-mail feedback manifests`).
export { runFeedbackWorker, pollerOptionsFromEnv, resolvePollerSettings } from "./functions/feedback-worker/poller";
export type { FeedbackWorkerHandle, FeedbackWorkerOptions, FeedbackWorkerStats, ResolvedPollerSettings, WorkerClock } from "./functions/feedback-worker/poller";
// Types the worker's options name, so that applications (and the API reference) can use them.
export type { FeedbackSettings } from "./functions/feedback-worker/logic";
export type { FeedbackMessageMeta } from "./functions/feedback-worker/record";
export type { WorkerSettings } from "./functions/feedback-worker/settings";
