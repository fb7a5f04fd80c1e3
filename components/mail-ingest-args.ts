// MailIngest's arguments and their checks, apart from the component so each file stays readable.
import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { MailDomain } from "./mail-domain";
import { GMAIL_IMPORT_LIMIT_BYTES } from "../functions/gmail-forwarder/limits";
import { DLQ_RETENTION_SECONDS, MINIMUM_MAIL_RETENTION_DAYS, RETRY_QUEUE_RETENTION_SECONDS } from "./retention";
import { accountSlug, domainSlug, nameClash } from "./naming";
import type { SuppressionStore } from "./suppression-store";
import type { Transform } from "./transform";

/** How MailIngest's receipt rule gets into the account's active rule set; see `MailIngestArgs.ruleSetMode`. */
export type ReceiptRuleSetMode = "join" | "own" | "takeover";

/**
 * Receipt rule SET names as SES accepts them (SES API Reference, "CreateReceiptRuleSet": only ASCII
 * letters, digits, `_` and `-`; start and end with a letter or digit; 64 characters or fewer).
 */
export const SES_RECEIPT_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62}[A-Za-z0-9])?$/;
export const SES_RECEIPT_NAME_RULE = "use 1-64 letters, digits, '_' or '-', starting and ending with a letter or digit";
/** Receipt RULE names: the same, but periods are allowed too (SES API Reference, "ReceiptRule": `Name`). */
export const SES_RECEIPT_RULE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$/;
export const SES_RECEIPT_RULE_NAME_RULE = "use 1-64 letters, digits, '_', '-' or '.', starting and ending with a letter or digit";

/** The children of a MailIngest a `transform` can change (each applied before the child is created). */
export interface MailIngestTransform {
    /** The raw-mail `aws.s3.Bucket` (its encryption, public-access block and policy are separate resources). */
    bucket?: Transform<aws.s3.BucketArgs>;
    /** The routing-rules table (`aws.dynamodb.Table`). */
    routingTable?: Transform<aws.dynamodb.TableArgs>;
    /** The forwarder's and bouncer's idempotency table. */
    idempotencyTable?: Transform<aws.dynamodb.TableArgs>;
    /** The SNS topic SES notifies of received mail. */
    topic?: Transform<aws.sns.TopicArgs>;
    /** The routing event bus (`aws.cloudwatch.EventBus`). */
    eventBus?: Transform<aws.cloudwatch.EventBusArgs>;
    /** The routing pipe (`aws.pipes.Pipe`). */
    pipe?: Transform<aws.pipes.PipeArgs>;
    /** The input queue (`aws.sqs.Queue`) SES notifications land in. */
    inputQueue?: Transform<aws.sqs.QueueArgs>;
    /** The input queue's DLQ. */
    inputDlq?: Transform<aws.sqs.QueueArgs>;
    /** The forwarder's queue. */
    forwarderQueue?: Transform<aws.sqs.QueueArgs>;
    /** The forwarder's DLQ. */
    forwarderDlq?: Transform<aws.sqs.QueueArgs>;
    /** The token retry queue (mail parked while a Gmail token is invalid). */
    retryQueue?: Transform<aws.sqs.QueueArgs>;
    /** The bouncer's queue. */
    bouncerQueue?: Transform<aws.sqs.QueueArgs>;
    /** The bouncer's DLQ. */
    bouncerDlq?: Transform<aws.sqs.QueueArgs>;
    /** The router's `aws.lambda.Function` (the pipe's enrichment). */
    routerFunction?: Transform<aws.lambda.FunctionArgs>;
    /** The Gmail forwarder's `aws.lambda.Function`. */
    forwarderFunction?: Transform<aws.lambda.FunctionArgs>;
    /** The bouncer's `aws.lambda.Function`. */
    bouncerFunction?: Transform<aws.lambda.FunctionArgs>;
    /** The router's execution role. */
    routerRole?: Transform<aws.iam.RoleArgs>;
    /** The forwarder's execution role. */
    forwarderRole?: Transform<aws.iam.RoleArgs>;
    /** The bouncer's execution role. */
    bouncerRole?: Transform<aws.iam.RoleArgs>;
}

/** Arguments of {@link MailIngest}. */
export interface MailIngestArgs {
    /**
     * Environment name: the last part of physical names (`ses-mail-email-routing-<env>`), the
     * `Environment` tag and the metrics namespace (`SESMail/<env>`).
     * @default the stack name (`pulumi.getStack()`)
     */
    env?: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /**
     * The region whose global names (IAM roles, the mail bucket) keep their region-free form; in any
     * other region they end with the region (`globalPhysicalName`). @default none: they always do
     */
    homeRegion?: string;
    /** Domains to receive mail for. */
    domains: string[];
    /**
     * Identities created elsewhere (e.g. FeedbackPipeline's); domains without one get a MailDomain here.
     * @default none
     * @example feedback.mailDomains
     */
    mailDomains?: MailDomain[];
    /**
     * Route 53 zone for the MX (and, for domains created here, the identity) records.
     * @default none: the records are only outputs (`dnsRecords`) to publish elsewhere
     */
    hostedZoneId?: pulumi.Input<string>;
    /**
     * How the receipt rule gets into the account's one active rule set (activating a set deactivates
     * the one before: other systems' mail would stop).
     * - `join`: add the rule to the set active at deploy time, which this stack does not own; with
     *   `ruleSetName`, that set must be the active one (the deploy fails, naming the fix, when it is
     *   not, when none is, or when the active set is this stack's own old one).
     * - `own`: create `ruleSetName` and activate it; the deploy fails instead when another set is active.
     * - `takeover`: create and activate it even if that deactivates another set (explicit opt-in).
     * @default "join"
     */
    ruleSetMode?: ReceiptRuleSetMode;
    /** `join`: the set to add the rule to, checked to be the active one (@default the active one); `own`/`takeover`: the set to create. @default "ses-mail-receipt-rules-<env>" */
    ruleSetName?: string;
    /** Place the rule right after this rule of the set (SES evaluates rules in order). @default first in the set */
    ruleAfter?: string;
    /** @default true */
    scanEnabled?: boolean;
    /** @default true */
    tlsRequired?: boolean;
    /** Days raw mail is kept in S3. @default 90 */
    mailRetentionDays?: number;
    /** Roles that may read raw mail besides the forwarder (the bucket policy denies everyone else), e.g. a break-glass role. @default none */
    mailReaderRoleArns?: pulumi.Input<string>[];
    /** Deletion protection of the routing table (rules, SMTP users) and the idempotency table. @default true */
    deletionProtection?: boolean;
    /** @default "ses-mail-email-routing-<env>" */
    routingTableName?: string;
    /** Stream the routing table (SmtpCredentials consumes it). @default false */
    routingTableStream?: boolean;
    /** What unmatched mail gets. @default "store" */
    defaultAction?: "forward-to-gmail" | "bounce" | "store" | "drop";
    /** Spam verdict FAIL: drop, or forward with the SPAM label. @default "drop" */
    spamAction?: "drop" | "label";
    /** @default 60 */
    ruleCacheTtlSeconds?: number;
    /** Gmail accounts rules may forward to (each has its refresh-token parameter). @default none */
    gmailAccounts?: string[];
    /** Watch each Gmail account's refresh token (a TokenMonitor per account). @default true */
    tokenMonitoring?: boolean;
    /** Token alerts go to this topic instead of a new `<prefix>-gmail-forwarder-token-alerts-<env>`. @default created */
    tokenAlertTopicArn?: pulumi.Input<string>;
    /** Subscriptions of the created token-alerts topic. @default none */
    tokenAlertEmails?: string[];
    /** @default none */
    tokenAlertHttpsEndpoints?: string[];
    /** Warning when a token expires within this many hours. @default 24 */
    tokenWarningHours?: number;
    /** Create the tokens' WARNING-tier alarm (expiring within `tokenWarningHours`); the CRITICAL ones always exist. @default true */
    tokenWarningAlarms?: boolean;
    /** Critical when a token expires within this many hours. @default 6 */
    tokenCriticalHours?: number;
    /** @default "dateHeader" */
    internalDateSource?: "dateHeader" | "receivedTime";
    /** @default false */
    neverMarkSpam?: boolean;
    /**
     * Larger mail gets a notice with its S3 location instead of being imported. SES stores at most
     * 40 MB per mail, so with the default (Gmail's import limit) every mail is imported.
     * @default 157286400 (150 MiB, Gmail's `users.messages.import` limit)
     */
    maxImportBytes?: number;
    /** Concurrent forwarder invocations (the SQS trigger's maximum concurrency, 2–1000). @default 2 */
    forwarderMaxConcurrency?: number;
    /** Imports a minute across all forwarder instances; Gmail allows 240 per mailbox (600 for Cloud projects older than May 2026). @default 240 */
    gmailImportsPerMinute?: number;
    /** Local part of the bounce sender. @default "MAILER-DAEMON" */
    bounceSenderLocalPart?: string;
    /** The bouncer never bounces to a suppressed sender. */
    suppressionStore: SuppressionStore;
    /** @default 30 */
    logRetentionDays?: number;
    /**
     * Log mail addresses as keyed hashes instead of in the clear (see docs/DATA.md). @default false
     */
    hashAddressesInLogs?: boolean;
    /**
     * ARN of the KMS key the inbound topic and the created token-alerts topic are encrypted with,
     * instead of keys of their own ($1 a key-month each): one key per stack shared by its
     * components. Its key policy must let SES and CloudWatch use it (`KEY_SERVICE_USERS`, as
     * `stackKmsKey`'s does). The mail bucket stays SSE-S3, the tables on the AWS-managed key.
     * @default keys of its own, `<name>-key` and `<name>-token-alerts-key`
     * @example stackKey.arn
     */
    kmsKeyArn?: pulumi.Input<string>;
    /**
     * With `kmsKeyArn`, while moving a deployed stack onto it: still declare the keys this component
     * created before (same URNs), retained on delete and unused, so that the deploy without this flag
     * leaves them in AWS instead of scheduling their deletion (docs/OPERATIONS.md, "One KMS key per stack").
     * @default false
     */
    retainOwnKey?: boolean;
    /** Tags added to the standard ones on every taggable child. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
    /**
     * Changes to a child's arguments before it is created: a partial object merged over them, or a
     * function editing them (see `Transform`). The policy pack still checks the result.
     * @default none
     * @example { forwarderFunction: { memorySize: 1024 }, routingTable: { deletionProtectionEnabled: false } }
     */
    transform?: MailIngestTransform;
}

/** Checks the args that would otherwise fail only at deploy or run time (pure). */
export function validateMailIngestArgs(args: Pick<MailIngestArgs, "domains" | "gmailAccounts" | "defaultAction" | "mailRetentionDays" | "maxImportBytes" | "forwarderMaxConcurrency" | "gmailImportsPerMinute" | "ruleSetName" | "ruleAfter">): void {
    if (args.domains.length === 0) {
        throw new Error("MailIngest: domains is empty; list the domains to receive mail for.");
    }
    const domainClash = nameClash(args.domains, domainSlug);
    if (domainClash !== undefined) {
        throw new Error(`MailIngest: domains: ${domainClash}; each domain gets its own MX record and identity, so list each once.`);
    }
    for (const account of args.gmailAccounts ?? []) {
        if (!/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/.test(account) || account !== account.toLowerCase()) {
            throw new Error(`MailIngest: gmailAccounts entry "${account}" is not a lowercase email address.`);
        }
    }
    const accountClash = nameClash(args.gmailAccounts ?? [], accountSlug);
    if (accountClash !== undefined) {
        throw new Error(`MailIngest: gmailAccounts: ${accountClash}, which their token monitors cannot share.`);
    }
    const names: [key: string, value: string | undefined, pattern: RegExp, rule: string][] = [
        ["ruleSetName", args.ruleSetName, SES_RECEIPT_NAME, SES_RECEIPT_NAME_RULE],
        ["ruleAfter", args.ruleAfter, SES_RECEIPT_RULE_NAME, SES_RECEIPT_RULE_NAME_RULE],
    ];
    for (const [key, value, pattern, rule] of names) {
        if (value !== undefined && !pattern.test(value)) {
            throw new Error(`MailIngest: ${key} "${value}" is not a name SES accepts: ${rule}.`);
        }
    }
    if (args.defaultAction === "forward-to-gmail") {
        throw new Error("MailIngest: defaultAction forward-to-gmail has no target; use a ROUTE#* rule with a target instead.");
    }
    if (args.mailRetentionDays !== undefined && (!Number.isInteger(args.mailRetentionDays) || args.mailRetentionDays < 1)) {
        throw new Error(`MailIngest: mailRetentionDays must be a positive whole number (got ${args.mailRetentionDays}).`);
    }
    if (args.mailRetentionDays !== undefined && args.mailRetentionDays < MINIMUM_MAIL_RETENTION_DAYS) {
        throw new Error(
            `MailIngest: mailRetentionDays ${args.mailRetentionDays} is shorter than a mail may wait (${DLQ_RETENTION_SECONDS / 86400} days in the input DLQ, ` +
            `parked ${RETRY_QUEUE_RETENTION_SECONDS / 86400} days, then ${DLQ_RETENTION_SECONDS / 86400} days in the forwarder's DLQ): set it to at least ${MINIMUM_MAIL_RETENTION_DAYS}.`,
        );
    }
    if (args.maxImportBytes !== undefined && (!Number.isInteger(args.maxImportBytes) || args.maxImportBytes < 1 || args.maxImportBytes > GMAIL_IMPORT_LIMIT_BYTES)) {
        throw new Error(`MailIngest: maxImportBytes must be a whole number from 1 to ${GMAIL_IMPORT_LIMIT_BYTES} (Gmail's import limit); got ${args.maxImportBytes}.`);
    }
    if (args.forwarderMaxConcurrency !== undefined && (!Number.isInteger(args.forwarderMaxConcurrency) || args.forwarderMaxConcurrency < 2 || args.forwarderMaxConcurrency > 1000)) {
        throw new Error(`MailIngest: forwarderMaxConcurrency must be a whole number from 2 to 1000 (an SQS trigger's maximum concurrency); got ${args.forwarderMaxConcurrency}.`);
    }
    if (args.gmailImportsPerMinute !== undefined && !(args.gmailImportsPerMinute > 0)) {
        throw new Error(`MailIngest: gmailImportsPerMinute must be positive (Gmail allows 240 per mailbox, 600 in projects older than May 2026); got ${args.gmailImportsPerMinute}.`);
    }
}
