import { SendBounceCommand, SESClient } from "@aws-sdk/client-ses";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { BounceRequest, noBounceReason, recipientsByDomain } from "../../../functions/bouncer/logic";
import { decide, DEFAULT_ROUTER_SETTINGS } from "../../../functions/router/decide";
import { parseReceiptNotification } from "../../../functions/router/notification";
import { captureOutput, emittedMetrics } from "../../support/output";
import { sqsEvent } from "../../fixtures/ses-feedback";
import { ReceiptOptions, receiptNotification } from "../../fixtures/ses-receipt";

const NOW = Date.parse("2015-09-11T21:00:00.000Z");
const OWN = ["mailer-daemon@example.com"];

/** A bounce decision exactly as the router emits it for `*@example.com → bounce`. */
function bounceDetail(options: ReceiptOptions = {}) {
    const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ recipients: ["nobody@example.com"], timestamp: "2015-09-11T20:32:33.936Z", ...options })));
    const [detail] = decide(mail, new Map([["*@example.com", { pattern: "*@example.com", action: "bounce", enabled: true, labels: [] }]]), DEFAULT_ROUTER_SETTINGS);
    return detail;
}
const asRequest = (options: ReceiptOptions = {}) => bounceDetail(options) as unknown as BounceRequest;

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
            expect(bounceDetail({ virus: "FAIL" }).action).to.equal("drop");
        });
    });

    it("groups recipients by domain (one bounce sender per domain)", () => {
        expect([...recipientsByDomain(["a@x.com", "b@y.com", "c@X.com"])]).to.deep.equal([["x.com", ["a@x.com", "c@X.com"]], ["y.com", ["b@y.com"]]]);
    });

    describe("handler", () => {
        let ses: AwsClientStub<SESClient>;
        let dynamo: AwsClientStub<DynamoDBDocumentClient>;
        let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
        const saved = { ...process.env };
        const context = { functionName: "ses-mail-bouncer-test", awsRequestId: "r", getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
        const event = (options: ReceiptOptions = {}) => sqsEvent({ version: "0", "detail-type": "Email Routing Decision", source: "ses-mail.router", detail: bounceDetail({ timestamp: new Date().toISOString(), ...options }) });

        before(async () => {
            ses = mockClient(SESClient);
            dynamo = mockClient(DynamoDBDocumentClient);
            Object.assign(process.env, { SUPPRESSION_TABLE_NAME: "ses-email-suppression-list", DOMAINS: "example.com", BOUNCE_MIN_INTERVAL_MS: "200", POWERTOOLS_SERVICE_NAME: "bouncer" });
            ({ handler } = await import("../../../functions/bouncer/handler"));
        });
        after(() => {
            ses.restore();
            dynamo.restore();
            process.env = saved;
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
                OriginalMessageId: "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1",
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

        it("paces SendBounce calls (at most one per interval)", async () => {
            const batch = sqsEvent(...[0, 1, 2].map((i) => ({ detail: { ...bounceDetail({ timestamp: new Date().toISOString() }), messageId: `m${i}` } })));
            const started = Date.now();
            await captureOutput(() => handler(batch, context));
            expect(ses.commandCalls(SendBounceCommand)).to.have.length(3);
            expect(Date.now() - started).to.be.at.least(2 * 200);
        });
    });
});
