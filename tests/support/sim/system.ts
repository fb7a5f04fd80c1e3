// The inbound system as the plan wires it, run on the models: SES → S3 + SNS → input queue → pipe
// (router enrichment) → bus rules → target queues → event source mappings → forwarder / bouncer;
// the retry drain as a Step Functions execution. One simulation per generated scenario.
import { randomUUID } from "node:crypto";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { GMAIL_SCOPES, parameterNames, TESTING_TOKEN_LIFETIME_SECONDS, tokenRecord } from "../../../functions/shared/gmail-oauth";
import { recordLogLines } from "../output";
import { createTableFrom, LocalDynamo } from "../dynalite";
import { FakeGoogle, startFakeGoogle } from "../fake-google";
import { Rng, VirtualClock } from "./clock";
import { PipeModel, Poller, SqsEventSourceMapping } from "./consumers";
import { StepFunctionsModel } from "./drain";
import { EventBusModel } from "./eventbridge";
import { DynamoGateway, GmailGateway } from "./gateways";
import { LogLine, SimFunction } from "./lambda";
import type { SystemPlan } from "./plan";
import { S3Model, SesModel, SsmModel, wireSdkMocks } from "./services";
import { SqsModel } from "./sqs";
import { jumpToNext, VirtualTimers } from "./timers";

export interface SimulationFaults {
    /** SQS keeps a deleted message's copy (at-least-once). */
    duplicateRate: number;
    /** An invocation's environment dies at a random external call (at most once per message). */
    crashRate: number;
    dynamoThrottleRate: number;
    dynamoUnprocessedRate: number;
    sendBounceThrottleRate: number;
    sqsBatchEntryFailureRate: number;
}

export const NO_FAULTS: SimulationFaults = { duplicateRate: 0, crashRate: 0, dynamoThrottleRate: 0, dynamoUnprocessedRate: 0, sendBounceThrottleRate: 0, sqsBatchEntryFailureRate: 0 };

export interface SimulationOptions {
    seed: number;
    /**
     * Handlers that pace calls (env `*_MIN_INTERVAL_MS`) get their interval divided by this, and the
     * services' rate limits are scaled alike, so pacing is checked against the overridden interval
     * in a fraction of the simulated time (the waits themselves are on the simulated clock). @default 50
     */
    scale?: number;
    faults?: Partial<SimulationFaults>;
    /** Concurrent batches of each pipe (EventBridge Pipes scales its SQS pollers itself). @default 5 */
    pipeConcurrency?: number;
    start?: number;
}

export interface LogEntry {
    at: number;
    fn: string;
    service?: string;
    line: LogLine;
}

/** Ends a run that never goes quiet (a message looping for ever), with what is still going on. */
export class NeverQuiet extends Error {
    public override readonly name = "NeverQuiet";
}

export class InboundSimulation {
    public readonly clock: VirtualClock;
    public readonly rng: Rng;
    public readonly sqs: SqsModel;
    public readonly bus: EventBusModel;
    public readonly s3: S3Model;
    public readonly ssm = new SsmModel();
    public readonly ses: SesModel;
    public readonly sfn: StepFunctionsModel;
    public readonly functions = new Map<string, SimFunction>();
    public readonly pollers: Poller[] = [];
    public readonly logs: LogEntry[] = [];
    public readonly faults: SimulationFaults;
    public readonly scale: number;
    /** The handlers' timers (SDK retry backoff, pacing, their own backoff) and the functions' timeouts, on the simulated clock. */
    public readonly timers: VirtualTimers;
    private readonly actions: { at: number; run: () => void | Promise<void> }[] = [];
    private restoreMocks: () => void = () => undefined;
    private savedEnv: Record<string, string | undefined> = {};

    private constructor(
        public readonly plan: SystemPlan,
        options: SimulationOptions,
        public readonly google: FakeGoogle,
        public readonly gmail: GmailGateway,
        public readonly dynalite: LocalDynamo,
        public readonly dynamo: DynamoGateway,
        clock: VirtualClock,
        rng: Rng,
    ) {
        this.clock = clock;
        this.rng = rng;
        this.timers = new VirtualTimers(clock);
        this.scale = options.scale ?? 50;
        this.faults = { ...NO_FAULTS, ...(options.faults ?? {}) };
        this.sqs = new SqsModel(plan.queues, clock, rng, { duplicateRate: this.faults.duplicateRate, batchEntryFailureRate: this.faults.sqsBatchEntryFailureRate });
        this.bus = new EventBusModel(plan.busRules, this.sqs, clock, plan);
        this.s3 = new S3Model(clock);
        this.ses = new SesModel(clock, rng, { identities: plan.identities, scale: this.scale, throttleRate: this.faults.sendBounceThrottleRate });
        this.sfn = new StepFunctionsModel(plan.stateMachines, this.sqs, clock);
    }

    public static async start(plan: SystemPlan, options: SimulationOptions): Promise<InboundSimulation> {
        const clock = new VirtualClock(options.start ?? Date.parse("2026-03-02T09:00:00.000Z"));
        const rng = new Rng(options.seed);
        const faults = { ...NO_FAULTS, ...(options.faults ?? {}) };
        const google = await startFakeGoogle();
        const gmail = await GmailGateway.start(google, { clock, scale: options.scale ?? 50 });
        const dynamo = await DynamoGateway.start(rng, { throttleRate: faults.dynamoThrottleRate, unprocessedRate: faults.dynamoUnprocessedRate });
        const sim = new InboundSimulation(plan, options, google, gmail, dynamo.local, dynamo, clock, rng);
        await sim.setUp(options);
        return sim;
    }

    private async setUp(options: SimulationOptions): Promise<void> {
        for (const table of this.plan.tables) await createTableFrom(this.dynalite, table);
        // Only what the SDK clients (external to the bundles) read is set process-wide.
        const global = { AWS_REGION: this.plan.region, AWS_ACCESS_KEY_ID: "sim", AWS_SECRET_ACCESS_KEY: "sim", AWS_ENDPOINT_URL_DYNAMODB: this.dynamo.endpoint };
        this.savedEnv = Object.fromEntries(Object.keys(global).map((k) => [k, process.env[k]]));
        Object.assign(process.env, global);
        delete process.env.AWS_SESSION_TOKEN;
        this.timers.start();
        this.restoreMocks = wireSdkMocks({ sqs: this.sqs, s3: this.s3, ssm: this.ssm, ses: this.ses });

        const onLog = (fn: string, line: LogLine) => {
            const entry: LogEntry = { at: this.clock.now(), fn, line, service: typeof line === "object" ? String(line.service ?? "") : undefined };
            this.logs.push(entry);
            recordLogLines([line]);
        };
        for (const spec of this.plan.functions) {
            const overrides: Record<string, string> = {
                GMAIL_API_ROOT_URL: this.gmail.apiRootUrl,
                OAUTH_TOKEN_URL: this.gmail.tokenUrl,
            };
            for (const [name, value] of Object.entries(spec.environment)) {
                // Pacing, run `scale` times faster; SES and Gmail limits are scaled alike.
                if (/_MIN_INTERVAL_MS$/.test(name)) overrides[name] = String(Math.max(1, Math.round(Number(value) / this.scale)));
            }
            this.functions.set(spec.arn, new SimFunction(spec, { clock: this.clock, region: this.plan.region, envOverrides: overrides, onLog, timers: this.timers }));
        }
        for (const pipe of this.plan.pipes) {
            const enrichment = pipe.enrichmentArn ? this.functions.get(pipe.enrichmentArn) : undefined;
            this.pollers.push(new PipeModel(pipe, enrichment, this.bus, this.sqs, this.clock, this.rng, { concurrency: options.pipeConcurrency ?? 5, crashRate: this.faults.crashRate, region: this.plan.region }));
        }
        for (const mapping of this.plan.mappings) {
            const fn = this.functions.get(mapping.functionArn);
            if (!fn) throw new Error(`Mapping ${mapping.logicalName} invokes ${mapping.functionArn}, which the plan does not have`);
            this.pollers.push(new SqsEventSourceMapping(mapping, fn, this.sqs, this.clock, this.rng, { crashRate: this.faults.crashRate }, this.plan.region));
        }
    }

    public async close(): Promise<void> {
        this.timers.stop();
        this.restoreMocks();
        for (const [key, value] of Object.entries(this.savedEnv)) {
            if (value === undefined) delete process.env[key];
            else process.env[key] = value;
        }
        await Promise.all([this.gmail.close(), this.google.close(), this.dynamo.close()]);
    }

    // ---- plan lookups ----

    /** The function built from `functions/<code>/` (its Powertools service name). */
    public fn(code: string): SimFunction {
        const found = [...this.functions.values()].find((f) => f.spec.environment.POWERTOOLS_SERVICE_NAME === code);
        if (!found) throw new Error(`No function built from functions/${code} in the plan`);
        return found;
    }

    public tableName(logicalName: string): string {
        const table = this.plan.tables.find((t) => t.name === logicalName);
        if (!table) throw new Error(`No table ${logicalName} in the plan (have: ${this.plan.tables.map((t) => t.name).join(", ")})`);
        return table.inputs.name;
    }

    public async putItem(table: string, item: Record<string, unknown>): Promise<void> {
        await this.dynalite.client.send(new PutItemCommand({ TableName: table, Item: item as never }));
    }

    // ---- inputs ----

    /** Runs `run` when the simulated clock reaches `at`. */
    public at(at: number, run: () => void | Promise<void>): void {
        this.actions.push({ at, run });
        this.actions.sort((a, b) => a.at - b.at);
    }

    /**
     * SNS Publish to a topic: each SQS subscription gets the notification, inside the SNS envelope
     * unless raw message delivery is on ("Amazon SNS message delivery": the JSON of Type, MessageId,
     * TopicArn, Message, Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL).
     */
    public publish(topicArn: string, message: string): void {
        const subscriptions = this.plan.subscriptions.filter((s) => s.topicArn === topicArn && s.protocol === "sqs");
        if (subscriptions.length === 0) throw new Error(`Topic ${topicArn} has no SQS subscription in the plan`);
        for (const subscription of subscriptions) {
            const envelope = {
                Type: "Notification",
                MessageId: randomUUID(),
                TopicArn: topicArn,
                Message: message,
                Timestamp: this.clock.iso(),
                SignatureVersion: "1",
                Signature: "c2ltdWxhdGVk",
                SigningCertURL: `https://sns.${this.plan.region}.amazonaws.com/SimpleNotificationService-sim.pem`,
                UnsubscribeURL: `https://sns.${this.plan.region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:sim`,
            };
            this.sqs.sendMessage({ QueueUrl: this.sqs.spec(subscription.endpoint).url, MessageBody: subscription.rawMessageDelivery ? message : JSON.stringify(envelope) });
        }
    }

    /**
     * SES received a mail: the S3 action stores the raw message under the rule's prefix and
     * publishes the receipt notification to the rule's topic ("Deliver to S3 bucket action").
     */
    public receive(messageId: string, raw: Buffer, notification: { receipt: { action: { bucketName: string; objectKey: string; topicArn?: string } } }, deliveries = 1): void {
        const action = notification.receipt.action;
        this.s3.put(action.bucketName, action.objectKey, raw);
        this.ses.receivedMail(messageId, this.clock.now());
        const topic = action.topicArn ?? this.plan.receiptRules[0]?.topicArn;
        if (!topic) throw new Error("The plan's receipt rule publishes to no topic");
        for (let i = 0; i < deliveries; i++) this.publish(topic, JSON.stringify(notification));
    }

    // ---- running ----

    private get busy(): Promise<unknown>[] {
        return [...this.running, ...this.sfn.active];
    }

    private readonly running = new Set<Promise<void>>();

    private startReadyBatches(): void {
        for (let started = true; started;) {
            started = false;
            for (const poller of this.pollers) {
                const at = poller.wakeAt();
                if (at === undefined || at > this.clock.now()) continue;
                const batch = poller.startBatch();
                if (!batch) continue;
                const tracked = batch.catch((error) => {
                    throw new Error(`${poller.name}: the harness failed: ${(error as Error).stack}`);
                }).finally(() => this.running.delete(tracked));
                this.running.add(tracked);
                started = true;
            }
        }
    }

    /**
     * Runs until nothing is under way, nothing is due and no consumed queue holds a message: then
     * the system is quiet. Time jumps to the next visibility expiry, delay or batching window
     * whenever nothing runs.
     */
    public async runUntilQuiet(limit: { virtualMs?: number } = {}): Promise<void> {
        const deadline = this.clock.now() + (limit.virtualMs ?? 3 * 86_400_000);
        const consumed = this.pollers.map((p) => p.sourceArn);
        const upcoming = () => [
            this.actions[0]?.at,
            this.sfn.wakeAt(),
            this.sqs.nextVisibleAt(consumed),
            ...this.pollers.map((p) => p.wakeAt()),
        ].filter((t): t is number => t !== undefined);
        for (;;) {
            while (this.actions.length > 0 && this.actions[0].at <= this.clock.now()) await this.actions.shift()!.run();
            this.sfn.wake();
            this.timers.fireDue();
            this.startReadyBatches();
            const busy = this.busy;
            if (busy.length > 0) {
                // Every running invocation asleep (retry backoff, pacing), no execution at work and no
                // request under way: nothing happens before the next due moment, so time jumps there.
                if (this.sfn.active.length === 0 && await this.timers.asleep() && this.sfn.active.length === 0) {
                    jumpToNext(this.clock, [this.timers.nextAt(), ...upcoming()]);
                    continue;
                }
                // A running batch may feed another queue: look again soon, not only when it ends.
                await Promise.race([...busy, new Promise((resolve) => setTimeout(resolve, 5))]);
                continue;
            }
            const candidates = upcoming();
            if (candidates.length === 0) return;
            const next = Math.max(Math.min(...candidates), this.clock.now() + 1);
            if (next > deadline) {
                const waiting = consumed.map((arn) => `${this.sqs.spec(arn).name}: ${this.sqs.messages(arn).length}`).join(", ");
                throw new NeverQuiet(`still not quiet after ${(limit.virtualMs ?? 3 * 86_400_000) / 1000} simulated seconds (${waiting})`);
            }
            this.clock.advanceTo(next);
        }
    }

    // ---- Gmail tokens ----

    /**
     * What `npx ses-mail token refresh` leaves behind for an account: a fresh refresh token Google
     * accepts, stored as the SSM SecureStrings the forwarder reads (names from gmail-oauth.ts).
     */
    public storeToken(ssmPrefix: string, account: string): string {
        const names = parameterNames(ssmPrefix, account);
        const token = `1//sim-${account}-${randomUUID()}`;
        this.gmail.registerRefreshToken(token, account);
        this.ssm.put(names.clientCredentials, JSON.stringify({ installed: { client_id: "sim-client.apps.googleusercontent.com", client_secret: "sim-secret" } }));
        const record = tokenRecord(token, { now: new Date(this.clock.now()), lifetimeSeconds: TESTING_TOKEN_LIFETIME_SECONDS, clientId: "sim-client.apps.googleusercontent.com", scope: GMAIL_SCOPES.join(" ") });
        this.ssm.put(names.refreshToken, JSON.stringify(record.value));
        return token;
    }
}
