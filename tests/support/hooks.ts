// Root hooks (loaded by .mocharc.json). After the whole run, checks across every handler test:
// - every field a saved Logs Insights query relies on appears in log lines the handlers really wrote
//   during their tests (the routing pipe's lines: a fixture of the Pipes log schema);
// - every alarm on our functions' metrics watches a series the handlers really published (name and
//   dimensions exactly), and every metric they published can be read without dimensions, as the
//   runbooks' `aws cloudwatch get-metric-statistics` commands do (see metricProblems).
import { savedQueries } from "../../components/saved-queries";
import { PIPE_ENRICHMENT_FAILURE } from "../fixtures/pipe-logs";
import { metricProblems } from "./metric-checks";
import { capturedLogLines, capturedMetricSeries } from "./output";

/** A field as Logs Insights names it: `error.message` is the `message` member of `error`. */
export function fieldValue(line: Record<string, unknown>, field: string): unknown {
    return field.split(".").reduce<unknown>((value, key) => (value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined), line);
}

export const mochaHooks = {
    afterAll(): void {
        const partialRun = process.argv.some((arg) => arg === "--grep" || arg === "-g" || arg.startsWith("--grep="));
        const byService = new Map<string, Record<string, unknown>[]>([["pipe", PIPE_ENRICHMENT_FAILURE]]);
        for (const line of capturedLogLines) {
            const service = String(line.service);
            byService.set(service, [...(byService.get(service) ?? []), line]);
        }
        const problems: string[] = [];
        for (const query of savedQueries()) {
            const lines = query.sources.flatMap((source) => byService.get(source) ?? []);
            const missingSources = query.sources.filter((source) => !byService.has(source));
            if (missingSources.length > 0) {
                if (!partialRun) problems.push(`${query.id}: no handler test captured logs of ${missingSources.join(", ")}`);
                continue;
            }
            for (const field of query.fields) {
                if (!lines.some((line) => fieldValue(line, field) !== undefined)) {
                    problems.push(`${query.id}: no log line of ${query.sources.join("/")} has the field "${field}"`);
                }
            }
        }
        const metrics = partialRun ? [] : metricProblems(capturedMetricSeries);
        if (problems.length > 0 || metrics.length > 0) {
            throw new Error([
                ...(problems.length > 0 ? [`Saved queries use fields the functions do not log:\n  ${problems.join("\n  ")}`] : []),
                ...(metrics.length > 0 ? [`Alarms or runbook queries that match no metric the functions publish:\n  ${metrics.join("\n  ")}`] : []),
            ].join("\n"));
        }
    },
};
