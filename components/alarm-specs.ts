// The alarms of the system as plain data, so each one (metric or expression, threshold, periods,
// missing-data treatment) is table-tested without Pulumi. components/alarms.ts turns them into
// CloudWatch alarms. Dimension values may be Outputs (queue names, function names); everything
// else is plain data.
import type * as pulumi from "@pulumi/pulumi";
import { SEND_OUTCOME_METRICS } from "../functions/shared/send-outcomes";
import { DEFAULT_PREFIX } from "./naming";

/** One metric an alarm reads (a metric-math alarm reads several, by `id`). */
export interface MetricRef {
    /** Id of the metric in the alarm's expression (lower-case first letter, as CloudWatch requires). */
    id: string;
    /** CloudWatch namespace, e.g. `SESMail/<env>` or `AWS/SQS`. */
    namespace: string;
    /** Metric name, e.g. `OutboundBounce`. */
    metricName: string;
    /** Dimensions, matched exactly by CloudWatch (`{}` for the dimensionless series). */
    dimensions: Record<string, pulumi.Input<string>>;
    /** Statistic over the period. */
    stat: "Sum" | "Maximum" | "Minimum" | "Average";
}

/** An alarm as plain data (pure, tested without Pulumi); `metricAlarm` turns it into a CloudWatch alarm. */
export interface AlarmSpec {
    /** The alarm's name (also its Pulumi resource name). */
    name: string;
    /**
     * The alarm's Pulumi resource name (after the component's name) when it is not `name`: alarms
     * renamed to the runbooks' names keep the resource name they had, so their URNs stay.
     * @default name
     */
    key?: string;
    /** The alarm's description: what it means and what to do. */
    description: string;
    /** Severity, also part of rate alarm names. */
    tier: "WARNING" | "CRITICAL";
    /** Single-metric alarm… */
    metric?: MetricRef;
    /** …or metric math: `expression` over `metrics`. */
    expression?: string;
    /** The metrics of a metric-math `expression`. @default none (the alarm reads `metric`) */
    metrics?: MetricRef[];
    /** The threshold the value is compared with. */
    threshold: number;
    /** How the value is compared with the threshold. */
    comparison: "GreaterThanThreshold" | "GreaterThanOrEqualToThreshold" | "LessThanThreshold";
    /** Period of each evaluation, in seconds. */
    periodSeconds: number;
    /** Consecutive periods that must breach. */
    evaluationPeriods: number;
    /** Chosen per alarm: see `missingData` below. */
    treatMissingData: "notBreaching" | "breaching" | "missing";
    /**
     * "account": the alarm watches a figure of the whole account and region (SES's reputation,
     * Lambda's throttles), not of this stack: one stack per account and region needs it
     * (`AlarmsArgs.accountAlarms`). @default the stack's own
     */
    scope?: "account";
}

/** Settings of the rate alarms (bounce, complaint, send failure, suppressions, delivery), resolved from the Alarms args and {@link DEFAULT_RATE_ALARMS}. */
export interface RateAlarmSettings {
    /** Environment name. */
    env: string;
    /** Metrics namespace of our functions. */
    namespace: string;
    /** Powertools' `service` dimension of the feedback worker. */
    feedbackService: string;
    /** Namespace where applications publish EmailsSent / EmailsFailed. */
    applicationNamespace: string;
    /** A rate is evaluated only when the window has at least this many sends. */
    minimumSends: number;
    /** Window each rate is computed over, in seconds. */
    periodSeconds: number;
    /** Consecutive windows that must breach. */
    evaluationPeriods: number;
    /** Put in front of the rate alarm names (`ses-high-bounce-rate-…`). */
    namePrefix: string;
    /** Appended to the rate alarm names, e.g. `-test`, to keep stacks sharing an account apart. */
    nameSuffix: string;
    /** Bounce rate (%) thresholds: [warning, critical]. */
    bounceRate: [number, number];
    /** Complaint rate (%) thresholds: [warning, critical]. */
    complaintRate: [number, number];
    /** Applications' send failure rate (%) thresholds: [warning, critical]. */
    sendFailureRate: [number, number];
    /** Suppressions added per day: [warning, critical]. */
    suppressionsPerDay: [number, number];
    /** Delivery rate (%) below which the critical alarm fires. */
    deliveryRateCritical: number;
}

/** The rate alarms' defaults, from the runbooks (used by Alarms and the sending brake). */
export const DEFAULT_RATE_ALARMS: Omit<RateAlarmSettings, "env" | "namespace" | "applicationNamespace"> = {
    feedbackService: "feedback-worker",
    minimumSends: 100,
    periodSeconds: 3600,
    evaluationPeriods: 1,
    namePrefix: "ses",
    nameSuffix: "",
    bounceRate: [3, 5],
    complaintRate: [0.05, 0.1],
    sendFailureRate: [5, 10],
    suppressionsPerDay: [5, 20],
    deliveryRateCritical: 95,
};

const TIERS = ["WARNING", "CRITICAL"] as const;

/**
 * Rates as percentages, guarded against low volume: `IF(sends >= minimum, rate, 0)` (or 100 for
 * the delivery rate) so one bounce out of one send pages nobody. No sends means no data, which is
 * not breaching: silence is not a reputation problem (the SES reputation alarms watch the account).
 */
export function rateAlarmSpecs(s: RateAlarmSettings): AlarmSpec[] {
    const ours = (id: string, metricName: string, extra: Record<string, string> = {}): MetricRef =>
        ({ id, namespace: s.namespace, metricName, dimensions: { service: s.feedbackService, ...extra }, stat: "Sum" });
    const app = (id: string, metricName: string): MetricRef => ({ id, namespace: s.applicationNamespace, metricName, dimensions: {}, stat: "Sum" });
    const name = (what: string, tier: string) => `${s.namePrefix}-${what}-${tier}${s.nameSuffix}`;
    const rate = (what: string, description: string, numerator: MetricRef, thresholds: [number, number]): AlarmSpec[] =>
        TIERS.map((tier, i) => ({
            name: name(what, tier), tier, description,
            expression: `IF(sends >= ${s.minimumSends}, 100 * ${numerator.id} / sends, 0)`,
            metrics: [numerator, ours("sends", "OutboundSend")],
            threshold: thresholds[i], comparison: "GreaterThanThreshold",
            periodSeconds: s.periodSeconds, evaluationPeriods: s.evaluationPeriods, treatMissingData: "notBreaching",
        }));
    return [
        ...rate("high-bounce-rate", `Bounce rate (%) over ${s.periodSeconds / 3600} h, when at least ${s.minimumSends} sends`, ours("bounces", "OutboundBounce"), s.bounceRate),
        ...rate("high-complaint-rate", `Complaint rate (%) over ${s.periodSeconds / 3600} h, when at least ${s.minimumSends} sends`, ours("complaints", "OutboundComplaint"), s.complaintRate),
        // Applications publish these with the runtime's publishSendOutcomes / sendOutcomeEmf (no
        // dimensions, as matched here). FILL: a period in which every send failed has no EmailsSent
        // from an application that publishes only what happened, and is the worst rate, not none.
        ...TIERS.map((tier, i): AlarmSpec => ({
            name: name("high-send-failure-rate", tier), tier,
            description: `Application send failures (%) = EmailsFailed / (EmailsSent + EmailsFailed) in ${s.applicationNamespace}, no dimensions (publishSendOutcomes from ses-mail/runtime)`,
            expression: `IF(FILL(sent, 0) + FILL(failed, 0) >= ${s.minimumSends}, 100 * FILL(failed, 0) / (FILL(sent, 0) + FILL(failed, 0)), 0)`,
            metrics: [app("sent", SEND_OUTCOME_METRICS.sent), app("failed", SEND_OUTCOME_METRICS.failed)],
            threshold: s.sendFailureRate[i], comparison: "GreaterThanThreshold",
            periodSeconds: s.periodSeconds, evaluationPeriods: s.evaluationPeriods, treatMissingData: "notBreaching",
        })),
        // One metric, not the sum of the two `reason` series: the worker publishes every SuppressionAdded
        // also without dimensions (countMetric in functions/shared/metrics.ts; the external consumer's
        // poller likewise), and it alone publishes the name, so that series is bounces + complaints. A
        // metric-math alarm is billed for each metric it reads (scripts/cost/prices.ts).
        ...TIERS.map((tier, i): AlarmSpec => ({
            name: name("suppressions-added", tier), tier,
            description: "Addresses added to the suppression list per day (bounces + complaints: SuppressionAdded without dimensions)",
            metric: { id: "m", namespace: s.namespace, metricName: "SuppressionAdded", dimensions: {}, stat: "Sum" },
            threshold: s.suppressionsPerDay[i], comparison: "GreaterThanThreshold",
            periodSeconds: 86400, evaluationPeriods: 1, treatMissingData: "notBreaching",
        })),
        {
            name: name("low-delivery-rate", "CRITICAL"), tier: "CRITICAL",
            description: `Delivery rate (%) below ${s.deliveryRateCritical} when at least ${s.minimumSends} sends`,
            expression: `IF(sends >= ${s.minimumSends}, 100 * deliveries / sends, 100)`,
            metrics: [ours("deliveries", "OutboundDelivery"), ours("sends", "OutboundSend")],
            threshold: s.deliveryRateCritical, comparison: "LessThanThreshold",
            periodSeconds: s.periodSeconds, evaluationPeriods: s.evaluationPeriods, treatMissingData: "notBreaching",
        },
        // SES's own account reputation: the numbers SES suspends accounts on.
        ...([["reputation-bounce-rate", "Reputation.BounceRate", 0.05], ["reputation-complaint-rate", "Reputation.ComplaintRate", 0.001]] as const).map(([what, metricName, threshold]): AlarmSpec => ({
            name: name(what, "CRITICAL"), tier: "CRITICAL",
            description: `SES account ${metricName} at or above ${threshold}`,
            metric: { id: "m", namespace: "AWS/SES", metricName, dimensions: {}, stat: "Maximum" },
            threshold, comparison: "GreaterThanOrEqualToThreshold",
            periodSeconds: 3600, evaluationPeriods: 1, treatMissingData: "notBreaching", scope: "account",
        })),
    ];
}

/** The stack's queues, DLQs, functions, pipes and state machines, by label: what {@link resourceAlarmSpecs} makes alarms for. */
export interface ResourceAlarmInputs {
    /** label → queue name; oldest message age > limit. */
    queues: Record<string, pulumi.Input<string>>;
    /** label → the queue's purpose (`email-input`, `gmail-forwarder`, …), the `<queue>` of the runbooks' `ses-<queue>-queue-age-<env>`. @default the label */
    queuePurposes?: Record<string, string>;
    /** Physical-name prefix of the stack: another than `ses-mail` is put in front of every name, so two stacks of one env in one account and region differ. @default "ses-mail" */
    namePrefix?: string;
    /** label → DLQ name; any visible message. */
    deadLetterQueues: Record<string, pulumi.Input<string>>;
    /** label → function name; Errors > 0, Throttles > 0. */
    functions: Record<string, pulumi.Input<string>>;
    /** label → pipe name; ExecutionFailed > 0. */
    pipes: Record<string, pulumi.Input<string>>;
    /** label → state machine ARN; ExecutionsFailed > 0. */
    stateMachines: Record<string, pulumi.Input<string>>;
    /** A queue alarms when its oldest message is older than this (seconds). */
    queueAgeSeconds: number;
    /** Environment name: the last part of every resource alarm's name. */
    env: string;
    /** Namespace of our functions' metrics. @default "SESMail/<env>" */
    namespace?: string;
}

/** The router's Powertools service name: the `service` dimension of its metrics. */
export const ROUTER_SERVICE = "router";

/**
 * Mail met a routing rule that exists but cannot be used, and was routed as if the rule were
 * absent. The router publishes `RoutingRuleInvalid` twice per mail and rule: with `service` and
 * `pattern` (which rule), and with `service` alone, which this alarm watches — CloudWatch matches
 * dimensions exactly, and an alarm cannot aggregate the per-pattern series with a SEARCH expression.
 */
export function routingRuleInvalidAlarm(env: string, namespace = `SESMail/${env}`): AlarmSpec {
    return {
        name: `ses-mail-routing-rule-invalid-${env}`, tier: "CRITICAL",
        description: "Mail met a routing rule that cannot be used (unsupported or contradictory actions, malformed item) and was routed as if it were absent: `npx ses-mail rules list` shows which rule and why (RoutingRuleInvalid by pattern, router error log)",
        metric: { id: "m", namespace, metricName: "RoutingRuleInvalid", dimensions: { service: ROUTER_SERVICE }, stat: "Sum" },
        threshold: 0, comparison: "GreaterThanThreshold", periodSeconds: 300, evaluationPeriods: 1, treatMissingData: "notBreaching",
    };
}

/** The SMTP credential manager's Powertools service name: the `service` dimension of its metrics. */
export const SMTP_MANAGER_SERVICE = "smtp-credential-manager";

/**
 * The SMTP credential manager reports failures per stream record, so its Lambda Errors metric stays
 * 0: these alarms watch what it publishes itself (with the `service` dimension Powertools adds).
 * - failures: a reconcile failed in two consecutive 15-minute windows (one throttle that the retry
 *   absorbs pages nobody);
 * - refused: a record was marked failed (input it can never accept, or a user that could not be provisioned);
 * - stuck: the hourly sweep found records out of sync with IAM for longer than `stuckAfterHours`.
 */
export function smtpCredentialAlarms(env: string, namespace = `SESMail/${env}`): AlarmSpec[] {
    const metric = (metricName: string, stat: MetricRef["stat"]): MetricRef => ({ id: "m", namespace, metricName, dimensions: { service: SMTP_MANAGER_SERVICE }, stat });
    return [
        {
            name: `ses-mail-smtp-credential-failures-${env}`, tier: "CRITICAL",
            // Failures come in bursts (the stream's retries, then the hourly sweep's), so any failure in an hour pages.
            description: "SMTP users not reconciled with their records (IAM errors) within the hour: see last_error on the SMTP_USER# items and the manager's error log",
            metric: metric("SMTPCredentialReconcileFailed", "Sum"), threshold: 0, comparison: "GreaterThanThreshold", periodSeconds: 3600, evaluationPeriods: 1, treatMissingData: "notBreaching",
        },
        {
            name: `ses-mail-smtp-credential-refused-${env}`, tier: "WARNING",
            description: "An SMTP_USER# record was marked failed: its error attribute says why; fix it and set status to pending",
            metric: metric("SMTPCredentialFailed", "Sum"), threshold: 0, comparison: "GreaterThanThreshold", periodSeconds: 300, evaluationPeriods: 1, treatMissingData: "notBreaching",
        },
        {
            name: `ses-mail-smtp-credential-stuck-${env}`, tier: "CRITICAL",
            description: "SMTP_USER# records out of sync with IAM longer than the threshold (counted by the hourly sweep): see their last_error",
            metric: metric("SMTPCredentialsStuck", "Maximum"), threshold: 0, comparison: "GreaterThanThreshold", periodSeconds: 3600, evaluationPeriods: 1, treatMissingData: "notBreaching",
        },
    ];
}

/**
 * The alarm names the operators' runbooks use (default prefix). `<function>` is the function's
 * label (its purpose: `router`, `gmail-forwarder`, `bouncer`, …), `<queue>` its queue's purpose
 * (`email-input`, `gmail-forwarder`, `bouncer`, …). The env ends each name, so the stacks of one
 * account (test, prod) never share one; CloudWatch alarm names are unique per account and Region
 * (PutMetricAlarm, AlarmName), so a second Region needs no Region part.
 */
export const RUNBOOK_ALARM_NAMES = {
    /** `ses-mail-lambda-<function>-errors-<env>`. */
    lambda: (fn: string, metric: "errors", env: string) => `ses-mail-lambda-${fn}-${metric}-${env}`,
    /** Throttles of every function of the account and region: one alarm, not one per function. */
    lambdaThrottles: (env: string) => `ses-mail-lambda-throttles-${env}`,
    /** `ses-<queue>-queue-age-<env>`. */
    queueAge: (queue: string, env: string) => `ses-${queue}-queue-age-${env}`,
    /** The routing pipe's; another pipe would carry its label. */
    pipeFailures: (env: string, label = ROUTER_SERVICE) => (label === ROUTER_SERVICE ? `eventbridge-pipes-failures-${env}` : `eventbridge-pipes-${label}-failures-${env}`),
} as const;

/**
 * Resource alarms, and the router's invalid-rule alarm when the router is among the functions.
 * Missing data is not breaching throughout: SQS stops publishing for idle queues, Lambda and Step
 * Functions publish failures only when there are executions, so silence means nothing failed.
 * Function, queue-age and pipe alarms carry the runbooks' names ({@link RUNBOOK_ALARM_NAMES}) and
 * keep their earlier resource names (`key`), so renaming them changed no URN.
 */
export function resourceAlarmSpecs(r: ResourceAlarmInputs): AlarmSpec[] {
    const prefix = r.namePrefix ?? DEFAULT_PREFIX;
    const qualify = (name: string) => (prefix === DEFAULT_PREFIX ? name : `${prefix}-${name}`);
    const one = (what: string, description: string, metric: MetricRef, threshold: number, periodSeconds: number, runbookName?: string): AlarmSpec => ({
        name: runbookName ?? `ses-mail-${what}-${r.env}`, ...(runbookName ? { key: `ses-mail-${what}-${r.env}` } : {}), tier: "CRITICAL", description, metric, threshold,
        comparison: "GreaterThanThreshold", periodSeconds, evaluationPeriods: 1, treatMissingData: "notBreaching",
    });
    const errorsDescription = (label: string) => `Errors in the ${label} function: see its log group (ERROR lines) and its DLQ`;
    const specs = [
        ...Object.entries(r.deadLetterQueues).map(([label, queue]) => one(`${label}-dlq-messages`, `Messages in the ${label} DLQ: investigate, then redrive (SESMail-DLQ-Redrive)`,
            { id: "m", namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: queue }, stat: "Maximum" }, 0, 60)),
        ...Object.entries(r.queues).map(([label, queue]) => one(`${label}-queue-age`, `Oldest message in the ${label} queue older than ${r.queueAgeSeconds} s: the consumer is stuck or failing`,
            { id: "m", namespace: "AWS/SQS", metricName: "ApproximateAgeOfOldestMessage", dimensions: { QueueName: queue }, stat: "Maximum" }, r.queueAgeSeconds, 300,
            RUNBOOK_ALARM_NAMES.queueAge(r.queuePurposes?.[label] ?? label, r.env))),
        // Throttles are the account's: lambdaThrottlesAlarm, one for every function.
        ...Object.entries(r.functions).map(([label, fn]) => one(`${label}-errors`, errorsDescription(label),
            { id: "m", namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: fn }, stat: "Sum" }, 0, 300,
            RUNBOOK_ALARM_NAMES.lambda(label, "errors", r.env))),
        ...Object.entries(r.pipes).map(([label, pipe]) => one(`${label}-execution-failed`, `Failed executions of the ${label} pipe (enrichment or target): see the pipe's log group (logLevel ERROR) and the input DLQ`,
            { id: "m", namespace: "AWS/EventBridge/Pipes", metricName: "ExecutionFailed", dimensions: { PipeName: pipe }, stat: "Sum" }, 0, 300,
            RUNBOOK_ALARM_NAMES.pipeFailures(r.env, label))),
        ...Object.entries(r.stateMachines).map(([label, arn]) => one(`${label}-executions-failed`, `Failed executions of the ${label} state machine`,
            { id: "m", namespace: "AWS/States", metricName: "ExecutionsFailed", dimensions: { StateMachineArn: arn }, stat: "Sum" }, 0, 300)),
        // Watched with the router: the metric only it publishes.
        ...(r.functions[ROUTER_SERVICE] !== undefined ? [routingRuleInvalidAlarm(r.env, r.namespace)] : []),
        // Watched with the SMTP credential manager: the metrics only it publishes.
        ...(r.functions[SMTP_MANAGER_SERVICE] !== undefined ? smtpCredentialAlarms(r.env, r.namespace) : []),
    ];
    return specs.map((spec) => (prefix === DEFAULT_PREFIX ? spec : { ...spec, name: qualify(spec.name), key: spec.key ?? spec.name }));
}

/**
 * Lambda throttles of the whole account and region, one alarm instead of one per function. No
 * function of the stack has reserved concurrency and the SQS triggers cap theirs (maximum
 * concurrency), so a function's own settings never throttle it: a throttle of one of them means the
 * account's unreserved concurrency is exhausted, an account-level condition that `Throttles` without
 * dimensions shows (Lambda publishes its invocation metrics also aggregated over every function of
 * the account and region: "Types of metrics for Lambda functions", Lambda Developer Guide; CDK's
 * generated `LambdaMetrics.throttlesSum({})`). Another system's function throttled at its own
 * reserved concurrency counts too: the description says how to tell. tests/components/operations.test.ts
 * checks that the stack reserves no concurrency.
 */
export function lambdaThrottlesAlarm(env: string, namePrefix = DEFAULT_PREFIX): AlarmSpec {
    const name = RUNBOOK_ALARM_NAMES.lambdaThrottles(env);
    return {
        name: namePrefix === DEFAULT_PREFIX ? name : `${namePrefix}-${name}`, tier: "CRITICAL",
        description: "Lambda throttled invocations in the account and region (Throttles, every function): no function of this stack reserves concurrency, so the account's unreserved concurrency is exhausted (ConcurrentExecutions, UnreservedConcurrentExecutions). Which function: Throttles by FunctionName; one of another system's, throttled at its own reserved concurrency, is not this stack's problem",
        metric: { id: "m", namespace: "AWS/Lambda", metricName: "Throttles", dimensions: {}, stat: "Sum" },
        threshold: 0, comparison: "GreaterThanThreshold", periodSeconds: 300, evaluationPeriods: 1, treatMissingData: "notBreaching", scope: "account",
    };
}
