// The test harness's own shortcuts must not change what the tests see: a cached synthesis is the
// synthesis, copied; Pulumi's bookkeeping stacks left out leave every other error's stack as it was; the
// cross-handler checks over captures from several worker processes find what the one-process check
// found; the checkout lock lets one process in at a time.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import fc from "fast-check";
import { savedQueries } from "../../components/saved-queries";
import { StackConfigError } from "../../stacks/config";
import { PIPE_ENRICHMENT_FAILURE } from "../fixtures/pipe-logs";
import { lockPath, withCheckoutLock } from "./checkout-lock";
import { crossHandlerProblems } from "./cross-handler";
import { fieldValue } from "./hooks";
import { addFieldPaths } from "./output";
import { cachedStack, cachedUnderMocks, loadStackConfig, runStack } from "./stack";
import { withoutPulumiStackTraces } from "./stack-traces";

const ROOT = path.resolve(__dirname, "..", "..");

/** What a test can compare of a resource: everything but the assets' promises (JSON leaves them out). */
const comparable = (resources: { urn: string; inputs: unknown; state: unknown; dependencies: string[] }[]) =>
    resources.map((r) => JSON.stringify([r.urn, r.inputs, r.state, r.dependencies]));

describe("test harness", () => {
    describe("cachedStack / cachedUnderMocks", () => {
        it("gives what runStack gives: the same resources, inputs, state and dependencies, and outputs", async () => {
            const fresh = await runStack("test");
            const cached = await cachedStack("test");
            expect(comparable(cached.plan.resources)).to.deep.equal(comparable(fresh.plan.resources));
            expect(cached.plan.invokes).to.deep.equal(fresh.plan.invokes);
            expect(Object.keys(cached.outputs).sort()).to.deep.equal(Object.keys(fresh.outputs).sort());
        });

        it("each call gets its own copy: what one test changes, the next does not see", async () => {
            const first = await cachedStack("test");
            const before = comparable(first.plan.resources);
            const table = first.plan.one("aws:dynamodb/table:Table", "suppression");
            table.inputs.name = "changed";
            table.inputs.attributes.push({ name: "x", type: "S" });
            first.plan.resources.pop();
            first.outputs.suppressionTableName = "changed";
            const second = await cachedStack("test");
            expect(comparable(second.plan.resources)).to.deep.equal(before);
            expect(second.plan.one("aws:dynamodb/table:Table", "suppression").inputs.name).to.equal("ses-email-suppression-list-test");
            expect(second.outputs.suppressionTableName).to.not.equal("changed");
        });

        it("keys on the config and the target: another region is another plan", async () => {
            const config = { ...loadStackConfig("test"), "aws:region": "eu-west-1" };
            const { plan } = await cachedStack("test", config, { region: "eu-west-1" });
            const queues = plan.ofType("aws:sqs/queue:Queue").map((q) => q.state.arn as string);
            expect(queues.length).to.be.greaterThan(0);
            expect(queues.every((arn) => arn.startsWith("arn:aws:sqs:eu-west-1:"))).to.equal(true);
        });

        it("runs a program once per key and options; a failed run is not kept", async () => {
            const key = `harness.test ${Date.now()}`;
            let runs = 0;
            let fail = true;
            const program = () => {
                runs += 1;
                if (fail) throw new StackConfigError(["broken on purpose"], "test");
                return { n: runs };
            };
            for (let i = 0; i < 2; i++) {
                const error = await cachedUnderMocks(key, program).catch((e: unknown) => e);
                expect(error).to.be.instanceOf(StackConfigError);
            }
            expect(runs).to.equal(2);
            fail = false;
            const results = [await cachedUnderMocks(key, program), await cachedUnderMocks(key, program)];
            expect(runs).to.equal(3);
            expect(results.map((r) => r.result.n)).to.deep.equal([3, 3]);
            await cachedUnderMocks(key, program, { region: "eu-west-1" });
            expect(runs).to.equal(4);
        });
    });

    describe("withoutPulumiStackTraces", () => {
        const make = () => new Error("boom");
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise<T>(p: Promise<T>, ctx: string): Promise<T> };
        const callsites = () => (pulumi.Resource as unknown as { callsites(): unknown[] }).callsites;
        const tracked = (p: Promise<unknown>) => (p as unknown as { _debugStackTrace: string })._debugStackTrace;

        it("leaves other errors' stacks as they are: every frame, mapped to the TypeScript source", async () => {
            const outside = make().stack!.split("\n");
            const inside = (await withoutPulumiStackTraces(async () => make().stack!)).split("\n");
            expect(inside[0]).to.equal("Error: boom");
            // The frame that made the error: same function, file, line and column.
            expect(inside[1]).to.equal(outside[1]);
            expect(inside[1]).to.match(/^ {4}at make \(.*tests\/support\/harness\.test\.ts:\d+:\d+\)$/);
            expect(inside.length).to.be.greaterThan(2);
        });

        it("leaves the SDK's promise stacks and source positions out only while it runs, then restores the SDK", async () => {
            const [original, originalCallsites] = [debuggable.debuggablePromise, callsites()];
            const light = Promise.resolve(1);
            const positions = await withoutPulumiStackTraces(async () => {
                await debuggable.debuggablePromise(light, "inside");
                return callsites().call(pulumi.Resource);
            });
            const full = Promise.resolve(2);
            await debuggable.debuggablePromise(full, "outside");
            expect(tracked(light)).to.equal("Error");
            expect(positions).to.deep.equal([]);
            expect(tracked(full)).to.match(/^Error\n {4}at /);
            expect(callsites().call(pulumi.Resource)).to.not.deep.equal([]);
            expect([debuggable.debuggablePromise, callsites()]).to.deep.equal([original, originalCallsites]);
            await withoutPulumiStackTraces(async () => {
                throw make();
            }).catch(() => undefined);
            expect([debuggable.debuggablePromise, callsites()]).to.deep.equal([original, originalCallsites]);
        });
    });

    describe("cross-handler checks over several processes", () => {
        // The one-process check as it was: every captured line kept, fields looked up with fieldValue.
        function reference(lines: Record<string, unknown>[]): string[] {
            const byService = new Map<string, Record<string, unknown>[]>([["pipe", PIPE_ENRICHMENT_FAILURE]]);
            for (const line of lines) byService.set(String(line.service), [...(byService.get(String(line.service)) ?? []), line]);
            const problems: string[] = [];
            for (const query of savedQueries()) {
                if (query.sources.some((source) => !byService.has(source))) continue; // a partial run
                const of = query.sources.flatMap((source) => byService.get(source) ?? []);
                for (const field of query.fields) {
                    if (!of.some((line) => fieldValue(line, field) !== undefined)) problems.push(`${query.id}: no log line of ${query.sources.join("/")} has the field "${field}"`);
                }
            }
            return problems;
        }
        const services = [...new Set(savedQueries().flatMap((q) => q.sources))].filter((s) => s !== "pipe");
        const fields = [...new Set(savedQueries().flatMap((q) => q.fields))];
        const value = fc.oneof(fc.string({ maxLength: 3 }), fc.integer(), fc.constant(null), fc.integer().map((n) => [n]));
        // Lines with some of the queries' fields (nested as dotted names say), and look-alikes.
        const line = fc.record({
            service: fc.constantFrom(...services),
            set: fc.subarray([...fields, "error.message.extra", "a.b"]),
            values: fc.array(value, { minLength: 8, maxLength: 8 }),
            dotted: fc.boolean(),
        }).map(({ service, set, values, dotted }) => {
            const result: Record<string, unknown> = { level: "INFO", service };
            set.forEach((field, i) => {
                const keys = field.split(".");
                if (dotted && keys.length > 1) {
                    result[field] = values[i % values.length]; // a key with a dot: not the nested field
                    return;
                }
                let at = result;
                keys.slice(0, -1).forEach((key) => {
                    if (at[key] === null || typeof at[key] !== "object") at[key] = {};
                    at = at[key] as Record<string, unknown>;
                });
                at[keys[keys.length - 1]] = values[i % values.length];
            });
            return result;
        });

        it("a line's field paths are exactly the fields fieldValue finds in it (dots in keys, arrays and nulls included)", () => {
            const key = fc.constantFrom("a", "b", "a.b", "0", "");
            const json = fc.letrec((tie) => ({
                node: fc.oneof({ depthSize: "small" }, fc.constantFrom(null, 1, "s", true), fc.array(tie("node"), { maxLength: 3 }), fc.dictionary(key, tie("node"), { maxKeys: 4 })),
            })).node;
            const field = fc.array(key, { minLength: 1, maxLength: 4 }).map((keys) => keys.join("."));
            fc.assert(fc.property(fc.dictionary(key, json, { maxKeys: 4 }), fc.array(field, { maxLength: 10 }), (line, fields) => {
                const paths = new Set<string>();
                addFieldPaths(line, paths);
                for (const f of [...fields, ...paths]) expect(paths.has(f), f).to.equal(fieldValue(line as Record<string, unknown>, f) !== undefined);
            }), { numRuns: 300 });
        });

        it("finds exactly the field problems the one-process check found, however the lines are split among workers", () => {
            fc.assert(fc.property(fc.array(fc.tuple(line, fc.nat(2)), { maxLength: 25 }), (tagged) => {
                const byWorker = [0, 1, 2].map((worker) => {
                    const paths = new Map<string, Set<string>>();
                    for (const [l] of tagged.filter(([, w]) => w === worker)) {
                        const set = paths.get(String(l.service)) ?? new Set<string>();
                        addFieldPaths(l, set);
                        paths.set(String(l.service), set);
                    }
                    return { logFields: Object.fromEntries([...paths].map(([s, p]) => [s, [...p]])), metricSeries: [] };
                });
                const problems = crossHandlerProblems(byWorker, true);
                const want = reference(tagged.map(([l]) => l));
                expect(problems).to.deep.equal(want.length === 0 ? [] : [`Saved queries use fields the functions do not log:\n  ${want.join("\n  ")}`]);
            }), { numRuns: 200 });
        });

        it("reports a source no worker captured, unless the run is partial (--grep)", () => {
            const problems = crossHandlerProblems([{ logFields: {}, metricSeries: [] }], false);
            expect(problems[0]).to.match(/no handler test captured logs of router/);
            expect(crossHandlerProblems([{ logFields: {}, metricSeries: [] }], true)).to.deep.equal([]);
        });
    });

    describe("withCheckoutLock", function () {
        this.timeout(30_000);
        const name = `harness-${process.pid}`;
        afterEach(() => fs.rmSync(lockPath(name), { recursive: true, force: true }));

        it("lets one process in at a time", async () => {
            const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-lock-")), "log");
            const script = `const fs = require("node:fs");
                const { withCheckoutLock } = require(${JSON.stringify(path.join(__dirname, "checkout-lock.ts"))});
                withCheckoutLock(${JSON.stringify(name)}, () => {
                    fs.appendFileSync(${JSON.stringify(log)}, "in\\n");
                    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
                    fs.appendFileSync(${JSON.stringify(log)}, "out\\n");
                });`;
            const child = () => new Promise<number | null>((resolve) => spawn(process.execPath, ["--import", "tsx", "-e", script], { cwd: ROOT, stdio: "inherit" }).on("exit", resolve));
            expect(await Promise.all([child(), child(), child()])).to.deep.equal([0, 0, 0]);
            expect(fs.readFileSync(log, "utf8")).to.equal("in\nout\n".repeat(3));
            fs.rmSync(path.dirname(log), { recursive: true, force: true });
        });

        it("takes over a lock whose holder is gone; waits for a live one, then gives up naming it", () => {
            const gone = spawnSync(process.execPath, ["-e", ""]).pid;
            fs.mkdirSync(lockPath(name));
            fs.writeFileSync(path.join(lockPath(name), "pid"), String(gone));
            expect(withCheckoutLock(name, () => "ran", { timeoutMs: 5_000 })).to.equal("ran");
            expect(fs.existsSync(lockPath(name))).to.equal(false);
            fs.mkdirSync(lockPath(name));
            fs.writeFileSync(path.join(lockPath(name), "pid"), String(process.ppid));
            expect(() => withCheckoutLock(name, () => "ran", { timeoutMs: 300 })).to.throw(`held by process ${process.ppid}`);
        });
    });
});
