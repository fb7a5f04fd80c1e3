// `ses-mail health`: the runbooks' morning check in one command. One line per check, a verdict, exit 1
// when anything needs attention. Each check reads what the matching command reads (dlq list, token
// status, sending status, quota, suppression stats), through the same shared code.
import type { CloudWatchClient, MetricAlarm } from "@aws-sdk/client-cloudwatch";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SESClient } from "@aws-sdk/client-ses";
import type { SESv2Client } from "@aws-sdk/client-sesv2";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { Command, Option } from "commander";
import { awsCall } from "./aws";
import type { CliDeps } from "./main";
import type { OpsTarget, OpsTargetOptions } from "./ops-target";
import { collect, usageExit } from "./errors";

/** The modules behind the command load when it runs, so `ses-mail --help` starts fast (as in main.ts). */
const load = async () => {
    const [cloudwatch, sqs, sesv2, ses, ssm, ddb, ops, dlq, tokens, control, quota, store, naming] = await Promise.all([
        import("@aws-sdk/client-cloudwatch"), import("@aws-sdk/client-sqs"), import("@aws-sdk/client-sesv2"), import("@aws-sdk/client-ses"),
        import("@aws-sdk/client-ssm"), import("@aws-sdk/client-dynamodb"), import("./ops-target"), import("./dlq"), import("./token-status"),
        import("../functions/shared/sending-control"), import("../functions/shared/send-quota"), import("../functions/shared/suppression-client"),
        import("../components/naming"),
    ]);
    return { cloudwatch, sqs, sesv2, ses, ssm, ddb, ops, dlq, tokens, control, quota, store, naming };
};
type Lib = Awaited<ReturnType<typeof load>>;

export type CheckStatus = "ok" | "attention" | "skipped";

/** One line of the report; `--json` prints these as they are (field names are stable). */
export interface HealthCheck {
    check: string;
    status: CheckStatus;
    summary: string;
    details: unknown;
}

/** The checks, in the order printed (the runbooks' morning check). */
export const HEALTH_CHECKS = ["alarms", "queues", "dlqs", "tokens", "sending", "quota", "suppressions", "receipt-rules", "identities"] as const;
export type HealthCheckName = (typeof HEALTH_CHECKS)[number];

interface Ctx {
    lib: Lib;
    target: OpsTarget;
    cloudwatch: CloudWatchClient;
    sqs: SQSClient;
    sesv2: SESv2Client;
    ses: SESClient;
    ssm: SSMClient;
    dynamo: DynamoDBClient;
    now: Date;
}

const DAY = 86_400;

/** A DynamoDB read: a missing table says which name was tried. */
async function db<T>(table: string, call: () => Promise<T>): Promise<T> {
    try {
        return await awsCall("dynamodb:Query", table, call);
    } catch (error) {
        if ((error as { name?: string }).name === "ResourceNotFoundException") throw new Error(`no table ${table} (or its index): check --stack / --env and --region`, { cause: error });
        throw error;
    }
}
const result = (check: HealthCheckName, status: CheckStatus, summary: string, details: unknown = null): HealthCheck => ({ check, status, summary, details });
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * Names that may be this stack's: the rate alarms' exact names (their own naming code: no env unless
 * alarms.nameSuffix adds it), and every other alarm of the stack ends with `-<env>` (runbook names,
 * brake, quota, token, SMTP alarms). Only these are looked at further.
 */
async function candidateName(ctx: Ctx): Promise<(name: string) => boolean> {
    const { rateAlarmSpecs, DEFAULT_RATE_ALARMS } = await import("../components/alarm-specs");
    const { env, namespace, applicationNamespace, config } = ctx.target;
    const rates = new Set(rateAlarmSpecs({ ...DEFAULT_RATE_ALARMS, env, namespace, applicationNamespace, nameSuffix: config?.alarms.nameSuffix ?? DEFAULT_RATE_ALARMS.nameSuffix }).map((spec) => spec.name));
    return (name) => rates.has(name) || name.endsWith(`-${env}`);
}

/**
 * The stack's alarms in ALARM. Alarm names follow several patterns (the runbooks' names, rate alarms'
 * `<prefix>-<what>-<TIER><suffix>`): candidates by name (above), then confirmed by the tags every
 * component puts on its alarms (standardTags: Environment and Service; metricAlarm: Tier), so another
 * system's alarm whose name happens to match is not counted. DescribeAlarms pages with NextToken
 * (CloudWatch API Reference, "DescribeAlarms").
 */
async function alarms(ctx: Ctx): Promise<HealthCheck> {
    const { DescribeAlarmsCommand, ListTagsForResourceCommand } = ctx.lib.cloudwatch;
    const firing: { name: string; arn: string; description?: string; reason?: string; since?: string }[] = [];
    let token: string | undefined;
    do {
        const page = await awsCall("cloudwatch:DescribeAlarms", "alarms in ALARM", () => ctx.cloudwatch.send(new DescribeAlarmsCommand({
            StateValue: "ALARM", AlarmTypes: ["MetricAlarm", "CompositeAlarm"], MaxRecords: 100, NextToken: token,
        })));
        for (const alarm of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])] as MetricAlarm[]) {
            if (!alarm.AlarmName || !alarm.AlarmArn) continue;
            firing.push({ name: alarm.AlarmName, arn: alarm.AlarmArn, description: alarm.AlarmDescription, reason: alarm.StateReason, since: alarm.StateUpdatedTimestamp?.toISOString() });
        }
        token = page.NextToken;
    } while (token);
    const expected = ctx.lib.naming.standardTags(ctx.target.env, "");
    const ours: { name: string; tier: string; since: string | null; reason: string | null }[] = [];
    const candidate = await candidateName(ctx);
    for (const alarm of firing.filter((a) => candidate(a.name))) {
        const { Tags } = await awsCall("cloudwatch:ListTagsForResource", alarm.name, () => ctx.cloudwatch.send(new ListTagsForResourceCommand({ ResourceARN: alarm.arn })));
        const tags = Object.fromEntries((Tags ?? []).map((t) => [t.Key, t.Value]));
        if (tags.Environment !== expected.Environment || tags.Service !== expected.Service) continue;
        // metricAlarm writes the tier as a tag and as the description's "[TIER]" start.
        const tier = tags.Tier ?? /^\[(\w+)\]/.exec(alarm.description ?? "")?.[1] ?? "UNKNOWN";
        ours.push({ name: alarm.name, tier, since: alarm.since ?? null, reason: alarm.reason ?? null });
    }
    ours.sort((a, b) => a.tier.localeCompare(b.tier) || a.name.localeCompare(b.name));
    if (ours.length === 0) return result("alarms", "ok", "no alarm of this stack in ALARM", []);
    const byTier = [...new Set(ours.map((a) => a.tier))].map((tier) => `${tier} ${ours.filter((a) => a.tier === tier).length}`).join(", ");
    return result("alarms", "attention", `${plural(ours.length, "alarm")} in ALARM (${byTier}): ${ours.map((a) => a.name).join(", ")}`, ours);
}

async function queues(ctx: Ctx): Promise<HealthCheck> {
    const depths = await ctx.lib.dlq.queueDepths(ctx, ctx.target.queues, ctx.now);
    const rows = depths.map((d, i) => ({ label: ctx.target.queues[i].label, ...d, oldestAgeSeconds: d.oldestAgeSeconds ?? null }))
        .filter((r) => r.exists || !ctx.target.dlq.guessed);
    const old = rows.filter((r) => (r.oldestAgeSeconds ?? 0) > ctx.target.queueAgeSeconds);
    const missing = rows.filter((r) => !r.exists);
    const waiting = rows.reduce((sum, r) => sum + r.messages, 0);
    const problems = [
        ...old.map((r) => `${r.label} oldest ${ctx.lib.dlq.age(r.oldestAgeSeconds ?? undefined)} (> ${ctx.target.queueAgeSeconds} s)`),
        ...missing.map((r) => `${r.queue} NOT FOUND`),
    ];
    const summary = `${plural(rows.length, "queue")}, ${plural(waiting, "message")} waiting${problems.length > 0 ? `: ${problems.join("; ")}` : ""}`;
    return result("queues", problems.length > 0 ? "attention" : "ok", summary, rows);
}

async function dlqs(ctx: Ctx): Promise<HealthCheck> {
    const depths = await ctx.lib.dlq.queueDepths(ctx, ctx.target.dlq.dlqs, ctx.now);
    const rows = depths.map((d, i) => ({ label: ctx.target.dlq.dlqs[i].spec.label, ...d, oldestAgeSeconds: d.oldestAgeSeconds ?? null }))
        .filter((r) => r.exists || !ctx.target.dlq.guessed);
    const full = rows.filter((r) => r.messages > 0);
    const missing = rows.filter((r) => !r.exists);
    const problems = [
        ...full.map((r) => `${r.label} ${r.messages} (oldest ${ctx.lib.dlq.age(r.oldestAgeSeconds ?? undefined)})`),
        ...missing.map((r) => `${r.queue} NOT FOUND`),
    ];
    const summary = problems.length > 0 ? `${problems.join("; ")}: ses-mail dlq peek <label> ${ctx.target.selector}` : `${plural(rows.length, "DLQ")}, all empty`;
    return result("dlqs", problems.length > 0 ? "attention" : "ok", summary, rows);
}

async function tokens(ctx: Ctx): Promise<HealthCheck> {
    const settings = ctx.target.tokens;
    if (settings.gmailAccounts.length === 0) return result("tokens", "skipped", ctx.target.config ? "no Gmail accounts (ingest.gmailAccounts)" : "accounts unknown: give --account <gmail>", []);
    // The token monitor's warning level (ingest.tokenWarningHours, 24 h by default) counts as attention here too.
    const warningSeconds = (ctx.target.config?.ingest.tokenWarningHours ?? 24) * 3600;
    const rows = [];
    for (const account of settings.gmailAccounts) {
        const status = await ctx.lib.tokens.readTokenStatus(settings, account, ctx.ssm, ctx.now);
        const { healthy } = ctx.lib.tokens.describeStatus(status, settings);
        const soon = typeof status.secondsUntilExpiry === "number" && status.secondsUntilExpiry >= 0 && status.secondsUntilExpiry < warningSeconds;
        rows.push({
            account, healthy: healthy && !soon, stored: status.stored, secondsUntilExpiry: status.secondsUntilExpiry ?? null, expiresAt: status.expiresAt ?? null,
            lastProbe: status.lastProbe ?? null,
            state: !status.stored ? "no token stored" : !healthy ? (status.lastProbe?.result === "invalid" ? "refused by Google" : status.secondsUntilExpiry === undefined ? "expiry unknown" : "EXPIRED")
                : soon ? `expires in ${Math.floor(status.secondsUntilExpiry! / 3600)} h` : status.secondsUntilExpiry === null ? "no expiry" : `expires in ${Math.floor(status.secondsUntilExpiry! / 86400)} d`,
        });
    }
    const bad = rows.filter((r) => !r.healthy);
    const line = rows.map((r) => `${r.account} ${r.state}${r.lastProbe ? `, probe ${r.lastProbe.result} at ${r.lastProbe.at}` : ", no probe yet"}`).join("; ");
    return result("tokens", bad.length > 0 ? "attention" : "ok", bad.length > 0 ? `${line}: ses-mail token refresh ${ctx.target.selector} --account <gmail>` : line, rows);
}

async function sending(ctx: Ctx): Promise<HealthCheck> {
    const set = ctx.target.sending.configurationSetName;
    const enabled = await awsCall("ses:GetConfigurationSet", set, () => new ctx.lib.control.SendingSwitch(ctx.sesv2, set).enabled());
    if (enabled) return result("sending", "ok", `${set} enabled`, { configurationSet: set, sending: "enabled", lastChange: null });
    const log = new ctx.lib.control.SendingLog({ tableName: ctx.target.sending.sendersTableName, configurationSetName: set, client: ctx.dynamo });
    const [last] = await db(ctx.target.sending.sendersTableName, () => log.history(1));
    const why = last?.action === "pause" ? `paused by ${last.actor}${last.source === "brake" ? " (emergency brake)" : ""} at ${last.at}: ${last.reason}` : "paused outside ses-mail (no record says who or why)";
    return result("sending", "attention", `${set} PAUSED, ${why}`, { configurationSet: set, sending: "paused", lastChange: last ?? null });
}

async function quota(ctx: Ctx): Promise<HealthCheck> {
    const account = await awsCall("ses:GetAccount", "the SES account", () => ctx.sesv2.send(new ctx.lib.sesv2.GetAccountCommand({})));
    const q = account.SendQuota ?? {};
    const thresholds = ctx.target.sending.thresholds;
    const u = ctx.lib.quota.quotaUtilisation({ max24HourSend: q.Max24HourSend ?? 0, sentLast24Hours: q.SentLast24Hours ?? 0, maxSendRate: q.MaxSendRate ?? 0 }, thresholds);
    // SES itself may have paused the whole account (reputation): nothing sends then.
    const accountPaused = account.SendingEnabled === false;
    const level = u.unlimited ? "unlimited" : `${u.utilisationPercent.toFixed(2)}% (${u.sentLast24Hours} of ${u.max24HourSend})`;
    const summary = `${level}, ${u.level.toUpperCase()} (warning at ${thresholds.warningPercent}%)${accountPaused ? "; SES has DISABLED sending for the whole account" : ""}${account.ProductionAccessEnabled === false ? "; account in the SES sandbox" : ""}`;
    return result("quota", u.level !== "ok" || accountPaused ? "attention" : "ok", u.level !== "ok" ? `${summary}: ses-mail quota` : summary, { ...u, accountSendingEnabled: !accountPaused, productionAccess: account.ProductionAccessEnabled ?? null });
}

async function suppressions(ctx: Ctx): Promise<HealthCheck> {
    const now = Math.floor(ctx.now.getTime() / 1000);
    const client = new ctx.lib.store.SuppressionClient({ tableName: ctx.target.suppression.tableName, client: ctx.dynamo, now: () => now });
    // reason-index Queries (reason = :r AND added_at >= :since), as `suppression stats` reads them.
    const counts = Object.fromEntries(await Promise.all(ctx.lib.store.SUPPRESSION_REASONS.map(async (reason) =>
        [reason, (await db(ctx.target.suppression.tableName, () => client.list(reason, now - DAY))).filter((e) => e.addedAt <= now).length] as const)));
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const limit = ctx.lib.ops.SUPPRESSIONS_PER_DAY_INVESTIGATE;
    const line = `${total} added in 24 h (${Object.entries(counts).map(([r, n]) => `${r} ${n}`).join(", ")}; investigate above ${limit})`;
    return result("suppressions", total > limit ? "attention" : "ok", total > limit ? `${line}: ses-mail suppression stats --days 1 ${ctx.target.selector}` : line, { last24Hours: total, byReason: counts, threshold: limit });
}

/** SES v1: one active receipt rule set per account and region; the stack's rule must be in it and enabled. */
async function receiptRules(ctx: Ctx): Promise<HealthCheck> {
    const receiving = ctx.target.receiving;
    if (!receiving) return result("receipt-rules", "skipped", "this stack receives no mail (no ingest.domains)");
    const { Metadata, Rules } = await awsCall("ses:DescribeActiveReceiptRuleSet", "the active receipt rule set", () => ctx.ses.send(new ctx.lib.ses.DescribeActiveReceiptRuleSetCommand({})));
    const active = Metadata?.Name;
    const rule = (Rules ?? []).find((r) => r.Name === receiving.ruleName);
    const details = { activeRuleSet: active ?? null, expectedRuleSet: receiving.ruleSetName ?? null, rule: receiving.ruleName, rulePresent: rule !== undefined, ruleEnabled: rule?.Enabled ?? null };
    // With --env it is unknown whether the stack receives mail: an absent rule is then only reported.
    const known = ctx.target.config !== undefined;
    if (!active) return result("receipt-rules", known ? "attention" : "skipped", "no receipt rule set is active: SES receives no mail in this region", details);
    if (receiving.ruleSetName && receiving.ruleSetName !== active) return result("receipt-rules", "attention", `active set is ${active}, not ${receiving.ruleSetName}: this stack's rule receives nothing`, details);
    if (!rule) return result("receipt-rules", known ? "attention" : "skipped", `${active} active, but without rule ${receiving.ruleName}${known ? "" : " (does this stack receive mail?)"}`, details);
    if (rule.Enabled === false) return result("receipt-rules", "attention", `${active} active, rule ${receiving.ruleName} DISABLED`, details);
    return result("receipt-rules", "ok", `${active} active, rule ${receiving.ruleName} enabled`, details);
}

/** SESv2 GetEmailIdentity: verified for sending, DKIM status, MAIL FROM status (API Reference, "GetEmailIdentity"). */
async function identities(ctx: Ctx): Promise<HealthCheck> {
    if (ctx.target.identities.length === 0) return result("identities", "skipped", ctx.target.config ? "no domains (feedback.domains, ingest.domains)" : "domains unknown with --env: give --stack", []);
    const rows = [];
    for (const domain of ctx.target.identities) {
        try {
            const identity = await awsCall("ses:GetEmailIdentity", domain, () => ctx.sesv2.send(new ctx.lib.sesv2.GetEmailIdentityCommand({ EmailIdentity: domain })));
            const verified = identity.VerifiedForSendingStatus === true;
            const dkim = identity.DkimAttributes?.Status ?? "NOT_STARTED";
            const mailFrom = identity.MailFromAttributes?.MailFromDomainStatus ?? null;
            rows.push({ domain, exists: true, verified, verificationStatus: identity.VerificationStatus ?? null, dkim, mailFrom, ok: verified && dkim === "SUCCESS" && (mailFrom === null || mailFrom === "SUCCESS") });
        } catch (error) {
            if (!(error instanceof ctx.lib.sesv2.NotFoundException)) throw error;
            rows.push({ domain, exists: false, verified: false, verificationStatus: null, dkim: null, mailFrom: null, ok: false });
        }
    }
    const line = rows.map((r) => (r.exists ? `${r.domain} ${r.verified ? "verified" : "NOT VERIFIED"}, DKIM ${r.dkim}${r.mailFrom ? `, MAIL FROM ${r.mailFrom}` : ""}` : `${r.domain} NO IDENTITY`)).join("; ");
    const bad = rows.some((r) => !r.ok);
    return result("identities", bad ? "attention" : "ok", bad ? `${line}: ses-mail dns check ${ctx.target.selector}` : line, rows);
}

const CHECKS: Record<HealthCheckName, (ctx: Ctx) => Promise<HealthCheck>> = {
    alarms, queues, dlqs, tokens, sending, quota, suppressions, "receipt-rules": receiptRules, identities,
};

/** Every check, in parallel; a check that cannot run (denied, missing) needs attention and says why. */
export async function runHealthChecks(ctx: Ctx): Promise<HealthCheck[]> {
    return Promise.all(HEALTH_CHECKS.map(async (name) => {
        try {
            return await CHECKS[name](ctx);
        } catch (error) {
            return result(name, "attention", `could not check: ${(error as Error).message}`, { error: (error as Error).message });
        }
    }));
}

const MARK: Record<CheckStatus, string> = { ok: "OK  ", attention: "FAIL", skipped: "--  " };

export function healthCommand(root: Command, deps: CliDeps, out: { exitCode: number }): void {
    const print = (line: string) => deps.stdout(`${line}\n`);
    root.command("health")
        .description("The morning check: alarms in ALARM, queues and DLQs, Gmail tokens, sending paused, send quota, suppressions in 24 h, receipt rule set, identities (exit codes: 0 healthy, 1 something needs attention, 2 usage error)")
        .option("--stack <name>", "Pulumi stack: reads Pulumi.<stack>.yaml (parts, names, region, accounts, domains)")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)")
        .option("--env <env>", "environment: names from the components' naming; parts only the stack file describes (domains, accounts) are skipped")
        .option("--name-prefix <prefix>", "name prefix with --env (default: ses-mail)")
        // Accepted so that giving it says why it is not enough (the other commands take it).
        .addOption(new Option("--outputs <file>").hideHelp())
        .option("--account <gmail>", "Gmail account whose token to check (repeatable; default: the stack's accounts)", collect)
        .option("--region <region>", "AWS region (default: aws:region of the stack, else AWS_REGION)")
        .option("--json", "machine-readable output: { target, checkedAt, verdict, checks: [{ check, status, summary, details }] }", false)
        .addHelpText("after", "\nExample:\n  $ ses-mail health --stack prod\n  $ ses-mail health --env prod --account you@gmail.com --json | jq '.checks[] | select(.status == \"attention\")'\n")
        .exitOverride(usageExit)
        .action(async (options: OpsTargetOptions & { json: boolean }) => {
            const lib = await load();
            const target = lib.ops.opsTarget(options, deps.cwd);
            const region = target.region;
            const clients = {
                cloudwatch: new lib.cloudwatch.CloudWatchClient({ region }), sqs: new lib.sqs.SQSClient({ region }), sesv2: new lib.sesv2.SESv2Client({ region }),
                ses: new lib.ses.SESClient({ region }), ssm: new lib.ssm.SSMClient({ region }), dynamo: new lib.ddb.DynamoDBClient({ region }),
            };
            try {
                const now = deps.now();
                const checks = await runHealthChecks({ lib, target, ...clients, now });
                const attention = checks.filter((c) => c.status === "attention");
                if (options.json) {
                    print(JSON.stringify({ target: target.selector, checkedAt: now.toISOString(), verdict: attention.length > 0 ? "attention" : "healthy", checks }, null, 2));
                } else {
                    target.notes.forEach(print);
                    checks.forEach((c) => print(`${MARK[c.status]}  ${c.check.padEnd(14)} ${c.summary}`));
                    print(attention.length > 0 ? `Verdict: NEEDS ATTENTION (${attention.map((c) => c.check).join(", ")})` : "Verdict: healthy");
                }
                out.exitCode = attention.length > 0 ? 1 : 0;
            } finally {
                Object.values(clients).forEach((client) => client.destroy());
            }
        });
}
