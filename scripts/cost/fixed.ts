// The fixed monthly cost of a stack, from its plan alone: what it costs with no mail at all. Every
// line is quantity × unit price (scripts/cost/prices.ts); where a quantity rests on an assumption
// rather than the plan (how long a scheduled run takes, how many idle pollers Lambda keeps), the
// line says so. Every resource type must be classified in RESOURCE_COSTS, so a new type cannot
// escape the model silently (tests/scripts/cost.test.ts checks both stacks' plans).
import { STACK_KEY_COMPONENT } from "../../components/kms-key";
import { quotaMetricPoints } from "../../functions/shared/send-quota";
import { HOURS_PER_MONTH, PRICES, type PriceKey, SECONDS_PER_MONTH } from "./prices";

/** What the model reads of a planned resource (tests/support/mocks' RecordedResource and scripts/plan-snapshot's PlanResource both fit). */
export interface PlannedResource {
    type: string;
    name: string;
    custom?: boolean;
    inputs: Record<string, any>;
    /** Pulumi `retainOnDelete`: a key kept declared while a stack moves onto one key (stacks/program.ts). */
    retainOnDelete?: boolean;
}

export interface CostLine {
    item: string;
    quantity: number;
    unit: string;
    price: PriceKey;
    unitUsd: number;
    monthlyUsd: number;
    source: string;
    /** What the quantity rests on beyond the plan. */
    assumption?: string;
}

/**
 * How each resource type costs money: "fixed" (a line below charges it whether or not mail flows),
 * "per-use" (charged per request, in the variable cost; nothing idle), "free" (no charge of its own).
 */
export const RESOURCE_COSTS: Record<string, { kind: "fixed" | "per-use" | "free"; why: string }> = {
    "aws:cloudwatch/metricAlarm:MetricAlarm": { kind: "fixed", why: "alarm metrics per month" },
    "aws:kms/key:Key": { kind: "fixed", why: "$1 a key-month" },
    "aws:cloudwatch/dashboard:Dashboard": { kind: "fixed", why: "beyond the 3 free dashboards" },
    "aws:scheduler/schedule:Schedule": { kind: "fixed", why: "its invocations and what they run (Lambda, Express runs, logs, traces, metrics)" },
    "aws:sfn/stateMachine:StateMachine": { kind: "fixed", why: "Express runs started by schedules; Standard ones (the drain) only when an operator starts them" },
    "aws:lambda/eventSourceMapping:EventSourceMapping": { kind: "fixed", why: "an SQS source is long-polled even when idle (DynamoDB stream reads by Lambda are free)" },
    "aws:pipes/pipe:Pipe": { kind: "fixed", why: "its SQS source is long-polled even when idle; requests per use" },
    "aws:cloudwatch/logGroup:LogGroup": { kind: "fixed", why: "storage at its retention of what scheduled runs log; ingestion per use" },
    "aws:lambda/function:Function": { kind: "per-use", why: "requests and GB-seconds (scheduled ones in the fixed lines)" },
    "aws:sqs/queue:Queue": { kind: "per-use", why: "requests per 64 KB; SSE-SQS is free" },
    "aws:sns/topic:Topic": { kind: "per-use", why: "publishes; deliveries to SQS are free" },
    "aws:dynamodb/table:Table": { kind: "per-use", why: "on-demand request units; storage and PITR per GB (negligible idle)" },
    "aws:s3/bucket:Bucket": { kind: "per-use", why: "requests and GB-months of stored mail" },
    "aws:cloudwatch/eventBus:EventBus": { kind: "per-use", why: "custom events put to it" },
    "aws:cloudwatch/eventRule:EventRule": { kind: "free", why: "rule matching and delivery are not charged" },
    "aws:cloudwatch/eventTarget:EventTarget": { kind: "free", why: "part of a rule" },
    "aws:cloudwatch/queryDefinition:QueryDefinition": { kind: "free", why: "saved queries are free; running them is per GB scanned (operator use)" },
    "aws:ssm/document:Document": { kind: "free", why: "Automation runbooks: per step only when run (operator use)" },
    "aws:ses/receiptRule:ReceiptRule": { kind: "free", why: "receiving is SES's own $0.10/1,000, the comparison figure" },
    "aws:ses/identityNotificationTopic:IdentityNotificationTopic": { kind: "free", why: "configuration" },
    "aws:sesv2/configurationSet:ConfigurationSet": { kind: "free", why: "configuration" },
    "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination": { kind: "free", why: "configuration (SNS publishes per use)" },
    "aws:sesv2/emailIdentity:EmailIdentity": { kind: "free", why: "configuration" },
    "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes": { kind: "free", why: "configuration" },
    "aws:iam/role:Role": { kind: "free", why: "IAM is free" },
    "aws:iam/rolePolicy:RolePolicy": { kind: "free", why: "IAM is free" },
    "aws:iam/policy:Policy": { kind: "free", why: "IAM is free" },
    "aws:kms/alias:Alias": { kind: "free", why: "aliases are free" },
    "aws:sqs/queuePolicy:QueuePolicy": { kind: "free", why: "configuration" },
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": { kind: "free", why: "configuration" },
    "aws:sns/topicPolicy:TopicPolicy": { kind: "free", why: "configuration" },
    "aws:sns/topicSubscription:TopicSubscription": { kind: "free", why: "SQS deliveries are free" },
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": { kind: "free", why: "configuration" },
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": { kind: "free", why: "configuration" },
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": { kind: "free", why: "SSE-S3 (AES256) is free" },
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": { kind: "free", why: "expirations are free" },
    "aws:s3/bucketPolicy:BucketPolicy": { kind: "free", why: "configuration" },
    "aws:lambda/permission:Permission": { kind: "free", why: "configuration" },
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": { kind: "free", why: "configuration" },
};

/** Resource types of a plan that RESOURCE_COSTS does not classify. */
export function unclassifiedTypes(resources: PlannedResource[]): string[] {
    return [...new Set(resources.filter((r) => r.custom !== false && !r.type.startsWith("ses-mail:") && !r.type.startsWith("pulumi:")).map((r) => r.type))]
        .filter((type) => !(type in RESOURCE_COSTS)).sort();
}

/** Series the token probe publishes each run: TokenValid with `account`, and its dimensionless copy. */
export const TOKEN_PROBE_SERIES = 2;

export interface FixedAssumptions {
    /** Seconds a scheduled Lambda run takes (the probe exchanges a token with Google; send-quota makes two AWS calls). */
    scheduledLambdaSeconds: number;
    /** Seconds an Express run of the token monitor takes (two AWS SDK integrations). */
    expressRunSeconds: number;
    /** Bytes logged per scheduled Lambda run: START/END/REPORT (with the X-Ray line) plus the function's own line. */
    logBytesPerScheduledRun: number;
    /** Long-polling connections Lambda (and a pipe) keeps on an idle SQS source, each waiting 20 s. */
    idlePollersPerSqsSource: number;
}

export const DEFAULT_FIXED_ASSUMPTIONS: FixedAssumptions = {
    scheduledLambdaSeconds: 1,
    expressRunSeconds: 1,
    logBytesPerScheduledRun: 1024,
    idlePollersPerSqsSource: 5,
};

export function line(item: string, quantity: number, unit: string, key: PriceKey, assumption?: string): CostLine {
    const p = PRICES[key];
    return { item, quantity, unit, price: key, unitUsd: p.usd, monthlyUsd: quantity * p.usd, source: p.source, ...(assumption ? { assumption } : {}) };
}

/** Runs a month of `rate(n minutes|hours|days)` / `cron(...)` (cron counted as hourly, an upper bound for the stacks' daily ones). */
export function runsPerMonth(expression: string): number {
    const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
    if (!rate) return HOURS_PER_MONTH;
    const minutes = Number(rate[1]) * (rate[2].startsWith("minute") ? 1 : rate[2].startsWith("hour") ? 60 : 1440);
    return (HOURS_PER_MONTH * 60) / minutes;
}

/** Metrics an alarm reads (a metric-math alarm: each metric query; otherwise its one metric), and whether any is high resolution. */
export function alarmMetrics(inputs: Record<string, any>): { metrics: number; highResolution: boolean } {
    const queries: any[] = inputs.metricQueries ?? [];
    if (queries.length === 0) return { metrics: 1, highResolution: Number(inputs.period ?? 60) < 60 };
    const metricQueries = queries.filter((q) => q.metric);
    return { metrics: Math.max(1, metricQueries.length), highResolution: metricQueries.some((q) => Number(q.metric.period ?? 60) < 60) };
}

const lastSegment = (arn: string) => arn.split(/[:/]/).pop() ?? arn;

export function fixedCost(resources: PlannedResource[], assumptions: FixedAssumptions = DEFAULT_FIXED_ASSUMPTIONS): CostLine[] {
    const of = (type: string) => resources.filter((r) => r.type === type);
    const lines: CostLine[] = [];

    const alarms = of("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => alarmMetrics(a.inputs));
    const standard = alarms.filter((a) => !a.highResolution);
    const high = alarms.filter((a) => a.highResolution);
    const single = standard.filter((a) => a.metrics === 1).length;
    const math = standard.filter((a) => a.metrics > 1);
    lines.push(line(`alarms, one metric (${single})`, single, "alarm metrics", "alarmMetricStandard"));
    if (math.length > 0) lines.push(line(`alarms, metric math (${math.length}, ${math.reduce((s, a) => s + a.metrics, 0)} metrics)`, math.reduce((s, a) => s + a.metrics, 0), "alarm metrics", "alarmMetricStandard"));
    if (high.length > 0) lines.push(line(`alarms, high resolution (${high.length})`, high.reduce((s, a) => s + a.metrics, 0), "alarm metrics", "alarmMetricHighResolution"));

    const keys = of("aws:kms/key:Key");
    // The components' old keys a migrating stack keeps declared: retained on delete, and not the stack key (retained too: it holds the SMTP passwords).
    const retained = keys.filter((k) => k.retainOnDelete && k.inputs.tags?.Component !== STACK_KEY_COMPONENT).length;
    lines.push(line(`KMS keys${retained ? ` (${retained} old, retained while migrating)` : ""}`, keys.length, "keys", "kmsKey",
        "first year; each yearly rotation adds $1/key-month for the first two; a retained key that left the program costs until its deletion is scheduled"));
    const dashboards = of("aws:cloudwatch/dashboard:Dashboard").length;
    lines.push(line(`dashboards (${dashboards}; first ${PRICES.dashboardsFree.usd} free)`, Math.max(0, dashboards - PRICES.dashboardsFree.usd), "dashboards", "dashboard", "the account's other dashboards share the free 3"));

    // Schedules and what they run.
    const functions = of("aws:lambda/function:Function");
    const machines = of("aws:sfn/stateMachine:StateMachine");
    const groups = of("aws:cloudwatch/logGroup:LogGroup");
    let schedulerRuns = 0;
    let lambdaRuns = 0;
    let lambdaGbSeconds = 0;
    let logGb = 0;
    let logStoredGb = 0;
    let expressRuns = 0;
    let putMetricData = 0;
    let customMetrics = 0;
    for (const schedule of of("aws:scheduler/schedule:Schedule")) {
        const runs = runsPerMonth(String(schedule.inputs.scheduleExpression ?? ""));
        schedulerRuns += runs;
        const target = String(schedule.inputs.target?.arn ?? "");
        const fn = functions.find((f) => f.inputs.name === lastSegment(target));
        if (fn) {
            lambdaRuns += runs;
            lambdaGbSeconds += runs * (Number(fn.inputs.memorySize ?? 128) / 1024) * assumptions.scheduledLambdaSeconds;
            const gb = (runs * assumptions.logBytesPerScheduledRun) / 1e9;
            logGb += gb;
            const group = groups.find((g) => g.inputs.name === `/aws/lambda/${fn.inputs.name}`);
            logStoredGb += gb * (Number(group?.inputs.retentionInDays ?? 30) / 30);
            const service = fn.inputs.environment?.variables?.POWERTOOLS_SERVICE_NAME;
            // What each scheduled function publishes (functions/send-quota: the quota points; token-probe:
            // TokenValid by account and without dimensions, two series: tokenValidityMetric in functions/shared/metrics.ts).
            customMetrics += service === "send-quota" ? quotaMetricPoints({ utilisationPercent: 0, max24HourSend: 0, sentLast24Hours: 0, maxSendRate: 0, level: "ok" } as never).length : TOKEN_PROBE_SERIES;
            putMetricData += service === "send-quota" ? runs : 0;
        }
        const machine = machines.find((m) => m.inputs.name === lastSegment(target));
        if (machine && machine.inputs.type === "EXPRESS") {
            expressRuns += runs;
            const definition = JSON.stringify(machine.inputs.definition ?? "");
            const publishes = definition.match(/aws-sdk:cloudwatch:putMetricData/g)?.length ?? 0;
            putMetricData += runs * publishes;
            const parsed = typeof machine.inputs.definition === "string" ? JSON.parse(machine.inputs.definition) : machine.inputs.definition;
            for (const state of Object.values<any>(parsed?.States ?? {})) {
                if (String(state.Resource ?? "").endsWith("cloudwatch:putMetricData")) customMetrics += ((state.Arguments ?? state.Parameters)?.MetricData ?? []).length;
            }
        }
    }
    const scheduleNote = `${assumptions.scheduledLambdaSeconds} s per scheduled Lambda run`;
    lines.push(line("schedule invocations", schedulerRuns, "invocations", "schedulerInvocation", "14 million a month are free per account"));
    lines.push(line("scheduled Lambda runs", lambdaRuns, "invocations", "lambdaRequest"));
    lines.push(line("scheduled Lambda compute", lambdaGbSeconds, "GB-s", "lambdaArmGbSecond", scheduleNote));
    lines.push(line("X-Ray traces of scheduled runs", lambdaRuns, "traces", "xrayTrace", "tracing Active; at under 1 request/s the default rule records every one"));
    lines.push(line("Express runs (token monitor)", expressRuns, "executions", "sfnExpressRequest"));
    lines.push(line("Express compute", expressRuns * 0.0625 * assumptions.expressRunSeconds, "GB-s", "sfnExpressGbSecond", `${assumptions.expressRunSeconds} s at 64 MB per run`));
    lines.push(line("PutMetricData by schedules", putMetricData, "requests", "putMetricData"));
    lines.push(line("custom metrics published by schedules", customMetrics, "metrics", "customMetric"));
    lines.push(line("log ingestion of scheduled runs", logGb, "GB", "logIngestion", `${assumptions.logBytesPerScheduledRun} bytes per run`));
    lines.push(line("log storage at the groups' retention", logStoredGb, "GB-months", "logStorage"));

    // The forwarder's OAuth secrets: client credentials and refresh token per account (functions/shared/gmail-oauth.ts parameterNames), stored by the CLI.
    const accounts = functions.flatMap((f) => String(f.inputs.environment?.variables?.GMAIL_ACCOUNTS ?? "").split(",").filter(Boolean)).length;
    if (accounts > 0) lines.push(line(`SSM SecureString parameters (${accounts} Gmail accounts)`, 2 * accounts, "parameters", "ssmStandardParameter", "standard tier (the account's default tier)"));

    // Idle long polling: Lambda's SQS pollers and the pipe's, 20 s waits.
    const queueArns = new Set(of("aws:sqs/queue:Queue").map((q) => `:${q.inputs.name}`));
    const isQueue = (arn: unknown) => typeof arn === "string" && arn.includes(":sqs:") && [...queueArns].some((suffix) => arn.endsWith(suffix));
    const sqsSources = of("aws:lambda/eventSourceMapping:EventSourceMapping").filter((m) => isQueue(m.inputs.eventSourceArn) && m.inputs.enabled !== false).length
        + of("aws:pipes/pipe:Pipe").filter((p) => isQueue(p.inputs.source)).length;
    const pollsPerSource = assumptions.idlePollersPerSqsSource * (SECONDS_PER_MONTH / 20);
    lines.push(line(`idle SQS long polls (${sqsSources} sources)`, sqsSources * pollsPerSource, "requests", "sqsRequest",
        `${assumptions.idlePollersPerSqsSource} pollers per source, 20 s waits (Lambda does not document its idle poller count)`));
    return lines;
}

export const total = (lines: CostLine[]): number => lines.reduce((sum, l) => sum + l.monthlyUsd, 0);
