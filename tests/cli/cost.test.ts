// `ses-mail cost`: the fixed monthly cost of a stack from its Pulumi.<stack>.yaml, priced by
// scripts/cost (the figures themselves: tests/scripts/cost.test.ts).
import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { expect } from "chai";
import { costCommand, runCost, sourceCheckout } from "../../cli/cost";
import { CliError } from "../../cli/errors";
import { fixedCost, total } from "../../scripts/cost/fixed";
import { cachedStack } from "../support/stack";

const ROOT = path.resolve(__dirname, "..", "..");

describe("ses-mail cost", () => {
    it("prints the stack's fixed monthly cost, the same figure the cost model computes from its plan", async function () {
        this.timeout(60_000);
        let out = "";
        const code = await runCost({ stack: "test", json: true }, { stdout: (text) => (out += text), cwd: ROOT });
        expect(code).to.equal(0);
        const { plan } = await cachedStack("test");
        expect(JSON.parse(out)).to.deep.equal({ fixed_usd_month: total(fixedCost(plan.resources)) });
    });

    it("refuses a stack without its Pulumi.<stack>.yaml", async () => {
        const error = await runCost({ stack: "nowhere" }, { stdout: () => undefined, cwd: ROOT }).catch((e: unknown) => e);
        expect(error).to.be.instanceOf(CliError);
        expect((error as Error).message).to.equal(`No Pulumi.nowhere.yaml in ${ROOT}.`);
    });

    it("finds the model only in a source checkout (an installed package has no scripts/cost or tests/support)", () => {
        expect(sourceCheckout(path.join(ROOT, "cli"))).to.equal(ROOT);
        expect(sourceCheckout(path.join(ROOT, "dist", "cli"))).to.equal(ROOT);
        expect(sourceCheckout(os.tmpdir())).to.equal(undefined);
    });

    it("--help has an example and needs --stack", async () => {
        let out = "";
        const root = new Command("ses-mail").exitOverride().configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (out += t) });
        costCommand(root, { stdout: (t: string) => (out += t), stderr: () => undefined, cwd: ROOT } as never, { exitCode: 0 });
        await root.parseAsync(["cost", "--help"], { from: "user" }).catch(() => undefined);
        expect(out).to.include("--traffic").and.to.include("Example:").and.to.include("ses-mail cost --stack prod");
        out = "";
        const error = await root.parseAsync(["cost"], { from: "user" }).catch((e: { code?: string }) => e);
        expect((error as { code?: string }).code).to.equal("commander.missingMandatoryOptionValue");
    });
});
