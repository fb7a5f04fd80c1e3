// What the `health`, `report` and `selftest` tests share: the test stack synthesized under mocks (its
// tables, alarms and names, as the components define them), dynalite with those tables, and a way to
// run the CLI end to end through main(argv, deps).
import * as path from "node:path";
import { DeleteItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { OpsTarget, opsTarget } from "../../cli/ops-target";
import type { SelftestDeps } from "../../cli/selftest";
import { createTableFrom, LocalDynamo, startDynalite } from "../support/dynalite";
import type { ResourcePlan } from "../support/mocks";
import { cachedStack } from "../support/stack";
import { CliResult, runMain } from "./run-cli";

export const ROOT = path.resolve(__dirname, "..", "..");

export interface OpsFixture {
    local: LocalDynamo;
    plan: ResourcePlan;
    /** The names the CLI resolves for `--stack <stack>`. */
    target: OpsTarget;
    clear(): Promise<void>;
    close(): Promise<void>;
}

/** A stack's plan (test by default), and dynalite holding its events, suppression and senders tables (created from the plan). */
export async function opsFixture(stack = "test"): Promise<OpsFixture> {
    const { plan } = await cachedStack(stack);
    const target = opsTarget({ stack }, ROOT);
    const local = await startDynalite();
    const tables = plan.ofType("aws:dynamodb/table:Table");
    const wanted = [target.eventsTableName, target.suppression.tableName, target.sending.sendersTableName];
    for (const name of wanted) {
        const table = tables.find((t) => t.inputs.name === name);
        // The CLI derives exactly the names the components give their tables.
        expect(table, `the stack has a table ${name} (${tables.map((t) => t.inputs.name).join(", ")})`).to.not.equal(undefined);
        await createTableFrom(local, table!);
    }
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
    const keys: Record<string, string[]> = { [target.eventsTableName]: ["pk", "sk"], [target.suppression.tableName]: ["email", "reason"], [target.sending.sendersTableName]: ["pk", "sk"] };
    return {
        local, plan, target,
        clear: async () => {
            for (const name of wanted) {
                for (const item of (await local.client.send(new ScanCommand({ TableName: name }))).Items ?? []) {
                    await local.client.send(new DeleteItemCommand({ TableName: name, Key: Object.fromEntries(keys[name].map((k) => [k, item[k]])) }));
                }
            }
        },
        close: async () => {
            process.env = saved;
            await local.close();
        },
    };
}

/** Runs the CLI end to end; stdout and stderr collected. */
export function runCli(argv: string[], now: () => Date, extra: SelftestDeps = {}): Promise<CliResult> {
    return runMain(argv, { now, confirm: async () => false, ...extra });
}
