// System test of the outbound side: the synthesized test stack's feedback worker (its deployed
// bundle), fed through the plan's topics, subscriptions, queue and event source mapping, writing to
// the plan's tables (tests/support/feedback-sim.ts), with the faults real AWS has: DynamoDB throttling,
// global secondary indexes that lag the table, SQS duplicates and invocations that die mid-batch.
//
// Traffic is generated (fast-check, seeded): mails of 1-50 recipients, each with some of every event
// type and subtype SES publishes, in both formats (event publishing; identity notifications for
// bounces, complaints and deliveries, sometimes without the event-publishing copy), duplicated and
// arriving in any order, some of them older than the counting windows. Half the runs count
// complaints per message tag (`senderTag`, as the prod stack does), half per From address.
//
// The invariant, over everything that went in:
// - each (type, message, recipient) is recorded once (a bounce's type is part of its type; opens,
//   clicks and subscription changes once per occurrence), and nothing else is;
// - the suppression table holds exactly what SES's notifications imply: a permanent entry per counted
//   hard bounce, an expiring one per address with 3 counted transient bounces within 7 days, a
//   complaint entry per counted complaint;
// - each sender's state is what a reference count of its counted complaints within 30 days calls
//   for (only the event-publishing copy names a tagged sender), its counter holds exactly those
//   complaints, every change is audited and announced;
// - metrics are emitted once per new record: never twice, and never missing except where the
//   invocation died while that notification's writes were under way (EMF is written by the process;
//   a dead one writes nothing);
// - nothing is refused as invalid.
//
// FEEDBACK_SIM_RUNS (default 4) scenarios of up to FEEDBACK_SIM_MAILS (default 16) mails;
// FEEDBACK_SIM_SEED repeats the traffic and the fault draws (concurrency may still order them
// differently); FEEDBACK_SIM_VERBOSE=1 prints a line per scenario.
import { DynamoDBClient, GetItemCommand, PutItemCommand, QueryCommand } from "@aws-sdk/client-dynamodb";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import fc from "fast-check";
import { DEFAULT_FEEDBACK_SETTINGS, stateForComplaints } from "../../functions/feedback-worker/logic";
import { digest, occurrenceOf } from "../../functions/shared/feedback-events";
import type { SenderTransition } from "../../functions/shared/sender-reputation";
import { DelayedIndexDynamo } from "../support/delayed-index";
import { createTableFrom, startDynalite } from "../support/dynalite";
import { FeedbackSimulation, LAGGING_INDEXES } from "../support/feedback-sim";
import { promiseOf } from "../support/mocks";
import { isAggregateLine } from "../support/output";
import { Rng } from "../support/sim/clock";
import { readSystemPlan, SystemPlan } from "../support/sim/plan";
import { cachedStack, loadStackConfig } from "../support/stack";
import * as engagement from "../support/ses-engagement";
import * as ses from "../fixtures/ses-feedback";

const RUNS = Number(process.env.FEEDBACK_SIM_RUNS ?? "4");
const MAILS = Number(process.env.FEEDBACK_SIM_MAILS ?? "16");
const SEED = Number(process.env.FEEDBACK_SIM_SEED ?? "20260415");
const START = Date.parse("2026-04-15T09:00:00.000Z");
const MINUTE = 60_000;
const DAY = 86_400_000;
const SETTINGS = DEFAULT_FEEDBACK_SETTINGS;
// Throttled requests wait out the SDK's own backoff (up to seconds), on the simulated clock (tests/support/sim/timers.ts).
const FAULTS = { duplicateRate: 0.05, crashRate: 0.15, dynamoThrottleRate: 0.02, indexDelayMs: LAGGING_INDEXES };

// ---------------------------------------------------------------------------------------------
// Traffic
// ---------------------------------------------------------------------------------------------

type Format = "event" | "notification";
const PERMANENT_SUBTYPES = ["General", "NoEmail", "Suppressed", "OnAccountSuppressionList"] as const;
const TRANSIENT_SUBTYPES = ["General", "MailboxFull", "MessageTooLarge", "ContentRejected", "AttachmentRejected"] as const;
const FEEDBACK_TYPES = ["abuse", "auth-failure", "fraud", "not-spam", "other", "virus"] as const;

type SimEvent =
    | { type: "Send" | "Reject" | "RenderingFailure" }
    | { type: "Delivery" | "DeliveryDelay"; recipients: string[]; offset: number }
    | { type: "Bounce"; bounceType: "Permanent" | "Transient" | "Undetermined"; subType: string; recipients: string[]; offset: number }
    | { type: "Complaint"; feedbackType?: string; onSuppressionList: boolean; recipients: string[]; offset: number }
    | { type: "Open" | "Click" | "Subscription"; offset: number; link: string };

/** One copy of an event as SES publishes it, delivered `deliveries` times from `arrivalMs` on. */
interface Copy { format: Format; deliveries: number; arrivalMs: number }
interface EventSpec { event: SimEvent; copies: Copy[] }

interface MailSpec {
    messageId: string;
    from: string;
    /** The `account` message tag, when the application set one. */
    account?: string;
    recipients: string[];
    /** When it was sent (epoch ms). */
    sentAt: number;
    events: EventSpec[];
}

interface Scenario {
    seed: number;
    /** Count complaints per `account` tag (prod) or per From address (test). */
    senderTag: boolean;
    mails: MailSpec[];
}

/** Real-world address shapes the worker accepts: plus addressing, dots, digits, hyphens, apostrophes, subdomains, case. */
const address = fc.tuple(
    fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), fc.constantFrom("", ".", "+", "-", "_", "'"), fc.stringMatching(/^[a-z0-9]{0,5}$/),
    fc.constantFrom("example.com", "Example.org", "mail.example.net", "xn--bcher-kva.example"),
).map(([a, sep, b, domain]) => `${a}${b ? sep + b : ""}@${domain}`.replace(/^(.)/, (c) => c.toUpperCase()));

const subset = (items: string[]) => fc.subarray(items, { minLength: 1 });

function copiesOf(type: SimEvent["type"]): fc.Arbitrary<Copy[]> {
    const copy = (format: Format): fc.Arbitrary<Copy> => fc.record({ format: fc.constant(format), deliveries: fc.constantFrom(1, 1, 1, 1, 2), arrivalMs: fc.integer({ min: 0, max: 10 * MINUTE }) });
    if (type !== "Bounce" && type !== "Complaint" && type !== "Delivery") return copy("event").map((c) => [c]);
    // Identity notifications for bounces, complaints and deliveries (the test stack wires them); the
    // event-publishing copy is missing when a mail was sent with another configuration set.
    return fc.tuple(fc.option(copy("event"), { freq: 12, nil: undefined }), fc.option(copy("notification"), { freq: 9, nil: undefined }))
        .map(([e, n]) => [e, n].filter((c): c is Copy => c !== undefined))
        .filter((copies) => copies.length > 0);
}

function eventsOf(recipients: string[]): fc.Arbitrary<EventSpec[]> {
    const offset = fc.integer({ min: 1, max: 120 }).map((m) => m * MINUTE);
    const bounce = fc.record({
        type: fc.constant("Bounce" as const),
        bounceType: fc.constantFrom("Permanent", "Transient", "Transient", "Undetermined") as fc.Arbitrary<"Permanent" | "Transient" | "Undetermined">,
        subType: fc.constant(""),
        recipients: subset(recipients),
        offset,
    }).chain((b) => (b.bounceType === "Undetermined" ? fc.constant("Undetermined") : fc.constantFrom<string>(...(b.bounceType === "Permanent" ? PERMANENT_SUBTYPES : TRANSIENT_SUBTYPES))).map((subType) => ({ ...b, subType })));
    const candidates: fc.Arbitrary<SimEvent>[] = [
        fc.constant({ type: "Send" as const }),
        fc.record({ type: fc.constantFrom("Delivery" as const, "DeliveryDelay" as const), recipients: subset(recipients), offset }),
        bounce,
        bounce,
        // With or without a feedback report (then no feedback type); now and then on the account's suppression list.
        fc.record({ type: fc.constant("Complaint" as const), feedbackType: fc.option(fc.constantFrom(...FEEDBACK_TYPES), { freq: 5, nil: undefined }), onSuppressionList: fc.constantFrom(false, false, false, false, true), recipients: subset(recipients), offset }),
        fc.constant({ type: "Reject" as const }),
        fc.constant({ type: "RenderingFailure" as const }),
        fc.record({ type: fc.constantFrom("Open" as const, "Click" as const, "Subscription" as const), offset, link: fc.constantFrom("https://example.com/a", "https://example.com/b?x=1&y=%20z") }),
    ];
    return fc.uniqueArray(fc.integer({ min: 0, max: candidates.length - 1 }), { minLength: 1, maxLength: 6 })
        .chain((picked) => fc.tuple(...picked.map((i) => candidates[i])))
        .chain((events) => fc.tuple(...events.map((event) => copiesOf(event.type).map((copies) => ({ event, copies })))));
}

function scenarioArbitrary(mails: number): fc.Arbitrary<Pick<Scenario, "mails">> {
    return fc.record({
        // A few addresses get much of the mail, so some reach the transient-bounce threshold.
        hot: fc.uniqueArray(address, { minLength: 4, maxLength: 6, selector: (a) => a.toLowerCase() }),
        cold: fc.uniqueArray(address, { minLength: 50, maxLength: 60, selector: (a) => a.toLowerCase() }),
        froms: fc.uniqueArray(address, { minLength: 2, maxLength: 4, selector: (a) => a.toLowerCase() }),
    }).filter(({ hot, cold, froms }) => new Set([...hot, ...cold, ...froms].map((a) => a.toLowerCase())).size === hot.length + cold.length + froms.length)
        .chain(({ hot, cold, froms }) => fc.array(fc.record({
            from: fc.constantFrom(...froms),
            account: fc.option(fc.constantFrom("acme", "globex", "initech"), { freq: 4, nil: undefined }),
            // 1-50 recipients, most mails few.
            recipients: fc.tuple(fc.subarray(hot), fc.oneof({ weight: 5, arbitrary: fc.subarray(cold, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.subarray(cold, { minLength: 20, maxLength: 44 }) }), fc.integer({ min: 0, max: cold.length - 1 }))
                .map(([h, c, i]) => (h.length + c.length > 0 ? [...h, ...c] : [cold[i]])),
            // Most mail is recent; some is older than both counting windows (7 and 30 days).
            ageMs: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 5 * DAY }) }, { weight: 1, arbitrary: fc.integer({ min: 40 * DAY, max: 60 * DAY }) }),
        }).chain((mail) => eventsOf(mail.recipients).map((events) => ({ ...mail, events }))), { minLength: Math.max(1, Math.floor(mails / 2)), maxLength: mails })
            .map((list) => ({
                mails: list.map((m, i): MailSpec => ({ messageId: `sim-${String(i).padStart(3, "0")}-${digest(JSON.stringify(m)).slice(0, 8)}`, from: m.from, account: m.account, recipients: m.recipients, sentAt: START - m.ageMs, events: m.events })),
            })));
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The notification SES publishes for one copy of one event (documented shapes: tests/fixtures/ses-feedback.ts, tests/support/ses-engagement.ts). */
function notification(mail: MailSpec, event: SimEvent, format: Format): Record<string, any> {
    const options = { messageId: mail.messageId, from: `Sender <${mail.from}>`, destination: mail.recipients, timestamp: iso(mail.sentAt), ...(mail.account ? { tags: { "ses:configuration-set": ["ses-mail-outbound-test"], account: [mail.account] } } : {}) };
    const at = "offset" in event ? iso(mail.sentAt + event.offset) : iso(mail.sentAt);
    switch (event.type) {
        case "Send": return ses.send(mail.recipients, options);
        case "Reject": return ses.reject(mail.recipients, options);
        case "RenderingFailure": return ses.renderingFailure(mail.recipients, options);
        case "Delivery": {
            const message = ses.delivery(format, event.recipients, options) as Record<string, any>;
            message.delivery.timestamp = at;
            return message;
        }
        case "DeliveryDelay": {
            const message = ses.deliveryDelay(event.recipients, options) as Record<string, any>;
            message.deliveryDelay.timestamp = at;
            return message;
        }
        case "Bounce": {
            const recipient = event.bounceType === "Permanent" ? ses.hardRecipient : event.bounceType === "Transient" ? ses.softRecipient : (emailAddress: string) => ({ emailAddress });
            return ses.bounce(format, event.bounceType, event.subType, event.recipients.map(recipient), options, at);
        }
        case "Complaint": {
            const message = ses.complaint(format, event.recipients, event.feedbackType ? { complaintFeedbackType: event.feedbackType } : undefined, options, at) as Record<string, any>;
            if (event.onSuppressionList) message.complaint.complaintSubType = "OnAccountSuppressionList";
            return message;
        }
        case "Open": return engagement.open(options, at);
        case "Click": return engagement.click(options, at, event.link);
        case "Subscription": return engagement.subscription(options, at);
    }
}

// ---------------------------------------------------------------------------------------------
// Reference: what SES's notifications imply (documented semantics, docs/SENDING.md "Feedback")
// ---------------------------------------------------------------------------------------------

const normal = (email: string) => email.trim().toLowerCase();
/** A record's identity, independent of how the worker keys it. */
const identity = (type: string, messageId: string, recipient: string | undefined, variant = "") => `${type}|${messageId}|${recipient ?? "-"}|${variant}`;

interface Expected {
    records: Set<string>;
    /** email → "Permanent" | "Transient" (bounce entry), and complaint entries. */
    bounceEntries: Map<string, "Permanent" | "Transient">;
    complaintEntries: Set<string>;
    /** sender → occurrence ids of its counted complaints within the window. */
    complaints: Map<string, Set<string>>;
    /** complaint records whose sender the worker must have recorded (the event copy came, or no tag is used). */
    complaintSenders: Map<string, string | undefined>;
}

function expectedOf(scenario: Scenario): Expected {
    const records = new Set<string>();
    const permanent = new Set<string>();
    const transient = new Map<string, Set<string>>();
    const complaintEntries = new Set<string>();
    const complaints = new Map<string, Set<string>>();
    const complaintSenders = new Map<string, string | undefined>();
    for (const mail of scenario.mails) {
        const recipients = mail.recipients.map(normal);
        for (const { event, copies } of mail.events) {
            const at = mail.sentAt + ("offset" in event ? event.offset : 0);
            const sole = recipients.length === 1 ? recipients[0] : undefined;
            switch (event.type) {
                case "Send": case "Reject": case "RenderingFailure":
                    recipients.forEach((r) => records.add(identity(event.type, mail.messageId, r)));
                    break;
                case "Delivery": case "DeliveryDelay":
                    event.recipients.map(normal).forEach((r) => records.add(identity(event.type, mail.messageId, r)));
                    break;
                case "Open": case "Subscription":
                    records.add(identity(event.type, mail.messageId, sole, iso(at)));
                    break;
                case "Click":
                    records.add(identity(event.type, mail.messageId, sole, `${iso(at)}#${event.link}`));
                    break;
                case "Bounce": {
                    const counted = event.bounceType !== "Undetermined" && event.subType !== "Suppressed" && event.subType !== "OnAccountSuppressionList";
                    for (const r of event.recipients.map(normal)) {
                        records.add(identity("Bounce", mail.messageId, r, event.bounceType));
                        if (counted && event.bounceType === "Permanent") permanent.add(r);
                        if (counted && event.bounceType === "Transient" && at >= START - SETTINGS.transientWindowDays * DAY) {
                            transient.set(r, (transient.get(r) ?? new Set()).add(mail.messageId));
                        }
                    }
                    break;
                }
                case "Complaint": {
                    const counted = event.feedbackType !== "not-spam" && !event.onSuppressionList;
                    // Only the event-publishing copy carries tags ("Examples of event data that Amazon SES publishes to Amazon SNS").
                    const hasEventCopy = copies.some((c) => c.format === "event");
                    const sender = !scenario.senderTag ? normal(mail.from) : hasEventCopy ? (mail.account ?? normal(mail.from)) : undefined;
                    for (const r of event.recipients.map(normal)) {
                        const key = identity("Complaint", mail.messageId, r);
                        records.add(key);
                        complaintSenders.set(key, counted ? sender : undefined);
                        if (!counted) continue;
                        complaintEntries.add(r);
                        if (sender !== undefined && at >= START - SETTINGS.complaintWindowDays * DAY) {
                            complaints.set(sender, (complaints.get(sender) ?? new Set()).add(occurrenceOf(mail.messageId, r, at).id));
                        }
                    }
                    break;
                }
            }
        }
    }
    const bounceEntries = new Map<string, "Permanent" | "Transient">();
    for (const [r, messages] of transient) if (messages.size >= SETTINGS.transientThreshold) bounceEntries.set(r, "Transient");
    for (const r of permanent) bounceEntries.set(r, "Permanent");
    return { records, bounceEntries, complaintEntries, complaints, complaintSenders };
}

/** The metrics a stored record stands for (docs/SENDING.md: one per recipient and type; hard and soft bounces). */
function metricsOf(record: Record<string, any>): string[] {
    if (!record.counted) return [];
    const names = [`Outbound${record.event_type}`];
    if (record.bounce_type === "Permanent") names.push("OutboundBounceHard");
    if (record.bounce_type === "Transient") names.push("OutboundBounceSoft");
    return names;
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

interface RunResult {
    violations: string[];
    figures: Record<string, number>;
}

type Call = FeedbackSimulation["calls"][number];
const recordKey = (c: Call) => (c.input.Item ?? c.input.Key) as { pk: string; sk: string };

/** The worker's record writes (a Put for an identity copy that cannot name the sender, else an Update), counters left out. */
function recordWritesOf(sim: FeedbackSimulation): Call[] {
    return sim.calls.filter((c) => (c.command === "PutCommand" || c.command === "UpdateCommand") && c.input.TableName === sim.tableName("feedback-events") && !String(recordKey(c)?.pk).startsWith("COUNTER#"));
}

async function resolved(value: unknown): Promise<any> {
    return pulumi.Output.isInstance(value) ? promiseOf(value as pulumi.Output<unknown>) : value;
}

describe("outbound system: SES feedback → records / suppressions / sender states / metrics (synthesized test stack, modelled AWS)", function () {
    this.timeout(600_000);
    let plan: SystemPlan;
    let topics: { event: string; notification: Record<string, string> };

    before(async () => {
        const run = await cachedStack("test", loadStackConfig("test"));
        plan = await readSystemPlan(run.plan);
        const arn = async (name: string) => resolved(run.plan.one("aws:sns/topic:Topic", name).state.arn);
        topics = {
            event: await arn("feedback-topic"),
            notification: { Bounce: await arn("feedback-bounce-topic"), Complaint: await arn("feedback-complaint-topic"), Delivery: await arn("feedback-delivery-topic") },
        };
    });

    async function runScenario(scenario: Scenario): Promise<RunResult> {
        const started = Date.now();
        const sim = await FeedbackSimulation.start(plan, { seed: scenario.seed, start: START, faults: FAULTS, workerEnvironment: scenario.senderTag ? { SENDER_TAG: "account" } : {} });
        try {
            let published = 0;
            for (const mail of scenario.mails) {
                for (const { event, copies } of mail.events) {
                    for (const copy of copies) {
                        const topic = copy.format === "event" ? topics.event : topics.notification[event.type];
                        const message = JSON.stringify(notification(mail, event, copy.format));
                        for (let i = 0; i < copy.deliveries; i++) {
                            published += 1;
                            sim.at(START + copy.arrivalMs + i * sim.rng.int(0, 5 * MINUTE), () => sim.publish(topic, message));
                        }
                    }
                }
            }
            await sim.runUntilQuiet();
            const violations = await check(sim, expectedOf(scenario));
            const records = (await sim.scan("feedback-events")).filter((i) => !String(i.pk).startsWith("COUNTER#"));
            const states = (await sim.scan("feedback-senders")).filter((i) => i.sk === "STATE");
            const suppressions = await sim.scan("suppression");
            const bounced = new Map<string, Set<string>>();
            records.filter((r) => r.event_type === "Bounce").forEach((r) => bounced.set(`${r.message_id}|${r.recipient}`, (bounced.get(`${r.message_id}|${r.recipient}`) ?? new Set()).add(r.bounce_type)));
            const figures: Record<string, number> = {
                mails: scenario.mails.length,
                events: scenario.mails.reduce((n, m) => n + m.events.length, 0),
                published,
                records: records.length,
                // The paths the invariant is about, so a run that never took them shows it.
                eventCopyAfterIdentity: recordWritesOf(sim).filter((c) => c.result?.Attributes !== undefined).length,
                senderPending: records.filter((r) => r.sender_pending).length,
                transientAndPermanent: [...bounced.values()].filter((types) => types.has("Transient") && types.has("Permanent")).length,
                suppressions: suppressions.length,
                transientSuppressions: suppressions.filter((e) => e.expires_at !== undefined).length,
                flagged: states.filter((s) => s.state === "flagged").length,
                restricted: states.filter((s) => s.state === "restricted").length,
                announcements: sim.announcements.length,
                invocations: sim.worker.invocations,
                crashes: sim.worker.crashes,
                dynamoThrottled: sim.gateway.throttled,
                indexReadsHidden: sim.lagging.hidden,
                sqsDuplicates: sim.sqs.duplicatesKept,
                peakConcurrency: sim.worker.peakConcurrency,
                // Waits (the SDK's backoff, crash timers) the simulated clock ran out instead of real time.
                virtualWaits: sim.timers.firedBySimulation,
                seconds: (Date.now() - started) / 1000,
            };
            if (process.env.FEEDBACK_SIM_VERBOSE) console.log(`  run seed ${scenario.seed} (senderTag ${scenario.senderTag}): ${Object.entries(figures).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`).join(" ")}`);
            return { violations, figures };
        } finally {
            await sim.close();
        }
    }

    async function check(sim: FeedbackSimulation, expected: Expected): Promise<string[]> {
        const violations: string[] = [];
        const items = await sim.scan("feedback-events");
        const records = items.filter((i) => !String(i.pk).startsWith("COUNTER#"));

        // Each (type, message, recipient) recorded once, nothing else.
        const seen = new Map<string, number>();
        for (const r of records) {
            const variant = r.bounce_type ?? (["Open", "Click", "Subscription"].includes(r.event_type) ? `${r.event_time}${r.link ? `#${r.link}` : ""}` : "");
            const key = identity(r.event_type, r.message_id, r.recipient, variant);
            seen.set(key, (seen.get(key) ?? 0) + 1);
            if (r.event_type === "Complaint" && expected.complaintSenders.has(key) && r.complaint_sender !== expected.complaintSenders.get(key)) {
                violations.push(`WRONG SENDER ${key}: complaint_sender ${r.complaint_sender} (expected ${expected.complaintSenders.get(key)})`);
            }
        }
        for (const [key, n] of seen) if (n > 1) violations.push(`RECORDED TWICE ${key} (${n} records)`);
        for (const key of expected.records) if (!seen.has(key)) violations.push(`NOT RECORDED ${key}`);
        for (const key of seen.keys()) if (!expected.records.has(key)) violations.push(`UNEXPECTED RECORD ${key}`);

        // Suppressions: exactly what the notifications imply.
        const entries = await sim.scan("suppression");
        const bounce = new Map(entries.filter((e) => e.reason === "bounce").map((e) => [e.email, e]));
        const complaint = new Set(entries.filter((e) => e.reason === "complaint").map((e) => e.email as string));
        for (const [email, kind] of expected.bounceEntries) {
            const entry = bounce.get(email);
            if (!entry) violations.push(`NOT SUPPRESSED ${email} (${kind} bounce)`);
            else if ((kind === "Permanent") !== (entry.expires_at === undefined)) violations.push(`WRONG SUPPRESSION ${email}: ${entry.bounce_type}, expires ${entry.expires_at} (expected ${kind})`);
        }
        for (const email of bounce.keys()) if (!expected.bounceEntries.has(email)) violations.push(`SUPPRESSED WITHOUT CAUSE ${email} (bounce)`);
        for (const email of expected.complaintEntries) if (!complaint.has(email)) violations.push(`NOT SUPPRESSED ${email} (complaint)`);
        for (const email of complaint) if (!expected.complaintEntries.has(email)) violations.push(`SUPPRESSED WITHOUT CAUSE ${email} (complaint)`);
        if (entries.some((e) => e.reason !== "bounce" && e.reason !== "complaint")) violations.push("SUPPRESSED WITHOUT CAUSE (other reason)");

        // Sender states: a reference count, the counter's own content, audits and announcements.
        const senderItems = await sim.scan("feedback-senders");
        const counters = new Map(items.filter((i) => String(i.pk).startsWith("COUNTER#complaints#")).map((i) => [String(i.pk).slice("COUNTER#complaints#".length), i]));
        const senders = new Set([...expected.complaints.keys(), ...senderItems.map((i) => String(i.pk).slice("SENDER#".length)), ...counters.keys()]);
        for (const sender of senders) {
            const want = expected.complaints.get(sender) ?? new Set<string>();
            const state = senderItems.find((i) => i.pk === `SENDER#${sender}` && i.sk === "STATE");
            const expectedState = stateForComplaints(want.size, SETTINGS);
            if ((state?.state ?? "ok") !== expectedState) violations.push(`SENDER STATE ${sender}: ${state?.state ?? "ok"} with ${want.size} complaints (expected ${expectedState})`);
            const held = new Set([...(counters.get(sender)?.members ?? [])].filter((m: string) => Number(m.slice(0, m.indexOf(":"))) >= START - SETTINGS.complaintWindowDays * DAY).map((m: string) => m.slice(m.indexOf(":") + 1)));
            if (held.size !== want.size || [...want].some((id) => !held.has(id))) violations.push(`COUNTER ${sender}: holds ${held.size} complaints, the notifications name ${want.size}`);
            const audits = senderItems.filter((i) => i.pk === `SENDER#${sender}` && String(i.sk).startsWith("AUDIT#")).sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
            const chain = audits.map((a) => `${a.from}>${a.to}`);
            const consistent = audits.every((a, i) => a.from === (i === 0 ? "ok" : audits[i - 1].to)) && (audits.at(-1)?.to ?? "ok") === (state?.state ?? "ok");
            if (!consistent) violations.push(`AUDIT ${sender}: ${chain.join(", ") || "none"} does not lead to ${state?.state ?? "ok"}`);
            const announced = (t: Record<string, any>) => sim.announcements.filter((a: SenderTransition) => a.sender === sender && a.at === t.at && a.to === t.to).length;
            for (const a of audits) if (announced(a) === 0) violations.push(`UNANNOUNCED ${sender} ${a.from}>${a.to}`);
            // At least once: an invocation that dies between announcing and auditing leaves the change to
            // its retry, unless a newer change supersedes it first (then that one is announced from the
            // last state that was audited).
            for (const [i, a] of sim.announcements.entries()) {
                if (a.sender === sender && !sim.announcedBy[i].crashed && !audits.some((t) => t.at === a.at && t.to === a.to)) violations.push(`ANNOUNCED, NOT AUDITED ${sender} ${a.from}>${a.to}`);
            }
        }

        // Metrics: once per new record. Never more; fewer only where the writing invocation died
        // while that notification's writes were under way (the worker publishes a notification's
        // metrics as soon as its writes are back: before that moment a death loses them, after it none).
        // EMF carries a metric added several times before one flush as an array of values.
        const value = (line: Record<string, any>, name: string) => [line[name]].flat().reduce((n: number, v: unknown) => n + Number(v), 0);
        const emitted = (name: string, reason?: string) => sim.lines.filter((l) => l._aws !== undefined && !isAggregateLine(l) && name in l && (reason === undefined || l.reason === reason)).reduce((n, l) => n + value(l, name), 0);
        const scopes = new Map<unknown, number>();
        const scopeId = (scope: unknown) => {
            if (!scopes.has(scope)) scopes.set(scope, scopes.size);
            return scopes.get(scope);
        };
        const group = (c: Call, of: string) => `${scopeId(c.scope)}|${of}`;
        const writes = (command: string, table: string) => sim.calls.filter((c) => c.command === command && c.input.TableName === sim.tableName(table));
        const lostIn = (calls: Call[], of: (c: Call) => string, isNew: (c: Call) => boolean) => {
            const unfinished = new Set(calls.filter((c) => c.scope.crashed && !c.answeredAlive).map((c) => group(c, of(c))));
            return calls.filter((c) => c.scope.crashed && c.result !== undefined && isNew(c) && unfinished.has(group(c, of(c))));
        };
        const recordWrites = recordWritesOf(sim);
        const stored = new Map(records.map((r) => [`${r.pk}|${r.sk}`, r]));
        // A record's pk is its type and message: one notification's records share it.
        const lostRecords = lostIn(recordWrites, (c) => recordKey(c).pk, (c) => c.result?.Attributes === undefined).map((c) => stored.get(`${recordKey(c).pk}|${recordKey(c).sk}`)!);
        const published = sim.lines.flatMap((l) => (l._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } | undefined)?.CloudWatchMetrics?.flatMap((d) => d.Metrics.map((m) => m.Name)) ?? []);
        const names = new Set([...records.flatMap(metricsOf), ...published.filter((n) => n.startsWith("Outbound"))]);
        for (const name of names) {
            const want = records.flatMap(metricsOf).filter((n) => n === name).length;
            const mayLose = lostRecords.flatMap(metricsOf).filter((n) => n === name).length;
            const got = emitted(name);
            if (got > want || got < want - mayLose) violations.push(`METRIC ${name}: ${got} emitted for ${want} records (${mayLose} written while their invocation died)`);
        }
        const lostSuppressions = lostIn(writes("UpdateCommand", "suppression"), (c) => String(c.input.ExpressionAttributeValues?.[":source_message_id"]), (c) => c.result?.Attributes?.added_at === undefined);
        for (const reason of ["bounce", "complaint"]) {
            const want = entries.filter((e) => e.reason === reason).length;
            const mayLose = lostSuppressions.filter((c) => c.input.Key?.reason === reason).length;
            const got = emitted("SuppressionAdded", reason);
            if (got > want || got < want - mayLose) violations.push(`METRIC SuppressionAdded(${reason}): ${got} emitted for ${want} entries (${mayLose} added while their invocation died)`);
        }

        // Nothing refused: every notification SES can send is handled. (A copy SQS keeps after a delete
        // may still reach the DLQ through its receive count; its effects are checked above.)
        const refused = sim.lines.filter((l) => l.level === "ERROR" && (l.error as { name?: string } | undefined)?.name === "InvalidInputError");
        if (refused.length > 0) violations.push(`REFUSED ${refused.length} times: ${refused.slice(0, 3).map((l) => JSON.stringify(l.error)).join("; ")}`);
        return violations;
    }

    it("each (type, message, recipient) is recorded once; suppressions, sender states and metrics are exactly what SES's notifications imply", async () => {
        const started = Date.now();
        const scenarios = fc.sample(scenarioArbitrary(MAILS), { seed: SEED, numRuns: RUNS }).map((s, i): Scenario => ({ ...s, seed: SEED + i, senderTag: i % 2 === 0 }));
        const results: RunResult[] = [];
        for (const scenario of scenarios) results.push(await runScenario(scenario));

        const total = (key: string) => results.reduce((n, r) => n + (r.figures[key] ?? 0), 0);
        const figures = ["mails", "events", "published", "records", "eventCopyAfterIdentity", "senderPending", "transientAndPermanent", "suppressions", "transientSuppressions", "flagged", "restricted", "announcements", "invocations"].map((k) => `${k}=${total(k)}`).join(" ");
        const faults = ["crashes", "dynamoThrottled", "indexReadsHidden", "sqsDuplicates"].map((k) => `${k}=${total(k)}`).join(" ");
        console.log(`feedback system (seed ${SEED}): runs=${results.length} (senderTag in ${scenarios.filter((s) => s.senderTag).length}) ${figures} | faults: ${faults} | peak concurrency ${Math.max(...results.map((r) => r.figures.peakConcurrency))}; virtualWaits=${total("virtualWaits")}; ${((Date.now() - started) / 1000).toFixed(1)} s`);

        const violations = results.flatMap((r, i) => r.violations.map((v) => `run ${i + 1}: ${v}`));
        expect(violations, `Invariant violated ${violations.length} times (FEEDBACK_SIM_SEED=${SEED}):\n  ${violations.slice(0, 20).join("\n  ")}`).to.deep.equal([]);
    });

    describe("the delayed-index double is no kinder than DynamoDB's indexes", () => {
        it("hides a new item from index queries (COUNT included) until its propagation delay has passed; table reads see it at once", async () => {
            const local = await startDynalite();
            let now = 1_000;
            const lagging = await DelayedIndexDynamo.start(local.endpoint, { delayMs: () => 500, now: () => now });
            const client = new DynamoDBClient({ endpoint: lagging.endpoint, region: "us-east-1", credentials: { accessKeyId: "l", secretAccessKey: "l" }, maxAttempts: 1 });
            try {
                const table = plan.tables.find((t) => t.name === "feedback-events")!;
                const name = await createTableFrom(local, table);
                await client.send(new PutItemCommand({ TableName: name, Item: { pk: { S: "Send#m" }, sk: { S: "a@example.com" }, recipient: { S: "a@example.com" }, event_at: { N: "5" } } }));
                const query = (select?: "COUNT") => client.send(new QueryCommand({ TableName: name, IndexName: "recipient-index", KeyConditionExpression: "recipient = :r", ExpressionAttributeValues: { ":r": { S: "a@example.com" } }, Select: select }));
                expect((await query()).Items).to.deep.equal([]);
                expect((await query("COUNT")).Count).to.equal(0);
                expect((await client.send(new GetItemCommand({ TableName: name, Key: { pk: { S: "Send#m" }, sk: { S: "a@example.com" } }, ConsistentRead: true }))).Item).not.to.equal(undefined);
                now += 500;
                expect((await query()).Items).to.have.length(1);
                expect((await query("COUNT")).Count).to.equal(1);
                // A write that fails its condition changes nothing, so it hides nothing.
                await client.send(new PutItemCommand({ TableName: name, Item: { pk: { S: "Send#m" }, sk: { S: "a@example.com" }, recipient: { S: "a@example.com" }, event_at: { N: "5" } }, ConditionExpression: "attribute_not_exists(pk)" })).catch(() => undefined);
                expect((await query()).Items).to.have.length(1);
                expect(lagging.hidden).to.equal(2);
            } finally {
                client.destroy();
                await lagging.close();
                await local.close();
            }
        });

        it("draws delays as documented: most within a second, some longer", () => {
            const rng = new Rng(7);
            const delays = Array.from({ length: 2000 }, LAGGING_INDEXES(rng));
            const within = delays.filter((d) => d < 1000).length / delays.length;
            expect(within).to.be.within(0.85, 0.95);
            expect(Math.max(...delays)).to.be.within(1000, 5000);
        });
    });
});
