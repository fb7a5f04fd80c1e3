// MailIngest, bouncing: the bouncer's queue and function, paced to SendBounce's rate.
import * as aws from "@pulumi/aws";
import { paceIntervalMs } from "../functions/shared/pacing";
import { allow } from "./iam";
import { LambdaFunction } from "./lambda-function";
import type { MailDomain } from "./mail-domain";
import type { IngestScope } from "./mail-ingest-scope";
import { type Routing, routingTarget, sentByRule } from "./mail-ingest-routing";
import { QueueWithDlq } from "./queue-with-dlq";

/** SendBounce: one call per second ("Amazon SES API v1 SendBounce"). */
export const SEND_BOUNCE_PER_SECOND = 1;
/** The bouncer trigger's maximum concurrency: AWS's minimum for an SQS event source mapping. */
export const BOUNCER_MAX_CONCURRENCY = 2;

export interface Bouncing {
    bouncerQueue: QueueWithDlq;
    bouncer: LambdaFunction;
}

/** `idempotencyTable` (the forwarder's; Powertools keys records by function) keeps each DSN to one send. */
export function createBouncing(scope: IngestScope, routing: Routing, mailDomains: MailDomain[], idempotencyTable: aws.dynamodb.Table): Bouncing {
    const { name, args, tags, child, common } = scope;
    const bouncerTimeout = 60;
    const bouncerQueue = new QueueWithDlq(`${name}-bouncer`, {
        ...common, purpose: "bouncer", consumerTimeoutSeconds: bouncerTimeout,
        allowedSenders: sentByRule(routing.rules.bounce), dlqAllowedSenders: sentByRule(routing.rules.bounce),
    }, child);
    // No reserved concurrency: the trigger's pollers would be throttled and push bounces to the DLQ.
    // The mapping caps concurrency instead, and each instance paces its calls (functions/shared/pacing.ts).
    const bouncer = new LambdaFunction(`${name}-bouncer`, {
        ...common, code: "bouncer", purpose: "bouncer", timeout: bouncerTimeout, metricsNamespace: scope.metricsNamespace, logRetentionDays: args.logRetentionDays,
        description: "Bounces mail for unknown recipients, never as backscatter",
        environment: {
            SUPPRESSION_TABLE_NAME: args.suppressionStore.tableName,
            DOMAINS: args.domains.join(","),
            BOUNCE_SENDER_LOCAL_PART: args.bounceSenderLocalPart ?? "MAILER-DAEMON",
            IDEMPOTENCY_TABLE_NAME: idempotencyTable.name,
            BOUNCE_MIN_INTERVAL_MS: String(paceIntervalMs(SEND_BOUNCE_PER_SECOND, BOUNCER_MAX_CONCURRENCY)),
        },
        policyStatements: [
            ...bouncerQueue.consumerStatements(),
            allow(["ses:SendBounce"], mailDomains.map((d) => d.identityArn)),
            ...args.suppressionStore.readStatements(),
            allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], [idempotencyTable.arn]),
        ],
    }, child);
    new aws.lambda.EventSourceMapping(`${name}-bouncer-source`, {
        eventSourceArn: bouncerQueue.arn, functionName: bouncer.arn, batchSize: 5, functionResponseTypes: ["ReportBatchItemFailures"],
        scalingConfig: { maximumConcurrency: BOUNCER_MAX_CONCURRENCY },
        tags,
    }, child);
    routingTarget(scope, "bounce", routing.rules.bounce, bouncerQueue.arn, bouncerQueue.dlq.arn);
    return { bouncerQueue, bouncer };
}
