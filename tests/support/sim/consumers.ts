// The two pollers of the inbound flow, modelled on their documentation.
//
// Lambda event source mapping for SQS ("Using Lambda with Amazon SQS", "Configuring scaling
// behavior for SQS event source mappings", "Handling errors for an SQS event source"):
// - receives up to BatchSize messages (with the queue's visibility timeout; each receive raises
//   ApproximateReceiveCount) and invokes the function synchronously with them;
// - success deletes the batch; with ReportBatchItemFailures only the records not listed in
//   `batchItemFailures` are deleted, and a response naming an id that is not in the batch (or empty)
//   fails the whole batch; an error, crash or timeout fails the whole batch: nothing is deleted and
//   the messages return after their visibility timeout (then the queue's redrive policy applies);
// - at most MaximumConcurrency concurrent invocations ("Configuring maximum concurrency for Amazon
//   SQS event sources"); without it Lambda starts with five concurrent batches;
// - reserved concurrency does not stop the pollers: an invocation beyond it is throttled and its
//   messages return after the visibility timeout with their receive count raised.
//
// EventBridge Pipes with an SQS source ("Amazon EventBridge Pipes batching and concurrency"):
// - polls batches of the source's batch size, waiting up to the batching window to fill one;
// - sends the whole batch as one JSON array to the Lambda enrichment (payload limit 6 MB);
// - "partial batch failure is not supported for the enrichment": an enrichment error fails the whole
//   batch (retried through the enrichment after the visibility timeout, then the redrive policy);
// - an enrichment result longer than the target's batch size (event bus: 10) means "the pipe will
//   not invoke the target": the batch fails;
// - otherwise each returned element becomes one PutEvents entry (Detail = the element, Source and
//   DetailType from the target parameters); any failed entry fails the batch, so the whole batch
//   comes back through the pipe ("this retry occurs through the entire pipe, including re-invoking
//   any configured enrichment") and entries already put are put again.
import type { Rng, VirtualClock } from "./clock";
import type { EventBusModel } from "./eventbridge";
import type { InvokeOutcome, SimFunction } from "./lambda";
import type { MappingSpec, PipeSpec } from "./plan";
import type { ReceivedMessage, SqsModel } from "./sqs";

/** "Configuring scaling behavior for SQS event source mappings": Lambda starts with five concurrent batches. */
export const DEFAULT_MAPPING_CONCURRENCY = 5;
/** Batch limit of an event bus target ("Supported batchable targets"). */
export const EVENT_BUS_TARGET_BATCH = 10;
/** Payload limit of a Lambda enrichment, for the whole batch. */
export const ENRICHMENT_PAYLOAD_BYTES = 6 * 1024 * 1024;

export interface LambdaSqsRecord {
    messageId: string;
    receiptHandle: string;
    body: string;
    attributes: ReceivedMessage["attributes"];
    messageAttributes: Record<string, { stringValue?: string; binaryValue?: string; stringListValues: string[]; binaryListValues: string[]; dataType: string }>;
    md5OfBody: string;
    eventSource: "aws:sqs";
    eventSourceARN: string;
    awsRegion: string;
}

/** A received message as Lambda (and Pipes) hand it to a function. */
export function lambdaRecord(message: ReceivedMessage, queueArn: string, region: string): LambdaSqsRecord {
    return {
        messageId: message.messageId,
        receiptHandle: message.receiptHandle,
        body: message.body,
        attributes: message.attributes,
        messageAttributes: Object.fromEntries(Object.entries(message.messageAttributes).map(([name, value]) => [name, {
            ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
            ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString("base64") } : {}),
            stringListValues: [], binaryListValues: [], dataType: value.DataType,
        }])),
        md5OfBody: message.md5OfBody,
        eventSource: "aws:sqs",
        eventSourceARN: queueArn,
        awsRegion: region,
    };
}

export interface Poller {
    readonly name: string;
    readonly sourceArn: string;
    /** When a batch could start (now or later), or undefined when it must wait for something else. */
    wakeAt(): number | undefined;
    /** Starts one batch now; undefined if there is nothing to take. */
    startBatch(): Promise<void> | undefined;
}

export interface BatchFailure {
    at: number;
    poller: string;
    reason: string;
    messageIds: string[];
}

/** When a poller with this batch size and window would take a batch from these visible messages. */
function batchReadyAt(visible: { visibleAt: number }[], batchSize: number, windowSeconds: number): number | undefined {
    if (visible.length === 0) return undefined;
    const oldest = Math.min(...visible.map((m) => m.visibleAt));
    return visible.length >= batchSize ? oldest : oldest + 1000 * windowSeconds;
}

function describe(outcome: InvokeOutcome): string {
    switch (outcome.kind) {
        case "error": return `function error: ${(outcome.error as Error)?.message ?? String(outcome.error)}`;
        case "crash": return "execution environment crashed";
        case "timeout": return "function timed out";
        case "throttled": return "throttled (reserved concurrency)";
        default: return "ok";
    }
}

/**
 * Whether (and at which external call) this batch's invocation crashes: at most once for any
 * message, so injected crashes alone never use up a queue's receive budget.
 */
function injectCrash(crashed: Set<string>, records: LambdaSqsRecord[], rng: Rng, rate: number, calls: number): number | undefined {
    if (records.some((r) => crashed.has(r.messageId)) || !rng.chance(rate)) return undefined;
    records.forEach((r) => crashed.add(r.messageId));
    return rng.int(1, Math.max(1, calls));
}

/** What both SQS pollers (a Lambda event source mapping, a pipe) share: receive a batch, count it, process it. */
abstract class BatchPoller {
    protected readonly crashed = new Set<string>();
    public running = 0;
    public peak = 0;
    public batches = 0;
    public readonly failures: BatchFailure[] = [];

    protected constructor(protected readonly sqs: SqsModel, private readonly source: { sourceArn: string; batchSize: number }) {}

    public get sourceArn(): string {
        return this.source.sourceArn;
    }

    public startBatch(): Promise<void> | undefined {
        const received = this.sqs.receive(this.source.sourceArn, Math.min(this.source.batchSize, 10));
        if (received.length === 0) return undefined;
        this.running += 1;
        this.peak = Math.max(this.peak, this.running);
        this.batches += 1;
        return this.process(received).finally(() => (this.running -= 1));
    }

    protected abstract process(received: ReceivedMessage[]): Promise<void>;
}

export class SqsEventSourceMapping extends BatchPoller implements Poller {
    public readonly maxConcurrency: number;

    constructor(
        public readonly spec: MappingSpec,
        private readonly fn: SimFunction,
        sqs: SqsModel,
        private readonly clock: VirtualClock,
        private readonly rng: Rng,
        private readonly faults: { crashRate: number } = { crashRate: 0 },
        private readonly region = "us-east-1",
    ) {
        super(sqs, spec);
        this.maxConcurrency = spec.maximumConcurrency ?? DEFAULT_MAPPING_CONCURRENCY;
    }

    public get name(): string {
        return `${this.spec.logicalName} → ${this.fn.name}`;
    }

    public wakeAt(): number | undefined {
        if (!this.spec.enabled || this.running >= this.maxConcurrency) return undefined;
        return batchReadyAt(this.sqs.visible(this.spec.sourceArn), this.spec.batchSize, this.spec.windowSeconds);
    }

    protected async process(received: ReceivedMessage[]): Promise<void> {
        const records = received.map((m) => lambdaRecord(m, this.spec.sourceArn, this.region));
        const crashAtCall = injectCrash(this.crashed, records, this.rng, this.faults.crashRate, 4 * records.length);
        const outcome = await this.fn.invoke({ Records: records }, { crashAtCall });
        const queueUrl = this.sqs.spec(this.spec.sourceArn).url;
        const fail = (reason: string) => this.failures.push({ at: this.clock.now(), poller: this.name, reason, messageIds: records.map((r) => r.messageId) });
        if (outcome.kind !== "ok") {
            fail(describe(outcome));
            return;
        }
        let failed = new Set<string>();
        if (this.spec.reportBatchItemFailures) {
            const items = (outcome.value as { batchItemFailures?: { itemIdentifier?: unknown }[] } | null | undefined)?.batchItemFailures ?? [];
            const ids = new Set(records.map((r) => r.messageId));
            if (items.some((item) => typeof item?.itemIdentifier !== "string" || !ids.has(item.itemIdentifier))) {
                fail(`invalid batchItemFailures ${JSON.stringify(items)}: the whole batch fails`);
                return;
            }
            failed = new Set(items.map((item) => item.itemIdentifier as string));
            if (failed.size > 0) this.failures.push({ at: this.clock.now(), poller: this.name, reason: "reported batch item failures", messageIds: [...failed] });
        }
        for (const record of records.filter((r) => !failed.has(r.messageId))) {
            this.sqs.deleteMessage({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle });
        }
    }
}

export class PipeModel extends BatchPoller implements Poller {
    constructor(
        public readonly spec: PipeSpec,
        private readonly enrichment: SimFunction | undefined,
        private readonly bus: EventBusModel,
        sqs: SqsModel,
        private readonly clock: VirtualClock,
        private readonly rng: Rng,
        private readonly options: { concurrency: number; crashRate: number; region: string },
    ) {
        super(sqs, spec);
    }

    public get name(): string {
        return `pipe ${this.spec.name}`;
    }

    public wakeAt(): number | undefined {
        if (this.running >= this.options.concurrency) return undefined;
        return batchReadyAt(this.sqs.visible(this.spec.sourceArn), this.spec.batchSize, this.spec.windowSeconds);
    }

    protected async process(received: ReceivedMessage[]): Promise<void> {
        const records = received.map((m) => lambdaRecord(m, this.spec.sourceArn, this.options.region));
        const fail = (reason: string) => {
            this.failures.push({ at: this.clock.now(), poller: this.name, reason, messageIds: records.map((r) => r.messageId) });
        };
        let outputs: unknown[] = records;
        if (this.enrichment) {
            if (Buffer.byteLength(JSON.stringify(records)) > ENRICHMENT_PAYLOAD_BYTES) return fail("enrichment payload over 6 MB");
            const crashAtCall = injectCrash(this.crashed, records, this.rng, this.options.crashRate, 3);
            const outcome = await this.enrichment.invoke(records, { crashAtCall });
            if (outcome.kind !== "ok") return fail(`enrichment failed: ${describe(outcome)}`);
            if (outcome.value !== undefined && Buffer.byteLength(JSON.stringify(outcome.value)) > ENRICHMENT_PAYLOAD_BYTES) return fail("enrichment response over 6 MB");
            outputs = Array.isArray(outcome.value) ? outcome.value : outcome.value === undefined || outcome.value === null ? [] : [outcome.value];
        }
        if (outputs.length > EVENT_BUS_TARGET_BATCH) {
            return fail(`enrichment returned ${outputs.length} events for ${records.length} records; the pipe does not invoke an event-bus target with more than ${EVENT_BUS_TARGET_BATCH}`);
        }
        if (outputs.length > 0) {
            try {
                const result = this.bus.putEvents({
                    Entries: outputs.map((output) => ({ Source: this.spec.source, DetailType: this.spec.detailType, Detail: JSON.stringify(output), EventBusName: this.spec.targetArn })),
                });
                if (result.FailedEntryCount > 0) {
                    return fail(`PutEvents failed ${result.FailedEntryCount} entries: ${JSON.stringify(result.Entries.filter((e) => "ErrorCode" in e))}`);
                }
            } catch (error) {
                return fail(`PutEvents: ${(error as Error).name}: ${(error as Error).message}`);
            }
        }
        const queueUrl = this.sqs.spec(this.spec.sourceArn).url;
        for (const record of records) this.sqs.deleteMessage({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle });
    }
}
