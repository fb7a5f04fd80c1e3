import { expect } from "chai";
import { DEFAULT_FEEDBACK_SETTINGS, planFeedback, senderOf, stateForComplaints } from "../../../functions/feedback-worker/logic";
import { FeedbackEvent, parseFeedbackMessage } from "../../../functions/feedback-worker/parse";
import { occurrenceOf, TYPE_DAY_SHARDS } from "../../../functions/shared/feedback-events";
import * as ses from "../../fixtures/ses-feedback";
import * as engagement from "../../support/ses-engagement";

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
        expect(plan.transientBounces).to.deep.equal([]);
        expect(plan.records.map((r) => [r.record.pk, r.record.sk, r.record.type_day.replace(/#\d+$/, "#<shard>"), r.record.counted])).to.deep.equal([
            ["Bounce#EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000", "a@example.com#Permanent", "Bounce#2017-08-05#<shard>", true],
            ["Bounce#EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000", "b@example.com#Permanent", "Bounce#2017-08-05#<shard>", true],
        ]);
        expect(plan.records[0].record.expires_at).to.equal(Math.floor(Date.parse("2017-08-05T00:41:02.669Z") / 1000) + 90 * 86400);
    });

    it("a transient bounce only asks for a count; never a permanent suppression", () => {
        const plan = planFeedback(event(ses.bounce("event", "Transient", "MailboxFull", [ses.softRecipient("c@example.com")])), DEFAULT_FEEDBACK_SETTINGS);
        expect(plan.suppressions).to.deep.equal([]);
        expect(plan.transientBounces.map((b) => [b.recipient.email, b.occurrence])).to.deep.equal([
            ["c@example.com", occurrenceOf("EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000", "c@example.com", Date.parse("2017-08-05T00:41:02.669Z"))],
        ]);
    });

    it("a Transient and a Permanent bounce of one message and recipient are two records (SES sent two)", () => {
        const keys = (["Transient", "Permanent"] as const).map((type) => planFeedback(event(ses.bounce("event", type, "General", [ses.hardRecipient("c@example.com")])), DEFAULT_FEEDBACK_SETTINGS).records[0].record.sk);
        expect(keys).to.deep.equal(["c@example.com#Transient", "c@example.com#Permanent"]);
        // Two transient bounces of one message and recipient (a redelivery, or the other format) are one.
        const subtypes = ["General", "MailboxFull"].map((subtype) => planFeedback(event(ses.bounce("notification", "Transient", subtype, [ses.softRecipient("c@example.com")])), DEFAULT_FEEDBACK_SETTINGS).records[0].record);
        expect(subtypes[0].pk + subtypes[0].sk).to.equal(subtypes[1].pk + subtypes[1].sk);
    });

    it("undetermined and SES-suppressed bounces are recorded, not counted", () => {
        for (const [type, subType] of [["Undetermined", "Undetermined"], ["Permanent", "OnAccountSuppressionList"], ["Permanent", "Suppressed"]] as const) {
            const plan = planFeedback(event(ses.bounce("event", type, subType, [ses.hardRecipient("d@example.com")])), DEFAULT_FEEDBACK_SETTINGS);
            expect(plan.records.map((r) => [r.record.counted, r.metrics])).to.deep.equal([[false, []]]);
            expect(plan.suppressions).to.deep.equal([]);
            expect(plan.transientBounces).to.deep.equal([]);
        }
    });

    it("a complaint suppresses and counts against the sender, unless it is not-spam", () => {
        const counted = planFeedback(event(ses.complaint("event", ["e@example.com"], { complaintFeedbackType: "abuse" })), DEFAULT_FEEDBACK_SETTINGS);
        expect(counted.suppressions.map((s) => [s.email, s.reason])).to.deep.equal([["e@example.com", "complaint"]]);
        expect(counted.complaints?.sender).to.equal("sender@example.com");
        expect(counted.records[0].record.complaint_sender).to.equal("sender@example.com");
        const notSpam = planFeedback(event(ses.complaint("event", ["e@example.com"], { complaintFeedbackType: "not-spam" })), DEFAULT_FEEDBACK_SETTINGS);
        expect([notSpam.suppressions, notSpam.complaints, notSpam.records[0].record.complaint_sender, notSpam.records[0].metrics]).to.deep.equal([[], undefined, undefined, []]);
    });

    it("counts against the tagged account when a sender tag is configured", () => {
        const tagged = event(ses.complaint("event", ["f@example.com"], undefined, { tags: { account: ["Acme-Billing"] } }));
        expect(senderOf(tagged, { ...DEFAULT_FEEDBACK_SETTINGS, senderTag: "account" })).to.equal("acme-billing");
        expect(senderOf(tagged, DEFAULT_FEEDBACK_SETTINGS)).to.equal("sender@example.com");
    });

    it("an identity notification never names the sender when a tag does: it carries no tags", () => {
        const settings = { ...DEFAULT_FEEDBACK_SETTINGS, senderTag: "account" };
        const identity = planFeedback(event(ses.complaint("notification", ["f@example.com", "g@example.com"], { complaintFeedbackType: "abuse" })), settings);
        expect(identity.complaints).to.equal(undefined);
        expect(identity.records.map((r) => [r.record.sender, r.record.sender_pending, r.record.complaint_sender])).to.deep.equal([[undefined, true, undefined], [undefined, true, undefined]]);
        // It still suppresses the complainants and publishes its metric: both are about the recipient.
        expect(identity.suppressions.map((s) => s.email)).to.deep.equal(["f@example.com", "g@example.com"]);
        expect(identity.records[0].metrics).to.deep.equal([{ name: "OutboundComplaint", value: 1 }]);
        const published = planFeedback(event(ses.complaint("event", ["f@example.com"], { complaintFeedbackType: "abuse" }, { tags: { account: ["acme"] } })), settings);
        expect(published.complaints).to.deep.include({ sender: "acme" });
        expect(published.records[0].record).to.deep.include({ sender: "acme", complaint_sender: "acme" });
        expect(published.records[0].record).not.to.have.property("sender_pending");
        // Without a sender tag both formats name the From address, so either copy may decide.
        expect(planFeedback(event(ses.complaint("notification", ["f@example.com"], { complaintFeedbackType: "abuse" })), DEFAULT_FEEDBACK_SETTINGS).complaints?.sender).to.equal("sender@example.com");
    });

    it("opens, clicks and subscription changes are one record per occurrence, with the recipient when the mail had one", () => {
        const single = planFeedback(event(engagement.open({ destination: ["o@example.com"] })), DEFAULT_FEEDBACK_SETTINGS);
        expect(single.records.map((r) => [r.record.sk, r.record.recipient, r.metrics])).to.deep.equal([["o@example.com#2017-08-09T22:00:19.652Z", "o@example.com", [{ name: "OutboundOpen", value: 1 }]]]);
        const several = planFeedback(event(engagement.click({ destination: ["a@example.com", "b@example.com"] })), DEFAULT_FEEDBACK_SETTINGS);
        expect(several.records).to.have.length(1);
        expect(several.records[0].record).not.to.have.property("recipient");
        expect(several.records[0].record).to.deep.include({ link: "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html", event_type: "Click" });
        expect(several.records[0].record.sk).to.match(/^#2017-08-09T23:51:25\.570Z#[\w-]{16}$/);
        const otherLink = planFeedback(event(engagement.click({ destination: ["a@example.com", "b@example.com"] }, undefined, "https://example.com/other")), DEFAULT_FEEDBACK_SETTINGS);
        expect(otherLink.records[0].record.sk).not.to.equal(several.records[0].record.sk);
        expect(metricNames(engagement.subscription())).to.deep.equal(["OutboundSubscription"]);
        expect(planFeedback(event(engagement.subscription()), DEFAULT_FEEDBACK_SETTINGS).records[0].record).to.deep.include({ contact_list: "ContactListName", unsubscribe_all: true, subscription_source: "UnsubscribeHeader" });
    });

    it("spreads each type and day over the type-day-index shards by record key", () => {
        const sends = planFeedback(event(ses.send(Array.from({ length: 200 }, (_, i) => `r${i}@example.com`))), DEFAULT_FEEDBACK_SETTINGS).records.map((r) => r.record.type_day);
        expect(new Set(sends)).to.deep.equal(new Set(Array.from({ length: TYPE_DAY_SHARDS }, (_, shard) => `Send#2017-08-05#${shard}`)));
        expect(sends).to.deep.equal(planFeedback(event(ses.send(Array.from({ length: 200 }, (_, i) => `r${i}@example.com`))), DEFAULT_FEEDBACK_SETTINGS).records.map((r) => r.record.type_day));
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
