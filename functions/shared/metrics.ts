import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";

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
