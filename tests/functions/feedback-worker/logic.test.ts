import { expect } from "chai";
import { DEFAULT_FEEDBACK_SETTINGS, planFeedback, senderOf, stateForComplaints } from "../../../functions/feedback-worker/logic";
import { FeedbackEvent, parseFeedbackMessage } from "../../../functions/feedback-worker/parse";
import * as ses from "../../fixtures/ses-feedback";

const event = (message: unknown): FeedbackEvent => {
    const result = parseFeedbackMessage(JSON.stringify(message));
    if (result.kind !== "event") throw new Error(result.reason);
    return result.event;
};
const metricNames = (message: unknown) => planFeedback(event(message), DEFAULT_FEEDBACK_SETTINGS).records.flatMap((r) => r.metrics.map((m) => m.name));

describe("feedback plan", () => {
    it("a permanent bounce suppresses every bounced recipient with its diagnostic", () => {
        const plan = planFeedback(event(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("a@example.com"), ses.hardRecipient("b@example.com")])), DEFAULT_FEEDBACK_SETTINGS);
        expect(plan.suppressions).to.deep.equal(["a@example.com", "b@example.com"].map((email) => ({
            email, reason: "bounce", bounceType: "Permanent", bounceSubType: "General",
            details: "Permanent/General; 5.1.1; smtp; 550 5.1.1 user unknown",
            sourceMessageId: "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        })));
        expect(plan.transientRecipients).to.deep.equal([]);
        expect(plan.records.map((r) => [r.record.pk, r.record.sk, r.record.type_day, r.record.counted])).to.deep.equal([
            ["Bounce#EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000", "a@example.com", "Bounce#2017-08-05", true],
            ["Bounce#EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000", "b@example.com", "Bounce#2017-08-05", true],
        ]);
        expect(plan.records[0].record.expires_at).to.equal(Math.floor(Date.parse("2017-08-05T00:41:02.669Z") / 1000) + 90 * 86400);
    });

    it("a transient bounce only asks for a count; never a permanent suppression", () => {
        const plan = planFeedback(event(ses.bounce("event", "Transient", "MailboxFull", [ses.softRecipient("c@example.com")])), DEFAULT_FEEDBACK_SETTINGS);
        expect(plan.suppressions).to.deep.equal([]);
        expect(plan.transientRecipients.map((r) => r.email)).to.deep.equal(["c@example.com"]);
    });

    it("undetermined and SES-suppressed bounces are recorded, not counted", () => {
        for (const [type, subType] of [["Undetermined", "Undetermined"], ["Permanent", "OnAccountSuppressionList"], ["Permanent", "Suppressed"]] as const) {
            const plan = planFeedback(event(ses.bounce("event", type, subType, [ses.hardRecipient("d@example.com")])), DEFAULT_FEEDBACK_SETTINGS);
            expect(plan.records.map((r) => [r.record.counted, r.metrics])).to.deep.equal([[false, []]]);
            expect(plan.suppressions).to.deep.equal([]);
            expect(plan.transientRecipients).to.deep.equal([]);
        }
    });

    it("a complaint suppresses and counts against the sender, unless it is not-spam", () => {
        const counted = planFeedback(event(ses.complaint("event", ["e@example.com"], { complaintFeedbackType: "abuse" })), DEFAULT_FEEDBACK_SETTINGS);
        expect(counted.suppressions.map((s) => [s.email, s.reason])).to.deep.equal([["e@example.com", "complaint"]]);
        expect(counted.complainedSender).to.equal("sender@example.com");
        expect(counted.records[0].record.complaint_sender).to.equal("sender@example.com");
        const notSpam = planFeedback(event(ses.complaint("event", ["e@example.com"], { complaintFeedbackType: "not-spam" })), DEFAULT_FEEDBACK_SETTINGS);
        expect([notSpam.suppressions, notSpam.complainedSender, notSpam.records[0].record.complaint_sender, notSpam.records[0].metrics]).to.deep.equal([[], undefined, undefined, []]);
    });

    it("counts against the tagged account when a sender tag is configured", () => {
        const tagged = event(ses.complaint("event", ["f@example.com"], undefined, { tags: { account: ["Acme-Billing"] } }));
        expect(senderOf(tagged, { ...DEFAULT_FEEDBACK_SETTINGS, senderTag: "account" })).to.equal("acme-billing");
        expect(senderOf(tagged, DEFAULT_FEEDBACK_SETTINGS)).to.equal("sender@example.com");
    });

    it("publishes one metric per recipient and type", () => {
        expect(metricNames(ses.send(["a@example.com", "b@example.com"]))).to.deep.equal(["OutboundSend", "OutboundSend"]);
        expect(metricNames(ses.delivery("event", ["a@example.com"]))).to.deep.equal(["OutboundDelivery"]);
        expect(metricNames(ses.reject(["a@example.com"]))).to.deep.equal(["OutboundReject"]);
        expect(metricNames(ses.deliveryDelay(["a@example.com"]))).to.deep.equal(["OutboundDeliveryDelay"]);
        expect(metricNames(ses.renderingFailure(["a@example.com"]))).to.deep.equal(["OutboundRenderingFailure"]);
        expect(metricNames(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("a@example.com")]))).to.deep.equal(["OutboundBounce", "OutboundBounceHard"]);
        expect(metricNames(ses.bounce("event", "Transient", "General", [ses.softRecipient("a@example.com")]))).to.deep.equal(["OutboundBounce", "OutboundBounceSoft"]);
        expect(metricNames(ses.complaint("event", ["a@example.com"], undefined))).to.deep.equal(["OutboundComplaint"]);
    });

    it("maps complaint counts to states at the thresholds", () => {
        const thresholds = { complaintFlagThreshold: 3, complaintRestrictThreshold: 5 };
        expect([0, 2, 3, 4, 5, 9].map((n) => stateForComplaints(n, thresholds))).to.deep.equal(["ok", "ok", "flagged", "flagged", "restricted", "restricted"]);
    });
});
