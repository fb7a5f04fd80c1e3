// `ses-mail senders …`: the complaint-driven sender states of FeedbackPipeline (the runbooks' sender
// review, restrict and lift procedures). Reads and writes go through the same SenderReputation code
// the feedback worker uses; restrict and lift record the operator's STS identity and are announced on
// the notifications topic like a threshold change (SmtpCredentials disables the SMTP users of a
// restricted sender when it is given the sender reputation).
import * as fs from "node:fs";
import * as path from "node:path";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Command, InvalidArgumentError, Option } from "commander";
import type { SenderState, SenderStatus, SenderTransition } from "../functions/shared/sender-reputation";
import { awsCall, stsCallerArn } from "./aws";
import { CliError, UsageError, usageExit } from "./errors";
import type { CliDeps } from "./main";
import type { TargetOptions } from "./rules-target";

/** FeedbackPipeline's physical-name purposes (components/feedback-pipeline.ts); the CLI test creates the tables from the component. */
export const SENDER_TABLE_PURPOSES = { senders: "sender-reputation", events: "feedback-events", notifications: "sender-notifications" } as const;
const DEFAULT_WINDOW_DAYS = 30;
const DAY_MS = 86_400_000;

/** The modules behind the commands load when one runs, so `ses-mail --help` starts fast (as in main.ts). */
const load = async () => {
    const [ddb, lib, sns, reputation, admin, events, email, naming, config, stackFile, target] = await Promise.all([
        import("@aws-sdk/client-dynamodb"), import("@aws-sdk/lib-dynamodb"), import("@aws-sdk/client-sns"),
        import("../functions/shared/sender-reputation"), import("../functions/shared/sender-admin"), import("../functions/shared/feedback-events"),
        import("../functions/shared/email"), import("../components/naming"), import("../stacks/config"), import("../stacks/stack-file"), import("./target"),
    ]);
    return { ddb, lib, sns, reputation, admin, events, email, naming, config, stackFile, target };
};
type Lib = Awaited<ReturnType<typeof load>>;

/** Who is acting: STS GetCallerIdentity's ARN unless a test passes its own (as for `ses-mail sending`). */
export interface SendersDeps {
    callerArn?(region: string | undefined): Promise<string>;
}

export interface SendersTarget {
    sendersTableName: string;
    eventsTableName: string;
    /** From the outputs; else built from the caller's partition and account and the topic's name. */
    notificationsTopicArn?: string;
    notificationsTopicName: string;
    region?: string;
    /** The complaint window of the stack (days), for `show`. */
    windowDays: number;
    notes: string[];
}

interface Ctx {
    lib: Lib;
    target: SendersTarget;
    client: DynamoDBClient;
    json: boolean;
    print(line: string): void;
    deps: CliDeps & SendersDeps;
}
type Result = { exitCode: number };

const positive = (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a positive whole number.");
    return n;
};

/** The tables and topic from the stack file, the components' naming (--env), or the stack's outputs. */
export function sendersTarget(lib: Lib, options: TargetOptions, cwd: string): SendersTarget {
    const kind = lib.target.checkTargetOptions(options);
    const named = (env: string, prefix: string, notes: string[], region: string | undefined, windowDays = DEFAULT_WINDOW_DAYS): SendersTarget => {
        try {
            const name = (service: "dynamodbTable" | "snsTopic", purpose: string) => lib.naming.physicalName(service, { purpose, env, prefix });
            return {
                sendersTableName: name("dynamodbTable", SENDER_TABLE_PURPOSES.senders), eventsTableName: name("dynamodbTable", SENDER_TABLE_PURPOSES.events),
                notificationsTopicName: name("snsTopic", SENDER_TABLE_PURPOSES.notifications), region, windowDays, notes,
            };
        } catch (error) {
            throw new UsageError((error as Error).message);
        }
    };
    if (kind === "env") return named(options.env!, options.namePrefix ?? lib.naming.DEFAULT_PREFIX, [], options.region);
    if (kind === "stack") {
        const dir = options.projectDir ?? cwd;
        const file = lib.stackFile.readStackFile(options.stack!, dir);
        if (!file) return named(options.stack!, lib.naming.DEFAULT_PREFIX, [`(No Pulumi.${options.stack}.yaml in ${dir}: assuming environment "${options.stack}" and name prefix "${lib.naming.DEFAULT_PREFIX}".)`], options.region);
        let config;
        try {
            config = lib.config.stackConfigFrom(file, options.stack!);
        } catch (error) {
            if (error instanceof lib.config.StackConfigError) throw new UsageError(error.message);
            throw error;
        }
        return named(config.environment, config.namePrefix, [], options.region ?? file["aws:region"], config.feedback.complaintWindowDays ?? DEFAULT_WINDOW_DAYS);
    }
    let outputs: Record<string, unknown>;
    try {
        outputs = JSON.parse(fs.readFileSync(path.resolve(cwd, options.outputs!), "utf8")) as Record<string, unknown>;
    } catch (error) {
        throw new UsageError(`Cannot read ${options.outputs} as the stack's outputs (${(error as Error).message}): write it with pulumi stack output --json > ${options.outputs}.`);
    }
    const text = (key: string) => (typeof outputs?.[key] === "string" && outputs[key] !== "" ? (outputs[key] as string) : undefined);
    const senders = text("senderReputationTableName");
    const events = text("feedbackEventsTableName");
    const topic = text("senderNotificationsTopicArn");
    if (!senders || !events || !topic) {
        throw new UsageError(`${options.outputs} lacks senderReputationTableName, feedbackEventsTableName or senderNotificationsTopicArn: is it pulumi stack output --json of a ses-mail stack?`);
    }
    // The topic's ARN carries the stack's region (arn:<partition>:sns:<region>:<account>:<name>).
    return { sendersTableName: senders, eventsTableName: events, notificationsTopicArn: topic, notificationsTopicName: topic.split(":").pop()!, region: options.region ?? topic.split(":")[3], windowDays: DEFAULT_WINDOW_DAYS, notes: [] };
}

/** A DynamoDB call: a missing table says which name was tried; denials and missing credentials are one line. */
async function db<T>(ctx: Ctx, action: string, table: string, call: () => Promise<T>): Promise<T> {
    try {
        return await awsCall(action, table, call);
    } catch (error) {
        if ((error as { name?: string }).name !== "ResourceNotFoundException") throw error;
        const region = ctx.target.region ?? (await ctx.client.config.region());
        throw new CliError(`No table ${table.split("/index/")[0]} (or its index) in ${region}: check --stack / --env / --outputs and --region, and that the stack was deployed with this version.`);
    }
}

/** Input errors of the shared code (an empty sender, a short reason, nothing to lift) are usage errors, exit 2. */
async function input<T>(ctx: Ctx, call: () => Promise<T>): Promise<T> {
    try {
        return await call();
    } catch (error) {
        if (error instanceof ctx.lib.email.InvalidInputError) throw new UsageError(error.message);
        throw error;
    }
}

const reputationOf = (ctx: Ctx) => new ctx.lib.reputation.SenderReputation({ tableName: ctx.target.sendersTableName, client: ctx.client, now: () => ctx.deps.now().getTime() });
const describe = (t: SenderTransition) => `${t.from} → ${t.to} at ${t.at} by ${t.actor}${t.complaints !== undefined ? ` (${t.complaints} complaints)` : ""}${t.reason ? `: ${t.reason}` : ""}`;

async function list(ctx: Ctx, state?: Exclude<SenderState, "ok">): Promise<number> {
    const reputation = reputationOf(ctx);
    const states: Exclude<SenderState, "ok">[] = state ? [state] : ["restricted", "flagged"];
    const rows = (await Promise.all(states.map((s) => db(ctx, "dynamodb:Query", `${ctx.target.sendersTableName}/index/${ctx.lib.reputation.SENDER_STATE_INDEX}`, () => reputation.listByState(s))))).flat()
        .map((l) => ({ sender: l.sender, state: l.state, complaints: l.complaints ?? null, since: l.lastTransition?.at ?? null, by: l.lastTransition?.actor ?? null, reason: l.lastTransition?.reason ?? null }));
    if (ctx.json) ctx.print(JSON.stringify(rows, null, 2));
    else if (rows.length === 0) ctx.print(`No ${state ?? "flagged or restricted"} senders in ${ctx.target.sendersTableName}.`);
    else {
        ctx.print(["SENDER", "STATE", "COMPLAINTS", "SINCE", "BY", "REASON"].join("\t"));
        rows.forEach((r) => ctx.print([r.sender, r.state, r.complaints ?? "-", r.since ?? "-", r.by ?? "-", r.reason ?? ""].join("\t")));
    }
    return 0;
}

interface Complaint { messageId: string; recipient: string; at: string }

/** Counted complaints charged to the sender since `sinceMs`, newest first (complaint-sender-index). */
async function complaintsOf(ctx: Ctx, sender: string, sinceMs: number): Promise<Complaint[]> {
    const doc = ctx.lib.lib.DynamoDBDocumentClient.from(ctx.client);
    const found: Complaint[] = [];
    const index = `${ctx.target.eventsTableName}/index/${ctx.lib.events.FEEDBACK_INDEXES.complaintSender}`;
    await db(ctx, "dynamodb:Query", index, async () => {
        for await (const page of ctx.lib.lib.paginateQuery({ client: doc }, {
            TableName: ctx.target.eventsTableName, IndexName: ctx.lib.events.FEEDBACK_INDEXES.complaintSender, ScanIndexForward: false,
            KeyConditionExpression: "complaint_sender = :sender AND event_at >= :since", ExpressionAttributeValues: { ":sender": sender, ":since": sinceMs },
        })) {
            // The index projects keys only: pk is `Complaint#<messageId>`, sk the recipient.
            for (const item of page.Items ?? []) {
                const pk = String(item.pk);
                found.push({ messageId: pk.slice(pk.indexOf("#") + 1), recipient: String(item.sk), at: new Date(Number(item.event_at)).toISOString() });
            }
        }
    });
    return found;
}

async function show(ctx: Ctx, sender: string, days: number): Promise<number> {
    const reputation = reputationOf(ctx);
    const status = await input(ctx, () => db(ctx, "dynamodb:GetItem", ctx.target.sendersTableName, () => reputation.status(sender)));
    const since = ctx.deps.now().getTime() - days * DAY_MS;
    const [history, complaints] = await Promise.all([
        db(ctx, "dynamodb:Query", ctx.target.sendersTableName, () => reputation.audit(status.sender)),
        complaintsOf(ctx, status.sender, since),
    ]);
    const view = {
        sender: status.sender, state: status.state, complaintsCounted: status.complaints ?? null, liftedAt: status.liftedAt ? new Date(status.liftedAt).toISOString() : null,
        lastChange: status.lastTransition ?? null, announced: status.settled, windowDays: days, complaints, history,
    };
    if (ctx.json) {
        ctx.print(JSON.stringify(view, null, 2));
        return 0;
    }
    ctx.print(`${view.sender}: ${view.state}${view.complaintsCounted !== null ? ` (${view.complaintsCounted} complaints counted at the last change)` : ""}`);
    if (status.lastTransition) ctx.print(`  last change: ${describe(status.lastTransition)}${status.settled ? "" : " (NOT announced nor audited yet: the next complaint or the same command again finishes it)"}`);
    if (view.liftedAt) ctx.print(`  last lift: ${view.liftedAt} (complaints before it no longer count)`);
    ctx.print(`  complaints in the last ${days} days: ${complaints.length}`);
    complaints.forEach((c) => ctx.print(`    ${c.at}  ${c.messageId}  ${c.recipient}`));
    ctx.print(`  history (${history.length}):`);
    history.forEach((t) => ctx.print(`    ${describe(t)}`));
    return 0;
}

interface ChangeOptions { reason: string; yes?: boolean; dryRun?: boolean }

/** The notifications topic's ARN: from the outputs, else this account's topic of the stack's name. */
async function topicArn(ctx: Ctx, callerArn: string): Promise<string> {
    if (ctx.target.notificationsTopicArn) return ctx.target.notificationsTopicArn;
    const [, partition, , , account] = callerArn.split(":");
    const region = ctx.target.region ?? (await ctx.client.config.region());
    return `arn:${partition}:sns:${region}:${account}:${ctx.target.notificationsTopicName}`;
}

async function change(ctx: Ctx, kind: "restrict" | "lift", sender: string, options: ChangeOptions): Promise<number> {
    const reputation = reputationOf(ctx);
    const status: SenderStatus = await input(ctx, () => db(ctx, "dynamodb:GetItem", ctx.target.sendersTableName, () => reputation.status(sender)));
    const to: SenderState = kind === "restrict" ? "restricted" : "ok";
    const resuming = status.state === to && !status.settled && status.lastTransition?.to === to && status.lastTransition.actor !== "feedback-worker";
    if (status.state === to && !resuming) {
        throw new UsageError(kind === "restrict" ? `Sender ${status.sender} is already restricted.` : `Sender ${status.sender} is not flagged or restricted; nothing to lift.`);
    }
    const effect = kind === "restrict"
        ? "SMTP users allowed to send as it are disabled by the SMTP credential manager; applications asking SenderCheck are refused within their cache TTL"
        : "complaints before now stop counting; SMTP users disabled for it stay disabled until an operator enables them (ses-mail smtp enable)";
    const plan = resuming
        ? `Finish the unannounced change of ${status.sender} (${describe(status.lastTransition!)}): announce it and write its audit record.`
        : `${kind === "restrict" ? "Restrict" : "Lift"} ${status.sender} (now ${status.state}${status.complaints !== undefined ? `, ${status.complaints} complaints` : ""}): ${effect}. Reason: ${options.reason}`;
    if (options.dryRun) {
        ctx.print(ctx.json ? JSON.stringify({ sender: status.sender, from: status.state, to, reason: options.reason, dryRun: true }) : `(dry run) ${plan}`);
        return 0;
    }
    if (!options.yes) {
        if (!ctx.json) ctx.print(plan);
        if (!(await ctx.deps.confirm(`${kind === "restrict" ? "Restrict" : "Lift"} sender ${status.sender}?`))) {
            ctx.print(ctx.json ? JSON.stringify({ sender: status.sender, changed: false }) : "Nothing changed.");
            return 1;
        }
    }
    const operator = await (ctx.deps.callerArn ?? stsCallerArn)(ctx.target.region);
    const action = { operator, reason: options.reason };
    const transition = await input(ctx, () => db(ctx, "dynamodb:UpdateItem", ctx.target.sendersTableName, () => (kind === "restrict" ? reputation.restrict(sender, action) : reputation.lift(sender, action))));
    const topic = await topicArn(ctx, operator);
    const sns = new ctx.lib.sns.SNSClient({ region: ctx.target.region });
    try {
        await awsCall("sns:Publish", topic, () => reputation.settle(sender, (t) => ctx.lib.admin.announceTransition(sns, topic, t)));
    } catch (error) {
        throw new CliError(`${status.sender} is ${to} (recorded: ${describe(transition)}), but announcing it on ${topic} failed: ${(error as Error).message}. Run the same command again to announce it and write its audit record.`);
    } finally {
        sns.destroy();
    }
    ctx.print(ctx.json ? JSON.stringify({ ...transition, announced: true }, null, 2) : `${status.sender} is now ${to}: ${describe(transition)}. Announced on ${topic} and audited.`);
    return 0;
}

export function sendersCommands(root: Command, deps: CliDeps & SendersDeps, result: Result): void {
    const print = (line: string) => deps.stdout(`${line}\n`);
    const senders = root.command("senders")
        .description("Sender states from complaints: review, restrict, lift (exit codes: 0 ok, 1 refused or not finished, 2 usage or input error)")
        .exitOverride(usageExit);
    const target = (command: Command, example: string) => command
        .option("--stack <name>", "Pulumi stack: reads Pulumi.<stack>.yaml (environment, name prefix, region, complaint window)")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)")
        .option("--env <env>", "environment: names from the components' naming (ses-mail-sender-reputation-<env>)")
        .option("--name-prefix <prefix>", "name prefix with --env (default: ses-mail)")
        .option("--outputs <file>", "the stack's outputs (pulumi stack output --json > file): senderReputationTableName, feedbackEventsTableName, senderNotificationsTopicArn")
        .option("--region <region>", "AWS region (default: aws:region of the stack, else AWS_REGION)")
        .option("--json", "machine-readable output", false)
        .addHelpText("after", `\nExample:\n  $ ${example}\n`)
        .exitOverride(usageExit);
    const run = <A extends unknown[]>(action: (ctx: Ctx, ...args: A) => Promise<number>) => async (...args: unknown[]) => {
        const command = args[args.length - 1] as Command;
        const options = command.opts() as TargetOptions & { json: boolean };
        const lib = await load();
        const resolved = sendersTarget(lib, options, deps.cwd);
        const client = new lib.ddb.DynamoDBClient({ region: resolved.region });
        try {
            const ctx: Ctx = { lib, target: resolved, client, json: options.json, print, deps };
            if (!options.json) resolved.notes.forEach(print);
            result.exitCode = await action(ctx, ...(args.slice(0, -1) as A));
        } finally {
            client.destroy();
        }
    };
    const reason = (value: string) => {
        if (value.trim().length < 3) throw new InvalidArgumentError("a few words: it is recorded in the sender's audit log.");
        return value.trim();
    };

    target(senders.command("list"), "ses-mail senders list --state restricted --stack prod")
        .description("Flagged and restricted senders (a Query of the state index, never a Scan): state, complaints, since, by whom, why")
        .addOption(new Option("--state <state>", "only this state").choices(["flagged", "restricted"]))
        .action(run((ctx, options: { state?: "flagged" | "restricted" }) => list(ctx, options.state)));
    target(senders.command("show").argument("<sender>", "the sender: From address, or the senderTag value"), "ses-mail senders show promo@mail.example.com --stack prod")
        .description("One sender: state, complaints in the window (message id, date, recipient), state history with who and why")
        .addOption(new Option("--days <n>", "complaint window in days (default: the stack's complaintWindowDays, else 30)").argParser(positive))
        .action(run((ctx, sender: string, options: { days?: number }) => show(ctx, sender, options.days ?? ctx.target.windowDays)));
    for (const kind of ["restrict", "lift"] as const) {
        target(senders.command(kind).argument("<sender>", "the sender: From address, or the senderTag value"),
            `ses-mail senders ${kind} promo@mail.example.com --reason "${kind === "restrict" ? "bought list, 40 complaints in a day" : "list cleaned, double opt-in since 2026-11-20"}" --stack prod`)
            .description(kind === "restrict"
                ? "Restrict a sender by hand (asks unless --yes): recorded with your STS identity, announced; its SMTP users are disabled"
                : "Return a flagged or restricted sender to ok (asks unless --yes): recorded with your STS identity, announced; disabled SMTP users stay disabled")
            .requiredOption("--reason <text>", "why (recorded in the audit log)", reason)
            .option("--yes", "do not ask")
            .option("--dry-run", "show what would change, write nothing")
            .action(run((ctx, sender: string, options: ChangeOptions) => change(ctx, kind, sender, options)));
    }
}
