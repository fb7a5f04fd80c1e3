import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { createStack, readStackConfig } from "../../stacks/program";
import { ResourcePlan, runUnderMocks } from "./mocks";

const ROOT = path.resolve(__dirname, "..", "..");

/** `Pulumi.<stack>.yaml`'s config as the engine hands it to a program: structured values as JSON text. */
export function loadStackConfig(stack: string): Record<string, string> {
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        throw new Error(`No ${path.basename(file)}: stacks are ${listStacks().join(", ")}.`);
    }
    const config: Record<string, unknown> = parse(fs.readFileSync(file, "utf8"))?.config ?? {};
    return Object.fromEntries(
        Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
    );
}

export function listStacks(): string[] {
    return fs.readdirSync(ROOT).flatMap((file) => /^Pulumi\.([\w-]+)\.yaml$/.exec(file)?.[1] ?? []);
}

/** Runs the real stack program under mocks with the stack's own config. */
export async function runStack(stack: string, config: Record<string, string> = loadStackConfig(stack)): Promise<{ plan: ResourcePlan; outputs: Record<string, unknown> }> {
    const { result, plan } = await runUnderMocks(() => createStack(readStackConfig()), { stack, config });
    return { plan, outputs: result };
}
