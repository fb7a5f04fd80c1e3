// The feedback worker as a long-running consumer (EKS, ECS, a VM): it long-polls the feedback queue
// and runs the Lambda's own record processing (record.ts) on each batch. SQS behaviour it relies on
// ("Amazon SQS visibility timeout", "Setting-up long polling", the ReceiveMessage,
// ChangeMessageVisibility and DeleteMessageBatch API references):
// - A long poll waits at most 20 s and returns at most 10 messages.
// - A received message is hidden for the visibility timeout, then delivered again with a higher
//   ApproximateReceiveCount; past the queue's maxReceiveCount the redrive policy moves it to the DLQ.
//   A failed record is therefore simply not deleted.
// - ChangeMessageVisibility restarts the timeout from now; the total is capped at 12 hours from receipt.
// - DeleteMessageBatch answers 200 with per-entry `Failed`; a delete with a receipt handle older than the
//   message's latest receive "succeeds" and deletes nothing. Either way the message comes back, and
//   processing it again changes nothing (conditional records, upserted suppressions, sender changes
//   that settle once: process.ts), so the worker never needs exactly-once delivery.
import type { Logger } from "@aws-lambda-powertools/logger";
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createLogger } from "../shared/logging";
import type { MetricPoint } from "./logic";
import { feedbackPorts, feedbackRecordHandler, type FeedbackMessageMeta } from "./record";
import { settingsFromEnv, type WorkerSettings } from "./settings";

/** SQS limits ("Amazon SQS message quotas", ReceiveMessage API reference). */
export const SQS_MAX_BATCH = 10;
export const SQS_MAX_WAIT_SECONDS = 20;
/** Per attempt, for DynamoDB, SNS and CloudWatch calls (the SDK retries a timed-out attempt). */
const REQUEST_TIMEOUT_MS = 10_000;
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;
/** PutMetricData: at most 1,000 metrics per request (CloudWatch API reference). */
const CLOUDWATCH_MAX_METRICS = 1000;

/** Time as the worker sees it; injectable so tests run hours of queue behaviour in milliseconds. */
export interface WorkerClock {
    /** Epoch milliseconds. */
    now(): number;
    /** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
    sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const SYSTEM_CLOCK: WorkerClock = {
    now: Date.now,
    sleep: (ms, signal) => new Promise((resolve) => {
        if (signal?.aborted) return resolve();
        const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", done);
            resolve();
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener("abort", done, { once: true });
    }),
};

type Sender<C extends { send: unknown }> = Pick<C, "send">;
/** Where stop signals come from (`process` by default). */
type SignalSource = { on(signal: NodeJS.Signals, listener: () => void): unknown; off(signal: NodeJS.Signals, listener: () => void): unknown };

/** Options of {@link runFeedbackWorker}. */
export interface FeedbackWorkerOptions {
    /** The feedback queue's URL (`FEEDBACK_QUEUE_URL` in the EKS manifests). */
    queueUrl: string;
    /** @default settingsFromEnv(env): the tables, topic and thresholds the Lambda gets */
    settings?: WorkerSettings;
    /** @default process.env */
    env?: Record<string, string | undefined>;
    /** Replaces the built-in processing (tests, or a wrapper around `feedbackRecordHandler`). Throw to retry. */
    processMessage?: (body: string, meta: FeedbackMessageMeta) => Promise<void>;
    /** Long-poll wait, 1–20 s. @default 20 */
    waitTimeSeconds?: number;
    /** Messages per receive, 1–10. @default 10 */
    batchSize?: number;
    /**
     * Visibility timeout asked for on receive and renewed by the heartbeat while a record runs: how
     * soon a message comes back when this pod dies. @default 60
     */
    visibilityTimeoutSeconds?: number;
    /** Heartbeat period. @default a third of the visibility timeout */
    heartbeatSeconds?: number;
    /**
     * A record still running after this long counts as failed (like a Lambda timeout): its heartbeat
     * stops, it is not deleted, and the queue delivers it again. Also the longest a stop waits.
     * @default 60
     */
    recordTimeoutSeconds?: number;
    /** Independent long-poll loops (batches in flight at once). @default 1 */
    pollers?: number;
    /** Signals that stop the worker gracefully. @default ["SIGTERM", "SIGINT"] */
    signals?: NodeJS.Signals[];
    /** Where stop signals come from (tests). @default process */
    signalSource?: SignalSource;
    /** CloudWatch namespace for PutMetricData. @default env POWERTOOLS_METRICS_NAMESPACE */
    metricsNamespace?: string;
    /** `service` dimension, the one the alarms match. @default env POWERTOOLS_SERVICE_NAME, else "feedback-worker" */
    serviceName?: string;
    /** SDK clients to use instead of the worker's own (tests, or custom endpoints). @default clients for the environment's region, with request timeouts */
    clients?: {
        /** Receives, deletes, changes visibility. */
        sqs?: Sender<SQSClient>;
        /** Records, counters, suppressions and sender states. */
        dynamo?: DynamoDBClient;
        /** Sender change announcements. */
        sns?: SNSClient;
        /** PutMetricData. */
        cloudwatch?: Sender<CloudWatchClient>;
    };
    /** Powertools logger. @default one for the environment (JSON, `service` from POWERTOOLS_SERVICE_NAME) */
    logger?: Logger;
    /** Time (tests). @default the system clock */
    clock?: WorkerClock;
}

/** What the worker did since it started: counts of messages. */
export interface FeedbackWorkerStats {
    /** Messages received. */
    received: number;
    /** Records processed without error. */
    succeeded: number;
    /** Records that failed (left for SQS to deliver again). */
    failed: number;
    /** Records still running after the record timeout (counted as failed). */
    timedOut: number;
    /** Messages deleted after success. */
    deleted: number;
    /** Successful messages SQS did not delete (they come back and change nothing). */
    deleteFailed: number;
    /** Messages received while stopping and released untouched (visibility 0). */
    released: number;
    /** Visibility extensions by the heartbeat. */
    extended: number;
    /** Failed ReceiveMessage calls (retried after a pause). */
    receiveErrors: number;
}

/** A running worker, as {@link runFeedbackWorker} returns it. */
export interface FeedbackWorkerHandle {
    /** Stops receiving, lets in-flight records finish (at most `recordTimeoutSeconds`), deletes what succeeded. */
    stop(): Promise<FeedbackWorkerStats>;
    /** Settles when the worker has stopped (after `stop()` or a signal). */
    readonly done: Promise<FeedbackWorkerStats>;
    /** The counts so far. */
    readonly stats: Readonly<FeedbackWorkerStats>;
}

/** The worker's polling settings with defaults applied and checked against SQS's limits. */
export interface ResolvedPollerSettings {
    /** Long-poll wait, 1–20 s. */
    waitTimeSeconds: number;
    /** Messages per receive, 1–10. */
    batchSize: number;
    /** Visibility timeout asked for on receive, renewed while a record runs. */
    visibilityTimeoutSeconds: number;
    /** How often the visibility timeout is renewed. */
    heartbeatSeconds: number;
    /** A record running longer counts as failed. */
    recordTimeoutSeconds: number;
    /** Independent long-poll loops. */
    pollers: number;
}

/** Defaults and SQS's limits; pure, table-tested. */
export function resolvePollerSettings(o: Partial<ResolvedPollerSettings>): ResolvedPollerSettings {
    const visibilityTimeoutSeconds = o.visibilityTimeoutSeconds ?? 60;
    const s: ResolvedPollerSettings = {
        waitTimeSeconds: o.waitTimeSeconds ?? SQS_MAX_WAIT_SECONDS,
        batchSize: o.batchSize ?? SQS_MAX_BATCH,
        visibilityTimeoutSeconds,
        heartbeatSeconds: o.heartbeatSeconds ?? Math.max(1, Math.floor(visibilityTimeoutSeconds / 3)),
        recordTimeoutSeconds: o.recordTimeoutSeconds ?? 60,
        pollers: o.pollers ?? 1,
    };
    const check = (ok: boolean, what: string) => {
        if (!ok) throw new Error(`runFeedbackWorker: ${what}.`);
    };
    check(Number.isInteger(s.waitTimeSeconds) && s.waitTimeSeconds >= 1 && s.waitTimeSeconds <= SQS_MAX_WAIT_SECONDS, `waitTimeSeconds must be a whole number from 1 to ${SQS_MAX_WAIT_SECONDS} (got ${s.waitTimeSeconds})`);
    check(Number.isInteger(s.batchSize) && s.batchSize >= 1 && s.batchSize <= SQS_MAX_BATCH, `batchSize must be a whole number from 1 to ${SQS_MAX_BATCH} (got ${s.batchSize})`);
    check(Number.isInteger(s.visibilityTimeoutSeconds) && s.visibilityTimeoutSeconds >= 2 && s.visibilityTimeoutSeconds <= SQS_MAX_VISIBILITY_SECONDS, `visibilityTimeoutSeconds must be a whole number from 2 to ${SQS_MAX_VISIBILITY_SECONDS} (got ${s.visibilityTimeoutSeconds})`);
    // A heartbeat must land before the timeout it renews runs out.
    check(s.heartbeatSeconds > 0 && s.heartbeatSeconds < s.visibilityTimeoutSeconds, `heartbeatSeconds must be above 0 and below visibilityTimeoutSeconds (got ${s.heartbeatSeconds})`);
    check(s.recordTimeoutSeconds > 0 && s.recordTimeoutSeconds + s.visibilityTimeoutSeconds <= SQS_MAX_VISIBILITY_SECONDS, `recordTimeoutSeconds must be above 0 and, with the visibility timeout, within SQS's 12 hours (got ${s.recordTimeoutSeconds})`);
    check(Number.isInteger(s.pollers) && s.pollers >= 1, `pollers must be a whole number of at least 1 (got ${s.pollers})`);
    return s;
}

/** The container's options from its environment: the Lambda's variables plus FEEDBACK_QUEUE_URL and the FEEDBACK_* poller settings. */
export function pollerOptionsFromEnv(env: Record<string, string | undefined>): FeedbackWorkerOptions {
    const queueUrl = env.FEEDBACK_QUEUE_URL;
    // http only for local stand-ins (ElasticMQ, LocalStack); the SDK sends to the queue URL's host.
    if (!queueUrl || !/^https?:\/\//.test(queueUrl)) throw new Error(`Environment variable FEEDBACK_QUEUE_URL must be the feedback queue's URL (https://sqs.<region>.amazonaws.com/...); got "${queueUrl ?? ""}".`);
    const number = (name: string) => {
        const raw = env[name];
        if (raw === undefined || raw === "") return undefined;
        const value = Number(raw);
        if (!Number.isInteger(value)) throw new Error(`Environment variable ${name} must be a whole number of seconds (got "${raw}").`);
        return value;
    };
    return {
        queueUrl,
        env,
        waitTimeSeconds: number("FEEDBACK_WAIT_TIME_SECONDS"),
        visibilityTimeoutSeconds: number("FEEDBACK_VISIBILITY_TIMEOUT_SECONDS"),
        recordTimeoutSeconds: number("FEEDBACK_RECORD_TIMEOUT_SECONDS"),
        pollers: number("FEEDBACK_POLLERS"),
    };
}

/**
 * Metrics by PutMetricData (a pod has no Lambda log pipeline for EMF), with the dimensions the Lambda's
 * Powertools metrics carry (`service`, plus the point's own), so the same alarms see them. Points are
 * sent as soon as they are known, like the Lambda's; `drain()` waits for them.
 */
class MetricPublisher {
    private buffer: MetricDatum[] = [];
    private inFlight = new Set<Promise<void>>();

    constructor(private readonly client: Sender<CloudWatchClient>, private readonly namespace: string, private readonly service: string, private readonly logger: Logger, private readonly clock: WorkerClock) {}

    public add(points: MetricPoint[]): void {
        const at = new Date(this.clock.now());
        const wasEmpty = this.buffer.length === 0;
        // Each point twice, as the Lambda's countMetric (functions/shared/metrics.ts) publishes it: in the
        // `service` series the alarms watch, and without dimensions for the runbooks' queries.
        this.buffer.push(...points.flatMap((p): MetricDatum[] => [
            { MetricName: p.name, Value: p.value, Unit: "Count", Timestamp: at, Dimensions: Object.entries({ service: this.service, ...p.dimensions }).map(([Name, Value]) => ({ Name, Value })) },
            { MetricName: p.name, Value: p.value, Unit: "Count", Timestamp: at },
        ]));
        // Points of the same moment (one record's) go out in one request.
        if (wasEmpty && this.buffer.length > 0) this.track(Promise.resolve().then(() => this.flush()));
    }

    public async drain(): Promise<void> {
        while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    }

    private track(promise: Promise<void>): void {
        this.inFlight.add(promise);
        void promise.finally(() => this.inFlight.delete(promise));
    }

    private async flush(): Promise<void> {
        const data = this.buffer;
        this.buffer = [];
        for (let i = 0; i < data.length; i += CLOUDWATCH_MAX_METRICS) {
            const chunk = data.slice(i, i + CLOUDWATCH_MAX_METRICS);
            try {
                await this.client.send(new PutMetricDataCommand({ Namespace: this.namespace, MetricData: chunk }));
            } catch (error) {
                // The records are written; failing them would only make their retry count nothing (duplicates emit no metrics).
                this.logger.error("PutMetricData failed; these metric points are lost", { namespace: this.namespace, metrics: chunk.map((d) => d.MetricName), error });
            }
        }
    }
}

/**
 * Runs the feedback worker as a long-polling consumer of the feedback queue until `stop()` or a stop
 * signal (SIGTERM from Kubernetes). On stop it receives no more (the pending long poll is left to end, at
 * most its wait time: aborting it would hide what SQS already handed out), lets the records in flight finish, deletes the ones that succeeded and leaves the rest to reappear when
 * their visibility timeout ends; a batch that arrives after the stop is released at once
 * (ChangeMessageVisibility 0) since none of it started. Nothing is lost, and a record processed twice
 * (after a crash, a failed delete, a timeout) has no second visible effect.
 */
export function runFeedbackWorker(options: FeedbackWorkerOptions): FeedbackWorkerHandle {
    const env = options.env ?? process.env;
    const s = resolvePollerSettings(options);
    const clock = options.clock ?? SYSTEM_CLOCK;
    const logger = options.logger ?? createLogger(env as NodeJS.ProcessEnv);
    // Request timeouts: a hung connection fails the call (and is retried) instead of stalling the pod;
    // the SQS one outlasts the long poll.
    const sqs = options.clients?.sqs ?? new SQSClient({ requestHandler: { requestTimeout: (s.waitTimeSeconds + 10) * 1000 } });
    const stats: FeedbackWorkerStats = { received: 0, succeeded: 0, failed: 0, timedOut: 0, deleted: 0, deleteFailed: 0, released: 0, extended: 0, receiveErrors: 0 };
    const namespace = options.metricsNamespace ?? env.POWERTOOLS_METRICS_NAMESPACE;
    const metrics = options.processMessage ? undefined : (() => {
        if (!namespace) throw new Error("runFeedbackWorker: metricsNamespace (or POWERTOOLS_METRICS_NAMESPACE, e.g. SESMail/<env>) is required: the alarms read the worker's metrics there.");
        return new MetricPublisher(options.clients?.cloudwatch ?? new CloudWatchClient({ requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS } }), namespace, options.serviceName ?? env.POWERTOOLS_SERVICE_NAME ?? "feedback-worker", logger, clock);
    })();
    const processMessage = options.processMessage ?? (() => {
        const settings = options.settings ?? settingsFromEnv(env);
        const clients = { dynamo: options.clients?.dynamo ?? new DynamoDBClient({ requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS } }), sns: options.clients?.sns ?? new SNSClient({ requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS } }) };
        return feedbackRecordHandler(settings, feedbackPorts(settings, clients, logger, (points) => metrics!.add(points)), logger);
    })();

    const stopping = new AbortController();
    const queueUrl = options.queueUrl;

    const release = async (messages: Message[]) => {
        if (messages.length === 0) return;
        try {
            const out = await sqs.send(new ChangeMessageVisibilityBatchCommand({
                QueueUrl: queueUrl,
                Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
            }));
            stats.released += out.Successful?.length ?? 0;
        } catch (error) {
            // Not fatal: they come back when the timeout asked for on receive ends.
            logger.warn("Could not release messages received while stopping; they reappear after their visibility timeout", { count: messages.length, error });
        }
    };

    /** Renews the visibility of the records still running until `finished` aborts or the record timeout. */
    const heartbeat = async (running: Map<string, Message>, finished: AbortSignal) => {
        for (;;) {
            await clock.sleep(s.heartbeatSeconds * 1000, finished);
            if (finished.aborted || running.size === 0) return;
            const entries = [...running.values()].map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: s.visibilityTimeoutSeconds }));
            try {
                const out = await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
                stats.extended += out.Successful?.length ?? 0;
                if (out.Failed?.length) logger.warn("Visibility not extended for some records; they may be delivered again while running", { failed: out.Failed.map((f) => ({ code: f.Code, senderFault: f.SenderFault })) });
            } catch (error) {
                logger.warn("Visibility heartbeat failed; retrying at the next beat", { error });
            }
        }
    };

    const deleteSucceeded = async (messages: Message[]) => {
        let pending = messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! }));
        // One retry for entries SQS failed on its side (SenderFault false); a sender fault will not improve.
        for (let attempt = 0; attempt < 2 && pending.length > 0; attempt++) {
            try {
                const out = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
                stats.deleted += out.Successful?.length ?? 0;
                const failed = out.Failed ?? [];
                const retry = new Set(failed.filter((f) => !f.SenderFault).map((f) => f.Id));
                const given = failed.filter((f) => f.SenderFault || attempt === 1);
                if (given.length > 0) {
                    stats.deleteFailed += given.length;
                    logger.warn("Messages processed but not deleted; they will be delivered again and change nothing", { failed: given.map((f) => ({ code: f.Code, senderFault: f.SenderFault })) });
                }
                pending = pending.filter((entry) => retry.has(entry.Id));
            } catch (error) {
                stats.deleteFailed += pending.length;
                logger.warn("DeleteMessageBatch failed; the messages will be delivered again and change nothing", { count: pending.length, error });
                return;
            }
        }
    };

    const runBatch = async (messages: Message[]) => {
        const running = new Map(messages.map((m) => [m.MessageId!, m]));
        const succeeded: Message[] = [];
        const finished = new AbortController();
        const beating = heartbeat(running, finished.signal);
        const one = async (m: Message) => {
            const timeout = new AbortController();
            const outcome = await Promise.race([
                processMessage(m.Body ?? "", { sqsMessageId: m.MessageId!, receiveCount: m.Attributes?.ApproximateReceiveCount }).then(() => "ok" as const, () => "failed" as const),
                clock.sleep(s.recordTimeoutSeconds * 1000, timeout.signal).then(() => "timeout" as const),
            ]);
            timeout.abort();
            running.delete(m.MessageId!);
            if (outcome === "ok") {
                stats.succeeded += 1;
                succeeded.push(m);
            } else if (outcome === "failed") {
                stats.failed += 1;
            } else {
                stats.timedOut += 1;
                logger.error("Feedback record timed out; SQS delivers it again after its visibility timeout", { sqsMessageId: m.MessageId, receiveCount: m.Attributes?.ApproximateReceiveCount, timeoutSeconds: s.recordTimeoutSeconds });
            }
        };
        await Promise.all(messages.map(one));
        finished.abort();
        await beating;
        // Metrics before the delete: once deleted, a record's redelivery could not send them again anyway.
        await metrics?.drain();
        if (succeeded.length > 0) await deleteSucceeded(succeeded);
    };

    const poll = async () => {
        let errors = 0;
        while (!stopping.signal.aborted) {
            let messages: Message[];
            try {
                const out = await sqs.send(new ReceiveMessageCommand({
                    QueueUrl: queueUrl,
                    MaxNumberOfMessages: s.batchSize,
                    WaitTimeSeconds: s.waitTimeSeconds,
                    VisibilityTimeout: s.visibilityTimeoutSeconds,
                    MessageSystemAttributeNames: ["ApproximateReceiveCount"],
                }));
                // Not aborted on stop: messages SQS already handed out would stay hidden and their receive
                // counts spent toward maxReceiveCount; a batch that arrives after the stop is released below.
                messages = out.Messages ?? [];
                errors = 0;
            } catch (error) {
                if (stopping.signal.aborted) break;
                errors += 1;
                stats.receiveErrors += 1;
                logger.error("ReceiveMessage failed; backing off", { attempt: errors, error });
                await clock.sleep(Math.min(20_000, 500 * 2 ** Math.min(errors, 6)), stopping.signal);
                continue;
            }
            stats.received += messages.length;
            if (stopping.signal.aborted) {
                await release(messages);
                break;
            }
            if (messages.length > 0) await runBatch(messages);
        }
    };

    const source = options.signalSource ?? process;
    const signals = options.signals ?? ["SIGTERM", "SIGINT"];
    const onSignal = () => {
        logger.info("Stop signal received: finishing in-flight feedback records");
        void stop();
    };
    signals.forEach((signal) => source.on(signal, onSignal));

    const loops = Promise.all(Array.from({ length: s.pollers }, () => poll()));
    const done = loops.then(async () => {
        await metrics?.drain();
        signals.forEach((signal) => source.off(signal, onSignal));
        logger.info("Feedback worker stopped", { ...stats });
        return { ...stats };
    });
    // In-flight records need no separate deadline: each is bounded by recordTimeoutSeconds.
    const stop = () => {
        stopping.abort();
        return done;
    };
    logger.info("Feedback worker polling", { queueUrl, ...s });
    return { stop, done, stats };
}
