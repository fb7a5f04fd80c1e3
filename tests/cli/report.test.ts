// `ses-mail report`: its pure parts (the period maths, the figures of a period, the table and Markdown
// renderers) as cheap properties over many generated inputs, then end to end: generated feedback
// events stored as the worker stores them (its key and type-day-index shard scheme, and the unsharded
// partition older records carry), suppressions and sender states in dynalite, CloudWatch through
// aws-sdk-client-mock. The report's figures must equal a plain count over what was generated, for the
// period and the period before, and nothing outside either may leak in.
//
// Each end-to-end run costs what a real report costs: every UTC day a period touches is 7 types × 17
// partitions = 119 Queries. So the runs are few, and chosen so that each still crosses the wiring: one
// default weekly report (7 + 7 days, every type at every edge), generated short periods at any time of
// day (whose day splits and edges land anywhere), and the table and Markdown modes over one day each.
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { PeriodFigures, periodFiguresOf, previousPeriod, renderMarkdown, renderText, Report, REPORT_EVENT_TYPES, reportPeriod, reportRows, SenderRow, SuppressionsAdded } from "../../cli/report";
import type { FeedbackRecord } from "../../functions/feedback-worker/logic";
import { FeedbackEvents, typeDayPartition } from "../../functions/shared/feedback-events";
import { SenderReputation } from "../../functions/shared/sender-reputation";
import { SuppressionClient } from "../../functions/shared/suppression-client";
import { OpsFixture, opsFixture, runCli } from "./ops-fixture";

const NOW = new Date("2026-12-03T07:00:00.000Z");
const DAY = 86_400_000;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const startOfDay = (ms: number) => Math.floor(ms / DAY) * DAY;
/** weekly at NOW: [11-26, 12-03), previous [11-19, 11-26). */
const CURRENT = { from: at("2026-11-26T00:00:00Z"), to: at("2026-12-03T00:00:00Z") };
const PREVIOUS = { from: at("2026-11-19T00:00:00Z"), to: at("2026-11-26T00:00:00Z") };
const SIMULATOR = "simulator.amazonses.com";
/** The metrics a report sums (`--json` field names): the feedback worker's, then the applications'. */
const METRICS = ["OutboundSend", "OutboundDelivery", "OutboundBounce", "OutboundBounceHard", "OutboundBounceSoft", "OutboundComplaint", "OutboundReject", "OutboundRenderingFailure", "EmailsSent", "EmailsFailed"];

type Period = { from: number; to: number };
type EventType = (typeof REPORT_EVENT_TYPES)[number];
type BounceType = "Permanent" | "Transient" | "Undetermined";
type Stored = Pick<FeedbackRecord, "pk" | "sk" | "event_type" | "message_id" | "recipient" | "event_at" | "type_day" | "counted" | "bounce_type">;

/** `legacy`: written before type-day-index was sharded, in the day's unsharded partition `<type>#<day>`. */
interface Generated { type: EventType; at: number; domain: string; bounceType: BounceType; legacy: boolean }

/** A record as planFeedback builds it (functions/feedback-worker/logic.ts): key, type-day shard, counted. */
function record(e: Generated, i: number): Stored {
    const recipient = `r${i}@${e.domain}`;
    const variant = e.type === "Bounce" ? e.bounceType : undefined;
    const key = { pk: `${e.type}#msg-${i}`, sk: [recipient, variant].filter((p) => p !== undefined).join("#") };
    return {
        ...key, event_type: e.type, message_id: `msg-${i}`, recipient, event_at: e.at,
        type_day: e.legacy ? `${e.type}#${iso(e.at).slice(0, 10)}` : typeDayPartition(e.type, e.at, key),
        // Undetermined bounces are recorded, not counted (isCounted in the worker).
        counted: !(e.type === "Bounce" && e.bounceType === "Undetermined"),
        ...(e.type === "Bounce" ? { bounce_type: e.bounceType } : {}),
    };
}

const NO_SUPPRESSIONS: SuppressionsAdded = { bounce: 0, complaint: 0, manual: 0 };
/** What the CloudWatch mock below returns: 2 + 3 for every metric, over two pages. */
const MOCKED_METRICS = Object.fromEntries(METRICS.map((m) => [m, 5]));

/** The reference: plain counts over the generated events of [from, to). */
function expected(events: Generated[], period: Period, added: SuppressionsAdded = NO_SUPPRESSIONS, metrics: Record<string, number | null> = MOCKED_METRICS): PeriodFigures {
    const all = events.filter((e) => e.at >= period.from && e.at < period.to);
    const within = all.filter((e) => e.domain.toLowerCase() !== SIMULATOR);
    const n = (type: string, also: (e: Generated) => boolean = () => true) => within.filter((e) => e.type === type && also(e)).length;
    const sent = n("Send");
    const counted = n("Bounce", (e) => e.bounceType !== "Undetermined");
    const hard = n("Bounce", (e) => e.bounceType === "Permanent");
    const soft = n("Bounce", (e) => e.bounceType === "Transient");
    const rate = (x: number) => (sent > 0 ? Math.round((100_000 * x) / sent) / 1000 : null);
    const domains = new Map<string, number>();
    within.filter((e) => e.type === "Bounce" && e.bounceType !== "Undetermined").forEach((e) => domains.set(e.domain.toLowerCase(), (domains.get(e.domain.toLowerCase()) ?? 0) + 1));
    const failed = metrics.EmailsFailed ?? null;
    return {
        from: iso(period.from), to: iso(period.to),
        sent, delivered: n("Delivery"),
        bounces: { counted, hard, soft, notCounted: n("Bounce", (e) => e.bounceType === "Undetermined") },
        bounceRate: rate(counted), hardBounceRate: rate(hard), softBounceRate: rate(soft),
        complaints: n("Complaint"), complaintRate: rate(n("Complaint")), deliveryRate: rate(n("Delivery")),
        failures: { rejected: n("Reject"), renderingFailures: n("RenderingFailure"), delayed: n("DeliveryDelay"), applicationFailed: failed, total: n("Reject") + n("RenderingFailure") + (failed ?? 0) },
        suppressions: { ...added, total: added.bounce + added.complaint + added.manual },
        topBouncingDomains: [...domains].map(([domain, count]) => ({ domain, count })).sort((a, b) => b.count - a.count || a.domain.localeCompare(b.domain)).slice(0, 10),
        simulatorEvents: all.length - within.length,
        metrics,
    };
}

/** The UTC days [from, to) touches: the report reads (and reports progress for) each. */
const daysTouched = (p: Period) => Math.ceil((p.to - startOfDay(p.from)) / DAY);
/** The period's edges and its midnights (where the report splits its reads), each with the instant before. */
const edgesOf = (p: Period) => [p.from - 1, p.from, p.to - 1, p.to, ...Array.from({ length: daysTouched(p) - 1 }, (_, d) => startOfDay(p.from) + (d + 1) * DAY).flatMap((m) => [m - 1, m])];

const eventType = fc.constantFrom(...REPORT_EVENT_TYPES);
const bounceType = fc.constantFrom<BounceType>("Permanent", "Transient", "Undetermined");
const suppressionsAdded: fc.Arbitrary<SuppressionsAdded> = fc.record({ bounce: fc.nat(50), complaint: fc.nat(50), manual: fc.nat(50) });
/** Sums of every metric (null: no data), as the report reads them for each period. */
const metricSums = fc.record(Object.fromEntries(METRICS.map((m) => [m, fc.option(fc.nat(100_000), { nil: null })])) as Record<string, fc.Arbitrary<number | null>>);
/** Any period from a millisecond to 40 days, anywhere in 2020–2030. */
const anyPeriod = fc.record({ from: fc.integer({ min: at("2020-01-01T00:00:00Z"), max: at("2030-01-01T00:00:00Z") }), length: fc.integer({ min: 1, max: 40 * DAY }) }).map(({ from, length }) => ({ from, to: from + length }));

/** Events around a period: at its edges and midnights, or anywhere from one period length before to one after. */
function eventsAround(period: Period, domains: string[], maxLength: number): fc.Arbitrary<Generated[]> {
    const length = period.to - period.from;
    return fc.array(fc.record({
        // Bounces more often than the rest: enough bouncing domains to reach the top-10 cap.
        type: fc.oneof({ arbitrary: eventType, weight: 3 }, { arbitrary: fc.constant<EventType>("Bounce"), weight: 2 }),
        at: fc.oneof(fc.integer({ min: period.from - length, max: period.to + length }), fc.constantFrom(...edgesOf(period))),
        domain: fc.constantFrom(...domains),
        bounceType,
        legacy: fc.boolean(),
    }), { maxLength });
}

const PURE_DOMAINS = [...Array.from({ length: 12 }, (_, i) => `d${i}.example`), "gmail.com", "GMail.com", SIMULATOR, "Simulator.AmazonSES.com"];

describe("ses-mail report: periods, figures and output (pure)", () => {
    it("the periods: weekly = the last 7 full UTC days, monthly = the last full month; the period before", () => {
        expect(reportPeriod("weekly", NOW)).to.deep.equal(CURRENT);
        expect(previousPeriod("weekly", CURRENT)).to.deep.equal(PREVIOUS);
        const month = reportPeriod("monthly", NOW);
        expect(month).to.deep.equal({ from: at("2026-11-01T00:00:00Z"), to: at("2026-12-01T00:00:00Z") });
        expect(previousPeriod("monthly", month)).to.deep.equal({ from: at("2026-10-01T00:00:00Z"), to: at("2026-11-01T00:00:00Z") });
        expect(reportPeriod("monthly", NOW, at("2026-02-01T00:00:00Z"))).to.deep.equal({ from: at("2026-02-01T00:00:00Z"), to: at("2026-03-01T00:00:00Z") });
        // January's period before is December's, across the year.
        expect(previousPeriod("monthly", reportPeriod("monthly", new Date("2027-02-10T12:00:00Z")))).to.deep.equal({ from: at("2026-12-01T00:00:00Z"), to: at("2027-01-01T00:00:00Z") });
    });

    it("the periods at any time: default, --from only, --to only, both; the period before always ends where the period starts", () => {
        fc.assert(fc.property(fc.integer({ min: at("2000-01-01T00:00:00Z"), max: at("2100-01-01T00:00:00Z") }), fc.integer({ min: at("2000-01-01T00:00:00Z"), max: at("2100-01-01T00:00:00Z") }), fc.integer({ min: 1, max: 400 * DAY }), fc.integer({ min: 1, max: 24 }), (nowMs, edge, length, months) => {
            const now = new Date(nowMs);
            const [y, m, d] = [now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()];
            const weekly = reportPeriod("weekly", now);
            expect(weekly).to.deep.equal({ from: Date.UTC(y, m, d) - 7 * DAY, to: Date.UTC(y, m, d) });
            expect(previousPeriod("weekly", weekly)).to.deep.equal({ from: weekly.from - 7 * DAY, to: weekly.from });
            const monthly = reportPeriod("monthly", now);
            expect(monthly).to.deep.equal({ from: Date.UTC(y, m - 1, 1), to: Date.UTC(y, m, 1) });
            expect(previousPeriod("monthly", monthly)).to.deep.equal({ from: Date.UTC(y, m - 2, 1), to: monthly.from });
            // --from only: a week, or to the same day of the next month; --to only: a week, or from the 1st of the month before.
            const e = new Date(edge);
            expect(reportPeriod("weekly", now, edge)).to.deep.equal({ from: edge, to: edge + 7 * DAY });
            expect(reportPeriod("monthly", now, edge)).to.deep.equal({ from: edge, to: Date.UTC(e.getUTCFullYear(), e.getUTCMonth() + 1, e.getUTCDate()) });
            expect(reportPeriod("weekly", now, undefined, edge)).to.deep.equal({ from: edge - 7 * DAY, to: edge });
            expect(reportPeriod("monthly", now, undefined, edge)).to.deep.equal({ from: Date.UTC(e.getUTCFullYear(), e.getUTCMonth() - 1, 1), to: edge });
            // Both: as given; the period before has the same length, or the same number of calendar months.
            expect(reportPeriod("weekly", now, edge, edge + length)).to.deep.equal({ from: edge, to: edge + length });
            const whole = { from: Date.UTC(e.getUTCFullYear(), e.getUTCMonth(), 1), to: Date.UTC(e.getUTCFullYear(), e.getUTCMonth() + months, 1) };
            expect(previousPeriod("monthly", whole)).to.deep.equal({ from: Date.UTC(e.getUTCFullYear(), e.getUTCMonth() - months, 1), to: whole.from });
            for (const kind of ["weekly", "monthly"] as const) {
                const unaligned = { from: Date.UTC(e.getUTCFullYear(), e.getUTCMonth(), 1) + 1 + (edge % DAY), to: Date.UTC(e.getUTCFullYear(), e.getUTCMonth(), 1) + 1 + (edge % DAY) + length };
                expect(previousPeriod(kind, unaligned)).to.deep.equal({ from: unaligned.from - length, to: unaligned.from });
            }
        }), { numRuns: 300 });
    });

    it("a period's figures equal a reference count over its generated stored events (simulator mail apart, Undetermined bounces not counted, rates, top-10 domains)", () => {
        const input = anyPeriod.chain((period) => fc.record({ period: fc.constant(period), events: eventsAround(period, PURE_DOMAINS, 120), added: suppressionsAdded, metrics: metricSums }));
        fc.assert(fc.property(input, ({ period, events, added, metrics }) => {
            // What the Queries return for [from, to): the stored records of its events, in any order.
            const items = events.map(record).filter((r) => r.event_at >= period.from && r.event_at < period.to).reverse();
            expect(periodFiguresOf(period, items, SIMULATOR, added, metrics)).to.deep.equal(expected(events, period, added, metrics));
        }), { numRuns: 300 });
    });

    it("the table and the Markdown show the same rows, aligned / escaped, with each figure, rate and change", () => {
        const figures = (period: Period) => fc.record({ events: eventsAround(period, [...PURE_DOMAINS.slice(0, 4), "pipe|domain.example"], 60), added: suppressionsAdded, metrics: metricSums })
            .map(({ events, added, metrics }) => periodFiguresOf(period, events.map(record).filter((r) => r.event_at >= period.from && r.event_at < period.to), SIMULATOR, added, metrics));
        const sender = (state: string): fc.Arbitrary<SenderRow> => fc.record({
            sender: fc.constantFrom("news@mail.example.com", "odd|name@mail.example.com", "bulk@mail.example.com"), state: fc.constant(state),
            complaints: fc.option(fc.nat(20), { nil: null }), since: fc.option(fc.constantFrom("2026-11-27T00:00:00.000Z", "2026-10-01T12:00:00.000Z"), { nil: null }), newInPeriod: fc.boolean(),
        });
        const report: fc.Arbitrary<Report> = fc.tuple(fc.constantFrom<"weekly" | "monthly">("weekly", "monthly"), anyPeriod).chain(([kind, period]) => fc.record({
            kind: fc.constant(kind), target: fc.constantFrom("--stack prod", "--env test"),
            current: figures(period), previous: figures(previousPeriod(kind, period)),
            senders: fc.record({ flagged: fc.array(sender("flagged"), { maxLength: 3 }), restricted: fc.array(sender("restricted"), { maxLength: 3 }) }),
        }));
        const lastDay = (to: string) => iso(Date.parse(to) - 1).slice(0, 10);
        const span = (p: PeriodFigures) => `${p.from.slice(0, 10)} .. ${lastDay(p.to)}`;
        const senderLine = (s: SenderRow) => `${s.sender} (${s.complaints ?? "?"} complaints${s.since ? `, since ${s.since}` : ""}${s.newInPeriod ? ", NEW this period" : ""})`;
        const count = (now: number | null, before: number | null) => {
            if (now === null || before === null) return "";
            if (before === 0) return now === 0 ? "=" : "new";
            return `${now >= before ? "+" : ""}${((100 * (now - before)) / before).toFixed(1)}%`;
        };
        const pct = (v: number | null) => (v === null ? "n/a" : `${v.toFixed(v < 1 ? 3 : 2)}%`);
        const pp = (now: number | null, before: number | null) => (now === null || before === null ? "" : `${now >= before ? "+" : ""}${(now - before).toFixed(3)} pp`);
        fc.assert(fc.property(report, (r) => {
            const c = r.current;
            const p = r.previous;
            const n = (label: string, f: (x: PeriodFigures) => number | null) => [label, f(c) === null ? "n/a" : String(f(c)), f(p) === null ? "n/a" : String(f(p)), count(f(c), f(p))];
            const rt = (label: string, f: (x: PeriodFigures) => number | null) => [label, pct(f(c)), pct(f(p)), pp(f(c), f(p))];
            const rows = [
                n("Emails sent", (x) => x.sent), n("Delivered", (x) => x.delivered), rt("Delivery rate", (x) => x.deliveryRate),
                n("Bounces", (x) => x.bounces.counted), rt("Bounce rate", (x) => x.bounceRate), rt("  hard (Permanent)", (x) => x.hardBounceRate), rt("  soft (Transient)", (x) => x.softBounceRate),
                n("Complaints", (x) => x.complaints), rt("Complaint rate", (x) => x.complaintRate),
                n("Failures", (x) => x.failures.total), n("  rejected by SES", (x) => x.failures.rejected), n("  rendering failures", (x) => x.failures.renderingFailures),
                n("  application-reported", (x) => x.failures.applicationFailed), n("Delivery delays", (x) => x.failures.delayed),
                n("Suppressions added", (x) => x.suppressions.total), n("  bounce", (x) => x.suppressions.bounce), n("  complaint", (x) => x.suppressions.complaint), n("  manual", (x) => x.suppressions.manual),
                ...Object.keys(c.metrics).map((m) => n(`CloudWatch ${m}`, (x) => x.metrics[m])),
            ];
            expect(reportRows(r)).to.deep.equal(rows);
            const title = r.kind === "weekly" ? "Weekly" : "Monthly";
            const domains = c.topBouncingDomains;

            // The table: every value column right-aligned under its heading, the figure names left-aligned.
            const text = renderText(r);
            expect(text[0]).to.equal(`${title} report (${r.target}): ${span(c)} (UTC), compared with ${span(p)}`);
            const [header, ...table] = text.slice(2, 3 + rows.length);
            const ends = [header.indexOf("THIS PERIOD") + "THIS PERIOD".length, header.indexOf("PREVIOUS") + "PREVIOUS".length, header.length];
            expect(header.trim().split(/ {2,}/)).to.deep.equal(["THIS PERIOD", "PREVIOUS", "CHANGE"]);
            table.forEach((line, i) => {
                expect(line.startsWith(rows[i][0]), line).to.equal(true);
                expect(line.slice(0, ends[0]).endsWith(` ${rows[i][1]}`), line).to.equal(true);
                expect(line.slice(0, ends[1]).endsWith(` ${rows[i][2]}`), line).to.equal(true);
                if (rows[i][3] === "") expect(line.length, line).to.be.at.most(ends[1]);
                else expect([line.length, line.endsWith(` ${rows[i][3]}`)], line).to.deep.equal([ends[2], true]);
            });
            expect(text.slice(3 + rows.length)).to.deep.equal([
                "",
                `Top bouncing domains: ${domains.map((d) => `${d.domain} ${d.count}`).join(", ") || "none"}`,
                `Restricted senders: ${r.senders.restricted.map(senderLine).join("; ") || "none"}`,
                `Flagged senders: ${r.senders.flagged.map(senderLine).join("; ") || "none"}`,
                `(Counts are per recipient, from the stored feedback events, without the ${c.simulatorEvents} events of selftest mail to the mailbox simulator; CloudWatch rows are the feedback worker's and the applications' metrics, selftests included. Suppressions removed since are not counted.)`,
            ]);

            // The Markdown: the same cells, four a row, with the pipes of names escaped.
            const markdown = renderMarkdown(r);
            const esc = (s: string) => s.replace(/\|/g, "\\|");
            expect(markdown.slice(0, 6)).to.deep.equal([`### ${title} email report: ${span(c)} (UTC)`, "", `Compared with ${span(p)}. Stack: \`${r.target}\`.`, "", "| Figure | This period | Previous | Change |", "|---|---:|---:|---:|"]);
            expect(markdown.slice(6, 6 + rows.length).map((line) => line.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim().replace(/\\\|/g, "|")))).to.deep.equal(rows.map((row) => row.map((cell) => cell.trim())));
            expect(markdown.slice(6 + rows.length)).to.deep.equal([
                "",
                `**Top bouncing domains:** ${domains.map((d) => `${esc(d.domain)} (${d.count})`).join(", ") || "none"}`,
                "",
                `**Restricted senders:** ${r.senders.restricted.map((s) => esc(senderLine(s))).join("; ") || "none"}`,
                "",
                `**Flagged senders:** ${r.senders.flagged.map((s) => esc(senderLine(s))).join("; ") || "none"}`,
            ]);
        }), { numRuns: 100 });
    });
});

describe("ses-mail report (end to end against dynalite and a CloudWatch mock)", function () {
    this.timeout(300_000);
    let fx: OpsFixture;
    let cloudwatch: AwsClientStub<CloudWatchClient>;
    const metricQueries: { namespace: string; name: string; dimensions: unknown; start: number; end: number }[] = [];

    before(async () => {
        fx = await opsFixture();
        cloudwatch = mockClient(CloudWatchClient);
    });
    after(async () => {
        cloudwatch.restore();
        await fx.close();
    });
    beforeEach(async () => {
        await fx.clear();
        cloudwatch.reset();
        metricQueries.length = 0;
        // Two daily datapoints per metric (2 + 3), returned over two pages: GetMetricData pages with NextToken
        // (CloudWatch API Reference, "GetMetricData"); the report must follow it.
        cloudwatch.on(GetMetricDataCommand).callsFake((input) => {
            const queries = input.MetricDataQueries as { Id: string; MetricStat: { Metric: { Namespace: string; MetricName: string; Dimensions: unknown } } }[];
            if (!input.NextToken) {
                queries.forEach((q) => metricQueries.push({ namespace: q.MetricStat.Metric.Namespace, name: q.MetricStat.Metric.MetricName, dimensions: q.MetricStat.Metric.Dimensions, start: input.StartTime.getTime(), end: input.EndTime.getTime() }));
                return { MetricDataResults: queries.map((q) => ({ Id: q.Id, Values: [2] })), NextToken: "more" };
            }
            return { MetricDataResults: queries.map((q) => ({ Id: q.Id, Values: [3] })) };
        });
    });

    const store = async (events: Generated[]) => {
        const events$ = new FeedbackEvents({ tableName: fx.target.eventsTableName, client: fx.local.client });
        for (const [i, e] of events.entries()) expect(await events$.record(record(e, i))).to.equal("new");
    };
    const progress = (stderr: string) => stderr.split("\n").filter((l) => / read \(\d+\/\d+ days, \d+ events\)$/.test(l));

    it("weekly by default: every type at every edge of both weeks, both shard schemes; suppressions by reason, flagged and restricted senders, CloudWatch sums", async () => {
        const domains = ["gmail.com", "example.org", "corp.example.com", SIMULATOR];
        const bounceTypes: BounceType[] = ["Permanent", "Transient", "Undetermined"];
        // Each report event type just before, at, just before the end of and at the end of each week
        // (the two weeks meet at CURRENT.from), and at both sides of every midnight in between.
        const edges = [PREVIOUS.from - 1, PREVIOUS.from, CURRENT.from - 1, CURRENT.from, CURRENT.to - 1, CURRENT.to];
        const midnights = Array.from({ length: 13 }, (_, d) => PREVIOUS.from + (d + 1) * DAY).filter((m) => m !== CURRENT.from).flatMap((m) => [m - 1, m]);
        const events: Generated[] = [
            ...REPORT_EVENT_TYPES.flatMap((type, t) => edges.map((when, w) => ({ type, at: when, domain: domains[(t + w) % domains.length], bounceType: bounceTypes[(t + w) % 3], legacy: (t + w) % 5 === 0 }))),
            ...midnights.map((when, k): Generated => ({ type: REPORT_EVENT_TYPES[k % REPORT_EVENT_TYPES.length], at: when, domain: domains[k % 3], bounceType: bounceTypes[k % 3], legacy: k % 4 === 0 })),
            // Sends enough for rates of every kind.
            ...Array.from({ length: 9 }, (_, k): Generated => ({ type: "Send", at: (k % 2 ? CURRENT : PREVIOUS).from + k * 3_600_000, domain: domains[k % 3], bounceType: "Permanent", legacy: k % 3 === 0 })),
        ];
        expect(events.filter((e) => e.legacy && e.at >= PREVIOUS.from && e.at < CURRENT.to).length, "records in the unsharded partitions").to.be.greaterThan(5);
        expect(events.filter((e) => e.type === "Bounce" && e.bounceType === "Undetermined" && e.at >= CURRENT.from && e.at < CURRENT.to).length, "an Undetermined bounce").to.be.greaterThan(0);
        await store(events);

        const s = (ms: number) => Math.floor(ms / 1000);
        const suppressions = new SuppressionClient({ tableName: fx.target.suppression.tableName, client: fx.local.client, now: () => s(NOW.getTime()) });
        const adds: [string, "bounce" | "complaint" | "manual", number][] = [
            ["a@x.com", "bounce", CURRENT.from], ["b@x.com", "bounce", CURRENT.to - 1000], ["c@x.com", "complaint", CURRENT.from + DAY], ["d@x.com", "manual", CURRENT.from + 2 * DAY],
            ["e@x.com", "bounce", PREVIOUS.from + DAY], ["f@x.com", "bounce", CURRENT.to + 1000], ["g@x.com", "bounce", PREVIOUS.from - 1000],
        ];
        for (const [email, reason, when] of adds) await suppressions.suppress({ email, reason }, { addedAt: s(when) });
        const senders = new SenderReputation({ tableName: fx.target.sending.sendersTableName, client: fx.local.client, now: () => CURRENT.from + DAY });
        await senders.raise("news@mail-test.example.com", "flagged", 3);
        await new SenderReputation({ tableName: fx.target.sending.sendersTableName, client: fx.local.client, now: () => PREVIOUS.from }).raise("bulk@mail-test.example.com", "restricted", 5);

        const { code, stdout, stderr } = await runCli(["report", "weekly", "--stack", "test", "--json"], () => NOW);
        expect(code, stderr).to.equal(0);
        const report = JSON.parse(stdout) as Report;
        expect(Object.keys(report)).to.deep.equal(["kind", "target", "current", "previous", "senders"]);
        expect([report.kind, report.target]).to.deep.equal(["weekly", "--stack test"]);
        expect(report.current).to.deep.equal(expected(events, CURRENT, { bounce: 2, complaint: 1, manual: 1 }));
        expect(report.previous).to.deep.equal(expected(events, PREVIOUS, { bounce: 1, complaint: 0, manual: 0 }));
        expect(report.current.simulatorEvents).to.be.greaterThan(0);
        expect(report.senders.flagged.map((r) => [r.sender, r.complaints, r.newInPeriod])).to.deep.equal([["news@mail-test.example.com", 3, true]]);
        expect(report.senders.restricted.map((r) => [r.sender, r.complaints, r.newInPeriod])).to.deep.equal([["bulk@mail-test.example.com", 5, false]]);
        // Every metric summed over both pages; the worker's with its service dimension (as the rate alarms read them), the applications' without.
        expect(Object.values(report.current.metrics)).to.deep.equal(Array(10).fill(5));
        // Daily datapoints: a multiple of 3600 s, which CloudWatch requires for a StartTime over 63 days ago ("MetricStat", Period).
        expect(metricQueries.every((q) => q.start === CURRENT.from || q.start === PREVIOUS.from)).to.equal(true);
        expect(metricQueries.find((q) => q.name === "OutboundBounce")).to.deep.include({ namespace: "SESMail/test", dimensions: [{ Name: "service", Value: "feedback-worker" }], start: CURRENT.from, end: CURRENT.to });
        expect(metricQueries.find((q) => q.name === "EmailsFailed")).to.deep.include({ namespace: "SESMail/test/Application", dimensions: [] });
        expect(report.current.failures.applicationFailed).to.equal(5);
        // Progress on stderr: one line per day read, 7 days per period.
        expect(progress(stderr).map((l) => l.replace(/ \(.*/, ""))).to.deep.equal([
            ...Array.from({ length: 7 }, (_, d) => `this period: ${iso(CURRENT.from + d * DAY).slice(0, 10)} read`),
            ...Array.from({ length: 7 }, (_, d) => `previous period: ${iso(PREVIOUS.from + d * DAY).slice(0, 10)} read`),
        ]);
    });

    it("figures equal a reference count over generated stored events, for generated periods (--from/--to at any time of day) and the one before", async () => {
        // Up to a day, so that each period touches one or two UTC days (a report's cost is its days).
        const period = fc.record({ from: fc.integer({ min: at("2026-11-20T00:00:00Z"), max: at("2026-12-02T00:00:00Z") }), length: fc.integer({ min: 1, max: DAY }) }).map(({ from, length }) => ({ from, to: from + length }));
        const input = period.chain((p) => {
            const both = { from: previousPeriod("weekly", p).from, to: p.to };
            // One event of a generated type at each edge and midnight of either period, and more anywhere around.
            return fc.record({ p: fc.constant(p), atEdges: fc.array(fc.tuple(eventType, bounceType, fc.boolean()), { minLength: edgesOf(both).length + 2, maxLength: edgesOf(both).length + 2 }), events: eventsAround(both, ["gmail.com", "example.org", "corp.example.com", SIMULATOR], 20) });
        });
        await fc.assert(fc.asyncProperty(input, async ({ p, atEdges, events: around }) => {
            await fx.clear();
            const before = previousPeriod("weekly", p);
            const edges = [...new Set([...edgesOf(before), ...edgesOf(p)])];
            const events = [...edges.map((when, k): Generated => ({ type: atEdges[k][0], at: when, domain: k % 4 === 3 ? SIMULATOR : "example.org", bounceType: atEdges[k][1], legacy: atEdges[k][2] })), ...around];
            await store(events);
            const { code, stdout, stderr } = await runCli(["report", "weekly", "--stack", "test", "--json", "--from", iso(p.from), "--to", iso(p.to)], () => NOW);
            expect(code, stderr).to.equal(0);
            const report = JSON.parse(stdout) as Report;
            expect(report.current).to.deep.equal(expected(events, p));
            expect(report.previous).to.deep.equal(expected(events, before));
            expect(progress(stderr)).to.have.length(daysTouched(p) + daysTouched(before));
        }), { numRuns: 2 });
    });

    it("the table and --markdown (one day each)", async () => {
        const day = { from: at("2026-12-02T00:00:00Z"), to: at("2026-12-03T00:00:00Z") };
        const s = (ms: number) => Math.floor(ms / 1000);
        const suppressions = new SuppressionClient({ tableName: fx.target.suppression.tableName, client: fx.local.client, now: () => s(NOW.getTime()) });
        for (const [email, when] of [["a@x.com", day.from], ["b@x.com", day.to - 1000], ["e@x.com", day.from - 1000]] as const) await suppressions.suppress({ email, reason: "bounce" }, { addedAt: s(when) });
        await new SenderReputation({ tableName: fx.target.sending.sendersTableName, client: fx.local.client, now: () => day.from + 3_600_000 }).raise("news@mail-test.example.com", "flagged", 3);
        const mail = (type: EventType, when: number, domain = "gmail.com"): Generated => ({ type, at: when, domain, bounceType: "Permanent", legacy: false });
        await store([mail("Send", day.from), mail("Send", day.from + 1), mail("Send", day.to - 1), mail("Send", day.to - 2), mail("Bounce", day.from + 5, "pipe|domain.example"), mail("Send", day.from - 1), mail("Send", day.from - DAY)]);

        const table = await runCli(["report", "weekly", "--stack", "test", "--from", "2026-12-02", "--to", "2026-12-03"], () => NOW);
        expect(table.code, table.stderr).to.equal(0);
        expect(table.stdout.startsWith(fx.target.notes.map((note) => `${note}\n`).join(""))).to.equal(true);
        expect(table.stdout).to.contain("Weekly report (--stack test): 2026-12-02 .. 2026-12-02 (UTC), compared with 2026-12-01 .. 2026-12-01");
        expect(table.stdout).to.match(/\nEmails sent +4 +2 +\+100\.0%\n/);
        expect(table.stdout).to.match(/\nBounce rate +25\.00% +0\.000% +\+25\.000 pp\n/);
        expect(table.stdout).to.match(/\n {2}bounce +2 +1 +\+100\.0%\n/);
        expect(table.stdout).to.contain("\nTop bouncing domains: pipe|domain.example 1\n");
        expect(table.stdout).to.contain("Flagged senders: news@mail-test.example.com (3 complaints, since 2026-12-02T01:00:00.000Z, NEW this period)");
        const markdown = await runCli(["report", "weekly", "--stack", "test", "--from", "2026-12-02", "--to", "2026-12-03", "--markdown"], () => NOW);
        expect(markdown.code, markdown.stderr).to.equal(0);
        expect(markdown.stdout.startsWith("### Weekly email report: 2026-12-02 .. 2026-12-02 (UTC)\n")).to.equal(true);
        expect(markdown.stdout).to.contain("| Figure | This period | Previous | Change |\n|---|---:|---:|---:|\n| Emails sent | 4 | 2 | +100.0% |\n| Delivered | 0 | 0 | = |");
        expect(markdown.stdout).to.contain("| Bounce rate | 25.00% | 0.000% | +25.000 pp |");
        expect(markdown.stdout).to.contain("**Top bouncing domains:** pipe\\|domain.example (1)");
    });

    it("usage errors exit 2; --help has an example", async () => {
        expect((await runCli(["report", "daily", "--stack", "test"], () => NOW)).code).to.equal(2);
        expect((await runCli(["report", "weekly", "--stack", "test", "--json", "--markdown"], () => NOW)).code).to.equal(2);
        expect((await runCli(["report", "weekly", "--stack", "test", "--from", "2026-12-01", "--to", "2026-11-01"], () => NOW)).code).to.equal(2);
        expect((await runCli(["report", "weekly", "--stack", "test", "--from", "yesterday"], () => NOW)).code).to.equal(2);
        expect((await runCli(["report", "weekly", "--stack", "test", "--to", "2026-12-06"], () => NOW)).code).to.equal(2);
        expect((await runCli(["report", "--help"], () => NOW)).stdout).to.contain("Examples:\n  $ ses-mail report weekly --stack prod");
    });
});
