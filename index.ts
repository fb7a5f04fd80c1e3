// Components and building blocks for Pulumi programs. Runtime code for applications (no Pulumi
// dependency) is in "@ses-mail/pulumi/runtime", also published alone as "@ses-mail/runtime".
export * from "./components/alarm-specs";
export * from "./components/alarms";
export * from "./components/bundle";
export * from "./components/dashboard";
export * from "./components/dead-letter-queue";
export * from "./components/encrypted-topic";
export * from "./components/feedback-pipeline";
export * from "./components/grants";
export * from "./components/iam";
export * from "./components/kms-key";
export * from "./components/lambda-function";
export * from "./components/mail-domain";
export * from "./components/mail-ingest";
export * from "./components/naming";
export * from "./components/queue-with-dlq";
export * from "./components/retry-drain";
export * from "./components/runbooks";
export * from "./components/saved-queries";
export * from "./components/sending-guard";
export * from "./components/smtp-credentials";
export * from "./components/stack-env";
export * from "./components/suppression-store";
export * from "./components/state-machine";
export * from "./components/table-settings";
export * from "./components/token-monitor";
export * from "./components/transform";
export { deriveSmtpPassword } from "./functions/shared/smtp-password";
// Named by ResolvedFeedbackSettings: exported so the API reference can show it.
export type { FeedbackSettings } from "./functions/feedback-worker/logic";
