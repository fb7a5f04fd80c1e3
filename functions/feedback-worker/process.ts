// Performs a feedback plan. Every step is idempotent, so a redelivered or duplicated notification
// changes nothing: records are conditional writes (metrics only for new ones), suppressions are
// upserts, thresholds are recounted from stored events, and sender changes settle exactly once.
import type { FeedbackEvents } from "../shared/feedback-events";
import type { SenderReputation, SenderTransition } from "../shared/sender-reputation";
import type { SuppressionClient } from "../shared/suppression-client";
import { FeedbackSettings, MetricPoint, planFeedback, stateForComplaints, transientSuppression } from "./logic";
import type { FeedbackEvent } from "./parse";

export interface FeedbackPorts {
    events: Pick<FeedbackEvents, "putIfNew" | "countTransientBounces" | "countComplaints">;
    suppressions: Pick<SuppressionClient, "suppress">;
    senders: Pick<SenderReputation, "status" | "raise" | "settle">;
    announce(transition: SenderTransition): Promise<void>;
    metric(point: MetricPoint): void;
    /** Epoch ms. */
    now(): number;
}

export interface FeedbackOutcome {
    newRecords: number;
    duplicateRecords: number;
    suppressionsAdded: number;
    senderTransition?: SenderTransition;
}

export async function processFeedback(event: FeedbackEvent, settings: FeedbackSettings, ports: FeedbackPorts): Promise<FeedbackOutcome> {
    const plan = planFeedback(event, settings);
    const now = ports.now();

    const inserted = await Promise.all(plan.records.map(({ record }) => ports.events.putIfNew(record)));
    plan.records.forEach(({ metrics }, i) => inserted[i] && metrics.forEach((point) => ports.metric(point)));

    const transientInputs = await Promise.all(plan.transientRecipients.map(async (recipient) => {
        const bounces = await ports.events.countTransientBounces(recipient.email, now - settings.transientWindowDays * 86_400_000);
        return bounces >= settings.transientThreshold ? transientSuppression(recipient, event, bounces, Math.floor(now / 1000), settings) : undefined;
    }));
    const suppressions = [...plan.suppressions, ...transientInputs.filter((input) => input !== undefined)];
    const outcomes = await Promise.all(suppressions.map((input) => ports.suppressions.suppress(input)));
    suppressions.forEach((input, i) => outcomes[i] === "created" && ports.metric({ name: "SuppressionAdded", value: 1, dimensions: { reason: input.reason } }));

    let senderTransition: SenderTransition | undefined;
    if (plan.complainedSender) {
        const sender = plan.complainedSender;
        const status = await ports.senders.status(sender);
        const since = Math.max(now - settings.complaintWindowDays * 86_400_000, status.liftedAt ?? 0);
        const complaints = await ports.events.countComplaints(sender, since);
        await ports.senders.raise(sender, stateForComplaints(complaints, settings), complaints);
        senderTransition = await ports.senders.settle(sender, async (transition) => {
            await ports.announce(transition);
            if (transition.to === "flagged") {
                ports.metric({ name: "SenderFlagged", value: 1 });
            } else if (transition.to === "restricted") {
                ports.metric({ name: "SenderRestricted", value: 1 });
            }
        });
    }

    const newRecords = inserted.filter(Boolean).length;
    return {
        newRecords,
        duplicateRecords: inserted.length - newRecords,
        suppressionsAdded: outcomes.filter((outcome) => outcome === "created").length,
        senderTransition,
    };
}
