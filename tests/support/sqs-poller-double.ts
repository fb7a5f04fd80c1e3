// The queue test double for the long-polling feedback worker: the SQS model of the system tests
// (tests/support/sim/sqs.ts: visibility timeouts, receive counts, redelivery, redrive to the DLQ,
// stale receipt handles that delete nothing, per-entry batch failures) behind an SQS client's
// `send`, on virtual time. ReceiveMessage long-polls as SQS does ("Setting-up long polling in Amazon
// SQS": it waits up to WaitTimeSeconds, at most 20, and returns as soon as a message is visible) and
// honours the SDK's abortSignal.
import {
    ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, type DeleteMessageBatchResult, ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import { Rng, VirtualClock } from "./sim/clock";
import type { QueueSpec } from "./sim/plan";
import { SqsModel, type SqsModelOptions } from "./sim/sqs";
import type { WorkerClock } from "../../functions/feedback-worker/poller";

/** Virtual time: sleeps are timers that fire when the test drives the clock forward. */
export class VirtualScheduler implements WorkerClock {
    public readonly clock: VirtualClock;
    private timers: { at: number; seq: number; fire: () => void }[] = [];
    private seq = 0;

    constructor(start = Date.UTC(2026, 0, 1)) {
        this.clock = new VirtualClock(start, true);
    }

    public now(): number {
        return this.clock.now();
    }

    public sleep(ms: number, signal?: AbortSignal): Promise<void> {
        return new Promise((resolve) => {
            if (signal?.aborted) return resolve();
            const timer = { at: this.now() + Math.max(0, ms), seq: this.seq++, fire: () => resolve() };
            this.timers.push(timer);
            signal?.addEventListener("abort", () => {
                this.timers = this.timers.filter((t) => t !== timer);
                resolve();
            }, { once: true });
        });
    }

    /** Lets every promise chain that can make progress without time passing run to its next wait. */
    public async settle(): Promise<void> {
        for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
    }

    /**
     * Runs virtual time forward, timer by timer, until `done()` holds (or throws past `limitMs`).
     * `idle()`: false while real I/O is under way (dynalite): time then waits for it, so a timer (a
     * heartbeat, a record timeout) never fires early because a real call took real milliseconds.
     */
    public async runUntil(done: () => boolean, limitMs = 24 * 3600_000, idle: () => boolean = () => true): Promise<void> {
        const end = this.now() + limitMs;
        for (;;) {
            await this.settle();
            if (done()) return;
            if (!idle()) {
                await new Promise((resolve) => setTimeout(resolve, 2));
                continue;
            }
            if (this.timers.length === 0) throw new Error("Virtual time deadlock: nothing scheduled and the condition does not hold.");
            this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
            const next = this.timers.shift()!;
            if (next.at > end) throw new Error(`Condition still false after ${limitMs} virtual ms.`);
            this.clock.advanceTo(next.at);
            next.fire();
        }
    }
}

export interface QueueDoubleOptions extends SqsModelOptions {
    seed: number;
    maxReceiveCount?: number;
    /** The queue's own visibility timeout (the worker asks for its own on receive). @default 360 */
    visibilityTimeoutSeconds?: number;
    /** A receive whose abort arrives after SQS answered: the messages reach the caller anyway. @default false */
    answerAfterAbort?: boolean;
    /** Rewrites a DeleteMessageBatch answer (to fail chosen entries). */
    onDelete?: (input: { Entries?: { Id?: string; ReceiptHandle?: string }[] }, apply: (entries: { Id?: string; ReceiptHandle?: string }[]) => DeleteMessageBatchResult) => DeleteMessageBatchResult;
    /** Fails every ChangeMessageVisibility (a heartbeat that never lands). @default false */
    failVisibility?: boolean;
}

export const QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/ses-mail-feedback-test";
export const DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/ses-mail-feedback-dlq-test";

export interface QueueDouble {
    model: SqsModel;
    scheduler: VirtualScheduler;
    /** An SQS client's `send` for the worker. */
    client: { send(command: unknown, options?: { abortSignal?: AbortSignal }): Promise<any> };
    /** Every request the worker made, by command name. */
    calls: { command: string; input: any; at: number }[];
}

export function queueDouble(options: QueueDoubleOptions): QueueDouble {
    const scheduler = new VirtualScheduler();
    const spec = (name: string, url: string, redrive?: QueueSpec["redrive"]): QueueSpec => ({
        logicalName: name, name, url, arn: `arn:aws:sqs:us-east-1:123456789012:${name}`,
        visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 360, messageRetentionSeconds: 345_600, delaySeconds: 0, redrive,
    });
    const dlq = spec("ses-mail-feedback-dlq-test", DLQ_URL);
    const main = spec("ses-mail-feedback-test", QUEUE_URL, { deadLetterTargetArn: dlq.arn, maxReceiveCount: options.maxReceiveCount ?? 3 });
    const model = new SqsModel([main, dlq], scheduler.clock, new Rng(options.seed), options);
    const calls: QueueDouble["calls"] = [];
    const aborted = () => Object.assign(new Error("Request aborted"), { name: "AbortError" });

    const receive = async (input: any, signal?: AbortSignal) => {
        const deadline = scheduler.now() + 1000 * (input.WaitTimeSeconds ?? 0);
        for (;;) {
            if (signal?.aborted && !options.answerAfterAbort) throw aborted();
            const out = model.receiveMessage(input);
            if (out.Messages || scheduler.now() >= deadline || signal?.aborted) return out;
            const next = model.nextVisibleAt([main.arn]);
            await scheduler.sleep(Math.min(next ?? deadline, deadline) - scheduler.now(), options.answerAfterAbort ? undefined : signal);
        }
    };
    const client: QueueDouble["client"] = {
        send: async (command: any, sendOptions) => {
            const name = command.constructor.name as string;
            calls.push({ command: name, input: command.input, at: scheduler.now() });
            await Promise.resolve();
            if (command instanceof ReceiveMessageCommand) return receive(command.input, sendOptions?.abortSignal);
            if (command instanceof DeleteMessageBatchCommand) {
                const apply = (entries: { Id?: string; ReceiptHandle?: string }[]) => model.deleteMessageBatch({ QueueUrl: command.input.QueueUrl, Entries: entries }) as DeleteMessageBatchResult;
                return options.onDelete ? options.onDelete(command.input, apply) : apply(command.input.Entries ?? []);
            }
            if (command instanceof ChangeMessageVisibilityBatchCommand) {
                if (options.failVisibility) return { Successful: [], Failed: (command.input.Entries ?? []).map((e) => ({ Id: e.Id, SenderFault: false, Code: "InternalError", Message: "injected" })) };
                return model.changeMessageVisibilityBatch(command.input);
            }
            throw new Error(`The queue double does not model ${name}.`);
        },
    };
    return { model, scheduler, client, calls };
}
