// Applications' send outcomes as the metrics the send-failure rate alarms (`ses-high-send-failure-rate-<TIER>`)
// watch: `EmailsSent` and `EmailsFailed` in `SESMail/<env>/Application`, with no dimensions.
// CloudWatch matches dimensions exactly ("Dimensions", CloudWatch User Guide), so a series with any
// dimension (Powertools adds `service`) is one the alarms never see: publish through these helpers.
import { CloudWatchClient, PutMetricDataCommand, type PutMetricDataCommandInput } from "@aws-sdk/client-cloudwatch";

/** Metric names the send-failure-rate alarms read, in `SESMail/<env>/Application`, without dimensions. */
export const SEND_OUTCOME_METRICS = {
    /** Messages SES accepted. */
    sent: "EmailsSent",
    /** Messages that failed. */
    failed: "EmailsFailed",
} as const;

/** The namespace the stack's send-failure alarms read (AlarmsArgs.applicationNamespace's default). */
export function applicationMetricsNamespace(env: string): string {
    return `SESMail/${env}/Application`;
}

/** Counts of one batch of sends. */
export interface SendOutcomes {
    /** Messages SES accepted (SendEmail / SMTP answered 250). */
    sent: number;
    /** Messages the application tried and SES refused or the call failed. */
    failed: number;
}

function checked(outcomes: SendOutcomes): SendOutcomes {
    for (const [key, value] of Object.entries(outcomes)) {
        if (!Number.isInteger(value) || value < 0) throw new RangeError(`Send outcome "${key}" must be a whole number of messages, 0 or more (got ${value}).`);
    }
    return outcomes;
}

/**
 * The PutMetricData request for some sends: both metrics, zeros included, so the alarm's rate has
 * both operands in every period that had a send (a period with failures only is still a rate).
 */
export function sendOutcomeMetricData(namespace: string, outcomes: SendOutcomes, timestamp: Date = new Date()): PutMetricDataCommandInput {
    const { sent, failed } = checked(outcomes);
    return {
        Namespace: namespace,
        MetricData: [
            { MetricName: SEND_OUTCOME_METRICS.sent, Value: sent, Unit: "Count", Timestamp: timestamp },
            { MetricName: SEND_OUTCOME_METRICS.failed, Value: failed, Unit: "Count", Timestamp: timestamp },
        ],
    };
}

/**
 * Publishes send outcomes with PutMetricData. The caller needs `cloudwatch:PutMetricData` with the
 * condition `cloudwatch:namespace` = the namespace. Count a batch of sends and publish once (one
 * request per batch, not per message).
 */
export async function publishSendOutcomes(options: { env: string; namespace?: string; client?: CloudWatchClient }, outcomes: SendOutcomes): Promise<void> {
    const client = options.client ?? new CloudWatchClient({});
    await client.send(new PutMetricDataCommand(sendOutcomeMetricData(options.namespace ?? applicationMetricsNamespace(options.env), outcomes)));
}

/**
 * The same metrics as one embedded-metric-format record, for applications on Lambda (or anything
 * whose stdout reaches CloudWatch Logs): print it as one line, `console.log(JSON.stringify(...))`.
 * One empty dimension set: the metrics without dimensions, as the alarms read them.
 */
export function sendOutcomeEmf(namespace: string, outcomes: SendOutcomes, timestamp: Date = new Date()): Record<string, unknown> {
    const { sent, failed } = checked(outcomes);
    return {
        _aws: {
            Timestamp: timestamp.getTime(),
            CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [[]], Metrics: [{ Name: SEND_OUTCOME_METRICS.sent, Unit: "Count" }, { Name: SEND_OUTCOME_METRICS.failed, Unit: "Count" }] }],
        },
        [SEND_OUTCOME_METRICS.sent]: sent,
        [SEND_OUTCOME_METRICS.failed]: failed,
    };
}
