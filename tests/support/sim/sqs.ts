// An in-memory model of Amazon SQS standard queues, built from the plan's queues. Every limit and
// behaviour below is documented; none is kinder than SQS:
// - "Amazon SQS visibility timeout": a received message is hidden for the queue's (or the call's)
//   visibility timeout, then visible again; ChangeMessageVisibility only for in-flight messages, at
//   most 12 hours after it was received; each receive returns a new receipt handle.
// - DeleteMessage: "If you receive a message more than once, each time you receive it, you get a
//   different receipt handle. You must provide the most recently received receipt handle ...
//   (otherwise, the request succeeds, but the message might not be deleted)" — a stale handle
//   deletes nothing here.
// - "Amazon SQS standard queues" (at-least-once delivery): "On rare occasions, one of the servers
//   that stores a copy of a message might be unavailable when you receive or delete a message ...
//   you might get that message copy again" — `duplicateRate` keeps a deleted message's copy, which
//   comes back after its visibility timeout. Best-effort ordering: receives sample visible messages
//   in random order, and a long poll may return fewer messages than are available.
// - "Using dead-letter queues in Amazon SQS": when ApproximateReceiveCount exceeds maxReceiveCount
//   the message moves to the DLQ (on the receive that would exceed it); the DLQ keeps the original
//   enqueue timestamp, so retention counts from the first send.
// - "Amazon SQS message quotas": body plus attributes ≤ 262,144 bytes (256 KB), ≤ 10 attributes,
//   ≤ 10 entries per batch and ≤ 256 KB per batch request, batch ids [A-Za-z0-9_-]{1,80}, delay
//   ≤ 15 minutes, visibility ≤ 12 hours, retention from 60 s to 14 days; only the XML character
//   ranges #x9 #xA #xD #x20–#xD7FF #xE000–#xFFFD #x10000–#x10FFFF in a body.
import { createHash, randomUUID } from "node:crypto";
import {
    BatchEntryIdsNotDistinct, BatchRequestTooLong, EmptyBatchRequest, InvalidBatchEntryId, InvalidMessageContents,
    MessageNotInflight, QueueDoesNotExist, ReceiptHandleIsInvalid, TooManyEntriesInBatchRequest,
} from "@aws-sdk/client-sqs";
import type { Rng, VirtualClock } from "./clock";
import { sdkException, serviceError } from "./errors";
import type { QueueSpec } from "./plan";

export const MAX_MESSAGE_BYTES = 262_144;
export const MAX_BATCH_ENTRIES = 10;
export const MAX_ATTRIBUTES = 10;
export const MAX_DELAY_SECONDS = 900;
export const MAX_VISIBILITY_SECONDS = 43_200;

export interface MessageAttributeValue {
    DataType: string;
    StringValue?: string;
    BinaryValue?: Uint8Array;
}

export interface StoredMessage {
    messageId: string;
    body: string;
    md5: string;
    messageAttributes: Record<string, MessageAttributeValue>;
    sentAt: number;
    /** When it is (again) visible: after a delay, or after its visibility timeout. */
    visibleAt: number;
    receiveCount: number;
    firstReceiveAt?: number;
    lastReceiveAt?: number;
    /** The receipt handle of the latest receive. */
    receipt?: string;
}

/** A message as a consumer receives it (the shape Lambda and Pipes put into their SQS records). */
export interface ReceivedMessage {
    messageId: string;
    receiptHandle: string;
    body: string;
    md5OfBody: string;
    attributes: { ApproximateReceiveCount: string; SentTimestamp: string; SenderId: string; ApproximateFirstReceiveTimestamp: string };
    messageAttributes: Record<string, MessageAttributeValue>;
}

export interface QueueEvent {
    at: number;
    kind: "sent" | "received" | "deleted" | "stale-delete" | "duplicate-kept" | "dead-lettered" | "expired" | "visibility";
    queue: string;
    messageId: string;
    detail?: string;
}

interface Queue {
    spec: QueueSpec;
    messages: Map<string, StoredMessage>;
}

export interface SqsModelOptions {
    /** Probability that a DeleteMessage leaves a copy that is delivered again. @default 0 */
    duplicateRate?: number;
    /** Probability that a receive returns fewer messages than are available (at least one). @default 0.3 */
    partialReceiveRate?: number;
    /** Probability that one entry of a batch request fails with an internal error. @default 0 */
    batchEntryFailureRate?: number;
}

const md5 = (text: string) => createHash("md5").update(text, "utf8").digest("hex");
// The characters SQS accepts in a body ("Amazon SQS message quotas", message content).
const INVALID_CHARACTERS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;

function attributesSize(attributes: Record<string, MessageAttributeValue> = {}): number {
    return Object.entries(attributes).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? "")
        + (value.StringValue !== undefined ? Buffer.byteLength(value.StringValue) : 0) + (value.BinaryValue?.length ?? 0), 0);
}

export class SqsModel {
    private readonly queues = new Map<string, Queue>();
    private readonly byUrl = new Map<string, Queue>();
    private readonly receipts = new Map<string, { queue: Queue; messageId: string }>();
    public readonly events: QueueEvent[] = [];
    public duplicatesKept = 0;

    constructor(specs: QueueSpec[], private readonly clock: VirtualClock, private readonly rng: Rng, private readonly options: SqsModelOptions = {}) {
        for (const spec of specs) {
            const queue = { spec, messages: new Map<string, StoredMessage>() };
            this.queues.set(spec.arn, queue);
            this.byUrl.set(spec.url, queue);
        }
    }

    public spec(arnOrUrl: string): QueueSpec {
        return this.queue(arnOrUrl).spec;
    }

    private queue(arnOrUrl: string): Queue {
        const queue = this.queues.get(arnOrUrl) ?? this.byUrl.get(arnOrUrl);
        if (!queue) throw sdkException(QueueDoesNotExist, `The specified queue does not exist: ${arnOrUrl}`);
        return queue;
    }

    private log(kind: QueueEvent["kind"], queue: Queue, messageId: string, detail?: string): void {
        this.events.push({ at: this.clock.now(), kind, queue: queue.spec.name, messageId, detail });
    }

    // ---- sending ----

    /** Why SQS would refuse this message, or undefined. */
    private invalid(body: unknown, attributes: Record<string, MessageAttributeValue> | undefined, delaySeconds: number | undefined): Error | undefined {
        if (typeof body !== "string" || body.length === 0) return serviceError("MissingParameter", "The request must contain the parameter MessageBody.");
        if (INVALID_CHARACTERS.test(body)) return sdkException(InvalidMessageContents, "Invalid characters found.");
        const attrs = attributes ?? {};
        if (Object.keys(attrs).length > MAX_ATTRIBUTES) return serviceError("InvalidParameterValue", `Number of message attributes [${Object.keys(attrs).length}] exceeds the allowed maximum [${MAX_ATTRIBUTES}].`);
        for (const [name, value] of Object.entries(attrs)) {
            if (!value?.DataType) return serviceError("InvalidParameterValue", `The message attribute '${name}' must contain a non-empty message attribute type.`);
            if (value.StringValue === undefined && value.BinaryValue === undefined) return serviceError("InvalidParameterValue", `The message attribute '${name}' must contain a non-empty message attribute value.`);
        }
        const size = Buffer.byteLength(body) + attributesSize(attrs);
        if (size > MAX_MESSAGE_BYTES) return serviceError("InvalidParameterValue", `One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`);
        if (delaySeconds !== undefined && (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > MAX_DELAY_SECONDS)) {
            return serviceError("InvalidParameterValue", `Value ${delaySeconds} for parameter DelaySeconds is invalid. Reason: must be between 0 and ${MAX_DELAY_SECONDS}.`);
        }
        return undefined;
    }

    private store(queue: Queue, body: string, attributes: Record<string, MessageAttributeValue> | undefined, delaySeconds: number | undefined, sentAt = this.clock.now()): StoredMessage {
        const now = this.clock.now();
        const message: StoredMessage = {
            messageId: randomUUID(), body, md5: md5(body), messageAttributes: { ...(attributes ?? {}) },
            sentAt, visibleAt: now + 1000 * (delaySeconds ?? queue.spec.delaySeconds), receiveCount: 0,
        };
        queue.messages.set(message.messageId, message);
        this.log("sent", queue, message.messageId);
        return message;
    }

    public sendMessage(input: { QueueUrl?: string; MessageBody?: string; DelaySeconds?: number; MessageAttributes?: Record<string, MessageAttributeValue> }) {
        const queue = this.queue(input.QueueUrl ?? "");
        const problem = this.invalid(input.MessageBody, input.MessageAttributes, input.DelaySeconds);
        if (problem) throw problem;
        const message = this.store(queue, input.MessageBody!, input.MessageAttributes, input.DelaySeconds);
        return { MessageId: message.messageId, MD5OfMessageBody: message.md5 };
    }

    private checkBatch(entries: { Id?: string }[] | undefined, size = 0): void {
        if (!entries || entries.length === 0) throw sdkException(EmptyBatchRequest, "There should be at least one SendMessageBatchRequestEntry in the request.");
        if (entries.length > MAX_BATCH_ENTRIES) throw sdkException(TooManyEntriesInBatchRequest, `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`);
        const ids = entries.map((e) => e.Id ?? "");
        if (new Set(ids).size !== ids.length) throw sdkException(BatchEntryIdsNotDistinct, "Id values of batch entries must be unique.");
        const bad = ids.find((id) => !BATCH_ID.test(id));
        if (bad !== undefined) throw sdkException(InvalidBatchEntryId, `A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long: ${bad}`);
        if (size > MAX_MESSAGE_BYTES) throw sdkException(BatchRequestTooLong, `Batch requests cannot be longer than ${MAX_MESSAGE_BYTES} bytes. You have sent ${size} bytes.`);
    }

    private injectedEntryFailure(id: string) {
        return this.rng.chance(this.options.batchEntryFailureRate ?? 0) ? { Id: id, SenderFault: false, Code: "InternalError", Message: "We encountered an internal error. Please try again." } : undefined;
    }

    public sendMessageBatch(input: { QueueUrl?: string; Entries?: { Id?: string; MessageBody?: string; DelaySeconds?: number; MessageAttributes?: Record<string, MessageAttributeValue> }[] }) {
        const queue = this.queue(input.QueueUrl ?? "");
        const entries = input.Entries ?? [];
        this.checkBatch(entries, entries.reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody ?? "") + attributesSize(e.MessageAttributes), 0));
        const Successful: { Id: string; MessageId: string; MD5OfMessageBody: string }[] = [];
        const Failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
        for (const entry of entries) {
            const problem = this.invalid(entry.MessageBody, entry.MessageAttributes, entry.DelaySeconds);
            if (problem) {
                Failed.push({ Id: entry.Id!, SenderFault: true, Code: problem.name, Message: problem.message });
                continue;
            }
            const injected = this.injectedEntryFailure(entry.Id!);
            if (injected) {
                Failed.push(injected);
                continue;
            }
            const message = this.store(queue, entry.MessageBody!, entry.MessageAttributes, entry.DelaySeconds);
            Successful.push({ Id: entry.Id!, MessageId: message.messageId, MD5OfMessageBody: message.md5 });
        }
        return { Successful, Failed };
    }

    // ---- receiving ----

    private expire(queue: Queue): void {
        const now = this.clock.now();
        for (const message of queue.messages.values()) {
            if (message.sentAt + 1000 * queue.spec.messageRetentionSeconds <= now) {
                queue.messages.delete(message.messageId);
                this.log("expired", queue, message.messageId);
            }
        }
    }

    private deadLetter(queue: Queue, message: StoredMessage): void {
        queue.messages.delete(message.messageId);
        const target = this.queue(queue.spec.redrive!.deadLetterTargetArn);
        const moved: StoredMessage = { ...message, visibleAt: this.clock.now(), receiveCount: 0, firstReceiveAt: undefined, receipt: undefined };
        target.messages.set(moved.messageId, moved);
        this.log("dead-lettered", queue, message.messageId, target.spec.name);
    }

    /** Visible messages, for consumers that wait to fill a batch. */
    public visible(arnOrUrl: string): StoredMessage[] {
        const queue = this.queue(arnOrUrl);
        this.expire(queue);
        const now = this.clock.now();
        return [...queue.messages.values()].filter((m) => m.visibleAt <= now);
    }

    /** Receives up to `max` messages as a consumer would (ReceiveMessage with every attribute). */
    public receive(arnOrUrl: string, max: number, visibilityTimeoutSeconds?: number): ReceivedMessage[] {
        const queue = this.queue(arnOrUrl);
        if (!Number.isInteger(max) || max < 1 || max > MAX_BATCH_ENTRIES) {
            throw serviceError("InvalidParameterValue", `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and ${MAX_BATCH_ENTRIES}, if provided.`);
        }
        const visibility = visibilityTimeoutSeconds ?? queue.spec.visibilityTimeoutSeconds;
        if (visibility < 0 || visibility > MAX_VISIBILITY_SECONDS) throw serviceError("InvalidParameterValue", `Value ${visibility} for parameter VisibilityTimeout is invalid.`);
        const now = this.clock.now();
        const out: ReceivedMessage[] = [];
        for (const message of this.rng.shuffle(this.visible(arnOrUrl))) {
            if (out.length >= max) break;
            if (queue.spec.redrive && message.receiveCount >= queue.spec.redrive.maxReceiveCount) {
                this.deadLetter(queue, message);
                continue;
            }
            message.receiveCount += 1;
            message.firstReceiveAt ??= now;
            message.lastReceiveAt = now;
            if (message.receipt) this.receipts.delete(message.receipt);
            message.receipt = `${queue.spec.name}#${message.messageId}#${randomUUID()}`;
            this.receipts.set(message.receipt, { queue, messageId: message.messageId });
            message.visibleAt = now + 1000 * visibility;
            this.log("received", queue, message.messageId, String(message.receiveCount));
            out.push({
                messageId: message.messageId,
                receiptHandle: message.receipt,
                body: message.body,
                md5OfBody: message.md5,
                attributes: {
                    ApproximateReceiveCount: String(message.receiveCount),
                    SentTimestamp: String(message.sentAt),
                    SenderId: "AIDAIENQZJOLO23YVJ4VO",
                    ApproximateFirstReceiveTimestamp: String(message.firstReceiveAt),
                },
                messageAttributes: structuredClone(message.messageAttributes),
            });
            // A long poll returns as soon as it has something: sometimes fewer than are available.
            if (this.rng.chance(this.options.partialReceiveRate ?? 0.3)) break;
        }
        return out;
    }

    /** ReceiveMessage as the API answers it (attributes only when asked for). */
    public receiveMessage(input: { QueueUrl?: string; MaxNumberOfMessages?: number; VisibilityTimeout?: number; AttributeNames?: string[]; MessageSystemAttributeNames?: string[]; MessageAttributeNames?: string[] }) {
        const received = this.receive(input.QueueUrl ?? "", input.MaxNumberOfMessages ?? 1, input.VisibilityTimeout);
        const wanted = new Set([...(input.AttributeNames ?? []), ...(input.MessageSystemAttributeNames ?? [])]);
        const wantedAttributes = input.MessageAttributeNames ?? [];
        const pickAttributes = (attributes: Record<string, MessageAttributeValue>) => Object.fromEntries(Object.entries(attributes)
            .filter(([name]) => wantedAttributes.some((w) => w === "All" || w === ".*" || w === name || (w.endsWith(".*") && name.startsWith(w.slice(0, -1))))));
        const messages = received.map((m) => ({
            MessageId: m.messageId,
            ReceiptHandle: m.receiptHandle,
            MD5OfBody: m.md5OfBody,
            Body: m.body,
            ...(wanted.size > 0 ? { Attributes: Object.fromEntries(Object.entries(m.attributes).filter(([name]) => wanted.has("All") || wanted.has(name))) } : {}),
            ...(Object.keys(pickAttributes(m.messageAttributes)).length > 0 ? { MessageAttributes: pickAttributes(m.messageAttributes) } : {}),
        }));
        return messages.length > 0 ? { Messages: messages } : {};
    }

    private byReceipt(queue: Queue, handle: string | undefined): { message?: StoredMessage; stale: boolean } {
        const known = handle ? this.receipts.get(handle) : undefined;
        if (!handle || !handle.startsWith(`${queue.spec.name}#`)) throw sdkException(ReceiptHandleIsInvalid, `The input receipt handle "${handle}" is not a valid receipt handle.`);
        const messageId = known?.messageId ?? handle.split("#")[1];
        const message = queue.messages.get(messageId);
        return { message, stale: message !== undefined && message.receipt !== handle };
    }

    public deleteMessage(input: { QueueUrl?: string; ReceiptHandle?: string }): Record<string, never> {
        const queue = this.queue(input.QueueUrl ?? "");
        const { message, stale } = this.byReceipt(queue, input.ReceiptHandle);
        if (!message) return {};
        if (stale) {
            this.log("stale-delete", queue, message.messageId);
            return {};
        }
        if (this.rng.chance(this.options.duplicateRate ?? 0)) {
            // The copy on an unavailable server survives and is received again after its timeout.
            this.duplicatesKept += 1;
            this.log("duplicate-kept", queue, message.messageId);
            return {};
        }
        queue.messages.delete(message.messageId);
        this.receipts.delete(input.ReceiptHandle!);
        this.log("deleted", queue, message.messageId);
        return {};
    }

    public changeMessageVisibility(input: { QueueUrl?: string; ReceiptHandle?: string; VisibilityTimeout?: number }): Record<string, never> {
        const queue = this.queue(input.QueueUrl ?? "");
        const timeout = input.VisibilityTimeout ?? -1;
        if (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_VISIBILITY_SECONDS) throw serviceError("InvalidParameterValue", `Value ${timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and ${MAX_VISIBILITY_SECONDS}.`);
        const { message, stale } = this.byReceipt(queue, input.ReceiptHandle);
        const now = this.clock.now();
        if (!message || stale) throw sdkException(ReceiptHandleIsInvalid, `The input receipt handle "${input.ReceiptHandle}" is not a valid receipt handle.`);
        if (message.visibleAt <= now) throw sdkException(MessageNotInflight, "The specified message isn't in flight.");
        if (now + 1000 * timeout > (message.lastReceiveAt ?? now) + 1000 * MAX_VISIBILITY_SECONDS) {
            throw serviceError("InvalidParameterValue", "Value for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds].");
        }
        message.visibleAt = now + 1000 * timeout;
        this.log("visibility", queue, message.messageId, String(timeout));
        return {};
    }

    private batchEach<E extends { Id?: string }>(input: { QueueUrl?: string; Entries?: E[] }, each: (entry: E) => void) {
        this.checkBatch(input.Entries);
        const Successful: { Id: string }[] = [];
        const Failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
        for (const entry of input.Entries!) {
            try {
                const injected = this.injectedEntryFailure(entry.Id!);
                if (injected) {
                    Failed.push(injected);
                    continue;
                }
                each(entry);
                Successful.push({ Id: entry.Id! });
            } catch (error) {
                Failed.push({ Id: entry.Id!, SenderFault: true, Code: (error as Error).name, Message: (error as Error).message });
            }
        }
        return { Successful, Failed };
    }

    public deleteMessageBatch(input: { QueueUrl?: string; Entries?: { Id?: string; ReceiptHandle?: string }[] }) {
        return this.batchEach(input, (entry) => this.deleteMessage({ QueueUrl: input.QueueUrl, ReceiptHandle: entry.ReceiptHandle }));
    }

    public changeMessageVisibilityBatch(input: { QueueUrl?: string; Entries?: { Id?: string; ReceiptHandle?: string; VisibilityTimeout?: number }[] }) {
        return this.batchEach(input, (entry) => this.changeMessageVisibility({ QueueUrl: input.QueueUrl, ReceiptHandle: entry.ReceiptHandle, VisibilityTimeout: entry.VisibilityTimeout }));
    }

    public getQueueAttributes(input: { QueueUrl?: string; AttributeNames?: string[] }) {
        const queue = this.queue(input.QueueUrl ?? "");
        this.expire(queue);
        const now = this.clock.now();
        const messages = [...queue.messages.values()];
        const all: Record<string, string> = {
            QueueArn: queue.spec.arn,
            ApproximateNumberOfMessages: String(messages.filter((m) => m.visibleAt <= now).length),
            ApproximateNumberOfMessagesNotVisible: String(messages.filter((m) => m.visibleAt > now && m.receiveCount > 0).length),
            ApproximateNumberOfMessagesDelayed: String(messages.filter((m) => m.visibleAt > now && m.receiveCount === 0).length),
            VisibilityTimeout: String(queue.spec.visibilityTimeoutSeconds),
            MessageRetentionPeriod: String(queue.spec.messageRetentionSeconds),
            DelaySeconds: String(queue.spec.delaySeconds),
            ...(queue.spec.redrive ? { RedrivePolicy: JSON.stringify(queue.spec.redrive) } : {}),
        };
        const names = input.AttributeNames ?? [];
        return { Attributes: names.includes("All") ? all : Object.fromEntries(Object.entries(all).filter(([name]) => names.includes(name))) };
    }

    public getQueueUrl(input: { QueueName?: string }) {
        const queue = [...this.queues.values()].find((q) => q.spec.name === input.QueueName);
        if (!queue) throw sdkException(QueueDoesNotExist, "The specified queue does not exist.");
        return { QueueUrl: queue.spec.url };
    }

    // ---- for the harness ----

    /** Every message a queue holds (visible, in flight or delayed). */
    public messages(arnOrUrl: string): StoredMessage[] {
        const queue = this.queue(arnOrUrl);
        this.expire(queue);
        return [...queue.messages.values()];
    }

    /** The next moment a message of these queues becomes visible (after `now`), if any. */
    public nextVisibleAt(arns: string[]): number | undefined {
        const now = this.clock.now();
        let next: number | undefined;
        for (const arn of arns) {
            for (const message of this.queue(arn).messages.values()) {
                if (message.visibleAt > now && (next === undefined || message.visibleAt < next)) next = message.visibleAt;
            }
        }
        return next;
    }
}
