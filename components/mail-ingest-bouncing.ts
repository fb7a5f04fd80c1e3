// MailIngest, bouncing: the bouncer's queue and function, paced to SendBounce's rate.
import * as aws from "@pulumi/aws";
import { paceIntervalMs } from "../functions/shared/pacing";
import { allow, idempotencyStatement, type PolicyStatement } from "./iam";
import { LambdaFunction } from "./lambda-function";
import type { MailDomain } from "./mail-domain";
import type { IngestScope } from "./mail-ingest-scope";
import { type Routing, routingTarget, sentByRule } from "./mail-ingest-routing";
import { physicalName } from "./naming";
import { QueueWithDlq } from "./queue-with-dlq";
import type { SuppressionStore } from "./suppression-store";

/** SendBounce: one call per second ("Amazon SES API v1 SendBounce"). */
export const SEND_BOUNCE_PER_SECOND = 1;
/** The bouncer trigger's maximum concurrency: AWS's minimum for an SQS event source mapping. */
export const BOUNCER_MAX_CONCURRENCY = 2;

export interface Bouncing {
    bouncerQueue: QueueWithDlq;
    bouncer: LambdaFunction;
}

/**
 * The suppression store's read statements, narrowed to the one call `SuppressionClient.isSuppressed`
 * makes: a Query on the table's partition (no GetItem, no reason index). KMS statements stay.
 */
function suppressionLookupStatements(store: SuppressionStore): PolicyStatement[] {
    return store.readStatements().map((statement) => statement.Action.some((action) => action.startsWith("dynamodb:"))
        ? allow(["dynamodb:Query"], [store.tableArn])
        : statement);
}

/** `idempotencyTable` (the forwarder's, shared) keeps each DSN to one send; the bouncer reaches only its own records. */
export function createBouncing(scope: IngestScope, routing: Routing, mailDomains: MailDomain[], idempotencyTable: aws.dynamodb.Table): Bouncing {
    const { name, args, tags, child, common } = scope;
    const bouncerTimeout = 60;
    const bouncerQueue = new QueueWithDlq(`${name}-bouncer`, {
        ...common, purpose: "bouncer", consumerTimeoutSeconds: bouncerTimeout,
        allowedSenders: sentByRule(routing.rules.bounce), dlqAllowedSenders: sentByRule(routing.rules.bounce),
        transform: { queue: args.transform?.bouncerQueue, dlq: args.transform?.bouncerDlq },
    }, child);
    // No reserved concurrency: the trigger's pollers would be throttled and push bounces to the DLQ.
    // The mapping caps concurrency instead, and each instance paces its calls (functions/shared/pacing.ts).
    const purpose = "bouncer";
    const bouncer = new LambdaFunction(`${name}-bouncer`, {
        ...common, code: "bouncer", purpose, timeout: bouncerTimeout, metricsNamespace: scope.metricsNamespace, logRetentionDays: args.logRetentionDays, hashAddressesInLogs: args.hashAddressesInLogs,
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
            ...suppressionLookupStatements(args.suppressionStore),
            // The name LambdaFunction gives it (a test checks they agree): the policy cannot wait for the function.
            idempotencyStatement(idempotencyTable.arn, physicalName("lambda", { purpose, env: scope.env, prefix: scope.prefix })),
        ],
        transform: { function: args.transform?.bouncerFunction, role: args.transform?.bouncerRole },
    }, child);
    new aws.lambda.EventSourceMapping(`${name}-bouncer-source`, {
        eventSourceArn: bouncerQueue.arn, functionName: bouncer.arn, batchSize: 5, functionResponseTypes: ["ReportBatchItemFailures"],
        scalingConfig: { maximumConcurrency: BOUNCER_MAX_CONCURRENCY },
        tags,
    }, child);
    routingTarget(scope, "bounce", routing.rules.bounce, bouncerQueue.arn, bouncerQueue.dlq.arn);
    return { bouncerQueue, bouncer };
}
