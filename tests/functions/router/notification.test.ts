import { expect } from "chai";
import * as fc from "fast-check";
import { DEFAULT_ROUTER_SETTINGS } from "../../../functions/router/decide";
import { normaliseAddress, parseReceiptNotification } from "../../../functions/router/notification";
import { route } from "../../../functions/router/route";
import type { InvalidRoutingEvent, RouterOutput, RoutingEvent } from "../../../functions/shared/routing-event";
import { pipeBatch, receiptNotification } from "../../fixtures/ses-receipt";
import { sqsRecord } from "../../fixtures/ses-feedback";
import { address, BREAKAGES, memoryRules, readableAfter, receiptBody, sender } from "./arbitraries";

const quiet = { log: () => undefined, error: () => undefined, metric: () => undefined };
const isInvalid = (o: RouterOutput): o is InvalidRoutingEvent => o.decisions[0]?.action === "invalid";
const domainOf = (a: string) => a.slice(a.lastIndexOf("@") + 1);
const options = { seed: 20261122, numRuns: 300 };

describe("receipt notification: every address SES accepted routes", () => {
    const shapes: [string, string, string][] = [
        ["VERP", "bounces+12345-abcd-user=example.com@SendGrid.NET", "bounces+12345-abcd-user=example.com@sendgrid.net"],
        ["SRS", "SRS0=HHH=TT=example.com=user@Forwarder.org", "SRS0=HHH=TT=example.com=user@forwarder.org"],
        ["BATV", "prvs=1234abcd=User@Example.com", "prvs=1234abcd=User@example.com"],
        ["quoted local part", '"john doe"@example.com', '"john doe"@example.com'],
        ["quoted local part with @", '"a@b"@EXAMPLE.com', '"a@b"@example.com'],
        ["wrapped and padded", "  <Jane.Doe@Example.COM> ", "Jane.Doe@example.com"],
        ["null sender <>", "<>", ""],
        ["empty null sender", "", ""],
        ["no domain (postmaster)", "<Postmaster>", "Postmaster"],
    ];
    for (const [title, written, expected] of shapes) {
        it(`${title}: ${JSON.stringify(written)} → ${JSON.stringify(expected)}`, () => {
            expect(normaliseAddress(written)).to.equal(expected);
            const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ source: written, recipients: ["x@example.com", ...(expected ? [written] : [])] })));
            expect(mail.recipients).to.deep.equal(["x@example.com", ...(expected ? [expected] : [])]);
            expect(mail.source).to.equal(expected);
        });
    }

    it("keeps recipients as delivered (domain lowercased), once each", () => {
        const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ recipients: ["Support@Example.COM", "support@example.com", "Support@example.com", "<a+Tag@EXAMPLE.com>"] })));
        expect(mail.recipients).to.deep.equal(["Support@example.com", "support@example.com", "a+Tag@example.com"]);
    });

    it("property: generated senders and recipients always route; domains come out lowercased", async () => {
        const rules = memoryRules([{ pattern: "*", action: "store", enabled: true, labels: [] }]);
        await fc.assert(fc.asyncProperty(sender, fc.array(address, { minLength: 1, maxLength: 6 }), async (from, to) => {
            const body = JSON.stringify(receiptNotification({ source: from.written, recipients: to.map((r) => r.written) }));
            const [out] = await route(pipeBatch(JSON.parse(body)), rules, DEFAULT_ROUTER_SETTINGS, quiet);
            expect(isInvalid(out), isInvalid(out) ? out.reason : "").to.equal(false);
            const event = out as RoutingEvent;
            expect(event.source).to.equal(from.expected);
            expect(event.recipients).to.deep.equal([...new Set(to.map((r) => r.expected))]);
            for (const recipient of event.recipients) expect(domainOf(recipient)).to.equal(domainOf(recipient).toLowerCase());
            expect(event.decisions.flatMap((d) => d.recipients).sort()).to.deep.equal([...event.recipients].sort());
        }), options);
    });

    it("property: a notification is invalid exactly when its structure is broken; the invalid event keeps what was readable", async () => {
        const rules = memoryRules([]);
        await fc.assert(fc.asyncProperty(sender, fc.array(address, { minLength: 1, maxLength: 4 }), fc.constantFrom(...BREAKAGES), fc.double({ min: 0, max: 0.99, noNaN: true }), fc.stringMatching(/^[a-z0-9]{20,40}$/),
            async (from, to, breakage, cut, messageId) => {
                const body = receiptBody({ messageId, source: from.written, recipients: to.map((r) => r.written) }, breakage, cut);
                const record = sqsRecord(body);
                const [out] = await route([record], rules, DEFAULT_ROUTER_SETTINGS, quiet);
                expect(isInvalid(out), `${breakage}: ${isInvalid(out) ? out.reason : "routed"}`).to.equal(breakage !== "none");
                if (!isInvalid(out)) return;
                const readable = readableAfter(breakage);
                expect(out).to.deep.include({ sqsMessageId: record.messageId, body, bodyTruncated: false });
                expect(out.messageId).to.equal(readable.messageId ? messageId : undefined);
                expect(out.s3).to.deep.equal(readable.s3 ? { bucket: "ses-mail-email-test", key: `inbound/${messageId}` } : undefined);
                expect(out.decisions).to.deep.equal([{ action: "invalid", recipients: [], reason: out.reason, labels: [] }]);
            }), options);
    });

    const broken: [string, Parameters<typeof receiptBody>[1], RegExp][] = [
        ["no S3 action", "no-s3-action", /^Invalid SES receipt notification: receipt\.action: missing \(expected object\)$/],
        ["an SNS action (no S3 object)", "sns-action", /receipt\.action\.type: expected "S3", got "SNS"; receipt\.action\.bucketName: missing/],
        ["no bucket", "no-bucket", /: receipt\.action\.bucketName: missing \(expected string\)$/],
        ["no object key", "no-key", /: receipt\.action\.objectKey: missing \(expected string\)$/],
        ["no recipients", "no-recipients", /: receipt\.recipients: empty list$/],
        ["no messageId", "no-message-id", /: mail\.messageId: missing \(expected string\)$/],
        ["not a Received notification", "not-received", /: notificationType: expected "Received", got "Bounce"$/],
        ["not JSON", "not-json", /not JSON/],
        ["an SNS message that is not a notification", "sns-not-notification", /^SNS SubscriptionConfirmation message carries no SES receipt notification$/],
    ];
    for (const [title, breakage, reason] of broken) {
        it(`invalid: ${title}, with the reason`, () => {
            expect(() => parseReceiptNotification(receiptBody({}, breakage))).to.throw(reason);
        });
    }
});
