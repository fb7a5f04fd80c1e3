// `npm audit --omit=dev` for CI (.ci/run): prints the verdict of scripts/audit-report.ts and exits
// with its code (1 on a high or critical advisory; 0 when the advisory endpoint is unreachable).
import { spawnSync } from "node:child_process";
import { auditVerdict } from "./audit-report";

const npm = spawnSync("npm", ["audit", "--omit=dev", "--json"], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
const verdict = npm.error ? { exitCode: 1 as const, lines: [`::error::npm audit could not run: ${npm.error.message}`] } : auditVerdict(npm.stdout);
verdict.lines.forEach((line) => console.log(line));
process.exit(verdict.exitCode);
