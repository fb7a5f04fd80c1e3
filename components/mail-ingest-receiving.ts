// MailIngest, receiving: identities, the raw-mail bucket, the inbound topic and the receipt rule.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { EncryptedTopic } from "./encrypted-topic";
import { SES_PUBLISHES_ENCRYPTED } from "./feedback-pipeline";
import { denyInsecureTransport, policyDocument } from "./iam";
import { KmsKey } from "./kms-key";
import { DnsRecord, MailDomain } from "./mail-domain";
import type { IngestScope } from "./mail-ingest-scope";
import { physicalName } from "./naming";

/** SES writes raw mail under this prefix; the forwarder may read only below it. */
export const INBOUND_PREFIX = "inbound/";

export interface Receiving {
    mailDomains: MailDomain[];
    /** The identities created here (their DNS records are MailIngest's to publish). */
    createdDomains: MailDomain[];
    bucket: aws.s3.Bucket;
    bucketPolicy: aws.s3.BucketPolicy;
    topic: EncryptedTopic;
    ruleSetName: string;
    ruleName: string;
}

/** Identities, the bucket SES writes to and the topic it notifies; the rule itself comes last. */
export function createReceiving(scope: IngestScope): Receiving {
    const { name, args, env, prefix, tags, child, common } = scope;
    // Identities: reuse those handed in, create the rest.
    const existing = new Map((args.mailDomains ?? []).map((d) => [d.domain, d]));
    const createdDomains = args.domains.filter((d) => !existing.has(d)).map((domain) => new MailDomain(`${name}-${domain.replace(/\./g, "-")}`, {
        domain, env, hostedZoneId: args.hostedZoneId, tags: args.tags,
    }, child));
    const mailDomains = [...args.domains.filter((d) => existing.has(d)).map((d) => existing.get(d)!), ...createdDomains];

    const ruleSetName = args.ruleSetName ?? physicalName("sesReceiptRule", { purpose: "receipt-rules", env, prefix });
    const ruleName = physicalName("sesReceiptRule", { purpose: "inbound", env, prefix });
    const receiptRuleArn = pulumi.interpolate`arn:${scope.partition}:ses:${scope.region}:${scope.accountId}:receipt-rule-set/${ruleSetName}:receipt-rule/${ruleName}`;

    // Raw mail: encrypted, private, TLS-only, expiring.
    const bucket = new aws.s3.Bucket(`${name}-mail`, {
        bucket: pulumi.interpolate`${physicalName("s3Bucket", { purpose: "email", env, prefix })}-${scope.accountId}`,
        tags,
    }, child);
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
    const bucketPolicy = new aws.s3.BucketPolicy(`${name}-mail-policy`, {
        bucket: bucket.id,
        policy: policyDocument([
            denyInsecureTransport("s3", [bucket.arn, pulumi.interpolate`${bucket.arn}/*`]),
            {
                Sid: "SesWritesInboundMail",
                Effect: "Allow",
                Principal: { Service: "ses.amazonaws.com" },
                Action: ["s3:PutObject"],
                Resource: [pulumi.interpolate`${bucket.arn}/${INBOUND_PREFIX}*`],
                Condition: { StringEquals: { "aws:SourceAccount": scope.accountId }, ArnLike: { "aws:SourceArn": receiptRuleArn } },
            },
        ]),
    }, child);

    const key = new KmsKey(`${name}-key`, { ...common, purpose: "inbound", description: `ses-mail inbound notifications (${env})`, serviceUsers: [SES_PUBLISHES_ENCRYPTED] }, child);
    const topic = new EncryptedTopic(`${name}-topic`, {
        ...common, purpose: "email-inbound", kmsKeyArn: key.arn,
        publishers: [{ service: "ses.amazonaws.com", sourceArns: [receiptRuleArn] }],
    }, child);
    return { mailDomains, createdDomains, bucket, bucketPolicy, topic, ruleSetName, ruleName };
}

/** The receipt rule, created last: SES checks that it may write to the bucket and publish to the topic. */
export function createReceiptRule(scope: IngestScope, receiving: Receiving): aws.ses.ReceiptRule {
    const { name, args, child } = scope;
    let activeRuleSet: aws.ses.ActiveReceiptRuleSet | undefined;
    if (args.createRuleSet ?? true) {
        const ruleSet = new aws.ses.ReceiptRuleSet(`${name}-rule-set`, { ruleSetName: receiving.ruleSetName }, child);
        activeRuleSet = new aws.ses.ActiveReceiptRuleSet(`${name}-active-rule-set`, { ruleSetName: ruleSet.ruleSetName }, child);
    }
    return new aws.ses.ReceiptRule(`${name}-receipt-rule`, {
        name: receiving.ruleName,
        ruleSetName: receiving.ruleSetName,
        recipients: args.domains,
        enabled: true,
        scanEnabled: args.scanEnabled ?? true,
        tlsPolicy: args.tlsRequired ?? true ? "Require" : "Optional",
        s3Actions: [{ bucketName: receiving.bucket.bucket, objectKeyPrefix: INBOUND_PREFIX, topicArn: receiving.topic.arn, position: 1 }],
    }, { ...child, dependsOn: [receiving.bucketPolicy, receiving.topic, ...(activeRuleSet ? [activeRuleSet] : [])] });
}

/** MX records (in Route 53 when a zone is given), plus the identity records of domains created here. */
export function receivingDnsRecords(scope: IngestScope, receiving: Receiving): pulumi.Output<DnsRecord[]> {
    const { name, args, child } = scope;
    const mx = scope.region.apply((r) => args.domains.map((domain): DnsRecord => ({ name: domain, type: "MX", value: `10 inbound-smtp.${r}.amazonaws.com`, ttl: 600 })));
    if (args.hostedZoneId) {
        args.domains.forEach((domain, i) => new aws.route53.Record(`${name}-${domain.replace(/\./g, "-")}-mx`, {
            zoneId: args.hostedZoneId!, name: domain, type: "MX", ttl: 600, records: [mx.apply((records) => records[i].value)],
        }, child));
    }
    return pulumi.all([mx, ...receiving.createdDomains.map((d) => d.dnsRecords)]).apply(([m, ...rest]) => [...m, ...rest.flat()]);
}
