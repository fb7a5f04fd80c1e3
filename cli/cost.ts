// `ses-mail cost --stack <name>`: what a stack costs a month with no mail (its plan, synthesized
// offline under Pulumi mocks from Pulumi.<stack>.yaml) and, with --traffic, per 1,000 mails and
// feedback notifications (the system tests' simulations, counted). The model lives in the source
// checkout (scripts/cost, tests/support), which the published package does not ship and the build
// does not compile: it is found on disk when the command runs (so `--help` stays fast and dist/ stays
// free of test code), and outside a source checkout the command says so and exits 1.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Command } from "commander";
import { CliError } from "./errors";
import type { CliDeps } from "./main";

export interface CostOptions {
    stack: string;
    projectDir?: string;
    traffic?: boolean;
    json?: boolean;
}

interface Line { item: string; quantity: number; unit: string; unitUsd: number; monthlyUsd: number; assumption?: string }
interface Run { plan: { resources: { type: string; name: string; inputs: Record<string, unknown> }[] } }
/** What the command uses of scripts/cost and tests/support (typed here: the build does not compile them). */
interface Model {
    fixed: { fixedCost(resources: Run["plan"]["resources"]): Line[]; total(lines: Line[]): number; unclassifiedTypes(resources: Run["plan"]["resources"]): string[] };
    stack: { runStack(stack: string, config: Record<string, string>): Promise<Run> };
    stackFile: { readStackFile(stack: string, dir: string): Record<string, string> | undefined };
    report: { HEADLINE_PATH: string };
    variable: {
        measureInbound(run: Run): Promise<Record<string, { usd: number }>>;
        measureFeedback(run: Run): Promise<Record<string, { usd: number }>>;
        mixCost(measured: Record<string, { usd: number }>, weights: Record<string, number>): number;
        FEEDBACK_MIX: Record<string, number>;
    };
}

/** The source checkout above this file (cli/ under tsx, dist/cli/ when compiled), if there is one. */
export function sourceCheckout(from = __dirname): string | undefined {
    for (let dir = from, i = 0; i < 3; dir = path.dirname(dir), i++) {
        if (fs.existsSync(path.join(dir, "scripts", "cost", "report.ts")) && fs.existsSync(path.join(dir, "tests", "support", "stack.ts"))) return dir;
    }
    return undefined;
}

function loadModel(): Model {
    const root = sourceCheckout();
    if (!root) {
        throw new CliError("ses-mail cost needs a source checkout of ses-mail: it synthesizes the plan with the test harness's Pulumi mocks (tests/support) and prices it with scripts/cost, which the published package does not ship. Clone the repository and run it there (or npm run cost).");
    }
    // Compiled (dist/cli): the model is TypeScript; tsx (a dependency) loads it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (!require.extensions[".ts"]) require("tsx/cjs/api").register();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = (file: string) => require(path.join(root, file));
    return {
        fixed: load("scripts/cost/fixed.ts"), stack: load("tests/support/stack.ts"), stackFile: load("stacks/stack-file.ts"),
        report: load("scripts/cost/report.ts"), variable: load("scripts/cost/variable.ts"),
    };
}

export async function runCost(options: CostOptions, deps: Pick<CliDeps, "stdout" | "cwd">): Promise<number> {
    const { fixed, stack, stackFile, report, variable } = loadModel();
    const dir = options.projectDir ?? deps.cwd;
    const config = stackFile.readStackFile(options.stack, dir);
    if (!config) throw new CliError(`No Pulumi.${options.stack}.yaml in ${dir}.`);
    const run = await stack.runStack(options.stack, config);
    const lines = fixed.fixedCost(run.plan.resources);
    const unclassified = fixed.unclassifiedTypes(run.plan.resources);
    const figures: Record<string, number> = { fixed_usd_month: fixed.total(lines) };
    const text = [
        `Fixed monthly cost of ${options.stack} (no mail):`,
        ...lines.map((l) => `  ${l.item}: ${Number(l.quantity.toPrecision(4))} ${l.unit} × $${l.unitUsd.toPrecision(3)} = $${l.monthlyUsd.toFixed(4)}${l.assumption ? ` (${l.assumption})` : ""}`),
        `  total: $${figures.fixed_usd_month.toFixed(2)}`,
        ...(unclassified.length > 0 ? [`  not priced (unknown to the model): ${unclassified.join(", ")}`] : []),
    ];
    if (options.traffic) {
        const inbound = await variable.measureInbound(run);
        const feedback = await variable.measureFeedback(run);
        figures.per_1000_inbound_usd = inbound[report.HEADLINE_PATH].usd * 1000;
        figures.per_1000_feedback_usd = variable.mixCost(feedback, variable.FEEDBACK_MIX) * 1000;
        text.push(`Per 1,000 inbound mails (${report.HEADLINE_PATH}): $${figures.per_1000_inbound_usd.toFixed(4)}; per 1,000 feedback notifications (mix): $${figures.per_1000_feedback_usd.toFixed(4)}`);
    }
    deps.stdout(`${options.json ? JSON.stringify(figures, null, 2) : text.join("\n")}\n`);
    return 0;
}

export function costCommand(root: Command, deps: CliDeps, result: { exitCode: number }): void {
    root.command("cost")
        .description("Monthly cost of a stack with no mail (from its plan, offline), and with --traffic per 1,000 mails (needs a source checkout)")
        .requiredOption("--stack <name>", "Pulumi stack (Pulumi.<stack>.yaml)")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)")
        .option("--traffic", "also simulate mail and feedback and price their requests (a few seconds)", false)
        .option("--json", "machine-readable output", false)
        .addHelpText("after", "\nExample:\n  $ npx ses-mail cost --stack prod --traffic\n")
        .exitOverride()
        .action(async (options: CostOptions) => {
            result.exitCode = await runCost(options, deps);
        });
}
