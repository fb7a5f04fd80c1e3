// Performs a feedback plan in as few sequential DynamoDB round trips as it allows: the records,
// suppressions, counters and the sender's status are one round of parallel requests; only a
// transient address reaching its threshold (suppress) and a sender changing state (raise, then audit)
// need more. Every step is idempotent, so a redelivered or duplicated notification changes nothing:
// records are conditional writes (metrics only for new ones, published as soon as they are known),
// suppressions are upserts, counters are sets, and sender changes settle exactly once.
import type { FeedbackEvents, Occurrence } from "../shared/feedback-events";
import { SENDER_RANK, type SenderReputation, type SenderTransition } from "../shared/sender-reputation";
import type { SuppressionClient, SuppressionInput } from "../shared/suppression-client";
import { FeedbackSettings, MetricPoint, planFeedback, stateForComplaints, transientSuppression } from "./logic";
import type { FeedbackEvent } from "./parse";

const DAY_MS = 86_400_000;

export interface FeedbackPorts {
    events: Pick<FeedbackEvents, "record" | "tally">;
    suppressions: Pick<SuppressionClient, "suppress">;
    senders: Pick<SenderReputation, "status" | "raise" | "settle">;
    announce(transition: SenderTransition): Promise<void>;
    /** Publishes at once: a crash later in the invocation must not lose metrics of records already written. */
    metrics(points: MetricPoint[]): void;
    /** Epoch ms. */
    now(): number;
}

export interface FeedbackOutcome {
    newRecords: number;
    duplicateRecords: number;
    /** Records an identity notification stored first whose sender this (event-publishing) copy named. */
    attributedRecords: number;
    suppressionsAdded: number;
    senderTransition?: SenderTransition;
}

export async function processFeedback(event: FeedbackEvent, settings: FeedbackSettings, ports: FeedbackPorts): Promise<FeedbackOutcome> {
    const plan = planFeedback(event, settings);
    const now = ports.now();
    const [outcomes, suppressionsAdded, transientAdded, senderTransition] = await Promise.all([
        settleAll(plan.records.map(({ record }) => ports.events.record(record)), (outcome, i) => {
            if (outcome === "new") ports.metrics(plan.records[i].metrics);
        }),
        suppress(plan.suppressions, ports),
        Promise.all(plan.transientBounces.map(async ({ recipient, occurrence }) => {
            const bounces = await ports.events.tally("transient-bounces", recipient.email, [occurrence], { sinceMs: now - settings.transientWindowDays * DAY_MS, nowMs: now });
            return bounces.length >= settings.transientThreshold ? suppress([transientSuppression(recipient, event, bounces.length, Math.floor(now / 1000), settings)], ports) : 0;
        })),
        plan.complaints ? reevaluateSender(plan.complaints.sender, plan.complaints.occurrences, now, settings, ports) : undefined,
    ]);
    const count = (wanted: string) => outcomes.filter((outcome) => outcome === wanted).length;
    return {
        newRecords: count("new"),
        duplicateRecords: count("duplicate"),
        attributedRecords: count("attributed"),
        suppressionsAdded: suppressionsAdded + transientAdded.reduce((sum, added) => sum + added, 0),
        senderTransition,
    };
}

/** Adds suppressions in parallel; `SuppressionAdded` for each one that is new. Returns how many. */
async function suppress(inputs: SuppressionInput[], ports: FeedbackPorts): Promise<number> {
    const outcomes = await settleAll(inputs.map((input) => ports.suppressions.suppress(input)), (outcome, i) => {
        if (outcome === "created") ports.metrics([{ name: "SuppressionAdded", value: 1, dimensions: { reason: inputs[i].reason } }]);
    });
    return outcomes.filter((outcome) => outcome === "created").length;
}

/**
 * Counts the complaints (consistently) while reading the sender's status, in one round trip; raises
 * the sender if the count calls for it (the same write claims the announcement), or finishes a change
 * a crashed attempt left unannounced.
 */
async function reevaluateSender(sender: string, occurrences: Occurrence[], now: number, settings: FeedbackSettings, ports: FeedbackPorts): Promise<SenderTransition | undefined> {
    const [times, status] = await Promise.all([
        ports.events.tally("complaints", sender, occurrences, { sinceMs: now - settings.complaintWindowDays * DAY_MS, nowMs: now }),
        ports.senders.status(sender),
    ]);
    const complaints = times.filter((at) => at >= (status.liftedAt ?? 0)).length;
    const announce = async (transition: SenderTransition) => {
        await ports.announce(transition);
        if (transition.to !== "ok") {
            ports.metrics([{ name: transition.to === "restricted" ? "SenderRestricted" : "SenderFlagged", value: 1 }]);
        }
    };
    const target = stateForComplaints(complaints, settings);
    if (!status.settled) {
        // A change a crashed attempt left unannounced is finished first: before a newer one supersedes it, if one does.
        const superseding = SENDER_RANK[target] > SENDER_RANK[status.state];
        const settled = await ports.senders.settle(sender, announce, { current: status, takeOver: superseding });
        if (!superseding) return settled;
    }
    return ports.senders.raise(sender, target, complaints, { current: status, announce });
}

/**
 * Waits for every promise, reports each fulfilled value to `use` in order, then throws the first
 * failure: what did succeed is accounted for before the record is retried.
 */
async function settleAll<T>(promises: Promise<T>[], use: (value: T, index: number) => void): Promise<T[]> {
    const results = await Promise.allSettled(promises);
    results.forEach((result, i) => result.status === "fulfilled" && use(result.value, i));
    const failure = results.find((result) => result.status === "rejected");
    if (failure) {
        throw failure.reason;
    }
    return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}
