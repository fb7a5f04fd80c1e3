import * as path from "node:path";
import { createStack, readStackConfig } from "../../stacks/program";
import { listStacks as listStackFiles, readStackFile } from "../../stacks/stack-file";
import { ResourcePlan, runUnderMocks } from "./mocks";

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
