// feedback_notifications_per_s: notifications through the real processing (records written
// concurrently, batches of 10 processed in parallel as Powertools' BatchProcessor does), against
// feedback_baseline_per_s: the same notifications with every item written in its own sequential
// round trip. Same run, same dynalite process, fresh tables for each.
import { FeedbackPipeline } from "../components/feedback-pipeline";
import { SuppressionStore } from "../components/suppression-store";
import { DEFAULT_FEEDBACK_SETTINGS } from "../functions/feedback-worker/logic";
import { FeedbackEvent, parseFeedbackMessage } from "../functions/feedback-worker/parse";
import { FeedbackPorts, processFeedback } from "../functions/feedback-worker/process";
import { FeedbackEvents } from "../functions/shared/feedback-events";
import { SenderReputation } from "../functions/shared/sender-reputation";
import { SuppressionClient } from "../functions/shared/suppression-client";
import * as ses from "../tests/fixtures/ses-feedback";
import { createTableFrom, LocalDynamo, startDynaliteProcess } from "../tests/support/dynalite";
import { runUnderMocks } from "../tests/support/mocks";

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
        metric: () => undefined,
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
