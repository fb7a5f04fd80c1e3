// Runtime helpers for senders' own applications; imports no Pulumi code.
export { InvalidInputError, normaliseEmail } from "./functions/shared/email";
export * from "./functions/shared/suppression-client";
