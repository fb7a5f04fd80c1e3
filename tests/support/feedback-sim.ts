// The outbound feedback flow as the plan wires it, on the models the inbound simulation uses
// (tests/support/sim/*): SES publishes to the feedback topics → SNS → the feedback queue (SQS model)
// → the Lambda event source mapping → the deployed feedback-worker bundle, which writes to dynalite
// through the faults real DynamoDB has and dynalite lacks:
//   worker ─► DelayedIndexDynamo (GSIs lag the table) ─► DynamoGateway (throttling) + dynalite
// and publishes sender changes to SNS (modelled here). A crash (an out-of-memory kill, a timeout)
// kills an invocation at a random moment while it waits for DynamoDB: calls already sent complete on
// the service side, their answers reach nobody, no later call happens, and nothing the dead process
// would write afterwards (logs, EMF metrics) reaches CloudWatch. The event source mapping decides
// which batches die (at most once per message, tests/support/sim/consumers.ts); the moment is drawn
// here, up to CRASH_WITHIN_MS into the invocation's first call.
import { randomUUID } from "node:crypto";
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import type { SenderTransition } from "../../functions/shared/sender-reputation";
import { DelayedIndexDynamo, propagationDelay } from "./delayed-index";
import { createTableFrom, LocalDynamo } from "./dynalite";
import { Rng, VirtualClock } from "./sim/clock";
import { SqsEventSourceMapping } from "./sim/consumers";
import { DynamoGateway } from "./sim/gateways";
import { LogLine, SimFunction } from "./sim/lambda";
import type { SystemPlan } from "./sim/plan";
import { gated, InvocationScope, invocationScope } from "./sim/scope";
import { SqsModel } from "./sim/sqs";
import { jumpToNext, VirtualTimers } from "./sim/timers";

export interface FeedbackFaults {
    /** SQS keeps a deleted message's copy, which comes back ("Amazon SQS standard queues", at-least-once). */
    duplicateRate: number;
    /** An invocation dies at a random external call (at most once per message). */
    crashRate: number;
    /** DynamoDB answers ProvisionedThroughputExceededException (the SDK retries with backoff). */
    dynamoThrottleRate: number;
    /** Index propagation: each write shows in the GSIs after this many ms (see delayed-index.ts). */
    indexDelayMs: (rng: Rng) => () => number;
}

export const NO_FEEDBACK_FAULTS: FeedbackFaults = { duplicateRate: 0, crashRate: 0, dynamoThrottleRate: 0, indexDelayMs: () => () => 0 };

/** The documented model: mostly under a second, sometimes a few. */
export const LAGGING_INDEXES = (rng: Rng) => propagationDelay(() => rng.next());

/**
 * How long after its first call a doomed invocation may die (ms of the simulated clock, which runs
 * with real time while calls are under way: they take a few ms each; a throttled call's SDK backoff
 * is a virtual wait, and the death may fall into it).
 */
const CRASH_WITHIN_MS = 300;

export interface FeedbackSimulationOptions {
    seed: number;
    faults?: Partial<FeedbackFaults>;
    /** Epoch ms the virtual clock starts at. */
    start: number;
    /** Added to the worker's synthesized environment (e.g. `SENDER_TAG`). */
    workerEnvironment?: Record<string, string>;
}

interface AdmittedCall {
    scope: InvocationScope;
    command: string;
    input: Record<string, any>;
    /** Whether the invocation was still alive when the response came back. */
    answeredAlive?: boolean;
    result?: { Attributes?: Record<string, unknown> };
}

export class FeedbackSimulation {
    public readonly clock: VirtualClock;
    public readonly rng: Rng;
    public readonly sqs: SqsModel;
    public readonly worker: SimFunction;
    public readonly mapping: SqsEventSourceMapping;
    /** What the worker published to the notifications topic, and which invocation published each. */
    public readonly announcements: SenderTransition[] = [];
    public readonly announcedBy: InvocationScope[] = [];
    /** JSON log lines (logs and EMF) of invocations that were alive when writing them. */
    public readonly lines: Record<string, unknown>[] = [];
    /** Every DynamoDB call an invocation made. */
    public readonly calls: AdmittedCall[] = [];
    /** The worker's timers (the SDK's retry backoff) and timeout, and the crash timers, on the simulated clock. */
    public readonly timers: VirtualTimers;
    private readonly actions: { at: number; run: () => void }[] = [];
    private readonly running = new Set<Promise<void>>();
    private restore: (() => void)[] = [];

    private constructor(
        public readonly plan: SystemPlan,
        options: FeedbackSimulationOptions,
        private readonly dynalite: LocalDynamo,
        public readonly lagging: DelayedIndexDynamo,
        public readonly gateway: DynamoGateway,
        clock: VirtualClock,
        rng: Rng,
        faults: FeedbackFaults,
    ) {
        this.clock = clock;
        this.rng = rng;
        this.sqs = new SqsModel(plan.queues, clock, rng, { duplicateRate: faults.duplicateRate });
        const spec = plan.functions.find((f) => f.environment.POWERTOOLS_SERVICE_NAME === "feedback-worker");
        if (!spec) throw new Error("The plan has no feedback worker (functions/feedback-worker)");
        const onLog = (_fn: string, line: LogLine) => {
            // A dead process writes nothing: lines from an invocation after its crash are dropped.
            if (invocationScope.getStore()?.crashed) return;
            if (typeof line === "object" && line !== null) this.lines.push(line);
        };
        this.timers = new VirtualTimers(clock);
        this.worker = new SimFunction(spec, { clock, region: plan.region, envOverrides: options.workerEnvironment, onLog, timers: this.timers });
        const mapping = plan.mappings.find((m) => m.functionArn === spec.arn);
        if (!mapping) throw new Error(`No event source mapping invokes ${spec.name}`);
        this.mapping = new SqsEventSourceMapping(mapping, this.worker, this.sqs, clock, rng, { crashRate: faults.crashRate }, plan.region);
    }

    public static async start(plan: SystemPlan, options: FeedbackSimulationOptions): Promise<FeedbackSimulation> {
        const faults = { ...NO_FEEDBACK_FAULTS, ...(options.faults ?? {}) };
        const clock = new VirtualClock(options.start);
        const rng = new Rng(options.seed);
        // A throttled write changes nothing: the index model forgets it too (it sees the 400).
        const gateway = await DynamoGateway.start(rng, { throttleRate: faults.dynamoThrottleRate, unprocessedRate: 0 });
        const lagging = await DelayedIndexDynamo.start(gateway.endpoint, { delayMs: faults.indexDelayMs(rng), now: () => clock.now() });
        const sim = new FeedbackSimulation(plan, options, gateway.local, lagging, gateway, clock, rng, faults);
        await sim.setUp();
        return sim;
    }

    private async setUp(): Promise<void> {
        for (const table of this.plan.tables) await createTableFrom(this.dynalite, table);
        // The SDK (external to the bundle) reads these process-wide.
        const global: Record<string, string> = { AWS_REGION: this.plan.region, AWS_ACCESS_KEY_ID: "sim", AWS_SECRET_ACCESS_KEY: "sim", AWS_ENDPOINT_URL_DYNAMODB: this.lagging.endpoint };
        const saved = Object.fromEntries(Object.keys(global).map((k) => [k, process.env[k]]));
        Object.assign(process.env, global);
        this.timers.start();
        this.restore.push(() => this.timers.stop());
        this.restore.push(() => Object.entries(saved).forEach(([k, v]) => (v === undefined ? delete process.env[k] : (process.env[k] = v))));

        // Every AWS SDK client's send() (DynamoDB clients and document clients share it) is an external
        // call of the invocation it runs in: none after its death, and its answer reaches a dead one nobody.
        const clientPrototype = Object.getPrototypeOf(DynamoDBClient.prototype) as { send: (...args: any[]) => any };
        const send = clientPrototype.send;
        const calls = this.calls;
        const inFlight = new Map<InvocationScope, number>();
        clientPrototype.send = function (this: unknown, command: { constructor: { name: string }; input: Record<string, any> }, ...rest: unknown[]) {
            const scope = invocationScope.getStore();
            if (!scope) return send.call(this, command, ...rest);
            if (!scope.admit()) return new Promise(() => undefined);
            const call: AdmittedCall = { scope, command: command.constructor.name, input: command.input };
            calls.push(call);
            inFlight.set(scope, (inFlight.get(scope) ?? 0) + 1);
            return (send.call(this, command, ...rest) as Promise<AdmittedCall["result"]>).then((result) => {
                call.answeredAlive = !scope.crashed;
                call.result = result;
                return result;
            }).finally(() => inFlight.set(scope, inFlight.get(scope)! - 1));
        };
        this.restore.push(() => (clientPrototype.send = send));

        // A batch the mapping dooms dies at a random moment instead of at a chosen call: then some of
        // its notifications are done and others under way, as when a process is killed.
        const admit = InvocationScope.prototype.admit;
        const rng = this.rng;
        InvocationScope.prototype.admit = function (this: InvocationScope) {
            const internals = this as unknown as { crashAtCall?: number; onCrash: () => void };
            if (internals.crashAtCall !== undefined) {
                internals.crashAtCall = undefined;
                setTimeout(() => {
                    if (this.crashed || !inFlight.get(this)) return; // finished (or between calls): it lives
                    this.crashed = true;
                    internals.onCrash();
                }, rng.int(1, CRASH_WITHIN_MS));
            }
            return admit.call(this);
        };
        this.restore.push(() => (InvocationScope.prototype.admit = admit));

        const sns = mockClient(SNSClient);
        sns.onAnyCommand().rejects(new Error("The feedback simulation models SNS Publish only"));
        sns.on(PublishCommand).callsFake((input: { TopicArn?: string; Message?: string }) => gated(() => {
            if (input.TopicArn !== this.worker.spec.environment.NOTIFICATIONS_TOPIC_ARN) throw new Error(`Publish to an unexpected topic ${input.TopicArn}`);
            this.announcements.push(JSON.parse(input.Message ?? "{}"));
            this.announcedBy.push(invocationScope.getStore()!);
            return { MessageId: randomUUID() };
        }));
        this.restore.push(() => sns.restore());
    }

    public async close(): Promise<void> {
        this.restore.reverse().forEach((undo) => undo());
        await this.lagging.close();
        await this.gateway.close();
    }

    public tableName(logicalName: string): string {
        const table = this.plan.tables.find((t) => t.name === logicalName);
        if (!table) throw new Error(`No table ${logicalName} in the plan`);
        return table.inputs.name;
    }

    /** Every item of a table (read straight from dynalite, not through the faults). */
    public async scan(logicalName: string): Promise<Record<string, any>[]> {
        const items: Record<string, any>[] = [];
        let start: Record<string, any> | undefined;
        do {
            const page = await this.dynalite.client.send(new ScanCommand({ TableName: this.tableName(logicalName), ExclusiveStartKey: start }));
            items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
            start = page.LastEvaluatedKey;
        } while (start);
        return items;
    }

    /** Runs `run` when the simulated clock reaches `at`. */
    public at(at: number, run: () => void): void {
        this.actions.push({ at, run });
        this.actions.sort((a, b) => a.at - b.at);
    }

    /** SNS Publish: every SQS subscription of the topic gets the message in the SNS envelope ("Amazon SNS message delivery"). */
    public publish(topicArn: string, message: string): void {
        const subscriptions = this.plan.subscriptions.filter((s) => s.topicArn === topicArn && s.protocol === "sqs");
        if (subscriptions.length === 0) throw new Error(`Topic ${topicArn} has no SQS subscription in the plan`);
        for (const subscription of subscriptions) {
            const envelope = {
                Type: "Notification", MessageId: randomUUID(), TopicArn: topicArn, Message: message, Timestamp: this.clock.iso(), SignatureVersion: "1",
                Signature: "c2ltdWxhdGVk", SigningCertURL: `https://sns.${this.plan.region}.amazonaws.com/SimpleNotificationService-sim.pem`,
                UnsubscribeURL: `https://sns.${this.plan.region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:sim`,
            };
            this.sqs.sendMessage({ QueueUrl: this.sqs.spec(subscription.endpoint).url, MessageBody: subscription.rawMessageDelivery ? message : JSON.stringify(envelope) });
        }
    }

    /** Runs until nothing is under way, nothing is due and the queue is empty; time jumps when idle. */
    public async runUntilQuiet(limitMs = 3 * 86_400_000): Promise<void> {
        const deadline = this.clock.now() + limitMs;
        const upcoming = () => [this.actions[0]?.at, this.mapping.wakeAt(), this.sqs.nextVisibleAt([this.mapping.sourceArn])];
        for (;;) {
            while (this.actions.length > 0 && this.actions[0].at <= this.clock.now()) this.actions.shift()!.run();
            this.timers.fireDue();
            for (let at = this.mapping.wakeAt(); at !== undefined && at <= this.clock.now(); at = this.mapping.wakeAt()) {
                const batch = this.mapping.startBatch();
                if (!batch) break;
                const tracked: Promise<void> = batch.finally(() => this.running.delete(tracked));
                this.running.add(tracked);
            }
            if (this.running.size > 0) {
                // Every invocation asleep (the SDK's backoff) and no request under way: time jumps to the next due moment.
                if (await this.timers.asleep()) {
                    jumpToNext(this.clock, [this.timers.nextAt(), ...upcoming()]);
                    continue;
                }
                await Promise.race([...this.running, new Promise((resolve) => setTimeout(resolve, 5))]);
                continue;
            }
            const next = upcoming().filter((t): t is number => t !== undefined);
            if (next.length === 0) return;
            const at = Math.max(Math.min(...next), this.clock.now() + 1);
            if (at > deadline) throw new Error(`not quiet after ${limitMs / 1000} simulated seconds (${this.sqs.messages(this.mapping.sourceArn).length} messages left)`);
            this.clock.advanceTo(at);
        }
    }
}
