import { Readable } from "node:stream";
import { GetObjectCommand, NoSuchKey, S3Client } from "@aws-sdk/client-s3";
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { MailIngest } from "../../../components/mail-ingest";
import { SuppressionStore } from "../../../components/suppression-store";
import { decide, DEFAULT_ROUTER_SETTINGS } from "../../../functions/router/decide";
import { parseReceiptNotification } from "../../../functions/router/notification";
import { RouteRule } from "../../../functions/router/rules";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { FakeGoogle, startFakeGoogle } from "../../support/fake-google";
import { runUnderMocks } from "../../support/mocks";
import { captureOutput, emittedMetrics, metricPoints } from "../../support/output";
import { sqsRecord } from "../../fixtures/ses-feedback";
import { receiptNotification } from "../../fixtures/ses-receipt";

const RETRY_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/ses-mail-gmail-forwarder-retry-test";
const DLQ_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/ses-mail-gmail-forwarder-dlq-test";
const RAW_MAIL = "From: Jane Doe <sender@example.net>\r\nTo: support@example.com\r\nSubject: Test Subject\r\nDate: Fri, 11 Sep 2015 20:32:32 +0000\r\n\r\nHello from the test.\r\n";
const context = { functionName: "ses-mail-gmail-forwarder-test", awsRequestId: "req-1", getRemainingTimeInMillis: () => 120_000 } as unknown as Context;

/** The EventBridge event SQS delivers: a real routing decision as the router makes it. */
function routingEvent(messageId: string, target = "team@gmail.com") {
    const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ messageId, recipients: ["support@example.com"] })));
    const rule: RouteRule = { pattern: "support@example.com", action: "forward-to-gmail", target, enabled: true, labels: ["Label_7"] };
    const [detail] = decide(mail, new Map([[rule.pattern, rule]]), DEFAULT_ROUTER_SETTINGS);
    return {
        version: "0", id: `evt-${messageId}`, "detail-type": "Email Routing Decision", source: "ses-mail.router",
        account: "123456789012", time: "2015-09-11T20:32:34Z", region: "us-east-1", resources: [], detail,
    };
}

function delivery(body: unknown, receiveCount = 1): SQSEvent {
    const record = sqsRecord(body);
    record.attributes.ApproximateReceiveCount = String(receiveCount);
    record.eventSourceARN = "arn:aws:sqs:us-east-1:123456789012:ses-mail-gmail-forwarder-test";
    return { Records: [record] };
}

describe("gmail-forwarder handler (fake Gmail + OAuth on loopback, dynalite idempotency)", () => {
    let google: FakeGoogle;
    let local: LocalDynamo;
    let s3: AwsClientStub<S3Client>;
    let sqs: AwsClientStub<SQSClient>;
    let ssm: AwsClientStub<SSMClient>;
    let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    const saved = { ...process.env };

    async function run(event: SQSEvent) {
        const { result, lines } = await captureOutput(() => handler(event, context));
        return { result, metrics: emittedMetrics(lines), points: metricPoints(lines), logs: lines.filter((l): l is Record<string, any> => typeof l === "object" && l !== null && "level" in l) };
    }
    const sent = (queueUrl: string) => sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input).filter((i) => i.QueueUrl === queueUrl);

    before(async () => {
        google = await startFakeGoogle();
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new MailIngest("ingest", { env: "test", domains: ["example.com"], gmailAccounts: ["team@gmail.com"], suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "ingest-idempotency"));
        Object.assign(process.env, plan.one("aws:lambda/function:Function", "ingest-forwarder").inputs.environment.variables, {
            RETRY_QUEUE_URL: RETRY_URL, DLQ_URL,
            MAX_IMPORT_BYTES: "5000",
            CREDENTIAL_CACHE_SECONDS: "0",
            GMAIL_API_ROOT_URL: google.apiRootUrl, OAUTH_TOKEN_URL: google.tokenUrl,
            AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local",
        });
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
        sqs.on(ChangeMessageVisibilityCommand).resolves({});
        ssm.on(GetParameterCommand, { Name: "/ses-mail/test/gmail-forwarder/oauth/client-credentials" }).resolves({ Parameter: { Value: JSON.stringify({ installed: { client_id: "cid.apps.googleusercontent.com", client_secret: "csecret" } }) } });
        ssm.on(GetParameterCommand, { Name: "/ses-mail/test/gmail-forwarder/oauth/refresh-token/team_at_gmail.com" }).resolves({ Parameter: { Value: JSON.stringify({ refresh_token: "1//refresh-team", expires_at_epoch: 1900000000 }) } });
        s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([Buffer.from(RAW_MAIL)]), ContentLength: Buffer.byteLength(RAW_MAIL) }));
    });

    it("200: streams the mail from S3 as a media upload with INBOX, UNREAD and the rule's labels", async () => {
        const { result, metrics, logs } = await run(delivery(routingEvent("m-200")));
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(google.imports).to.have.length(1);
        const call = google.imports[0];
        expect(call.query.get("uploadType")).to.equal("multipart");
        expect(call.query.get("internalDateSource")).to.equal("dateHeader");
        expect(call.authorization).to.match(/^Bearer ya29\.fake-/);
        expect(call.body).to.include("message/rfc822").and.include("Hello from the test.");
        expect(JSON.parse(/\{"labelIds".*?\}/.exec(call.body)![0]).labelIds).to.deep.equal(["INBOX", "UNREAD", "Label_7"]);
        expect(google.tokenRequests.at(-1)?.get("refresh_token")).to.equal("1//refresh-team");
        expect(s3.commandCalls(GetObjectCommand)[0].args[0].input).to.deep.equal({ Bucket: "ses-mail-email-test", Key: "inbound/m-200" });
        expect(metrics).to.deep.equal({ GmailForwardSuccess: 1 });
        expect(logs.find((l) => l.message === "Imported into Gmail")).to.deep.include({ messageId: "m-200", target: "team@gmail.com", gmailMessageId: "gmail-1" });
    });

    it("the same message delivered twice is imported once", async () => {
        const event = routingEvent("m-dup");
        await run(delivery(event));
        const second = await run(delivery(event));
        expect(second.result.batchItemFailures).to.deep.equal([]);
        expect(google.imports).to.have.length(1);
    });

    it("401 from Gmail parks the message in the retry queue and succeeds the original", async () => {
        google.gmailScript.push(401);
        const event = routingEvent("m-401");
        const { result, metrics } = await run(delivery(event));
        expect(result.batchItemFailures).to.deep.equal([]);
        const [parked] = sent(RETRY_URL);
        expect(JSON.parse(parked.MessageBody!)).to.deep.equal(JSON.parse(JSON.stringify(event)));
        expect(parked.MessageAttributes?.reason.StringValue).to.match(/^Gmail token invalid or expired/);
        expect(metrics).to.deep.equal({ GmailTokenError: 1, TokenValid: 0 });
    });

    it("invalid_grant from the token endpoint (expired or revoked token) parks too", async () => {
        google.tokenBehaviour = "invalid_grant";
        const { metrics, points } = await run(delivery(routingEvent("m-grant")));
        expect(sent(RETRY_URL)).to.have.length(1);
        expect(sent(RETRY_URL)[0].MessageAttributes?.reason.StringValue).to.include("invalid_grant");
        expect(metrics).to.deep.equal({ GmailTokenError: 1, TokenValid: 0 });
        // Exactly the token monitor's alarm dimensions: the account, and no service.
        expect(points.filter((p) => p.name === "TokenValid")).to.deep.equal([{ name: "TokenValid", value: 0, dimensions: { account: "team@gmail.com" } }]);
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

    it("500 on the last attempt fails the record so SQS moves it to the DLQ", async () => {
        google.gmailScript.push(500);
        const { result, metrics, logs } = await run(delivery(routingEvent("m-500"), 5));
        expect(result.batchItemFailures).to.have.length(1);
        expect(sqs.commandCalls(ChangeMessageVisibilityCommand)).to.have.length(0);
        expect(metrics).to.deep.equal({ GmailForwardFailure: 1 });
        expect(logs.find((l) => l.level === "ERROR")?.reason).to.match(/Gmail API 500: Backend Error/);
    });

    it("other 4xx go to the DLQ with the reason at once", async () => {
        google.gmailScript.push(403);
        const { result } = await run(delivery(routingEvent("m-403")));
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(sent(DLQ_URL)[0].MessageAttributes?.reason.StringValue).to.equal("Gmail API 403: Insufficient Permission");
    });

    it("a mail over the import limit becomes a notice with its S3 location", async () => {
        s3.on(GetObjectCommand).callsFake(() => ({ Body: Readable.from([Buffer.alloc(10_000, "x")]), ContentLength: 10_000 }));
        const { metrics } = await run(delivery(routingEvent("m-big")));
        expect(google.imports).to.have.length(1);
        expect(google.imports[0].body).to.include("[Too large to import] Test Subject").and.include("s3://ses-mail-email-test/inbound/m-big").and.not.include("xxxxxxxxxx");
        expect(metrics).to.deep.equal({ GmailForwardSuccess: 1, OversizeNotice: 1 });
    });

    it("a missing S3 object goes to the DLQ with the reason", async () => {
        s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: "The specified key does not exist.", $metadata: { httpStatusCode: 404 } }));
        await run(delivery(routingEvent("m-gone")));
        expect(sent(DLQ_URL)[0].MessageAttributes?.reason.StringValue).to.match(/^S3 object missing/);
        expect(google.imports).to.have.length(0);
    });

    it("never imports into an account that is not configured; a missing token parks", async () => {
        await run(delivery(routingEvent("m-other", "someone-else@gmail.com")));
        expect(sent(DLQ_URL)[0].MessageAttributes?.reason.StringValue).to.match(/No Gmail account "someone-else@gmail.com" is configured/);
        ssm.on(GetParameterCommand, { Name: "/ses-mail/test/gmail-forwarder/oauth/refresh-token/team_at_gmail.com" }).rejects(new ParameterNotFound({ message: "not found", $metadata: {} }));
        await run(delivery(routingEvent("m-notoken")));
        expect(sent(RETRY_URL)[0].MessageAttributes?.reason.StringValue).to.match(/No refresh token at .*refresh-token\/team_at_gmail.com/);
        expect(google.imports).to.have.length(0);
    });
});
