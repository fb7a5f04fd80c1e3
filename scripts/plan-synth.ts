// Child process of `npm run preview -- --compare`: synthesizes one version of the stack and writes
// its plan as JSON. Run with the version's checkout as the working directory:
//   node --import tsx <this file> --stack test --out plan.json
// It needs only `runStack` from that checkout's tests/support/stack, so it works on older commits
// too, and each version's modules stay in their own process.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { buildSnapshot, recordingRegistrations } from "./plan-snapshot";

async function main(): Promise<number> {
    const { values } = parseArgs({ options: { stack: { type: "string", default: "test" }, out: { type: "string" } } });
    const root = process.cwd();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runStack } = require(path.join(root, "tests", "support", "stack"));
    const { result, extras } = await recordingRegistrations(() => runStack(values.stack!));
    const snapshot = await buildSnapshot(values.stack!, (result as any).plan.resources, extras);
    const json = JSON.stringify(snapshot);
    if (values.out) {
        fs.writeFileSync(values.out, json);
    } else {
        process.stdout.write(json);
    }
    return 0;
}

main().then((code) => process.exit(code), (error) => {
    console.error(error instanceof Error && error.name === "StackConfigError" ? error.message : error);
    process.exit(1);
});
