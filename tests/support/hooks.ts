// Root hooks and global fixtures (loaded by .mocharc.cjs). After the whole run, checks across every
// handler test:
// - every field a saved Logs Insights query relies on appears in log lines the handlers really wrote
//   during their tests (the routing pipe's lines: a fixture of the Pipes log schema);
// - every alarm on our functions' metrics watches a series the handlers really published (name and
//   dimensions exactly), and every metric they published can be read without dimensions, as the
//   runbooks' `aws cloudwatch get-metric-statistics` commands do (see metricProblems).
//
// Mocha runs the test files in worker processes (`parallel` in .mocharc.cjs), where root hooks run
// once per file and see only that worker's captures. So each process writes what it captured so far
// into the run's directory (tests/support/run-dir.ts: the main process's `mochaGlobalSetup` makes it
// before the workers start), after each file; `mochaGlobalTeardown`, in the main process once every
// file has run, checks their union. The same path serves a serial run (one process: the root hook
// runs once, at the end).
import * as fs from "node:fs";
import * as path from "node:path";
import { savedQueries } from "../../components/saved-queries";
import { PIPE_ENRICHMENT_FAILURE } from "../fixtures/pipe-logs";
import { metricProblems } from "./metric-checks";
import { addFieldPaths, capturedLogFields, capturedMetricSeries, type MetricSeries } from "./output";
import { createRunDir, removeRunDir, runDir, runSubdir } from "./run-dir";

/** What one process captured: log field paths per service, and metric series. */
interface Captures {
    logFields: Record<string, string[]>;
    metricSeries: MetricSeries[];
}

/** A field as Logs Insights names it: `error.message` is the `message` member of `error`. */
export function fieldValue(line: Record<string, unknown>, field: string): unknown {
    return field.split(".").reduce<unknown>((value, key) => (value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined), line);
}

/** Writes this process's captures so far (replacing its previous file; renamed into place, so never read half-written). */
function writeCaptures(dir: string): void {
    const captures: Captures = {
        logFields: Object.fromEntries([...capturedLogFields].map(([service, paths]) => [service, [...paths]])),
        metricSeries: capturedMetricSeries,
    };
    const file = path.join(dir, `${process.pid}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(captures));
    fs.renameSync(`${file}.tmp`, file);
}

function readCaptures(dir: string): Captures[] {
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).filter((name) => name.endsWith(".json")).map((name) => JSON.parse(fs.readFileSync(path.join(dir, name), "utf8")) as Captures);
}

/**
 * The problems of the checks above, given every process's captures. `partialRun` (a --grep run):
 * a service no test captured and the metric checks are not reported.
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

export function mochaGlobalSetup(): void {
    createRunDir();
}

export const mochaHooks = {
    afterAll(): void {
        const dir = runSubdir("captures");
        if (dir) writeCaptures(dir);
    },
};

export function mochaGlobalTeardown(): void {
    const dir = runDir();
    if (!dir) return;
    const partialRun = process.argv.some((arg) => arg === "--grep" || arg === "-g" || arg.startsWith("--grep="));
    let all: Captures[];
    try {
        all = readCaptures(path.join(dir, "captures"));
    } finally {
        removeRunDir();
    }
    const problems = crossHandlerProblems(all, partialRun);
    if (problems.length > 0) throw new Error(problems.join("\n"));
}
