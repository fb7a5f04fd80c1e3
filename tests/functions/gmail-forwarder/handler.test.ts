import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { GetObjectCommand, NoSuchKey, S3Client } from "@aws-sdk/client-s3";
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { bundleFunction } from "../../../components/bundle";
import { MailIngest } from "../../../components/mail-ingest";
import { SuppressionStore } from "../../../components/suppression-store";
import { GMAIL_IMPORT_LIMIT_BYTES, RESUMABLE_UPLOAD_THRESHOLD_BYTES } from "../../../functions/gmail-forwarder/limits";
import { DEFAULT_ROUTER_SETTINGS, routingEvent as routerOutput, RouterSettings } from "../../../functions/router/decide";
import { parseReceiptNotification } from "../../../functions/router/notification";
import { RouteRule } from "../../../functions/router/rules";
import { hashAddress } from "../../../functions/shared/logging";
import type { RoutingEvent } from "../../../functions/shared/routing-event";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { FakeGoogle, startFakeGoogle } from "../../support/fake-google";
import { runUnderMocks } from "../../support/mocks";
import { captureOutput, emittedMetrics, metricPoints } from "../../support/output";
import { VirtualClock } from "../../support/sim/clock";
import { LogLine, SimFunction } from "../../support/sim/lambda";
import { sqsRecord } from "../../fixtures/ses-feedback";
import { receiptNotification } from "../../fixtures/ses-receipt";

const RETRY_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/ses-mail-gmail-forwarder-retry-test";
const DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/ses-mail-gmail-forwarder-dlq-test";
const FORWARDER_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/ses-mail-gmail-forwarder-test";
const RAW_MAIL = "From: Jane Doe <sender@example.net>\r\nTo: support@example.com\r\nSubject: Test Subject\r\nDate: Fri, 11 Sep 2015 20:32:32 +0000\r\n\r\nHello from the test.\r\n";
const context = { functionName: "ses-mail-gmail-forwarder-test", awsRequestId: "req-1", getRemainingTimeInMillis: () => 120_000 } as unknown as Context;
const SUPPORT: RouteRule = { pattern: "support@example.com", action: "forward-to-gmail", target: "team@gmail.com", enabled: true, labels: ["Label_7"] };

/** The EventBridge event SQS delivers: the router's routing event for a mail and these rules. */
function routingEvent(messageId: string, options: { rules?: RouteRule[]; recipients?: string[]; spam?: string; settings?: RouterSettings } = {}) {
    const rules = options.rules ?? [SUPPORT];
    const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ messageId, recipients: options.recipients ?? ["support@example.com"], spam: options.spam })));
    const detail: RoutingEvent = routerOutput(mail, new Map(rules.map((r) => [r.pattern, r])), options.settings ?? DEFAULT_ROUTER_SETTINGS);
    return {
        version: "0", id: `evt-${messageId}`, "detail-type": "Email Routing Decision", source: "ses-mail.router",
        account: "123456789012", time: "2015-09-11T20:32:34Z", region: "us-east-1", resources: [], detail,
    };
}
const forwardTo = (target: string, pattern: string, labels: string[] = []): RouteRule => ({ pattern, action: "forward-to-gmail", target, enabled: true, labels });

function delivery(body: unknown, receiveCount = 1): SQSEvent {
    return batchOf([body], receiveCount);
}

/** One SQS delivery of several bodies (the forwarder's trigger takes up to 5 at a time). */
function batchOf(bodies: unknown[], receiveCount = 1): SQSEvent {
    return {
        Records: bodies.map((body) => {
            const record = sqsRecord(body);
            record.attributes.ApproximateReceiveCount = String(receiveCount);
            record.eventSourceARN = "arn:aws:sqs:us-east-1:123456789012:ses-mail-gmail-forwarder-test";
            return record;
        }),
    };
}

/**
 * A message of `size` bytes made on demand, 64 KiB at a time, hashing what it hands out;
 * `onRead` hears the bytes handed out so far after each chunk.
 */
function lazyMail(size: number, onRead?: (produced: number) => void): { body: Readable; sha256: () => string; produced: () => number } {
    const hash = createHash("sha256");
    const header = Buffer.from("From: Jane Doe <sender@example.net>\r\nTo: support@example.com\r\nSubject: Large\r\n\r\n");
    let produced = 0;
    let sequence = 0;
    const body = new Readable({
        read() {
            if (produced >= size) return void this.push(null);
            const length = Math.min(64 * 1024, size - produced);
            const chunk = produced === 0 ? Buffer.concat([header, Buffer.alloc(length - header.length, `line ${sequence}\r\n`)]) : Buffer.alloc(length, `line ${++sequence}\r\n`);
            produced += length;
            hash.update(chunk);
            this.push(chunk);
            onRead?.(produced);
        },
    });
    return { body, sha256: () => hash.digest("hex"), produced: () => produced };
}

describe("gmail-forwarder handler (fake Gmail + OAuth on loopback, dynalite idempotency)", () => {
    let google: FakeGoogle;
    let local: LocalDynamo;
    let s3: AwsClientStub<S3Client>;
    let sqs: AwsClientStub<SQSClient>;
    let ssm: AwsClientStub<SSMClient>;
    let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    let maxReceiveCount: number;
    let forwarder: Record<string, any>;
    const saved = { ...process.env };
    /**
     * The queue URLs and endpoints of this test, over the environment the component sets. Imports
     * unpaced: the pacing of the bundle as deployed has its own test below, and the pacer's
     * schedule is proven in virtual time (tests/functions/shared/pacing.test.ts).
     */
    const forwarderOverrides = () => ({
        RETRY_QUEUE_URL: RETRY_URL, DLQ_URL, FORWARDER_QUEUE_URL: FORWARDER_URL,
        CREDENTIAL_CACHE_SECONDS: "0", IMPORT_MIN_INTERVAL_MS: "0",
        GMAIL_API_ROOT_URL: google.apiRootUrl, OAUTH_TOKEN_URL: google.tokenUrl,
    });

    async function run(event: SQSEvent) {
        const { result, lines } = await captureOutput(() => handler(event, context));
        return { result, metrics: emittedMetrics(lines), points: metricPoints(lines), logs: lines.filter((l): l is Record<string, any> => typeof l === "object" && l !== null && "level" in l) };
    }
    const sent = (queueUrl: string) => sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input).filter((i) => i.QueueUrl === queueUrl);
    const batches = () => sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    const token = (account: string, value: string) => ssm.on(GetParameterCommand, { Name: `/ses-mail/test/gmail-forwarder/oauth/refresh-token/${account.replace("@", "_at_")}` }).resolves({ Parameter: { Value: JSON.stringify({ refresh_token: value }) } });

    before(async () => {
        google = await startFakeGoogle();
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new MailIngest("ingest", { env: "test", domains: ["example.com"], gmailAccounts: ["team@gmail.com", "ops@gmail.com"], suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "ingest-idempotency"));
        // The function's environment as the component sets it (MAX_RECEIVE_COUNT, MAX_IMPORT_BYTES, …), with the queue URLs and endpoints of this test.
        forwarder = plan.one("aws:lambda/function:Function", "ingest-forwarder").inputs;
        Object.assign(process.env, forwarder.environment.variables, forwarderOverrides(), {
            AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local",
        });
        maxReceiveCount = Number(process.env.MAX_RECEIVE_COUNT);
        s3 = mockClient(S3Client);
        sqs = mockClient(SQSClient);
        ssm = mockClient(SSMClient);
        ({ handler } = await import("../../../functions/gmail-forwarder/handler"));
    });

    after(async () => {
        s3.restore();
        sqs.restore();
        ssm.restore();
        process.env = saved;
        await Promise.all([google.close(), local.close()]);
    });

    beforeEach(() => {
        for (const stub of [s3, sqs, ssm]) stub.reset();
        google.imports.length = 0;
        google.gmailScript.length = 0;
        google.tokenBehaviour = "ok";
        sqs.on(SendMessageCommand).resolves({ MessageId: "sent" });
        sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({ Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: "x" })), Failed: [] }));
        sqs.on(ChangeMessageVisibilityCommand).resolves({});
        ssm.on(GetParameterCommand, { Name: "/ses-mail/test/gmail-forwarder/oauth/client-credentials" }).resolves({ Parameter: { Value: JSON.stringify({ installed: { client_id: "cid.apps.googleusercontent.com", client_secret: "csecret" } }) } });
        token("team@gmail.com", "1//refresh-team");
        token("ops@gmail.com", "1//refresh-ops");
        s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([Buffer.from(RAW_MAIL)]), ContentLength: Buffer.byteLength(RAW_MAIL) }));
    });

    it("reads the queue's real maxReceiveCount and Gmail's import limit from the component's environment", () => {
        expect(maxReceiveCount).to.be.a("number").and.to.be.at.least(1);
        expect(process.env.MAX_IMPORT_BYTES).to.equal(String(GMAIL_IMPORT_LIMIT_BYTES));
        // The component paces imports; this file's handler does not (see forwarderOverrides).
        expect(Number(forwarder.environment.variables.IMPORT_MIN_INTERVAL_MS)).to.be.above(0);
        expect(process.env.IMPORT_MIN_INTERVAL_MS).to.equal("0");
    });

    it("200: streams the mail from S3 as a multipart upload with INBOX, UNREAD and the rule's labels", async () => {
        const { result, metrics, logs } = await run(delivery(routingEvent("m-200")));
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(google.imports).to.have.length(1);
        const call = google.imports[0];
        expect(call.upload).to.equal("multipart");
        expect(call.query.get("uploadType")).to.equal("multipart");
        expect(call.query.get("internalDateSource")).to.equal("dateHeader");
        expect(call.authorization).to.match(/^Bearer ya29\.fake-/);
        expect(call.body).to.include("message/rfc822").and.include("Hello from the test.");
        expect(call.labelIds).to.deep.equal(["INBOX", "UNREAD", "Label_7"]);
        expect(call.sha256).to.equal(createHash("sha256").update(RAW_MAIL).digest("hex"));
        expect(google.tokenRequests.at(-1)?.get("refresh_token")).to.equal("1//refresh-team");
        expect(s3.commandCalls(GetObjectCommand)[0].args[0].input).to.deep.equal({ Bucket: "ses-mail-email-test", Key: "inbound/m-200" });
        expect(metrics).to.deep.equal({ GmailForwardSuccess: 1 });
        expect(logs.find((l) => l.message === "Imported into Gmail")).to.deep.include({
            messageId: "m-200", target: "team@gmail.com", recipient: "support@example.com", reason: "rule:support@example.com", action: "imported", gmailMessageId: "gmail-1",
        });
    });

    it("the same message delivered twice is imported once", async () => {
        const event = routingEvent("m-dup");
        await run(delivery(event));
        const second = await run(delivery(event));
        expect(second.result.batchItemFailures).to.deep.equal([]);
        expect(google.imports).to.have.length(1);
    });

    it("two decisions for one account (different labels) make ONE import carrying both label sets", async () => {
        const rules = [forwardTo("team@gmail.com", "support@example.com", ["Label_7"]), forwardTo("Team@Gmail.com", "sales@example.com", ["Label_9", "Label_7"])];
        const event = routingEvent("m-merge", { rules, recipients: ["support@example.com", "sales@example.com"] });
        expect(event.detail.decisions.filter((d) => d.action === "forward-to-gmail")).to.have.length(2);
        const { result, logs } = await run(delivery(event));
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(batches()).to.deep.equal([]);
        expect(google.imports.map((i) => i.labelIds)).to.deep.equal([["INBOX", "UNREAD", "Label_7", "Label_9"]]);
        expect(logs.find((l) => l.message === "Imported into Gmail")).to.deep.include({ target: "team@gmail.com", recipient: "support@example.com,sales@example.com" });
        // Redelivered: the idempotency key [messageId, target] covers the merged import.
        await run(delivery(event));
        expect(google.imports).to.have.length(1);
    });

    it("no forward-to-gmail decision: succeeds without importing, and says so", async () => {
        const event = routingEvent("m-none", { rules: [{ pattern: "support@example.com", action: "store", enabled: true, labels: [] }] });
        const { result, logs } = await run(delivery(event));
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(google.imports).to.have.length(0);
        expect(s3.commandCalls(GetObjectCommand)).to.have.length(0);
        expect(logs.find((l) => l.message.startsWith("No forward-to-gmail decision"))).to.deep.include({ messageId: "m-none", action: "none" });
    });

    it("several accounts: one copy per account on the forwarder queue, each imported (and failing) on its own", async () => {
        const rules = [forwardTo("team@gmail.com", "support@example.com", ["Label_7"]), forwardTo("ops@gmail.com", "ops@example.com", ["Label_3"]), { pattern: "archive@example.com", action: "store" as const, enabled: true, labels: [] }];
        const event = routingEvent("m-fan", { rules, recipients: ["support@example.com", "ops@example.com", "archive@example.com"] });
        const first = await run(delivery(event));
        expect(first.result.batchItemFailures).to.deep.equal([]);
        expect(google.imports).to.have.length(0);
        expect(first.metrics).to.deep.equal({ GmailForwardFanOut: 1 });
        expect(first.logs.find((l) => l.action === "fan-out")).to.deep.include({ messageId: "m-fan", target: "team@gmail.com,ops@gmail.com" });
        const [batch] = batches();
        expect(batch.QueueUrl).to.equal(FORWARDER_URL);
        expect(batch.Entries!.map((e) => e.MessageAttributes?.account.StringValue)).to.deep.equal(["team@gmail.com", "ops@gmail.com"]);
        const copies = batch.Entries!.map((e) => JSON.parse(e.MessageBody!));
        for (const [i, copy] of copies.entries()) {
            // The same event, its decisions narrowed to the copy's account.
            expect({ ...copy, detail: { ...copy.detail, decisions: [] } }).to.deep.equal(JSON.parse(JSON.stringify({ ...event, detail: { ...event.detail, decisions: [] } })));
            expect(copy.detail.decisions).to.deep.equal([event.detail.decisions[i]]);
        }
        // The queue delivers the copies: ops's token is revoked (refused again when read anew), team's import goes ahead.
        google.gmailScript.push(401, 401);
        const ops = await run(delivery(copies[1]));
        const team = await run(delivery(copies[0]));
        expect([ops.result.batchItemFailures, team.result.batchItemFailures]).to.deep.equal([[], []]);
        expect(google.imports.map((i) => i.labelIds)).to.deep.equal([["INBOX", "UNREAD", "Label_7"]]);
        expect(google.tokenRequests.at(-1)?.get("refresh_token")).to.equal("1//refresh-team");
        expect(sent(RETRY_URL).map((m) => [JSON.parse(m.MessageBody!).detail.decisions[0].target, m.MessageAttributes?.account.StringValue])).to.deep.equal([["ops@gmail.com", "ops@gmail.com"]]);
    });

    it("fans out at most 10 copies per SendMessageBatch call", async () => {
        const accounts = Array.from({ length: 12 }, (_, i) => `a${i}@gmail.com`);
        const event = routingEvent("m-many", { rules: accounts.map((a, i) => forwardTo(a, `r${i}@example.com`)), recipients: accounts.map((_, i) => `r${i}@example.com`) });
        const { result } = await run(delivery(event));
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(batches().map((b) => b.Entries!.length)).to.deep.equal([10, 2]);
        expect(batches().flatMap((b) => b.Entries!.map((e) => JSON.parse(e.MessageBody!).detail.decisions[0].target))).to.deep.equal(accounts);
    });

    it("a copy SQS refuses fails the original, which is retried", async () => {
        sqs.on(SendMessageBatchCommand).resolves({ Successful: [{ Id: "copy-0", MessageId: "x", MD5OfMessageBody: "x" }], Failed: [{ Id: "copy-1", Code: "InternalError", SenderFault: false, Message: "try again" }] });
        const rules = [forwardTo("team@gmail.com", "support@example.com"), forwardTo("ops@gmail.com", "ops@example.com")];
        const { result, logs } = await run(delivery(routingEvent("m-fan-fail", { rules, recipients: ["support@example.com", "ops@example.com"] })));
        expect(result.batchItemFailures).to.have.length(1);
        expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input)).to.deep.equal([{ QueueUrl: FORWARDER_URL, ReceiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...", VisibilityTimeout: 30 }]);
        expect(logs.find((l) => l.level === "WARN")?.reason).to.match(/refused 1 of 2 copies: copy-1 InternalError/);
    });

    it("spam labelled by the router goes to Spam: SPAM + UNREAD, never INBOX (Gmail takes only one of INBOX, SPAM, TRASH)", async () => {
        const event = routingEvent("m-spam", { spam: "FAIL", settings: { ...DEFAULT_ROUTER_SETTINGS, spamAction: "label" } });
        expect(event.detail.decisions[0].labels).to.deep.equal(["Label_7", "SPAM"]);
        const { result } = await run(delivery(event));
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(google.imports.map((i) => i.labelIds)).to.deep.equal([["SPAM", "UNREAD", "Label_7"]]);
        expect(google.imports[0].query.get("neverMarkSpam")).to.equal("false");
    });

    it("401 from Gmail parks the message in the retry queue with its account, and succeeds the original", async () => {
        google.gmailScript.push(401, 401);
        const event = routingEvent("m-401");
        const { result, metrics, logs } = await run(delivery(event));
        expect(result.batchItemFailures).to.deep.equal([]);
        const [parked] = sent(RETRY_URL);
        // Everything the forwarder needs again, but not what the mail says: the retry drain's
        // execution history keeps what it receives for 90 days.
        const { subject, from, ...kept } = event.detail;
        expect(subject).to.equal("Test Subject");
        expect(from).to.match(/^Jane Doe </);
        expect(JSON.parse(parked.MessageBody!)).to.deep.equal(JSON.parse(JSON.stringify({ ...event, detail: kept })));
        expect(parked.MessageBody).not.to.include("Test Subject");
        expect(parked.MessageAttributes?.reason.StringValue).to.match(/^Gmail token invalid or expired/);
        expect(parked.MessageAttributes?.account).to.deep.equal({ DataType: "String", StringValue: "team@gmail.com" });
        expect(metrics).to.deep.equal({ GmailTokenError: 1, TokenValid: 0 });
        expect(logs.find((l) => l.level === "WARN")).to.deep.include({ messageId: "m-401", target: "team@gmail.com", recipient: "support@example.com", action: "park" });
    });

    it("a token refused once is read from SSM again before parking: a token refreshed meanwhile imports", async () => {
        google.gmailScript.push(401);
        const { result } = await run(delivery(routingEvent("m-refreshed")));
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(sent(RETRY_URL)).to.deep.equal([]);
        expect(google.imports).to.have.length(1);
        const tokenReads = ssm.commandCalls(GetParameterCommand).filter((c) => c.args[0].input.Name?.includes("/refresh-token/"));
        expect(tokenReads).to.have.length(2);
    });

    it("invalid_grant from the token endpoint (expired or revoked token) parks too", async () => {
        google.tokenBehaviour = "invalid_grant";
        const { metrics, points } = await run(delivery(routingEvent("m-grant")));
        expect(sent(RETRY_URL)).to.have.length(1);
        expect(sent(RETRY_URL)[0].MessageAttributes?.reason.StringValue).to.include("invalid_grant");
        expect(sent(RETRY_URL)[0].MessageAttributes?.account.StringValue).to.equal("team@gmail.com");
        expect(metrics).to.deep.equal({ GmailTokenError: 1, TokenValid: 0 });
        // Exactly the token monitor's alarm dimensions: the account, and no service.
        expect(points.filter((p) => p.name === "TokenValid")).to.deep.equal([{ name: "TokenValid", value: 0, dimensions: { account: "team@gmail.com" } }]);
    });

    describe("a refresh-token parameter that is not JSON (hand-edited, truncated)", () => {
        const SECRET = "1//0Zq7Xw9Vb3Kp5Jd8Hs2Lf";
        // JSON.parse's message quotes about ten characters around the fault: look for any piece of the secret.
        const pieces = Array.from({ length: SECRET.length - 5 }, (_, i) => SECRET.slice(i, i + 6));
        const values = [
            `{"refresh_token":"${SECRET}`,
            `{"refresh_token":"${SECRET}"x}`,
            `{"refresh_token":x${SECRET}"}`,
            `{"refresh_token":"${SECRET}",created_at:"2026-11-22"}`,
            `{refresh_token:"${SECRET}"}`,
        ];
        for (const [index, value] of values.entries()) {
            it(`parks the mail and never repeats the value in a log, error or message attribute (${index + 1}/${values.length})`, async () => {
                ssm.on(GetParameterCommand, { Name: "/ses-mail/test/gmail-forwarder/oauth/refresh-token/team_at_gmail.com" }).resolves({ Parameter: { Value: value } });
                const { result, lines } = await captureOutput(() => handler(delivery(routingEvent(`m-garbled-${index}`)), context));
                expect(result.batchItemFailures).to.deep.equal([]);
                expect(sent(DLQ_URL)).to.deep.equal([]);
                const [parked] = sent(RETRY_URL);
                expect(parked.MessageAttributes).to.deep.equal({
                    reason: { DataType: "String", StringValue: "/ses-mail/test/gmail-forwarder/oauth/refresh-token/team_at_gmail.com is not valid JSON; run: npx ses-mail token refresh" },
                    account: { DataType: "String", StringValue: "team@gmail.com" },
                });
                expect(lines.find((l: any) => l.level === "WARN")).to.deep.include({ messageId: `m-garbled-${index}`, target: "team@gmail.com", action: "park" });
                expect(google.tokenRequests.map((r) => r.get("refresh_token"))).to.not.include(SECRET);
                const everything = JSON.stringify([lines, sqs.calls().map((call) => call.args[0].input)]);
                for (const piece of pieces) expect(everything).to.not.include(piece);
            });
        }
    });

    it("LOG_ADDRESSES=hashed (the bundle as deployed): Gmail accounts and recipients are hashed in every log line", async () => {
        const lines: LogLine[] = [];
        const sim = new SimFunction({
            logicalName: "forwarder", name: forwarder.name, arn: `arn:aws:lambda:us-east-1:123456789012:function:${forwarder.name}`, timeoutSeconds: 120, memorySize: 512,
            environment: { ...forwarder.environment.variables, ...forwarderOverrides() }, code: bundleFunction("gmail-forwarder").code,
        }, { clock: new VirtualClock(), region: "us-east-1", envOverrides: { LOG_ADDRESSES: "hashed", LOG_ADDRESS_SALT: "salt" }, onLog: (_fn, line) => lines.push(line) });
        expect(await sim.invoke(delivery(routingEvent("m-hashed")))).to.deep.equal({ kind: "ok", value: { batchItemFailures: [] } });
        google.gmailScript.push(401, 401);
        expect(await sim.invoke(delivery(routingEvent("m-hashed-park")))).to.deep.equal({ kind: "ok", value: { batchItemFailures: [] } });
        const logs = lines.filter((l): l is Record<string, any> => typeof l === "object" && "level" in l);
        const hashed = { target: hashAddress("team@gmail.com", "salt"), recipient: hashAddress("support@example.com", "salt") };
        expect(logs.find((l) => l.action === "imported")).to.deep.include({ ...hashed, messageId: "m-hashed" });
        expect(logs.find((l) => l.action === "park")).to.deep.include({ ...hashed, messageId: "m-hashed-park" });
        expect(JSON.stringify(logs)).to.not.include("team@gmail.com");
        // The parked copy still names its account in the clear: the retry drain selects by it.
        expect(sent(RETRY_URL)[0].MessageAttributes?.account.StringValue).to.equal("team@gmail.com");
    });

    it("IMPORT_MIN_INTERVAL_MS (the bundle as deployed): imports of a batch start an interval apart, and the invocation waits out the interval after the last", async () => {
        // Real time: the function's pacer runs on the system clock. The interval is long against an
        // unpaced invocation (two loopback imports, some ms), so a missing wait cannot hide in it.
        const interval = 200;
        const sim = new SimFunction({
            logicalName: "forwarder", name: forwarder.name, arn: `arn:aws:lambda:us-east-1:123456789012:function:${forwarder.name}`, timeoutSeconds: 120, memorySize: 512,
            environment: { ...forwarder.environment.variables, ...forwarderOverrides() }, code: bundleFunction("gmail-forwarder").code,
        }, { clock: new VirtualClock(), region: "us-east-1", envOverrides: { IMPORT_MIN_INTERVAL_MS: String(interval) } });
        // A cold start that imports nothing: loading the bundle does not count in the figures below.
        const none = { pattern: "support@example.com", action: "store" as const, enabled: true, labels: [] };
        expect(await sim.invoke(delivery(routingEvent("m-paced-none", { rules: [none] })))).to.deep.equal({ kind: "ok", value: { batchItemFailures: [] } });
        const started = Date.now();
        const outcome = await sim.invoke(batchOf([routingEvent("m-paced-1"), routingEvent("m-paced-2")]));
        const took = Date.now() - started;
        expect(outcome).to.deep.equal({ kind: "ok", value: { batchItemFailures: [] } });
        expect(google.imports).to.have.length(2);
        expect(sim.coldStarts).to.equal(1);
        // The second import starts an interval after the first (which started after `started`), and
        // the invocation returns an interval after the second started: two intervals at least
        // (timers may fire a millisecond early against Date.now's rounding).
        expect(took).to.be.at.least(2 * interval - 2);
    });

    it("429 retries with backoff, and the next attempt succeeds", async () => {
        google.gmailScript.push(429);
        const event = routingEvent("m-429");
        const first = await run(delivery(event, 1));
        expect(first.result.batchItemFailures).to.have.length(1);
        expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input.VisibilityTimeout)).to.deep.equal([30]);
        const second = await run(delivery(event, 2));
        expect(second.result.batchItemFailures).to.deep.equal([]);
        expect(google.imports).to.have.length(1);
    });

    for (const reason of ["userRateLimitExceeded", "rateLimitExceeded"]) {
        it(`403 ${reason} is rate limiting: retried with backoff, then imported`, async () => {
            google.gmailScript.push({ status: 403, reason });
            const event = routingEvent(`m-403-${reason}`);
            const first = await run(delivery(event, 2));
            expect(first.result.batchItemFailures).to.have.length(1);
            expect(sent(DLQ_URL)).to.deep.equal([]);
            expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input.VisibilityTimeout)).to.deep.equal([60]);
            expect(first.logs.find((l) => l.level === "WARN")).to.deep.include({ action: "retry", reason: `Gmail API 403 ${reason}: ${reason === "rateLimitExceeded" ? "Rate Limit Exceeded" : "User-rate limit exceeded."}` });
            const second = await run(delivery(event, 3));
            expect(second.result.batchItemFailures).to.deep.equal([]);
            expect(google.imports).to.have.length(1);
        });
    }

    it("403 dailyLimitExceeded goes to the DLQ at once, saying when to redrive", async () => {
        google.gmailScript.push({ status: 403, reason: "dailyLimitExceeded" });
        const { result } = await run(delivery(routingEvent("m-daily")));
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(sent(DLQ_URL)[0].MessageAttributes?.reason.StringValue).to.match(/^Gmail API 403 dailyLimitExceeded: Daily Limit Exceeded \(.*redrive.*midnight Pacific/);
    });

    it("500 on the last attempt (the queue's maxReceiveCount) fails the record so SQS moves it to the DLQ", async () => {
        google.gmailScript.push(500);
        const { result, metrics, logs } = await run(delivery(routingEvent("m-500"), maxReceiveCount));
        expect(result.batchItemFailures).to.have.length(1);
        expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).to.have.length(0);
        expect(metrics).to.deep.equal({ GmailForwardFailure: 1 });
        expect(logs.find((l) => l.level === "ERROR")?.reason).to.match(/Gmail API 500: Backend Error/);
    });

    it("other 4xx go to the DLQ with the reason at once", async () => {
        google.gmailScript.push(403);
        const { result, logs } = await run(delivery(routingEvent("m-403")));
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(sent(DLQ_URL)[0].MessageAttributes?.reason.StringValue).to.equal("Gmail API 403 insufficientPermissions: Insufficient Permission");
        expect(logs.find((l) => l.level === "ERROR")).to.deep.include({ messageId: "m-403", target: "team@gmail.com", recipient: "support@example.com", action: "permanent" });
    });

    it("a mail over Gmail's import limit (the default) becomes a notice with its S3 location, its body never read", async () => {
        const big = lazyMail(GMAIL_IMPORT_LIMIT_BYTES + 1);
        s3.on(GetObjectCommand).callsFake(() => ({ Body: big.body, ContentLength: GMAIL_IMPORT_LIMIT_BYTES + 1 }));
        const { metrics, logs } = await run(delivery(routingEvent("m-big")));
        expect(google.imports).to.have.length(1);
        expect(google.imports[0].body).to.include("[Too large to import] Test Subject").and.include("s3://ses-mail-email-test/inbound/m-big").and.include(`is ${GMAIL_IMPORT_LIMIT_BYTES + 1} bytes`);
        expect(google.imports[0].query.get("internalDateSource")).to.equal("receivedTime");
        expect(big.produced()).to.equal(0);
        expect(big.body.destroyed).to.equal(true);
        expect(metrics).to.deep.equal({ GmailForwardSuccess: 1, OversizeNotice: 1 });
        expect(logs.find((l) => l.message === "Imported into Gmail")).to.deep.include({ action: "oversize-notice", bytes: GMAIL_IMPORT_LIMIT_BYTES + 1 });
    });

    it(`above ${RESUMABLE_UPLOAD_THRESHOLD_BYTES} bytes: a resumable upload session carries exactly the mail's bytes`, async () => {
        const size = RESUMABLE_UPLOAD_THRESHOLD_BYTES + 1;
        const mail = lazyMail(size);
        s3.on(GetObjectCommand).callsFake(() => ({ Body: mail.body, ContentLength: size }));
        const { result } = await run(delivery(routingEvent("m-resumable")));
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(google.sessionsOpened).to.be.greaterThan(0);
        const [call] = google.imports;
        expect(call).to.deep.include({ upload: "resumable", size, sha256: mail.sha256(), contentType: "message/rfc822" });
        expect(call.labelIds).to.deep.equal(["INBOX", "UNREAD", "Label_7"]);
        expect(Object.fromEntries(call.query)).to.deep.equal({ uploadType: "resumable", internalDateSource: "dateHeader", neverMarkSpam: "false" });
        expect(call.authorization).to.match(/^Bearer ya29\.fake-/);
        expect(call.uploadAuthorization).to.match(/^Bearer ya29\.fake-/);
        expect(call.body).to.match(/^From: Jane Doe/);
    });

    it("a resumable upload that fails mid-session (503 on the PUT) is retried with a new session", async () => {
        const size = RESUMABLE_UPLOAD_THRESHOLD_BYTES + 4096;
        let attempt: ReturnType<typeof lazyMail> | undefined;
        s3.on(GetObjectCommand).callsFake(() => ((attempt = lazyMail(size)), { Body: attempt.body, ContentLength: size }));
        google.gmailScript.push({ status: 503, stage: "upload" });
        const opened = google.sessionsOpened;
        const event = routingEvent("m-resume-503");
        const first = await run(delivery(event, 1));
        expect(first.result.batchItemFailures).to.have.length(1);
        expect(first.logs.find((l) => l.level === "WARN")?.reason).to.equal("Gmail API 503: The service is currently unavailable.");
        const second = await run(delivery(event, 2));
        expect(second.result.batchItemFailures).to.deep.equal([]);
        expect(google.sessionsOpened - opened).to.equal(2);
        expect(google.imports.map((i) => [i.upload, i.size, i.sha256])).to.deep.equal([["resumable", size, attempt!.sha256()]]);
    });

    for (const stage of ["request", "upload"] as const) {
        it(`a resumable upload rate-limited while ${stage === "request" ? "opening the session" : "sending the body"} (403 userRateLimitExceeded) is retried`, async () => {
            const size = RESUMABLE_UPLOAD_THRESHOLD_BYTES + 1;
            s3.on(GetObjectCommand).callsFake(() => ({ Body: lazyMail(size).body, ContentLength: size }));
            google.gmailScript.push({ status: 403, reason: "userRateLimitExceeded", stage });
            const event = routingEvent(`m-resumable-403-${stage}`);
            const first = await run(delivery(event, 1));
            expect(first.result.batchItemFailures).to.have.length(1);
            expect(sent(DLQ_URL)).to.deep.equal([]);
            expect(first.logs.find((l) => l.level === "WARN")).to.deep.include({ action: "retry", reason: "Gmail API 403 userRateLimitExceeded: User-rate limit exceeded." });
            expect((await run(delivery(event, 2))).result.batchItemFailures).to.deep.equal([]);
            expect(google.imports.map((i) => [i.upload, i.size])).to.deep.equal([["resumable", size]]);
        });
    }

    it("streams a 35 MB mail from S3 to Gmail: memory grows far less than the message", async () => {
        // Warm up first (modules, JIT, sockets, token), so that the figure is the message's alone.
        const warmUp = RESUMABLE_UPLOAD_THRESHOLD_BYTES + 1;
        s3.on(GetObjectCommand).callsFake(() => ({ Body: lazyMail(warmUp).body, ContentLength: warmUp }));
        await run(delivery(routingEvent("m-35mb-warm-up")));
        const size = 35 * 1024 * 1024;
        // Each sample follows a full collection, so it measures what is held, not garbage not yet
        // collected; freed ArrayBuffers are swept at once (V8 sweeps them concurrently by default).
        v8.setFlagsFromString("--expose-gc");
        v8.setFlagsFromString("--no-concurrent-array-buffer-sweeping");
        const gc = vm.runInNewContext("gc") as () => void;
        const held = () => {
            gc();
            const { heapUsed, arrayBuffers } = process.memoryUsage();
            return heapUsed + arrayBuffers;
        };
        held();
        const baseline = held();
        // Sampled as S3 hands out each quarter of the body, then once the import is done: a body
        // held whole on the way (read before it is sent) would weigh over 26 MB at the third sample
        // and 35 MB at the fourth. A few full collections (each ~0.1 s here), not one every 20 ms.
        const QUARTERS = 4;
        const samples: number[] = [];
        const mail = lazyMail(size, (produced) => {
            if (produced >= ((samples.length + 1) * size) / QUARTERS) samples.push(held() - baseline);
        });
        s3.on(GetObjectCommand).callsFake(() => ({ Body: mail.body, ContentLength: size }));
        try {
            const { result } = await run(delivery(routingEvent("m-35mb")));
            expect(result.batchItemFailures).to.deep.equal([]);
        } finally {
            v8.setFlagsFromString("--concurrent-array-buffer-sweeping");
        }
        expect(samples).to.have.length(QUARTERS);
        const peak = Math.max(...samples, held() - baseline);
        console.log(`      35 MB import: peak memory growth ${(peak / 1024 / 1024).toFixed(1)} MiB (heapUsed + arrayBuffers, after gc at each quarter read and at the end)`);
        expect(google.imports.slice(1).map((i) => [i.upload, i.size, i.sha256])).to.deep.equal([["resumable", size, mail.sha256()]]);
        expect(peak).to.be.below(size / 4);
    });

    it("a missing S3 object goes to the DLQ with the reason", async () => {
        s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: "The specified key does not exist.", $metadata: { httpStatusCode: 404 } }));
        await run(delivery(routingEvent("m-gone")));
        expect(sent(DLQ_URL)[0].MessageAttributes?.reason.StringValue).to.match(/^S3 object missing/);
        expect(google.imports).to.have.length(0);
    });

    it("never imports into an account that is not configured; a missing token parks", async () => {
        await run(delivery(routingEvent("m-other", { rules: [forwardTo("someone-else@gmail.com", "support@example.com")] })));
        expect(sent(DLQ_URL)[0].MessageAttributes?.reason.StringValue).to.match(/No Gmail account "someone-else@gmail.com" is configured/);
        ssm.on(GetParameterCommand, { Name: "/ses-mail/test/gmail-forwarder/oauth/refresh-token/team_at_gmail.com" }).rejects(new ParameterNotFound({ message: "not found", $metadata: {} }));
        await run(delivery(routingEvent("m-notoken")));
        expect(sent(RETRY_URL)[0].MessageAttributes?.reason.StringValue).to.match(/No refresh token at .*refresh-token\/team_at_gmail.com/);
        expect(sent(RETRY_URL)[0].MessageAttributes?.account.StringValue).to.equal("team@gmail.com");
        expect(google.imports).to.have.length(0);
    });
});
