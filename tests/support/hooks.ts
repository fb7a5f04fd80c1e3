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
import type { Captures } from "./cross-handler";
import { capturedLogFields, capturedMetricSeries } from "./output";
import { createRunDir, removeRunDir, runDir, runSubdir } from "./run-dir";

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

export function mochaGlobalSetup(): void {
    createRunDir();
}

export const mochaHooks = {
    afterAll(): void {
        const dir = runSubdir("captures");
        if (dir) writeCaptures(dir);
    },
};

export async function mochaGlobalTeardown(): Promise<void> {
    const dir = runDir();
    if (!dir) return;
    const partialRun = process.argv.some((arg) => arg === "--grep" || arg === "-g" || arg.startsWith("--grep="));
    let all: Captures[];
    try {
        all = readCaptures(path.join(dir, "captures"));
    } finally {
        removeRunDir();
    }
    const { crossHandlerProblems } = await import("./cross-handler");
    const problems = crossHandlerProblems(all, partialRun);
    if (problems.length > 0) throw new Error(problems.join("\n"));
}
