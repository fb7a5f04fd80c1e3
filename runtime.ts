// Runtime helpers for senders' own applications and operators; imports no Pulumi code.
export { InvalidInputError, normaliseEmail } from "./functions/shared/email";
export * from "./functions/shared/feedback-events";
export * from "./functions/shared/sender-admin";
export * from "./functions/shared/sender-reputation";
export * from "./functions/shared/suppression-client";
export { deriveSmtpPassword } from "./functions/shared/smtp-password";
