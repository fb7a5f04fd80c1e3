// MailIngest's arguments and their checks, apart from the component so each file stays readable.
import type * as pulumi from "@pulumi/pulumi";
import type { MailDomain } from "./mail-domain";
import { GMAIL_IMPORT_LIMIT_BYTES } from "../functions/gmail-forwarder/limits";
import { DLQ_RETENTION_SECONDS, MINIMUM_MAIL_RETENTION_DAYS, RETRY_QUEUE_RETENTION_SECONDS } from "./retention";
import { accountSlug } from "./naming";
import type { SuppressionStore } from "./suppression-store";

export interface MailIngestArgs {
    env: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Domains to receive mail for. */
    domains: string[];
    /** Identities created elsewhere (e.g. FeedbackPipeline's); domains without one get a MailDomain here. @default none */
    mailDomains?: MailDomain[];
    /** Route 53 zone for the MX (and, for domains created here, the identity) records. */
    hostedZoneId?: pulumi.Input<string>;
    /** Receipt rule set to create, or to join when `createRuleSet` is false. @default "ses-mail-receipt-rules-<env>" */
    ruleSetName?: string;
    /** Create and activate the rule set; false joins an existing active set owned elsewhere. @default true */
    createRuleSet?: boolean;
    /** @default true */
    scanEnabled?: boolean;
    /** @default true */
    tlsRequired?: boolean;
    /** Days raw mail is kept in S3. @default 90 */
    mailRetentionDays?: number;
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
    tags?: Record<string, string>;
}

/** Checks the args that would otherwise fail only at deploy or run time (pure). */
export function validateMailIngestArgs(args: Pick<MailIngestArgs, "domains" | "gmailAccounts" | "defaultAction" | "mailRetentionDays" | "maxImportBytes" | "forwarderMaxConcurrency" | "gmailImportsPerMinute">): void {
    if (args.domains.length === 0) {
        throw new Error("MailIngest: domains is empty; list the domains to receive mail for.");
    }
    for (const account of args.gmailAccounts ?? []) {
        if (!/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/.test(account) || account !== account.toLowerCase()) {
            throw new Error(`MailIngest: gmailAccounts entry "${account}" is not a lowercase email address.`);
        }
    }
    const slugs = new Map<string, string>();
    for (const account of args.gmailAccounts ?? []) {
        const other = slugs.get(accountSlug(account));
        if (other !== undefined) {
            throw new Error(`MailIngest: gmailAccounts "${other}" and "${account}" map to the same resource names ("${accountSlug(account)}"), which their token monitors cannot share.`);
        }
        slugs.set(accountSlug(account), account);
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
