// The pipe sends the router's events to the bus in one PutEvents request, and PutEvents refuses a
// request whose entries add up to 256 KB or more ("Calculating Amazon EventBridge PutEvents event
// entry size": Source, DetailType and Detail as UTF-8 bytes, plus 14 for Time). A refused request
// fails the whole batch, valid mail included, so the invalid events' bodies share what is left.
import { ROUTING_DETAIL_TYPE, ROUTING_EVENT_SOURCE, type RouterOutput } from "../shared/routing-event";
import { capBody, MAX_BODY_CHARS } from "./record";

/** 256 KB less a margin for what the pipe may add (e.g. `resources`). */
export const PUT_EVENTS_REQUEST_BUDGET_BYTES = 240 * 1024;

const TIME_BYTES = 14;

/** PutEvents' size of one entry carrying `detail`. */
export function entryBytes(detail: unknown): number {
    return Buffer.byteLength(ROUTING_EVENT_SOURCE) + Buffer.byteLength(ROUTING_DETAIL_TYPE) + Buffer.byteLength(JSON.stringify(detail)) + TIME_BYTES;
}

/**
 * The outputs, with invalid events' bodies cut (and marked truncated) as far as needed for the
 * request to fit; routing events are never changed. Throws when routing events alone do not fit.
 */
export function fitPutEventsRequest(outputs: RouterOutput[], budget = PUT_EVENTS_REQUEST_BUDGET_BYTES): RouterOutput[] {
    const total = outputs.reduce((sum, output) => sum + entryBytes(output), 0);
    if (total <= budget) return outputs;
    const invalid = outputs.filter((o) => "body" in o && o.body.length > 0);
    const bodyBytes = (o: RouterOutput) => ("body" in o ? Buffer.byteLength(JSON.stringify(o.body)) : 0);
    const available = budget - (total - invalid.reduce((sum, o) => sum + bodyBytes(o), 0)) - 2 * invalid.length;
    if (invalid.length === 0 || available < 0) {
        throw new Error(`The routing events of this batch take ${total} bytes, more than one PutEvents request carries (${budget}); the pipe retries the batch and then moves it to the input DLQ.`);
    }
    const share = Math.floor(available / invalid.length);
    return outputs.map((output) => {
        if (!("body" in output) || bodyBytes(output) <= share) return output;
        const capped = capBody(output.body, MAX_BODY_CHARS, share);
        return { ...output, body: capped.body, bodyTruncated: output.bodyTruncated || capped.bodyTruncated };
    });
}
