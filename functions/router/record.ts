// One input SQS record → the mail it carries, or the invalid event that parks it in the input DLQ
// with everything needed to redrive it. A redriven invalid event (EventBridge → input DLQ → redrive
// → input queue) is recognised and its original body is read again, one level deep only.
import { INVALID_ACTION, InvalidRoutingEvent, ROUTING_DETAIL_TYPE } from "../shared/routing-event";
import { parseReceiptNotification, readableIds, readableIdsOfBody, ReceivedMail } from "./notification";

/**
 * The body an invalid event keeps. PutEvents takes at most 256 KB per entry, counted as the UTF-8
 * bytes of `Detail` ("Calculating Amazon EventBridge PutEvents event entry size"); the body is a
 * JSON string inside it, so quotes and backslashes double. 100,000 characters, and never more than
 * {@link MAX_BODY_DETAIL_BYTES} once encoded, leaves room for the rest of the event.
 */
export const MAX_BODY_CHARS = 100_000;
export const MAX_BODY_DETAIL_BYTES = 200_000;

const encodedBytes = (text: string) => Buffer.byteLength(JSON.stringify(text), "utf8");

/** The body cut to the limits (never in the middle of a surrogate pair). */
export function capBody(body: string, maxChars = MAX_BODY_CHARS, maxBytes = MAX_BODY_DETAIL_BYTES): { body: string; bodyTruncated: boolean } {
    if (body.length <= maxChars && encodedBytes(body) <= maxBytes) {
        return { body, bodyTruncated: false };
    }
    let length = Math.min(body.length, maxChars);
    // A character encodes to at most 6 bytes (\uXXXX): shrinking in proportion converges in a few steps.
    for (let bytes = encodedBytes(body.slice(0, length)); bytes > maxBytes; bytes = encodedBytes(body.slice(0, length))) {
        length = Math.max(0, Math.floor((length * maxBytes) / bytes) - 1);
    }
    const code = body.charCodeAt(length - 1);
    if (length > 0 && code >= 0xd800 && code <= 0xdbff) length -= 1;
    return { body: body.slice(0, length), bodyTruncated: true };
}

export function invalidEvent(sqsMessageId: string, body: string, reason: string, ids: { messageId?: string; s3?: { bucket: string; key: string } }, truncated = false): InvalidRoutingEvent {
    const capped = capBody(body);
    return {
        ...(ids.messageId ? { messageId: ids.messageId } : {}),
        ...(ids.s3 ? { s3: ids.s3 } : {}),
        sqsMessageId,
        reason,
        body: capped.body,
        bodyTruncated: capped.bodyTruncated || truncated,
        decisions: [{ action: INVALID_ACTION, recipients: [], reason, labels: [] }],
    };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The routing event's `detail` when the body is an "Email Routing Decision" event as EventBridge delivers it to SQS. */
function routingEventDetail(body: string): Record<string, unknown> | undefined {
    if (!body.includes(ROUTING_DETAIL_TYPE)) return undefined;
    try {
        const event: unknown = JSON.parse(body);
        return isObject(event) && event["detail-type"] === ROUTING_DETAIL_TYPE && isObject(event.detail) ? event.detail : undefined;
    } catch {
        return undefined;
    }
}

export type ReadRecord =
    | { mail: ReceivedMail; redriven: boolean }
    | { invalid: InvalidRoutingEvent; redriven: boolean };

/** Reads one input record: an SES receipt notification, or a redriven invalid event around one. */
export function readRecord(record: { messageId: string; body: string }): ReadRecord {
    const detail = routingEventDetail(record.body);
    if (!detail) {
        return readBody(record.messageId, record.body, false);
    }
    const s3 = isObject(detail.s3) ? detail.s3 : {};
    const ids = readableIds({ mail: { messageId: detail.messageId }, receipt: { action: { bucketName: s3.bucket, objectKey: s3.key } } });
    const decisions = Array.isArray(detail.decisions) ? detail.decisions : [];
    const first = isObject(decisions[0]) ? decisions[0] : {};
    if (first.action !== INVALID_ACTION) {
        const reason = `An "${ROUTING_DETAIL_TYPE}" event with ${JSON.stringify(first.action)} decisions is not an input message; only invalid events are redriven into the input queue`;
        return { invalid: invalidEvent(record.messageId, record.body, reason, ids), redriven: false };
    }
    if (typeof detail.body !== "string") {
        return { invalid: invalidEvent(record.messageId, record.body, "Redriven invalid event carries no body", ids), redriven: false };
    }
    if (detail.bodyTruncated === true) {
        const where = ids.s3 ? `; the mail is at s3://${ids.s3.bucket}/${ids.s3.key}` : "";
        const reason = `Redriven invalid event's body was truncated and cannot be routed${where} (first reason: ${String(detail.reason)})`;
        return { invalid: invalidEvent(record.messageId, detail.body, reason, ids, true), redriven: true };
    }
    // The original body is read as the record was; a body that is itself an event is not unwrapped again.
    return readBody(record.messageId, detail.body, true);
}

function readBody(sqsMessageId: string, body: string, redriven: boolean): ReadRecord {
    try {
        return { mail: parseReceiptNotification(body), redriven };
    } catch (error) {
        return { invalid: invalidEvent(sqsMessageId, body, (error as Error).message, readableIdsOfBody(body)), redriven };
    }
}
