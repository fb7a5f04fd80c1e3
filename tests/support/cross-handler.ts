// The checks across every handler test that tests/support/hooks.ts runs once the whole suite is done
// (see there). Apart from hooks.ts so that what they need (the saved queries, the alarm catalogue:
// @pulumi/aws and the components) is loaded by the main process at the end only, not by every process
// before its first test.
import { savedQueries } from "../../components/saved-queries";
import { PIPE_ENRICHMENT_FAILURE } from "../fixtures/pipe-logs";
import { metricProblems } from "./metric-checks";
import { addFieldPaths, type MetricSeries } from "./output";

/** What one process captured: log field paths per service, and metric series. */
export interface Captures {
    logFields: Record<string, string[]>;
    metricSeries: MetricSeries[];
}

/**
 * The problems of the cross-handler checks (tests/support/hooks.ts), given every process's captures.
 * `partialRun` (a --grep run): a service no test captured and the metric checks are not reported.
 */
export function crossHandlerProblems(all: Captures[], partialRun: boolean): string[] {
    const fields = new Map<string, Set<string>>();
    for (const captures of all) {
        for (const [service, paths] of Object.entries(captures.logFields)) {
            const known = fields.get(service) ?? new Set<string>();
            paths.forEach((p) => known.add(p));
            fields.set(service, known);
        }
    }
    // The routing pipe's lines, which no handler test writes (a fixture of the Pipes log schema).
    const pipe = fields.get("pipe") ?? new Set<string>();
    PIPE_ENRICHMENT_FAILURE.forEach((line) => addFieldPaths(line, pipe));
    fields.set("pipe", pipe);

    const problems: string[] = [];
    for (const query of savedQueries()) {
        const missingSources = query.sources.filter((source) => !fields.has(source));
        if (missingSources.length > 0) {
            if (!partialRun) problems.push(`${query.id}: no handler test captured logs of ${missingSources.join(", ")}`);
            continue;
        }
        for (const field of query.fields) {
            if (!query.sources.some((source) => fields.get(source)!.has(field))) {
                problems.push(`${query.id}: no log line of ${query.sources.join("/")} has the field "${field}"`);
            }
        }
    }
    const metrics = partialRun ? [] : metricProblems(all.flatMap((captures) => captures.metricSeries));
    return [
        ...(problems.length > 0 ? [`Saved queries use fields the functions do not log:\n  ${problems.join("\n  ")}`] : []),
        ...(metrics.length > 0 ? [`Alarms or runbook queries that match no metric the functions publish:\n  ${metrics.join("\n  ")}`] : []),
    ];
}

