import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { TOKEN_METRICS } from "./gmail-oauth";

/**
 * The dimensionless copy of a metric: CloudWatch matches dimensions exactly ("Dimensions" in the
 * CloudWatch User Guide, cloudwatch_concepts.html#Dimension), so the `service` series Powertools
 * publishes is invisible to `get-metric-statistics --namespace SESMail/<env> --metric-name X` without
 * `--dimensions`, which the runbooks use. A single metric with the default dimensions cleared
 * (Powertools Metrics: `singleMetric()`, `clearDefaultDimensions()`) is written as its own EMF
 * record; `addDimensions({})` gives it one empty dimension set, `"Dimensions": [[]]` (EMF
 * specification, "MetricDirective": each DimensionSet, the empty one included, is one metric), rather
 * than no set at all.
 */
export function aggregateMetric(metrics: Metrics, name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): void {
    const aggregate = metrics.singleMetric();
    aggregate.clearDefaultDimensions();
    aggregate.addDimensions({});
    aggregate.addMetric(name, unit, value);
}

/**
 * Adds a count twice: in the function's `service` series (with `dimensions`, as its own EMF entry so
 * they do not spill onto other metrics), which alarms watch, and without any dimension (the
 * aggregate the runbooks query, see {@link aggregateMetric}). `aggregate: false` for a breakdown
 * whose total the caller also publishes, so the aggregate counts each event once.
 */
export function countMetric(metrics: Metrics, name: string, value = 1, dimensions?: Record<string, string>, options: { aggregate?: boolean } = {}): void {
    if (!dimensions) {
        metrics.addMetric(name, MetricUnit.Count, value);
    } else {
        const single = metrics.singleMetric();
        Object.entries(dimensions).forEach(([key, dimension]) => single.addDimension(key, dimension));
        single.addMetric(name, MetricUnit.Count, value);
    }
    if (options.aggregate !== false) aggregateMetric(metrics, name, MetricUnit.Count, value);
}

/**
 * `TokenValid` (1 or 0) for a Gmail account, with the account as its only dimension: the token
 * probe and the forwarder both feed the one alarm per account. Also without dimensions (its Minimum
 * is 0 when any account's token was refused), for the runbooks' dimensionless queries.
 */
export function tokenValidityMetric(metrics: Metrics, account: string, valid: boolean): void {
    const single = metrics.singleMetric();
    single.clearDefaultDimensions();
    single.addDimension("account", account);
    single.addMetric(TOKEN_METRICS.valid, MetricUnit.Count, valid ? 1 : 0);
    aggregateMetric(metrics, TOKEN_METRICS.valid, MetricUnit.Count, valid ? 1 : 0);
}
