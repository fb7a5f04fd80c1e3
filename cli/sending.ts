// `ses-mail sending status|pause|resume` and `ses-mail quota`: whether this stack's configuration set
// may send (SES's own switch), who paused or resumed it, when and why (SENDING# records in the senders
// table, the same ones the emergency brake writes), and the account's send quota.
import { Command, Option } from "commander";
import type { SendingChange } from "../functions/shared/sending-control";
import type { QuotaUtilisation } from "../functions/shared/send-quota";
import { awsCall, stsCallerArn } from "./aws";
import { CliError, UsageError, usageExit } from "./errors";
import type { CliDeps } from "./main";
import type { TargetOptions } from "./rules-target";
import type { SendingTarget } from "./sending-target";

/** The modules behind the commands load when one runs, so `ses-mail --help` starts fast (as in main.ts). */
const load = async () => {
    const [sesv2, ddb, control, quota, target] = await Promise.all([
        import("@aws-sdk/client-sesv2"), import("@aws-sdk/client-dynamodb"),
        import("../functions/shared/sending-control"), import("../functions/shared/send-quota"), import("./sending-target"),
    ]);
    return { sesv2, ddb, control, quota, target };
};
type Lib = Awaited<ReturnType<typeof load>>;

/**
 * Who is acting, as STS says (GetCallerIdentity's ARN). Tests pass their own through `main(argv, deps)`.
 */
export interface SendingDeps {
    callerArn?(region: string | undefined): Promise<string>;
}

interface Context {
    lib: Lib;
    target: SendingTarget;
    ses: InstanceType<Lib["sesv2"]["SESv2Client"]>;
    dynamo: InstanceType<Lib["ddb"]["DynamoDBClient"]>;
    json: boolean;
    print(line: string): void;
    deps: CliDeps & SendingDeps;
}
type Result = { exitCode: number };

const reasonText = (value: string) => {
    if (value.trim().length < 3) throw new UsageError("--reason needs a few words: it is recorded for whoever reads the history.");
    return value.trim();
};

/** SES's switch: a missing set or region says which name was tried. */
async function sendingEnabled(ctx: Context): Promise<boolean> {
    const sending = new ctx.lib.control.SendingSwitch(ctx.ses, ctx.target.configurationSetName);
    try {
        return await awsCall("ses:GetConfigurationSet", ctx.target.configurationSetName, () => sending.enabled());
    } catch (error) {
        if (!(error instanceof ctx.lib.sesv2.NotFoundException)) throw error;
        const region = ctx.target.region ?? (await ctx.ses.config.region());
        throw new CliError(`No SES configuration set ${ctx.target.configurationSetName} in ${region}: check --stack / --env / --outputs and --region.`);
    }
}

async function history(ctx: Context, limit = 5): Promise<SendingChange[]> {
    const log = new ctx.lib.control.SendingLog({ tableName: ctx.target.sendersTableName, configurationSetName: ctx.target.configurationSetName, client: ctx.dynamo });
    try {
        return await awsCall("dynamodb:Query", ctx.target.sendersTableName, () => log.history(limit));
    } catch (error) {
        if ((error as { name?: string }).name !== "ResourceNotFoundException") throw error;
        throw new CliError(`No table ${ctx.target.sendersTableName}: check --stack / --env / --outputs and --region.`);
    }
}

const describeChange = (c: SendingChange) => `${c.action === "pause" ? "paused" : "resumed"} by ${c.actor}${c.source === "brake" ? " (emergency brake)" : ""} at ${c.at}`;

async function status(ctx: Context): Promise<number> {
    const [enabled, changes] = await Promise.all([sendingEnabled(ctx), history(ctx)]);
    const last = changes[0];
    // The record explains the state only if it says the same: SES's console, the API or SES itself may have changed it.
    const recorded = last !== undefined && (last.action === "pause") === !enabled;
    const resume = `ses-mail sending resume ${ctx.target.selector} --reason "<why it is safe again>"`;
    if (ctx.json) {
        ctx.print(JSON.stringify({ configurationSet: ctx.target.configurationSetName, sending: enabled ? "enabled" : "paused", recorded, lastChange: last ?? null, history: changes }, null, 2));
    } else {
        ctx.print(`${ctx.target.configurationSetName}: sending ${enabled ? "ENABLED" : "PAUSED"}`);
        if (recorded) {
            ctx.print(`  ${describeChange(last)}`);
            ctx.print(`  why: ${last.reason}`);
        } else if (!enabled) {
            ctx.print("  paused outside ses-mail (SES console or API, or SES itself): no record says who or why");
        }
        if (!recorded && last) ctx.print(`  last recorded: ${describeChange(last)}: ${last.reason}`);
        if (!enabled) ctx.print(`  to resume once the cause is fixed: ${resume}`);
    }
    return enabled ? 0 : 1;
}

async function change(ctx: Context, action: "pause" | "resume", options: { reason: string; yes?: boolean }): Promise<number> {
    const enabled = await sendingEnabled(ctx);
    const set = ctx.target.configurationSetName;
    if (enabled === (action === "resume")) {
        const [last] = await history(ctx, 1);
        const note = last && (last.action === "pause") === !enabled ? ` (${describeChange(last)}: ${last.reason})` : "";
        ctx.print(ctx.json ? JSON.stringify({ configurationSet: set, sending: enabled ? "enabled" : "paused", changed: false }) : `${set} is already ${enabled ? "enabled" : "paused"}${note}: nothing to do.`);
        return 0;
    }
    if (!options.yes) {
        if (action === "resume" && !ctx.json) {
            const [last] = await history(ctx, 1);
            if (last?.action === "pause") ctx.print(`${set} was ${describeChange(last)}: ${last.reason}`);
        }
        const question = action === "pause"
            ? `Pause sending through ${set}? Every send that uses it (also as a domain's default) is refused until someone resumes it.`
            : `Resume sending through ${set}? Make sure what paused it is fixed.`;
        if (!(await ctx.deps.confirm(question))) {
            ctx.print(ctx.json ? JSON.stringify({ configurationSet: set, changed: false }) : action === "pause" ? "Not paused." : "Not resumed.");
            return 1;
        }
    }
    const actor = await (ctx.deps.callerArn ?? stsCallerArn)(ctx.target.region);
    const record: SendingChange = { configurationSet: set, action, at: ctx.deps.now().toISOString(), actor, source: "operator", reason: options.reason };
    const sending = new ctx.lib.control.SendingSwitch(ctx.ses, set);
    await awsCall("ses:PutConfigurationSetSendingOptions", set, () => sending.set(action === "resume"));
    const log = new ctx.lib.control.SendingLog({ tableName: ctx.target.sendersTableName, configurationSetName: set, client: ctx.dynamo });
    try {
        await awsCall("dynamodb:PutItem", ctx.target.sendersTableName, () => log.record(record));
    } catch (error) {
        // SES already changed: say so, so nobody repeats the change blindly.
        throw new CliError(`${set} is now ${action === "pause" ? "paused" : "enabled"}, but recording it in ${ctx.target.sendersTableName} failed (${(error as Error).message}); note who, when and why by hand.`);
    }
    ctx.print(ctx.json ? JSON.stringify({ ...record, changed: true }, null, 2) : `${set}: sending ${action === "pause" ? "PAUSED" : "ENABLED"} (recorded: ${describeChange(record)}).`);
    return 0;
}

async function quota(ctx: Context): Promise<number> {
    const { SendQuota: q } = await awsCall("ses:GetAccount", "the SES account", () => ctx.ses.send(new ctx.lib.sesv2.GetAccountCommand({})));
    if (!q) throw new CliError("SES returned no send quota (GetAccount without SendQuota).");
    const thresholds = ctx.target.thresholds;
    const u: QuotaUtilisation = ctx.lib.quota.quotaUtilisation({ max24HourSend: q.Max24HourSend ?? 0, sentLast24Hours: q.SentLast24Hours ?? 0, maxSendRate: q.MaxSendRate ?? 0 }, thresholds);
    const advice = ctx.lib.quota.quotaAdvice(u, thresholds);
    if (ctx.json) {
        ctx.print(JSON.stringify({ ...u, warningPercent: thresholds.warningPercent, criticalPercent: thresholds.criticalPercent, advice }, null, 2));
    } else {
        const region = ctx.target.region ?? (await ctx.ses.config.region());
        ctx.print(`SES send quota (${region}):`);
        ctx.print(`  Max24HourSend    ${u.unlimited ? "unlimited (-1)" : u.max24HourSend}`);
        ctx.print(`  SentLast24Hours  ${u.sentLast24Hours}`);
        ctx.print(`  MaxSendRate      ${u.maxSendRate}/s`);
        ctx.print(`  Utilisation      ${u.unlimited ? "n/a (unlimited)" : `${u.utilisationPercent.toFixed(2)}%`} — ${u.level.toUpperCase()} (warning at ${thresholds.warningPercent}%, critical at ${thresholds.criticalPercent}%)`);
        if (advice.length > 0) {
            ctx.print("Advice (runbook):");
            advice.forEach((line) => ctx.print(`  - ${line}`));
        }
    }
    return u.level === "ok" ? 0 : 1;
}

export function sendingCommands(root: Command, deps: CliDeps, result: Result): void {
    const print = (line: string) => deps.stdout(`${line}\n`);
    const target = (command: Command, example: string, required = true) => command
        .option("--stack <name>", "Pulumi stack: reads Pulumi.<stack>.yaml (configuration set, senders table, region)")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)")
        .option("--env <env>", "environment: names from the components' naming (<prefix>-outbound-<env>, <prefix>-sender-reputation-<env>)")
        .option("--name-prefix <prefix>", "name prefix with --env (default: ses-mail)")
        .option("--outputs <file>", `the stack's outputs (pulumi stack output --json > file)${required ? ": configurationSetName, senderReputationTableName" : ""}`)
        .option("--region <region>", "AWS region (default: aws:region of the stack, else AWS_REGION)")
        .option("--json", "machine-readable output", false)
        .addHelpText("after", `\nExample:\n  $ ${example}\n`)
        .exitOverride(usageExit);
    const run = (action: (ctx: Context, options: Record<string, unknown>) => Promise<number>, needsTarget = true) => async (...args: unknown[]) => {
        const command = args[args.length - 1] as Command;
        const options = command.opts() as TargetOptions & { json: boolean } & Record<string, unknown>;
        const lib = await load();
        const given = options.stack !== undefined || options.env !== undefined || options.outputs !== undefined;
        const resolved: SendingTarget = needsTarget || given
            ? lib.target.sendingTarget(options, deps.cwd)
            : { configurationSetName: "", sendersTableName: "", region: options.region, selector: "", thresholds: lib.quota.DEFAULT_QUOTA_THRESHOLDS, notes: [] };
        const ses = new lib.sesv2.SESv2Client({ region: resolved.region });
        const dynamo = new lib.ddb.DynamoDBClient({ region: resolved.region });
        try {
            const ctx: Context = { lib, target: resolved, ses, dynamo, json: options.json, print, deps };
            if (!options.json) resolved.notes.forEach(print);
            result.exitCode = await action(ctx, options);
        } finally {
            ses.destroy();
            dynamo.destroy();
        }
    };

    const sending = root.command("sending")
        .description("Whether this stack's SES configuration set may send; pause and resume it, recorded (exit codes: 0 enabled/done, 1 paused or not done, 2 usage error)")
        .exitOverride(usageExit);
    target(sending.command("status"), "ses-mail sending status --stack prod")
        .description("Enabled or paused, and who paused or resumed it, when and why (exit 1 when paused)")
        .action(run((ctx) => status(ctx)));
    for (const action of ["pause", "resume"] as const) {
        target(sending.command(action), `ses-mail sending ${action} --stack prod --reason "${action === "pause" ? "bounce storm from the newsletter import, INC-123" : "bad list removed, INC-123"}"`)
            .description(action === "pause"
                ? "Stop every send through the configuration set (PutConfigurationSetSendingOptions); records who (STS), when and why"
                : "Let the configuration set send again after a pause (by the emergency brake or an operator); records who (STS), when and why")
            .addOption(new Option("--reason <text>", "why (recorded)").argParser(reasonText).makeOptionMandatory())
            .option("--yes", "do not ask")
            .action(run((ctx, options) => change(ctx, action, options as { reason: string; yes?: boolean })));
    }
    target(root.command("quota"), "ses-mail quota --stack prod", false)
        .description("The account's SES send quota in the region: Max24HourSend, SentLast24Hours, MaxSendRate, utilisation and the runbook's advice over the warning level (exit 1 at warning or critical)")
        .action(run((ctx) => quota(ctx), false));
}
