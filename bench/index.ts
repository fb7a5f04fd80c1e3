// `npm run bench`: runs every suite once, prints a table and writes bench-results.json
// (one number per key). Ratios are measured within one run because the machine is noisy.
import * as fs from "node:fs";
import * as path from "node:path";
import { bundles, goals } from "./bundles";
import { cli } from "./cli";
import { costSuite } from "./cost";
import { feedback, feedbackRequests } from "./feedback";
import { mailIngest } from "./mail-ingest";

const SUITES: Record<string, () => Promise<Record<string, number>>> = { bundles, cli, feedback, feedbackRequests, mailIngest, cost: costSuite };

async function main(): Promise<void> {
    const results: Record<string, number> = {};
    for (const [suite, run] of Object.entries(SUITES)) {
        const started = performance.now();
        Object.assign(results, await run());
        console.error(`suite ${suite}: ${(performance.now() - started).toFixed(0)} ms`);
    }
    // Issue #20's keys: the worst sequential DynamoDB round trips of any complaint / bounce case.
    const worst = (prefix: string) => Math.max(0, ...Object.entries(results).filter(([key]) => key.startsWith(prefix)).map(([, value]) => value));
    results.ddb_round_trips_complaint = worst("feedback_ddb_round_trips.complaint");
    results.ddb_round_trips_bounce = worst("feedback_ddb_round_trips.bounce");
    const width = Math.max(...Object.keys(results).map((key) => key.length));
    const goal = goals(results);
    const shown = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(2));
    console.log(`${"metric".padEnd(width)}  ${"value".padStart(12)}  goal`);
    for (const [key, value] of Object.entries(results)) {
        const target = key in goal ? `≤ ${shown(goal[key])} ${value <= goal[key] ? "met" : "MISSED"}` : "";
        console.log(`${key.padEnd(width)}  ${shown(value).padStart(12)}  ${target}`.trimEnd());
    }
    const file = path.resolve(__dirname, "..", "bench-results.json");
    fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote ${path.relative(process.cwd(), file)}`);
}

main().catch((error) => {
    console.error(error);
    process.exit(1);
});
