import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { TOKEN_METRICS } from "./gmail-oauth";

/** Adds a count; with dimensions, as its own EMF entry so they do not spill onto other metrics. */
export function countMetric(metrics: Metrics, name: string, value = 1, dimensions?: Record<string, string>): void {
    if (!dimensions) {
        metrics.addMetric(name, MetricUnit.Count, value);
        return;
    }
    const single = metrics.singleMetric();
    Object.entries(dimensions).forEach(([key, dimension]) => single.addDimension(key, dimension));
    single.addMetric(name, MetricUnit.Count, value);
}

/**
 * `TokenValid` (1 or 0) for a Gmail account, with the account as its only dimension: the token
 * probe and the forwarder both feed the one alarm per account.
 */
export function tokenValidityMetric(metrics: Metrics, account: string, valid: boolean): void {
    const single = metrics.singleMetric();
    single.clearDefaultDimensions();
    single.addDimension("account", account);
    single.addMetric(TOKEN_METRICS.valid, MetricUnit.Count, valid ? 1 : 0);
}
