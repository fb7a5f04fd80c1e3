// The variable cost of mail, from the requests the system tests' simulations actually make: the
// synthesized test stack's handlers on the models of tests/support/sim (the inbound flow) and
// tests/support/feedback-sim.ts (the feedback worker), small and with a fixed seed, no injected
// faults, counted by tests/support/sim/requests.ts. Each inbound path (forward, bounce, store, drop)
// runs alone so its requests are its own; the feedback mix is the bench's (bench/feedback.ts).
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { RecordedResource } from "../../tests/support/mocks";
import { FeedbackSimulation } from "../../tests/support/feedback-sim";
import { readSystemPlan } from "../../tests/support/sim/plan";
import { RequestCounter } from "../../tests/support/sim/requests";
import { InboundSimulation } from "../../tests/support/sim/system";
import { notificationFor, rawMail, ruleItem, type MailSpec, type RuleSpec } from "../../tests/support/sim/traffic";
import type { runStack } from "../../tests/support/stack";
import * as ses from "../../tests/fixtures/ses-feedback";
import { line, type CostLine } from "./fixed";

/** Bytes Lambda itself logs per invocation (START, END, REPORT with its X-Ray segment line). */
export const PLATFORM_LOG_BYTES = 400;
export const INBOUND_PATHS = ["forward", "bounce", "store", "drop"] as const;
export type InboundPath = (typeof INBOUND_PATHS)[number];
export const FEEDBACK_KINDS = ["delivery", "send", "bounce_transient", "bounce_permanent", "complaint"] as const;
export type FeedbackKind = (typeof FEEDBACK_KINDS)[number];
/** The bench's mix (bench/feedback.ts): per 20 notifications 9 deliveries, 6 sends, 2 soft and 2 hard bounces, 1 complaint. */
export const FEEDBACK_MIX: Record<FeedbackKind, number> = { delivery: 9, send: 6, bounce_transient: 2, bounce_permanent: 2, complaint: 1 };

export interface Measured {
    /** What was run: mails or notifications. */
    items: number;
    /** Requests per item by `service API`. */
    requests: Record<string, number>;
    /** Requests per item by service. */
    services: Record<string, number>;
    lines: CostLine[];
    /** Cost per item (sum of lines). */
    usd: number;
    /** Per item: Lambda invocations, GB-seconds, log bytes. */
    invocations: number;
    gbSeconds: number;
    logBytes: number;
    /** Per function (by its functions/<code> folder): the most sequential DynamoDB round trips of one invocation. */
    ddbRoundTrips: Record<string, number>;
    /** Distinct custom metrics the functions emitted (EMF), a monthly charge while mail flows every hour. */
    customMetrics: string[];
}

function measure(counter: RequestCounter, items: number, logs: unknown[], logRetentionDays: number): Measured {
    const per = (n: number) => n / items;
    const requests = Object.fromEntries(Object.entries(counter.byApi()).filter(([k]) => !k.endsWith("StoredBytes")).map(([k, v]) => [k, per(v)]));
    const services = Object.fromEntries(Object.entries(counter.byService()).map(([k, v]) => [k, per(v)]));
    // Each function's median duration × its invocations: the machine running the simulation is shared, and one slow outlier would otherwise dominate.
    const byFn = new Map<string, { memoryMb: number; ms: number[] }>();
    for (const i of counter.invocations) byFn.set(i.fn, { memoryMb: i.memoryMb, ms: [...(byFn.get(i.fn)?.ms ?? []), i.ms] });
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const gbSeconds = [...byFn.values()].reduce((s, f) => s + (f.memoryMb / 1024) * (median(f.ms) / 1000) * f.ms.length, 0);
    const logBytes = logs.reduce<number>((s, l) => s + Buffer.byteLength(typeof l === "string" ? l : JSON.stringify(l)) + 1, 0) + counter.invocations.length * PLATFORM_LOG_BYTES;
    const rru = [...counter.rru.values()].reduce((a, b) => a + b, 0);
    const wru = [...counter.wru.values()].reduce((a, b) => a + b, 0);
    const sqs = counter.unitsOf("SQS");
    const storedBytes = counter.unitsOf("S3", "StoredBytes");
    const expiryDays = 90;
    const lines: CostLine[] = [
        line("Lambda invocations", per(counter.invocations.length), "invocations", "lambdaRequest"),
        line("Lambda compute (configured memory × measured duration)", per(gbSeconds), "GB-s", "lambdaArmGbSecond", "median duration per function, measured locally (dynalite, loopback fakes; pacing scaled down): real AWS calls are slower"),
        line("X-Ray traces", per(counter.invocations.length), "traces", "xrayTrace", "one per invocation (upper bound: every invocation sampled)"),
        line("SQS requests (64 KB chunks)", per(sqs), "requests", "sqsRequest"),
        line("SNS publishes (64 KB chunks)", per(counter.unitsOf("SNS")), "publishes", "snsPublish"),
        line("EventBridge custom events", per(counter.unitsOf("EventBridge")), "events", "eventBridgeCustomEvent"),
        line("Pipes requests", per(counter.unitsOf("Pipes")), "requests", "pipesRequest"),
        line("DynamoDB reads", per(rru), "RRU", "dynamoRru"),
        line("DynamoDB writes (GSIs included)", per(wru), "WRU", "dynamoWru", "a GSI charged when the write sets its partition key"),
        line("KMS requests", per(counter.requestsOf("KMS")), "requests", "kmsRequest", "SSM SecureString decrypts; SNS SSE one GenerateDataKey per publish (upper bound)"),
        line("S3 PUT (SES stores the mail)", per(counter.requestsOf("S3", "PutObject")), "requests", "s3Put"),
        line("S3 GET/HEAD", per(counter.requestsOf("S3", "GetObject") + counter.requestsOf("S3", "HeadObject")), "requests", "s3Get"),
        line(`S3 storage (${expiryDays} days, lifecycle)`, per(storedBytes / 1e9) * (expiryDays / 30), "GB-months", "s3Storage"),
        line("SES SendBounce", per(counter.requestsOf("SES", "SendBounce")), "messages", "sesOutbound"),
        line("CloudWatch Logs ingestion", per(logBytes / 1e9), "GB", "logIngestion", `function lines as logged + ${PLATFORM_LOG_BYTES} bytes of Lambda's own per invocation`),
        line(`CloudWatch Logs storage (${logRetentionDays} days)`, per(logBytes / 1e9) * (logRetentionDays / 30), "GB-months", "logStorage"),
    ].filter((l) => l.quantity > 0);
    const customMetrics = new Set<string>();
    for (const l of logs) {
        const aws = (l as { _aws?: { CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } })?._aws;
        for (const d of aws?.CloudWatchMetrics ?? []) {
            for (const m of d.Metrics) {
                for (const set of d.Dimensions.length ? d.Dimensions : [[]]) {
                    customMetrics.add(`${d.Namespace}/${m.Name}{${set.map((k) => `${k}=${String((l as Record<string, unknown>)[k])}`).join(",")}}`);
                }
            }
        }
    }
    const names = new Map(counter.invocations.map((i) => [i.name, i.fn]));
    const ddbRoundTrips = Object.fromEntries([...counter.ddbRoundTrips].map(([name, n]) => [names.get(name) ?? name, n]));
    return { items, requests, services, lines, ddbRoundTrips, usd: lines.reduce((s, l) => s + l.monthlyUsd, 0), invocations: per(counter.invocations.length), gbSeconds: per(gbSeconds), logBytes: per(logBytes), customMetrics: [...customMetrics].sort() };
}

const gsiCounts = (tables: RecordedResource[]) => Object.fromEntries(tables.map((t) => [t.inputs.name, (t.inputs.globalSecondaryIndexes ?? []).map((g: { hashKey?: string; keySchemas?: { attributeName: string; keyType: string }[] }) => g.hashKey ?? g.keySchemas?.find((k) => k.keyType === "HASH")?.attributeName ?? "")]));
const retention = (resources: RecordedResource[]) => {
    const days = resources.filter((r) => r.type === "aws:cloudwatch/logGroup:LogGroup").map((g) => Number(g.inputs.retentionInDays ?? 30));
    return days.length ? Math.max(...days) : 30;
};

const dynamoPrototype = () => Object.getPrototypeOf(DynamoDBClient.prototype) as { send: (...args: any[]) => any };

function mail(i: number, path: InboundPath, domain: string, bytes: number): MailSpec {
    const pass = "PASS" as const;
    return {
        messageId: `cost${path}${String(i).padStart(4, "0")}`.padEnd(40, "0"),
        source: `sender${i}@example.net`,
        recipients: [`${path}@${domain}`],
        verdicts: { spam: pass, virus: pass, spf: pass, dkim: pass, dmarc: pass },
        headers: [],
        subject: `cost model ${path} ${i}`,
        size: bytes,
        deliveries: 1,
        arrivalMs: i * 2000,
        missingObject: false,
        gmailFaults: [],
    };
}

export type StackRun = Awaited<ReturnType<typeof runStack>>;

export interface InboundOptions {
    mailsPerPath: number;
    /** Raw size of each mail (SES stores it; the forwarder reads and uploads it). */
    mailBytes: number;
    seed: number;
}

export const DEFAULT_INBOUND: InboundOptions = { mailsPerPath: 8, mailBytes: 30_000, seed: 20261203 };

/** One simulation per path: the test stack, one rule per path, `mailsPerPath` mails to it. */
export async function measureInbound(run: StackRun, options: InboundOptions = DEFAULT_INBOUND): Promise<Record<InboundPath, Measured>> {
    const plan = await readSystemPlan(run.plan);
    const [receipt] = plan.receiptRules;
    const domain = receipt.recipients[0];
    const routingTable = plan.tables.find((t) => t.name.endsWith("routing"))!.inputs.name;
    const results = {} as Record<InboundPath, Measured>;
    for (const path of INBOUND_PATHS) {
        const sim = await InboundSimulation.start(plan, { seed: options.seed });
        const counter = new RequestCounter();
        try {
            const forwarder = sim.fn("gmail-forwarder");
            const accounts = (forwarder.spec.environment.GMAIL_ACCOUNTS ?? "").split(",").filter(Boolean);
            const account = accounts[0] ?? "you@gmail.com";
            sim.storeToken(forwarder.spec.environment.SSM_PREFIX, account);
            const action = { forward: "forward-to-gmail", bounce: "bounce", store: "store", drop: "drop" }[path];
            const rule: RuleSpec = { pattern: `${path}@${domain}`, action, ...(path === "forward" ? { target: account } : {}), enabled: true, labels: [] };
            await sim.putItem(routingTable, ruleItem(rule, sim.clock.iso()));
            counter.attachSqs(sim.sqs).attachS3(sim.s3).attachSsm(sim.ssm).attachSes(sim.ses).attachBus(sim.bus).attachPublisher(sim)
                .attachDynamo(dynamoPrototype(), gsiCounts(plan.tables));
            for (const poller of sim.pollers) if (poller.constructor.name === "PipeModel") counter.attachPipe(poller);
            for (const fn of sim.functions.values()) counter.attachFunction(fn);
            const t0 = sim.clock.now();
            for (let i = 0; i < options.mailsPerPath; i++) {
                const spec = mail(i, path, domain, options.mailBytes);
                sim.at(t0 + spec.arrivalMs, () => {
                    const notification = notificationFor(spec, { bucket: receipt.bucket, objectKeyPrefix: receipt.objectKeyPrefix, topicArn: receipt.topicArn, timestamp: sim.clock.iso() });
                    sim.receive(spec.messageId, rawMail(spec), notification, 1);
                });
            }
            await sim.runUntilQuiet();
            const delivered = path === "forward" ? sim.gmail.imports.length : path === "bounce" ? sim.ses.bounces.length : options.mailsPerPath;
            if (delivered !== options.mailsPerPath) throw new Error(`${path}: ${delivered} of ${options.mailsPerPath} mails reached their place; the cost run needs every one`);
            counter.detach();
            results[path] = measure(counter, options.mailsPerPath, sim.logs.map((l) => l.line), retention(run.plan.resources));
        } finally {
            counter.detach();
            await sim.close();
        }
    }
    return results;
}

function notification(kind: FeedbackKind, i: number, now: string): unknown {
    const mailOptions = { messageId: `costfb-${kind}-${i}`, timestamp: now, from: `Sender <sender${i % 5}@example.com>` };
    const to = [`user${i}@example.com`];
    switch (kind) {
        case "delivery": return ses.delivery("event", to, mailOptions);
        case "send": return ses.send(to, mailOptions);
        case "bounce_transient": return ses.bounce("event", "Transient", "MailboxFull", to.map(ses.softRecipient), mailOptions, now);
        case "bounce_permanent": return ses.bounce("event", "Permanent", "General", to.map(ses.hardRecipient), mailOptions, now);
        case "complaint": return ses.complaint("event", to, { complaintFeedbackType: "abuse" }, mailOptions, now);
    }
}

/** One feedback simulation per notification kind (event publishing, one recipient each). */
export async function measureFeedback(run: StackRun, perKind = 10, seed = 20261203): Promise<Record<FeedbackKind, Measured>> {
    const plan = await readSystemPlan(run.plan);
    const topic = run.plan.one("aws:sns/topic:Topic", "feedback-topic").state.arn as string;
    const start = Date.parse("2026-04-15T09:00:00.000Z");
    const results = {} as Record<FeedbackKind, Measured>;
    for (const kind of FEEDBACK_KINDS) {
        const sim = await FeedbackSimulation.start(plan, { seed, start });
        const counter = new RequestCounter();
        try {
            counter.attachSqs(sim.sqs).attachPublisher(sim).attachDynamo(dynamoPrototype(), gsiCounts(plan.tables)).attachFunction(sim.worker);
            for (let i = 0; i < perKind; i++) {
                sim.at(start + i * 1000, () => sim.publish(topic, JSON.stringify(notification(kind, i, new Date(start).toISOString()))));
            }
            await sim.runUntilQuiet();
            counter.detach();
            results[kind] = measure(counter, perKind, sim.lines, retention(run.plan.resources));
        } finally {
            counter.detach();
            await sim.close();
        }
    }
    return results;
}

/** Cost per item of a weighted mix of measured kinds. */
export function mixCost<K extends string>(measured: Record<K, Measured>, weights: Record<K, number>): number {
    const total = Object.values<number>(weights).reduce((a, b) => a + b, 0);
    return (Object.keys(weights) as K[]).reduce((sum, k) => sum + (measured[k].usd * weights[k]) / total, 0);
}
