import * as path from "node:path";
import { createStack, readStackConfig } from "../../stacks/program";
import { listStacks as listStackFiles, readStackFile } from "../../stacks/stack-file";
import { RecordedInvoke, RecordedResource, ResourcePlan, RunOptions, runUnderMocks } from "./mocks";

const ROOT = path.resolve(__dirname, "..", "..");

/** `Pulumi.<stack>.yaml`'s config of this repository's stacks. */
export function loadStackConfig(stack: string): Record<string, string> {
    const config = readStackFile(stack, ROOT);
    if (!config) {
        throw new Error(`No Pulumi.${stack}.yaml: stacks are ${listStacks().join(", ")}.`);
    }
    return config;
}

export function listStacks(): string[] {
    return listStackFiles(ROOT);
}

/** Runs the real stack program under mocks with the stack's own config. */
export async function runStack(stack: string, config: Record<string, string> = loadStackConfig(stack)): Promise<{ plan: ResourcePlan; outputs: Record<string, unknown> }> {
    const { result, plan } = await runUnderMocks(() => createStack(readStackConfig()), { stack, config });
    return { plan, outputs: result };
}

/** Programs run under mocks by key and options, for {@link cachedUnderMocks}. */
const synthesized = new Map<string, Promise<{ result: unknown; plan: ResourcePlan }>>();

/** Plain objects and arrays copied all the way down; anything else (assets, promises, outputs, components) shared. */
function copyPlain<T>(value: T): T {
    if (Array.isArray(value)) return value.map(copyPlain) as T;
    if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
        return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, copyPlain(item)])) as T;
    }
    return value;
}

const sortedEntries = (record: object) => Object.entries(record).filter(([, value]) => value !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * `runUnderMocks(program, options)`, run once per process for each (key, options): `key` names the
 * program (and everything it depends on besides the options) uniquely within the process — a
 * synthesis takes up to a second, and the suite asks for the same few dozens of times. Every call
 * gets its own copy of the plan (resources, inputs and state copied down to the last plain object or
 * array), so a test that changes what it got cannot change what another test sees; the result (a
 * component, the stack's outputs) is shared as it is. A failed run is not kept: the next call runs
 * the program again.
 *
 * Not for tests that watch the program run (registrations, invokes as they happen, mocks of their
 * own): those need `runUnderMocks` or {@link runStack}.
 */
export async function cachedUnderMocks<T>(key: string, program: () => T, options: RunOptions = {}): Promise<{ result: Awaited<T>; plan: ResourcePlan }> {
    const id = JSON.stringify([key, sortedEntries(options).map(([name, value]) => [name, value !== null && typeof value === "object" ? sortedEntries(value) : value])]);
    let run = synthesized.get(id);
    if (!run) {
        run = runUnderMocks(program, options);
        synthesized.set(id, run);
        run.catch(() => synthesized.delete(id));
    }
    const { result, plan } = await run;
    return { result: result as Awaited<T>, plan: new ResourcePlan(copyPlain(plan.resources) as RecordedResource[], copyPlain(plan.invokes) as RecordedInvoke[]) };
}

/** Where a cached stack deploys: what the mocks answer for partition, region and active rule set; preview or up. */
export type StackTarget = Omit<RunOptions, "stack" | "config">;

/**
 * {@link runStack}, synthesized once per process for each (stack, config, target) with
 * {@link cachedUnderMocks}: each call gets its own copy of the plan; the outputs object is a copy
 * of the run's (its Pulumi outputs are shared: they cannot be changed).
 */
export async function cachedStack(stack: string, config: Record<string, string> = loadStackConfig(stack), target: StackTarget = {}): Promise<Awaited<ReturnType<typeof runStack>>> {
    const { result, plan } = await cachedUnderMocks("stacks/program createStack", () => createStack(readStackConfig()), { ...target, stack, config });
    return { plan, outputs: { ...result } };
}
