// The long-polling feedback worker (runFeedbackWorker) against the SQS model on virtual time
// (tests/support/sqs-poller-double.ts). The records here are jobs with a duration and a failure
// plan; their "visible effect" is a conditional write, as the real processing's records are
// (process.ts), so a redelivery can never show twice — what the tests check of the worker is that
// nothing is lost, nothing is processed again without a cause, visibility is kept while a record
// runs, failures reach the DLQ through the queue's redrive, and a SIGTERM drains cleanly.
// SQS behaviour relied on (each modelled in sim/sqs.ts):
// - "Amazon SQS visibility timeout": hidden for the timeout, then delivered again; ChangeMessageVisibility
//   restarts it from now, up to 12 hours after the receive.
// - DeleteMessageBatch API reference: 200 with per-entry `Failed`; DeleteMessage: a stale receipt
//   handle "succeeds" and may delete nothing.
// - "Using dead-letter queues in Amazon SQS": past maxReceiveCount the message moves to the DLQ.
// - "Setting-up long polling in Amazon SQS": WaitTimeSeconds at most 20; ReceiveMessage returns at most 10.
import { EventEmitter } from "node:events";
import { expect } from "chai";
import fc from "fast-check";
import { pollerOptionsFromEnv, resolvePollerSettings, runFeedbackWorker, type FeedbackWorkerHandle, type FeedbackWorkerOptions } from "../../../functions/feedback-worker/poller";
import { DLQ_URL, QUEUE_URL, queueDouble, type QueueDouble, type QueueDoubleOptions } from "../../support/sqs-poller-double";

interface Job { id: string; ms: number; failFirst: number; poison: boolean }

/** The jobs' processing: attempts, successes and the conditional "record" each success writes once. */
class Jobs {
    public readonly attempts = new Map<string, number>();
    public readonly successes = new Map<string, number>();
    public readonly written = new Map<string, number>();
    public readonly startedAt: { id: string; at: number; worker: string }[] = [];

    constructor(private readonly q: QueueDouble) {}

    public processor(worker: string): FeedbackWorkerOptions["processMessage"] {
        return async (body) => {
            const job = JSON.parse(body) as Job;
            const attempt = (this.attempts.get(job.id) ?? 0) + 1;
            this.attempts.set(job.id, attempt);
            this.startedAt.push({ id: job.id, at: this.q.scheduler.now(), worker });
            await this.q.scheduler.sleep(job.ms);
            if (job.poison || attempt <= job.failFirst) throw new Error(`job ${job.id} fails (attempt ${attempt})`);
            this.successes.set(job.id, (this.successes.get(job.id) ?? 0) + 1);
            // Conditional write: the first success records, later ones find it there.
            if (!this.written.has(job.id)) this.written.set(job.id, 1);
            else this.written.set(job.id, this.written.get(job.id)!);
        };
    }
}

const silent = { info() {}, warn() {}, error() {}, debug() {} } as unknown as FeedbackWorkerOptions["logger"];

function send(q: QueueDouble, jobs: Job[]): void {
    for (const job of jobs) q.model.sendMessage({ QueueUrl: QUEUE_URL, MessageBody: JSON.stringify(job) });
}

function start(q: QueueDouble, jobs: Jobs, name: string, options: Partial<FeedbackWorkerOptions> = {}): FeedbackWorkerHandle & { finished: () => boolean } {
    const handle = runFeedbackWorker({
        queueUrl: QUEUE_URL,
        processMessage: jobs.processor(name),
        clients: { sqs: q.client as never },
        clock: q.scheduler,
        logger: silent,
        signals: [],
        ...options,
    });
    let finished = false;
    void handle.done.then(() => (finished = true));
    return Object.assign(handle, { finished: () => finished });
}

/** Runs until the main queue holds nothing, then stops the workers. */
async function drain(q: QueueDouble, workers: ReturnType<typeof start>[]): Promise<void> {
    await q.scheduler.runUntil(() => q.model.messages(QUEUE_URL).length === 0);
    const stopped = workers.map((w) => w.stop());
    await q.scheduler.runUntil(() => workers.every((w) => w.finished()));
    await Promise.all(stopped);
}

const jobArb = (maxMs: number) => fc.record({ ms: fc.integer({ min: 0, max: maxMs }), failFirst: fc.integer({ min: 0, max: 1 }), poison: fc.boolean() });
const jobsArb = (maxMs: number, max = 30) => fc.array(jobArb(maxMs), { minLength: 1, maxLength: max }).map((list) => list.map((j, i): Job => ({ id: `job-${i}`, ...j, poison: j.poison && i % 4 === 0 })));

describe("runFeedbackWorker: settings", () => {
    it("defaults to 20 s long polls of 10 messages, a 60 s visibility renewed every 20 s", () => {
        expect(resolvePollerSettings({})).to.deep.equal({ waitTimeSeconds: 20, batchSize: 10, visibilityTimeoutSeconds: 60, heartbeatSeconds: 20, recordTimeoutSeconds: 60, pollers: 1 });
    });

    const refused: [string, Parameters<typeof resolvePollerSettings>[0], RegExp][] = [
        // ReceiveMessage: WaitTimeSeconds 0–20, MaxNumberOfMessages 1–10 (API reference).
        ["a wait past SQS's 20 s", { waitTimeSeconds: 21 }, /waitTimeSeconds must be a whole number from 1 to 20/],
        ["a batch past SQS's 10", { batchSize: 11 }, /batchSize must be a whole number from 1 to 10/],
        ["a heartbeat slower than the timeout it renews", { visibilityTimeoutSeconds: 30, heartbeatSeconds: 30 }, /heartbeatSeconds must be above 0 and below visibilityTimeoutSeconds/],
        // ChangeMessageVisibility: 12 hours at most from the receive.
        ["a record timeout past 12 hours", { recordTimeoutSeconds: 43_200 }, /within SQS's 12 hours/],
        ["no pollers", { pollers: 0 }, /pollers must be a whole number of at least 1/],
    ];
    for (const [what, input, message] of refused) {
        it(`refuses ${what}`, () => expect(() => resolvePollerSettings(input)).to.throw(message));
    }

    it("reads the container's environment: the queue URL is required, numbers are whole", () => {
        expect(() => pollerOptionsFromEnv({})).to.throw(/FEEDBACK_QUEUE_URL/);
        expect(() => pollerOptionsFromEnv({ FEEDBACK_QUEUE_URL: QUEUE_URL, FEEDBACK_RECORD_TIMEOUT_SECONDS: "1.5" })).to.throw(/FEEDBACK_RECORD_TIMEOUT_SECONDS must be a whole number/);
        expect(pollerOptionsFromEnv({ FEEDBACK_QUEUE_URL: QUEUE_URL, FEEDBACK_VISIBILITY_TIMEOUT_SECONDS: "90" })).to.include({ queueUrl: QUEUE_URL, visibilityTimeoutSeconds: 90, recordTimeoutSeconds: undefined });
    });

    it("needs a metrics namespace when it runs the real processing (the alarms read SESMail/<env>)", () => {
        expect(() => runFeedbackWorker({ queueUrl: QUEUE_URL, env: {}, logger: silent, signals: [] })).to.throw(/POWERTOOLS_METRICS_NAMESPACE/);
    });
});

describe("runFeedbackWorker against the SQS model", function () {
    this.timeout(120_000);

    it("long-polls 20 s for batches of up to 10 and asks for its own visibility timeout", async () => {
        const q = queueDouble({ seed: 1, partialReceiveRate: 0 });
        const jobs = new Jobs(q);
        send(q, Array.from({ length: 25 }, (_, i) => ({ id: `j${i}`, ms: 10, failFirst: 0, poison: false })));
        const worker = start(q, jobs, "a");
        await drain(q, [worker]);
        const receives = q.calls.filter((c) => c.command === "ReceiveMessageCommand");
        expect(receives[0].input).to.deep.include({ QueueUrl: QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 20, VisibilityTimeout: 60 });
        const deletes = q.calls.filter((c) => c.command === "DeleteMessageBatchCommand").map((c) => c.input.Entries.length);
        expect(deletes).to.deep.equal([10, 10, 5]);
        expect(worker.stats).to.include({ received: 25, succeeded: 25, deleted: 25, failed: 0 });
    });

    it("without faults, processes every record exactly once (failures retried), and poison reaches the DLQ after maxReceiveCount", async () => {
        await fc.assert(fc.asyncProperty(
            jobsArb(50_000), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 1_000_000 }),
            async (list, batchSize, pollers, seed) => {
                const q = queueDouble({ seed, maxReceiveCount: 3 });
                const jobs = new Jobs(q);
                send(q, list);
                const workers = [start(q, jobs, "a", { batchSize, pollers }), start(q, jobs, "b", { batchSize })];
                await drain(q, workers);
                const dlq = q.model.messages(DLQ_URL).map((m) => (JSON.parse(m.body) as Job).id).sort();
                expect(dlq).to.deep.equal(list.filter((j) => j.poison).map((j) => j.id).sort());
                for (const job of list) {
                    if (job.poison) {
                        // Three receives, three failures, moved on the fourth receive.
                        expect(jobs.attempts.get(job.id), job.id).to.equal(3);
                        expect(jobs.written.has(job.id)).to.equal(false);
                    } else {
                        expect(jobs.attempts.get(job.id), job.id).to.equal(1 + job.failFirst);
                        expect(jobs.successes.get(job.id), job.id).to.equal(1);
                    }
                }
            },
        ), { numRuns: 25 });
    });

    it("with lost deletes, duplicate copies and failed heartbeats, loses nothing and writes each record once", async () => {
        await fc.assert(fc.asyncProperty(
            jobsArb(90_000), fc.double({ min: 0, max: 0.3, noNaN: true }), fc.double({ min: 0, max: 0.1, noNaN: true }), fc.integer({ min: 1, max: 1_000_000 }),
            async (list, batchEntryFailureRate, duplicateRate, seed) => {
                // maxReceiveCount 10: the faults alone must not dead-letter a good record here.
                const q = queueDouble({ seed, maxReceiveCount: 10, batchEntryFailureRate, duplicateRate });
                const jobs = new Jobs(q);
                send(q, list);
                const workers = [start(q, jobs, "a", { visibilityTimeoutSeconds: 30 }), start(q, jobs, "b", { visibilityTimeoutSeconds: 30 })];
                await drain(q, workers);
                for (const job of list.filter((j) => !j.poison)) {
                    expect(jobs.written.get(job.id), `${job.id} written`).to.equal(1);
                }
                const dlq = new Set(q.model.messages(DLQ_URL).map((m) => (JSON.parse(m.body) as Job).id));
                list.filter((j) => j.poison).forEach((j) => expect(dlq.has(j.id), j.id).to.equal(true));
            },
        ), { numRuns: 25 });
    });

    it("keeps a slow record hidden with visibility heartbeats: one receive, no second worker gets it", async () => {
        const q = queueDouble({ seed: 7 });
        const jobs = new Jobs(q);
        send(q, [{ id: "slow", ms: 200_000, failFirst: 0, poison: false }]);
        const options = { visibilityTimeoutSeconds: 30, recordTimeoutSeconds: 600 };
        const workers = [start(q, jobs, "a", options), start(q, jobs, "b", options)];
        await drain(q, workers);
        const extensions = q.calls.filter((c) => c.command === "ChangeMessageVisibilityBatchCommand");
        expect(extensions.length).to.be.at.least(Math.floor(200 / 10) - 1);
        expect(extensions.every((c) => c.input.Entries.every((e: { VisibilityTimeout: number }) => e.VisibilityTimeout === 30))).to.equal(true);
        expect(jobs.attempts.get("slow")).to.equal(1);
        expect(q.model.events.filter((e) => e.kind === "received").map((e) => e.detail)).to.deep.equal(["1"]);
    });

    it("control: without heartbeats the slow record is delivered again, the first delete is stale and deletes nothing, and it is still written once", async () => {
        const q = queueDouble({ seed: 7, failVisibility: true });
        const jobs = new Jobs(q);
        send(q, [{ id: "slow", ms: 200_000, failFirst: 0, poison: false }]);
        const options = { visibilityTimeoutSeconds: 30, recordTimeoutSeconds: 600 };
        const workers = [start(q, jobs, "a", options), start(q, jobs, "b", options)];
        await drain(q, workers);
        expect(jobs.attempts.get("slow")).to.be.at.least(2);
        expect(q.model.events.some((e) => e.kind === "stale-delete")).to.equal(true);
        expect(jobs.written.get("slow")).to.equal(1);
    });

    it("a record past its timeout counts as failed, is not deleted and comes back", async () => {
        const q = queueDouble({ seed: 3, maxReceiveCount: 5 });
        const jobs = new Jobs(q);
        send(q, [{ id: "hung", ms: 400_000, failFirst: 0, poison: false }]);
        const worker = start(q, jobs, "a", { visibilityTimeoutSeconds: 30, recordTimeoutSeconds: 120 });
        await q.scheduler.runUntil(() => (jobs.attempts.get("hung") ?? 0) >= 2);
        expect(worker.stats.timedOut).to.equal(1);
        expect(worker.stats.deleted).to.equal(0);
        await drain(q, [worker]);
    });

    it("DeleteMessageBatch Failed entries: an SQS-side failure is retried at once, a sender fault is left to redelivery", async () => {
        let call = 0;
        const onDelete: QueueDoubleOptions["onDelete"] = (input, apply) => {
            call += 1;
            const entries = input.Entries ?? [];
            if (call === 1) {
                // Entry 0 fails on SQS's side, entry 1 as a sender fault; the rest are deleted.
                const result = apply(entries.slice(2));
                return { Successful: result.Successful, Failed: [{ Id: entries[0].Id, SenderFault: false, Code: "InternalError" }, { Id: entries[1].Id, SenderFault: true, Code: "ReceiptHandleIsInvalid" }] };
            }
            return apply(entries);
        };
        const q = queueDouble({ seed: 5, partialReceiveRate: 0, onDelete });
        const jobs = new Jobs(q);
        send(q, [0, 1, 2].map((i) => ({ id: `d${i}`, ms: 5, failFirst: 0, poison: false })));
        const worker = start(q, jobs, "a");
        await drain(q, [worker]);
        const deletes = q.calls.filter((c) => c.command === "DeleteMessageBatchCommand").map((c) => c.input.Entries.length);
        // 3 (one fails both ways) → the SQS-side one again → later the redelivered one.
        expect(deletes).to.deep.equal([3, 1, 1]);
        expect(worker.stats).to.include({ deleteFailed: 1, succeeded: 4 });
        expect([...jobs.attempts.values()].sort()).to.deep.equal([1, 1, 2]);
        expect([...jobs.written.values()]).to.deep.equal([1, 1, 1]);
    });
});

describe("runFeedbackWorker: SIGTERM", function () {
    this.timeout(120_000);

    it("mid-batch: stops receiving, finishes and deletes the batch in flight; a successor processes the rest — nothing lost, nothing twice", async () => {
        await fc.assert(fc.asyncProperty(
            jobsArb(50_000, 25), fc.integer({ min: 0, max: 150_000 }), fc.boolean(), fc.integer({ min: 1, max: 1_000_000 }),
            async (list, stopAfterMs, answerAfterAbort, seed) => {
                const q = queueDouble({ seed, answerAfterAbort, maxReceiveCount: 3 });
                const jobs = new Jobs(q);
                send(q, list);
                const signals = new EventEmitter();
                // Record timeout above every job's duration: the drain finishes what it started.
                const a = start(q, jobs, "a", { signals: ["SIGTERM"], signalSource: signals, recordTimeoutSeconds: 60 });
                const stopAt = q.scheduler.now() + stopAfterMs;
                void q.scheduler.sleep(stopAfterMs).then(() => signals.emit("SIGTERM"));
                await q.scheduler.runUntil(() => a.finished());
                const stoppedAt = q.scheduler.now();
                // Stop receiving: no receive after the signal; the drain took no longer than the record timeout.
                expect(q.calls.filter((c) => c.command === "ReceiveMessageCommand" && c.at > stopAt)).to.have.length(0);
                expect(stoppedAt - stopAt).to.be.at.most(60_000);
                expect(signals.listenerCount("SIGTERM"), "listener removed").to.equal(0);
                // Whatever A finished it deleted; nothing of A's is still hidden (released or finished).
                const startedByA = new Set(jobs.startedAt.filter((s) => s.worker === "a").map((s) => s.id));
                const remaining = q.model.messages(QUEUE_URL);
                for (const m of remaining) {
                    const id = (JSON.parse(m.body) as Job).id;
                    if (jobs.successes.has(id)) expect.fail(`${id} succeeded but is still on the queue`);
                    if (!startedByA.has(id) && m.receiveCount > 0) expect(m.visibleAt, `${id} released at once`).to.be.at.most(stoppedAt);
                }
                // The long poll pending at the signal is not aborted (its messages would stay hidden, their
                // receive counts spent): what it brings is released unstarted.
                expect(a.stats.released).to.equal(a.stats.received - jobs.startedAt.filter((s) => s.worker === "a").length);
                // The successor.
                const b = start(q, jobs, "b");
                await drain(q, [b]);
                for (const job of list) {
                    if (job.poison) continue;
                    expect(jobs.successes.get(job.id), `${job.id} succeeded once`).to.equal(1);
                    expect(jobs.written.get(job.id)).to.equal(1);
                }
            },
        ), { numRuns: 30 });
    });

    it("a batch that arrives after the signal (the answer was already on the wire) is released at once, unstarted", async () => {
        const q = queueDouble({ seed: 4, answerAfterAbort: true });
        const jobs = new Jobs(q);
        const signals = new EventEmitter();
        const a = start(q, jobs, "a", { signals: ["SIGTERM"], signalSource: signals });
        await q.scheduler.runUntil(() => q.calls.length > 0);
        send(q, [{ id: "late", ms: 1, failFirst: 0, poison: false }]);
        signals.emit("SIGTERM");
        await q.scheduler.runUntil(() => a.finished());
        const [message] = q.model.messages(QUEUE_URL);
        expect(a.stats).to.include({ received: 1, released: 1, succeeded: 0 });
        expect(jobs.attempts.has("late")).to.equal(false);
        // ChangeMessageVisibility 0: visible again now, not after the 60 s asked for on receive.
        expect(message.visibleAt).to.be.at.most(q.scheduler.now());
        expect(q.calls.find((c) => c.command === "ChangeMessageVisibilityBatchCommand")?.input.Entries[0].VisibilityTimeout).to.equal(0);
    });

    it("after stop(), `done` resolves and the worker receives nothing more", async () => {
        const q = queueDouble({ seed: 2 });
        const jobs = new Jobs(q);
        const worker = start(q, jobs, "a");
        await q.scheduler.runUntil(() => q.calls.length > 0);
        const stopped = worker.stop();
        await q.scheduler.runUntil(() => worker.finished());
        const stats = await stopped;
        send(q, [{ id: "late", ms: 1, failFirst: 0, poison: false }]);
        await q.scheduler.settle();
        expect(stats.received).to.equal(0);
        expect(q.calls.filter((c) => c.command === "ReceiveMessageCommand")).to.have.length(1);
    });
});
