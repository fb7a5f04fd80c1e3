// Every function's bundle hash, in this process or in a fresh one: the bundle tests compare them
// across working directories (tests/components/bundle.test.ts) and from the packed tarball
// (tests/package/tarball-bundles.test.ts).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { bundleFunction } from "../../components/bundle";

const ROOT = path.resolve(__dirname, "..", "..");

/** The functions of this checkout: `functions/<name>/handler.ts`. */
export const FUNCTIONS = fs.readdirSync(path.join(ROOT, "functions")).filter((name) => fs.existsSync(path.join(ROOT, "functions", name, "handler.ts")));

/** name → sha256 of every function's bundle, built in this process. */
export function hashesInProcess(): Record<string, string> {
    return Object.fromEntries(FUNCTIONS.map((name) => [name, bundleFunction(name).sha256]));
}

/** Bundles every function in a fresh Node process started in `cwd`, returning name → sha256. */
export function hashesFrom(cwd: string, moduleUrl: string, loader?: string): Record<string, string> {
    const script = `const { bundleFunction } = require(${JSON.stringify(moduleUrl)});
        const names = ${JSON.stringify(FUNCTIONS)};
        console.log(JSON.stringify(Object.fromEntries(names.map((n) => [n, bundleFunction(n).sha256]))));`;
    const args = [...(loader ? ["--import", loader] : []), "--no-warnings", "-e", script];
    return JSON.parse(execFileSync(process.execPath, args, { cwd, encoding: "utf8" }));
}
