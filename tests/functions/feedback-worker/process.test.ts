import { DynamoDBClient, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { FeedbackPipeline } from "../../../components/feedback-pipeline";
import { SuppressionStore } from "../../../components/suppression-store";
import { DEFAULT_FEEDBACK_SETTINGS, FeedbackSettings, MetricPoint } from "../../../functions/feedback-worker/logic";
import { parseFeedbackMessage } from "../../../functions/feedback-worker/parse";
import { FeedbackPorts, processFeedback } from "../../../functions/feedback-worker/process";
import { FeedbackEvents } from "../../../functions/shared/feedback-events";
import { SenderReputation, SenderTransition } from "../../../functions/shared/sender-reputation";
import { SuppressionClient } from "../../../functions/shared/suppression-client";
import { DelayedIndexDynamo } from "../../support/delayed-index";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { runUnderMocks } from "../../support/mocks";
import { RoundTripCounter } from "../../support/round-trips";
import * as engagement from "../../support/ses-engagement";
import * as ses from "../../fixtures/ses-feedback";

const DAY = 86_400_000;
/** How long a write stays out of the indexes here: longer than any test runs, unless it moves the clock. */
const INDEX_LAG_MS = 60_000;
let environments = 0;

// Every test runs with indexes that lag the table (the DelayedIndexDynamo double, see its header),
// so nothing here depends on a GSI showing a write of the last moments: DynamoDB's never promise to.
describe("feedback processing against dynalite with lagging indexes (tables from FeedbackPipeline and SuppressionStore)", () => {
    let local: LocalDynamo;
    let lagging: DelayedIndexDynamo;
    let client: DynamoDBClient;
    let clock: number;
    let metrics: MetricPoint[];
    let announced: SenderTransition[];
    let ports: FeedbackPorts;
    let events: FeedbackEvents;
    let suppressions: SuppressionClient;
    let senders: SenderReputation;
    let tables: Record<"events" | "senders" | "suppression", string>;
    let settings: FeedbackSettings;

    before(async () => {
        local = await startDynalite();
        lagging = await DelayedIndexDynamo.start(local.endpoint, { delayMs: () => INDEX_LAG_MS, now: () => clock });
        client = new DynamoDBClient({ endpoint: lagging.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
    });
    after(async () => {
        client.destroy();
        await lagging.close();
        await local.close();
    });

    beforeEach(async () => {
        environments += 1;
        const env = `t${environments}`;
        const { plan } = await runUnderMocks(() => {
            const suppressionStore = new SuppressionStore("suppression", { env, tableName: `suppression-${env}` });
            return new FeedbackPipeline("feedback", { env, suppressionStore });
        });
        tables = {
            events: await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "feedback-events")),
            senders: await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "feedback-senders")),
            suppression: await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "suppression")),
        };
        clock = Date.parse("2017-08-05T01:00:00.000Z");
        metrics = [];
        announced = [];
        settings = { ...DEFAULT_FEEDBACK_SETTINGS };
        events = new FeedbackEvents({ tableName: tables.events, client });
        suppressions = new SuppressionClient({ tableName: tables.suppression, client, now: () => Math.floor(clock / 1000) });
        senders = new SenderReputation({ tableName: tables.senders, client, now: () => clock });
        ports = {
            events,
            suppressions,
            senders,
            announce: async (transition) => {
                announced.push(transition);
            },
            metrics: (points) => metrics.push(...points),
            now: () => clock,
        };
    });

    async function deliver(message: unknown) {
        const parsed = parseFeedbackMessage(JSON.stringify(ses.sns(message)));
        if (parsed.kind !== "event") throw new Error(parsed.reason);
        return processFeedback(parsed.event, settings, ports);
    }
    const count = (name: string) => metrics.filter((m) => m.name === name).reduce((sum, m) => sum + m.value, 0);
    const rows = async (table: string) => (await local.client.send(new ScanCommand({ TableName: table }))).Items ?? [];

    describe("bounces", () => {
        it("a permanent bounce suppresses every bounced recipient and stores one event each", async () => {
            const outcome = await deliver(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("a@example.com"), ses.hardRecipient("b@example.com")]));
            expect(outcome).to.deep.equal({ newRecords: 2, duplicateRecords: 0, attributedRecords: 0, suppressionsAdded: 2, senderTransition: undefined });
            for (const email of ["a@example.com", "b@example.com"]) {
                const [entry] = await suppressions.entries(email);
                expect(entry).to.deep.include({ reason: "bounce", bounceType: "Permanent", bounceSubType: "General", sourceMessageId: "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000" });
                expect(entry.details).to.include("550 5.1.1 user unknown");
                expect(entry.expiresAt).to.equal(undefined);
            }
            expect([count("OutboundBounce"), count("OutboundBounceHard"), count("SuppressionAdded")]).to.deep.equal([2, 2, 2]);
            expect(metrics.find((m) => m.name === "SuppressionAdded")?.dimensions).to.deep.equal({ reason: "bounce" });
        });

        it("the same notification delivered twice changes nothing the second time", async () => {
            const message = ses.bounce("event", "Permanent", "General", [ses.hardRecipient("a@example.com")]);
            await deliver(message);
            const before = { events: await rows(tables.events), suppression: await rows(tables.suppression), metrics: metrics.length };
            clock += 60_000;
            const second = await deliver(message);
            expect(second).to.deep.equal({ newRecords: 0, duplicateRecords: 1, attributedRecords: 0, suppressionsAdded: 0, senderTransition: undefined });
            expect(metrics).to.have.length(before.metrics);
            // Records unchanged; the counters only ever hold each (message, recipient) once.
            expect(await rows(tables.events)).to.deep.equal(before.events);
            expect((await rows(tables.suppression)).map((r) => r.added_at)).to.deep.equal(before.suppression.map((r) => r.added_at));
        });

        it("dedupes the same bounce arriving through event publishing and identity notifications", async () => {
            await deliver(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("a@example.com")]));
            const second = await deliver(ses.bounce("notification", "Permanent", "General", [ses.hardRecipient("a@example.com")]));
            expect(second.newRecords).to.equal(0);
            expect(count("OutboundBounce")).to.equal(1);
            expect(await rows(tables.events)).to.have.length(1);
        });

        it("transient bounces suppress only at the threshold within the window, with an expiry", async () => {
            const soft = (i: number, timestamp: string) => ses.bounce("event", "Transient", "MailboxFull", [ses.softRecipient("soft@example.com")], { messageId: `soft-${i}` }, timestamp);
            await deliver(soft(0, "2017-07-20T00:00:00.000Z")); // outside the 7-day window
            await deliver(soft(1, "2017-08-01T00:00:00.000Z"));
            await deliver(soft(2, "2017-08-03T00:00:00.000Z"));
            expect(await suppressions.isSuppressed("soft@example.com")).to.equal(false);
            const third = await deliver(soft(3, "2017-08-05T00:00:00.000Z"));
            expect(third.suppressionsAdded).to.equal(1);
            const [entry] = await suppressions.entries("soft@example.com");
            expect(entry).to.deep.include({ reason: "bounce", bounceType: "Transient", expiresAt: Math.floor(clock / 1000) + 7 * 86400 });
            expect(entry.details).to.match(/^3 transient bounces in 7 days/);
            expect([count("OutboundBounceSoft"), count("SuppressionAdded")]).to.deep.equal([4, 1]);
        });

        it("repeated transient bounces never weaken a permanent suppression", async () => {
            await deliver(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("p@example.com")], { messageId: "hard" }));
            for (let i = 0; i < 3; i++) {
                await deliver(ses.bounce("event", "Transient", "General", [ses.softRecipient("p@example.com")], { messageId: `soft-${i}` }, `2017-08-0${3 + i}T00:00:00.000Z`));
            }
            const [entry] = await suppressions.entries("p@example.com");
            expect(entry.bounceType).to.equal("Permanent");
            expect(entry).not.to.have.property("expiresAt");
        });

        it("undetermined and SES-suppressed bounces are recorded without suppressing", async () => {
            await deliver(ses.bounce("event", "Undetermined", "Undetermined", [{ emailAddress: "u@example.com" }], { messageId: "u" }));
            await deliver(ses.bounce("event", "Permanent", "OnAccountSuppressionList", [ses.hardRecipient("v@example.com")], { messageId: "v" }));
            expect(await rows(tables.events)).to.have.length(2);
            expect(await suppressions.isSuppressed("u@example.com")).to.equal(false);
            expect(await suppressions.isSuppressed("v@example.com")).to.equal(false);
            expect(metrics).to.deep.equal([]);
        });
    });

    describe("complaints and sender reputation", () => {
        const complain = (i: number, timestamp = "2017-08-05T00:41:02.669Z", extra: Parameters<typeof ses.complaint>[3] = {}) =>
            deliver(ses.complaint("event", [`r${i}@example.com`], { complaintFeedbackType: "abuse" }, { messageId: `c-${i}`, ...extra }, timestamp));

        it("suppresses the complainant, flags the sender at 3 and restricts at 5, auditing and announcing each change", async () => {
            await complain(1);
            await complain(2);
            expect((await senders.status("sender@example.com")).state).to.equal("ok");
            expect((await suppressions.entries("r1@example.com"))[0].reason).to.equal("complaint");
            const third = await complain(3);
            expect(third.senderTransition).to.deep.include({ sender: "sender@example.com", from: "ok", to: "flagged", complaints: 3, actor: "feedback-worker" });
            await complain(4);
            const fifth = await complain(5);
            expect(fifth.senderTransition).to.deep.include({ from: "flagged", to: "restricted", complaints: 5 });
            expect(announced.map((t) => t.to)).to.deep.equal(["flagged", "restricted"]);
            expect((await senders.audit("sender@example.com")).map((t) => [t.from, t.to])).to.deep.equal([["ok", "flagged"], ["flagged", "restricted"]]);
            expect([count("SenderFlagged"), count("SenderRestricted"), count("OutboundComplaint")]).to.deep.equal([1, 1, 5]);
            expect((await senders.status("sender@example.com")).notifiedState).to.equal("restricted");
        });

        it("counts only complaints within the 30-day window", async () => {
            await complain(1, "2017-06-01T00:00:00.000Z");
            await complain(2, "2017-06-02T00:00:00.000Z");
            await complain(3, "2017-08-04T00:00:00.000Z");
            expect((await senders.status("sender@example.com")).state).to.equal("ok");
        });

        it("not-spam feedback neither suppresses nor counts", async () => {
            for (let i = 0; i < 3; i++) {
                await deliver(ses.complaint("event", [`n${i}@example.com`], { complaintFeedbackType: "not-spam" }, { messageId: `n-${i}` }));
            }
            expect(await suppressions.isSuppressed("n0@example.com")).to.equal(false);
            expect((await senders.status("sender@example.com")).state).to.equal("ok");
        });

        it("counts against the configured message tag", async () => {
            settings = { ...settings, senderTag: "account" };
            for (let i = 0; i < 3; i++) {
                await complain(i, undefined, { tags: { account: ["acme"] } });
            }
            expect((await senders.status("acme")).state).to.equal("flagged");
            expect((await senders.status("sender@example.com")).state).to.equal("ok");
        });

        it("a duplicate complaint is not counted twice", async () => {
            await complain(1);
            await complain(2);
            await complain(2);
            await complain(2);
            expect((await senders.status("sender@example.com")).state).to.equal("ok");
        });

        it("an announcement that fails is retried with the redelivered message, and audited once", async () => {
            await complain(1);
            await complain(2);
            let failures = 1;
            ports.announce = async (transition) => {
                if (failures-- > 0) throw new Error("SNS unavailable");
                announced.push(transition);
            };
            let caught: unknown;
            try {
                await complain(3);
            } catch (error) {
                caught = error;
            }
            expect((caught as Error).message).to.equal("SNS unavailable");
            expect(announced).to.deep.equal([]);
            const retry = await complain(3);
            expect(retry.senderTransition?.to).to.equal("flagged");
            expect(announced.map((t) => t.to)).to.deep.equal(["flagged"]);
            expect(await senders.audit("sender@example.com")).to.have.length(1);
            await complain(3);
            expect(announced).to.have.length(1);
        });

        it("a worker that dies while announcing is replaced once its lease expires", async () => {
            await complain(1);
            await complain(2);
            const hung = ports.announce;
            let started = 0;
            ports.announce = () => {
                started += 1;
                return new Promise<void>(() => undefined); // never settles: the worker died here
            };
            void complain(3);
            while (started === 0) await new Promise((resolve) => setTimeout(resolve, 5));
            ports.announce = hung;
            await complain(3); // redelivered while the lease is held: no second announcement
            expect(announced).to.deep.equal([]);
            clock += 121_000;
            await complain(3); // redelivered after the lease expired
            expect(announced.map((t) => t.to)).to.deep.equal(["flagged"]);
            expect(await senders.audit("sender@example.com")).to.have.length(1);
        });

        it("a change whose announcer died is announced and audited before a newer change supersedes it", async () => {
            await complain(1);
            await complain(2);
            const alive = ports.announce;
            let started = 0;
            ports.announce = () => {
                started += 1;
                return new Promise<void>(() => undefined); // the worker dies while announcing "flagged"
            };
            void complain(3);
            while (started === 0) await new Promise((resolve) => setTimeout(resolve, 5));
            ports.announce = alive;
            await complain(4);
            const fifth = await complain(5); // within the dead worker's lease
            expect(fifth.senderTransition).to.deep.include({ from: "flagged", to: "restricted" });
            expect((await senders.audit("sender@example.com")).map((t) => [t.from, t.to])).to.deep.equal([["ok", "flagged"], ["flagged", "restricted"]]);
            expect(announced.map((t) => t.to)).to.deep.equal(["flagged", "restricted"]);
        });

        it("an operator lift returns the sender to ok, is audited, and earlier complaints stop counting", async () => {
            for (let i = 1; i <= 5; i++) await complain(i);
            clock += DAY;
            const lift = await senders.lift("sender@example.com", { operator: "alice@ops", reason: "customer cleaned their list" });
            expect(lift).to.deep.include({ from: "restricted", to: "ok", actor: "alice@ops", reason: "customer cleaned their list" });
            await senders.settle("sender@example.com", async (t) => void announced.push(t));
            expect((await senders.audit("sender@example.com")).map((t) => t.to)).to.deep.equal(["flagged", "restricted", "ok"]);
            expect(announced.map((t) => t.to)).to.deep.equal(["flagged", "restricted", "ok"]);
            await complain(6, "2017-08-06T02:00:00.000Z");
            expect((await senders.status("sender@example.com")).state).to.equal("ok");
        });

        it("refuses to lift a sender that is not restricted, and a lift without operator or reason", async () => {
            const failures: string[] = [];
            for (const action of [{ operator: "alice", reason: "fine now" }, { operator: "", reason: "x" }]) {
                try {
                    await senders.lift("nobody@example.com", action);
                } catch (error) {
                    failures.push((error as Error).message);
                }
            }
            expect(failures[0]).to.match(/not flagged or restricted/);
            expect(failures[1]).to.match(/operator is required.*reason is required/);
        });
    });

    describe("the sender of a complaint (senderTag set, both formats wired, as in the prod stack)", () => {
        const copy = (format: "event" | "notification", i: number) => ses.complaint(format, [`angry${i}@example.com`], { complaintFeedbackType: "abuse" },
            { messageId: `tagged-${i}`, from: "Promo <promo@example.com>", ...(format === "event" ? { tags: { account: ["acme"] } } : {}) });

        for (const order of [["notification", "event"], ["event", "notification"]] as const) {
            it(`charges the tagged account when the ${order[0] === "event" ? "event-publishing" : "identity"} copy arrives first`, async () => {
                settings = { ...settings, senderTag: "account" };
                const outcomes = [];
                for (let i = 1; i <= 3; i++) {
                    for (const format of order) outcomes.push(await deliver(copy(format, i)));
                }
                expect(outcomes.map((o) => [o.newRecords, o.attributedRecords, o.duplicateRecords])).to.deep.equal(
                    Array(3).fill(order[0] === "notification" ? [[1, 0, 0], [0, 1, 0]] : [[1, 0, 0], [0, 0, 1]]).flat());
                expect((await senders.status("acme")).state).to.equal("flagged");
                expect((await senders.status("promo@example.com")).state).to.equal("ok");
                const stored = await rows(tables.events);
                const complaints = stored.filter((r) => r.event_type?.S === "Complaint");
                expect(complaints.map((r) => [r.complaint_sender?.S, r.sender?.S, r.sender_pending, r.tags?.M?.account?.L?.[0]?.S])).to.deep.equal(Array(3).fill(["acme", "acme", undefined, "acme"]));
                // The record is the one first stored, completed with the sender.
                expect(complaints.map((r) => r.format?.S)).to.deep.equal(Array(3).fill(order[0] === "event" ? "event-publishing" : "identity-notification"));
                expect(announced.map((t) => [t.sender, t.to])).to.deep.equal([["acme", "flagged"]]);
                // One complaint each for metrics and suppressions, whichever copy brought it first.
                expect([count("OutboundComplaint"), count("SuppressionAdded"), count("SenderFlagged")]).to.deep.equal([3, 3, 1]);
            });
        }

        it("an identity copy alone suppresses and is recorded, but charges nobody", async () => {
            settings = { ...settings, senderTag: "account" };
            for (let i = 1; i <= 3; i++) await deliver(copy("notification", i));
            expect((await senders.status("promo@example.com")).state).to.equal("ok");
            expect(await suppressions.isSuppressed("angry1@example.com")).to.equal(true);
            const [record] = (await rows(tables.events)).filter((r) => r.event_type?.S === "Complaint");
            expect(record).to.deep.include({ sender_pending: { BOOL: true } });
            expect(record).not.to.have.property("complaint_sender");
        });
    });

    describe("thresholds on a consistent count (the indexes lag, see above)", () => {
        it("three complaints processed at once flag the sender exactly once", async () => {
            const outcomes = await Promise.all([1, 2, 3].map((i) => deliver(ses.complaint("event", [`c${i}@example.com`], { complaintFeedbackType: "abuse" }, { messageId: `at-once-${i}` }))));
            expect(outcomes.filter((o) => o.senderTransition).map((o) => o.senderTransition?.to)).to.deep.equal(["flagged"]);
            expect((await senders.status("sender@example.com")).state).to.equal("flagged");
            expect(announced).to.have.length(1);
        });

        it("a sender with exactly the threshold is flagged, one complaint per notification or all in one", async () => {
            await deliver(ses.complaint("event", ["x1@example.com", "x2@example.com", "x3@example.com"], { complaintFeedbackType: "abuse" }, { messageId: "three-in-one" }));
            expect((await senders.status("sender@example.com")).state).to.equal("flagged");
        });

        it("three transient bounces processed at once suppress the address", async () => {
            await Promise.all([1, 2, 3].map((i) => deliver(ses.bounce("event", "Transient", "MailboxFull", [ses.softRecipient("full@example.com")], { messageId: `soft-at-once-${i}` }))));
            expect((await suppressions.entries("full@example.com")).map((e) => e.bounceType)).to.deep.equal(["Transient"]);
        });

        it("a counter created after records already exist counts them too (records stored before counters existed)", async () => {
            // Two complaints stored by an earlier version (no counter), long propagated to the index.
            for (const i of [1, 2]) {
                await client.send(new PutItemCommand({ TableName: tables.events, Item: {
                    pk: { S: `Complaint#old-${i}` }, sk: { S: `o${i}@example.com` }, event_type: { S: "Complaint" }, message_id: { S: `old-${i}` },
                    recipient: { S: `o${i}@example.com` }, complaint_sender: { S: "sender@example.com" }, counted: { BOOL: true },
                    event_at: { N: String(clock - 2 * DAY) }, type_day: { S: "Complaint#2017-08-03" },
                } }));
            }
            clock += INDEX_LAG_MS;
            const third = await deliver(ses.complaint("event", ["new@example.com"], { complaintFeedbackType: "abuse" }, { messageId: "new-1" }, new Date(clock).toISOString()));
            expect(third.senderTransition).to.deep.include({ to: "flagged", complaints: 3 });
            // The same (message, recipient) again changes nothing, even with another time.
            clock += INDEX_LAG_MS;
            await deliver(ses.complaint("event", ["o1@example.com"], { complaintFeedbackType: "abuse" }, { messageId: "old-1" }, new Date(clock - 2 * DAY).toISOString()));
            await deliver(ses.complaint("event", ["new2@example.com"], { complaintFeedbackType: "abuse" }, { messageId: "new-2" }, new Date(clock).toISOString()));
            expect((await senders.status("sender@example.com")).state).to.equal("flagged");
        });
    });

    describe("records that match what SES said", () => {
        it("a Transient and then a Permanent bounce of one message and recipient are both kept and counted", async () => {
            await deliver(ses.bounce("event", "Transient", "General", [ses.softRecipient("both@example.com")], { messageId: "twice" }, "2017-08-05T00:10:00.000Z"));
            const hard = await deliver(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("both@example.com")], { messageId: "twice" }, "2017-08-05T00:50:00.000Z"));
            expect(hard.newRecords).to.equal(1);
            expect((await rows(tables.events)).filter((r) => r.event_type?.S === "Bounce").map((r) => r.bounce_type?.S).sort()).to.deep.equal(["Permanent", "Transient"]);
            expect([count("OutboundBounce"), count("OutboundBounceSoft"), count("OutboundBounceHard")]).to.deep.equal([2, 1, 1]);
            expect((await suppressions.entries("both@example.com")).map((e) => [e.bounceType, e.expiresAt])).to.deep.equal([["Permanent", undefined]]);
        });

        it("opens, clicks and subscription changes are recorded and counted per occurrence", async () => {
            await deliver(engagement.open({ messageId: "tracked", destination: ["reader@example.com"] }, "2017-08-05T00:20:00.000Z"));
            await deliver(engagement.open({ messageId: "tracked", destination: ["reader@example.com"] }, "2017-08-05T00:30:00.000Z"));
            await deliver(engagement.open({ messageId: "tracked", destination: ["reader@example.com"] }, "2017-08-05T00:30:00.000Z")); // redelivered
            await deliver(engagement.click({ messageId: "tracked", destination: ["reader@example.com"] }, "2017-08-05T00:31:00.000Z"));
            await deliver(engagement.click({ messageId: "tracked", destination: ["reader@example.com"] }, "2017-08-05T00:31:00.000Z", "https://example.com/pricing"));
            await deliver(engagement.subscription({ messageId: "tracked", destination: ["reader@example.com"] }, "2017-08-05T00:32:00.000Z"));
            expect([count("OutboundOpen"), count("OutboundClick"), count("OutboundSubscription")]).to.deep.equal([2, 2, 1]);
            clock += INDEX_LAG_MS;
            expect((await events.byRecipient("reader@example.com")).map((e) => e.event_type)).to.deep.equal(["Open", "Open", "Click", "Click", "Subscription"]);
            expect(await suppressions.isSuppressed("reader@example.com")).to.equal(false);
        });
    });

    describe("round trips (DynamoDB requests counted, not timed)", () => {
        it("a complaint takes one round trip, three when it changes the sender's state; a bounce one, two at the transient threshold", async () => {
            const counter = new RoundTripCounter(client);
            const complaint = (i: number) => counter.count(() => deliver(ses.complaint("event", [`rt${i}@example.com`], { complaintFeedbackType: "abuse" }, { messageId: `rt-${i}` })));
            await complaint(0); // creates the counter (and seeds it from the index: one more round trip, once)
            expect((await complaint(1)).sequential).to.equal(1);
            expect((await complaint(2)).sequential).to.equal(3); // raise (+ lease), then the audit record after the announcement
            expect((await complaint(3)).sequential).to.equal(1);
            const soft = (i: number) => counter.count(() => deliver(ses.bounce("event", "Transient", "General", [ses.softRecipient("rt@example.com")], { messageId: `rts-${i}` })));
            await soft(0);
            expect((await soft(1)).sequential).to.equal(1);
            expect((await soft(2)).sequential).to.equal(2); // the threshold: then the suppression
            expect((await counter.count(() => deliver(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("rth@example.com")], { messageId: "rth" })))).sequential).to.equal(1);
        });
    });

    describe("stored events", () => {
        it("are queryable by recipient and by type within a time window (GSIs)", async () => {
            await deliver(ses.send(["q@example.com", "z@example.com"], { messageId: "m1", timestamp: "2017-08-04T23:00:00.000Z" }));
            await deliver(ses.delivery("event", ["q@example.com"], { messageId: "m1" }));
            await deliver(ses.bounce("event", "Transient", "General", [ses.softRecipient("q@example.com")], { messageId: "m2" }, "2017-08-05T00:10:00.000Z"));
            // The indexes have not caught up yet (the double above); a moment later they have.
            expect(await events.byRecipient("q@example.com")).to.deep.equal([]);
            clock += INDEX_LAG_MS;
            const history = await events.byRecipient("q@example.com");
            expect(history.map((e) => e.event_type)).to.deep.equal(["Delivery", "Send", "Bounce"]);
            const sends = await events.byType("Send", Date.parse("2017-08-04T00:00:00.000Z"), Date.parse("2017-08-06T00:00:00.000Z"));
            // Both sends share one timestamp; DynamoDB does not order ties, so compare as a set.
            expect(sends.map((e) => e.recipient).sort()).to.deep.equal(["q@example.com", "z@example.com"]);
            expect(await events.byType("Send", Date.parse("2017-08-05T00:00:00.000Z"), Date.parse("2017-08-06T00:00:00.000Z"))).to.deep.equal([]);
        });

        it("every type publishes its metric once", async () => {
            await deliver(ses.send(["a@example.com"]));
            await deliver(ses.delivery("event", ["a@example.com"]));
            await deliver(ses.reject(["a@example.com"], { messageId: "r" }));
            await deliver(ses.deliveryDelay(["a@example.com"], { messageId: "d" }));
            await deliver(ses.renderingFailure(["a@example.com"], { messageId: "f" }));
            expect(metrics.map((m) => m.name).sort()).to.deep.equal(["OutboundDelivery", "OutboundDeliveryDelay", "OutboundReject", "OutboundRenderingFailure", "OutboundSend"]);
        });
    });
});
