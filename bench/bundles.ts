// Issue #20 point 3, cold starts: every function's deployed bundle (bytes, gzipped bytes), its
// module init in a fresh Node process (and how much of it is loading the AWS SDK, which Lambda's
// runtime provides and the bundles leave external), and the modules that make up the bundle
// (esbuild's metafile), each beside its goal.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { bundleComposition, bundleFunction, packageRoot } from "../components/bundle";
import { SuppressionStore } from "../components/suppression-store";
import { FUNCTIONS } from "../tests/support/bundle-hashes";
import { runUnderMocks } from "../tests/support/mocks";
import { runStack } from "../tests/support/stack";

/** The forwarder's goal: 512 KiB. */
export const FORWARDER_BUNDLE_GOAL_BYTES = 512 * 1024;
/** Every other function: 150 KB. */
export const BUNDLE_GOAL_BYTES = 150_000;
/** The forwarder's module init against the full `googleapis` variant's, measured in the same run. */
export const FORWARDER_INIT_RATIO_GOAL = 0.1;

export const bundleGoal = (name: string) => (name === "gmail-forwarder" ? FORWARDER_BUNDLE_GOAL_BYTES : BUNDLE_GOAL_BYTES);

/** Keys of bench-results.json that have a goal (an upper bound), for the printed table. */
export function goals(results: Record<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    for (const key of Object.keys(results)) {
        if (key.startsWith("bundle_bytes.")) out[key] = bundleGoal(key.slice("bundle_bytes.".length));
    }
    if ("forwarder_bundle_bytes" in results) out.forwarder_bundle_bytes = FORWARDER_BUNDLE_GOAL_BYTES;
    if ("forwarder_init_ratio" in results) out.forwarder_init_ratio = FORWARDER_INIT_RATIO_GOAL;
    return out;
}

/** Every function of this checkout (tests/support/bundle-hashes.ts finds them), sorted. */
export function functionNames(): string[] {
    return [...FUNCTIONS].sort();
}

/** One module init: the whole `require` of the bundle, and the part spent in its `require("@aws-sdk/…")` calls. */
export interface InitSample {
    totalMs: number;
    sdkMs: number;
    /** Of sdkMs: each package's own load time (its module's evaluation, without what it requires in turn), ms. */
    sdkPackagesMs: Record<string, number>;
}

// Runs in a fresh process: times require(bundle), and (by wrapping Module._load) the time spent in
// the bundle's own requires of `@aws-sdk/*`, nested loads included. Only the bundle's direct
// requires are timed, so nothing is counted twice. Within those, each load's own time (minus the
// loads it makes) is kept with its request, and added to its package once the bundle has loaded
// (resolving names while timing would add to the times measured).
const INIT_SCRIPT = `
const Module = require("node:module");
const file = process.argv[1];
let sdk = 0n;
const nested = [];
const loads = [];
const load = Module._load;
Module._load = function (request, parent, isMain) {
    const direct = parent && parent.filename === file && request.startsWith("@aws-sdk/");
    if (!direct && nested.length === 0) return load.apply(this, arguments);
    const started = process.hrtime.bigint();
    nested.push(0n);
    try { return load.apply(this, arguments); } finally {
        const took = process.hrtime.bigint() - started;
        const inner = nested.pop();
        if (nested.length > 0) nested[nested.length - 1] += took;
        if (direct) sdk += took;
        loads.push([request, parent, took - inner]);
    }
};
const started = process.hrtime.bigint();
require(file);
const total = process.hrtime.bigint() - started;
const packageOf = (request, parent) => {
    if (Module.isBuiltin(request)) return "node:builtins";
    try {
        const m = Module._resolveFilename(request, parent).match(/node_modules\\/((@[^/]+\\/)?[^/]+)/);
        return m ? m[1] : request;
    } catch { return request; }
};
const sdkPackagesMs = {};
for (const [request, parent, ns] of loads) {
    const name = packageOf(request, parent);
    sdkPackagesMs[name] = (sdkPackagesMs[name] ?? 0) + Number(ns) / 1e6;
}
console.log(JSON.stringify({ totalMs: Number(total) / 1e6, sdkMs: Number(sdk) / 1e6, sdkPackagesMs }));
`;

/**
 * Module init of bundles, each in a fresh Node process per sample, samples of the bundles
 * interleaved (the machine's noise falls on all alike), median per bundle (by total). The files sit
 * inside the package so that `@aws-sdk/*` (external, as on Lambda) resolves from node_modules.
 */
export function measureInit(bundles: Record<string, { code: string; env: Record<string, string> }>, samples = 7): Record<string, InitSample> {
    const dir = fs.mkdtempSync(path.join(packageRoot(), "node_modules", ".bench-"));
    try {
        const files = Object.fromEntries(Object.entries(bundles).map(([name, { code }]) => {
            const file = path.join(dir, `${name}.js`);
            fs.writeFileSync(file, code);
            return [name, file];
        }));
        const runs: Record<string, InitSample[]> = Object.fromEntries(Object.keys(bundles).map((name) => [name, []]));
        for (let i = 0; i < samples; i++) {
            for (const [name, { env }] of Object.entries(bundles)) {
                const out = execFileSync(process.execPath, ["--no-warnings", "-e", INIT_SCRIPT, files[name]], { env: { ...process.env, ...env }, encoding: "utf8", cwd: dir });
                runs[name].push(JSON.parse(out.trim().split("\n").at(-1)!) as InitSample);
            }
        }
        return Object.fromEntries(Object.entries(runs).map(([name, list]) => [name, list.sort((a, b) => a.totalMs - b.totalMs)[Math.floor(list.length / 2)]]));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * Each function's environment as the stacks synthesize it: the test stack's functions (keyed by
 * POWERTOOLS_SERVICE_NAME, the code folder), then the prod stack's for those the test stack leaves
 * out, plus a SuppressionStore that mirrors to SES (neither stack does), and AWS_REGION as Lambda sets it.
 */
export async function functionEnvironments(): Promise<Record<string, Record<string, string>>> {
    const plans = [(await runStack("test")).plan, (await runStack("prod")).plan, (await runUnderMocks(() => new SuppressionStore("s", { env: "bench", mirrorToSes: true }))).plan];
    const environments: Record<string, Record<string, string>> = {};
    for (const fn of plans.flatMap((plan) => plan.ofType("aws:lambda/function:Function"))) {
        const variables = (fn.inputs.environment?.variables ?? {}) as Record<string, string>;
        const code = variables.POWERTOOLS_SERVICE_NAME;
        if (code && !environments[code]) environments[code] = { ...variables, AWS_REGION: "us-east-1" };
    }
    const missing = functionNames().filter((name) => !environments[name]);
    if (missing.length) throw new Error(`bench: no synthesized environment for ${missing.join(", ")}: add a component that deploys it to functionEnvironments().`);
    return environments;
}

const thousands = (n: number) => Math.round(n).toLocaleString("en-US");

/** Size, gzipped size and module init of every function's bundle; prints what makes each up. */
export async function bundles(): Promise<Record<string, number>> {
    const names = functionNames();
    const environments = await functionEnvironments();
    const init = measureInit(Object.fromEntries(names.map((name) => [name, { code: bundleFunction(name).code, env: environments[name] }])));
    const results: Record<string, number> = {};
    const lines: string[] = [];
    for (const name of names) {
        const { code } = bundleFunction(name);
        const bytes = Buffer.byteLength(code);
        results[`bundle_bytes.${name}`] = bytes;
        results[`bundle_gzip_bytes.${name}`] = gzipSync(code).length;
        results[`init_ms.${name}`] = init[name].totalMs;
        results[`init_sdk_ms.${name}`] = init[name].sdkMs;
        const composition = Object.entries(bundleComposition(name)).sort((a, b) => b[1] - a[1]);
        const largest = composition.slice(0, 5).map(([module, size]) => `${module} ${thousands(size)} (${Math.round((100 * size) / bytes)}%)`).join(", ");
        const goal = bundleGoal(name);
        lines.push(`${name.padEnd(24)} ${thousands(bytes).padStart(9)} B  goal ≤ ${thousands(goal).padStart(7)} ${bytes <= goal ? "met   " : "MISSED"}  init ${init[name].totalMs.toFixed(0).padStart(4)} ms (AWS SDK ${init[name].sdkMs.toFixed(0).padStart(3)} ms)  largest: ${largest}`);
    }
    console.log(`Bundles (minified), module init in a fresh process (median of 7), largest modules (esbuild metafile):\n${lines.join("\n")}\n`);
    return results;
}
