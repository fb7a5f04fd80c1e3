import * as z from "zod/mini";
import { InvalidInputError, parseOrThrow } from "./email";

function decodeJson(text: unknown): unknown {
    if (typeof text !== "string") return text;
    try {
        return JSON.parse(text);
    } catch {
        throw new InvalidInputError(`Message body is not JSON: ${text.slice(0, 80)}`);
    }
}

const snsEnvelope = z.looseObject({ Type: z.string(), Message: z.optional(z.string()) });

/**
 * An SQS body that may be an SNS envelope (raw message delivery off) around the real message.
 * `snsType` is set for envelopes; `message` is undefined for envelopes that carry no notification.
 */
export function decodeSqsBody(body: unknown): { message: unknown; snsType?: string } {
    const outer = decodeJson(body);
    const envelope = snsEnvelope.safeParse(outer);
    if (!envelope.success) return { message: outer };
    const { Type, Message } = envelope.data;
    return { message: Type === "Notification" && Message !== undefined ? decodeJson(Message) : undefined, snsType: Type };
}

/** The `detail` of an EventBridge event delivered through SQS (a routing decision), validated. */
export function eventDetail<S extends z.ZodMiniType>(body: string, schema: S, what: string): z.output<S> {
    let event: { detail?: unknown } = {};
    try {
        event = JSON.parse(body);
    } catch {
        // reported by the schema: the detail is missing
    }
    return parseOrThrow(schema, event?.detail, what);
}
