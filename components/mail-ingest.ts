import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { clientCredentialsName, refreshTokenName } from "../functions/shared/gmail-oauth";
import { alarmTopic, EncryptedTopic } from "./encrypted-topic";
import { SES_PUBLISHES_ENCRYPTED } from "./feedback-pipeline";
import { allow, assumeRolePolicy, denyInsecureTransport, policyDocument } from "./iam";
import { KmsKey } from "./kms-key";
import { LambdaFunction } from "./lambda-function";
import { DnsRecord, MailDomain } from "./mail-domain";
import { type MailIngestArgs, validateMailIngestArgs } from "./mail-ingest-args";
import { accountSlug, gmailParameterPrefix, physicalName, RETRY_DRAIN_PURPOSE, standardTags } from "./naming";
import { QueueWithDlq } from "./queue-with-dlq";
import { RetryDrain } from "./retry-drain";
import { secureTableSettings } from "./table-settings";
import { TokenMonitor } from "./token-monitor";

export type { MailIngestArgs } from "./mail-ingest-args";
export { validateMailIngestArgs } from "./mail-ingest-args";

export const ROUTING_DETAIL_TYPE = "Email Routing Decision";
export const ROUTING_EVENT_SOURCE = "ses-mail.router";
/** SES writes raw mail under this prefix; the forwarder may read only below it. */
export const INBOUND_PREFIX = "inbound/";

/**
 * Receives mail for the domains, stores it raw in S3, routes it by DynamoDB rules (EventBridge Pipe
 * with the router as enrichment) and imports it into Gmail or bounces it. Every failure ends in a
 * DLQ or the token retry queue.
 */
export class MailIngest extends pulumi.ComponentResource {
    public readonly bucket: aws.s3.Bucket;
    public readonly topic: EncryptedTopic;
    public readonly inputQueue: QueueWithDlq;
    public readonly routingTable: aws.dynamodb.Table;
    public readonly eventBus: aws.cloudwatch.EventBus;
    public readonly router: LambdaFunction;
    public readonly pipe: aws.pipes.Pipe;
    public readonly pipeLogGroup: aws.cloudwatch.LogGroup;
    public readonly forwarderQueue: QueueWithDlq;
    public readonly retryQueue: QueueWithDlq;
    public readonly forwarder: LambdaFunction;
    public readonly idempotencyTable: aws.dynamodb.Table;
    public readonly bouncerQueue: QueueWithDlq;
    public readonly bouncer: LambdaFunction;
    public readonly retryDrain: RetryDrain;
    /** One per Gmail account (none when `tokenMonitoring` is false). */
    public readonly tokenMonitors: TokenMonitor[];
    /** Where token alarms notify (undefined without monitors). */
    public readonly tokenAlertTopicArn?: pulumi.Output<string>;
    public readonly receiptRule: aws.ses.ReceiptRule;
    public readonly mailDomains: MailDomain[];
    /** MX records for the receiving domains, plus the identity records of domains created here. */
    public readonly dnsRecords: pulumi.Output<DnsRecord[]>;

    constructor(name: string, args: MailIngestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:MailIngest", name, {}, opts);
        validateMailIngestArgs(args);
        const env = args.env;
        const prefix = args.namePrefix;
        const tags = standardTags(env, "MailIngest", args.tags);
        const child = { parent: this };
        const common = { env, namePrefix: prefix, component: "MailIngest", tags: args.tags };
        const accountId = aws.getCallerIdentityOutput({}, child).accountId;
        const region = aws.getRegionOutput({}, child).region;
        const metricsNamespace = `SESMail/${env}`;

        // Identities: reuse those handed in, create the rest.
        const existing = new Map((args.mailDomains ?? []).map((d) => [d.domain, d]));
        const created = args.domains.filter((d) => !existing.has(d)).map((domain) => new MailDomain(`${name}-${domain.replace(/\./g, "-")}`, {
            domain, env, hostedZoneId: args.hostedZoneId, tags: args.tags,
        }, child));
        this.mailDomains = [...args.domains.filter((d) => existing.has(d)).map((d) => existing.get(d)!), ...created];

        const ruleSetName = args.ruleSetName ?? physicalName("sesReceiptRule", { purpose: "receipt-rules", env, prefix });
        const ruleName = physicalName("sesReceiptRule", { purpose: "inbound", env, prefix });
        const receiptRuleArn = pulumi.interpolate`arn:aws:ses:${region}:${accountId}:receipt-rule-set/${ruleSetName}:receipt-rule/${ruleName}`;

        // Raw mail: encrypted, private, TLS-only, expiring.
        this.bucket = new aws.s3.Bucket(`${name}-mail`, {
            bucket: pulumi.interpolate`${physicalName("s3Bucket", { purpose: "email", env, prefix })}-${accountId}`,
            tags,
        }, child);
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-mail-encryption`, {
            bucket: this.bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
        }, child);
        new aws.s3.BucketPublicAccessBlock(`${name}-mail-public-access`, {
            bucket: this.bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
        }, child);
        new aws.s3.BucketOwnershipControls(`${name}-mail-ownership`, { bucket: this.bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, child);
        new aws.s3.BucketLifecycleConfiguration(`${name}-mail-lifecycle`, {
            bucket: this.bucket.id,
            rules: [{
                id: "expire-mail",
                status: "Enabled",
                filter: { prefix: "" },
                expiration: { days: args.mailRetentionDays ?? 90 },
                abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
            }],
        }, child);
        const bucketPolicy = new aws.s3.BucketPolicy(`${name}-mail-policy`, {
            bucket: this.bucket.id,
            policy: policyDocument([
                denyInsecureTransport("s3", [this.bucket.arn, pulumi.interpolate`${this.bucket.arn}/*`]),
                {
                    Sid: "SesWritesInboundMail",
                    Effect: "Allow",
                    Principal: { Service: "ses.amazonaws.com" },
                    Action: ["s3:PutObject"],
                    Resource: [pulumi.interpolate`${this.bucket.arn}/${INBOUND_PREFIX}*`],
                    Condition: { StringEquals: { "aws:SourceAccount": accountId }, ArnLike: { "aws:SourceArn": receiptRuleArn } },
                },
            ]),
        }, child);

        const key = new KmsKey(`${name}-key`, { ...common, purpose: "inbound", description: `ses-mail inbound notifications (${env})`, serviceUsers: [SES_PUBLISHES_ENCRYPTED] }, child);
        this.topic = new EncryptedTopic(`${name}-topic`, {
            ...common, purpose: "email-inbound", kmsKeyArn: key.arn,
            publishers: [{ service: "ses.amazonaws.com", sourceArns: [receiptRuleArn] }],
        }, child);

        // Routing: rules table, bus, the rules on the bus (queue policies name them), queues.
        this.routingTable = new aws.dynamodb.Table(`${name}-routing`, {
            name: args.routingTableName ?? physicalName("dynamodbTable", { purpose: "email-routing", env, prefix }),
            hashKey: "PK",
            rangeKey: "SK",
            attributes: [{ name: "PK", type: "S" }, { name: "SK", type: "S" }],
            streamEnabled: args.routingTableStream ?? false,
            streamViewType: args.routingTableStream ? "NEW_AND_OLD_IMAGES" : undefined,
            ...secureTableSettings({ env }),
            tags,
        }, child);
        this.eventBus = new aws.cloudwatch.EventBus(`${name}-bus`, { name: physicalName("eventBus", { purpose: "email-routing", env, prefix }), tags }, child);
        const busRule = (suffix: string, action: string) => new aws.cloudwatch.EventRule(`${name}-${suffix}-rule`, {
            name: physicalName("eventRule", { purpose: `route-${suffix}`, env, prefix }),
            eventBusName: this.eventBus.name,
            description: `Routing decisions with action ${action}`,
            eventPattern: JSON.stringify({ source: [ROUTING_EVENT_SOURCE], "detail-type": [ROUTING_DETAIL_TYPE], detail: { action: [action] } }),
            tags,
        }, child);
        const forwardRule = busRule("forward", "forward-to-gmail");
        const bounceRule = busRule("bounce", "bounce");
        const invalidRule = busRule("invalid", "invalid");
        const fromRule = (rule: aws.cloudwatch.EventRule) => [{ service: "events.amazonaws.com", sourceArns: [rule.arn] }];

        const routerTimeout = 30;
        this.inputQueue = new QueueWithDlq(`${name}-input`, {
            ...common, purpose: "email-input", consumerTimeoutSeconds: routerTimeout,
            allowedSenders: [{ service: "sns.amazonaws.com", sourceArns: [this.topic.arn] }],
            dlqAllowedSenders: fromRule(invalidRule),
        }, child);
        new aws.sns.TopicSubscription(`${name}-input-subscription`, { topic: this.topic.arn, protocol: "sqs", endpoint: this.inputQueue.arn }, child);

        this.router = new LambdaFunction(`${name}-router`, {
            ...common, code: "router", purpose: "router", timeout: routerTimeout, metricsNamespace, logRetentionDays: args.logRetentionDays,
            description: "Routes received mail by DynamoDB rules (EventBridge Pipes enrichment)",
            environment: {
                ROUTING_TABLE_NAME: this.routingTable.name,
                DEFAULT_ACTION: args.defaultAction ?? "store",
                SPAM_ACTION: args.spamAction ?? "drop",
                RULE_CACHE_TTL_SECONDS: String(args.ruleCacheTtlSeconds ?? 60),
            },
            policyStatements: [allow(["dynamodb:BatchGetItem"], [this.routingTable.arn])],
        }, child);

        this.pipeLogGroup = new aws.cloudwatch.LogGroup(`${name}-pipe-logs`, {
            name: `/aws/vendedlogs/pipes/${physicalName("pipe", { purpose: "email-router", env, prefix })}`, retentionInDays: args.logRetentionDays ?? 30, tags,
        }, child);
        this.pipe = this.routingPipe(name, args, tags);

        // Gmail forwarding: queue (+ DLQ), token retry queue, idempotency table, function, drain.
        const forwarderTimeout = 120;
        this.forwarderQueue = new QueueWithDlq(`${name}-forwarder`, {
            ...common, purpose: "gmail-forwarder", consumerTimeoutSeconds: forwarderTimeout, maxReceiveCount: 5,
            allowedSenders: fromRule(forwardRule), dlqAllowedSenders: fromRule(forwardRule),
        }, child);
        this.retryQueue = new QueueWithDlq(`${name}-retry`, {
            ...common, purpose: "gmail-forwarder-retry", messageRetentionSeconds: 14 * 86400, maxReceiveCount: 10,
        }, child);
        this.idempotencyTable = new aws.dynamodb.Table(`${name}-idempotency`, {
            name: physicalName("dynamodbTable", { purpose: "gmail-forwarder-idempotency", env, prefix }),
            hashKey: "id",
            attributes: [{ name: "id", type: "S" }],
            ttl: { attributeName: "expiration", enabled: true },
            ...secureTableSettings({ env }),
            tags,
        }, child);
        const accounts = args.gmailAccounts ?? [];
        const parameterPrefix = gmailParameterPrefix(env, prefix);
        const parameterArn = (name: string) => pulumi.interpolate`arn:aws:ssm:${region}:${accountId}:parameter${name}`;
        this.forwarder = new LambdaFunction(`${name}-forwarder`, {
            ...common, code: "gmail-forwarder", purpose: "gmail-forwarder", timeout: forwarderTimeout, memorySize: 512, metricsNamespace, logRetentionDays: args.logRetentionDays,
            description: "Imports routed mail into Gmail (users.messages.import)",
            environment: {
                RETRY_QUEUE_URL: this.retryQueue.url,
                DLQ_URL: this.forwarderQueue.dlq.url,
                MAX_RECEIVE_COUNT: "5",
                SSM_PREFIX: parameterPrefix,
                GMAIL_ACCOUNTS: accounts.join(","),
                IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.name,
                MAX_IMPORT_BYTES: String(args.maxImportBytes ?? 50 * 1024 * 1024),
                INTERNAL_DATE_SOURCE: args.internalDateSource ?? "dateHeader",
                NEVER_MARK_SPAM: String(args.neverMarkSpam ?? false),
            },
            policyStatements: [
                ...this.forwarderQueue.consumerStatements(),
                allow(["sqs:SendMessage"], [this.retryQueue.arn, this.forwarderQueue.dlq.arn]),
                allow(["s3:GetObject"], [pulumi.interpolate`${this.bucket.arn}/${INBOUND_PREFIX}*`]),
                allow(["ssm:GetParameter"], [parameterArn(clientCredentialsName(parameterPrefix)), ...accounts.map((a) => parameterArn(refreshTokenName(parameterPrefix, a)))]),
                allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], [this.idempotencyTable.arn]),
            ],
        }, child);
        new aws.lambda.EventSourceMapping(`${name}-forwarder-source`, {
            eventSourceArn: this.forwarderQueue.arn, functionName: this.forwarder.arn, batchSize: 5, functionResponseTypes: ["ReportBatchItemFailures"], tags,
        }, child);
        this.retryDrain = new RetryDrain(`${name}-retry-drain`, {
            ...common, purpose: RETRY_DRAIN_PURPOSE, logRetentionDays: args.logRetentionDays,
            sourceQueueArn: this.retryQueue.arn, sourceQueueUrl: this.retryQueue.url,
            targetQueueArn: this.forwarderQueue.arn, targetQueueUrl: this.forwarderQueue.url,
        }, child);

        // Token monitoring: the forwarder never stops silently on an expired or revoked token.
        this.tokenMonitors = [];
        if (accounts.length > 0 && (args.tokenMonitoring ?? true)) {
            this.tokenAlertTopicArn = args.tokenAlertTopicArn !== undefined
                ? pulumi.output(args.tokenAlertTopicArn)
                : alarmTopic(`${name}-token-alerts`, {
                    ...common, purpose: "gmail-forwarder-token-alerts", description: `ses-mail Gmail token alerts (${env})`,
                    alarmNamePattern: `${prefix ?? "ses-mail"}-gmail-token-*`,
                    emailSubscriptions: args.tokenAlertEmails, httpsSubscriptions: args.tokenAlertHttpsEndpoints,
                }, this).arn;
            this.tokenMonitors = accounts.map((account) => new TokenMonitor(`${name}-token-${accountSlug(account)}`, {
                env, namePrefix: prefix, account, parameterPrefix, alertTopicArn: this.tokenAlertTopicArn!,
                warningHours: args.tokenWarningHours, criticalHours: args.tokenCriticalHours, logRetentionDays: args.logRetentionDays, tags: args.tags,
            }, child));
        }

        // Bouncing: paced to SendBounce's 1 per second by a single concurrent instance.
        const bouncerTimeout = 60;
        this.bouncerQueue = new QueueWithDlq(`${name}-bouncer`, {
            ...common, purpose: "bouncer", consumerTimeoutSeconds: bouncerTimeout,
            allowedSenders: fromRule(bounceRule), dlqAllowedSenders: fromRule(bounceRule),
        }, child);
        this.bouncer = new LambdaFunction(`${name}-bouncer`, {
            ...common, code: "bouncer", purpose: "bouncer", timeout: bouncerTimeout, reservedConcurrency: 1, metricsNamespace, logRetentionDays: args.logRetentionDays,
            description: "Bounces mail for unknown recipients, never as backscatter",
            environment: {
                SUPPRESSION_TABLE_NAME: args.suppressionStore.tableName,
                DOMAINS: args.domains.join(","),
                BOUNCE_SENDER_LOCAL_PART: args.bounceSenderLocalPart ?? "MAILER-DAEMON",
            },
            policyStatements: [
                ...this.bouncerQueue.consumerStatements(),
                allow(["ses:SendBounce"], this.mailDomains.map((d) => d.identityArn)),
                ...args.suppressionStore.readStatements(),
            ],
        }, child);
        new aws.lambda.EventSourceMapping(`${name}-bouncer-source`, {
            eventSourceArn: this.bouncerQueue.arn, functionName: this.bouncer.arn, batchSize: 5, functionResponseTypes: ["ReportBatchItemFailures"], tags,
        }, child);

        const target = (suffix: string, rule: aws.cloudwatch.EventRule, queue: { arn: pulumi.Output<string> }, deadLetter: { arn: pulumi.Output<string> }) =>
            new aws.cloudwatch.EventTarget(`${name}-${suffix}-target`, {
                rule: rule.name,
                eventBusName: this.eventBus.name,
                arn: queue.arn,
                retryPolicy: { maximumEventAgeInSeconds: 86400, maximumRetryAttempts: 185 },
                deadLetterConfig: { arn: deadLetter.arn },
            }, child);
        target("forward", forwardRule, this.forwarderQueue, this.forwarderQueue.dlq);
        target("bounce", bounceRule, this.bouncerQueue, this.bouncerQueue.dlq);
        target("invalid", invalidRule, this.inputQueue.dlq, this.inputQueue.dlq);

        // The receipt rule comes last: SES checks that it may write to the bucket and publish to the topic.
        let activeRuleSet: aws.ses.ActiveReceiptRuleSet | undefined;
        if (args.createRuleSet ?? true) {
            const ruleSet = new aws.ses.ReceiptRuleSet(`${name}-rule-set`, { ruleSetName }, child);
            activeRuleSet = new aws.ses.ActiveReceiptRuleSet(`${name}-active-rule-set`, { ruleSetName: ruleSet.ruleSetName }, child);
        }
        this.receiptRule = new aws.ses.ReceiptRule(`${name}-receipt-rule`, {
            name: ruleName,
            ruleSetName,
            recipients: args.domains,
            enabled: true,
            scanEnabled: args.scanEnabled ?? true,
            tlsPolicy: args.tlsRequired ?? true ? "Require" : "Optional",
            s3Actions: [{ bucketName: this.bucket.bucket, objectKeyPrefix: INBOUND_PREFIX, topicArn: this.topic.arn, position: 1 }],
        }, { parent: this, dependsOn: [bucketPolicy, this.topic, ...(activeRuleSet ? [activeRuleSet] : [])] });

        const mx = region.apply((r) => args.domains.map((domain): DnsRecord => ({ name: domain, type: "MX", value: `10 inbound-smtp.${r}.amazonaws.com`, ttl: 600 })));
        if (args.hostedZoneId) {
            args.domains.forEach((domain, i) => new aws.route53.Record(`${name}-${domain.replace(/\./g, "-")}-mx`, {
                zoneId: args.hostedZoneId!, name: domain, type: "MX", ttl: 600, records: [mx.apply((records) => records[i].value)],
            }, child));
        }
        this.dnsRecords = pulumi.all([mx, ...created.map((d) => d.dnsRecords)]).apply(([m, ...rest]) => [...m, ...rest.flat()]);

        this.registerOutputs({
            bucketName: this.bucket.bucket,
            topicArn: this.topic.arn,
            inputQueueUrl: this.inputQueue.url,
            routingTableName: this.routingTable.name,
            eventBusName: this.eventBus.name,
            pipeArn: this.pipe.arn,
            retryDrainArn: this.retryDrain.arn,
            tokenAlertTopicArn: this.tokenAlertTopicArn,
        });
    }

    /** Input queue → router (enrichment) → event bus, logging errors to its own log group. */
    private routingPipe(name: string, args: MailIngestArgs, tags: Record<string, string>): aws.pipes.Pipe {
        const pipeName = physicalName("pipe", { purpose: "email-router", env: args.env, prefix: args.namePrefix });
        const logGroup = this.pipeLogGroup;
        const role = new aws.iam.Role(`${name}-pipe-role`, {
            name: physicalName("iamRole", { purpose: "email-router-pipe", env: args.env, prefix: args.namePrefix }),
            assumeRolePolicy: assumeRolePolicy("pipes.amazonaws.com"),
            tags,
        }, { parent: this });
        const policy = new aws.iam.RolePolicy(`${name}-pipe-policy`, {
            role: role.id,
            policy: policyDocument([
                allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [this.inputQueue.arn]),
                allow(["lambda:InvokeFunction"], [this.router.arn]),
                allow(["events:PutEvents"], [this.eventBus.arn]),
                allow(["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.interpolate`${logGroup.arn}:*`]),
            ]),
        }, { parent: this });
        return new aws.pipes.Pipe(`${name}-pipe`, {
            name: pipeName,
            roleArn: role.arn,
            source: this.inputQueue.arn,
            sourceParameters: { sqsQueueParameters: { batchSize: 10, maximumBatchingWindowInSeconds: 1 } },
            enrichment: this.router.arn,
            target: this.eventBus.arn,
            targetParameters: { eventbridgeEventBusParameters: { detailType: ROUTING_DETAIL_TYPE, source: ROUTING_EVENT_SOURCE } },
            logConfiguration: { level: "ERROR", cloudwatchLogsLogDestination: { logGroupArn: logGroup.arn } },
            tags,
        }, { parent: this, dependsOn: [policy] });
    }
}

