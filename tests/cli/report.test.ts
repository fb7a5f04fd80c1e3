// `ses-mail report` end to end: generated feedback events stored as the worker stores them (its key
// and type-day-index shard scheme), suppressions and sender states in dynalite, CloudWatch through
// aws-sdk-client-mock. The report's figures must equal a plain count over what was generated, for the
// period and the period before, and nothing outside either may leak in.
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { previousPeriod, Report, REPORT_EVENT_TYPES, reportPeriod } from "../../cli/report";
import type { FeedbackRecord } from "../../functions/feedback-worker/logic";
import { FeedbackEvents, typeDayPartition } from "../../functions/shared/feedback-events";
import { SenderReputation } from "../../functions/shared/sender-reputation";
import { SuppressionClient } from "../../functions/shared/suppression-client";
import { OpsFixture, opsFixture, runCli } from "./ops-fixture";

const NOW = new Date("2026-12-03T07:00:00.000Z");
const DAY = 86_400_000;
const at = (iso: string) => Date.parse(iso);
/** weekly at NOW: [11-26, 12-03), previous [11-19, 11-26). */
const CURRENT = { from: at("2026-11-26T00:00:00Z"), to: at("2026-12-03T00:00:00Z") };
const PREVIOUS = { from: at("2026-11-19T00:00:00Z"), to: at("2026-11-26T00:00:00Z") };

type Stored = Pick<FeedbackRecord, "pk" | "sk" | "event_type" | "message_id" | "recipient" | "event_at" | "type_day" | "counted" | "bounce_type">;

interface Generated { type: (typeof REPORT_EVENT_TYPES)[number]; at: number; domain: string; bounceType: "Permanent" | "Transient" | "Undetermined" }

/** A record as planFeedback builds it (functions/feedback-worker/logic.ts): key, type-day shard, counted. */
function record(e: Generated, i: number): Stored {
    const recipient = `r${i}@${e.domain}`;
    const variant = e.type === "Bounce" ? e.bounceType : undefined;
    const key = { pk: `${e.type}#msg-${i}`, sk: [recipient, variant].filter((p) => p !== undefined).join("#") };
    return {
        ...key, event_type: e.type, message_id: `msg-${i}`, recipient, event_at: e.at, type_day: typeDayPartition(e.type, e.at, key),
        // Undetermined bounces are recorded, not counted (isCounted in the worker).
        counted: !(e.type === "Bounce" && e.bounceType === "Undetermined"),
        ...(e.type === "Bounce" ? { bounce_type: e.bounceType } : {}),
    };
}

/** The reference: plain counts over the generated events of [from, to). */
function expected(events: Generated[], period: { from: number; to: number }) {
    const all = events.filter((e) => e.at >= period.from && e.at < period.to);
    const within = all.filter((e) => e.domain !== "simulator.amazonses.com");
    const n = (type: string, also: (e: Generated) => boolean = () => true) => within.filter((e) => e.type === type && also(e)).length;
    const sent = n("Send");
    const counted = n("Bounce", (e) => e.bounceType !== "Undetermined");
    const rate = (x: number) => (sent > 0 ? Math.round((100_000 * x) / sent) / 1000 : null);
    const domains = new Map<string, number>();
    within.filter((e) => e.type === "Bounce" && e.bounceType !== "Undetermined").forEach((e) => domains.set(e.domain, (domains.get(e.domain) ?? 0) + 1));
    return {
        sent, delivered: n("Delivery"),
        bounces: { counted, hard: n("Bounce", (e) => e.bounceType === "Permanent"), soft: n("Bounce", (e) => e.bounceType === "Transient"), notCounted: n("Bounce", (e) => e.bounceType === "Undetermined") },
        bounceRate: rate(counted), complaints: n("Complaint"), complaintRate: rate(n("Complaint")),
        rejected: n("Reject"), renderingFailures: n("RenderingFailure"), delayed: n("DeliveryDelay"),
        topBouncingDomains: [...domains].map(([domain, count]) => ({ domain, count })).sort((a, b) => b.count - a.count || a.domain.localeCompare(b.domain)).slice(0, 10),
        simulatorEvents: all.length - within.length,
    };
}

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

    it("the periods: weekly = the last 7 full UTC days, monthly = the last full month; the period before", () => {
        expect(reportPeriod("weekly", NOW)).to.deep.equal(CURRENT);
        expect(previousPeriod("weekly", CURRENT)).to.deep.equal(PREVIOUS);
        const month = reportPeriod("monthly", NOW);
        expect(month).to.deep.equal({ from: at("2026-11-01T00:00:00Z"), to: at("2026-12-01T00:00:00Z") });
        expect(previousPeriod("monthly", month)).to.deep.equal({ from: at("2026-10-01T00:00:00Z"), to: at("2026-11-01T00:00:00Z") });
        expect(reportPeriod("monthly", NOW, at("2026-02-01T00:00:00Z"))).to.deep.equal({ from: at("2026-02-01T00:00:00Z"), to: at("2026-03-01T00:00:00Z") });
    });

    it("figures equal a reference count over generated stored events, this period and the one before", async () => {
        const event = fc.record({
            type: fc.constantFrom(...REPORT_EVENT_TYPES),
            // From before the previous period to now (after the period's end): both edges are generated.
            at: fc.oneof(fc.integer({ min: PREVIOUS.from - 2 * DAY, max: NOW.getTime() - 1 }), fc.constantFrom(PREVIOUS.from - 1, PREVIOUS.from, CURRENT.from - 1, CURRENT.from, CURRENT.to - 1, CURRENT.to)),
            // The mailbox simulator's (selftest runs) are left out of the figures and counted apart.
            domain: fc.constantFrom("gmail.com", "example.org", "corp.example.com", "simulator.amazonses.com"),
            bounceType: fc.constantFrom("Permanent", "Transient", "Undetermined") as fc.Arbitrary<Generated["bounceType"]>,
        });
        await fc.assert(fc.asyncProperty(fc.array(event, { maxLength: 40 }), async (events) => {
            await fx.clear();
            const store = new FeedbackEvents({ tableName: fx.target.eventsTableName, client: fx.local.client });
            for (const [i, e] of events.entries()) expect(await store.record(record(e, i))).to.equal("new");
            const { code, stdout, stderr } = await runCli(["report", "weekly", "--stack", "test", "--json"], () => NOW);
            expect(code, stderr).to.equal(0);
            const report = JSON.parse(stdout) as Report;
            for (const [figures, period] of [[report.current, CURRENT], [report.previous, PREVIOUS]] as const) {
                const want = expected(events, period);
                expect({ from: figures.from, to: figures.to }).to.deep.equal({ from: new Date(period.from).toISOString(), to: new Date(period.to).toISOString() });
                expect({
                    sent: figures.sent, delivered: figures.delivered, bounces: figures.bounces, bounceRate: figures.bounceRate, complaints: figures.complaints, complaintRate: figures.complaintRate,
                    rejected: figures.failures.rejected, renderingFailures: figures.failures.renderingFailures, delayed: figures.failures.delayed, topBouncingDomains: figures.topBouncingDomains,
                    simulatorEvents: figures.simulatorEvents,
                }).to.deep.equal(want);
            }
            // Progress on stderr: one line per day read, 7 days per period.
            expect(stderr.split("\n").filter((l) => / read \(\d+\/7 days/.test(l))).to.have.length(14);
        }), { numRuns: 6 });
    });

    it("suppressions by reason, flagged and restricted senders, CloudWatch sums; table and --markdown", async () => {
        const s = (ms: number) => Math.floor(ms / 1000);
        const store = new SuppressionClient({ tableName: fx.target.suppression.tableName, client: fx.local.client, now: () => s(NOW.getTime()) });
        const adds: [string, "bounce" | "complaint" | "manual", number][] = [
            ["a@x.com", "bounce", CURRENT.from], ["b@x.com", "bounce", CURRENT.to - 1000], ["c@x.com", "complaint", CURRENT.from + DAY], ["d@x.com", "manual", CURRENT.from + 2 * DAY],
            ["e@x.com", "bounce", PREVIOUS.from + DAY], ["f@x.com", "bounce", CURRENT.to + 1000], ["g@x.com", "bounce", PREVIOUS.from - 1000],
        ];
        for (const [email, reason, when] of adds) await store.suppress({ email, reason }, { addedAt: s(when) });
        const senders = new SenderReputation({ tableName: fx.target.sending.sendersTableName, client: fx.local.client, now: () => CURRENT.from + DAY });
        await senders.raise("news@mail-test.example.com", "flagged", 3);
        await new SenderReputation({ tableName: fx.target.sending.sendersTableName, client: fx.local.client, now: () => PREVIOUS.from }).raise("bulk@mail-test.example.com", "restricted", 5);

        const json = await runCli(["report", "weekly", "--stack", "test", "--json"], () => NOW);
        const report = JSON.parse(json.stdout) as Report;
        expect(report.current.suppressions).to.deep.equal({ bounce: 2, complaint: 1, manual: 1, total: 4 });
        expect(report.previous.suppressions).to.deep.equal({ bounce: 1, complaint: 0, manual: 0, total: 1 });
        expect(report.senders.flagged.map((r) => [r.sender, r.complaints, r.newInPeriod])).to.deep.equal([["news@mail-test.example.com", 3, true]]);
        expect(report.senders.restricted.map((r) => [r.sender, r.complaints, r.newInPeriod])).to.deep.equal([["bulk@mail-test.example.com", 5, false]]);
        // Every metric summed over both pages; the worker's with its service dimension (as the rate alarms read them), the applications' without.
        expect(Object.values(report.current.metrics)).to.deep.equal(Array(10).fill(5));
        // Daily datapoints: a multiple of 3600 s, which CloudWatch requires for a StartTime over 63 days ago ("MetricStat", Period).
        expect(metricQueries.every((q) => q.start === CURRENT.from || q.start === PREVIOUS.from)).to.equal(true);
        expect(metricQueries.find((q) => q.name === "OutboundBounce")).to.deep.include({ namespace: "SESMail/test", dimensions: [{ Name: "service", Value: "feedback-worker" }], start: CURRENT.from, end: CURRENT.to });
        expect(metricQueries.find((q) => q.name === "EmailsFailed")).to.deep.include({ namespace: "SESMail/test/Application", dimensions: [] });
        expect(report.current.failures.applicationFailed).to.equal(5);

        const table = await runCli(["report", "weekly", "--stack", "test"], () => NOW);
        expect(table.code).to.equal(0);
        expect(table.stdout).to.contain("Weekly report (--stack test): 2026-11-26 .. 2026-12-02 (UTC), compared with 2026-11-19 .. 2026-11-25");
        expect(table.stdout).to.match(/\n {2}bounce +2 +1 +\+100\.0%\n/);
        expect(table.stdout).to.contain("Flagged senders: news@mail-test.example.com (3 complaints, since 2026-11-27T00:00:00.000Z, NEW this period)");
        const markdown = await runCli(["report", "weekly", "--stack", "test", "--markdown"], () => NOW);
        expect(markdown.stdout).to.contain("| Figure | This period | Previous | Change |\n|---|---:|---:|---:|\n| Emails sent | 0 | 0 | = |");
        expect(markdown.stdout).to.contain("| Bounce rate | n/a | n/a |  |");
    });

    it("usage errors exit 2; --help has an example", async () => {
        expect((await runCli(["report", "daily", "--stack", "test"], () => NOW)).code).to.equal(2);
        expect((await runCli(["report", "weekly", "--stack", "test", "--json", "--markdown"], () => NOW)).code).to.equal(2);
        expect((await runCli(["report", "weekly", "--stack", "test", "--from", "2026-12-01", "--to", "2026-11-01"], () => NOW)).code).to.equal(2);
        expect((await runCli(["report", "weekly", "--stack", "test", "--from", "yesterday"], () => NOW)).code).to.equal(2);
        expect((await runCli(["report", "--help"], () => NOW)).stdout).to.contain("Examples:\n  $ ses-mail report weekly --stack prod");
    });
});
