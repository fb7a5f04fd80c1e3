// The wiring of the synthesized stack, read from the mock plan: queues, functions (with their
// bundled code and environment), event source mappings, the pipe, bus rules and targets, state
// machines, subscriptions, tables and identities. The harness builds nothing that the plan knows.
import type { RecordedResource, ResourcePlan } from "../mocks";

export interface RedrivePolicy {
    deadLetterTargetArn: string;
    maxReceiveCount: number;
}

export interface QueueSpec {
    logicalName: string;
    name: string;
    url: string;
    arn: string;
    /** SQS defaults ("Amazon SQS visibility timeout": 30 s; "message quotas": 4 days, no delay). */
    visibilityTimeoutSeconds: number;
    messageRetentionSeconds: number;
    delaySeconds: number;
    redrive?: RedrivePolicy;
}

export interface FunctionSpec {
    logicalName: string;
    name: string;
    arn: string;
    timeoutSeconds: number;
    memorySize: number;
    reservedConcurrency?: number;
    environment: Record<string, string>;
    /** The deployed `index.js` (the esbuild bundle inside the function's AssetArchive). */
    code: string;
}

export interface MappingSpec {
    logicalName: string;
    sourceArn: string;
    functionArn: string;
    batchSize: number;
    windowSeconds: number;
    reportBatchItemFailures: boolean;
    maximumConcurrency?: number;
    enabled: boolean;
}

export interface PipeSpec {
    name: string;
    arn: string;
    sourceArn: string;
    batchSize: number;
    windowSeconds: number;
    enrichmentArn?: string;
    targetArn: string;
    detailType?: string;
    source?: string;
}

export interface TargetSpec {
    arn: string;
    retryPolicy?: { maximumEventAgeInSeconds?: number; maximumRetryAttempts?: number };
    deadLetterArn?: string;
}

export interface BusRuleSpec {
    name: string;
    arn: string;
    busName: string;
    pattern: Record<string, unknown>;
    targets: TargetSpec[];
}

export interface StateMachineSpec {
    logicalName: string;
    name: string;
    arn: string;
    definition: Record<string, any>;
}

export interface SubscriptionSpec {
    topicArn: string;
    protocol: string;
    endpoint: string;
    rawMessageDelivery: boolean;
}

export interface ReceiptRuleSpec {
    recipients: string[];
    bucket: string;
    objectKeyPrefix: string;
    topicArn?: string;
}

export interface SystemPlan {
    region: string;
    account: string;
    partition: string;
    queues: QueueSpec[];
    functions: FunctionSpec[];
    mappings: MappingSpec[];
    pipes: PipeSpec[];
    busRules: BusRuleSpec[];
    stateMachines: StateMachineSpec[];
    subscriptions: SubscriptionSpec[];
    tables: RecordedResource[];
    /** SES identities (domains or addresses) of the stack. */
    identities: string[];
    receiptRules: ReceiptRuleSpec[];
}

const toNumber = (value: unknown, fallback: number) => (value === undefined || value === null ? fallback : Number(value));

async function bundleText(fn: RecordedResource): Promise<string> {
    const assets = await fn.inputs.code?.assets;
    const asset = assets?.["index.js"];
    if (!asset) throw new Error(`${fn.name}: code is not an AssetArchive with index.js (have ${Object.keys(assets ?? {}).join(", ") || "nothing"})`);
    const text = await asset.text;
    if (typeof text !== "string") throw new Error(`${fn.name}: index.js is not a StringAsset`);
    return text;
}

const arnParts = (arn: string) => {
    const [, partition, , region, account] = arn.split(":");
    return { partition, region, account };
};

export async function readSystemPlan(plan: ResourcePlan): Promise<SystemPlan> {
    const queues = plan.ofType("aws:sqs/queue:Queue").map((q): QueueSpec => ({
        logicalName: q.name,
        name: q.state.name,
        url: q.state.url,
        arn: q.state.arn,
        visibilityTimeoutSeconds: toNumber(q.inputs.visibilityTimeoutSeconds, 30),
        messageRetentionSeconds: toNumber(q.inputs.messageRetentionSeconds, 345600),
        delaySeconds: toNumber(q.inputs.delaySeconds, 0),
        redrive: q.inputs.redrivePolicy ? JSON.parse(q.inputs.redrivePolicy) : undefined,
    }));
    const functions = await Promise.all(plan.ofType("aws:lambda/function:Function").map(async (f): Promise<FunctionSpec> => ({
        logicalName: f.name,
        name: f.state.name,
        arn: f.state.arn,
        timeoutSeconds: toNumber(f.inputs.timeout, 3),
        memorySize: toNumber(f.inputs.memorySize, 128),
        reservedConcurrency: f.inputs.reservedConcurrentExecutions === undefined || f.inputs.reservedConcurrentExecutions === -1 ? undefined : Number(f.inputs.reservedConcurrentExecutions),
        environment: { ...(f.inputs.environment?.variables ?? {}) },
        code: await bundleText(f),
    })));
    const queueArns = new Set(queues.map((q) => q.arn));
    const mappings = plan.ofType("aws:lambda/eventSourceMapping:EventSourceMapping")
        .filter((m) => queueArns.has(m.inputs.eventSourceArn))
        .map((m): MappingSpec => ({
            logicalName: m.name,
            sourceArn: m.inputs.eventSourceArn,
            functionArn: m.inputs.functionName,
            // "Lambda parameters for Amazon SQS event source mappings": BatchSize defaults to 10, the window to 0.
            batchSize: toNumber(m.inputs.batchSize, 10),
            windowSeconds: toNumber(m.inputs.maximumBatchingWindowInSeconds, 0),
            reportBatchItemFailures: (m.inputs.functionResponseTypes ?? []).includes("ReportBatchItemFailures"),
            maximumConcurrency: m.inputs.scalingConfig?.maximumConcurrency,
            enabled: m.inputs.enabled ?? true,
        }));
    const pipes = plan.ofType("aws:pipes/pipe:Pipe").map((p): PipeSpec => ({
        name: p.state.name,
        arn: p.state.arn,
        sourceArn: p.inputs.source,
        // EventBridge Pipes SQS source: batch size defaults to 10, the batching window to 0.
        batchSize: toNumber(p.inputs.sourceParameters?.sqsQueueParameters?.batchSize, 10),
        windowSeconds: toNumber(p.inputs.sourceParameters?.sqsQueueParameters?.maximumBatchingWindowInSeconds, 0),
        enrichmentArn: p.inputs.enrichment,
        targetArn: p.inputs.target,
        detailType: p.inputs.targetParameters?.eventbridgeEventBusParameters?.detailType,
        source: p.inputs.targetParameters?.eventbridgeEventBusParameters?.source,
    }));
    const targets = plan.ofType("aws:cloudwatch/eventTarget:EventTarget");
    const busRules = plan.ofType("aws:cloudwatch/eventRule:EventRule")
        .filter((r) => r.inputs.eventPattern !== undefined)
        .map((r): BusRuleSpec => ({
            name: r.state.name,
            arn: r.state.arn,
            busName: r.inputs.eventBusName ?? "default",
            pattern: JSON.parse(r.inputs.eventPattern),
            targets: targets
                .filter((t) => t.inputs.rule === r.state.name && (t.inputs.eventBusName ?? "default") === (r.inputs.eventBusName ?? "default"))
                .map((t) => ({ arn: t.inputs.arn, retryPolicy: t.inputs.retryPolicy, deadLetterArn: t.inputs.deadLetterConfig?.arn })),
        }));
    const stateMachines = plan.ofType("aws:sfn/stateMachine:StateMachine").map((s): StateMachineSpec => ({
        logicalName: s.name, name: s.state.name, arn: s.state.arn, definition: JSON.parse(s.inputs.definition),
    }));
    const subscriptions = plan.ofType("aws:sns/topicSubscription:TopicSubscription").map((s): SubscriptionSpec => ({
        topicArn: s.inputs.topic, protocol: s.inputs.protocol, endpoint: s.inputs.endpoint, rawMessageDelivery: s.inputs.rawMessageDelivery === true,
    }));
    const receiptRules = plan.ofType("aws:ses/receiptRule:ReceiptRule").flatMap((r): ReceiptRuleSpec[] => (r.inputs.s3Actions ?? []).map((a: any) => ({
        recipients: r.inputs.recipients ?? [], bucket: a.bucketName, objectKeyPrefix: a.objectKeyPrefix ?? "", topicArn: a.topicArn,
    })));
    const identities = [
        ...plan.ofType("aws:sesv2/emailIdentity:EmailIdentity").map((i) => String(i.inputs.emailIdentity)),
        ...plan.ofType("aws:ses/domainIdentity:DomainIdentity").map((i) => String(i.inputs.domain)),
    ];
    const { partition, region, account } = arnParts(queues[0]?.arn ?? "arn:aws:sqs:us-east-1:000000000000:none");
    return {
        region, account, partition, queues, functions, mappings, pipes, busRules, stateMachines, subscriptions,
        tables: plan.ofType("aws:dynamodb/table:Table"), identities, receiptRules,
    };
}

/** Lookups that fail loudly, naming what the plan has. */
export function byArn<T extends { arn: string; name: string }>(items: T[], arn: string, what: string): T {
    const found = items.find((i) => i.arn === arn || i.name === arn);
    if (!found) throw new Error(`No ${what} ${arn} in the plan (have: ${items.map((i) => i.name).join(", ")})`);
    return found;
}
