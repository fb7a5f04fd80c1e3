// MailIngest, receiving: identities, the raw-mail bucket, the inbound topic and the receipt rule.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EncryptedTopic } from "./encrypted-topic";
import { SES_PUBLISHES_ENCRYPTED } from "./feedback-pipeline";
import { denyInsecureTransport, policyDocument } from "./iam";
import { componentKey } from "./kms-key";
import { DnsRecord, MailDomain, MailDomainMerge } from "./mail-domain";
import type { ReceiptRuleSetMode } from "./mail-ingest-args";
import type { IngestScope } from "./mail-ingest-scope";
import { accountBucketName, domainSlug, physicalName } from "./naming";
import { applyTransform } from "./transform";

/** SES writes raw mail under this prefix; the forwarder may read only below it. */
export const INBOUND_PREFIX = "inbound/";

/**
 * Every S3 action that returns an object's content (Service Authorization Reference, Amazon S3:
 * GetObject also authorizes HeadObject, SelectObjectContent and a CopyObject source; replication
 * reads with GetObjectVersionForReplication).
 */
export const MAIL_READ_ACTIONS = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectVersionForReplication", "s3:GetObjectTorrent", "s3:GetObjectVersionTorrent"];

export interface Receiving {
    mailDomains: MailDomain[];
    /** The identities created here (their DNS records are MailIngest's to publish). */
    createdDomains: MailDomain[];
    bucket: aws.s3.Bucket;
    topic: EncryptedTopic;
    /** The set the rule goes into; when joining, the account's active set at deploy time (checked against `ruleSetName`). */
    ruleSetName: pulumi.Output<string>;
    ruleName: string;
}

/** What decides where the receipt rule goes. */
export interface RuleSetSituation {
    /** `MailIngestArgs.ruleSetMode`. */
    mode: ReceiptRuleSetMode;
    /** `MailIngestArgs.ruleSetName`. */
    ruleSetName?: string;
    /** The set this stack creates when it owns one (`<prefix>-receipt-rules-<env>`). */
    ownSetName: string;
    /** The account's active set at deploy time; undefined when none is. */
    active: string | undefined;
}

/**
 * The rule set MailIngest's rule goes into, or why this deploy must stop instead (pure). The answer
 * depends only on the args and the active set, and what a deploy leaves active gives the same answer
 * on the next run: `own` and `takeover` leave their own set active, `join` leaves the active set alone.
 * A join always goes into the active set: SES applies only the active set's rules, so a rule in any
 * other set would receive nothing.
 */
export function receiptRuleSetTarget(situation: RuleSetSituation): string {
    const { mode, ruleSetName, ownSetName, active } = situation;
    if (mode === "join") {
        if (active === ownSetName) {
            throw new Error(ownSetStillActive(active, ruleSetName));
        }
        if (active === undefined) {
            throw new Error(
                `MailIngest: no receipt rule set is active in this account and region, so there is none to join${ruleSetName === undefined ? "" : ` (ingest.ruleSetName "${ruleSetName}" is not active)`}. ` +
                `Fix: ${ruleSetName === undefined ? "" : `activate it (aws ses set-active-receipt-rule-set --rule-set-name ${ruleSetName}), or `}set ruleSetMode "own" to create and activate "${ownSetName}".`,
            );
        }
        if (ruleSetName !== undefined && ruleSetName !== active) {
            throw new Error(
                `MailIngest: ingest.ruleSetName "${ruleSetName}" is not the active receipt rule set ("${active}" is), and SES applies only the active set's rules: this stack's rule would receive nothing. ` +
                `Fix: set ingest.ruleSetName "${active}" to join the active set, or, if "${ruleSetName}" should receive instead, activate it first (aws ses set-active-receipt-rule-set --rule-set-name ${ruleSetName}; that stops the mail of "${active}").`,
            );
        }
        return active;
    }
    const target = ruleSetName ?? ownSetName;
    if (mode === "own" && active !== undefined && active !== target) {
        throw new Error(
            `MailIngest: receipt rule set "${active}" is active and not this stack's; activating "${target}" would deactivate it and stop the mail it receives. ` +
            `Fix: set ruleSetMode "join" to add this stack's rule to "${active}" (ruleAfter places it), or "takeover" to replace it on purpose.`,
        );
    }
    return target;
}

/**
 * Why a join must wait while the stack's own old set (ruleSetMode "own", or the old `createRuleSet:
 * true`) is still active: the switch would delete that stack's active-set resource, which (without
 * `retainOnDelete` in state) deactivates every set, and SES refuses to delete the active set. The
 * steps: write `retainOnDelete` to state, move the active set, then join.
 */
function ownSetStillActive(active: string, ruleSetName: string | undefined): string {
    const target = ruleSetName ?? "<the set that should receive>";
    return `MailIngest: the active receipt rule set "${active}" is this stack's own (created by ingest.ruleSetMode "own", or createRuleSet: true before); ` +
        "joining now would delete its active-set resource, which deactivates whatever set is active, and then try to delete the active set. " +
        `Fix, in order: 1. set ingest.ruleSetMode "own" and ingest.ruleSetName "${active}" and run pulumi up (nothing changes in SES; it records retainOnDelete for the active-set resource); ` +
        `2. activate the set that should receive: aws ses set-active-receipt-rule-set --rule-set-name ${target}; ` +
        `3. set ingest.ruleSetMode "join" and ingest.ruleSetName "${target}" and run pulumi up (the rule moves, "${active}" is deleted).`;
}

// The provider's data source fails when no set is active ("reading SES Active Receipt Rule Set: empty
// result", terraform-provider-aws #27073): that is an answer, not an error.
const NO_ACTIVE_RULE_SET = /Active Receipt Rule Set: empty result/i;

/** The account's active receipt rule set at deploy (and preview) time; undefined when none is. */
export function activeReceiptRuleSet(opts: pulumi.InvokeOptions): pulumi.Output<string | undefined> {
    return pulumi.output(aws.ses.getActiveReceiptRuleSet({}, opts).then((set) => set.ruleSetName, (error: unknown) => {
        if (NO_ACTIVE_RULE_SET.test(error instanceof Error ? error.message : String(error))) return undefined;
        throw error;
    }));
}

/** Identities, the bucket SES writes to and the topic it notifies; its policy and the rule come last. */
export function createReceiving(scope: IngestScope): Receiving {
    const { name, args, env, prefix, tags, child, common } = scope;
    // Identities: reuse those handed in, create the rest.
    const existing = new Map((args.mailDomains ?? []).map((d) => [d.domain, d]));
    const createdDomains = args.domains.filter((d) => !existing.has(d)).map((domain) => new MailDomain(`${name}-${domainSlug(domain)}`, {
        domain, env, hostedZoneId: args.hostedZoneId, tags: args.tags,
    }, child));
    const mailDomains = [...args.domains.filter((d) => existing.has(d)).map((d) => existing.get(d)!), ...createdDomains];

    const mode = args.ruleSetMode ?? "join";
    const ownSetName = physicalName("sesReceiptRule", { purpose: "receipt-rules", env, prefix });
    // A join always checks the active set (named or not); an owned set is known from the args and
    // checked against the active set where it is activated (createReceiptRule).
    const ruleSetName = mode === "join"
        ? activeReceiptRuleSet(child).apply((active) => receiptRuleSetTarget({ mode, ruleSetName: args.ruleSetName, ownSetName, active }))
        : pulumi.output(args.ruleSetName ?? ownSetName);
    const ruleName = physicalName("sesReceiptRule", { purpose: "inbound", env, prefix });

    // Raw mail: encrypted, private, TLS-only, expiring. Bucket names are global: a second region gets its own.
    const bucket = new aws.s3.Bucket(`${name}-mail`, ...applyTransform(args.transform?.bucket, `${name}-mail`, {
        bucket: pulumi.all([scope.region, scope.accountId]).apply(([region, accountId]) => accountBucketName({ purpose: "email", env, prefix, region, homeRegion: args.homeRegion }, accountId)),
        tags,
    }, child));
    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-mail-encryption`, {
        bucket: bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    }, child);
    new aws.s3.BucketPublicAccessBlock(`${name}-mail-public-access`, {
        bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    }, child);
    new aws.s3.BucketOwnershipControls(`${name}-mail-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, child);
    new aws.s3.BucketLifecycleConfiguration(`${name}-mail-lifecycle`, {
        bucket: bucket.id,
        rules: [{
            id: "expire-mail",
            status: "Enabled",
            filter: { prefix: "" },
            expiration: { days: args.mailRetentionDays ?? 90 },
            abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
        }],
    }, child);

    const key = componentKey(`${name}-key`, args.kmsKeyArn, args.retainOwnKey, { ...common, purpose: "inbound", description: `ses-mail inbound notifications (${env})`, serviceUsers: [SES_PUBLISHES_ENCRYPTED] }, child);
    const topic = new EncryptedTopic(`${name}-topic`, {
        ...common, purpose: "email-inbound", kmsKeyArn: key.arn,
        publishers: [{ service: "ses.amazonaws.com", sourceArns: [receiptRuleArn(scope, ruleSetName, ruleName)] }],
        transform: { topic: args.transform?.topic },
    }, child);
    return { mailDomains, createdDomains, bucket, topic, ruleSetName, ruleName };
}

function receiptRuleArn(scope: IngestScope, ruleSetName: pulumi.Input<string>, ruleName: string): pulumi.Output<string> {
    return pulumi.interpolate`arn:${scope.partition}:ses:${scope.region}:${scope.accountId}:receipt-rule-set/${ruleSetName}:receipt-rule/${ruleName}`;
}

/**
 * The mail bucket's policy: TLS only; only this rule's SES may write; and only `readerRoleArns` may
 * read mail. The deny covers object reads alone, so whoever manages the bucket still can, while a
 * principal with `s3:GetObject` on `*` (ReadOnlyAccess, PowerUserAccess) reads no mail.
 */
export function createMailBucketPolicy(scope: IngestScope, receiving: Receiving, readerRoleArns: pulumi.Input<string>[]): aws.s3.BucketPolicy {
    const { name, child } = scope;
    const { bucket } = receiving;
    return new aws.s3.BucketPolicy(`${name}-mail-policy`, {
        bucket: bucket.id,
        policy: policyDocument([
            denyInsecureTransport("s3", [bucket.arn, pulumi.interpolate`${bucket.arn}/*`]),
            {
                Sid: "SesWritesInboundMail",
                Effect: "Allow",
                Principal: { Service: "ses.amazonaws.com" },
                Action: ["s3:PutObject"],
                Resource: [pulumi.interpolate`${bucket.arn}/${INBOUND_PREFIX}*`],
                Condition: { StringEquals: { "aws:SourceAccount": scope.accountId }, ArnLike: { "aws:SourceArn": receiptRuleArn(scope, receiving.ruleSetName, receiving.ruleName) } },
            },
            {
                Sid: "OnlyMailReadersReadMail",
                Effect: "Deny",
                Principal: "*",
                Action: MAIL_READ_ACTIONS,
                Resource: [pulumi.interpolate`${bucket.arn}/*`],
                // aws:PrincipalArn is the role's ARN for any session of the role (IAM User Guide, "AWS
                // global condition context keys"); absent for anonymous requests, which are denied too.
                Condition: { ArnNotEquals: { "aws:PrincipalArn": readerRoleArns } },
            },
        ]),
    }, child);
}

/**
 * The receipt rule, created last: SES checks that it may write to the bucket and publish to the
 * topic. In `own` and `takeover` mode the stack's set is created and activated first.
 */
export function createReceiptRule(scope: IngestScope, receiving: Receiving, bucketPolicy: aws.s3.BucketPolicy): aws.ses.ReceiptRule {
    const { name, args, env, prefix, child } = scope;
    const mode = args.ruleSetMode ?? "join";
    let activeRuleSet: aws.ses.ActiveReceiptRuleSet | undefined;
    if (mode !== "join") {
        const ruleSet = new aws.ses.ReceiptRuleSet(`${name}-rule-set`, { ruleSetName: receiving.ruleSetName }, child);
        const ownSetName = physicalName("sesReceiptRule", { purpose: "receipt-rules", env, prefix });
        // `own` re-checks the active set on every deploy: it never re-activates its set over one another system activated since.
        const guarded = mode === "own"
            ? pulumi.all([activeReceiptRuleSet(child), ruleSet.ruleSetName]).apply(([active, own]) => receiptRuleSetTarget({ mode, ruleSetName: own, ownSetName, active }))
            : ruleSet.ruleSetName;
        activeRuleSet = new aws.ses.ActiveReceiptRuleSet(`${name}-active-rule-set`, { ruleSetName: guarded }, {
            ...child,
            // Deleting it calls SetActiveReceiptRuleSet with no name, which deactivates whatever set is
            // active then, perhaps another system's. Retained, the set stays active, and SES refuses to
            // delete an active set ("DeleteReceiptRuleSet"), so nothing stops receiving unannounced.
            retainOnDelete: true,
        });
    }
    return new aws.ses.ReceiptRule(`${name}-receipt-rule`, {
        name: receiving.ruleName,
        ruleSetName: receiving.ruleSetName,
        after: args.ruleAfter,
        recipients: args.domains,
        enabled: true,
        scanEnabled: args.scanEnabled ?? true,
        tlsPolicy: args.tlsRequired ?? true ? "Require" : "Optional",
        s3Actions: [{ bucketName: receiving.bucket.bucket, objectKeyPrefix: INBOUND_PREFIX, topicArn: receiving.topic.arn, position: 1 }],
    }, { ...child, dependsOn: [bucketPolicy, receiving.topic, ...(activeRuleSet ? [activeRuleSet] : [])] });
}

/** MX records (in Route 53 when a zone is given), plus the identity records of domains created here. */
export function receivingDnsRecords(scope: IngestScope, receiving: Receiving): pulumi.Output<DnsRecord[]> {
    const { name, args, child } = scope;
    const mx = scope.region.apply((r) => args.domains.map((domain): DnsRecord => ({ name: domain, type: "MX", value: `10 inbound-smtp.${r}.amazonaws.com`, ttl: 600 })));
    if (args.hostedZoneId) {
        args.domains.forEach((domain, i) => new aws.route53.Record(`${name}-${domainSlug(domain)}-mx`, {
            zoneId: args.hostedZoneId!, name: domain, type: "MX", ttl: 600, records: [mx.apply((records) => records[i].value)],
        }, child));
    }
    return pulumi.all([mx, ...receiving.createdDomains.map((d) => d.dnsRecords)]).apply(([m, ...rest]) => [...m, ...rest.flat()]);
}

/** What to merge into records the receiving-only domains may already have (apex SPF, DMARC). */
export function receivingDnsMerges(receiving: Receiving): pulumi.Output<MailDomainMerge[]> {
    return pulumi.all(receiving.createdDomains.map((d) => d.dnsMerges)).apply((merges) => merges.flat());
}
