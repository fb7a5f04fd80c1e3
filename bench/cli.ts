// cli_help_ms: wall time of `node bin/ses-mail.js --help` as an operator runs it, median of 7
// runs after one warm-up (the bin runs dist/cli/main.js when `npm run build` has run, else the
// TypeScript source through tsx: build first to measure the published path).
// cli_help_compiled: 1 when the figure is of the compiled path, 0 when of tsx.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const RUNS = 7;

export async function cli(): Promise<Record<string, number>> {
    const help = () => {
        const started = performance.now();
        execFileSync(process.execPath, [path.join(ROOT, "bin", "ses-mail.js"), "--help"], { stdio: "ignore" });
        return performance.now() - started;
    };
    help();
    const times = Array.from({ length: RUNS }, help).sort((a, b) => a - b);
    return {
        cli_help_ms: Math.round(times[Math.floor(RUNS / 2)]),
        cli_help_compiled: fs.existsSync(path.join(ROOT, "dist", "cli", "main.js")) ? 1 : 0,
    };
}
