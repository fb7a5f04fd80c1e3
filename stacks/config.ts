import * as z from "zod/mini";
import { SES_RECEIPT_NAME, SES_RECEIPT_NAME_RULE, SES_RECEIPT_RULE_NAME, SES_RECEIPT_RULE_NAME_RULE } from "../components/mail-ingest-args";
import { accountSlug, domainSlug, nameClash, reservedBucketPrefix, S3_RESERVED_BUCKET_PREFIXES } from "../components/naming";
import { MINIMUM_MAIL_RETENTION_DAYS } from "../components/retention";
import { GMAIL_IMPORT_LIMIT_BYTES } from "../functions/gmail-forwarder/limits";
import { DEFAULT_QUOTA_THRESHOLDS } from "../functions/shared/send-quota";

export const CONFIG_NAMESPACE = "ses-mail";

// CloudWatch Logs accepts only these retention periods.
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

const nameSegment = z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{0,15}$/));

const suppressionSchema = z.strictObject({
    tableName: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/))),
    mirrorToSes: z.optional(z.boolean()),
    deletionProtection: z.optional(z.boolean()),
    kmsKeyArn: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:kms:/))),
});

const positiveInt = z.optional(z.int().check(z.positive()));
const domainName = z.string().check(z.regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/));

const feedbackSchema = z.strictObject({
    domains: z._default(z.array(domainName), []),
    hostedZoneId: z.optional(z.string().check(z.regex(/^Z[A-Z0-9]{1,32}$/))),
    configurationSetName: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/))),
    dmarcPolicy: z.optional(z.enum(["none", "quarantine", "reject"])),
    publishDomainSpf: z.optional(z.boolean()),
    dmarcReportAddress: z.optional(z.email()),
    spfAll: z.optional(z.enum(["~all", "-all"])),
    identityNotifications: z.optional(z.boolean()),
    sesSuppressedReasons: z.optional(z.array(z.enum(["BOUNCE", "COMPLAINT"]))),
    eventRetentionDays: positiveInt,
    transientThreshold: positiveInt,
    transientWindowDays: positiveInt,
    transientSuppressionDays: positiveInt,
    complaintFlagThreshold: positiveInt,
    complaintRestrictThreshold: positiveInt,
    complaintWindowDays: positiveInt,
    senderTag: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_:-]{1,255}$/))),
    notificationEmails: z.optional(z.array(z.email())),
    builtInWorker: z.optional(z.boolean()),
    externalConsumer: z.optional(z.strictObject({
        oidcProviderArn: z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/.+$/)),
        namespace: z.string().check(z.regex(/^[a-z0-9-]{1,63}$/)),
        serviceAccount: z.string().check(z.regex(/^[a-z0-9.-]{1,253}$/)),
    })),
});

// IAM's ARN operators read `*` and `?` as wildcards ("IAM JSON policy elements: Condition
// operators", ARN): in an exemption list they would exempt whole families of principals.
const EXACT_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const EXACT_PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:((role|user)\/[\w+=,.@/-]+|root)$/;

const ingestSchema = z.strictObject({
    domains: z._default(z.array(domainName), []),
    hostedZoneId: z.optional(z.string().check(z.regex(/^Z[A-Z0-9]{1,32}$/))),
    ruleSetMode: z.optional(z.enum(["join", "own", "takeover"])),
    ruleSetName: z.optional(z.string().check(z.regex(SES_RECEIPT_NAME))),
    ruleAfter: z.optional(z.string().check(z.regex(SES_RECEIPT_RULE_NAME))),
    mailReaderRoleArns: z.optional(z.array(z.string().check(z.regex(EXACT_ROLE_ARN)))),
    scanEnabled: z.optional(z.boolean()),
    tlsRequired: z.optional(z.boolean()),
    mailRetentionDays: z.optional(z.int().check(z.gte(MINIMUM_MAIL_RETENTION_DAYS))),
    routingTableName: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/))),
    defaultAction: z.optional(z.enum(["bounce", "store", "drop"])),
    spamAction: z.optional(z.enum(["drop", "label"])),
    ruleCacheTtlSeconds: positiveInt,
    gmailAccounts: z.optional(z.array(z.email().check(z.regex(/^[^A-Z]+$/)))),
    internalDateSource: z.optional(z.enum(["dateHeader", "receivedTime"])),
    neverMarkSpam: z.optional(z.boolean()),
    maxImportBytes: z.optional(z.int().check(z.positive(), z.lte(GMAIL_IMPORT_LIMIT_BYTES))),
    forwarderMaxConcurrency: z.optional(z.int().check(z.gte(2), z.lte(1000))),
    gmailImportsPerMinute: positiveInt,
    bounceSenderLocalPart: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/))),
    tokenMonitoring: z.optional(z.boolean()),
    tokenAlertTopicArn: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:sns:/))),
    tokenAlertEmails: z.optional(z.array(z.email())),
    tokenAlertHttpsEndpoints: z.optional(z.array(z.url())),
    tokenWarningHours: positiveInt,
    tokenCriticalHours: positiveInt,
}).check(z.refine((ingest) => (ingest.tokenCriticalHours ?? 6) < (ingest.tokenWarningHours ?? 24), { path: ["tokenCriticalHours"] }));

const smtpSchema = z.strictObject({
    enabled: z._default(z.boolean(), false),
    adminPrincipalArns: z.optional(z.array(z.string().check(z.regex(EXACT_PRINCIPAL_ARN)))),
    deployerPrincipalArns: z.optional(z.array(z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user|root)/)))),
    maxAttempts: positiveInt,
    rotationOverlapHours: positiveInt,
    stuckAfterHours: positiveInt,
});

const alarmsSchema = z.strictObject({
    topicArn: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:sns:/))),
    emails: z.optional(z.array(z.email())),
    httpsEndpoints: z.optional(z.array(z.url())),
    nameSuffix: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{0,32}$/))),
    applicationNamespace: z.optional(z.string().check(z.minLength(1))),
    minimumSends: positiveInt,
    ratePeriodSeconds: positiveInt,
    queueAgeSeconds: positiveInt,
    warnings: z.optional(z.boolean()),
    accountAlarms: z.optional(z.boolean()),
});

/**
 * How the stack's topics and SMTP credentials are encrypted (docs/OPERATIONS.md, "One KMS key per
 * stack"): `per-component`, a key per component as before ($1 each a month); `shared`, one key for
 * the stack; `migrating`, the step between for a deployed stack: the shared key is used everywhere
 * while the components' old keys stay declared, retained on delete, so that `shared` then leaves them in AWS.
 */
export const KMS_MODES = ["per-component", "migrating", "shared"] as const;
const kmsSchema = z.strictObject({
    mode: z._default(z.enum(KMS_MODES), "per-component"),
});

// Percentages (rates, quota utilisation): above 0, at most 100.
const percent = z.optional(z.number().check(z.gt(0), z.lte(100)));

const sendingSchema = z.strictObject({
    brake: z.optional(z.boolean()),
    brakeBounceRatePercent: percent,
    brakeComplaintRatePercent: percent,
    brakeMinimumSends: positiveInt,
    quotaCheck: z.optional(z.boolean()),
    quotaWarningPercent: percent,
    quotaCriticalPercent: percent,
}).check(z.refine((sending) => (sending.quotaWarningPercent ?? DEFAULT_QUOTA_THRESHOLDS.warningPercent) < (sending.quotaCriticalPercent ?? DEFAULT_QUOTA_THRESHOLDS.criticalPercent), { path: ["quotaCriticalPercent"] }));

export const stackConfigSchema = z.strictObject({
    environment: nameSegment,
    // The mail bucket is named `<namePrefix>-email-…`: S3 refuses some name starts.
    namePrefix: z._default(nameSegment.check(z.refine((prefix) => reservedBucketPrefix(prefix) === undefined)), "ses-mail"),
    homeRegion: z.optional(z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/))),
    deletionProtection: z.optional(z.boolean()),
    hashAddressesInLogs: z.optional(z.boolean()),
    logRetentionDays: z._default(z.union(LOG_RETENTION_DAYS.map((days) => z.literal(days))), 30),
    suppression: z._default(suppressionSchema, {}),
    feedback: z._default(feedbackSchema, { domains: [] }),
    ingest: z._default(ingestSchema, { domains: [] }),
    smtp: z._default(smtpSchema, { enabled: false }),
    alarms: z._default(alarmsSchema, {}),
    sending: z._default(sendingSchema, {}),
    kms: z._default(kmsSchema, { mode: "per-component" }),
});

export type StackConfig = z.output<typeof stackConfigSchema>;

/** The keys this program reads, for spotting typos in Pulumi.<stack>.yaml. */
export const CONFIG_KEYS = Object.keys(stackConfigSchema.def.shape);

/** How to fix each key, quoted in errors. */
const FIXES: Record<string, string> = {
    environment: "set ses-mail:environment to a short lowercase name such as test or prod",
    namePrefix: `use lowercase letters, digits and hyphens (at most 16 characters), e.g. ses-mail; "<namePrefix>-" must not start with ${S3_RESERVED_BUCKET_PREFIXES.join(", ")} (S3 refuses bucket names starting so, and the mail bucket's name starts with it)`,
    logRetentionDays: `use one of CloudWatch's retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
    homeRegion: "give the region this env was deployed to first, e.g. us-east-1 (its global names keep their region-free form)",
    deletionProtection: "set it to true or false (false only for throwaway stacks: the tables hold suppressions, rules, SMTP users and feedback)",
    hashAddressesInLogs: "set it to true (functions log keyed hashes of addresses, see docs/DATA.md) or false",
    "suppression.tableName": "use 3-255 letters, digits, '_', '-' or '.', e.g. ses-email-suppression-list",
    "suppression.mirrorToSes": "set it to true or false",
    "suppression.deletionProtection": "set it to true or false",
    "suppression.kmsKeyArn": "give the full ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>)",
    "feedback.domains": "list lowercase sending domains, e.g. [mail.example.com]",
    "feedback.hostedZoneId": "give the Route 53 hosted zone id (Z...), or leave it out to publish the DNS records yourself",
    "feedback.configurationSetName": "use 1-64 letters, digits, '_' or '-'",
    "feedback.dmarcPolicy": "use none, quarantine or reject",
    "feedback.publishDomainSpf": "set it to true (publish the domains' own SPF record in hostedZoneId) or false",
    "feedback.dmarcReportAddress": "give an email address for DMARC aggregate reports",
    "feedback.spfAll": "use ~all (soft fail) or -all (fail)",
    "feedback.identityNotifications": "set it to true or false",
    "feedback.sesSuppressedReasons": "list BOUNCE and/or COMPLAINT",
    "feedback.senderTag": "give the name of the message tag that names the sender account, e.g. account",
    "feedback.notificationEmails": "list email addresses",
    "feedback.builtInWorker": "set it to true or false",
    "feedback.externalConsumer.oidcProviderArn": "give the EKS cluster's IAM OIDC provider ARN (arn:aws:iam::<account>:oidc-provider/...)",
    "feedback.externalConsumer.namespace": "give the Kubernetes namespace of the consumer",
    "feedback.externalConsumer.serviceAccount": "give the Kubernetes ServiceAccount name of the consumer",
    "ingest.domains": "list lowercase receiving domains, e.g. [mail.example.com]",
    "ingest.hostedZoneId": "give the Route 53 hosted zone id (Z...), or leave it out to publish the MX record yourself",
    "ingest.ruleSetMode": "use join (add the rule to the active set, which ruleSetName, if given, must name), own (create and activate this stack's set; refused while another is active) or takeover",
    "ingest.ruleSetName": `${SES_RECEIPT_NAME_RULE} (SES's rule for receipt rule set names)`,
    "ingest.ruleAfter": `give the name of a rule of the set: ${SES_RECEIPT_RULE_NAME_RULE}`,
    "ingest.mailReaderRoleArns": "list exact IAM role ARNs (arn:aws:iam::<account>:role/..., no * or ?) that may read raw mail besides the forwarder",
    "ingest.defaultAction": "use bounce, store or drop (forward with a ROUTE#* rule instead)",
    "ingest.spamAction": "use drop or label",
    "ingest.gmailAccounts": "list the lowercase Gmail addresses rules forward to",
    "ingest.internalDateSource": "use dateHeader or receivedTime",
    "ingest.mailRetentionDays": `use a whole number of at least ${MINIMUM_MAIL_RETENTION_DAYS} (mail may wait 14 days in the input DLQ, 14 parked, 14 in the forwarder's DLQ, and a redrive needs it in S3)`,
    "ingest.maxImportBytes": `use a whole number from 1 to ${GMAIL_IMPORT_LIMIT_BYTES} (Gmail's import limit)`,
    "ingest.forwarderMaxConcurrency": "use a whole number from 2 to 1000 (the SQS trigger's maximum concurrency)",
    "ingest.bounceSenderLocalPart": "use the local part only, e.g. MAILER-DAEMON",
    "ingest.tokenMonitoring": "set it to true or false",
    "ingest.tokenAlertTopicArn": "give an SNS topic ARN, or leave it out (alarms.topicArn, else a new …-gmail-forwarder-token-alerts-<env> topic)",
    "ingest.tokenAlertEmails": "list email addresses for Gmail token alerts (default: alarms.emails)",
    "ingest.tokenAlertHttpsEndpoints": "list https:// URLs",
    "ingest.tokenCriticalHours": "use a positive whole number below tokenWarningHours (defaults 6 and 24)",
    "smtp.enabled": "set it to true or false",
    "smtp.adminPrincipalArns": "list exact IAM role or user ARNs (no * or ?) allowed to decrypt SMTP credentials",
    "smtp.deployerPrincipalArns": "list the IAM role or user ARNs (not sts assumed-role ARNs) that run pulumi up for this stack: CI's role and operators' roles (IAM wildcards allowed, e.g. for SSO roles: role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_Admin_*)",
    "alarms.topicArn": "give an SNS topic ARN, or leave it out to create one",
    "alarms.emails": "list email addresses for alarm notifications",
    "alarms.httpsEndpoints": "list https:// URLs (e.g. a paging service's SNS endpoint)",
    "alarms.nameSuffix": "use letters, digits, '_' or '-', e.g. -test (rate alarms are named ses-<what>-<TIER><suffix>)",
    "alarms.warnings": "set it to true (WARNING-tier alarms too) or false (only CRITICAL ones: a throwaway environment)",
    "alarms.accountAlarms": "set it to true or false: the alarms on account-wide figures (SES reputation, Lambda throttles), needed by one stack per account and region",
    "kms.mode": "use per-component (a key per component), migrating (a deployed stack's step onto one key: the old keys kept, retained on delete) or shared (one key for the stack); see docs/OPERATIONS.md \"One KMS key per stack\"",
    "sending.brake": "set it to true (pause this stack's configuration set when a brake alarm fires) or false",
    "sending.brakeBounceRatePercent": "use a percentage above 0 and at most 100, e.g. 10 (the runbook's stop-sending bounce rate)",
    "sending.brakeComplaintRatePercent": "use a percentage above 0 and at most 100, e.g. 0.5 (where SES may pause the account)",
    "sending.brakeMinimumSends": "use a positive whole number: the brake ignores windows with fewer sends (default 100)",
    "sending.quotaCheck": "set it to true (publish send-quota utilisation and alarm on it) or false",
    "sending.quotaWarningPercent": "use a percentage above 0 and below quotaCriticalPercent (defaults 70 and 90)",
    "sending.quotaCriticalPercent": "use a percentage at most 100 and above quotaWarningPercent (defaults 70 and 90)",
};

/** Keys whose fix is generic: thresholds and windows. */
const POSITIVE_WHOLE_NUMBER = /^(feedback\.(eventRetentionDays|transient\w+|complaint\w+)|ingest\.(ruleCacheTtlSeconds|gmailImportsPerMinute|tokenWarningHours)|smtp\.(maxAttempts|rotationOverlapHours|stuckAfterHours)|alarms\.(minimumSends|ratePeriodSeconds|queueAgeSeconds))$/;

/** Raised for invalid stack config; the message names each key and its fix. */
export class StackConfigError extends Error {
    public override readonly name = "StackConfigError";
    constructor(public readonly problems: string[], stack: string) {
        super(`Invalid configuration in Pulumi.${stack}.yaml:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

/**
 * Validates raw stack config (already JSON-decoded values, keyed without the namespace). Pure, so
 * it is table-tested without Pulumi.
 */
export function parseStackConfig(raw: Record<string, unknown>, stack: string): StackConfig {
    const problems: string[] = [];
    for (const key of Object.keys(raw)) {
        if (!CONFIG_KEYS.includes(key)) {
            problems.push(`${CONFIG_NAMESPACE}:${key}: unknown key. Fix: remove it, or use one of ${CONFIG_KEYS.map((k) => `${CONFIG_NAMESPACE}:${k}`).join(", ")}.`);
        }
    }
    const known = Object.fromEntries(Object.entries(raw).filter(([key]) => CONFIG_KEYS.includes(key)));
    const result = stackConfigSchema.safeParse(known);
    if (!result.success) {
        for (const issue of result.error.issues) {
            const path = issue.path.map(String);
            const unknownKeys = issue.code === "unrecognized_keys" ? issue.keys : [];
            if (unknownKeys.length > 0) {
                for (const key of unknownKeys) {
                    const name = [...path, key].join(".");
                    problems.push(`${CONFIG_NAMESPACE}:${name}: unknown key. Fix: ${REPLACED_KEYS[name] ?? "remove it or check its spelling"}.`);
                }
                continue;
            }
            const key = path.join(".");
            const got = path.reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], known);
            const fix = FIXES[key] ?? (POSITIVE_WHOLE_NUMBER.test(key) ? "use a positive whole number" : FIXES[path[0] + "." + path[1]] ?? "see the configuration table in docs/DEPLOYING.md");
            problems.push(`${CONFIG_NAMESPACE}:${key}: ${got === undefined ? "missing" : `invalid value ${JSON.stringify(got)}`}. Fix: ${fix}.`);
        }
    }
    if (result.success) {
        problems.push(...clashProblems(result.data));
    }
    if (problems.length > 0) {
        throw new StackConfigError(problems, stack);
    }
    return (result as { data: StackConfig }).data;
}

/** Keys that were replaced, and what replaces them. */
const REPLACED_KEYS: Record<string, string> = {
    "ingest.createRuleSet": "use ingest.ruleSetMode instead: join (what createRuleSet: false did), or own (createRuleSet: true, but refused while another system's set is active)",
};

/**
 * List entries that would become one resource twice (a duplicate URN fails `pulumi up`) or one
 * subscription, principal or reason twice.
 */
function clashProblems(config: StackConfig): string[] {
    const lists: [key: string, values: readonly string[] | undefined, segment?: (value: string) => string][] = [
        ["feedback.domains", config.feedback.domains, domainSlug],
        ["feedback.notificationEmails", config.feedback.notificationEmails],
        ["feedback.sesSuppressedReasons", config.feedback.sesSuppressedReasons],
        ["ingest.domains", config.ingest.domains, domainSlug],
        ["ingest.gmailAccounts", config.ingest.gmailAccounts, accountSlug],
        ["ingest.tokenAlertEmails", config.ingest.tokenAlertEmails],
        ["ingest.tokenAlertHttpsEndpoints", config.ingest.tokenAlertHttpsEndpoints],
        ["ingest.mailReaderRoleArns", config.ingest.mailReaderRoleArns],
        ["smtp.adminPrincipalArns", config.smtp.adminPrincipalArns],
        ["alarms.emails", config.alarms.emails],
        ["alarms.httpsEndpoints", config.alarms.httpsEndpoints],
    ];
    return lists.flatMap(([key, values, segment]) => {
        const clash = nameClash(values ?? [], segment);
        return clash === undefined ? [] : [`${CONFIG_NAMESPACE}:${key}: ${clash}. Fix: list each once (each entry becomes its own resource or subscription).`];
    });
}

/** Decodes a config value the way Pulumi stores it: structured values as JSON, scalars as text. */
export function decodeConfigValue(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/** The `ses-mail:*` keys of a stack's config (as the engine hands it: JSON text), validated. */
export function stackConfigFrom(all: Record<string, string>, stack: string): StackConfig {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const raw = Object.fromEntries(
        Object.entries(all)
            .filter(([key]) => key.startsWith(prefix))
            .map(([key, value]) => [key.slice(prefix.length), decodeConfigValue(value)]),
    );
    return parseStackConfig({ environment: stack, ...raw }, stack);
}

/** A stack's validated config and where its stack file says it deploys. */
export interface StackSettings {
    stack: string;
    config: StackConfig;
    /** `aws:region`; undefined when the environment decides. */
    region?: string;
    /** `aws:allowedAccountIds`; undefined when the file does not pin the account. */
    accountIds?: string[];
}

/** A stack's settings from its config as the engine hands it (JSON text values). */
export function stackSettingsFrom(all: Record<string, string>, stack: string): StackSettings {
    const accountIds = all["aws:allowedAccountIds"] === undefined ? undefined : decodeConfigValue(all["aws:allowedAccountIds"]);
    return {
        stack,
        config: stackConfigFrom(all, stack),
        region: all["aws:region"],
        accountIds: Array.isArray(accountIds) ? accountIds.map(String) : undefined,
    };
}

/** Could the two stacks deploy into one account and region? Only their files can say they cannot. */
function mayShareAccount(a: StackSettings, b: StackSettings): boolean {
    if (a.region !== undefined && b.region !== undefined && a.region !== b.region) return false;
    return a.accountIds === undefined || b.accountIds === undefined || a.accountIds.some((id) => b.accountIds!.includes(id));
}

const ownsRuleSet = (settings: StackSettings) => settings.config.ingest.domains.length > 0 && (settings.config.ingest.ruleSetMode ?? "join") !== "join";

/**
 * What `stack` and the other stacks of the repository would do to each other through what an
 * account and region share: the one active receipt rule set, recipient domains, identities, the
 * account-level suppression list and physical names. Two stacks count as sharing unless their
 * `aws:region` or `aws:allowedAccountIds` differ. Pure.
 */
export function sharedAccountProblems(stack: StackSettings, others: StackSettings[]): string[] {
    const problems: string[] = [];
    for (const other of others.filter((o) => o.stack !== stack.stack && mayShareAccount(stack, o))) {
        const both = `stacks ${stack.stack} and ${other.stack}`;
        const where = `one account and region (${stack.region ?? other.region ?? "the default region"}; set aws:allowedAccountIds in both stack files if they deploy into different accounts)`;
        const common = (a: readonly string[], b: readonly string[]) => a.filter((value) => b.includes(value));
        const received = common(stack.config.ingest.domains, other.config.ingest.domains);
        if (received.length > 0) {
            problems.push(`${CONFIG_NAMESPACE}:ingest.domains: ${received.join(", ")} received by ${both} in ${where}: SES runs every matching rule of the active set, so each mail would reach both. Fix: give each stack its own receiving domains.`);
        }
        const sending = common(stack.config.feedback.domains, other.config.feedback.domains);
        if (sending.length > 0) {
            problems.push(`${CONFIG_NAMESPACE}:feedback.domains: ${sending.join(", ")} configured by ${both} in ${where}: an account has one identity per domain, so the second stack's \`pulumi up\` fails. Fix: give each stack its own sending domains.`);
        }
        if (ownsRuleSet(stack) && ownsRuleSet(other)) {
            problems.push(`${CONFIG_NAMESPACE}:ingest.ruleSetMode: ${both} both own a receipt rule set in ${where}, and only one set can be active. Fix: let one own it and the other join (ruleSetMode: join, ruleSetName: the owner's set).`);
        }
        if (stack.config.suppression.mirrorToSes && other.config.suppression.mirrorToSes) {
            problems.push(
                `${CONFIG_NAMESPACE}:suppression.mirrorToSes: ${both} both mirror into the account-level suppression list of ${where}. It is one list: an address both stacks suppress ` +
                "is put by the first and left alone by the second, so a removal in the first stack's table deletes it while the second still relies on it. Fix: mirror from one stack only.",
            );
        }
        if (stack.config.environment === other.config.environment && stack.config.namePrefix === other.config.namePrefix) {
            problems.push(`${CONFIG_NAMESPACE}:environment: ${both} both deploy "${stack.config.namePrefix}-…-${stack.config.environment}" into ${where}: every physical name collides. Fix: give each stack its own environment or namePrefix.`);
        }
    }
    return problems;
}
