import { expect } from "chai";
import { checkedTarget, importLabels, parseForwardRequests, splitByTarget } from "../../../functions/gmail-forwarder/forward";
import type { RoutingDecision, RoutingEvent } from "../../../functions/shared/routing-event";

const mail: Omit<RoutingEvent, "decisions"> = {
    messageId: "m-1", source: "bounce+123@mailer.example.net", recipients: ["a@example.com", "b@example.com", "c@example.com", "d@example.com"],
    receivedAt: "2015-09-11T20:32:33.936Z", subject: "Hi", s3: { bucket: "b", key: "inbound/m-1" },
    verdicts: { spam: "PASS", virus: "PASS", spf: "PASS", dkim: "PASS", dmarc: "PASS" }, headers: {},
};
const body = (decisions: RoutingDecision[]) => JSON.stringify({ version: "0", id: "e", "detail-type": "Email Routing Decision", source: "ses-mail.router", detail: { ...mail, decisions } });
const forward = (target: string | undefined, recipients: string[], labels: string[] = [], reason = `rule:${recipients[0]}`): RoutingDecision => ({ action: "forward-to-gmail", ...(target ? { target } : {}), recipients, reason, labels });

describe("forwarder: decisions → one request per Gmail account", () => {
    it("merges the decisions of one account: recipients and labels united, in order", () => {
        const requests = parseForwardRequests(body([
            forward("team@gmail.com", ["a@example.com"], ["Label_7"]),
            { action: "bounce", recipients: ["b@example.com"], reason: "rule:b@example.com", labels: [] },
            forward("TEAM@gmail.com ", ["c@example.com", "a@example.com"], ["Label_9", "Label_7"]),
        ]));
        expect(requests).to.deep.equal([{
            messageId: "m-1", target: "team@gmail.com", recipients: ["a@example.com", "c@example.com"], labels: ["Label_7", "Label_9"],
            reasons: ["rule:a@example.com", "rule:c@example.com"], source: "bounce+123@mailer.example.net", subject: "Hi",
            receivedAt: "2015-09-11T20:32:33.936Z", s3: { bucket: "b", key: "inbound/m-1" },
        }]);
    });

    it("none when no decision forwards", () => {
        expect(parseForwardRequests(body([{ action: "store", recipients: ["a@example.com"], reason: "default", labels: [] }]))).to.deep.equal([]);
    });

    it("rejects an event that is not a routing event", () => {
        expect(() => parseForwardRequests(JSON.stringify({ detail: { messageId: "m" } }))).to.throw(/Invalid routing event detail/);
        expect(() => parseForwardRequests("not json")).to.throw(/Invalid routing event detail/);
    });

    it("splits an event for several accounts into one copy each, with only that account's forward decisions", () => {
        const decisions = [
            forward("team@gmail.com", ["a@example.com"], ["Label_7"]),
            forward("ops@gmail.com", ["b@example.com"]),
            { action: "drop" as const, recipients: ["d@example.com"], reason: "rule:d@example.com", labels: [] },
            forward("Team@gmail.com", ["c@example.com"], ["Label_9"]),
        ];
        const original = body(decisions);
        const copies = splitByTarget(original, parseForwardRequests(original));
        expect(copies.map((c) => c.target)).to.deep.equal(["team@gmail.com", "ops@gmail.com"]);
        expect(copies.map((c) => JSON.parse(c.body).detail.decisions)).to.deep.equal([[decisions[0], decisions[3]], [decisions[1]]]);
        expect(copies.map((c) => parseForwardRequests(c.body).length)).to.deep.equal([1, 1]);
        const envelope = JSON.parse(original);
        delete envelope.detail;
        for (const copy of copies) expect(JSON.parse(copy.body)).to.deep.include(envelope);
    });

    it("a forward decision without a target fails on its own, as invalid input", () => {
        const requests = parseForwardRequests(body([forward(undefined, ["a@example.com"]), forward("team@gmail.com", ["b@example.com"])]));
        expect(requests.map((r) => r.target)).to.deep.equal(["", "team@gmail.com"]);
        expect(() => checkedTarget(requests[0])).to.throw(/names no target account/);
        expect(checkedTarget(requests[1])).to.equal("team@gmail.com");
    });

    describe("labels Gmail accepts: at most one of INBOX, SPAM, TRASH; always UNREAD", () => {
        const cases: [string[], string[]][] = [
            [[], ["INBOX", "UNREAD"]],
            [["Label_7"], ["INBOX", "UNREAD", "Label_7"]],
            [["Label_7", "SPAM"], ["SPAM", "UNREAD", "Label_7"]],
            [["INBOX", "SPAM", "Label_7"], ["SPAM", "UNREAD", "Label_7"]],
            [["TRASH", "INBOX"], ["TRASH", "UNREAD"]],
            [["SPAM", "TRASH"], ["SPAM", "UNREAD"]],
            [["UNREAD", "Label_1", "Label_1", "STARRED"], ["INBOX", "UNREAD", "Label_1", "STARRED"]],
        ];
        for (const [labels, expected] of cases) {
            it(`${JSON.stringify(labels)} → ${JSON.stringify(expected)}`, () => {
                const result = importLabels(labels);
                expect(result).to.deep.equal(expected);
                expect(result.filter((l) => ["INBOX", "SPAM", "TRASH"].includes(l))).to.have.length(1);
            });
        }
    });
});
