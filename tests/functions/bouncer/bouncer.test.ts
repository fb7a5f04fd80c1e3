import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { SendBounceCommand, SESClient } from "@aws-sdk/client-ses";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { noBounceReason, parseBounceRequest, recipientsByDomain } from "../../../functions/bouncer/logic";
import { hashAddress } from "../../../functions/shared/logging";
import { bundleFunction } from "../../../components/bundle";
import { MailIngest } from "../../../components/mail-ingest";
import { IDEMPOTENCY_ACTIONS } from "../../../components/iam";
import { SuppressionStore } from "../../../components/suppression-store";
import { DEFAULT_ROUTER_SETTINGS, routingEvent } from "../../../functions/router/decide";
import { parseReceiptNotification } from "../../../functions/router/notification";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { simulate } from "../../support/iam-simulator";
import { MOCK_ACCOUNT, ResourcePlan, runUnderMocks } from "../../support/mocks";
import { captureOutput, emittedMetrics } from "../../support/output";
import { VirtualClock } from "../../support/sim/clock";
import { LogLine, SimFunction } from "../../support/sim/lambda";
import { sqsEvent } from "../../fixtures/ses-feedback";
import { ReceiptOptions, receiptNotification } from "../../fixtures/ses-receipt";

const NOW = Date.parse("2015-09-11T21:00:00.000Z");
const OWN = ["mailer-daemon@example.com"];

/** The routing event exactly as the router emits it for `*@example.com → bounce`. */
function bounceDetail(options: ReceiptOptions = {}) {
    const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ recipients: ["nobody@example.com"], timestamp: "2015-09-11T20:32:33.936Z", ...options })));
    return routingEvent(mail, new Map([["*@example.com", { pattern: "*@example.com", action: "bounce", enabled: true, labels: [] }]]), DEFAULT_ROUTER_SETTINGS);
}
/** The request the bouncer would read, even where the router would not decide bounce (e.g. spam). */
const asRequest = (options: ReceiptOptions = {}) => {
    const detail = bounceDetail(options);
    return parseBounceRequest(JSON.stringify({ detail: { ...detail, decisions: [{ action: "bounce", recipients: detail.recipients, reason: "rule:*@example.com", labels: [] }] } }));
};

/** What IAM decides for the bouncer role's request, by an IAM policy simulator. */
const decide = (policy: object, action: string, resource: string, context?: Record<string, string | string[]>) =>
    simulate({ identity: [policy] }, { principal: `arn:aws:iam::${MOCK_ACCOUNT}:role/ses-mail-bouncer-fn-test`, action, resource, context });

describe("bouncer", () => {
    describe("never bounces backscatter", () => {
        const cases: [string, ReceiptOptions, string | undefined][] = [
            ["a normal, authenticated message is bounced", {}, undefined],
            ["empty envelope sender", { source: "<>" }, "null-sender"],
            ["spam verdict FAIL", { spam: "FAIL", virus: "PASS" }, "spam-or-virus"],
            ["neither SPF nor DKIM passed", { spf: "FAIL", dkim: "GRAY" }, "unauthenticated-sender"],
            ["SPF alone is enough", { spf: "PASS", dkim: "FAIL" }, undefined],
            ["Auto-Submitted present and not no", { extraHeaders: [{ name: "Auto-Submitted", value: "auto-replied" }] }, "auto-submitted"],
            ["Auto-Submitted: no is a person", { extraHeaders: [{ name: "Auto-Submitted", value: "no" }] }, undefined],
            ["Precedence: bulk", { extraHeaders: [{ name: "Precedence", value: "bulk" }] }, "bulk-precedence"],
            ["Precedence: list", { extraHeaders: [{ name: "Precedence", value: "List" }] }, "bulk-precedence"],
            ["Precedence: junk", { extraHeaders: [{ name: "Precedence", value: "junk" }] }, "bulk-precedence"],
            ["List-Id present", { extraHeaders: [{ name: "List-Id", value: "<news.example.net>" }] }, "mailing-list"],
            ["our own mailer-daemon", { source: "MAILER-DAEMON@example.com" }, "own-mailer-daemon"],
            ["older than SES's 24-hour window", { timestamp: "2015-09-10T20:00:00.000Z" }, "outside-24h-window"],
        ];
        for (const [title, options, expected] of cases) {
            it(title, () => expect(noBounceReason(asRequest(options), OWN, NOW)).to.equal(expected));
        }
        // A virus FAIL never reaches the bouncer: the router drops it (see routing decisions).
        it("virus FAIL is dropped by the router before any bounce decision", () => {
            expect(bounceDetail({ virus: "FAIL" }).decisions.map((d) => d.action)).to.deep.equal(["drop"]);
        });

        it("takes only the bounce decisions of a mail that is also forwarded", () => {
            const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ recipients: ["nobody@example.com", "support@example.com"] })));
            const detail = routingEvent(mail, new Map([
                ["*@example.com", { pattern: "*@example.com", action: "bounce", enabled: true, labels: [] }],
                ["support@example.com", { pattern: "support@example.com", action: "forward-to-gmail", target: "me@gmail.com", enabled: true, labels: [] }],
            ]), DEFAULT_ROUTER_SETTINGS);
            expect(parseBounceRequest(JSON.stringify({ detail })).recipients).to.deep.equal(["nobody@example.com"]);
        });
    });

    it("groups recipients by domain (one bounce sender per domain)", () => {
        expect([...recipientsByDomain(["a@x.com", "b@y.com", "c@X.com"])]).to.deep.equal([["x.com", ["a@x.com", "c@X.com"]], ["y.com", ["b@y.com"]]]);
    });

    describe("handler", () => {
        let ses: AwsClientStub<SESClient>;
        let dynamo: AwsClientStub<DynamoDBDocumentClient>;
        let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
        let local: LocalDynamo;
        let plan: ResourcePlan;
        const saved = { ...process.env };
        const context = { functionName: "ses-mail-bouncer-test", awsRequestId: "r", getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
        let counter = 0;
        const event = (options: ReceiptOptions = {}) => sqsEvent({ version: "0", "detail-type": "Email Routing Decision", source: "ses-mail.router", detail: { ...bounceDetail({ timestamp: new Date().toISOString(), ...options }), messageId: `m-${++counter}` } });

        before(async () => {
            // The synthesized environment, with a short pacing interval; idempotency in dynalite.
            local = await startDynalite();
            ({ plan } = await runUnderMocks(() => new MailIngest("ingest", { env: "test", domains: ["example.com"], suppressionStore: new SuppressionStore("s", { env: "test" }) })));
            await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "ingest-idempotency"));
            ses = mockClient(SESClient);
            dynamo = mockClient(DynamoDBDocumentClient);
            const fn = plan.one("aws:lambda/function:Function", "ingest-bouncer").inputs;
            Object.assign(process.env, fn.environment.variables, {
                // Set by the Lambda runtime: Powertools Idempotency prefixes its keys with it.
                AWS_LAMBDA_FUNCTION_NAME: fn.name,
                BOUNCE_MIN_INTERVAL_MS: "200", POWERTOOLS_SERVICE_NAME: "bouncer",
                AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local",
            });
            ({ handler } = await import("../../../functions/bouncer/handler"));
        });
        after(async () => {
            ses.restore();
            dynamo.restore();
            process.env = saved;
            await local.close();
        });
        beforeEach(() => {
            ses.reset();
            dynamo.reset();
            ses.on(SendBounceCommand).resolves({ MessageId: "bounce-1" });
            dynamo.on(QueryCommand).resolves({ Items: [] });
        });

        it("sends a DoesNotExist DSN from MAILER-DAEMON@<domain> to the envelope sender's message", async () => {
            const { result, lines } = await captureOutput(() => handler(event(), context));
            expect(result.batchItemFailures).to.deep.equal([]);
            const [call] = ses.commandCalls(SendBounceCommand).map((c) => c.args[0].input);
            expect(call).to.deep.include({
                OriginalMessageId: `m-${counter}`,
                BounceSender: "MAILER-DAEMON@example.com",
                BouncedRecipientInfoList: [{ Recipient: "nobody@example.com", BounceType: "DoesNotExist" }],
            });
            expect(call.MessageDsn?.ReportingMta).to.equal("dns; example.com");
            expect(emittedMetrics(lines)).to.deep.equal({ BounceSent: 1 });
        });

        it("does not bounce to a suppressed sender; counts it with the reason", async () => {
            dynamo.on(QueryCommand).resolves({ Items: [{ email: "sender@example.net", reason: "complaint", added_at: 1 }] });
            const { lines } = await captureOutput(() => handler(event(), context));
            expect(ses.commandCalls(SendBounceCommand)).to.have.length(0);
            expect(emittedMetrics(lines)).to.deep.equal({ BounceSuppressed: 1 });
            expect(lines.find((l: any) => l.level === "INFO" && l.reason === "sender-suppressed")).to.deep.include({ action: "bounce-suppressed", source: "sender@example.net" });
        });

        it("does not bounce backscatter candidates, and checks no suppression for them", async () => {
            await captureOutput(() => handler(event({ source: "<>" }), context));
            expect(ses.commandCalls(SendBounceCommand)).to.have.length(0);
            expect(dynamo.commandCalls(QueryCommand)).to.have.length(0);
        });

        it("the same event delivered twice (SQS is at-least-once) bounces once", async () => {
            const twice = event();
            await captureOutput(() => handler(twice, context));
            const second = await captureOutput(() => handler(twice, context));
            expect(second.result.batchItemFailures).to.deep.equal([]);
            expect(ses.commandCalls(SendBounceCommand)).to.have.length(1);
        });

        it("a throttled SendBounce waits its turn and is sent in the same invocation", async () => {
            ses.on(SendBounceCommand).rejectsOnce(Object.assign(new Error("Rate exceeded"), { name: "Throttling", $metadata: { httpStatusCode: 400 } })).resolves({ MessageId: "b" });
            const { result } = await captureOutput(() => handler(event(), context));
            expect(result.batchItemFailures).to.deep.equal([]);
            expect(ses.commandCalls(SendBounceCommand)).to.have.length(2);
        });

        it("a failed SendBounce is retried by SQS and then sent once", async () => {
            ses.on(SendBounceCommand).rejectsOnce(Object.assign(new Error("Service unavailable"), { name: "ServiceUnavailable", $metadata: { httpStatusCode: 503 } })).resolves({ MessageId: "b" });
            const once = event();
            const first = await captureOutput(() => handler(once, context));
            expect(first.result.batchItemFailures).to.have.length(1);
            const again = await captureOutput(() => handler(once, context));
            expect(again.result.batchItemFailures).to.deep.equal([]);
            expect(ses.commandCalls(SendBounceCommand)).to.have.length(2);
        });

        it("its role reaches exactly the idempotency records it writes, and none of the forwarder's (IAM policy simulator)", async () => {
            await captureOutput(() => handler(event(), context));
            const policy = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "ingest-bouncer-policy"), "policy");
            const table = `arn:aws:dynamodb:us-east-1:${MOCK_ACCOUNT}:table/${process.env.IDEMPOTENCY_TABLE_NAME}`;
            const { Items = [] } = await local.client.send(new ScanCommand({ TableName: process.env.IDEMPOTENCY_TABLE_NAME }));
            const keys = Items.map((item) => item.id.S!);
            expect(keys).to.not.deep.equal([]);
            // Powertools' GetItem, PutItem, UpdateItem and DeleteItem all address a record by this key.
            for (const key of keys) {
                expect(key.startsWith("ses-mail-bouncer-test#")).to.equal(true);
                for (const action of IDEMPOTENCY_ACTIONS) {
                    expect(await decide(policy, action, table, { "dynamodb:LeadingKeys": [key] }), `${action} ${key}`).to.equal("Allowed");
                    const forwarders = key.replace("ses-mail-bouncer-test#", "ses-mail-gmail-forwarder-test#");
                    expect(await decide(policy, action, table, { "dynamodb:LeadingKeys": [forwarders] }), `${action} ${forwarders}`).to.equal("ImplicitlyDenied");
                }
            }
            const suppressions = `arn:aws:dynamodb:us-east-1:${MOCK_ACCOUNT}:table/ses-email-suppression-list`;
            expect(await decide(policy, "dynamodb:Query", suppressions)).to.equal("Allowed");
            expect(await decide(policy, "dynamodb:GetItem", suppressions)).to.equal("ImplicitlyDenied");
            expect(await decide(policy, "dynamodb:Query", `${suppressions}/index/reason-index`)).to.equal("ImplicitlyDenied");
            expect(await decide(policy, "dynamodb:Scan", table)).to.equal("ImplicitlyDenied");
        });

        it("LOG_ADDRESSES=hashed (the bundle as deployed): sender and recipients are hashed in every log line", async () => {
            const fn = plan.one("aws:lambda/function:Function", "ingest-bouncer").inputs;
            const lines: LogLine[] = [];
            const sim = new SimFunction({
                logicalName: "bouncer", name: fn.name, arn: `arn:aws:lambda:us-east-1:${MOCK_ACCOUNT}:function:${fn.name}`, timeoutSeconds: 60, memorySize: 256,
                environment: { ...fn.environment.variables, BOUNCE_MIN_INTERVAL_MS: "200" }, code: bundleFunction("bouncer").code,
            }, { clock: new VirtualClock(), region: "us-east-1", envOverrides: { LOG_ADDRESSES: "hashed", LOG_ADDRESS_SALT: "salt" }, onLog: (_fn, line) => lines.push(line) });
            dynamo.on(QueryCommand).resolvesOnce({ Items: [] }).resolves({ Items: [{ email: "sender@example.net", reason: "complaint", added_at: 1 }] });
            expect(await sim.invoke(event())).to.deep.equal({ kind: "ok", value: { batchItemFailures: [] } });
            expect(await sim.invoke(event())).to.deep.equal({ kind: "ok", value: { batchItemFailures: [] } });
            const logs = lines.filter((l): l is Record<string, any> => typeof l === "object" && "level" in l);
            const hashed = { source: hashAddress("sender@example.net", "salt"), recipient: hashAddress("nobody@example.com", "salt") };
            expect(logs.find((l) => l.action === "bounce")).to.deep.include({ ...hashed, bounceSender: "MAILER-DAEMON@example.com" });
            expect(logs.find((l) => l.action === "bounce-suppressed")).to.deep.include({ ...hashed, reason: "sender-suppressed" });
            expect(JSON.stringify(logs)).to.not.include("sender@example.net").and.not.include("nobody@example.com");
        });

        it("paces SendBounce calls (at most one per interval)", async () => {
            const batch = sqsEvent(...[0, 1, 2].map((i) => ({ detail: { ...bounceDetail({ timestamp: new Date().toISOString() }), messageId: `paced-${i}` } })));
            const started = Date.now();
            await captureOutput(() => handler(batch, context));
            expect(ses.commandCalls(SendBounceCommand)).to.have.length(3);
            expect(Date.now() - started).to.be.at.least(2 * 200);
        });
    });
});
