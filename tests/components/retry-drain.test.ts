import * as assert from "node:assert/strict";
import { expect } from "chai";
import fc from "fast-check";
import { DRAIN_ITERATIONS_PER_EXECUTION, DRAIN_VISIBILITY_TIMEOUT_SECONDS, LATE_PARK_GRACE_SECONDS, RetryDrain, retryDrainDefinition } from "../../components/retry-drain";
import { ExecutionFailed, HISTORY_EVENT_LIMIT, runJsonataExecution, TaskError } from "../support/asl-jsonata";
import { MOCK_ACCOUNT, runUnderMocks } from "../support/mocks";

const SOURCE = "https://sqs.us-east-1.amazonaws.com/1/retry";
const TARGET = "https://sqs.us-east-1.amazonaws.com/1/forwarder";
const MACHINE = "arn:aws:states:us-east-1:1:stateMachine:drain";
const X = "x@gmail.com";
const Y = "y@gmail.com";
const Z = "z@gmail.com";
/** MailIngest's retry queue: messages received this often go to its DLQ instead. */
const MAX_RECEIVE_COUNT = 10;
const START = Date.parse("2026-11-22T10:00:00.000Z");

interface Message {
    id: string;
    body: string;
    /** The `account` message attribute; messages parked before it existed have none. */
    account?: string;
    sentAt: number;
    visibleAt: number;
    receiveCount: number;
    receipt?: string;
}

type Order = "oldest first" | "newest first" | "shuffled";

/** A small seeded PRNG (mulberry32), so fast-check's seed replays the SQS model's choices too. */
function random(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = Math.imul(a ^ (a >>> 15), 1 | a);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/**
 * The retry queue, the forwarder queue with the forwarder behind it, and Step Functions' StartExecution,
 * as the drain's tasks see them. No kinder than SQS ("ReceiveMessage", "DeleteMessage", "Amazon SQS
 * visibility timeout", "Using dead-letter queues" in the SQS Developer Guide): a receive returns at most
 * MaxNumberOfMessages and, when messages are visible, possibly fewer, in no promised order; it hides them
 * for the visibility timeout, raises their receive count and gives a new receipt handle each time; a
 * delete with an outdated receipt handle succeeds but leaves the message; a message received more than
 * maxReceiveCount times goes to the DLQ; SentTimestamp comes from the queue's clock; a send creates a new
 * message. The forwarder parks anything for an account whose token is bad again at once, as a new message.
 */
class SqsModel {
    now = START;
    readonly retry = new Map<string, Message>();
    readonly retryDlq: Message[] = [];
    /** Bodies the forwarder queue received, in order. */
    readonly forwarded: string[] = [];
    readonly calls: { action: string; body?: string }[] = [];
    readonly startedInputs: unknown[] = [];
    received = 0;
    /** Other executions ListExecutions reports as RUNNING (until `until` on the queue's clock). */
    readonly runningDrains: { arn: string; startedAt: number; until: number }[] = [];
    private ids = 0;
    private readonly rng: () => number;

    constructor(private readonly options: { badAccounts?: string[]; order?: Order; seed?: number; failSendFor?: Set<string> } = {}) {
        this.rng = random(options.seed ?? 1);
    }

    /** Parks a message the way the forwarder does (attribute `account`), `ageMs` before now. */
    park(body: string, account: string | undefined, ageMs = 60_000, receiveCount = 0): Message {
        const message = { id: `m${this.ids++}`, body, account, sentAt: this.now - ageMs, visibleAt: this.now - ageMs, receiveCount };
        this.retry.set(message.id, message);
        return message;
    }

    advance(ms: number): void {
        this.now += ms;
    }

    task = async (resource: string, args: any): Promise<any> => {
        // Each call takes a few tens of milliseconds of the queue's clock.
        this.advance(20 + Math.floor(this.rng() * 100));
        const action = resource.split(":").pop()!;
        switch (resource) {
            case "arn:aws:states:::aws-sdk:sqs:getQueueAttributes": {
                this.calls.push({ action });
                assert.deepEqual(args, { QueueUrl: SOURCE, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] });
                const visible = [...this.retry.values()].filter((m) => m.visibleAt <= this.now).length;
                return { Attributes: { ApproximateNumberOfMessages: String(visible), ApproximateNumberOfMessagesNotVisible: String(this.retry.size - visible) } };
            }
            case "arn:aws:states:::aws-sdk:sqs:receiveMessage":
                this.calls.push({ action });
                return this.receive(args);
            case "arn:aws:states:::aws-sdk:sqs:sendMessage": {
                assert.equal(args.QueueUrl, TARGET);
                this.calls.push({ action, body: args.MessageBody });
                if (this.options.failSendFor?.has(args.MessageBody)) throw new TaskError("Sqs.SqsException", "send failed");
                this.forwarded.push(args.MessageBody);
                // The forwarder: a token still bad parks the mail again, as a new message.
                const account = JSON.parse(args.MessageBody).target as string;
                if (this.options.badAccounts?.includes(account)) this.park(args.MessageBody, account, 0);
                return { MessageId: `f${this.forwarded.length}`, MD5OfMessageBody: "md5" };
            }
            case "arn:aws:states:::aws-sdk:sqs:changeMessageVisibility": {
                assert.equal(args.QueueUrl, SOURCE);
                const message = this.byReceipt(args.ReceiptHandle);
                this.calls.push({ action, body: message?.body });
                if (message) message.visibleAt = this.now + args.VisibilityTimeout * 1000;
                return {};
            }
            case "arn:aws:states:::aws-sdk:sqs:deleteMessage": {
                assert.equal(args.QueueUrl, SOURCE);
                const message = this.byReceipt(args.ReceiptHandle);
                this.calls.push({ action, body: message?.body });
                if (message) this.retry.delete(message.id);
                return {};
            }
            case "arn:aws:states:::aws-sdk:sfn:listExecutions":
                assert.deepEqual(args, { StateMachineArn: MACHINE, StatusFilter: "RUNNING", MaxResults: 100 });
                this.calls.push({ action });
                return { Executions: this.runningDrains.filter((d) => d.until > this.now).map((d) => ({ ExecutionArn: d.arn, Status: "RUNNING", StartDate: new Date(d.startedAt).toISOString() })) };
            case "arn:aws:states:::states:startExecution":
                assert.equal(args.StateMachineArn, MACHINE);
                this.startedInputs.push(typeof args.Input === "string" ? JSON.parse(args.Input) : args.Input);
                return { ExecutionArn: `${MACHINE.replace(":stateMachine:", ":execution:")}:continued-${this.startedInputs.length}`, StartDate: new Date(this.now).toISOString() };
        }
        throw new Error(`unexpected ${resource}`);
    };

    /** The message in the retry queue whose latest receipt handle this is (an outdated one names none). */
    private byReceipt(receipt: unknown): Message | undefined {
        const message = typeof receipt === "string" ? this.retry.get(receipt.split("#")[0]) : undefined;
        return message?.receipt === receipt ? message : undefined;
    }

    private visible(): Message[] {
        const visible = [...this.retry.values()].filter((m) => m.visibleAt <= this.now);
        const order = this.options.order ?? "oldest first";
        if (order === "newest first") return visible.sort((a, b) => b.sentAt - a.sentAt);
        if (order === "shuffled") return visible.map((m) => [this.rng(), m] as const).sort((a, b) => a[0] - b[0]).map(([, m]) => m);
        return visible.sort((a, b) => a.sentAt - b.sentAt);
    }

    private receive(args: any) {
        assert.equal(args.QueueUrl, SOURCE);
        const max = args.MaxNumberOfMessages ?? 1;
        if (!Number.isInteger(max) || max < 1 || max > 10) throw new TaskError("Sqs.SqsException", `MaxNumberOfMessages must be 1 to 10, not ${max}`);
        const wait = args.WaitTimeSeconds ?? 20; // the retry queue's ReceiveMessageWaitTimeSeconds
        let visible = this.visible();
        if (visible.length === 0) {
            this.advance(wait * 1000);
            visible = this.visible();
        }
        // SQS moves a message received more than maxReceiveCount times to the DLQ instead of returning it.
        for (const m of visible.filter((m) => m.receiveCount >= MAX_RECEIVE_COUNT)) {
            this.retry.delete(m.id);
            this.retryDlq.push(m);
        }
        visible = visible.filter((m) => m.receiveCount < MAX_RECEIVE_COUNT);
        if (visible.length === 0) return {};
        const count = 1 + Math.floor(this.rng() * Math.min(max, visible.length));
        const systemNames: string[] = [...(args.AttributeNames ?? []), ...(args.MessageSystemAttributeNames ?? [])];
        const wants = (names: string[], name: string) => names.includes("All") || names.includes(name);
        const messageNames: string[] = args.MessageAttributeNames ?? [];
        return {
            Messages: visible.slice(0, count).map((m) => {
                m.receiveCount += 1;
                m.visibleAt = this.now + (args.VisibilityTimeout ?? 30) * 1000;
                m.receipt = `${m.id}#${m.receiveCount}`;
                this.received += 1;
                const attributes = Object.fromEntries(Object.entries({ SentTimestamp: String(m.sentAt), ApproximateReceiveCount: String(m.receiveCount), SenderId: "AROAEXAMPLE" })
                    .filter(([name]) => wants(systemNames, name)));
                const messageAttributes = m.account !== undefined && (wants(messageNames, "account") || messageNames.includes(".*"))
                    ? { account: { DataType: "String", StringValue: m.account } }
                    : undefined;
                return {
                    MessageId: m.id, ReceiptHandle: m.receipt, MD5OfBody: "md5", Body: m.body,
                    ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
                    ...(messageAttributes ? { MessageAttributes: messageAttributes, MD5OfMessageAttributes: "md5" } : {}),
                };
            }),
        };
    }
}

const definition = JSON.parse(JSON.stringify(retryDrainDefinition("aws", SOURCE, TARGET)));
/** The same machine handing over after every few receives, so generated queues exercise long chains (made once per count). */
const handingOver = new Map<number, unknown>();
const definitionHandingOverEvery = (receives: number) => {
    if (!handingOver.has(receives)) handingOver.set(receives, JSON.parse(JSON.stringify(retryDrainDefinition("aws", SOURCE, TARGET, receives))));
    return handingOver.get(receives);
};
const body = (account: string, n: number) => JSON.stringify({ target: account, messageId: `ses-${account}-${n}` });

/** Runs an execution and every execution it hands over to, as Step Functions would; the chain must end. */
async function drain(sqs: SqsModel, input: unknown, machine = definition, maxExecutions = 1_000) {
    const executions: { output: any; historyEvents: number; startTime: string }[] = [];
    let next = input;
    for (let n = 1; n <= maxExecutions; n++) {
        sqs.advance(50);
        const startTime = new Date(sqs.now).toISOString();
        const run = await runJsonataExecution(machine, next, sqs.task, { startTime, stateMachineArn: MACHINE }, { wait: (seconds) => sqs.advance(seconds * 1000), now: () => sqs.now });
        executions.push({ ...run, startTime });
        if (!run.output.continuedIn) return { output: run.output, executions };
        assert.equal(sqs.startedInputs.length, n);
        next = sqs.startedInputs[n - 1];
    }
    throw new Error(`the drain was still handing over after ${maxExecutions} executions`);
}

const count = <T>(items: T[]) => items.reduce((map, item) => map.set(item, (map.get(item) ?? 0) + 1), new Map<T, number>());

describe("RetryDrain", () => {
    describe("state machine (run with the real JSONata evaluator against an SQS model)", () => {
        it("moves every message, not just the first ten, then stops", async () => {
            const sqs = new SqsModel();
            for (let i = 0; i < 37; i++) sqs.park(body(X, i), X);
            const { output } = await drain(sqs, { account: X });
            expect(output).to.deep.include({ account: X, moved: 37, skipped: 0, executions: 1 });
            expect(sqs.forwarded).to.have.length(37);
            expect(new Set(sqs.forwarded).size).to.equal(37);
            expect(sqs.retry.size).to.equal(0);
        });

        it("deletes a message only after its send succeeded (sends retried, then the execution fails)", async () => {
            const sqs = new SqsModel({ failSendFor: new Set([body(X, 1)]) });
            for (let i = 0; i < 3; i++) sqs.park(body(X, i), X);
            const failure = await drain(sqs, { account: X }).then(() => undefined, (e: unknown) => e);
            expect(failure).to.be.instanceOf(ExecutionFailed);
            expect((failure as ExecutionFailed).error).to.equal("Sqs.SqsException");
            expect(sqs.calls.filter((c) => c.action === "sendMessage" && c.body === body(X, 1))).to.have.length(4); // first try and 3 retries
            expect(sqs.calls.filter((c) => c.action === "deleteMessage" && c.body === body(X, 1))).to.deep.equal([]);
            expect([...sqs.retry.values()].map((m) => m.body)).to.include(body(X, 1)); // parked; visible again after the timeout
            expect(sqs.forwarded).to.not.include(body(X, 1));
            // Every delete came after the same message's send.
            sqs.calls.forEach((call, i) => {
                if (call.action === "deleteMessage") expect(sqs.calls.slice(0, i).some((c) => c.action === "sendMessage" && c.body === call.body)).to.equal(true);
            });
        });

        it("moves only the account's messages; others (and those parked before the account attribute) stay parked, untouched", async () => {
            const sqs = new SqsModel({ badAccounts: [Y] });
            const others = [sqs.park(body(Y, 1), Y), sqs.park(body(Z, 1), Z), sqs.park(body(X, 9), undefined)];
            for (let i = 0; i < 12; i++) sqs.park(body(X, i), X);
            // The account from the command line, in any case and with stray spaces.
            const { output } = await drain(sqs, { account: "  X@Gmail.com " });
            expect(output).to.deep.include({ account: X, moved: 12, skipped: 3 });
            expect(sqs.forwarded.sort()).to.deep.equal(Array.from({ length: 12 }, (_, i) => body(X, i)).sort());
            expect([...sqs.retry.values()]).to.deep.equal(others);
            expect(others.map((m) => m.receiveCount)).to.deep.equal([1, 1, 1]);
        });

        it("moves a message its account's forwarder parked during the drain (an old token in flight) in the late-park pass, 150 s on", async () => {
            const sqs = new SqsModel();
            for (let i = 0; i < 25; i++) sqs.park(body(X, i), X);
            const task = sqs.task;
            let late: Message | undefined;
            sqs.task = async (resource, args) => {
                // A forwarder invocation still holding the old token parks one more during the drain.
                if (resource.endsWith(":receiveMessage") && !late) late = sqs.park(body(X, 99), X, 0);
                return task(resource, args);
            };
            const { output } = await drain(sqs, { account: X });
            expect(output).to.deep.include({ moved: 26 });
            expect(sqs.forwarded.indexOf(body(X, 99))).to.equal(25); // last: after the wait, not in the first pass
            expect([...sqs.retry.values()]).to.deep.equal([]);
            expect(late).to.not.equal(undefined);
        });

        it("hands over before the history limit, carrying the account, the first start time and what is left of the budget", async () => {
            const sqs = new SqsModel({ badAccounts: [Y] });
            const total = 10 * DRAIN_ITERATIONS_PER_EXECUTION + 5;
            for (let i = 0; i < total; i++) sqs.park(body(i % 10 === 0 ? Y : X, i), i % 10 === 0 ? Y : X);
            const { output, executions } = await drain(sqs, { account: X });
            const [first] = executions;
            expect(first.output.continuedIn).to.equal(`${MACHINE.replace(":stateMachine:", ":execution:")}:continued-1`);
            const handedOver = sqs.startedInputs[0] as any;
            expect(handedOver).to.deep.include({ account: X });
            expect(handedOver.continued).to.deep.include({ startTime: first.startTime, executions: 2, moved: first.output.moved, skipped: first.output.skipped });
            // The budgets: what was parked at the start plus a margin for ApproximateNumberOfMessages' lag.
            expect(handedOver.continued.movesLeft).to.equal(total + 10 - first.output.moved);
            expect(handedOver.continued.receivesLeft).to.equal(2 * total + 10 - first.output.moved - first.output.skipped);
            expect(handedOver.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID).to.match(/:execution:drain:execution$/);
            expect(output).to.deep.include({ account: X, moved: total - 101, skipped: 101 });
            for (const execution of executions) expect(execution.historyEvents).to.be.below(HISTORY_EVENT_LIMIT);
        });

        it("refuses an input that is neither {} nor {\"account\": \"<address>\"}, before touching the queue", async () => {
            for (const input of [{ account: 42 }, { account: "" }, { account: ["x@gmail.com"] }]) {
                const sqs = new SqsModel();
                sqs.park(body(X, 1), X);
                const failure = await drain(sqs, input).then(() => undefined, (e: unknown) => e);
                expect((failure as ExecutionFailed).error, JSON.stringify(input)).to.equal("InvalidInput");
                expect(sqs.calls).to.deep.equal([]);
            }
        });

        it("a drain started while another drain's skipped messages are hidden waits for them, then moves its account's mail", async () => {
            const sqs = new SqsModel({ badAccounts: [] });
            for (let i = 0; i < 12; i++) sqs.park(JSON.stringify({ target: i % 2 ? X : Y, n: i }), i % 2 ? X : Y);
            const machine = retryDrainDefinition("aws", SOURCE, TARGET);
            const drain = async (account: string) => (await runJsonataExecution(machine, { account }, sqs.task, { startTime: new Date(sqs.now).toISOString(), stateMachineArn: MACHINE }, { wait: (seconds) => sqs.advance(seconds * 1000), now: () => sqs.now })).output;
            expect(await drain(X)).to.deep.include({ moved: 6, skipped: 6 }); // Y's six now hidden for 15 minutes
            const forY = await drain(Y); // the operator refreshes Y right after X
            expect(forY).to.deep.include({ moved: 6 });
            expect(sqs.retry.size).to.equal(0);
        });

        it("waits for a drain that started earlier and is still running (drains take turns); not for a later one", async () => {
            const sqs = new SqsModel({ badAccounts: [] });
            for (let i = 0; i < 4; i++) sqs.park(JSON.stringify({ target: X, n: i }), X);
            const machine = retryDrainDefinition("aws", SOURCE, TARGET);
            const startTime = new Date(sqs.now).toISOString();
            sqs.runningDrains.push({ arn: `${MACHINE}:later`, startedAt: sqs.now + 5, until: sqs.now + 3_600_000 });
            sqs.runningDrains.push({ arn: `${MACHINE}:earlier`, startedAt: sqs.now - 5_000, until: sqs.now + 150_000 });
            const waits: number[] = [];
            const run = await runJsonataExecution(machine, { account: X }, sqs.task, { startTime, stateMachineArn: MACHINE, executionArn: `${MACHINE}:me` }, { wait: (seconds) => { waits.push(seconds); sqs.advance(seconds * 1000); } });
            expect(waits).to.deep.equal([60, 60, 60, LATE_PARK_GRACE_SECONDS]); // until the earlier one ended, 150 s later; then the late-park pass
            expect(run.output).to.deep.include({ moved: 4 });
        });

        it("each drain that leaves a message parked raises its receive count by one, until the retry queue's DLQ takes it", async () => {
            const sqs = new SqsModel({ badAccounts: [Y] });
            const parked = sqs.park(body(Y, 1), Y);
            for (let n = 1; n <= MAX_RECEIVE_COUNT; n++) {
                sqs.park(body(X, n), X);
                await drain(sqs, { account: X });
                expect(parked.receiveCount).to.equal(n);
                sqs.advance(DRAIN_VISIBILITY_TIMEOUT_SECONDS * 1000);
            }
            await drain(sqs, { account: X });
            expect(sqs.retryDlq).to.deep.equal([parked]);
        });

        describe("terminates while another account's token stays bad (generated queues, fast-check)", () => {
            // What is parked at the start: X's (token just refreshed), Y's (token still bad: the forwarder
            // parks again everything it gets), Z's (token fine, but not this drain's account), and
            // messages parked before the `account` attribute existed.
            const parkedAtStart = fc.array(fc.record({
                account: fc.constantFrom(X, Y, Z),
                legacy: fc.integer({ min: 0, max: 9 }).map((n) => n < 3),
                ageMs: fc.integer({ min: 1, max: 14 * 86_400_000 }),
                receiveCount: fc.integer({ min: 0, max: 5 }),
            }), { maxLength: 250, size: "max" });
            type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;
            const scenario = fc.record({
                parked: parkedAtStart,
                order: fc.constantFrom<Order>("oldest first", "newest first", "shuffled"),
                seed: fc.integer(),
                receivesPerExecution: fc.constantFrom(1, 3, 10, DRAIN_ITERATIONS_PER_EXECUTION),
            });

            function setUp({ parked, order, seed }: Scenario) {
                const sqs = new SqsModel({ badAccounts: [Y], order, seed });
                const initial = parked.map((p, i) => sqs.park(body(p.account, i), p.legacy ? undefined : p.account, p.ageMs, p.receiveCount));
                return { sqs, initial: initial.map((m) => ({ ...m })) };
            }

            function checkBounds(sqs: SqsModel, n: number, executions: { historyEvents: number }[], receivesPerExecution: number) {
                // Two passes (the start's, and the late-park pass, which counts the queue again: at most n
                // more, those parked again): at most 2n moved, 4n received, one empty receive per pass.
                expect(sqs.forwarded.length).to.be.at.most(2 * n);
                expect(sqs.received).to.be.at.most(4 * n);
                const receives = sqs.calls.filter((c) => c.action === "receiveMessage").length;
                expect(receives).to.be.at.most(4 * n + 2);
                expect(executions.length).to.be.at.most(Math.max(1, Math.ceil(receives / receivesPerExecution)));
                expect(executions.filter((execution) => execution.historyEvents >= HISTORY_EVENT_LIMIT)).to.deep.equal([]);
                expect(sqs.retryDlq).to.deep.equal([]);
                // The guarantees below hold while a drain runs shorter than the visibility timeout.
                expect(sqs.now - START).to.be.below(DRAIN_VISIBILITY_TIMEOUT_SECONDS * 1000);
            }

            it("a drain for X moves each of X's messages exactly once and leaves every other message parked, untouched", async () => {
                const figures = { runs: 0, parked: 0, moved: 0, executions: 0, maxExecutions: 0 };
                await fc.assert(fc.asyncProperty(scenario, async (s) => {
                    const { sqs, initial } = setUp(s);
                    const { output, executions } = await drain(sqs, { account: X }, definitionHandingOverEvery(s.receivesPerExecution));
                    checkBounds(sqs, initial.length, executions, s.receivesPerExecution);
                    const xs = initial.filter((m) => m.account === X);
                    expect(count(sqs.forwarded)).to.deep.equal(count(xs.map((m) => m.body)));
                    expect(output.moved).to.equal(xs.length);
                    // The others: the same messages, same ids, never sent, never deleted, none added.
                    const others = initial.filter((m) => m.account !== X);
                    expect([...sqs.retry.values()].map((m) => m.id).sort()).to.deep.equal(others.map((m) => m.id).sort());
                    expect(others.filter((m) => sqs.retry.get(m.id)!.receiveCount > m.receiveCount + 1)).to.deep.equal([]);
                    Object.assign(figures, { runs: figures.runs + 1, parked: figures.parked + initial.length, moved: figures.moved + xs.length, executions: figures.executions + executions.length, maxExecutions: Math.max(figures.maxExecutions, executions.length) });
                }), { numRuns: 50 });
                console.log(`      drain for X: ${figures.runs} queues, ${figures.parked} parked, ${figures.moved} moved, ${figures.executions} executions (at most ${figures.maxExecutions} in one chain)`);
            });

            it("a drain for every account moves each parked message, Y's (parked again at once) once more in the late-park pass, and ends", async () => {
                const figures = { runs: 0, parked: 0, reparked: 0, executions: 0, maxExecutions: 0 };
                await fc.assert(fc.asyncProperty(scenario, async (s) => {
                    const { sqs, initial } = setUp(s);
                    const { output, executions } = await drain(sqs, {}, definitionHandingOverEvery(s.receivesPerExecution));
                    checkBounds(sqs, initial.length, executions, s.receivesPerExecution);
                    const ys = initial.filter((m) => JSON.parse(m.body).target === Y);
                    expect([...count(sqs.forwarded)].sort()).to.deep.equal([...count([...initial, ...ys].map((m) => m.body))].sort());
                    expect(output.moved).to.equal(initial.length + ys.length);
                    // Left in the retry queue: exactly one new message for each of Y's (parked again after the last pass).
                    const left = [...sqs.retry.values()];
                    expect(count(left.map((m) => m.body))).to.deep.equal(count(ys.map((m) => m.body)));
                    expect(left.filter((m) => initial.some((i) => i.id === m.id))).to.deep.equal([]);
                    Object.assign(figures, { runs: figures.runs + 1, parked: figures.parked + initial.length, reparked: figures.reparked + ys.length, executions: figures.executions + executions.length, maxExecutions: Math.max(figures.maxExecutions, executions.length) });
                }), { numRuns: 50 });
                console.log(`      drain for all: ${figures.runs} queues, ${figures.parked} parked, ${figures.reparked} parked again by the forwarder, ${figures.executions} executions (at most ${figures.maxExecutions} in one chain)`);
            });
        });
    });

    it("creates the state machine with tracing, logging and a role limited to the two queues and itself", async () => {
        const { plan } = await runUnderMocks(() => new RetryDrain("drain", {
            env: "test", purpose: "gmail-forwarder-retry-drain",
            sourceQueueArn: "arn:aws:sqs:us-east-1:1:retry", sourceQueueUrl: SOURCE, targetQueueArn: "arn:aws:sqs:us-east-1:1:forwarder", targetQueueUrl: TARGET,
        }));
        const machine = plan.one("aws:sfn/stateMachine:StateMachine");
        expect(machine.inputs).to.deep.include({ name: "ses-mail-gmail-forwarder-retry-drain-test", type: "STANDARD", tracingConfiguration: { enabled: true } });
        expect(machine.inputs.loggingConfiguration.logDestination).to.equal(`arn:aws:logs:us-east-1:${MOCK_ACCOUNT}:log-group:/aws/vendedlogs/states/ses-mail-gmail-forwarder-retry-drain-test:*`);
        expect(JSON.parse(machine.inputs.definition)).to.deep.equal(definition);
        const states = { ...definition.States, ...definition.States.MoveEach.ItemProcessor.States, ...definition.States["Show late parks in time"].ItemProcessor.States } as Record<string, any>;
        const tasks = Object.values(states).filter((s) => s.Type === "Task").map((s) => s.Resource);
        expect([...new Set(tasks)].sort()).to.deep.equal([
            "arn:aws:states:::aws-sdk:sfn:listExecutions", "arn:aws:states:::aws-sdk:sqs:changeMessageVisibility", "arn:aws:states:::aws-sdk:sqs:deleteMessage", "arn:aws:states:::aws-sdk:sqs:getQueueAttributes", "arn:aws:states:::aws-sdk:sqs:receiveMessage",
            "arn:aws:states:::aws-sdk:sqs:sendMessage", "arn:aws:states:::states:startExecution",
        ]);
        const statements = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy"), "policy").Statement;
        expect(statements.slice(0, 3)).to.deep.equal([
            { Effect: "Allow", Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"], Resource: ["arn:aws:sqs:us-east-1:1:retry"] },
            { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: ["arn:aws:sqs:us-east-1:1:forwarder"] },
            { Effect: "Allow", Action: ["states:StartExecution", "states:ListExecutions"], Resource: [`arn:aws:states:us-east-1:${MOCK_ACCOUNT}:stateMachine:ses-mail-gmail-forwarder-retry-drain-test`] },
        ]);
        expect(statements.slice(3).map((s: any) => s.Resource)).to.deep.equal(["*", "*"]); // X-Ray and log delivery only
        expect(plan.json(plan.one("aws:iam/role:Role"), "assumeRolePolicy").Statement[0].Principal).to.deep.equal({ Service: "states.amazonaws.com" });
    });
});
