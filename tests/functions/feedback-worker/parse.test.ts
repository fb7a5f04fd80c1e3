import { expect } from "chai";
import * as fc from "fast-check";
import { InvalidInputError } from "../../../functions/shared/email";
import { FeedbackEvent, parseFeedbackMessage } from "../../../functions/feedback-worker/parse";
import * as ses from "../../fixtures/ses-feedback";
import * as engagement from "../../support/ses-engagement";

function parsed(message: unknown): FeedbackEvent {
    const result = parseFeedbackMessage(JSON.stringify(message));
    if (result.kind !== "event") {
        throw new Error(`expected an event, got ${result.reason}`);
    }
    return result.event;
}

function rejection(body: unknown): string {
    try {
        parseFeedbackMessage(body);
    } catch (error) {
        expect(error).to.be.instanceOf(InvalidInputError);
        return (error as Error).message;
    }
    throw new Error("expected a rejection");
}

describe("feedback parser", () => {
    for (const format of ["event", "notification"] as const) {
        for (const wrapped of [false, true]) {
            const wrap = (message: unknown) => (wrapped ? ses.sns(message) : message);
            describe(`${format === "event" ? "event publishing" : "identity notifications"}, ${wrapped ? "SNS-wrapped" : "raw"}`, () => {
                it("permanent bounce with several recipients", () => {
                    const event = parsed(wrap(ses.bounce(format, "Permanent", "General", [ses.hardRecipient("A@example.com"), ses.hardRecipient("b@example.com")])));
                    expect(event).to.deep.include({
                        type: "Bounce",
                        format: format === "event" ? "event-publishing" : "identity-notification",
                        messageId: "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
                        source: "sender@example.com",
                        from: "sender@example.com",
                        timestamp: "2017-08-05T00:41:02.669Z",
                        feedbackId: "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
                    });
                    expect(event.bounce).to.deep.equal({ bounceType: "Permanent", bounceSubType: "General", reportingMta: "dsn; mta.example.com" });
                    expect(event.recipients).to.deep.equal([
                        { email: "a@example.com", status: "5.1.1", action: "failed", diagnosticCode: "smtp; 550 5.1.1 user unknown" },
                        { email: "b@example.com", status: "5.1.1", action: "failed", diagnosticCode: "smtp; 550 5.1.1 user unknown" },
                    ]);
                    expect(Object.keys(event.tags).length > 0).to.equal(format === "event");
                });

                it("transient and undetermined bounces", () => {
                    expect(parsed(wrap(ses.bounce(format, "Transient", "MailboxFull", [ses.softRecipient("c@example.com"), ses.softRecipient("d@example.com")]))).bounce?.bounceType).to.equal("Transient");
                    expect(parsed(wrap(ses.bounce(format, "Undetermined", "Undetermined", [{ emailAddress: "e@example.com" }]))).recipients).to.deep.equal([{ email: "e@example.com" }]);
                });

                it("complaint with and without a feedback report", () => {
                    const withReport = parsed(wrap(ses.complaint(format, ["f@example.com"], { complaintFeedbackType: "abuse" })));
                    expect(withReport.complaint).to.deep.equal({ feedbackType: "abuse", subType: undefined, userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36" });
                    const without = parsed(wrap(ses.complaint(format, ["f@example.com", "g@example.com"], undefined)));
                    expect(without.complaint).to.deep.equal({ feedbackType: undefined, subType: undefined, userAgent: undefined });
                    expect(without.recipients.map((r) => r.email)).to.deep.equal(["f@example.com", "g@example.com"]);
                });

                it("delivery", () => {
                    const event = parsed(wrap(ses.delivery(format, ["h@example.com"])));
                    expect(event).to.deep.include({ type: "Delivery", timestamp: "2016-10-19T23:21:04.133Z" });
                    expect(event.delivery).to.deep.equal({ smtpResponse: "250 2.6.0 Message received", processingTimeMillis: 11893 });
                });
            });
        }
    }

    describe("event-publishing-only types", () => {
        it("send: every destination, the send time", () => {
            const event = parsed(ses.sns(ses.send(["i@example.com", "j@example.com"])));
            expect(event).to.deep.include({ type: "Send", timestamp: "2017-08-05T00:40:02.012Z" });
            expect(event.recipients).to.deep.equal([{ email: "i@example.com" }, { email: "j@example.com" }]);
        });

        it("reject, delivery delay and rendering failure", () => {
            expect(parsed(ses.reject(["k@example.com"])).reject).to.deep.equal({ reason: "Bad content" });
            const delay = parsed(ses.sns(ses.deliveryDelay(["l@example.com"])));
            expect(delay.delay).to.deep.equal({ delayType: "TransientCommunicationFailure", expirationTime: "2020-06-16T00:25:40.914Z" });
            expect(delay.recipients[0]).to.deep.include({ email: "l@example.com", status: "4.4.1" });
            const failure = parsed(ses.renderingFailure(["m@example.com"]));
            expect(failure.type).to.equal("RenderingFailure");
            expect(failure.failure).to.deep.equal({ errorMessage: "Attribute 'attributeName' is not present in the rendering data.", templateName: "MyTemplate" });
        });

        it("open, click and subscription (when a configuration set publishes them) are events, not errors", () => {
            const open = parsed(ses.sns(engagement.open({ destination: ["O@example.com"] })));
            expect(open).to.deep.include({ type: "Open", timestamp: "2017-08-09T22:00:19.652Z", occurrence: "2017-08-09T22:00:19.652Z", recipients: [{ email: "o@example.com" }] });
            expect(open.engagement).to.deep.include({ ipAddress: "192.0.2.1" });
            const click = parsed(engagement.click({ destination: ["a@example.com", "b@example.com"] }));
            expect(click).to.deep.include({ type: "Click", recipients: [] });
            expect(click.engagement?.link).to.equal("http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html");
            expect(click.occurrence).to.match(/^2017-08-09T23:51:25\.570Z#[\w-]{16}$/);
            const subscription = parsed(ses.sns(engagement.subscription()));
            expect(subscription).to.deep.include({ type: "Subscription", timestamp: "2022-01-12T01:00:14.340Z", recipients: [{ email: "recipient@example.com" }] });
            expect(subscription.subscription).to.deep.equal({ contactList: "ContactListName", source: "UnsubscribeHeader", unsubscribeAll: true });
        });

        it("reads the sender from the From header, and tags", () => {
            const event = parsed(ses.send(["n@example.com"], { from: "Billing <Billing@Example.com>", tags: { account: ["acme"] } }));
            expect(event.from).to.equal("billing@example.com");
            expect(event.tags).to.deep.equal({ account: ["acme"] });
        });
    });

    describe("what is ignored or rejected", () => {
        it("ignores SES's subscription test message, raw or wrapped", () => {
            expect(parseFeedbackMessage(JSON.stringify(ses.subscriptionSucceeded))).to.deep.equal({ kind: "ignored", reason: "SES subscription test notification" });
            expect(parseFeedbackMessage(JSON.stringify(ses.sns(ses.subscriptionSucceeded))).kind).to.equal("ignored");
        });

        const bad: [string, unknown, RegExp][] = [
            ["not JSON", "{oops", /not JSON/],
            ["a JSON array", "[1,2]", /not a JSON object/],
            ["no type", JSON.stringify({ mail: {} }), /neither eventType nor notificationType/],
            ["an unknown type", JSON.stringify({ eventType: "Teleport", mail: {} }), /Unsupported feedback type "Teleport"/],
            ["a click without its link", JSON.stringify({ ...engagement.click(), click: { timestamp: "2017-08-09T23:51:25.570Z" } }), /click object: link/],
            ["a bounce without recipients", JSON.stringify({ ...ses.bounce("event", "Permanent", "General", [ses.hardRecipient("x@example.com")]), bounce: { bounceType: "Permanent", bounceSubType: "General", bouncedRecipients: [], timestamp: "2017-08-05T00:41:02.669Z" } }), /bounce object: bouncedRecipients/],
            ["an unknown bounce type", JSON.stringify({ ...ses.bounce("event", "Permanent", "General", [ses.hardRecipient("x@example.com")]), bounce: { bounceType: "Sideways", bounceSubType: "General", bouncedRecipients: [ses.hardRecipient("x@example.com")], timestamp: "2017-08-05T00:41:02.669Z" } }), /bounceType/],
            ["a bad recipient address", JSON.stringify(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("not-an-address")])), /"not-an-address" is not a valid email address/],
            ["a bad timestamp", JSON.stringify(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("x@example.com")], {}, "yesterday")), /timestamp: not an ISO 8601 timestamp/],
            ["an SNS envelope around garbage", JSON.stringify({ Type: "Notification", Message: "<xml/>" }), /not JSON/],
        ];
        for (const [what, body, reason] of bad) {
            it(`rejects ${what} with the reason`, () => expect(rejection(body)).to.match(reason));
        }
    });

    describe("fuzzing (fast-check, fixed seed)", () => {
        const assertTyped = (body: unknown) => {
            try {
                const result = parseFeedbackMessage(body);
                expect(["event", "ignored"]).to.include(result.kind);
            } catch (error) {
                expect(error, String(error)).to.be.instanceOf(InvalidInputError);
                expect((error as Error).message).to.have.length.greaterThan(10);
            }
        };

        it("arbitrary JSON text never escapes as an untyped exception", () => {
            fc.assert(fc.property(fc.json(), (text) => assertTyped(text)), { seed: 20261122, numRuns: 2000 });
        });

        it("arbitrary values shaped like feedback never escape either", () => {
            const shaped = fc.record({
                eventType: fc.oneof(fc.constantFrom("Bounce", "Complaint", "Delivery", "Send", "Reject", "DeliveryDelay", "Rendering Failure", "Open", "Click", "Subscription"), fc.string()),
                mail: fc.oneof(fc.constant(ses.send(["x@example.com"]).mail), fc.object(), fc.anything()),
                bounce: fc.anything(),
                complaint: fc.anything(),
                delivery: fc.anything(),
                deliveryDelay: fc.anything(),
                open: fc.anything(),
                click: fc.anything(),
                subscription: fc.anything(),
            }, { requiredKeys: ["eventType"] });
            fc.assert(fc.property(shaped, fc.boolean(), (message, wrapped) => assertTyped(JSON.stringify(wrapped ? ses.sns(message) : message))), { seed: 20261122, numRuns: 2000 });
        });

        it("mutations of valid notifications are accepted or rejected with a reason", () => {
            const valid = ses.bounce("event", "Permanent", "General", [ses.hardRecipient("x@example.com")]) as Record<string, any>;
            const paths = [["bounce", "bounceType"], ["bounce", "bouncedRecipients"], ["bounce", "timestamp"], ["mail", "messageId"], ["mail", "source"], ["mail", "destination"], ["mail", "commonHeaders"], ["mail", "tags"]];
            fc.assert(fc.property(fc.constantFrom(...paths), fc.jsonValue(), ([outer, inner], value) => {
                const copy = structuredClone(valid);
                copy[outer][inner] = value;
                assertTyped(JSON.stringify(copy));
            }), { seed: 20261122, numRuns: 2000 });
        });
    });
});
