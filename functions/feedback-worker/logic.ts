// What one feedback event means: the records to keep, the suppressions to add, what to count and
// which metrics to publish. Pure: the handler performs the plan.
import { Occurrence, occurrenceOf, typeDayPartition } from "../shared/feedback-events";
import type { SuppressionInput } from "../shared/suppression-client";
import type { FeedbackEvent, FeedbackRecipient } from "./parse";

/** The feedback worker's thresholds and retention (FeedbackPipeline passes them to the worker). */
export interface FeedbackSettings {
    /** Days a feedback event is kept (DynamoDB TTL). */
    eventRetentionDays: number;
    /** Transient bounces for one address within the window that add a suppression. */
    transientThreshold: number;
    /** The window, in days, transient bounces are counted over. */
    transientWindowDays: number;
    /** How long a suppression for repeated transient bounces lasts. */
    transientSuppressionDays: number;
    /** Complaints against one sender within the window that make it `flagged`. */
    complaintFlagThreshold: number;
    /** Complaints against one sender within the window that make it `restricted`. */
    complaintRestrictThreshold: number;
    /** The window, in days, complaints are counted over (after the last operator lift). */
    complaintWindowDays: number;
    /** Message tag naming the sender account (e.g. `account`); the From address when unset. */
    senderTag?: string;
}

export const DEFAULT_FEEDBACK_SETTINGS: FeedbackSettings = {
    eventRetentionDays: 90,
    transientThreshold: 3,
    transientWindowDays: 7,
    transientSuppressionDays: 7,
    complaintFlagThreshold: 3,
    complaintRestrictThreshold: 5,
    complaintWindowDays: 30,
};

export interface MetricPoint {
    name: string;
    value: number;
    dimensions?: Record<string, string>;
}

/**
 * One row of the feedback events table: one (event type, message, recipient), where a bounce's type
 * is part of the event type (a Transient and a later Permanent bounce are two records, as SES sent
 * two) and opens, clicks and subscription changes are one record per occurrence.
 */
export interface FeedbackRecord {
    pk: string;
    sk: string;
    event_type: string;
    message_id: string;
    /** Unset for an open, click or subscription change of a mail with several recipients. */
    recipient?: string;
    source: string;
    from_address: string;
    /** Unset while only an identity notification told of the event and the sender is a message tag. */
    sender?: string;
    /** The record came from an identity notification that cannot name the sender; the event-publishing copy will. */
    sender_pending?: true;
    event_time: string;
    event_at: number;
    type_day: string;
    format: string;
    /** Whether a bounce counts towards bounce handling (Undetermined and SES-suppressed ones do not). */
    counted: boolean;
    expires_at: number;
    tags?: Record<string, string[]>;
    feedback_id?: string;
    status?: string;
    diagnostic_code?: string;
    bounce_type?: string;
    bounce_sub_type?: string;
    complaint_feedback_type?: string;
    complaint_sub_type?: string;
    /** Set only on complaints counted against the sender: the sparse complaint-sender-index. */
    complaint_sender?: string;
    smtp_response?: string;
    delay_type?: string;
    reject_reason?: string;
    error_message?: string;
    link?: string;
    ip_address?: string;
    user_agent?: string;
    contact_list?: string;
    subscription_source?: string;
    unsubscribe_all?: boolean;
}

export interface FeedbackPlan {
    /** Records to write, each with the metrics to publish if (and only if) it is new. */
    records: { record: FeedbackRecord; metrics: MetricPoint[] }[];
    /** Permanent suppressions (hard bounces, complaints). */
    suppressions: SuppressionInput[];
    /** Counted transient bounces, one per recipient: each address is suppressed once it reaches the threshold. */
    transientBounces: { recipient: FeedbackRecipient; occurrence: Occurrence }[];
    /** Counted complaints, when this copy may name the sender: re-evaluate the sender with them. */
    complaints?: { sender: string; occurrences: Occurrence[] };
}

// SES itself suppressed these; they say nothing new about the address.
const SES_SUPPRESSED_SUBTYPES = new Set(["OnAccountSuppressionList", "Suppressed"]);

const METRIC_BY_TYPE: Record<FeedbackEvent["type"], string> = {
    Send: "OutboundSend",
    Delivery: "OutboundDelivery",
    Bounce: "OutboundBounce",
    Complaint: "OutboundComplaint",
    Reject: "OutboundReject",
    DeliveryDelay: "OutboundDeliveryDelay",
    RenderingFailure: "OutboundRenderingFailure",
    Open: "OutboundOpen",
    Click: "OutboundClick",
    Subscription: "OutboundSubscription",
};

/**
 * Who sent the mail: the message tag named by `senderTag`, else the From address. Undefined for an
 * identity notification when a tag names senders: that format carries no tags ("Examples of event
 * data that Amazon SES publishes to Amazon SNS"), so its From address would charge the wrong sender.
 */
export function senderOf(event: FeedbackEvent, settings: FeedbackSettings): string | undefined {
    if (settings.senderTag && event.format === "identity-notification") {
        return undefined;
    }
    const tagged = settings.senderTag ? event.tags[settings.senderTag]?.[0] : undefined;
    return (tagged ?? event.from).trim().toLowerCase();
}

function detailsOf(event: FeedbackEvent, recipient: FeedbackRecipient): string {
    const parts = [
        event.bounce ? `${event.bounce.bounceType}/${event.bounce.bounceSubType}` : undefined,
        event.complaint ? `complaint${event.complaint.feedbackType ? ` (${event.complaint.feedbackType})` : ""}` : undefined,
        recipient.status,
        recipient.diagnosticCode,
    ];
    return parts.filter(Boolean).join("; ").slice(0, 4000);
}

/** Whether the event counts as a bounce or complaint (versus one only recorded). */
function isCounted(event: FeedbackEvent): boolean {
    if (event.bounce) {
        return event.bounce.bounceType !== "Undetermined" && !SES_SUPPRESSED_SUBTYPES.has(event.bounce.bounceSubType);
    }
    if (event.complaint) {
        return event.complaint.feedbackType !== "not-spam" && event.complaint.subType !== "OnAccountSuppressionList";
    }
    return true;
}

export function planFeedback(event: FeedbackEvent, settings: FeedbackSettings): FeedbackPlan {
    const at = Date.parse(event.timestamp);
    const counted = isCounted(event);
    const sender = senderOf(event, settings);
    const permanent = event.bounce?.bounceType === "Permanent" && counted;
    const transient = event.bounce?.bounceType === "Transient" && counted;
    const complaint = event.type === "Complaint" && counted;
    // What tells this record from another of the same message and recipient.
    const variant = event.bounce?.bounceType ?? event.occurrence;
    const subjects: (FeedbackRecipient | undefined)[] = event.occurrence && event.recipients.length === 0 ? [undefined] : event.recipients;

    const records = subjects.map((recipient) => {
        const key = { pk: `${event.type}#${event.messageId}`, sk: [recipient?.email ?? "", variant].filter((part) => part !== undefined).join("#") };
        const record: FeedbackRecord = {
            ...key,
            event_type: event.type,
            message_id: event.messageId,
            ...(recipient ? { recipient: recipient.email } : {}),
            source: event.source,
            from_address: event.from,
            ...(sender === undefined ? { sender_pending: true as const } : { sender }),
            event_time: new Date(at).toISOString(),
            event_at: at,
            type_day: typeDayPartition(event.type, at, key),
            format: event.format,
            counted,
            expires_at: Math.floor(at / 1000) + settings.eventRetentionDays * 86400,
            ...(Object.keys(event.tags).length ? { tags: event.tags } : {}),
            ...(event.feedbackId ? { feedback_id: event.feedbackId } : {}),
            ...(recipient?.status ? { status: recipient.status } : {}),
            ...(recipient?.diagnosticCode ? { diagnostic_code: recipient.diagnosticCode } : {}),
            ...(event.bounce ? { bounce_type: event.bounce.bounceType, bounce_sub_type: event.bounce.bounceSubType } : {}),
            ...(event.complaint?.feedbackType ? { complaint_feedback_type: event.complaint.feedbackType } : {}),
            ...(event.complaint?.subType ? { complaint_sub_type: event.complaint.subType } : {}),
            ...(complaint && sender !== undefined ? { complaint_sender: sender } : {}),
            ...(event.delivery?.smtpResponse ? { smtp_response: event.delivery.smtpResponse } : {}),
            ...(event.delay?.delayType ? { delay_type: event.delay.delayType } : {}),
            ...(event.reject?.reason ? { reject_reason: event.reject.reason } : {}),
            ...(event.failure?.errorMessage ? { error_message: event.failure.errorMessage } : {}),
            ...(event.engagement?.link ? { link: event.engagement.link } : {}),
            ...(event.engagement?.ipAddress ? { ip_address: event.engagement.ipAddress } : {}),
            ...(event.engagement?.userAgent ? { user_agent: event.engagement.userAgent } : {}),
            ...(event.subscription?.contactList ? { contact_list: event.subscription.contactList } : {}),
            ...(event.subscription?.source ? { subscription_source: event.subscription.source } : {}),
            ...(event.subscription?.unsubscribeAll !== undefined ? { unsubscribe_all: event.subscription.unsubscribeAll } : {}),
        };
        const metrics: MetricPoint[] = counted ? [{ name: METRIC_BY_TYPE[event.type], value: 1 }] : [];
        if (permanent) {
            metrics.push({ name: "OutboundBounceHard", value: 1 });
        } else if (transient) {
            metrics.push({ name: "OutboundBounceSoft", value: 1 });
        }
        return { record, metrics };
    });

    const suppressionOf = (recipient: FeedbackRecipient, reason: "bounce" | "complaint"): SuppressionInput => ({
        email: recipient.email,
        reason,
        ...(event.bounce ? { bounceType: event.bounce.bounceType, bounceSubType: event.bounce.bounceSubType } : {}),
        details: detailsOf(event, recipient),
        sourceMessageId: event.messageId,
    });
    const occurrence = (recipient: FeedbackRecipient) => occurrenceOf(event.messageId, recipient.email, at);

    return {
        records,
        suppressions: permanent || complaint ? event.recipients.map((r) => suppressionOf(r, permanent ? "bounce" : "complaint")) : [],
        transientBounces: transient ? event.recipients.map((recipient) => ({ recipient, occurrence: occurrence(recipient) })) : [],
        complaints: complaint && sender !== undefined ? { sender, occurrences: event.recipients.map(occurrence) } : undefined,
    };
}

export type SenderState = "ok" | "flagged" | "restricted";

/** The state a number of complaints in the window calls for. */
export function stateForComplaints(complaints: number, settings: Pick<FeedbackSettings, "complaintFlagThreshold" | "complaintRestrictThreshold">): SenderState {
    if (complaints >= settings.complaintRestrictThreshold) {
        return "restricted";
    }
    return complaints >= settings.complaintFlagThreshold ? "flagged" : "ok";
}

/** The suppression for an address with repeated transient bounces: it expires, never permanent. */
export function transientSuppression(recipient: FeedbackRecipient, event: FeedbackEvent, bounces: number, nowSeconds: number, settings: FeedbackSettings): SuppressionInput {
    return {
        email: recipient.email,
        reason: "bounce",
        bounceType: "Transient",
        bounceSubType: event.bounce?.bounceSubType,
        details: `${bounces} transient bounces in ${settings.transientWindowDays} days; last: ${detailsOf(event, recipient)}`.slice(0, 4000),
        sourceMessageId: event.messageId,
        expiresAt: nowSeconds + settings.transientSuppressionDays * 86400,
    };
}
