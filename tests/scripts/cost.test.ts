// The cost model (scripts/cost): its arithmetic on small synthetic plans, its coverage of every
// resource type the stacks create, and the request counter against what the simulation itself records.
import { expect } from "chai";
import fc from "fast-check";
import { alarmMetrics, type CostLine, fixedCost, type PlannedResource, runsPerMonth, total, unclassifiedTypes } from "../../scripts/cost/fixed";
import { HOURS_PER_MONTH, PRICES, SECONDS_PER_MONTH } from "../../scripts/cost/prices";
import { afterKmsMigration, costResults, GOALS, renderReport, type CostReport } from "../../scripts/cost/report";
import { FEEDBACK_KINDS, INBOUND_PATHS, mixCost, type Measured } from "../../scripts/cost/variable";
import { readSystemPlan } from "../support/sim/plan";
import { indexesWritten, RequestCounter } from "../support/sim/requests";
import { InboundSimulation } from "../support/sim/system";
import { notificationFor, rawMail, ruleItem, type MailSpec } from "../support/sim/traffic";
import { cachedStack, loadStackConfig } from "../support/stack";

const alarm = (metrics: number, period = 300): PlannedResource => ({
    type: "aws:cloudwatch/metricAlarm:MetricAlarm", name: "a",
    inputs: metrics === 1 ? { metricName: "Errors", period } : {
        metricQueries: [...Array.from({ length: metrics }, (_, i) => ({ id: `m${i}`, metric: { metricName: `M${i}`, period } })), { id: "e", expression: "m0 + m1" }],
    },
});
const resource = (type: string, inputs: Record<string, any> = {}): PlannedResource => ({ type, name: type.split(":").pop()!, inputs });
const lineOf = (lines: ReturnType<typeof fixedCost>, prefix: string) => lines.find((l) => l.item.startsWith(prefix))!;

describe("cost model: fixed monthly cost from a plan", () => {
    it("charges every line as quantity × unit price: alarm metrics (metric math per metric, high resolution apart), keys, dashboards beyond 3", () => {
        fc.assert(fc.property(fc.nat(20), fc.array(fc.integer({ min: 2, max: 5 }), { maxLength: 6 }), fc.nat(3), fc.nat(6), fc.nat(6), (single, math, high, keys, dashboards) => {
            const plan = [
                ...Array.from({ length: single }, () => alarm(1)),
                ...math.map((n) => alarm(n)),
                ...Array.from({ length: high }, () => alarm(1, 10)),
                ...Array.from({ length: keys }, () => resource("aws:kms/key:Key")),
                ...Array.from({ length: dashboards }, () => resource("aws:cloudwatch/dashboard:Dashboard")),
            ];
            const lines = fixedCost(plan);
            for (const l of lines) expect(l.monthlyUsd).to.be.closeTo(l.quantity * l.unitUsd, 1e-12);
            expect(lineOf(lines, "alarms, one metric").monthlyUsd).to.be.closeTo(single * 0.10, 1e-9);
            const mathMetrics = math.reduce((a, b) => a + b, 0);
            expect(lineOf(lines, "alarms, metric math")?.monthlyUsd ?? 0).to.be.closeTo(mathMetrics * 0.10, 1e-9);
            expect(lineOf(lines, "alarms, high resolution")?.monthlyUsd ?? 0).to.be.closeTo(high * 0.30, 1e-9);
            expect(lineOf(lines, "KMS keys").monthlyUsd).to.equal(keys * 1);
            expect(lineOf(lines, "dashboards").monthlyUsd).to.equal(Math.max(0, dashboards - 3) * 3);
            expect(total(lines)).to.be.closeTo(lines.reduce((s, l) => s + l.quantity * l.unitUsd, 0), 1e-9);
        }), { numRuns: 50 });
    });

    it("counts a metric-math alarm's metrics, not its expressions", () => {
        expect(alarmMetrics(alarm(3).inputs)).to.deep.equal({ metrics: 3, highResolution: false });
        expect(alarmMetrics(alarm(1, 10).inputs)).to.deep.equal({ metrics: 1, highResolution: true });
    });

    it("prices a schedule's runs: the Lambda it invokes (memory from the plan), its traces and logs; an idle SQS source's long polls", () => {
        const plan = [
            resource("aws:scheduler/schedule:Schedule", { scheduleExpression: "rate(1 hour)", target: { arn: "arn:aws:lambda:us-east-1:1:function:probe" } }),
            resource("aws:lambda/function:Function", { name: "probe", memorySize: 512, environment: { variables: { POWERTOOLS_SERVICE_NAME: "token-probe" } } }),
            resource("aws:cloudwatch/logGroup:LogGroup", { name: "/aws/lambda/probe", retentionInDays: 30 }),
            resource("aws:sqs/queue:Queue", { name: "q" }),
            resource("aws:lambda/eventSourceMapping:EventSourceMapping", { eventSourceArn: "arn:aws:sqs:us-east-1:1:q" }),
            resource("aws:lambda/eventSourceMapping:EventSourceMapping", { eventSourceArn: "arn:aws:dynamodb:us-east-1:1:table/t/stream/x" }),
        ];
        const lines = fixedCost(plan, { scheduledLambdaSeconds: 2, expressRunSeconds: 1, logBytesPerScheduledRun: 1e6, idlePollersPerSqsSource: 5 });
        expect(lineOf(lines, "scheduled Lambda runs").quantity).to.equal(HOURS_PER_MONTH);
        expect(lineOf(lines, "scheduled Lambda compute").quantity).to.be.closeTo(HOURS_PER_MONTH * 0.5 * 2, 1e-9);
        expect(lineOf(lines, "X-Ray traces").monthlyUsd).to.be.closeTo(HOURS_PER_MONTH * PRICES.xrayTrace.usd, 1e-12);
        expect(lineOf(lines, "log ingestion").quantity).to.be.closeTo(HOURS_PER_MONTH * 1e-3, 1e-12);
        // A DynamoDB stream mapping costs nothing idle; the SQS one 5 polls every 20 s.
        expect(lineOf(lines, "idle SQS long polls").quantity).to.equal(5 * SECONDS_PER_MONTH / 20);
        expect(runsPerMonth("rate(10 minutes)")).to.equal(HOURS_PER_MONTH * 6);
        expect(runsPerMonth("rate(1 day)")).to.be.closeTo(HOURS_PER_MONTH / 24, 1e-9);
    });

    it("knows every resource type both stacks create: priced, charged per use, or free (a new type cannot escape the model)", async () => {
        for (const stack of ["test", "prod"]) {
            const { plan } = await cachedStack(stack);
            expect(unclassifiedTypes(plan.resources), `${stack} stack: add these types to RESOURCE_COSTS in scripts/cost/fixed.ts`).to.deep.equal([]);
        }
        expect(unclassifiedTypes([resource("aws:rds/instance:Instance")])).to.deep.equal(["aws:rds/instance:Instance"]);
    });

    it("weights a mix by its shares", () => {
        const m = (usd: number) => ({ usd } as Measured);
        expect(mixCost({ a: m(1), b: m(4) }, { a: 3, b: 1 })).to.equal(1.75);
    });
});

describe("cost model: the test stack's KMS migration (kms.mode migrating, then shared)", () => {
    const keys = (n: number): CostLine[] => fixedCost(Array.from({ length: n }, () => resource("aws:kms/key:Key")));
    const measured: Measured = { items: 1, requests: {}, services: {}, lines: [], usd: 0, invocations: 0, gbSeconds: 0, logBytes: 0, ddbRoundTrips: {}, customMetrics: [] };
    const report = (test: number, testShared: number, migrating: boolean): CostReport => ({
        fixed: { test: keys(test), testShared: keys(testShared), prod: keys(6), prodShared: keys(2) },
        kmsMigrating: { test: migrating, prod: true },
        inbound: Object.fromEntries(INBOUND_PATHS.map((p) => [p, measured])) as CostReport["inbound"],
        feedback: Object.fromEntries(FEEDBACK_KINDS.map((k) => [k, measured])) as CostReport["feedback"],
    });

    it("the end of a migration is the same config with kms.mode shared; a stack not migrating has none", () => {
        fc.assert(fc.property(fc.dictionary(fc.string().map((k) => `ses-mail:${k}`), fc.json()), fc.constantFrom("per-component", "migrating", "shared", undefined), (other, mode) => {
            const config = { ...other, ...(mode === undefined ? {} : { "ses-mail:kms": JSON.stringify({ mode }) }) };
            if (mode === undefined) delete config["ses-mail:kms"];
            const after = afterKmsMigration(config);
            if (mode !== "migrating") {
                expect(after).to.equal(undefined);
            } else {
                expect(JSON.parse(after!["ses-mail:kms"])).to.deep.equal({ mode: "shared" });
                expect({ ...after, "ses-mail:kms": config["ses-mail:kms"] }).to.deep.equal(config);
            }
        }));
        // The test stack ships migrating (its old keys' retainOnDelete must reach state before they leave the program).
        expect(JSON.parse(afterKmsMigration(loadStackConfig("test"))!["ses-mail:kms"]).mode).to.equal("shared");
    });

    it("labels the old keys a migrating stack keeps (retained, not the stack key, which is retained too)", () => {
        fc.assert(fc.property(fc.nat(4), fc.nat(3), (old, others) => {
            const plan = [
                resource("aws:kms/key:Key", { tags: { Component: "StackKey" } }),
                ...Array.from({ length: old }, () => resource("aws:kms/key:Key", { tags: { Component: "KmsKey" } })),
                ...Array.from({ length: others }, () => resource("aws:kms/key:Key", { tags: { Component: "KmsKey" } })),
            ].map((r, i) => ({ ...r, retainOnDelete: i <= old }));
            const keyLine = lineOf(fixedCost(plan), "KMS keys");
            expect(keyLine.item).to.equal(old ? `KMS keys (${old} old, retained while migrating)` : "KMS keys");
            expect(keyLine.monthlyUsd).to.equal((1 + old + others) * PRICES.kmsKey.usd);
        }));
    });

    it("bench keys: the goal's figure is the end of the migration; the migrating one and prod's shared one beside it", () => {
        fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 4 }), (shared, retained) => {
            const results = costResults(report(shared + retained, shared, true));
            expect(results.cost_fixed_usd_month_test).to.equal(shared * PRICES.kmsKey.usd);
            expect(results.cost_fixed_usd_month_test_migrating).to.equal((shared + retained) * PRICES.kmsKey.usd);
            expect(results.cost_fixed_usd_month_prod).to.equal(6 * PRICES.kmsKey.usd);
            expect(results.cost_fixed_usd_month_prod_shared).to.equal(2 * PRICES.kmsKey.usd);
        }));
    });

    it("prints both test figures, checks the goal against the end of the migration and says the migrating one is transitional", () => {
        const text = renderReport(report(GOALS.fixedTestUsdMonth + 3, GOALS.fixedTestUsdMonth - 1, true));
        expect(text).to.include("Fixed monthly cost, test, as configured (kms.mode migrating: 4 old keys still declared, retained; transitional)");
        expect(text).to.include("Fixed monthly cost, test, after the KMS migration (kms.mode shared) (no mail at all):");
        expect(text).to.include("Fixed monthly cost, prod, after the KMS migration (kms.mode shared): $2.00 ($4.00 less than as configured).");
        const goal = text.split("\n").find((l) => l.startsWith("idle fixed"))!;
        expect(goal).to.match(/^idle fixed, test stack after the KMS migration \(kms.mode shared\)\s+\$7\.00\s+≤ \$8\.00\s+met/);
        expect(text).to.match(/as configured \(kms.mode migrating, transitional\)\s+\$11\.00\s+4 old KMS keys retained ≥ 23 days, then scheduled for deletion/);
        expect(text).to.include("A new stack starts with kms.mode shared directly.");
        // A stack not migrating: one figure, checked as it is.
        const plain = renderReport(report(3, 3, false));
        expect(plain).not.to.include("after the KMS migration (kms.mode shared) (no mail");
        expect(plain.split("\n").find((l) => l.startsWith("idle fixed"))).to.match(/^idle fixed, test stack\s+\$3\.00/);
    });
});

describe("cost model: request counter", () => {
    it("bills SQS payloads in 64 KB chunks and counts only the outermost model call", () => {
        const counter = new RequestCounter();
        const calls: string[] = [];
        const sqs = {
            sendMessage(input: unknown) { calls.push("send"); return input; },
            sendMessageBatch(input: { Entries: unknown[] }) { input.Entries.forEach((e) => sqs.sendMessage(e)); return {}; },
            receiveMessage: () => ({}), receive: () => [], deleteMessage: () => ({}), deleteMessageBatch: () => ({}),
            changeMessageVisibility: () => ({}), changeMessageVisibilityBatch: () => ({}), getQueueAttributes: () => ({}), getQueueUrl: () => ({}),
        };
        counter.attachSqs(sqs);
        sqs.sendMessage({ MessageBody: "x".repeat(100 * 1024) });
        sqs.sendMessageBatch({ Entries: [{ MessageBody: "a" }, { MessageBody: "b" }] });
        counter.detach();
        sqs.sendMessage({ MessageBody: "after" });
        expect(counter.byApi()).to.deep.equal({ "SQS SendMessage": 1, "SQS SendMessageBatch": 1 });
        expect(counter.byApi("units")).to.deep.equal({ "SQS SendMessage": 2, "SQS SendMessageBatch": 1 });
        expect(calls).to.have.length(4);
    });

    it("charges a write again for each index whose partition key it sets (Put item, or named in the update expression)", () => {
        expect(indexesWritten(["recipient", "type_day"], { Item: { pk: "a", recipient: "x" } })).to.equal(1);
        expect(indexesWritten(["recipient", "type_day"], { UpdateExpression: "SET #a0 = :a0, #a1 = :a1", ExpressionAttributeNames: { "#a0": "recipient", "#a1": "type_day" } })).to.equal(2);
        expect(indexesWritten(["state"], { UpdateExpression: "SET state = :s" })).to.equal(1);
        expect(indexesWritten(["state"], { UpdateExpression: "SET statement = :s" })).to.equal(0);
        expect(indexesWritten([], { Item: { state: "x" } })).to.equal(0);
    });

    it("counts what the inbound simulation does: every S3, SNS, EventBridge, SSM, SES and DynamoDB request it records itself", async function () {
        this.timeout(120_000);
        const run = await cachedStack("test");
        const plan = await readSystemPlan(run.plan);
        const [receipt] = plan.receiptRules;
        const domain = receipt.recipients[0];
        const sim = await InboundSimulation.start(plan, { seed: 7 });
        const counter = new RequestCounter();
        try {
            const forwarder = sim.fn("gmail-forwarder");
            const account = forwarder.spec.environment.GMAIL_ACCOUNTS.split(",")[0];
            sim.storeToken(forwarder.spec.environment.SSM_PREFIX, account);
            const table = plan.tables.find((t) => t.name.endsWith("routing"))!.inputs.name;
            await sim.putItem(table, ruleItem({ pattern: `in@${domain}`, action: "forward-to-gmail", target: account, enabled: true, labels: [] }, sim.clock.iso()));
            await sim.putItem(table, ruleItem({ pattern: `out@${domain}`, action: "bounce", enabled: true, labels: [] }, sim.clock.iso()));
            counter.attachSqs(sim.sqs).attachS3(sim.s3).attachSsm(sim.ssm).attachSes(sim.ses).attachBus(sim.bus).attachPublisher(sim)
                .attachDynamo(Object.getPrototypeOf((await import("@aws-sdk/client-dynamodb")).DynamoDBClient.prototype), {});
            for (const fn of sim.functions.values()) counter.attachFunction(fn);
            const mails = 6;
            for (let i = 0; i < mails; i++) {
                const spec: MailSpec = {
                    messageId: `counted${i}`.padEnd(40, "0"), source: `s${i}@example.net`, recipients: [`${i % 2 ? "out" : "in"}@${domain}`],
                    verdicts: { spam: "PASS", virus: "PASS", spf: "PASS", dkim: "PASS", dmarc: "PASS" }, headers: [], subject: "s", size: 90_000,
                    deliveries: 1, arrivalMs: i * 1000, missingObject: false, gmailFaults: [],
                };
                sim.at(sim.clock.now() + spec.arrivalMs, () => sim.receive(spec.messageId, rawMail(spec), notificationFor(spec, { bucket: receipt.bucket, objectKeyPrefix: receipt.objectKeyPrefix, topicArn: receipt.topicArn, timestamp: sim.clock.iso() })));
            }
            await sim.runUntilQuiet();
            counter.detach();
            const api = counter.byApi();
            expect(api["S3 PutObject"]).to.equal(mails);
            expect(api["S3 GetObject"]).to.equal(sim.s3.gets.length);
            expect(api["SNS Publish"]).to.equal(mails);
            expect(api["SES SendBounce"]).to.equal(sim.ses.bounces.length).and.to.equal(mails / 2);
            expect(counter.unitsOf("EventBridge")).to.equal(sim.bus.accepted.length);
            const sent = sim.sqs.events.filter((e) => e.kind === "sent").length;
            expect(counter.requestsOf("SQS", "SendMessage") + counter.requestsOf("SQS", "SendMessageBatch")).to.be.at.most(sent).and.at.least(1);
            expect(counter.invocations.length).to.equal([...sim.functions.values()].reduce((s, f) => s + f.invocations, 0));
            // DynamoDB: the gateway in front of dynalite saw exactly the functions' requests.
            const dynamo = Object.fromEntries(Object.entries(api).filter(([k]) => k.startsWith("DynamoDB ")).map(([k, v]) => [k.slice(9), v]));
            expect(dynamo).to.deep.equal(sim.dynamo.requests);
            expect(api["KMS Decrypt (SSM SecureString)"]).to.equal(api["SSM GetParameter"]);
            // Issue #20: the router reads its rules in one DynamoDB round trip per batch.
            expect(counter.ddbRoundTrips.get(sim.fn("router").name)).to.equal(1);
            expect(counter.ddbRoundTrips.get(forwarder.name)).to.be.at.least(1);
            // A 90 KB notification's mail is stored whole; a 90 KB SQS body would be 2 chunks (none is that big here).
            expect(counter.unitsOf("S3", "StoredBytes")).to.be.greaterThan(mails * 90_000 - 1);
        } finally {
            counter.detach();
            await sim.close();
        }
    });
});
