// MailIngest, routing: rules table, input queue, router (EventBridge Pipes enrichment), event bus
// and the bus rules that hand each mail's decisions to the forwarder, the bouncer or the input DLQ.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { decisionPattern, INVALID_ACTION, ROUTING_DETAIL_TYPE, ROUTING_EVENT_SOURCE } from "../functions/shared/routing-event";
import { DeadLetterQueue, type QueueSender } from "./dead-letter-queue";
import type { EncryptedTopic } from "./encrypted-topic";
import { allow, assumeRolePolicy, policyDocument } from "./iam";
import { LambdaFunction } from "./lambda-function";
import type { IngestScope } from "./mail-ingest-scope";
import { globalPhysicalName, physicalName } from "./naming";
import { QueueWithDlq } from "./queue-with-dlq";
import { ROUTING_EVENT_MAX_AGE_SECONDS } from "./retention";
import { secureTableSettings } from "./table-settings";
import { applyTransform } from "./transform";

/** The pipe reads this many records per batch, and the router returns exactly one event per record:
 * an event-bus target takes at most 10 entries (EventBridge Pipes, "Batching and concurrency"). */
export const PIPE_BATCH_SIZE = 10;


export interface Routing {
    routingTable: aws.dynamodb.Table;
    eventBus: aws.cloudwatch.EventBus;
    /** Bus rules: events with a forward, bounce or invalid decision. */
    rules: { forward: aws.cloudwatch.EventRule; bounce: aws.cloudwatch.EventRule; invalid: aws.cloudwatch.EventRule };
    inputQueue: QueueWithDlq;
    router: LambdaFunction;
    pipeLogGroup: aws.cloudwatch.LogGroup;
    pipe: aws.pipes.Pipe;
    /** Where the bus puts an invalid-mail event it could not deliver to the input DLQ. */
    routingEventsDlq: DeadLetterQueue;
}

/** EventBridge may send to a queue only on behalf of this rule. */
export const sentByRule = (rule: aws.cloudwatch.EventRule): QueueSender[] => [{ service: "events.amazonaws.com", sourceArns: [rule.arn] }];

export function createRouting(scope: IngestScope, topic: EncryptedTopic): Routing {
    const { name, args, env, prefix, tags, child, common } = scope;
    const transform = args.transform ?? {};
    const routingTable = new aws.dynamodb.Table(`${name}-routing`, ...applyTransform(transform.routingTable, `${name}-routing`, {
        name: args.routingTableName ?? physicalName("dynamodbTable", { purpose: "email-routing", env, prefix }),
        hashKey: "PK",
        rangeKey: "SK",
        attributes: [{ name: "PK", type: "S" }, { name: "SK", type: "S" }],
        streamEnabled: args.routingTableStream ?? false,
        streamViewType: args.routingTableStream ? "NEW_AND_OLD_IMAGES" : undefined,
        ...secureTableSettings({ deletionProtection: args.deletionProtection }),
        tags,
    }, child));
    const eventBus = new aws.cloudwatch.EventBus(`${name}-bus`, ...applyTransform(transform.eventBus, `${name}-bus`, { name: physicalName("eventBus", { purpose: "email-routing", env, prefix }), tags }, child));
    const busRule = (suffix: string, action: "forward-to-gmail" | "bounce" | typeof INVALID_ACTION) => new aws.cloudwatch.EventRule(`${name}-${suffix}-rule`, {
        name: physicalName("eventRule", { purpose: `route-${suffix}`, env, prefix }),
        eventBusName: eventBus.name,
        description: `Routed mail with at least one ${action} decision`,
        eventPattern: JSON.stringify(decisionPattern(action)),
        tags,
    }, child);
    const rules = { forward: busRule("forward", "forward-to-gmail"), bounce: busRule("bounce", "bounce"), invalid: busRule("invalid", INVALID_ACTION) };

    const routerTimeout = 30;
    const inputQueue = new QueueWithDlq(`${name}-input`, {
        ...common, purpose: "email-input", consumerTimeoutSeconds: routerTimeout,
        allowedSenders: [{ service: "sns.amazonaws.com", sourceArns: [topic.arn] }],
        dlqAllowedSenders: sentByRule(rules.invalid),
        transform: { queue: transform.inputQueue, dlq: transform.inputDlq },
    }, child);
    new aws.sns.TopicSubscription(`${name}-input-subscription`, { topic: topic.arn, protocol: "sqs", endpoint: inputQueue.arn }, child);

    const router = new LambdaFunction(`${name}-router`, {
        ...common, code: "router", purpose: "router", timeout: routerTimeout, metricsNamespace: scope.metricsNamespace, logRetentionDays: args.logRetentionDays, hashAddressesInLogs: args.hashAddressesInLogs,
        description: "Routes received mail by DynamoDB rules (EventBridge Pipes enrichment)",
        environment: {
            ROUTING_TABLE_NAME: routingTable.name,
            DEFAULT_ACTION: args.defaultAction ?? "store",
            SPAM_ACTION: args.spamAction ?? "drop",
            RULE_CACHE_TTL_SECONDS: String(args.ruleCacheTtlSeconds ?? 60),
        },
        policyStatements: [allow(["dynamodb:BatchGetItem"], [routingTable.arn])],
        transform: { function: transform.routerFunction, role: transform.routerRole },
    }, child);

    const pipeLogGroup = new aws.cloudwatch.LogGroup(`${name}-pipe-logs`, {
        name: `/aws/vendedlogs/pipes/${physicalName("pipe", { purpose: "email-router", env, prefix })}`, retentionInDays: args.logRetentionDays ?? 30, tags,
    }, child);
    const pipe = routingPipe(scope, { inputQueue, router, eventBus, pipeLogGroup });

    const routingEventsDlq = new DeadLetterQueue(`${name}-routing-events-dlq`, {
        env, namePrefix: prefix, purpose: "email-routing-events-dlq", component: "MailIngest", tags: args.tags,
        allowedSenders: sentByRule(rules.invalid),
    }, child);
    // Unreadable mail goes to the input DLQ (with its reason and original body, to redrive after a fix).
    routingTarget(scope, "invalid", rules.invalid, inputQueue.dlq.arn, routingEventsDlq.arn);
    return { routingTable, eventBus, rules, inputQueue, router, pipeLogGroup, pipe, routingEventsDlq };
}

/** A bus rule's queue target; what the bus cannot deliver within a day goes to `deadLetterArn`. */
export function routingTarget(scope: IngestScope, suffix: string, rule: aws.cloudwatch.EventRule, queueArn: pulumi.Input<string>, deadLetterArn: pulumi.Input<string>): aws.cloudwatch.EventTarget {
    return new aws.cloudwatch.EventTarget(`${scope.name}-${suffix}-target`, {
        rule: rule.name,
        eventBusName: rule.eventBusName,
        arn: queueArn,
        retryPolicy: { maximumEventAgeInSeconds: ROUTING_EVENT_MAX_AGE_SECONDS, maximumRetryAttempts: 185 },
        deadLetterConfig: { arn: deadLetterArn },
    }, scope.child);
}

/** Input queue → router (enrichment) → event bus, logging errors to its own log group. */
function routingPipe(scope: IngestScope, parts: Pick<Routing, "inputQueue" | "router" | "eventBus" | "pipeLogGroup">): aws.pipes.Pipe {
    const { name, env, prefix, tags, child } = scope;
    const pipeName = physicalName("pipe", { purpose: "email-router", env, prefix });
    const role = new aws.iam.Role(`${name}-pipe-role`, {
        name: scope.region.apply((region) => globalPhysicalName("iamRole", { purpose: "email-router-pipe", env, prefix, region, homeRegion: scope.args.homeRegion })),
        // Pipes assumes the role for this pipe only ("Amazon EventBridge Pipes permissions": the
        // execution role's trust names the pipe as aws:SourceArn); built from its name, no cycle.
        assumeRolePolicy: assumeRolePolicy("pipes.amazonaws.com", {
            account: scope.accountId,
            arn: pulumi.interpolate`arn:${scope.partition}:pipes:${scope.region}:${scope.accountId}:pipe/${pipeName}`,
        }),
        tags,
    }, child);
    const policy = new aws.iam.RolePolicy(`${name}-pipe-policy`, {
        role: role.id,
        policy: policyDocument([
            allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [parts.inputQueue.arn]),
            allow(["lambda:InvokeFunction"], [parts.router.arn]),
            allow(["events:PutEvents"], [parts.eventBus.arn]),
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.interpolate`${parts.pipeLogGroup.arn}:*`]),
        ]),
    }, child);
    return new aws.pipes.Pipe(`${name}-pipe`, ...applyTransform(scope.args.transform?.pipe, `${name}-pipe`, {
        name: pipeName,
        roleArn: role.arn,
        source: parts.inputQueue.arn,
        sourceParameters: { sqsQueueParameters: { batchSize: PIPE_BATCH_SIZE, maximumBatchingWindowInSeconds: 1 } },
        enrichment: parts.router.arn,
        target: parts.eventBus.arn,
        targetParameters: { eventbridgeEventBusParameters: { detailType: ROUTING_DETAIL_TYPE, source: ROUTING_EVENT_SOURCE } },
        logConfiguration: { level: "ERROR", cloudwatchLogsLogDestination: { logGroupArn: parts.pipeLogGroup.arn } },
        tags,
    }, { ...child, dependsOn: [policy] }));
}
