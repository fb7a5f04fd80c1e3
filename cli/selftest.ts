// `ses-mail selftest`: the whole system, end to end, on the real account. Outbound: three mails through
// the stack's configuration set to SES's mailbox simulator (success, bounce, complaint), then waits
// (bounded, with progress) for the feedback events, the suppressions the worker adds and the
// worker's metrics, and removes the simulator suppressions it caused. Inbound (--to): one mail to a
// test address, then the router's routing decision and, for a forward, the forwarder's import, from
// the functions' logs. Per-step timings, a verdict, exit 1 on failure.
//
// The mailbox simulator (SES Developer Guide, "Using the mailbox simulator manually"): mail to it is
// limited by the maximum send rate but does not count against the daily quota; it does not change the
// account's reputation metrics; the bounce address "isn't placed on the Amazon SES suppression list";
// labels (bounce+label@simulator.amazonses.com) reach the same scenario, so each run has its own
// addresses. This stack's own suppression table does get them (the feedback worker cannot tell a
// simulator bounce from a real one), which is why the run removes exactly those entries afterwards.
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SESv2Client } from "@aws-sdk/client-sesv2";
import { Command, InvalidArgumentError, Option } from "commander";
import { awsCall } from "./aws";
import { CliError, UsageError, usageExit } from "./errors";
import type { CliDeps } from "./main";
import type { OpsTarget, OpsTargetOptions } from "./ops-target";

const load = async () => {
    const [cloudwatch, ddb, doc, sesv2, ops, control, store, email] = await Promise.all([
        import("@aws-sdk/client-cloudwatch"), import("@aws-sdk/client-dynamodb"), import("@aws-sdk/lib-dynamodb"), import("@aws-sdk/client-sesv2"),
        import("./ops-target"), import("../functions/shared/sending-control"), import("../functions/shared/suppression-client"), import("../functions/shared/email"),
    ]);
    return { cloudwatch, ddb, doc, sesv2, ops, control, store, email };
};
type Lib = Awaited<ReturnType<typeof load>>;

/** CloudWatch Logs' FilterLogEvents, as the selftest uses it (a test passes its own). */
export interface LogsPort {
    filterLogEvents(input: { logGroupName: string; filterPattern: string; startTime: number; nextToken?: string }): Promise<{ events: { timestamp?: number; message?: string }[]; nextToken?: string }>;
    destroy?(): void;
}

export interface SelftestDeps {
    /** Waits between polls; tests pass one that advances their clock. */
    sleep?(ms: number): Promise<void>;
    /** FilterLogEvents for the inbound test; @aws-sdk/client-cloudwatch-logs otherwise. */
    logs?(region: string | undefined): Promise<LogsPort>;
}

async function sdkLogs(region: string | undefined): Promise<LogsPort> {
    const { CloudWatchLogsClient, FilterLogEventsCommand } = await import("@aws-sdk/client-cloudwatch-logs");
    const client = new CloudWatchLogsClient({ region });
    return {
        filterLogEvents: async (input) => (await client.send(new FilterLogEventsCommand(input))) as Awaited<ReturnType<LogsPort["filterLogEvents"]>>,
        destroy: () => client.destroy(),
    };
}

export type Scenario = "success" | "bounce" | "complaint";
export const SCENARIOS: readonly Scenario[] = ["success", "bounce", "complaint"];
/** The event record each scenario must produce, and the suppression it must cause. */
const EXPECTED: Record<Scenario, { event: string; suppression?: "bounce" | "complaint"; metric: string }> = {
    success: { event: "Delivery", metric: "OutboundDelivery" },
    bounce: { event: "Bounce", suppression: "bounce", metric: "OutboundBounce" },
    complaint: { event: "Complaint", suppression: "complaint", metric: "OutboundComplaint" },
};
/** The message tag every selftest mail carries (SES tag names and values: letters, digits, _ and -). */
export const SELFTEST_TAG = "ses-mail-selftest";

export interface StepResult { step: string; status: "pass" | "fail" | "skipped"; seconds: number; detail: string }

interface Ctx {
    lib: Lib;
    target: OpsTarget;
    ses: SESv2Client;
    dynamo: DynamoDBClient;
    cloudwatch: CloudWatchClient;
    deps: CliDeps & SelftestDeps;
    sleep(ms: number): Promise<void>;
    /** Epoch ms after which every wait gives up. */
    deadline: number;
    pollMs: number;
    progress(line: string): void;
}

/** The labelled simulator address of a scenario for one run. */
export function simulatorAddress(scenario: Scenario, run: string, domain: string): string {
    return `${scenario}+${run}@${domain}`;
}

/** A run id: lowercase letters, digits and dashes (valid in a tag value and an address label). */
export function runId(now: Date, random: () => number = Math.random): string {
    return `st-${now.getTime().toString(36)}-${Math.floor(random() * 36 ** 4).toString(36).padStart(4, "0")}`;
}

/**
 * A rate the selftest's own mail moves: the emergency brake's and the rate alarms' bounce and
 * complaint rates, `IF(sends >= minimumSends, 100 * x / sends, 0) > threshold` over `periodSeconds`
 * (components/alarm-specs.ts rateAlarmSpecs, components/sending-guard.ts brakeAlarmSpecs).
 */
export interface RateGuard { name: string; kind: "bounce" | "complaint"; thresholdPercent: number; minimumSends: number; periodSeconds: number; pauses: boolean }
/** What one run adds to the stack's metrics: three sends, one bounce, one complaint (the simulator's are counted like any). */
export const SELFTEST_ADDS = { sends: 3, bounce: 1, complaint: 1 } as const;

/** The guard's rate before and after the run's mail is added to the last period's sums (pure). */
export function selftestImpact(window: { sends: number; bounce: number; complaint: number }, guard: RateGuard): { before: number; after: number; crosses: boolean } {
    const rate = (sends: number, x: number) => (sends >= guard.minimumSends ? (100 * x) / sends : 0);
    const before = rate(window.sends, window[guard.kind]);
    const after = rate(window.sends + SELFTEST_ADDS.sends, window[guard.kind] + SELFTEST_ADDS[guard.kind]);
    return { before, after, crosses: after > guard.thresholdPercent && before <= guard.thresholdPercent };
}

/** The stack's guards: its brake settings (the SendingGuard's own defaulting) and the rate alarms' tiers. */
async function rateGuards(ctx: Ctx): Promise<RateGuard[]> {
    const [{ resolveSendingGuardSettings }, { DEFAULT_RATE_ALARMS }] = await Promise.all([import("../components/sending-guard"), import("../components/alarm-specs")]);
    const config = ctx.target.config;
    const brake = resolveSendingGuardSettings({ env: ctx.target.env, namePrefix: ctx.target.namePrefix, ...config?.sending });
    const minimumSends = config?.alarms.minimumSends ?? DEFAULT_RATE_ALARMS.minimumSends;
    const periodSeconds = config?.alarms.ratePeriodSeconds ?? DEFAULT_RATE_ALARMS.periodSeconds;
    const tiers = (kind: "bounce" | "complaint", thresholds: readonly number[]) => thresholds.map((thresholdPercent, i): RateGuard => ({
        name: `${kind} rate ${i === 0 ? "WARNING" : "CRITICAL"} alarm`, kind, thresholdPercent, minimumSends, periodSeconds, pauses: false,
    }));
    return [
        ...(brake.brake ? (["bounce", "complaint"] as const).map((kind): RateGuard => ({
            name: `emergency brake (${kind})`, kind, thresholdPercent: kind === "bounce" ? brake.brakeBounceRatePercent : brake.brakeComplaintRatePercent,
            minimumSends: brake.brakeMinimumSends, periodSeconds: brake.brakePeriodSeconds, pauses: true,
        })) : []),
        ...tiers("bounce", DEFAULT_RATE_ALARMS.bounceRate),
        ...tiers("complaint", DEFAULT_RATE_ALARMS.complaintRate),
    ];
}

/** Sums of the worker's send, bounce and complaint metrics over the last `seconds`. */
async function recentWindow(ctx: Ctx, seconds: number): Promise<{ sends: number; bounce: number; complaint: number }> {
    const now = ctx.deps.now().getTime();
    const names = { sends: "OutboundSend", bounce: "OutboundBounce", complaint: "OutboundComplaint" } as const;
    const { MetricDataResults } = await awsCall("cloudwatch:GetMetricData", ctx.target.namespace, () => ctx.cloudwatch.send(new ctx.lib.cloudwatch.GetMetricDataCommand({
        StartTime: new Date(now - seconds * 1000), EndTime: new Date(now),
        MetricDataQueries: Object.entries(names).map(([id, metric]) => ({
            Id: id, ReturnData: true,
            MetricStat: { Metric: { Namespace: ctx.target.namespace, MetricName: metric, Dimensions: [{ Name: "service", Value: ctx.target.feedbackService }] }, Period: seconds, Stat: "Sum" },
        })),
    })));
    const sum = (id: string) => (MetricDataResults?.find((r) => r.Id === id)?.Values ?? []).reduce((a, b) => a + b, 0);
    return { sends: sum("sends"), bounce: sum("bounce"), complaint: sum("complaint") };
}

class Timeout extends Error {}

/** Polls `check` until it returns a value, or the run's deadline passes (then Timeout with what was missing). */
async function waitFor<T>(ctx: Ctx, what: string, check: () => Promise<{ done: true; value: T } | { done: false; missing: string }>): Promise<T> {
    const started = ctx.deps.now().getTime();
    for (;;) {
        const state = await check();
        if (state.done) return state.value;
        const now = ctx.deps.now().getTime();
        if (now >= ctx.deadline) throw new Timeout(`timed out after ${Math.round((now - started) / 1000)} s waiting for ${what}: ${state.missing}`);
        ctx.progress(`waiting for ${what} (${Math.round((now - started) / 1000)} s): ${state.missing}`);
        await ctx.sleep(Math.min(ctx.pollMs, Math.max(0, ctx.deadline - now)));
    }
}

async function send(ctx: Ctx, from: string, to: string, subject: string, run: string): Promise<string> {
    const tags = [{ Name: SELFTEST_TAG, Value: run }, ...(ctx.target.senderTag ? [{ Name: ctx.target.senderTag, Value: SELFTEST_TAG }] : [])];
    const { MessageId } = await awsCall("ses:SendEmail", to, () => ctx.ses.send(new ctx.lib.sesv2.SendEmailCommand({
        FromEmailAddress: from, Destination: { ToAddresses: [to] }, ConfigurationSetName: ctx.target.sending.configurationSetName, EmailTags: tags,
        Content: { Simple: { Subject: { Data: subject }, Body: { Text: { Data: `ses-mail selftest ${run}: an automated end-to-end check of this stack. Nothing to do.` } } } },
    })));
    if (!MessageId) throw new CliError(`SES accepted the mail to ${to} without a message id.`);
    return MessageId;
}

/** Whether the events table holds a record of `type` for the message (base table, read consistently). */
async function hasEvent(ctx: Ctx, type: string, messageId: string): Promise<boolean> {
    const doc = ctx.lib.doc.DynamoDBDocumentClient.from(ctx.dynamo);
    const { Items } = await awsCall("dynamodb:Query", ctx.target.eventsTableName, () => doc.send(new ctx.lib.doc.QueryCommand({
        TableName: ctx.target.eventsTableName, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": `${type}#${messageId}` }, ConsistentRead: true, Limit: 1,
    })));
    return (Items ?? []).length > 0;
}

async function metricSum(ctx: Ctx, metric: string, since: number): Promise<number> {
    const now = ctx.deps.now().getTime();
    const { MetricDataResults } = await awsCall("cloudwatch:GetMetricData", ctx.target.namespace, () => ctx.cloudwatch.send(new ctx.lib.cloudwatch.GetMetricDataCommand({
        StartTime: new Date(Math.floor(since / 60_000) * 60_000 - 60_000), EndTime: new Date(now + 60_000),
        MetricDataQueries: [{ Id: "m", ReturnData: true, MetricStat: { Metric: { Namespace: ctx.target.namespace, MetricName: metric, Dimensions: [{ Name: "service", Value: ctx.target.feedbackService }] }, Period: 60, Stat: "Sum" } }],
    })));
    return (MetricDataResults?.[0]?.Values ?? []).reduce((a, b) => a + b, 0);
}

/** Removes the suppression entries of this run's simulator addresses; never touches another address. */
async function cleanup(ctx: Ctx, addresses: string[]): Promise<string> {
    const simulator = ctx.lib.ops.SIMULATOR_DOMAIN;
    const client = new ctx.lib.store.SuppressionClient({ tableName: ctx.target.suppression.tableName, client: ctx.dynamo, consistentRead: true });
    const removed: string[] = [];
    for (const address of addresses) {
        if (address.slice(address.lastIndexOf("@") + 1) !== simulator) throw new Error(`refusing to remove ${address}: not a mailbox simulator address`);
        for (const entry of await awsCall("dynamodb:Query", ctx.target.suppression.tableName, () => client.entries(address))) {
            await awsCall("dynamodb:DeleteItem", ctx.target.suppression.tableName, () => client.remove(entry.email, entry.reason));
            removed.push(`${entry.email} (${entry.reason})`);
        }
    }
    // With the mirror on, each removal also takes the address off SES's account-level list (the mirror's
    // claim); wait until SES agrees, so no simulator address stays suppressed account-wide.
    let ses = "";
    if (ctx.target.suppression.mirrorToSes !== false && removed.length > 0) {
        const listed = async () => (await Promise.all(addresses.map(async (address) => {
            try {
                await awsCall("ses:GetSuppressedDestination", address, () => ctx.ses.send(new ctx.lib.sesv2.GetSuppressedDestinationCommand({ EmailAddress: address })));
                return [address];
            } catch (error) {
                if (error instanceof ctx.lib.sesv2.NotFoundException) return [];
                throw error;
            }
        }))).flat();
        const left = await waitFor(ctx, "SES's account-level list to drop the simulator addresses", async () => {
            const still = await listed();
            return still.length === 0 ? { done: true, value: [] } : { done: false, missing: `still listed: ${still.join(", ")}` };
        }).catch((error: unknown) => {
            if (error instanceof Timeout) return listed();
            throw error;
        });
        ses = left.length === 0 ? "; not on SES's account-level list" : `; STILL on SES's account-level list: ${left.join(", ")} (aws sesv2 delete-suppressed-destination --email-address <address>)`;
        if (left.length > 0) throw new Error(`removed ${removed.join(", ")}${ses}`);
    }
    return removed.length > 0 ? `removed ${removed.join(", ")}${ses}` : "no simulator suppression to remove";
}

/** The router's "Routing decision" line for the test mail, and for a forward the forwarder's "Imported into Gmail" line. */
async function inbound(ctx: Ctx, logs: LogsPort, to: string, from: string, sentAt: number, step: (name: string, run: () => Promise<string>) => Promise<boolean>): Promise<void> {
    const lines = async (logGroupName: string, filterPattern: string) => {
        const found: Record<string, unknown>[] = [];
        let nextToken: string | undefined;
        do {
            // FilterLogEvents pages with nextToken; a page may be empty while more follow (CloudWatch Logs API Reference).
            const page = await awsCall("logs:FilterLogEvents", logGroupName, () => logs.filterLogEvents({ logGroupName, filterPattern, startTime: sentAt - 60_000, nextToken }));
            for (const event of page.events) {
                try {
                    found.push(JSON.parse(event.message ?? "") as Record<string, unknown>);
                } catch {
                    // Not a structured line (Lambda's START/END/REPORT).
                }
            }
            nextToken = page.nextToken;
        } while (nextToken);
        return found;
    };
    const recipient = to.toLowerCase();
    let decision: Record<string, unknown> | undefined;
    const routed = await step("routing decision", async () => {
        decision = await waitFor(ctx, `the router's decision for ${to}`, async () => {
            const match = (await lines(ctx.target.logGroups.router, '{ $.message = "Routing decision" }'))
                .find((l) => String(l.recipient ?? "").toLowerCase().split(",").includes(recipient) && String(l.source ?? "").toLowerCase() === from.toLowerCase());
            // With hashAddressesInLogs the lines carry keyed hashes, not addresses (docs/DATA.md): say so rather than wait silently.
            const hashed = ctx.target.config?.hashAddressesInLogs ? " (the stack logs hashed addresses: this test cannot match them)" : "";
            return match ? { done: true, value: match } : { done: false, missing: `no "Routing decision" line for ${to} in ${ctx.target.logGroups.router} yet${hashed}` };
        });
        return `${String(decision.action)}${decision.target ? ` → ${String(decision.target)}` : ""} (${String(decision.reason ?? "")}; SES message id ${String(decision.messageId)})`;
    });
    if (!routed || !decision) return;
    if (decision.action !== "forward-to-gmail") {
        await step("forwarded to Gmail", async () => "not a forward: nothing to wait for");
        return;
    }
    const messageId = String(decision.messageId);
    await step("forwarded to Gmail", async () => {
        const line = await waitFor(ctx, "the forwarder's import", async () => {
            const match = (await lines(ctx.target.logGroups.forwarder, `{ $.message = "Imported into Gmail" && $.messageId = "${messageId}" }`))[0];
            return match ? { done: true, value: match } : { done: false, missing: `no "Imported into Gmail" line for ${messageId} in ${ctx.target.logGroups.forwarder} yet` };
        });
        return `imported into ${String(line.target)} (Gmail id ${String(line.gmailMessageId ?? "?")})`;
    });
}

export interface SelftestOptions { from?: string; to?: string; timeout: number; pollSeconds: number; outbound: boolean; force?: boolean }

export async function selftest(ctx: Ctx, options: SelftestOptions, logsOf: () => Promise<LogsPort>): Promise<{ run: string; passed: boolean; steps: StepResult[] }> {
    const steps: StepResult[] = [];
    const run = runId(ctx.deps.now());
    let failed = false;
    /** Runs a step unless an earlier one failed; times it; a failure (or timeout) fails the run. */
    const step = async (name: string, body: () => Promise<string>, always = false): Promise<boolean> => {
        if (failed && !always) {
            steps.push({ step: name, status: "skipped", seconds: 0, detail: "an earlier step failed" });
            return false;
        }
        const started = ctx.deps.now().getTime();
        ctx.progress(`${name}…`);
        try {
            const detail = await body();
            steps.push({ step: name, status: "pass", seconds: (ctx.deps.now().getTime() - started) / 1000, detail });
            return true;
        } catch (error) {
            failed = true;
            steps.push({ step: name, status: "fail", seconds: (ctx.deps.now().getTime() - started) / 1000, detail: (error as Error).message });
            return false;
        }
    };
    const domain = ctx.target.config?.feedback.domains[0];
    const from = options.from ?? (domain ? `${SELFTEST_TAG}@${domain}` : undefined);
    if (!from) throw new UsageError("Give --from <address at a verified sending domain>: the stack's domains are unknown with --env.");
    await step("sending enabled", async () => {
        const set = ctx.target.sending.configurationSetName;
        const enabled = await awsCall("ses:GetConfigurationSet", set, () => new ctx.lib.control.SendingSwitch(ctx.ses, set).enabled());
        if (!enabled) throw new Error(`${set} is paused: ses-mail sending status ${ctx.target.selector}`);
        return `${set} may send`;
    });
    if (options.outbound) {
        // The simulator's bounce and complaint count in this stack's own rates like any other: in a
        // quiet hour just above the low-volume guard, one complaint would pull the emergency brake.
        await step("reputation headroom", async () => {
            const guards = await rateGuards(ctx);
            const windows = new Map<number, Awaited<ReturnType<typeof recentWindow>>>();
            for (const seconds of new Set(guards.map((g) => g.periodSeconds))) windows.set(seconds, await recentWindow(ctx, seconds));
            const crossed = guards.map((g) => ({ g, ...selftestImpact(windows.get(g.periodSeconds)!, g) })).filter((x) => x.crosses);
            const say = (x: (typeof crossed)[number]) => `${x.g.name}: ${x.before.toFixed(3)}% → ${x.after.toFixed(3)}% (> ${x.g.thresholdPercent}%)`;
            const window = windows.get(guards[0]?.periodSeconds ?? 3600);
            const seen = window ? `last hour: ${window.sends} sends, ${window.bounce} bounces, ${window.complaint} complaints` : "no guards";
            const brake = crossed.filter((x) => x.g.pauses);
            if (brake.length > 0 && !options.force) {
                throw new Error(`the run's bounce and complaint would pull the emergency brake and PAUSE sending (${brake.map(say).join("; ")}; ${seen}): run it in a busier or quieter hour, or give --force`);
            }
            return crossed.length > 0 ? `${seen}; WILL TRIP ${crossed.map(say).join("; ")}` : `${seen}: the run's mail trips no rate alarm or brake`;
        });
        const simulator = ctx.lib.ops.SIMULATOR_DOMAIN;
        const addresses = Object.fromEntries(SCENARIOS.map((s) => [s, simulatorAddress(s, run, simulator)])) as Record<Scenario, string>;
        const ids: Partial<Record<Scenario, string>> = {};
        let sentAt = ctx.deps.now().getTime();
        const sent = await step("send to the mailbox simulator", async () => {
            sentAt = ctx.deps.now().getTime();
            for (const s of SCENARIOS) ids[s] = await send(ctx, from, addresses[s], `ses-mail selftest ${run} (${s})`, run);
            return SCENARIOS.map((s) => `${s}: ${ids[s]}`).join(", ");
        });
        await step("feedback events stored", () => waitFor(ctx, "feedback events", async () => {
            const missing = (await Promise.all(SCENARIOS.map(async (s) => ((await hasEvent(ctx, EXPECTED[s].event, ids[s]!)) ? [] : [`${EXPECTED[s].event} of ${s}`])))).flat();
            return missing.length === 0 ? { done: true, value: `${SCENARIOS.map((s) => EXPECTED[s].event).join(", ")} recorded in ${ctx.target.eventsTableName}` } : { done: false, missing: missing.join(", ") };
        }));
        await step("suppressions added", () => waitFor(ctx, "the suppression handling", async () => {
            const client = new ctx.lib.store.SuppressionClient({ tableName: ctx.target.suppression.tableName, client: ctx.dynamo, consistentRead: true });
            const found = Object.fromEntries(await Promise.all(SCENARIOS.map(async (s) => [s, (await client.entries(addresses[s])).map((e) => e.reason)] as const)));
            if (found.success.length > 0) throw new Error(`the success address was suppressed (${found.success.join(", ")}): the worker suppressed a delivered address`);
            const missing = SCENARIOS.filter((s) => EXPECTED[s].suppression && !found[s].includes(EXPECTED[s].suppression!)).map((s) => `${s} (${EXPECTED[s].suppression})`);
            return missing.length === 0 ? { done: true, value: `bounce and complaint addresses suppressed in ${ctx.target.suppression.tableName}; success not` } : { done: false, missing: missing.join(", ") };
        }));
        await step("metrics published", () => waitFor(ctx, "the feedback worker's metrics", async () => {
            const sums = await Promise.all(SCENARIOS.map(async (s) => [EXPECTED[s].metric, await metricSum(ctx, EXPECTED[s].metric, sentAt)] as const));
            const missing = sums.filter(([, n]) => n < 1).map(([m]) => m);
            return missing.length === 0 ? { done: true, value: sums.map(([m, n]) => `${m} ${n}`).join(", ") } : { done: false, missing: `${missing.join(", ")} not in ${ctx.target.namespace} yet` };
        }));
        // Always, even after a failure or timeout: simulator addresses must not stay suppressed. Sends
        // that never went out caused nothing to clean up.
        if (sent) {
            // Cleanup gets its own minute past the deadline: the waits above may have used it up.
            ctx.deadline = Math.max(ctx.deadline, ctx.deps.now().getTime() + 60_000);
            const early = failed;
            await step("clean up simulator suppressions", async () => {
                const done = await cleanup(ctx, [addresses.bounce, addresses.complaint, addresses.success]);
                // Feedback that arrives after a timeout suppresses again: say how to remove it then.
                return early ? `${done}; feedback arriving later adds them again: ses-mail suppression remove ${addresses.bounce} --yes ${ctx.target.selector} (and ${addresses.complaint})` : done;
            }, true);
        }
    }
    if (options.to) {
        const to = options.to;
        const logs = await logsOf();
        try {
            let sentAt = 0;
            const sent = await step(`send to ${to}`, async () => {
                sentAt = ctx.deps.now().getTime();
                return `SES message id ${await send(ctx, from, to, `ses-mail selftest ${run} (inbound)`, run)}`;
            });
            if (sent) await inbound(ctx, logs, to, from, sentAt, step);
        } finally {
            logs.destroy?.();
        }
    }
    return { run, passed: !failed, steps };
}

const integer = (min: number, max: number) => (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`a whole number from ${min} to ${max}.`);
    return n;
};

export function selftestCommand(root: Command, deps: CliDeps & SelftestDeps, out: { exitCode: number }): void {
    const print = (line: string) => deps.stdout(`${line}\n`);
    root.command("selftest")
        .description("The whole system end to end on the real account: mail to SES's mailbox simulator (success, bounce, complaint) until its feedback events, suppressions and metrics appear, then the simulator suppressions removed; with --to, mail to a test address until its routing decision (and a forward's Gmail import) shows in the logs (exit codes: 0 passed, 1 a step failed, 2 usage error)")
        .option("--stack <name>", "Pulumi stack: reads Pulumi.<stack>.yaml")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)")
        .option("--env <env>", "environment: names from the components' naming (needs --from)")
        .option("--name-prefix <prefix>", "name prefix with --env (default: ses-mail)")
        // Accepted so that giving it says why it is not enough (the other commands take it).
        .addOption(new Option("--outputs <file>").hideHelp())
        .option("--region <region>", "AWS region (default: aws:region of the stack, else AWS_REGION)")
        .option("--from <address>", "sender, at a verified domain of the stack (default: ses-mail-selftest@<first feedback domain>)")
        .option("--to <address>", "also test receiving: a test address of the stack's receiving domains")
        .option("--no-outbound", "skip the mailbox simulator part (with --to)")
        .option("--force", "send even when the run's bounce and complaint would pull the emergency brake (quiet hour just above its minimum sends)")
        .addOption(new Option("--timeout <seconds>", "how long to wait in all").default(900).argParser(integer(10, 7200)))
        .addOption(new Option("--poll <seconds>", "seconds between checks").default(10).argParser(integer(1, 300)))
        .option("--json", "machine-readable output: { run, passed, steps: [{ step, status, seconds, detail }] }", false)
        .addHelpText("after", "\nExamples:\n  $ ses-mail selftest --stack prod\n  $ ses-mail selftest --stack prod --to selftest@mail.example.com --timeout 600\n")
        .exitOverride(usageExit)
        .action(async (options: OpsTargetOptions & { from?: string; to?: string; outbound: boolean; force?: boolean; timeout: number; poll: number; json: boolean }) => {
            if (!options.outbound && !options.to) throw new UsageError("--no-outbound leaves nothing to test: give --to <address>.");
            const lib = await load();
            for (const address of [options.from, options.to]) {
                if (address === undefined) continue;
                try {
                    lib.email.normaliseEmail(address);
                } catch (error) {
                    throw new UsageError((error as Error).message);
                }
            }
            const target = lib.ops.opsTarget(options, deps.cwd);
            const region = target.region;
            const ses = new lib.sesv2.SESv2Client({ region });
            const dynamo = new lib.ddb.DynamoDBClient({ region });
            const cloudwatch = new lib.cloudwatch.CloudWatchClient({ region });
            try {
                const ctx: Ctx = {
                    lib, target, ses, dynamo, cloudwatch, deps, sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
                    deadline: deps.now().getTime() + options.timeout * 1000, pollMs: options.poll * 1000, progress: (line) => deps.stderr(`${line}\n`),
                };
                if (!options.json) target.notes.forEach(print);
                const outcome = await selftest(ctx, { from: options.from, to: options.to, timeout: options.timeout, pollSeconds: options.poll, outbound: options.outbound, force: options.force }, () => (deps.logs ?? sdkLogs)(region));
                if (options.json) print(JSON.stringify(outcome, null, 2));
                else {
                    print(`Selftest ${outcome.run} (${target.selector}):`);
                    for (const s of outcome.steps) print(`  ${s.status === "pass" ? "PASS" : s.status === "fail" ? "FAIL" : "SKIP"}  ${s.step.padEnd(32)} ${s.seconds.toFixed(1).padStart(6)} s  ${s.detail}`);
                    print(outcome.passed ? "Verdict: PASSED" : `Verdict: FAILED at ${outcome.steps.filter((s) => s.status === "fail").map((s) => s.step).join(", ")}`);
                }
                out.exitCode = outcome.passed ? 0 : 1;
            } finally {
                ses.destroy();
                dynamo.destroy();
                cloudwatch.destroy();
            }
        });
}
