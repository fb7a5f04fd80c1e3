import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { RULE_KEY_PREFIX } from "../functions/router/rules";
import { GrantOptions, GrantRole, grantRolePolicy, tableKeyStatements, withStatements } from "./grants";
import { allow, PolicyStatement } from "./iam";
import type { EncryptedTopic } from "./encrypted-topic";
import type { LambdaFunction } from "./lambda-function";
import type { DnsRecord, MailDomain, MailDomainMerge } from "./mail-domain";
import { type MailIngestArgs, validateMailIngestArgs } from "./mail-ingest-args";
import { createBouncing } from "./mail-ingest-bouncing";
import { createGmailDelivery } from "./mail-ingest-gmail";
import { createMailBucketPolicy, createReceiptRule, createReceiving, receivingDnsMerges, receivingDnsRecords } from "./mail-ingest-receiving";
import { createRouting } from "./mail-ingest-routing";
import { ingestScope } from "./mail-ingest-scope";
import type { DeadLetterQueue } from "./dead-letter-queue";
import type { QueueWithDlq } from "./queue-with-dlq";
import type { RetryDrain } from "./retry-drain";
import type { TokenMonitor } from "./token-monitor";

export type { MailIngestArgs, MailIngestTransform, ReceiptRuleSetMode } from "./mail-ingest-args";
export { SES_RECEIPT_NAME, validateMailIngestArgs } from "./mail-ingest-args";
export { INBOUND_PREFIX, MAIL_READ_ACTIONS, receiptRuleSetTarget, type RuleSetSituation } from "./mail-ingest-receiving";
export { ROUTING_DETAIL_TYPE, ROUTING_EVENT_SOURCE } from "../functions/shared/routing-event";

/**
 * Receives mail for the domains, stores it raw in S3, routes it by DynamoDB rules (EventBridge Pipe
 * with the router as enrichment) and imports it into Gmail or bounces it. Every failure ends in a
 * DLQ or the token retry queue. Its parts live in `mail-ingest-<part>.ts`; every child's parent is
 * this component, as it always was, so no URN changes.
 */
export class MailIngest extends pulumi.ComponentResource {
    /** Raw mail, written by the receipt rule's S3 action. */
    public readonly bucket: aws.s3.Bucket;
    /** The receipt rule's SNS notification topic. */
    public readonly topic: EncryptedTopic;
    /** Receipt notifications, read by the routing pipe (and its DLQ). */
    public readonly inputQueue: QueueWithDlq;
    /** Routing rules (and SMTP users when SmtpCredentials shares it). */
    public readonly routingTable: aws.dynamodb.Table;
    /** The routing decisions' event bus. */
    public readonly eventBus: aws.cloudwatch.EventBus;
    /** The pipe's enrichment: routes each mail by the rules. */
    public readonly router: LambdaFunction;
    /** The EventBridge Pipe: input queue → router → event bus. */
    public readonly pipe: aws.pipes.Pipe;
    /** The pipe's log group. */
    public readonly pipeLogGroup: aws.cloudwatch.LogGroup;
    /** Where the bus puts an invalid-mail event it could not deliver to the input DLQ. */
    public readonly routingEventsDlq: DeadLetterQueue;
    /** Forward decisions, one message per (mail, account). */
    public readonly forwarderQueue: QueueWithDlq;
    /** Mail parked on a token problem, until `ses-mail token refresh` drains it. */
    public readonly retryQueue: QueueWithDlq;
    /** The Gmail forwarder (`users.messages.import`). */
    public readonly forwarder: LambdaFunction;
    /** Idempotency records of the forwarder and the bouncer. */
    public readonly idempotencyTable: aws.dynamodb.Table;
    /** Bounce decisions. */
    public readonly bouncerQueue: QueueWithDlq;
    /** Sends bounces (SendBounce). */
    public readonly bouncer: LambdaFunction;
    /** The state machine that moves parked mail back to the forwarder. */
    public readonly retryDrain: RetryDrain;
    /** One per Gmail account (none when `tokenMonitoring` is false). */
    public readonly tokenMonitors: TokenMonitor[];
    /** Where token alarms notify (undefined without monitors). */
    public readonly tokenAlertTopicArn?: pulumi.Output<string>;
    /** This stack's receipt rule. */
    public readonly receiptRule: aws.ses.ReceiptRule;
    /** One MailDomain per receiving domain not already given one. */
    public readonly mailDomains: MailDomain[];
    /** MX records for the receiving domains, plus the identity records of domains created here. */
    public readonly dnsRecords: pulumi.Output<DnsRecord[]>;
    /** Records the receiving-only domains may already have (apex SPF, DMARC): what to merge into them. */
    public readonly dnsMerges: pulumi.Output<MailDomainMerge[]>;

    constructor(name: string, args: MailIngestArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:MailIngest", name, {}, opts);
        validateMailIngestArgs(args);
        const scope = ingestScope(name, args, this);

        const receiving = createReceiving(scope);
        const routing = createRouting(scope, receiving.topic);
        const gmail = createGmailDelivery(scope, routing, receiving.bucket);
        const bouncing = createBouncing(scope, routing, receiving.mailDomains, gmail.idempotencyTable);
        // Only the forwarder reads mail (the router and bouncer work from SES's notification).
        const bucketPolicy = createMailBucketPolicy(scope, receiving, [gmail.forwarder.role.arn, ...(args.mailReaderRoleArns ?? [])]);
        this.receiptRule = createReceiptRule(scope, receiving, bucketPolicy);
        this.dnsRecords = receivingDnsRecords(scope, receiving);
        this.dnsMerges = receivingDnsMerges(receiving);

        ({ bucket: this.bucket, topic: this.topic, mailDomains: this.mailDomains } = receiving);
        ({
            routingTable: this.routingTable, eventBus: this.eventBus, inputQueue: this.inputQueue, router: this.router,
            pipe: this.pipe, pipeLogGroup: this.pipeLogGroup, routingEventsDlq: this.routingEventsDlq,
        } = routing);
        ({
            forwarderQueue: this.forwarderQueue, retryQueue: this.retryQueue, idempotencyTable: this.idempotencyTable, forwarder: this.forwarder,
            retryDrain: this.retryDrain, tokenMonitors: this.tokenMonitors, tokenAlertTopicArn: this.tokenAlertTopicArn,
        } = gmail);
        ({ bouncerQueue: this.bouncerQueue, bouncer: this.bouncer } = bouncing);

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

    /**
     * What `ses-mail rules` (list, show, add, set, enable, disable, delete, export, import, explain)
     * calls on the routing table: GetItem, PutItem, DeleteItem and BatchGetItem on `ROUTE#` items
     * only (`dynamodb:LeadingKeys`, "Using IAM policy conditions for fine-grained access control" in the
     * DynamoDB Developer Guide: never the SMTP users' records in the same table), and Scan (the
     * listing filters `ROUTE#` items; a Scan has no key to condition on). Plus the table's customer
     * key, when a transform gave it one.
     */
    public rulesAdminStatements(): pulumi.Output<PolicyStatement[]> {
        return withStatements([
            allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchGetItem"], [this.routingTable.arn], {
                "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${RULE_KEY_PREFIX}*`] },
            }),
            allow(["dynamodb:Scan"], [this.routingTable.arn]),
        ], tableKeyStatements(this.routingTable, ["kms:Decrypt", "kms:GenerateDataKey"]));
    }

    /**
     * Lets `role` run `ses-mail rules` against this stack: one inline policy
     * `<name>-rules-admin-<role>` with {@link rulesAdminStatements}.
     * @example ingest.grantRulesAdmin(operatorRole)
     */
    public grantRulesAdmin(role: GrantRole, options?: GrantOptions): aws.iam.RolePolicy {
        return grantRolePolicy(this, "rules-admin", role, this.rulesAdminStatements(), options);
    }
}
