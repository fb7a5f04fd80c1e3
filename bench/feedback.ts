// feedback_notifications_per_s: notifications through the real processing (records written
// concurrently, batches of 10 processed in parallel as Powertools' BatchProcessor does), against
// feedback_baseline_per_s: the same notifications with every item written in its own sequential
// round trip. Same run, same dynalite process, fresh tables for each.
//
// feedback_ddb_requests.<case> / feedback_ddb_round_trips.<case>: DynamoDB requests one notification
// of each kind makes, and how many of them run one after another (tests/support/round-trips.ts):
// counted, not timed, so the figures are exact and the same on every machine.
import { FeedbackPipeline } from "../components/feedback-pipeline";
import { SuppressionStore } from "../components/suppression-store";
import { DEFAULT_FEEDBACK_SETTINGS } from "../functions/feedback-worker/logic";
import { FeedbackEvent, parseFeedbackMessage } from "../functions/feedback-worker/parse";
import { FeedbackPorts, processFeedback } from "../functions/feedback-worker/process";
import { FeedbackEvents } from "../functions/shared/feedback-events";
import { SenderReputation } from "../functions/shared/sender-reputation";
import { SuppressionClient } from "../functions/shared/suppression-client";
import * as ses from "../tests/fixtures/ses-feedback";
import { createTableFrom, LocalDynamo, startDynalite, startDynaliteProcess } from "../tests/support/dynalite";
import { runUnderMocks } from "../tests/support/mocks";
import { RoundTripCounter } from "../tests/support/round-trips";

const NOTIFICATIONS = 600;
const BATCH = 10;

/** A realistic mix: mostly deliveries and sends, some bounces and complaints; 1-3 recipients each. */
function notifications(): FeedbackEvent[] {
    const now = new Date().toISOString();
    return Array.from({ length: NOTIFICATIONS }, (_, i) => {
        const recipients = Array.from({ length: 1 + (i % 3) }, (_, r) => `user${i}-${r}@example.com`);
        const mail = { messageId: `bench-${i}`, timestamp: now, from: `Sender <sender${i % 20}@example.com>` };
        const kind = i % 20;
        const message = kind < 9 ? ses.delivery("event", recipients, mail)
            : kind < 15 ? ses.send(recipients, mail)
            : kind < 17 ? ses.bounce("event", "Transient", "MailboxFull", recipients.map(ses.softRecipient), mail, now)
            : kind < 19 ? ses.bounce("event", "Permanent", "General", recipients.map(ses.hardRecipient), mail, now)
            : ses.complaint("event", recipients, { complaintFeedbackType: "abuse" }, mail, now);
        const parsed = parseFeedbackMessage(JSON.stringify(ses.sns(message)));
        if (parsed.kind !== "event") throw new Error(parsed.reason);
        return parsed.event;
    });
}

async function tablesFor(local: LocalDynamo, env: string) {
    const { plan } = await runUnderMocks(() => new FeedbackPipeline("feedback", { env, suppressionStore: new SuppressionStore("suppression", { env, tableName: `suppression-${env}` }) }));
    const names: Record<string, string> = {};
    for (const name of ["feedback-events", "feedback-senders", "suppression"]) {
        names[name] = await createTableFrom(local, plan.one("aws:dynamodb/table:Table", name));
    }
    return names;
}

function ports(local: LocalDynamo, tables: Record<string, string>): FeedbackPorts {
    return {
        events: new FeedbackEvents({ tableName: tables["feedback-events"], client: local.client }),
        suppressions: new SuppressionClient({ tableName: tables.suppression, client: local.client }),
        senders: new SenderReputation({ tableName: tables["feedback-senders"], client: local.client }),
        announce: async () => undefined,
        metrics: () => undefined,
        now: Date.now,
    };
}

/** Wraps every method of every store so that calls run one after another: one item per round trip. */
function sequential(p: FeedbackPorts): FeedbackPorts {
    let chain: Promise<unknown> = Promise.resolve();
    const serialise = <T extends object>(target: T): T => new Proxy(target, {
        get: (object, key) => {
            const value = Reflect.get(object, key);
            if (typeof value !== "function") return value;
            return (...args: unknown[]) => {
                const run = chain.then(() => value.apply(object, args));
                chain = run.catch(() => undefined);
                return run;
            };
        },
    });
    return { ...p, events: serialise(p.events), suppressions: serialise(p.suppressions), senders: serialise(p.senders) };
}

export async function feedback(): Promise<Record<string, number>> {
    const local = await startDynaliteProcess();
    try {
        const events = notifications();
        const records = events.reduce((sum, e) => sum + e.recipients.length, 0);

        const baselinePorts = sequential(ports(local, await tablesFor(local, "benchbase")));
        let started = performance.now();
        for (const event of events) {
            await processFeedback(event, DEFAULT_FEEDBACK_SETTINGS, baselinePorts);
        }
        const baselineSeconds = (performance.now() - started) / 1000;

        const batchPorts = ports(local, await tablesFor(local, "benchnew"));
        started = performance.now();
        for (let i = 0; i < events.length; i += BATCH) {
            await Promise.all(events.slice(i, i + BATCH).map((event) => processFeedback(event, DEFAULT_FEEDBACK_SETTINGS, batchPorts)));
        }
        const batchSeconds = (performance.now() - started) / 1000;

        return {
            feedback_notifications: events.length,
            feedback_event_records: records,
            feedback_notifications_per_s: events.length / batchSeconds,
            feedback_baseline_per_s: events.length / baselineSeconds,
            feedback_speedup: baselineSeconds / batchSeconds,
        };
    } finally {
        await local.close();
    }
}

/** One notification of each kind, in an order that makes each case happen (a sender reaching 3 complaints, an address 3 transient bounces). */
function requestCases(now: string): [string, unknown][] {
    const complaint = (i: number, format: "event" | "notification" = "event") => ses.complaint(format, [`angry${i}@example.com`], { complaintFeedbackType: "abuse" }, { messageId: `c${i}`, tags: { account: ["acme"] } }, now);
    const soft = (i: number) => ses.bounce("event", "Transient", "MailboxFull", [ses.softRecipient("full@example.com")], { messageId: `t${i}` }, now);
    return [
        ["delivery", ses.delivery("event", ["d@example.com"], { messageId: "d" })],
        ["send_10_recipients", ses.send(Array.from({ length: 10 }, (_, i) => `s${i}@example.com`), { messageId: "s" })],
        ["bounce_permanent", ses.bounce("event", "Permanent", "General", [ses.hardRecipient("gone@example.com")], { messageId: "p" }, now)],
        ["bounce_transient_first", soft(1)],
        ["bounce_transient", soft(2)],
        ["bounce_transient_threshold", soft(3)],
        ["complaint_first_of_sender", complaint(1)],
        ["complaint", complaint(2)],
        ["complaint_flags_sender", complaint(3)],
        ["complaint_identity_copy", complaint(4, "notification")],
        ["complaint_event_copy_after_identity", complaint(4)],
    ];
}

export async function feedbackRequests(): Promise<Record<string, number>> {
    const local = await startDynalite();
    try {
        const counter = new RoundTripCounter(local.client);
        const p = ports(local, await tablesFor(local, "benchrequests"));
        const settings = { ...DEFAULT_FEEDBACK_SETTINGS, senderTag: "account" };
        const results: Record<string, number> = {};
        for (const [name, message] of requestCases(new Date().toISOString())) {
            const parsed = parseFeedbackMessage(JSON.stringify(ses.sns(message)));
            if (parsed.kind !== "event") throw new Error(parsed.reason);
            const counted = await counter.count(() => processFeedback(parsed.event, settings, p));
            results[`feedback_ddb_requests.${name}`] = counted.total;
            results[`feedback_ddb_round_trips.${name}`] = counted.sequential;
        }
        return results;
    } finally {
        await local.close();
    }
}
