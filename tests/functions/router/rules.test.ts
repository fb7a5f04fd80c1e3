import { expect } from "chai";
import * as fc from "fast-check";
import { decide, DEFAULT_ROUTER_SETTINGS, RouterSettings, routingEvent } from "../../../functions/router/decide";
import { parseReceiptNotification, ReceivedMail } from "../../../functions/router/notification";
import { candidatePatterns, parseRule, resolve, RouteRule } from "../../../functions/router/rules";
import { receiptNotification } from "../../fixtures/ses-receipt";

const rule = (pattern: string, action: RouteRule["action"], extra: Partial<RouteRule> = {}): [string, RouteRule] =>
    [pattern, { pattern, action, enabled: true, labels: [], ...(action === "forward-to-gmail" ? { target: "me@gmail.com" } : {}), ...extra }];
const mail = (options: Parameters<typeof receiptNotification>[0] = {}): ReceivedMail => parseReceiptNotification(JSON.stringify(receiptNotification(options)));

describe("routing rules", () => {
    it("candidates: exact → without +tag → *@domain → *", () => {
        expect(candidatePatterns("Support+Billing@Example.COM")).to.deep.equal(["support+billing@example.com", "support@example.com", "*@example.com", "*"]);
        expect(candidatePatterns("support@example.com")).to.deep.equal(["support@example.com", "*@example.com", "*"]);
    });

    const precedence: [string, [string, RouteRule][], string, string | undefined][] = [
        ["exact beats everything", [rule("a+x@example.com", "bounce"), rule("a@example.com", "store"), rule("*@example.com", "drop"), rule("*", "store")], "a+x@example.com", "bounce"],
        ["untagged beats the domain", [rule("a@example.com", "forward-to-gmail"), rule("*@example.com", "drop")], "a+news@example.com", "forward-to-gmail"],
        ["domain beats the catch-all", [rule("*@example.com", "bounce"), rule("*", "store")], "nobody@example.com", "bounce"],
        ["catch-all last", [rule("*", "drop"), rule("*@other.com", "bounce")], "x@example.com", "drop"],
        ["a disabled rule falls through", [rule("a@example.com", "bounce", { enabled: false }), rule("*@example.com", "store")], "a@example.com", "store"],
        ["no rule at all", [], "a@example.com", undefined],
    ];
    for (const [title, rules, address, expected] of precedence) {
        it(title, () => expect(resolve(address, new Map(rules))?.action).to.equal(expected));
    }

    it("parses operators' items and refuses malformed ones with a reason", () => {
        expect(parseRule({ PK: "ROUTE#support@example.com", SK: "RULE#v1", action: "forward-to-gmail", target: "Your-Email@gmail.com", enabled: true })).to.deep.equal({
            pattern: "support@example.com", action: "forward-to-gmail", target: "your-email@gmail.com", enabled: true, labels: [],
        });
        expect(parseRule({ PK: "ROUTE#*", action: "store", labels: ["Label_1"] })).to.deep.include({ enabled: true, labels: ["Label_1"] });
        expect(parseRule({ PK: "ROUTE#x", action: "teleport" })).to.deep.equal({ invalid: 'action "teleport" is not one of forward-to-gmail, bounce, store, drop' });
        expect(parseRule({ PK: "ROUTE#x", action: "forward-to-gmail" })).to.deep.equal({ invalid: "forward-to-gmail needs target, the Gmail address" });
        expect(parseRule({ PK: "ROUTE#x", action: "store", enabled: "yes" })).to.deep.equal({ invalid: "enabled is not a boolean" });
    });

    describe("properties (fast-check, fixed seed)", () => {
        const local = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,15}$/);
        const domain = fc.stringMatching(/^[a-z0-9]{1,10}\.(com|org|example)$/);
        const casing = (s: string, flips: boolean[]) => [...s].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join("");
        const options = { seed: 20261122, numRuns: 500 };

        it("normalisation is idempotent", () => {
            fc.assert(fc.property(local, domain, (l, d) => {
                const [first] = candidatePatterns(`${l}@${d}`);
                expect(candidatePatterns(first)).to.deep.equal(candidatePatterns(`${l}@${d}`));
            }), options);
        });

        it("the case of the domain (and address) never changes the decision", () => {
            fc.assert(fc.property(local, domain, fc.array(fc.boolean(), { minLength: 1 }), fc.constantFrom("exact", "domain", "all"), (l, d, flips, which) => {
                const rules = new Map([which === "exact" ? rule(`${l}@${d}`, "bounce") : which === "domain" ? rule(`*@${d}`, "bounce") : rule("*", "bounce")]);
                expect(resolve(`${l}@${casing(d, flips)}`, rules)?.action).to.equal("bounce");
            }), options);
        });

        it("+tag removal: a tagged address follows its untagged rule", () => {
            fc.assert(fc.property(local.filter((l) => !l.includes("+")), fc.stringMatching(/^[a-z0-9]{1,8}$/), domain, (l, tag, d) => {
                const rules = new Map([rule(`${l}@${d}`, "forward-to-gmail")]);
                expect(resolve(`${l}+${tag}@${d}`, rules)?.action).to.equal("forward-to-gmail");
            }), options);
        });

        it("a disabled rule falls through to the next candidate", () => {
            fc.assert(fc.property(local, domain, (l, d) => {
                const rules = new Map([rule(`${l}@${d}`, "bounce", { enabled: false }), rule(`*@${d}`, "store")]);
                expect(resolve(`${l}@${d}`, rules)?.action).to.equal("store");
            }), options);
        });
    });
});

describe("routing decisions", () => {
    const rules = new Map([
        rule("support@example.com", "forward-to-gmail", { target: "team@gmail.com", labels: ["Label_7"] }),
        rule("sales@example.com", "forward-to-gmail", { target: "team@gmail.com", labels: ["Label_7"] }),
        rule("*@example.com", "bounce"),
    ]);
    const settings: RouterSettings = DEFAULT_ROUTER_SETTINGS;

    it("one event per mail with the S3 location; one decision per (action, target, labels), listing its recipients", () => {
        const event = routingEvent(mail({ recipients: ["support@example.com", "sales@example.com", "nobody@example.com", "x@other.org"] }), rules, settings);
        expect(event.decisions.map((d) => [d.action, d.target, d.recipients, d.reason, d.labels])).to.deep.equal([
            ["forward-to-gmail", "team@gmail.com", ["support@example.com", "sales@example.com"], "rule:support@example.com", ["Label_7"]],
            ["bounce", undefined, ["nobody@example.com"], "rule:*@example.com", []],
            ["store", undefined, ["x@other.org"], "default", []],
        ]);
        expect(event).to.deep.include({ messageId: "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1", source: "sender@example.net", s3: { bucket: "ses-mail-email-test", key: "inbound/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1" } });
        expect(event.decisions[1]).to.not.have.property("target");
    });

    it("verdicts decide before rules: virus and DMARC reject drop; spam drops or labels; spam is never bounced", () => {
        expect(decide(mail({ virus: "FAIL", recipients: ["support@example.com"] }), rules, settings).map((d) => [d.action, d.reason])).to.deep.equal([["drop", "virus"]]);
        expect(decide(mail({ dmarc: "FAIL", dmarcPolicy: "REJECT", recipients: ["support@example.com"] }), rules, settings).map((d) => [d.action, d.reason])).to.deep.equal([["drop", "dmarc-reject"]]);
        expect(decide(mail({ dmarc: "FAIL", dmarcPolicy: "none", recipients: ["support@example.com"] }), rules, settings)[0].action).to.equal("forward-to-gmail");
        expect(decide(mail({ spam: "FAIL", recipients: ["support@example.com"] }), rules, settings).map((d) => [d.action, d.reason])).to.deep.equal([["drop", "spam"]]);
        const labelled = decide(mail({ spam: "FAIL", recipients: ["support@example.com", "nobody@example.com"] }), rules, { ...settings, spamAction: "label" });
        expect(labelled.map((d) => [d.action, d.labels, d.reason])).to.deep.equal([["forward-to-gmail", ["Label_7", "SPAM"], "rule:support@example.com"], ["drop", [], "spam"]]);
    });

    it("keeps the headers a bounce decision needs and the null sender", () => {
        const m = mail({ source: "<>", extraHeaders: [{ name: "Auto-Submitted", value: "auto-replied" }, { name: "List-Id", value: "<news.example.net>" }, { name: "Precedence", value: "bulk" }] });
        expect(m.source).to.equal("");
        expect(m.headers).to.deep.equal({ autoSubmitted: "auto-replied", precedence: "bulk", listId: "<news.example.net>" });
    });
});
