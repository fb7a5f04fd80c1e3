// The system harness's own tests: each modelled AWS behaviour does what its documentation says
// (and nothing kinder), so that the inbound system test's failures are the system's, not the
// harness's.
import { expect } from "chai";
import { Rng, VirtualClock } from "../support/sim/clock";
import { PipeModel, SqsEventSourceMapping } from "../support/sim/consumers";
import { StepFunctionsModel } from "../support/sim/drain";
import { EventBusModel } from "../support/sim/eventbridge";
import { flattenEvent, matchesPattern } from "../support/sim/event-pattern";
import { GmailGateway } from "../support/sim/gateways";
import { backscatterReasons, checkInvariant, expectedPlaces, expectedRouting, readRule, ruleFor } from "../support/sim/invariant";
import { SimFunction } from "../support/sim/lambda";
import { InboundSimulation } from "../support/sim/system";
import type { BusRuleSpec, FunctionSpec, QueueSpec } from "../support/sim/plan";
import { S3Model, SesModel, wireSdkMocks } from "../support/sim/services";
import { InvocationScope, invocationScope } from "../support/sim/scope";
import { SqsModel } from "../support/sim/sqs";
import { VirtualTimers } from "../support/sim/timers";
import type { MailSpec, Scenario } from "../support/sim/traffic";
import { startFakeGoogle } from "../support/fake-google";

const ARN = (name: string) => `arn:aws:sqs:us-east-1:123456789012:${name}`;
const URL_OF = (name: string) => `https://sqs.us-east-1.amazonaws.com/123456789012/${name}`;
function queue(name: string, extra: Partial<QueueSpec> = {}): QueueSpec {
    return { logicalName: name, name, url: URL_OF(name), arn: ARN(name), visibilityTimeoutSeconds: 30, messageRetentionSeconds: 345600, delaySeconds: 0, ...extra };
}
/** A main queue with its DLQ (maxReceiveCount 3). */
function queues(visibility = 30, maxReceiveCount = 3): QueueSpec[] {
    return [queue("dlq"), queue("main", { visibilityTimeoutSeconds: visibility, redrive: { deadLetterTargetArn: ARN("dlq"), maxReceiveCount } })];
}
function fnSpec(code: string, extra: Partial<FunctionSpec> = {}): FunctionSpec {
    return { logicalName: "fn", name: "sim-fn", arn: "arn:aws:lambda:us-east-1:123456789012:function:sim-fn", timeoutSeconds: 30, memorySize: 128, environment: { FROM_PLAN: "yes" }, code, ...extra };
}
const quiet = { partialReceiveRate: 0 };

describe("system harness", () => {
    describe("event patterns (aws/event-ruler semantics)", () => {
        const event = {
            source: "ses-mail.router", "detail-type": "Email Routing Decision",
            detail: { messageId: "m1", size: 42, decisions: [{ action: "store", target: "a@x" }, { action: "bounce", recipients: ["r@x"] }], s3: { key: "inbound/m1" } },
        };
        it("matches exact values, and an array field when any element matches", () => {
            expect(matchesPattern({ source: ["ses-mail.router"] }, event)).to.equal(true);
            expect(matchesPattern({ source: ["other"] }, event)).to.equal(false);
            expect(matchesPattern({ detail: { decisions: { action: ["bounce"] } } }, event)).to.equal(true);
            expect(matchesPattern({ detail: { decisions: { action: ["forward-to-gmail"] } } }, event)).to.equal(false);
        });
        it("matches two fields of an array of objects in different elements (flattened paths)", () => {
            expect(matchesPattern({ detail: { decisions: { action: ["bounce"], target: ["a@x"] } } }, event)).to.equal(true);
            expect(flattenEvent(event).get("detail.decisions.action")).to.deep.equal(["store", "bounce"]);
        });
        it("nested objects, prefix, suffix, numeric, equals-ignore-case", () => {
            expect(matchesPattern({ detail: { s3: { key: [{ prefix: "inbound/" }] } } }, event)).to.equal(true);
            expect(matchesPattern({ detail: { s3: { key: [{ suffix: "m2" }] } } }, event)).to.equal(false);
            expect(matchesPattern({ detail: { size: [{ numeric: [">", 40, "<=", 42] }] } }, event)).to.equal(true);
            expect(matchesPattern({ source: [{ "equals-ignore-case": "SES-MAIL.ROUTER" }] }, event)).to.equal(true);
        });
        it("exists and anything-but (which needs the field)", () => {
            expect(matchesPattern({ detail: { messageId: [{ exists: true }] } }, event)).to.equal(true);
            expect(matchesPattern({ detail: { reason: [{ exists: false }] } }, event)).to.equal(true);
            expect(matchesPattern({ detail: { reason: [{ exists: true }] } }, event)).to.equal(false);
            expect(matchesPattern({ detail: { decisions: { action: [{ "anything-but": ["store"] }] } } }, event)).to.equal(true);
            expect(matchesPattern({ detail: { decisions: { action: [{ "anything-but": ["store", "bounce"] }] } } }, event)).to.equal(false);
            expect(matchesPattern({ detail: { reason: [{ "anything-but": "x" }] } }, event)).to.equal(false);
            expect(matchesPattern({ detail: { s3: { key: [{ "anything-but": { prefix: "inbound/" } }] } } }, event)).to.equal(false);
        });
        it("$or, and every field must match", () => {
            expect(matchesPattern({ $or: [{ source: ["x"] }, { detail: { messageId: ["m1"] } }] }, event)).to.equal(true);
            expect(matchesPattern({ source: ["ses-mail.router"], detail: { messageId: ["m2"] } }, event)).to.equal(false);
        });
        it("refuses what it does not understand rather than matching it", () => {
            expect(() => matchesPattern({ source: [{ cidr: "10.0.0.0/8" }] }, event)).to.throw(/unsupported matcher/);
            expect(() => matchesPattern({ source: "x" } as never, event)).to.throw(/array of matchers/);
        });
    });

    describe("SQS standard queue", () => {
        it("hides a received message for the visibility timeout, counts receives, and redrives to the DLQ past maxReceiveCount", () => {
            const clock = new VirtualClock(0, true);
            const sqs = new SqsModel(queues(30, 2), clock, new Rng(1), quiet);
            sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "m" });
            expect(sqs.receive(ARN("main"), 10).map((m) => m.attributes.ApproximateReceiveCount)).to.deep.equal(["1"]);
            expect(sqs.receive(ARN("main"), 10)).to.deep.equal([]);
            clock.advanceTo(29_999);
            expect(sqs.receive(ARN("main"), 10)).to.deep.equal([]);
            clock.advanceTo(30_000);
            expect(sqs.receive(ARN("main"), 10).map((m) => m.attributes.ApproximateReceiveCount)).to.deep.equal(["2"]);
            clock.advanceTo(60_000);
            expect(sqs.receive(ARN("main"), 10)).to.deep.equal([]);
            expect(sqs.messages(ARN("dlq")).map((m) => m.body)).to.deep.equal(["m"]);
            expect(sqs.events.filter((e) => e.kind === "dead-lettered")).to.have.length(1);
        });
        it("deletes only by the latest receipt handle (a stale one succeeds and deletes nothing)", () => {
            const clock = new VirtualClock(0, true);
            const sqs = new SqsModel(queues(30, 5), clock, new Rng(1), quiet);
            sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "m" });
            const [first] = sqs.receive(ARN("main"), 1);
            clock.advanceTo(30_000);
            const [second] = sqs.receive(ARN("main"), 1);
            expect(sqs.deleteMessage({ QueueUrl: URL_OF("main"), ReceiptHandle: first.receiptHandle })).to.deep.equal({});
            expect(sqs.messages(ARN("main"))).to.have.length(1);
            sqs.deleteMessage({ QueueUrl: URL_OF("main"), ReceiptHandle: second.receiptHandle });
            expect(sqs.messages(ARN("main"))).to.have.length(0);
            expect(() => sqs.deleteMessage({ QueueUrl: URL_OF("main"), ReceiptHandle: "garbage" })).to.throw().with.property("name", "ReceiptHandleIsInvalid");
        });
        it("ChangeMessageVisibility only for in-flight messages, within 12 hours of the receive", () => {
            const clock = new VirtualClock(0, true);
            const sqs = new SqsModel(queues(), clock, new Rng(1), quiet);
            sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "m" });
            const [m] = sqs.receive(ARN("main"), 1);
            sqs.changeMessageVisibility({ QueueUrl: URL_OF("main"), ReceiptHandle: m.receiptHandle, VisibilityTimeout: 120 });
            clock.advanceTo(119_000);
            expect(sqs.visible(ARN("main"))).to.have.length(0);
            clock.advanceTo(120_000);
            expect(() => sqs.changeMessageVisibility({ QueueUrl: URL_OF("main"), ReceiptHandle: m.receiptHandle, VisibilityTimeout: 60 })).to.throw().with.property("name", "MessageNotInflight");
            const [again] = sqs.receive(ARN("main"), 1);
            expect(() => sqs.changeMessageVisibility({ QueueUrl: URL_OF("main"), ReceiptHandle: again.receiptHandle, VisibilityTimeout: 43_201 })).to.throw(/VisibilityTimeout/);
        });
        it("enforces message quotas: 256 KB, 10 attributes, delay ≤ 900 s, ≤ 10 distinct batch entries, and reports failed entries", () => {
            const sqs = new SqsModel(queues(), new VirtualClock(0, true), new Rng(1), quiet);
            expect(() => sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "x".repeat(262_145) })).to.throw(/shorter than 262144/);
            expect(() => sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "x", DelaySeconds: 901 })).to.throw(/DelaySeconds/);
            const attributes = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`a${i}`, { DataType: "String", StringValue: "v" }]));
            expect(() => sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "x", MessageAttributes: attributes })).to.throw(/exceeds the allowed maximum/);
            expect(() => sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "bad \u0000 char" })).to.throw().with.property("name", "InvalidMessageContents");
            expect(() => sqs.sendMessageBatch({ QueueUrl: URL_OF("main"), Entries: Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, MessageBody: "x" })) })).to.throw().with.property("name", "TooManyEntriesInBatchRequest");
            expect(() => sqs.sendMessageBatch({ QueueUrl: URL_OF("main"), Entries: [{ Id: "a", MessageBody: "x" }, { Id: "a", MessageBody: "y" }] })).to.throw().with.property("name", "BatchEntryIdsNotDistinct");
            const result = sqs.sendMessageBatch({ QueueUrl: URL_OF("main"), Entries: [{ Id: "ok", MessageBody: "x" }, { Id: "bad", MessageBody: "" }] });
            expect(result.Successful.map((e) => e.Id)).to.deep.equal(["ok"]);
            expect(result.Failed.map((e) => [e.Id, e.SenderFault])).to.deep.equal([["bad", true]]);
            expect(() => sqs.sendMessage({ QueueUrl: URL_OF("nope"), MessageBody: "x" })).to.throw().with.property("name", "QueueDoesNotExist");
        });
        it("delays, counts, and expires messages after the retention period (from the first send)", () => {
            const clock = new VirtualClock(0, true);
            const sqs = new SqsModel([queue("q", { messageRetentionSeconds: 60 })], clock, new Rng(1), quiet);
            sqs.sendMessage({ QueueUrl: URL_OF("q"), MessageBody: "later", DelaySeconds: 10 });
            expect(sqs.getQueueAttributes({ QueueUrl: URL_OF("q"), AttributeNames: ["All"] }).Attributes).to.include({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesDelayed: "1" });
            expect(sqs.nextVisibleAt([ARN("q")])).to.equal(10_000);
            clock.advanceTo(10_000);
            expect(sqs.getQueueAttributes({ QueueUrl: URL_OF("q"), AttributeNames: ["ApproximateNumberOfMessages"] }).Attributes).to.deep.equal({ ApproximateNumberOfMessages: "1" });
            clock.advanceTo(60_000);
            expect(sqs.messages(ARN("q"))).to.have.length(0);
            expect(sqs.events.at(-1)?.kind).to.equal("expired");
        });
        it("at-least-once: a deleted message's copy may come back after its visibility timeout", () => {
            const clock = new VirtualClock(0, true);
            const sqs = new SqsModel(queues(), clock, new Rng(1), { duplicateRate: 1, partialReceiveRate: 0 });
            sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "m", MessageAttributes: { account: { DataType: "String", StringValue: "a@x" } } });
            const [m] = sqs.receive(ARN("main"), 1);
            sqs.deleteMessage({ QueueUrl: URL_OF("main"), ReceiptHandle: m.receiptHandle });
            clock.advanceTo(30_000);
            const [copy] = sqs.receiveMessage({ QueueUrl: URL_OF("main"), MaxNumberOfMessages: 10, MessageAttributeNames: ["account"], AttributeNames: ["ApproximateReceiveCount"] }).Messages ?? [];
            expect(copy).to.deep.include({ Body: "m", Attributes: { ApproximateReceiveCount: "2" }, MessageAttributes: { account: { DataType: "String", StringValue: "a@x" } } });
            expect(sqs.duplicatesKept).to.equal(1);
        });
        it("a long poll may return fewer messages than are visible, never more than asked", () => {
            const sqs = new SqsModel(queues(), new VirtualClock(0, true), new Rng(7), { partialReceiveRate: 1 });
            for (let i = 0; i < 5; i++) sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: `m${i}` });
            expect(sqs.receive(ARN("main"), 10)).to.have.length(1);
            expect(() => sqs.receive(ARN("main"), 11)).to.throw(/MaxNumberOfMessages/);
        });
    });

    describe("EventBridge bus", () => {
        const rules: BusRuleSpec[] = [{
            name: "r", arn: "arn:aws:events:us-east-1:123456789012:rule/bus/r", busName: "bus",
            pattern: { source: ["s"], detail: { decisions: { action: ["bounce"] } } },
            targets: [{ arn: ARN("main"), deadLetterArn: ARN("dlq") }],
        }];
        const entry = (detail: unknown) => ({ Source: "s", DetailType: "t", Detail: JSON.stringify(detail), EventBusName: "arn:aws:events:us-east-1:123456789012:event-bus/bus" });
        it("puts at most 10 entries and less than 256 KB per request, rejects a non-object Detail, and delivers the whole event to matching targets", () => {
            const sqs = new SqsModel(queues(), new VirtualClock(Date.parse("2026-01-01T00:00:00Z"), true), new Rng(1), quiet);
            const bus = new EventBusModel(rules, sqs, new VirtualClock(Date.parse("2026-01-01T00:00:00Z"), true), { region: "us-east-1", account: "123456789012" });
            expect(() => bus.putEvents({ Entries: Array.from({ length: 11 }, () => entry({})) })).to.throw(/less than or equal to 10/);
            expect(() => bus.putEvents({ Entries: [entry({ big: "x".repeat(262_144) })] })).to.throw(/over the limit/);
            const result = bus.putEvents({ Entries: [entry({ decisions: [{ action: "bounce" }] }), { ...entry({}), Detail: "[1]" }, entry({ decisions: [{ action: "store" }] })] });
            expect(result.FailedEntryCount).to.equal(1);
            expect(result.Entries[1]).to.deep.include({ ErrorCode: "MalformedDetail" });
            const [delivered] = sqs.messages(ARN("main"));
            expect(JSON.parse(delivered.body)).to.deep.include({ version: "0", source: "s", "detail-type": "t", account: "123456789012", region: "us-east-1", time: "2026-01-01T00:00:00Z", detail: { decisions: [{ action: "bounce" }] } });
            expect(sqs.messages(ARN("main"))).to.have.length(1);
        });
        it("sends an event it cannot deliver to the target's DLQ with the documented attributes", () => {
            const clock = new VirtualClock(0, true);
            const sqs = new SqsModel(queues(), clock, new Rng(1), quiet);
            const bus = new EventBusModel(rules, sqs, clock, { region: "us-east-1", account: "123456789012" });
            bus.failingTargets.add(ARN("main"));
            bus.putEvents({ Entries: [entry({ decisions: [{ action: "bounce" }] })] });
            const [dead] = sqs.messages(ARN("dlq"));
            expect(Object.keys(dead.messageAttributes).sort()).to.deep.equal(["ERROR_CODE", "ERROR_MESSAGE", "RULE_ARN", "TARGET_ARN"]);
            expect(bus.deliveries.map((d) => d.outcome)).to.deep.equal(["dead-lettered"]);
        });
    });

    describe("Lambda functions and event source mappings", () => {
        let restore: () => void;
        const clock = new VirtualClock(Date.parse("2030-01-01T00:00:00Z"));
        let sqs: SqsModel;
        beforeEach(() => {
            sqs = new SqsModel(queues(60, 3), clock, new Rng(3), quiet);
            restore = wireSdkMocks({ sqs, s3: new S3Model(clock), ssm: undefined as never, ses: undefined as never });
        });
        afterEach(() => restore());

        it("loads the bundle as a fresh CommonJS module per environment, with Lambda's and the plan's environment, the simulated clock and captured logs", async () => {
            const lines: unknown[] = [];
            const code = `let calls = 0; exports.handler = async (event, context) => {
                calls += 1;
                console.log(JSON.stringify({ level: "INFO", env: process.env.FROM_PLAN, override: process.env.EXTRA, region: process.env.AWS_REGION, now: Date.now(), calls, remaining: context.getRemainingTimeInMillis() > 0 }));
                return require("@aws-sdk/client-sqs").SQSClient.name; };`;
            const fn = new SimFunction(fnSpec(code), { clock, region: "us-east-1", envOverrides: { EXTRA: "x" }, onLog: (_fn, line) => lines.push(line) });
            const before = clock.now(); // the clock runs with real time from when the suite was loaded
            const [a, b] = await Promise.all([fn.invoke({}), fn.invoke({})]);
            expect([a, b]).to.deep.equal([{ kind: "ok", value: "SQSClient" }, { kind: "ok", value: "SQSClient" }]);
            expect(fn.coldStarts).to.equal(2);
            expect(fn.peakConcurrency).to.equal(2);
            await fn.invoke({});
            expect(fn.coldStarts).to.equal(2);
            expect(lines.map((l: any) => [l.env, l.override, l.region, l.calls])).to.deep.equal([["yes", "x", "us-east-1", 1], ["yes", "x", "us-east-1", 1], ["yes", "x", "us-east-1", 2]]);
            expect((lines[0] as any).now).to.be.within(before, before + 60_000);
            expect(before).to.be.at.least(Date.parse("2030-01-01T00:00:00Z"));
        });
        it("a crash stops the invocation at its n-th external call: that call and every later one never happen, and the environment is replaced", async () => {
            const code = `const { SQSClient, SendMessageCommand } = require("@aws-sdk/client-sqs"); const sqs = new SQSClient({ region: "us-east-1" });
                exports.handler = async () => { for (const body of ["1", "2", "3"]) await sqs.send(new SendMessageCommand({ QueueUrl: "${URL_OF("main")}", MessageBody: body })); return "done"; };`;
            const fn = new SimFunction(fnSpec(code), { clock, region: "us-east-1" });
            expect(await fn.invoke({}, { crashAtCall: 2 })).to.deep.equal({ kind: "crash" });
            expect(sqs.messages(ARN("main")).map((m) => m.body)).to.deep.equal(["1"]);
            expect(await fn.invoke({})).to.deep.equal({ kind: "ok", value: "done" });
            expect(fn.coldStarts).to.equal(2);
        });
        it("a mapping deletes what succeeded, keeps reported failures, fails the whole batch on a throw or an unknown item id, and never exceeds its maximum concurrency", async () => {
            const code = `exports.handler = async (event) => {
                await new Promise((r) => setTimeout(r, 5));
                if (event.Records.some((r) => r.body === "throw")) throw new Error("boom");
                if (event.Records.some((r) => r.body === "bad-id")) return { batchItemFailures: [{ itemIdentifier: "nope" }] };
                return { batchItemFailures: event.Records.filter((r) => r.body.startsWith("fail")).map((r) => ({ itemIdentifier: r.messageId })) }; };`;
            const fn = new SimFunction(fnSpec(code), { clock, region: "us-east-1" });
            const mapping = new SqsEventSourceMapping({ logicalName: "m", sourceArn: ARN("main"), functionArn: fn.spec.arn, batchSize: 2, windowSeconds: 0, reportBatchItemFailures: true, maximumConcurrency: 2, enabled: true }, fn, sqs, clock, new Rng(1));
            for (const body of ["ok1", "fail1", "ok2", "ok3", "ok4", "ok5"]) sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: body });
            const running: Promise<void>[] = [];
            for (let batch = mapping.wakeAt() !== undefined ? mapping.startBatch() : undefined; batch; batch = mapping.wakeAt() !== undefined ? mapping.startBatch() : undefined) running.push(batch);
            expect(running).to.have.length(2);
            await Promise.all(running);
            while (sqs.visible(ARN("main")).length > 0) await mapping.startBatch();
            expect(mapping.peak).to.equal(2);
            expect(fn.peakConcurrency).to.equal(2);
            expect(sqs.messages(ARN("main")).map((m) => m.body)).to.deep.equal(["fail1"]);

            sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "throw" });
            await mapping.startBatch();
            sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "bad-id" });
            clock.advanceTo(clock.now() + 1);
            while (sqs.visible(ARN("main")).length > 0) await mapping.startBatch();
            expect(sqs.messages(ARN("main")).map((m) => m.body).sort()).to.deep.equal(["bad-id", "fail1", "throw"]);
            expect(mapping.failures.map((f) => f.reason)).to.include("function error: boom").and.include('invalid batchItemFailures [{"itemIdentifier":"nope"}]: the whole batch fails');
        });
        it("reserved concurrency throttles the mapping's extra invocations: their messages return with a raised receive count", async () => {
            const fn = new SimFunction(fnSpec("exports.handler = async () => { await new Promise((r) => setTimeout(r, 5)); return {}; };", { reservedConcurrency: 1 }), { clock, region: "us-east-1" });
            const mapping = new SqsEventSourceMapping({ logicalName: "m", sourceArn: ARN("main"), functionArn: fn.spec.arn, batchSize: 1, windowSeconds: 0, reportBatchItemFailures: true, enabled: true }, fn, sqs, clock, new Rng(1));
            sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "a" });
            sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "b" });
            await Promise.all([mapping.startBatch(), mapping.startBatch()]);
            expect(fn.throttles).to.equal(1);
            const [left] = sqs.messages(ARN("main"));
            expect(left.receiveCount).to.equal(1);
            expect(mapping.failures.map((f) => f.reason)).to.deep.equal(["throttled (reserved concurrency)"]);
        });
    });

    describe("EventBridge Pipe", () => {
        const rules: BusRuleSpec[] = [{ name: "all", arn: "arn:rule", busName: "bus", pattern: { source: ["router"] }, targets: [{ arn: ARN("out") }] }];
        const pipeSpec = { name: "p", arn: "arn:pipe", sourceArn: ARN("main"), batchSize: 10, windowSeconds: 1, enrichmentArn: "arn:fn", targetArn: "arn:aws:events:us-east-1:123456789012:event-bus/bus", detailType: "Decision", source: "router" };
        async function pipeWith(enrichment: string) {
            const clock = new VirtualClock(0, true);
            const sqs = new SqsModel([...queues(60, 2), queue("out")], clock, new Rng(1), quiet);
            const bus = new EventBusModel(rules, sqs, clock, { region: "us-east-1", account: "123456789012" });
            const fn = new SimFunction(fnSpec(enrichment), { clock, region: "us-east-1" });
            const pipe = new PipeModel(pipeSpec, fn, bus, sqs, clock, new Rng(1), { concurrency: 1, crashRate: 0, region: "us-east-1" });
            return { clock, sqs, bus, pipe };
        }
        it("waits for the batching window unless the batch is full, and puts each enrichment result as one event (Source and DetailType from the target parameters)", async () => {
            const { clock, sqs, bus, pipe } = await pipeWith("exports.handler = async (records) => records.map((r) => ({ body: r.body, source: r.eventSource }));");
            sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "a" });
            expect(pipe.wakeAt()).to.equal(1000);
            clock.advanceTo(1000);
            await pipe.startBatch();
            expect(bus.accepted.map((a) => [a.event.source, a.event["detail-type"], a.event.detail])).to.deep.equal([["router", "Decision", { body: "a", source: "aws:sqs" }]]);
            expect(sqs.messages(ARN("main"))).to.have.length(0);
            expect(sqs.messages(ARN("out"))).to.have.length(1);
        });
        it("does not invoke an event-bus target with more than 10 results: the batch returns after the visibility timeout, then the redrive policy applies", async () => {
            const { clock, sqs, bus, pipe } = await pipeWith("exports.handler = async (records) => records.flatMap((r) => [r.body, r.body].map((b) => ({ b })));");
            for (let i = 0; i < 6; i++) sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: `m${i}` });
            clock.advanceTo(1000);
            await pipe.startBatch();
            expect(bus.accepted).to.have.length(0);
            expect(pipe.failures[0].reason).to.match(/returned 12 events for 6 records/);
            expect(pipe.wakeAt()).to.equal(undefined);
            clock.advanceTo(61_000);
            await pipe.startBatch();
            clock.advanceTo(122_000);
            expect(pipe.startBatch()).to.equal(undefined);
            expect(sqs.messages(ARN("dlq"))).to.have.length(6);
        });
        it("an enrichment error fails the whole batch (no partial batch failure for enrichments)", async () => {
            const { clock, sqs, bus, pipe } = await pipeWith("exports.handler = async () => { throw new Error('rules unavailable'); };");
            sqs.sendMessage({ QueueUrl: URL_OF("main"), MessageBody: "a" });
            clock.advanceTo(1000);
            await pipe.startBatch();
            expect(pipe.failures[0].reason).to.equal("enrichment failed: function error: rules unavailable");
            expect(bus.accepted).to.have.length(0);
            expect(sqs.messages(ARN("main"))).to.have.length(1);
        });
    });

    describe("SES and Gmail", () => {
        it("SendBounce: only for received mail, within 24 hours, from a verified domain, one per second account-wide (scaled)", () => {
            const clock = new VirtualClock(0, true);
            const ses = new SesModel(clock, new Rng(1), { identities: ["mail.example.com"], scale: 10, throttleRate: 0 });
            const bounce = (id: string, sender = "MAILER-DAEMON@mail.example.com") => () => ses.sendBounce({ OriginalMessageId: id, BounceSender: sender, BouncedRecipientInfoList: [{ Recipient: "x@mail.example.com" }] });
            ses.receivedMail("m1", 0);
            expect(bounce("m1")()).to.have.property("MessageId");
            clock.advanceTo(50);
            expect(bounce("m1")).to.throw().with.property("name", "Throttling");
            clock.advanceTo(150);
            expect(bounce("unknown")).to.throw(/not received/);
            clock.advanceTo(300);
            expect(bounce("m1", "MAILER-DAEMON@other.com")).to.throw(/not verified/);
            clock.advanceTo(25 * 3600 * 1000);
            expect(bounce("m1")).to.throw(/24 hours/);
            expect(ses.bounces).to.have.length(1);
        });
        it("the Gmail gateway ties tokens to accounts, refuses revoked ones with invalid_grant, scripts import faults and records imports per account", async () => {
            const google = await startFakeGoogle();
            const gateway = await GmailGateway.start(google, { clock: new VirtualClock(0, true), scale: 1 });
            try {
                gateway.registerRefreshToken("rt-a", "a@gmail.com");
                const token = async (refresh: string) => {
                    const response = await fetch(gateway.tokenUrl, { method: "POST", body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refresh, client_id: "c", client_secret: "s" }) });
                    return { status: response.status, body: await response.json() as Record<string, string> };
                };
                const { body: granted } = await token("rt-a");
                const upload = (access: string) => fetch(`${gateway.apiRootUrl}upload/gmail/v1/users/me/messages/import?uploadType=multipart`, {
                    method: "POST", headers: { authorization: `Bearer ${access}`, "content-type": "multipart/related; boundary=b" },
                    body: "--b\r\ncontent-type: application/json\r\n\r\n{\"labelIds\":[\"INBOX\"]}\r\n--b\r\ncontent-type: message/rfc822\r\n\r\nX-Sim-Mail-Id: m1\r\n\r\nhi\r\n--b--",
                });
                gateway.script("m1", ["403-rate"]);
                const limited = await upload(granted.access_token);
                expect(limited.status).to.equal(403);
                expect(JSON.stringify(await limited.json())).to.include("rateLimitExceeded");
                expect((await upload(granted.access_token)).status).to.equal(200);
                expect(gateway.imports.map((i) => [i.account, i.mailId, i.labelIds])).to.deep.equal([["a@gmail.com", "m1", ["INBOX"]]]);
                gateway.revokeAccount("a@gmail.com");
                expect(await token("rt-a")).to.deep.equal({ status: 400, body: { error: "invalid_grant", error_description: "Token has been expired or revoked." } });
                expect((await upload(granted.access_token)).status).to.equal(401);
            } finally {
                await gateway.close();
                await google.close();
            }
        });
    });

    describe("Step Functions", () => {
        it("runs a definition with the interpreter of its QueryLanguage, its SQS integrations on the model", async () => {
            const clock = new VirtualClock(0, true);
            const sqs = new SqsModel([queue("from"), queue("to")], clock, new Rng(1), quiet);
            const jsonPath = { StartAt: "Send", States: { Send: { Type: "Task", Resource: "arn:aws:states:::aws-sdk:sqs:sendMessage", Parameters: { QueueUrl: URL_OF("to"), "MessageBody.$": "$.body" }, End: true } } };
            const jsonata = { QueryLanguage: "JSONata", StartAt: "Send", States: { Send: { Type: "Task", Resource: "arn:aws:states:::aws-sdk:sqs:sendMessage", Arguments: { QueueUrl: URL_OF("to"), MessageBody: "{% $states.input.body & '!' %}" }, End: true } } };
            const sfn = new StepFunctionsModel([{ logicalName: "a", name: "a", arn: "arn:sm:a", definition: jsonPath }, { logicalName: "b", name: "b", arn: "arn:sm:b", definition: jsonata }], sqs, clock);
            sfn.start("arn:sm:a", { body: "path" });
            sfn.start("arn:sm:b", { body: "ata" });
            await Promise.all(sfn.active);
            expect(sfn.executions.map((e) => e.status)).to.deep.equal(["SUCCEEDED", "SUCCEEDED"]);
            expect(sqs.messages(ARN("to")).map((m) => m.body).sort()).to.deep.equal(["ata!", "path"]);
        });
    });

    describe("the scheduler", () => {
        it("runs until quiet, jumping simulated time through visibility timeouts while real time barely moves", async () => {
            const main = queue("main", { visibilityTimeoutSeconds: 600, redrive: { deadLetterTargetArn: ARN("dlq"), maxReceiveCount: 3 } });
            const fn = fnSpec("exports.handler = async () => { throw new Error('always'); };");
            const plan = {
                region: "us-east-1", account: "123456789012", partition: "aws", queues: [queue("dlq"), main], functions: [fn],
                mappings: [{ logicalName: "m", sourceArn: main.arn, functionArn: fn.arn, batchSize: 10, windowSeconds: 0, reportBatchItemFailures: true, maximumConcurrency: 2, enabled: true }],
                pipes: [], busRules: [], stateMachines: [], subscriptions: [], tables: [], identities: [], receiptRules: [],
            };
            const sim = await InboundSimulation.start(plan, { seed: 1 });
            try {
                const started = Date.now();
                const t0 = sim.clock.now();
                sim.sqs.sendMessage({ QueueUrl: main.url, MessageBody: "poison" });
                await sim.runUntilQuiet();
                // Received three times (at 0, 600 and 1,200 s), moved to the DLQ by the fourth receive at 1,800 s.
                expect(sim.sqs.messages(ARN("dlq")).map((m) => m.body)).to.deep.equal(["poison"]);
                expect(sim.functions.get(fn.arn)?.invocations).to.equal(3);
                expect(sim.clock.now() - t0).to.be.within(1_800_000, 1_810_000);
                expect(Date.now() - started).to.be.lessThan(5_000);
            } finally {
                await sim.close();
            }
        });

        /** A plan of one function fed by one queue (maximum concurrency 2), as the scheduler test builds it. */
        function oneFunctionPlan(code: string, extra: Partial<FunctionSpec> = {}) {
            const main = queue("main", { visibilityTimeoutSeconds: 600, redrive: { deadLetterTargetArn: ARN("dlq"), maxReceiveCount: 3 } });
            const fn = fnSpec(code, extra);
            return {
                main, fn,
                plan: {
                    region: "us-east-1", account: "123456789012", partition: "aws", queues: [queue("dlq"), main], functions: [fn],
                    mappings: [{ logicalName: "m", sourceArn: main.arn, functionArn: fn.arn, batchSize: 1, windowSeconds: 0, reportBatchItemFailures: true, maximumConcurrency: 2, enabled: true }],
                    pipes: [], busRules: [], stateMachines: [], subscriptions: [], tables: [], identities: [], receiptRules: [],
                },
            };
        }
        const logged = (sim: InboundSimulation) => sim.logs.map((l) => l.line).filter((l): l is Record<string, any> => typeof l === "object");

        it("a handler's setTimeout runs on the simulated clock: sleeps cost no real time, and time jumps only while every invocation sleeps", async () => {
            // Two invocations at once: one sleeps 20 s, the other 5 s, twice; each sees the simulated time it slept.
            const { main, fn, plan } = oneFunctionPlan(`exports.handler = async (event) => {
                const ms = Number(event.Records[0].body); const t0 = Date.now();
                for (let i = 0; i < 2; i++) await new Promise((resolve) => setTimeout(resolve, ms));
                console.log(JSON.stringify({ ms, slept: Date.now() - t0 }));
            };`, { timeoutSeconds: 60 });
            const sim = await InboundSimulation.start(plan, { seed: 1 });
            try {
                const started = Date.now();
                const t0 = sim.clock.now();
                for (const body of ["20000", "5000"]) sim.sqs.sendMessage({ QueueUrl: main.url, MessageBody: body });
                await sim.runUntilQuiet();
                const slept = Object.fromEntries(logged(sim).map((l) => [l.ms, l.slept]));
                expect(slept[20000]).to.be.within(40_000, 40_500);
                expect(slept[5000]).to.be.within(10_000, 10_500);
                expect(sim.clock.now() - t0).to.be.within(40_000, 41_000);
                expect(sim.functions.get(fn.arn)?.invocations).to.equal(2);
                expect(sim.timers.firedBySimulation).to.equal(4);
                expect(Date.now() - started).to.be.lessThan(5_000);
            } finally {
                await sim.close();
            }
        });

        it("a handler that sleeps past its timeout times out in simulated time, and a dead invocation's timers never fire", async () => {
            const { main, fn, plan } = oneFunctionPlan(`exports.handler = async () => {
                setTimeout(() => console.log(JSON.stringify({ late: true })), 50_000);
                await new Promise((resolve) => setTimeout(resolve, 45_000));
                console.log(JSON.stringify({ finished: true }));
            };`, { timeoutSeconds: 40 });
            const sim = await InboundSimulation.start(plan, { seed: 1 });
            try {
                const started = Date.now();
                sim.sqs.sendMessage({ QueueUrl: main.url, MessageBody: "x" });
                await sim.runUntilQuiet();
                const mapping = sim.pollers[0] as SqsEventSourceMapping;
                expect(mapping.failures.map((f) => f.reason)).to.deep.equal(["function timed out", "function timed out", "function timed out"]);
                expect(sim.functions.get(fn.arn)?.crashes).to.equal(3);
                expect(sim.sqs.messages(ARN("dlq"))).to.have.length(1);
                expect(logged(sim)).to.deep.equal([]);
                expect(Date.now() - started).to.be.lessThan(5_000);
            } finally {
                await sim.close();
            }
        });

        it("a throttled DynamoDB call is retried by the SDK's own strategy (its attempts, its delays), the delays elapsing in simulated time", async () => {
            // Every data call throttled: the SDK's standard mode makes 3 attempts and gives up.
            const { main, fn, plan } = oneFunctionPlan(`const { DynamoDBClient, GetItemCommand } = require("@aws-sdk/client-dynamodb");
                const client = new DynamoDBClient({});
                exports.handler = async () => {
                    const t0 = Date.now();
                    try { await client.send(new GetItemCommand({ TableName: "t", Key: { pk: { S: "k" } } })); }
                    catch (error) { console.log(JSON.stringify({ name: error.name, attempts: error.$metadata.attempts, totalRetryDelay: error.$metadata.totalRetryDelay, slept: Date.now() - t0 })); }
                };`, { timeoutSeconds: 900 });
            const sim = await InboundSimulation.start(plan, { seed: 1, faults: { dynamoThrottleRate: 1 } });
            try {
                const started = Date.now();
                for (let i = 0; i < 6; i++) sim.sqs.sendMessage({ QueueUrl: main.url, MessageBody: String(i) });
                await sim.runUntilQuiet();
                const real = Date.now() - started;
                const lines = logged(sim);
                expect(lines).to.have.length(6);
                // As many attempts as the SDK's strategy allows (DynamoDB clients: 4 by default in this SDK), each one a request the gateway throttled.
                expect(lines.map((l) => l.name)).to.deep.equal(Array(6).fill("ProvisionedThroughputExceededException"));
                expect(lines.every((l) => l.attempts === lines[0].attempts && l.attempts > 1)).to.equal(true);
                // Each attempt is one request the gateway throttled. An invocation the simulation killed
                // (a timeout: its message comes back and is handled again) adds at most its own attempts.
                const killed = sim.functions.get(fn.arn)!.crashes;
                const extra = sim.dynamo.throttled - 6 * lines[0].attempts;
                expect(killed === 0 ? extra === 0 : extra > 0 && extra <= killed * lines[0].attempts, `${extra} throttled requests beyond 6 calls' attempts, ${killed} invocations killed`).to.equal(true);
                for (const line of lines) expect(line.slept).to.be.at.least(line.totalRetryDelay);
                // Each retry waits up to 1 s × 2^retry (throttling errors): seconds in all, none of them real.
                const delays = lines.reduce((sum, l) => sum + l.totalRetryDelay, 0);
                expect(delays).to.be.greaterThan(2_000);
                expect(real).to.be.lessThan(delays / 2);
            } finally {
                await sim.close();
            }
        });
    });

    describe("the virtual timers", () => {
        it("only timers set inside an invocation are virtual; they fire in order, can be cleared (by handle or id), and die with a crashed invocation", async () => {
            const clock = new VirtualClock(Date.parse("2030-01-01T00:00:00Z"), true);
            const timers = new VirtualTimers(clock);
            timers.start();
            try {
                const fired: string[] = [];
                const a = new InvocationScope("a", undefined, () => undefined);
                const b = new InvocationScope("b", undefined, () => undefined);
                a.timers = timers;
                b.timers = timers;
                timers.enter(a);
                timers.enter(b);
                expect(timers.sleeping()).to.equal(false);
                setTimeout(() => fired.push("real"), 1);
                invocationScope.run(a, () => {
                    setTimeout(() => fired.push("a-300"), 300);
                    setTimeout((tag: string) => fired.push(tag), 100, "a-100");
                    clearTimeout(setTimeout(() => fired.push("a-cleared"), 50));
                    const byId = setTimeout(() => fired.push("a-cleared-by-id"), 60);
                    clearTimeout(Number(byId));
                });
                expect(timers.sleeping()).to.equal(false); // b has no timer: it is doing something else
                invocationScope.run(b, () => void setTimeout(() => fired.push("b-200"), 200));
                expect(timers.sleeping()).to.equal(true);
                expect(timers.nextAt()).to.equal(clock.now() + 100);
                // The real timer fires in real time (however loaded the machine: wait for it, up to 2 s).
                const waitingSince = Date.now();
                await new Promise<void>((resolve) => {
                    const poll = () => (fired.includes("real") || Date.now() - waitingSince > 2_000 ? resolve() : setImmediate(poll));
                    poll();
                });
                expect(fired).to.deep.equal(["real"]); // the frozen clock has not moved: nothing virtual is due
                clock.advanceTo(clock.now() + 150);
                expect(timers.fireDue()).to.equal(1);
                b.crashed = true;
                clock.advanceTo(clock.now() + 1000);
                timers.fireDue();
                expect(fired).to.deep.equal(["real", "a-100", "a-300"]);
                expect(timers.nextAt()).to.equal(undefined);
            } finally {
                timers.stop();
            }
            expect(globalThis.setTimeout.name).to.equal("setTimeout");
        });
    });

    describe("the invariant", () => {
        const mail = (o: Partial<MailSpec> = {}): MailSpec => ({
            messageId: "m1", source: "a@b.com", recipients: ["Jane+x@d.com"], verdicts: { spam: "PASS", virus: "PASS", spf: "PASS", dkim: "FAIL", dmarc: "PASS" },
            headers: [], subject: "s", size: 10, deliveries: 1, arrivalMs: 0, missingObject: false, gmailFaults: [], ...o,
        });
        it("resolves rules in docs/RECEIVING.md order, skipping disabled and malformed ones", () => {
            const rules = [
                { pattern: "jane+x@d.com", action: "drop", enabled: false, labels: [] },
                { pattern: "jane@d.com", action: "forward-to-gmail", enabled: true, labels: [], malformed: "no-target" as const },
                { pattern: "*@d.com", action: "bounce", enabled: true, labels: [] },
            ];
            expect(ruleFor("JANE+X@d.com", rules)?.pattern).to.equal("*@d.com");
            expect(ruleFor("jane@other.com", rules)).to.equal(undefined);
        });
        it("reads list-form rules as docs/RECEIVING.md says: list over single form, silent-drop as drop, one destination per action, invalid rules skipped visibly", () => {
            const you = { type: "forward-to-gmail", target: "you@gmail.com", labels: ["Label_1"] };
            expect(readRule({ pattern: "a@d.com", enabled: true, labels: [], action: "bounce", actions: [you, { type: "forward-to-gmail", target: "YOU@gmail.com", labels: ["Label_7"] }, { type: "store" }] }))
                .to.deep.include({ actions: [{ type: "forward-to-gmail", target: "you@gmail.com", labels: ["Label_1", "Label_7"] }, { type: "store", labels: [] }] });
            expect(readRule({ pattern: "a@d.com", enabled: true, labels: [], actions: [{ type: "silent-drop" }, { type: "store" }] })).to.deep.include({ actions: [{ type: "drop", labels: [] }, { type: "store", labels: [] }] });
            const invalid = (actions: { type: string; target?: string }[], action?: string) => (readRule({ pattern: "a@d.com", enabled: true, labels: [], actions, action }) as { invalid?: RegExp }).invalid?.source;
            expect(invalid([you, { type: "silent-drop" }])).to.equal("contradict");
            expect(invalid([{ type: "bounce" }, { type: "drop" }])).to.equal("contradict");
            expect(invalid([], "store")).to.match(/no actions/);
            expect(invalid([{ type: "store" }, { type: "deliver-to-jmap" }])).to.match(/actions\\\[1\\\]/);
            const rules = [
                { pattern: "jane@d.com", enabled: true, labels: [], actions: [you, { type: "bounce" }] },
                { pattern: "*@d.com", enabled: true, labels: [], actions: [you, { type: "forward-to-gmail", target: "team@gmail.com" }, { type: "store" }] },
            ];
            const scenario: Scenario = { seed: 1, rules, mails: [mail({ recipients: ["Jane+x@d.com"] })], tokens: { refreshGapMs: 0 }, suppressedSenders: [] };
            const routing = expectedRouting(scenario, { defaultAction: "store", spamAction: "drop", accounts: ["you@gmail.com"], ownMailerDaemons: [] }, { broken: new Set(["team@gmail.com"]) });
            expect([...routing.places.keys()]).to.deep.equal(["m1|jane+x@d.com|gmail:you@gmail.com", "m1|jane+x@d.com|gmail:team@gmail.com", "m1|jane+x@d.com|store"]);
            expect(routing.places.get("m1|jane+x@d.com|gmail:team@gmail.com")?.[0].kind).to.equal("dlq");
            const reason = routing.reasons.get("m1|jane+x@d.com|store")!;
            expect(reason.test("rule:*@d.com; rule:jane@d.com invalid: actions: forward-to-gmail and bounce contradict each other")).to.equal(true);
            expect(reason.test("rule:*@d.com")).to.equal(false);
            expect([...routing.invalidSkips.get("m1")!.keys()]).to.deep.equal(["jane@d.com"]);
            expect(routing.stats).to.deep.include({ recipients: 1, destinations: 3, listRules: 2, invalidRules: 1, invalidSkipped: 1, multiTarget: 1 });
        });
        it("knows every backscatter reason that applies", () => {
            expect(backscatterReasons(mail({ source: "<>" }), [], new Set())).to.deep.equal(["null-sender"]);
            expect(backscatterReasons(mail({ verdicts: { spam: "PASS", virus: "PASS", spf: "FAIL", dkim: "GRAY", dmarc: "PASS" }, headers: [{ name: "List-Id", value: "<l>" }] }), [], new Set(["a@b.com"])))
                .to.deep.equal(["unauthenticated-sender", "mailing-list", "sender-suppressed"]);
        });
        it("counts lost, duplicated and misplaced (mail, recipient)s", () => {
            const scenario: Scenario = { seed: 1, rules: [{ pattern: "*", action: "forward-to-gmail", target: "you@gmail.com", enabled: true, labels: [] }], mails: [mail(), mail({ messageId: "m2" })], tokens: { refreshGapMs: 0 }, suppressedSenders: [] };
            const expected = expectedPlaces(scenario, { defaultAction: "store", spamAction: "drop", accounts: ["you@gmail.com"], ownMailerDaemons: [] }, { broken: new Set() });
            expect([...expected.values()]).to.deep.equal([[{ kind: "imported", account: "you@gmail.com", labels: [] }], [{ kind: "imported", account: "you@gmail.com", labels: [] }]]);
            const twice = [{ at: 0, account: "you@gmail.com", mailId: "m1", gmailId: "g1", bytes: 1, uploadType: "multipart" }, { at: 1, account: "you@gmail.com", mailId: "m1", gmailId: "g2", bytes: 1, uploadType: "multipart" }];
            const sim = { plan: { queues: [], busRules: [], mappings: [], pipes: [] }, sqs: { spec: () => ({ name: "q" }) } } as never;
            const verdict = checkInvariant(sim, scenario, expected, {
                places: new Map([["m1|jane+x@d.com|gmail:you@gmail.com", [{ kind: "imported", account: "you@gmail.com" }]]]),
                importsPerMailAccount: new Map([["m1|you@gmail.com", twice]]), bouncesPerRecipient: new Map(), strayImports: [], unidentified: [], conflicts: [], decisionsByMail: new Map(),
            });
            expect([verdict.lost, verdict.importedTwice, verdict.wrongPlace]).to.deep.equal([1, 1, 0]);
            expect(verdict.violations.map((v) => v.split(" ")[0])).to.deep.equal(["LOST", "IMPORTED"]);
            expect(verdict.violations[1]).to.match(/^IMPORTED MORE THAN ONCE m1\|you@gmail.com: 2 imports/);
        });
    });
});
