// `ses-mail report weekly|monthly [--from … --to …]`: the runbooks' weekly and monthly report, from
// the stack's stored feedback events (type-day-index Queries through FeedbackEvents.byType, the
// worker's own code: never a Scan), the suppression table (reason-index), the senders table
// (state-index) and the feedback worker's CloudWatch metrics, compared with the period before.
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Command, InvalidArgumentError, Option } from "commander";
import type { FeedbackEventItem } from "../functions/shared/feedback-events";
import { awsCall } from "./aws";
import { UsageError, usageExit } from "./errors";
import type { CliDeps } from "./main";
import type { OpsTarget, OpsTargetOptions } from "./ops-target";

const load = async () => {
    const [cloudwatch, ddb, ops, events, store, reputation] = await Promise.all([
        import("@aws-sdk/client-cloudwatch"), import("@aws-sdk/client-dynamodb"), import("./ops-target"),
        import("../functions/shared/feedback-events"), import("../functions/shared/suppression-client"), import("../functions/shared/sender-reputation"),
    ]);
    return { cloudwatch, ddb, ops, events, store, reputation };
};
type Lib = Awaited<ReturnType<typeof load>>;

const DAY_MS = 86_400_000;
/** The stored event types a report reads (the configuration set publishes these: components/feedback-pipeline.ts). */
export const REPORT_EVENT_TYPES = ["Send", "Delivery", "Bounce", "Complaint", "Reject", "RenderingFailure", "DeliveryDelay"] as const;
/** The feedback worker's metrics (functions/feedback-worker/logic.ts) and the applications' send outcomes. */
const WORKER_METRICS = ["OutboundSend", "OutboundDelivery", "OutboundBounce", "OutboundBounceHard", "OutboundBounceSoft", "OutboundComplaint", "OutboundReject", "OutboundRenderingFailure"] as const;
const APPLICATION_METRICS = ["EmailsSent", "EmailsFailed"] as const;
const TOP_DOMAINS = 10;

export interface Period { from: string; to: string }

/** The figures of one period; rates in percent (3 decimals), null without sends. Field names are stable (`--json`). */
export interface PeriodFigures extends Period {
    sent: number;
    delivered: number;
    bounces: { counted: number; hard: number; soft: number; notCounted: number };
    bounceRate: number | null;
    hardBounceRate: number | null;
    softBounceRate: number | null;
    complaints: number;
    complaintRate: number | null;
    deliveryRate: number | null;
    failures: { rejected: number; renderingFailures: number; delayed: number; applicationFailed: number | null; total: number };
    suppressions: { bounce: number; complaint: number; manual: number; total: number };
    topBouncingDomains: { domain: string; count: number }[];
    /** Stored events of mail to the mailbox simulator (selftest runs), left out of every figure above. */
    simulatorEvents: number;
    /** Sums of the CloudWatch metrics over the period (null: no data). */
    metrics: Record<string, number | null>;
}

export interface SenderRow { sender: string; state: string; complaints: number | null; since: string | null; newInPeriod: boolean }

export interface Report {
    kind: "weekly" | "monthly";
    target: string;
    current: PeriodFigures;
    previous: PeriodFigures;
    senders: { flagged: SenderRow[]; restricted: SenderRow[] };
}

const rate = (n: number, of: number) => (of > 0 ? Math.round((100_000 * n) / of) / 1000 : null);
const domainOf = (email: string) => email.slice(email.lastIndexOf("@") + 1).toLowerCase();
const startOfDay = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

/**
 * Figures from stored event records (pure: the reference the tests compare with is a plain count).
 * Mail to SES's mailbox simulator (`ses-mail selftest`) is left out and counted apart: a daily
 * selftest's bounce and complaint would otherwise move a quiet stack's rates.
 */
export function eventFigures(all: FeedbackEventItem[], simulatorDomain: string): Pick<PeriodFigures, "sent" | "delivered" | "bounces" | "complaints" | "topBouncingDomains" | "simulatorEvents"> & { rejected: number; renderingFailures: number; delayed: number } {
    const simulator = (i: FeedbackEventItem) => typeof i.recipient === "string" && domainOf(i.recipient) === simulatorDomain;
    const items = all.filter((i) => !simulator(i));
    const count = (type: string, also: (i: FeedbackEventItem) => boolean = () => true) => items.filter((i) => i.event_type === type && also(i)).length;
    const counted = (i: FeedbackEventItem) => i.counted !== false;
    const bounces = items.filter((i) => i.event_type === "Bounce" && counted(i));
    const domains = new Map<string, number>();
    for (const b of bounces) if (typeof b.recipient === "string") domains.set(domainOf(b.recipient), (domains.get(domainOf(b.recipient)) ?? 0) + 1);
    return {
        sent: count("Send"),
        delivered: count("Delivery"),
        bounces: {
            counted: bounces.length,
            hard: bounces.filter((b) => b.bounce_type === "Permanent").length,
            soft: bounces.filter((b) => b.bounce_type === "Transient").length,
            notCounted: count("Bounce", (i) => !counted(i)),
        },
        complaints: count("Complaint", counted),
        rejected: count("Reject"),
        renderingFailures: count("RenderingFailure"),
        delayed: count("DeliveryDelay"),
        topBouncingDomains: [...domains].map(([domain, n]) => ({ domain, count: n })).sort((a, b) => b.count - a.count || a.domain.localeCompare(b.domain)).slice(0, TOP_DOMAINS),
        simulatorEvents: all.length - items.length,
    };
}

interface Ctx {
    lib: Lib;
    target: OpsTarget;
    dynamo: DynamoDBClient;
    cloudwatch: CloudWatchClient;
    progress(line: string): void;
}

/** Events of every type, one UTC day at a time (each day: every type's 16 shards and the unsharded partition), with progress. */
async function storedEvents(ctx: Ctx, from: number, to: number, label: string): Promise<FeedbackEventItem[]> {
    const events = new ctx.lib.events.FeedbackEvents({ tableName: ctx.target.eventsTableName, client: ctx.dynamo });
    const items: FeedbackEventItem[] = [];
    const days = Math.ceil((to - startOfDay(from)) / DAY_MS);
    let day = 0;
    for (let start = from; start < to; start = startOfDay(start) + DAY_MS) {
        const end = Math.min(to, startOfDay(start) + DAY_MS);
        day += 1;
        const ofDay = await Promise.all(REPORT_EVENT_TYPES.map((type) => awsCall("dynamodb:Query", `${ctx.target.eventsTableName} (type-day-index)`, () => events.byType(type, start, end))));
        items.push(...ofDay.flat());
        ctx.progress(`${label}: ${new Date(start).toISOString().slice(0, 10)} read (${day}/${days} days, ${items.length} events)`);
    }
    return items;
}

/** Sums of the worker's and the applications' metrics over [from, to): daily datapoints, paged with NextToken (CloudWatch API Reference, "GetMetricData"). */
async function metricSums(ctx: Ctx, from: number, to: number): Promise<Record<string, number | null>> {
    const queries = [
        ...WORKER_METRICS.map((name) => ({ name, namespace: ctx.target.namespace, dimensions: [{ Name: "service", Value: ctx.target.feedbackService }] })),
        ...APPLICATION_METRICS.map((name) => ({ name, namespace: ctx.target.applicationNamespace, dimensions: [] })),
    ];
    const sums: Record<string, number | null> = Object.fromEntries(queries.map((q) => [q.name, null]));
    let token: string | undefined;
    do {
        const page = await awsCall("cloudwatch:GetMetricData", ctx.target.namespace, () => ctx.cloudwatch.send(new ctx.lib.cloudwatch.GetMetricDataCommand({
            // A day per datapoint: for a StartTime more than 63 days ago the period must be a multiple of
            // 3600 or no datapoints return (CloudWatch API Reference, "MetricStat", Period); hourly data is kept 455 days.
            StartTime: new Date(from), EndTime: new Date(to), NextToken: token,
            MetricDataQueries: queries.map((q, i) => ({ Id: `m${i}`, ReturnData: true, MetricStat: { Metric: { Namespace: q.namespace, MetricName: q.name, Dimensions: q.dimensions }, Period: 86_400, Stat: "Sum" } })),
        })));
        for (const r of page.MetricDataResults ?? []) {
            const name = queries[Number(r.Id?.slice(1))]?.name;
            if (name && (r.Values ?? []).length > 0) sums[name] = (sums[name] ?? 0) + (r.Values ?? []).reduce((a, b) => a + b, 0);
        }
        token = page.NextToken;
    } while (token);
    return sums;
}

/** What a period's suppressions added, by reason. */
export type SuppressionsAdded = Record<"bounce" | "complaint" | "manual", number>;

/**
 * A period's figures from what was read for it (pure): its stored events (those of [from, to) only),
 * the suppressions added in it by reason and the CloudWatch sums.
 */
export function periodFiguresOf(period: { from: number; to: number }, items: FeedbackEventItem[], simulatorDomain: string, added: SuppressionsAdded, metrics: Record<string, number | null>): PeriodFigures {
    const e = eventFigures(items, simulatorDomain);
    const applicationFailed = metrics.EmailsFailed ?? null;
    return {
        from: new Date(period.from).toISOString(), to: new Date(period.to).toISOString(),
        sent: e.sent, delivered: e.delivered, bounces: e.bounces,
        bounceRate: rate(e.bounces.counted, e.sent), hardBounceRate: rate(e.bounces.hard, e.sent), softBounceRate: rate(e.bounces.soft, e.sent),
        complaints: e.complaints, complaintRate: rate(e.complaints, e.sent), deliveryRate: rate(e.delivered, e.sent),
        failures: { rejected: e.rejected, renderingFailures: e.renderingFailures, delayed: e.delayed, applicationFailed, total: e.rejected + e.renderingFailures + (applicationFailed ?? 0) },
        suppressions: { ...added, total: added.bounce + added.complaint + added.manual },
        topBouncingDomains: e.topBouncingDomains,
        simulatorEvents: e.simulatorEvents,
        metrics,
    };
}

async function periodFigures(ctx: Ctx, from: number, to: number, label: string): Promise<PeriodFigures> {
    const items = await storedEvents(ctx, from, to, label);
    const suppression = new ctx.lib.store.SuppressionClient({ tableName: ctx.target.suppression.tableName, client: ctx.dynamo });
    const added = Object.fromEntries(await Promise.all(ctx.lib.store.SUPPRESSION_REASONS.map(async (reason) => {
        const entries = await awsCall("dynamodb:Query", `${ctx.target.suppression.tableName} (reason-index)`, () => suppression.list(reason, Math.floor(from / 1000)));
        return [reason, entries.filter((entry) => entry.addedAt * 1000 < to).length] as const;
    }))) as SuppressionsAdded;
    return periodFiguresOf({ from, to }, items, ctx.lib.ops.SIMULATOR_DOMAIN, added, await metricSums(ctx, from, to));
}

/** The period of a kind ending at the last full UTC day (weekly: 7 days; monthly: the last full calendar month), or as given. */
export function reportPeriod(kind: "weekly" | "monthly", now: Date, from?: number, to?: number): { from: number; to: number } {
    const length = (end: number) => (kind === "weekly" ? 7 * DAY_MS : end - Date.UTC(new Date(end).getUTCFullYear(), new Date(end).getUTCMonth() - 1, 1));
    if (from !== undefined && to !== undefined) return { from, to };
    if (from !== undefined) {
        const end = kind === "weekly" ? from + 7 * DAY_MS : Date.UTC(new Date(from).getUTCFullYear(), new Date(from).getUTCMonth() + 1, new Date(from).getUTCDate());
        return { from, to: end };
    }
    const end = to ?? (kind === "weekly" ? startOfDay(now.getTime()) : Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    return { from: end - length(end), to: end };
}

async function senderRows(ctx: Ctx, from: number, to: number): Promise<Report["senders"]> {
    const reputation = new ctx.lib.reputation.SenderReputation({ tableName: ctx.target.senders.sendersTableName, client: ctx.dynamo });
    const rows = async (state: "flagged" | "restricted") => (await awsCall("dynamodb:Query", `${ctx.target.senders.sendersTableName} (state-index)`, () => reputation.listByState(state)))
        .map((s): SenderRow => {
            const since = s.lastTransition?.at ?? null;
            const at = since ? Date.parse(since) : NaN;
            return { sender: s.sender, state, complaints: s.complaints ?? null, since, newInPeriod: at >= from && at < to };
        })
        .sort((a, b) => a.sender.localeCompare(b.sender));
    return { flagged: await rows("flagged"), restricted: await rows("restricted") };
}

/** The period before: the same calendar months for a monthly report over whole months, else the same length. */
export function previousPeriod(kind: "weekly" | "monthly", period: { from: number; to: number }): { from: number; to: number } {
    const f = new Date(period.from);
    const t = new Date(period.to);
    const monthStart = (d: Date) => d.getTime() === Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    if (kind === "monthly" && monthStart(f) && monthStart(t)) {
        const months = (t.getUTCFullYear() - f.getUTCFullYear()) * 12 + t.getUTCMonth() - f.getUTCMonth();
        return { from: Date.UTC(f.getUTCFullYear(), f.getUTCMonth() - months, 1), to: period.from };
    }
    return { from: period.from - (period.to - period.from), to: period.from };
}

export async function buildReport(ctx: Ctx, kind: "weekly" | "monthly", period: { from: number; to: number }): Promise<Report> {
    const before = previousPeriod(kind, period);
    const current = await periodFigures(ctx, period.from, period.to, "this period");
    const previous = await periodFigures(ctx, before.from, before.to, "previous period");
    return { kind, target: ctx.target.selector, current, previous, senders: await senderRows(ctx, period.from, period.to) };
}

// ---- output ----

const day = (iso: string) => iso.slice(0, 10);
/** The last day of a period whose end is exclusive. */
const lastDay = (iso: string) => new Date(Date.parse(iso) - 1).toISOString().slice(0, 10);
const span = (p: Period) => `${day(p.from)} .. ${lastDay(p.to)}`;
const pct = (v: number | null) => (v === null ? "n/a" : `${v.toFixed(v < 1 ? 3 : 2)}%`);

function change(now: number | null, before: number | null, percentPoints: boolean): string {
    if (now === null || before === null) return "";
    if (percentPoints) return `${now - before >= 0 ? "+" : ""}${(now - before).toFixed(3)} pp`;
    if (before === 0) return now === 0 ? "=" : "new";
    const d = (100 * (now - before)) / before;
    return `${d >= 0 ? "+" : ""}${d.toFixed(1)}%`;
}

/** Rows of (figure, this period, previous period, change). */
export function reportRows(r: Report): string[][] {
    const c = r.current;
    const p = r.previous;
    const n = (label: string, a: number | null, b: number | null) => [label, a === null ? "n/a" : String(a), b === null ? "n/a" : String(b), change(a, b, false)];
    const rt = (label: string, a: number | null, b: number | null) => [label, pct(a), pct(b), change(a, b, true)];
    return [
        n("Emails sent", c.sent, p.sent),
        n("Delivered", c.delivered, p.delivered),
        rt("Delivery rate", c.deliveryRate, p.deliveryRate),
        n("Bounces", c.bounces.counted, p.bounces.counted),
        rt("Bounce rate", c.bounceRate, p.bounceRate),
        rt("  hard (Permanent)", c.hardBounceRate, p.hardBounceRate),
        rt("  soft (Transient)", c.softBounceRate, p.softBounceRate),
        n("Complaints", c.complaints, p.complaints),
        rt("Complaint rate", c.complaintRate, p.complaintRate),
        n("Failures", c.failures.total, p.failures.total),
        n("  rejected by SES", c.failures.rejected, p.failures.rejected),
        n("  rendering failures", c.failures.renderingFailures, p.failures.renderingFailures),
        n("  application-reported", c.failures.applicationFailed, p.failures.applicationFailed),
        n("Delivery delays", c.failures.delayed, p.failures.delayed),
        n("Suppressions added", c.suppressions.total, p.suppressions.total),
        n("  bounce", c.suppressions.bounce, p.suppressions.bounce),
        n("  complaint", c.suppressions.complaint, p.suppressions.complaint),
        n("  manual", c.suppressions.manual, p.suppressions.manual),
        ...Object.keys(c.metrics).map((m) => n(`CloudWatch ${m}`, c.metrics[m], p.metrics[m])),
    ];
}

function senderLine(s: SenderRow): string {
    return `${s.sender} (${s.complaints ?? "?"} complaints${s.since ? `, since ${s.since}` : ""}${s.newInPeriod ? ", NEW this period" : ""})`;
}

export function renderText(r: Report): string[] {
    const header = ["", "THIS PERIOD", "PREVIOUS", "CHANGE"];
    const rows = [header, ...reportRows(r)];
    const widths = header.map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    return [
        `${r.kind === "weekly" ? "Weekly" : "Monthly"} report (${r.target}): ${span(r.current)} (UTC), compared with ${span(r.previous)}`,
        "",
        ...rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ").trimEnd()),
        "",
        `Top bouncing domains: ${r.current.topBouncingDomains.map((d) => `${d.domain} ${d.count}`).join(", ") || "none"}`,
        `Restricted senders: ${r.senders.restricted.map(senderLine).join("; ") || "none"}`,
        `Flagged senders: ${r.senders.flagged.map(senderLine).join("; ") || "none"}`,
        `(Counts are per recipient, from the stored feedback events, without the ${r.current.simulatorEvents} events of selftest mail to the mailbox simulator; CloudWatch rows are the feedback worker's and the applications' metrics, selftests included. Suppressions removed since are not counted.)`,
    ];
}

export function renderMarkdown(r: Report): string[] {
    const esc = (s: string) => s.replace(/\|/g, "\\|");
    return [
        `### ${r.kind === "weekly" ? "Weekly" : "Monthly"} email report: ${span(r.current)} (UTC)`,
        "",
        `Compared with ${span(r.previous)}. Stack: \`${r.target}\`.`,
        "",
        "| Figure | This period | Previous | Change |",
        "|---|---:|---:|---:|",
        ...reportRows(r).map((row) => `| ${row.map((cell) => esc(cell.trim())).join(" | ")} |`),
        "",
        `**Top bouncing domains:** ${r.current.topBouncingDomains.map((d) => `${esc(d.domain)} (${d.count})`).join(", ") || "none"}`,
        "",
        `**Restricted senders:** ${r.senders.restricted.map((s) => esc(senderLine(s))).join("; ") || "none"}`,
        "",
        `**Flagged senders:** ${r.senders.flagged.map((s) => esc(senderLine(s))).join("; ") || "none"}`,
    ];
}

// ---- command ----

/** A UTC date (2026-11-01) or an ISO 8601 time. */
const instant = (value: string) => {
    const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || !Number.isFinite(ms)) throw new InvalidArgumentError("a date (2026-11-01, UTC) or an ISO 8601 time.");
    return ms;
};

export function reportCommand(root: Command, deps: CliDeps, out: { exitCode: number }): void {
    const print = (line: string) => deps.stdout(`${line}\n`);
    root.command("report")
        .argument("<kind>", "weekly (the last 7 full UTC days) or monthly (the last full calendar month)")
        .description("The runbooks' report: sent, delivered, bounce rate (hard/soft), complaint rate, failures, suppressions by reason, top bouncing domains, flagged and restricted senders, against the period before (exit codes: 0 done, 2 usage error)")
        .option("--stack <name>", "Pulumi stack: reads Pulumi.<stack>.yaml")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)")
        .option("--env <env>", "environment: names from the components' naming")
        .option("--name-prefix <prefix>", "name prefix with --env (default: ses-mail)")
        // Accepted so that giving it says why it is not enough (the other commands take it).
        .addOption(new Option("--outputs <file>").hideHelp())
        .option("--region <region>", "AWS region (default: aws:region of the stack, else AWS_REGION)")
        .option("--from <date>", "start (inclusive): a UTC date or ISO time", instant)
        .option("--to <date>", "end (exclusive): a UTC date or ISO time", instant)
        .option("--json", "machine-readable output: { kind, target, current, previous, senders }", false)
        .option("--markdown", "a Markdown table, to paste into a ticket", false)
        .addHelpText("after", "\nExamples:\n  $ ses-mail report weekly --stack prod\n  $ ses-mail report monthly --stack prod --from 2026-10-01 --to 2026-11-01 --markdown > report.md\n")
        .exitOverride(usageExit)
        .action(async (kind: string, options: OpsTargetOptions & { from?: number; to?: number; json: boolean; markdown: boolean }) => {
            if (kind !== "weekly" && kind !== "monthly") throw new UsageError(`report takes weekly or monthly, not "${kind}".`);
            if (options.json && options.markdown) throw new UsageError("Give --json or --markdown, not both.");
            const period = reportPeriod(kind, deps.now(), options.from, options.to);
            if (period.to <= period.from) throw new UsageError("--to must be after --from.");
            if (period.to > deps.now().getTime() + DAY_MS) throw new UsageError("The period ends in the future: give an earlier --to.");
            const lib = await load();
            const target = lib.ops.opsTarget(options, deps.cwd);
            const dynamo = new lib.ddb.DynamoDBClient({ region: target.region });
            const cloudwatch = new lib.cloudwatch.CloudWatchClient({ region: target.region });
            try {
                const report = await buildReport({ lib, target, dynamo, cloudwatch, progress: (line) => deps.stderr(`${line}\n`) }, kind, period);
                if (options.json) print(JSON.stringify(report, null, 2));
                else {
                    if (!options.markdown) target.notes.forEach(print);
                    (options.markdown ? renderMarkdown(report) : renderText(report)).forEach(print);
                }
                out.exitCode = 0;
            } finally {
                dynamo.destroy();
                cloudwatch.destroy();
            }
        });
}
