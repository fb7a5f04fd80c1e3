// Parses SES feedback in both formats (configuration-set event publishing: `eventType`; identity
// notifications: `notificationType`), SNS-wrapped or raw, into one normalised event. Every event type
// SES publishes is known ("Contents of event data that Amazon SES publishes to Amazon SNS"): Open,
// Click and Subscription come only when a configuration set publishes them, but are never refused.
import * as z from "zod/mini";
import { InvalidInputError, normaliseEmail, parseOrThrow } from "../shared/email";
import { digest } from "../shared/feedback-events";
import { decodeSqsBody } from "../shared/sqs-body";

export const FEEDBACK_TYPES = ["Send", "Delivery", "Bounce", "Complaint", "Reject", "DeliveryDelay", "RenderingFailure", "Open", "Click", "Subscription"] as const;
export type FeedbackType = (typeof FEEDBACK_TYPES)[number];

export interface FeedbackRecipient {
    email: string;
    status?: string;
    action?: string;
    diagnosticCode?: string;
}

export interface FeedbackEvent {
    type: FeedbackType;
    format: "event-publishing" | "identity-notification";
    messageId: string;
    /** Envelope MAIL FROM address (bare address). */
    source: string;
    /** The From header's address, falling back to the envelope sender. */
    from: string;
    sourceArn?: string;
    /** When the event happened (bounce/complaint/delivery/delay time, else the send time), ISO 8601. */
    timestamp: string;
    /** Configuration-set message tags (identity notifications carry none). */
    tags: Record<string, string[]>;
    /**
     * Who the event is about: bounced, complained, delivered or delayed recipients; all destinations
     * for send-level events. For opens, clicks and subscription changes the sole destination, or none
     * when the mail had several (SES cannot tell which recipient acted: "Amazon SES email sending
     * metrics FAQs", click tracking).
     */
    recipients: FeedbackRecipient[];
    /**
     * Set for the types SES publishes once per occurrence (each open, each click, each subscription
     * change: FAQs, "each open as a unique open event"): what tells one occurrence from another.
     */
    occurrence?: string;
    feedbackId?: string;
    bounce?: { bounceType: "Permanent" | "Transient" | "Undetermined"; bounceSubType: string; reportingMta?: string };
    complaint?: { feedbackType?: string; subType?: string; userAgent?: string };
    delivery?: { smtpResponse?: string; processingTimeMillis?: number };
    delay?: { delayType?: string; expirationTime?: string };
    reject?: { reason?: string };
    failure?: { errorMessage?: string; templateName?: string };
    engagement?: { ipAddress?: string; userAgent?: string; link?: string };
    subscription?: { contactList?: string; source?: string; unsubscribeAll?: boolean };
}

export type ParsedFeedback = { kind: "event"; event: FeedbackEvent } | { kind: "ignored"; reason: string };

const text = z.string();
const isoTime = z.string().check(z.refine((value) => !Number.isNaN(Date.parse(value)), { error: "not an ISO 8601 timestamp" }));
const optionalText = z.optional(z.nullable(z.string()));

const mailSchema = z.looseObject({
    timestamp: isoTime,
    messageId: z.string().check(z.minLength(1)),
    source: text,
    sourceArn: optionalText,
    destination: z.array(text),
    commonHeaders: z.optional(z.looseObject({ from: z.optional(z.array(text)) })),
    tags: z.optional(z.record(z.string(), z.array(z.string()))),
});

const recipientSchema = z.looseObject({ emailAddress: text, status: optionalText, action: optionalText, diagnosticCode: optionalText });

const bounceSchema = z.looseObject({
    bounceType: z.enum(["Permanent", "Transient", "Undetermined"]),
    bounceSubType: text,
    bouncedRecipients: z.array(recipientSchema).check(z.minLength(1)),
    timestamp: isoTime,
    feedbackId: optionalText,
    reportingMTA: optionalText,
});

const complaintSchema = z.looseObject({
    complainedRecipients: z.array(z.looseObject({ emailAddress: text })).check(z.minLength(1)),
    timestamp: isoTime,
    feedbackId: optionalText,
    complaintFeedbackType: optionalText,
    complaintSubType: optionalText,
    userAgent: optionalText,
});

const deliverySchema = z.looseObject({
    timestamp: isoTime,
    recipients: z.array(text).check(z.minLength(1)),
    smtpResponse: optionalText,
    processingTimeMillis: z.optional(z.number()),
});

const delaySchema = z.looseObject({
    timestamp: isoTime,
    delayType: optionalText,
    expirationTime: optionalText,
    delayedRecipients: z.array(recipientSchema).check(z.minLength(1)),
});

const engagementSchema = z.looseObject({ timestamp: isoTime, ipAddress: optionalText, userAgent: optionalText });
const clickSchema = z.extend(engagementSchema, { link: z.string().check(z.minLength(1)) });
const subscriptionSchema = z.looseObject({
    timestamp: isoTime,
    contactList: optionalText,
    source: optionalText,
    newTopicPreferences: z.optional(z.looseObject({ unsubscribeAll: z.optional(z.boolean()) })),
});

/** `Sender Name <sender@example.com>` → `sender@example.com`, normalised. */
export function addressOf(value: string): string {
    const angle = /<([^<>]+)>\s*$/.exec(value);
    return normaliseEmail(angle ? angle[1] : value);
}

const undefinedIfNull = <T>(value: T | null | undefined): T | undefined => (value === null ? undefined : value);

/**
 * Parses one SQS message body. Returns the event, or `ignored` for SES's subscription test
 * notifications; throws {@link InvalidInputError} (with the reason) for anything else.
 */
export function parseFeedbackMessage(body: unknown): ParsedFeedback {
    const { message, snsType } = decodeSqsBody(body);
    if (snsType !== undefined && message === undefined) {
        return { kind: "ignored", reason: `SNS ${snsType} message` };
    }
    if (typeof message !== "object" || message === null || Array.isArray(message)) {
        throw new InvalidInputError("Feedback message is not a JSON object.");
    }
    const record = message as Record<string, unknown>;
    const rawType = record.eventType ?? record.notificationType;
    if (rawType === "AmazonSnsSubscriptionSucceeded") {
        return { kind: "ignored", reason: "SES subscription test notification" };
    }
    if (typeof rawType !== "string") {
        throw new InvalidInputError("Feedback message has neither eventType nor notificationType.");
    }
    const type = (rawType === "Rendering Failure" ? "RenderingFailure" : rawType) as FeedbackType;
    if (!FEEDBACK_TYPES.includes(type)) {
        throw new InvalidInputError(`Unsupported feedback type "${rawType}": expected one of ${FEEDBACK_TYPES.join(", ")}.`);
    }
    const format = record.eventType !== undefined ? "event-publishing" : "identity-notification";
    const mail = parseOrThrow(mailSchema, record.mail, `${rawType} mail object`);
    const source = addressOf(mail.source);
    const fromHeader = mail.commonHeaders?.from?.[0];
    const base = {
        type,
        format,
        messageId: mail.messageId,
        source,
        from: fromHeader ? addressOf(fromHeader) : source,
        sourceArn: undefinedIfNull(mail.sourceArn),
        tags: mail.tags ?? {},
    } as const;
    const destinations = () => mail.destination.map((email) => ({ email: normaliseEmail(email) }));
    const soleDestination = () => (mail.destination.length === 1 ? destinations() : []);
    const recipientOf = (r: z.output<typeof recipientSchema>): FeedbackRecipient => ({
        email: normaliseEmail(r.emailAddress),
        ...(r.status ? { status: r.status } : {}),
        ...(r.action ? { action: r.action } : {}),
        ...(r.diagnosticCode ? { diagnosticCode: r.diagnosticCode } : {}),
    });

    switch (type) {
        case "Bounce": {
            const bounce = parseOrThrow(bounceSchema, record.bounce, "bounce object");
            return { kind: "event", event: {
                ...base,
                timestamp: bounce.timestamp,
                recipients: bounce.bouncedRecipients.map(recipientOf),
                feedbackId: undefinedIfNull(bounce.feedbackId),
                bounce: { bounceType: bounce.bounceType, bounceSubType: bounce.bounceSubType, reportingMta: undefinedIfNull(bounce.reportingMTA) },
            } };
        }
        case "Complaint": {
            const complaint = parseOrThrow(complaintSchema, record.complaint, "complaint object");
            return { kind: "event", event: {
                ...base,
                timestamp: complaint.timestamp,
                recipients: complaint.complainedRecipients.map((r) => ({ email: normaliseEmail(r.emailAddress) })),
                feedbackId: undefinedIfNull(complaint.feedbackId),
                complaint: {
                    feedbackType: undefinedIfNull(complaint.complaintFeedbackType),
                    subType: undefinedIfNull(complaint.complaintSubType),
                    userAgent: undefinedIfNull(complaint.userAgent),
                },
            } };
        }
        case "Delivery": {
            const delivery = parseOrThrow(deliverySchema, record.delivery, "delivery object");
            return { kind: "event", event: {
                ...base,
                timestamp: delivery.timestamp,
                recipients: delivery.recipients.map((email) => ({ email: normaliseEmail(email) })),
                delivery: { smtpResponse: undefinedIfNull(delivery.smtpResponse), processingTimeMillis: delivery.processingTimeMillis },
            } };
        }
        case "DeliveryDelay": {
            const delay = parseOrThrow(delaySchema, record.deliveryDelay, "deliveryDelay object");
            return { kind: "event", event: {
                ...base,
                timestamp: delay.timestamp,
                recipients: delay.delayedRecipients.map(recipientOf),
                delay: { delayType: undefinedIfNull(delay.delayType), expirationTime: undefinedIfNull(delay.expirationTime) },
            } };
        }
        case "Reject": {
            const reject = parseOrThrow(z.optional(z.looseObject({ reason: optionalText })), record.reject, "reject object");
            return { kind: "event", event: { ...base, timestamp: mail.timestamp, recipients: destinations(), reject: { reason: undefinedIfNull(reject?.reason) } } };
        }
        case "RenderingFailure": {
            const failure = parseOrThrow(z.optional(z.looseObject({ errorMessage: optionalText, templateName: optionalText })), record.failure, "failure object");
            return { kind: "event", event: {
                ...base,
                timestamp: mail.timestamp,
                recipients: destinations(),
                failure: { errorMessage: undefinedIfNull(failure?.errorMessage), templateName: undefinedIfNull(failure?.templateName) },
            } };
        }
        case "Send":
            return { kind: "event", event: { ...base, timestamp: mail.timestamp, recipients: destinations() } };
        case "Open": {
            const open = parseOrThrow(engagementSchema, record.open, "open object");
            return { kind: "event", event: {
                ...base, timestamp: open.timestamp, recipients: soleDestination(), occurrence: open.timestamp,
                engagement: { ipAddress: undefinedIfNull(open.ipAddress), userAgent: undefinedIfNull(open.userAgent) },
            } };
        }
        case "Click": {
            const click = parseOrThrow(clickSchema, record.click, "click object");
            return { kind: "event", event: {
                ...base, timestamp: click.timestamp, recipients: soleDestination(),
                // A link can be longer than a sort key allows (1 KB): its digest tells clicks apart.
                occurrence: `${click.timestamp}#${digest(click.link)}`,
                engagement: { ipAddress: undefinedIfNull(click.ipAddress), userAgent: undefinedIfNull(click.userAgent), link: click.link },
            } };
        }
        case "Subscription": {
            const subscription = parseOrThrow(subscriptionSchema, record.subscription, "subscription object");
            return { kind: "event", event: {
                ...base, timestamp: subscription.timestamp, recipients: soleDestination(), occurrence: subscription.timestamp,
                subscription: {
                    contactList: undefinedIfNull(subscription.contactList),
                    source: undefinedIfNull(subscription.source),
                    unsubscribeAll: subscription.newTopicPreferences?.unsubscribeAll,
                },
            } };
        }
    }
}
