// What every SMTP manager test runs with: the test stack's SES scope and the manager's settings as
// the component sets them; each test adds its own ports (IAM, store, KMS), clock and sinks.
import type { ManagerContext } from "../../../functions/smtp-credential-manager/manager";
import { SMTP_USER_BOUNDARY } from "../../support/fake-iam";

export const IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com";
export const CONFIGURATION_SET = "arn:aws:ses:us-east-1:123456789012:configuration-set/ses-mail-outbound-test";

/** The scope and settings part of a ManagerContext. */
export const TEST_SCOPE = {
    region: "us-east-1", identityArns: [IDENTITY], configurationSetArns: [CONFIGURATION_SET], permissionsBoundaryArn: SMTP_USER_BOUNDARY,
    iamPath: "/ses-mail/test/", tags: { Service: "ses-mail" }, maxAttempts: 3, rotationOverlapSeconds: 3600, stuckAfterSeconds: 7200,
} satisfies Partial<ManagerContext>;
