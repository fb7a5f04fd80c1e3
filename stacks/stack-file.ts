// Pulumi.<stack>.yaml read without the Pulumi CLI: for the offline preview, the tests and the
// `ses-mail` command, which need a stack's settings but not its state.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export function listStacks(dir: string): string[] {
    return fs.readdirSync(dir).flatMap((file) => /^Pulumi\.([\w-]+)\.yaml$/.exec(file)?.[1] ?? []);
}

/** The stack's config as the engine hands it to a program: structured values as JSON text; undefined without the file. */
export function readStackFile(stack: string, dir: string): Record<string, string> | undefined {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) return undefined;
    const config: Record<string, unknown> = parse(fs.readFileSync(file, "utf8"))?.config ?? {};
    return Object.fromEntries(
        Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
    );
}
