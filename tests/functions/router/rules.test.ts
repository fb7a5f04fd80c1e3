import { expect } from "chai";
import * as fc from "fast-check";
import { decide, DEFAULT_ROUTER_SETTINGS, RouterSettings, routeMail, routingEvent } from "../../../functions/router/decide";
import { parseReceiptNotification, ReceivedMail } from "../../../functions/router/notification";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { candidatePatterns, contradiction, parseRule, resolution, resolve, RouteRule, ruleActions, StoredRule } from "../../../functions/router/rules";
import { receiptNotification } from "../../fixtures/ses-receipt";

const rule = (pattern: string, action: RouteRule["action"], extra: Partial<RouteRule> = {}): [string, RouteRule] =>
    [pattern, { pattern, action, enabled: true, labels: [], ...(action === "forward-to-gmail" ? { target: "me@gmail.com" } : {}), ...extra }];
const SUPPORTED = "forward-to-gmail, bounce, store, drop; silent-drop is read as drop";
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
        expect(parseRule({ PK: "ROUTE#x", action: "teleport" })).to.deep.equal({ pattern: "x", enabled: true, invalid: `action "teleport" is not an action ses-mail implements (${SUPPORTED})` });
        expect(parseRule({ PK: "ROUTE#x", action: "forward-to-gmail" })).to.deep.equal({ pattern: "x", enabled: true, invalid: "forward-to-gmail needs target, the Gmail address" });
        expect(parseRule({ PK: "ROUTE#x", action: "store", enabled: "yes" })).to.deep.equal({ pattern: "x", enabled: true, invalid: "enabled is not a boolean" });
        expect(parseRule({ PK: "ROUTE#x", target: "me@gmail.com" })).to.deep.equal({ pattern: "x", enabled: true, invalid: "it has neither action nor actions" });
        expect(parseRule({ PK: "ROUTE#x", action: "bounce", enabled: false, labels: ["L"] })).to.deep.equal({ pattern: "x", action: "bounce", target: undefined, enabled: false, labels: ["L"] });
    });

    describe("the list form (`actions`), as the predecessor system's tables hold it", () => {
        // The issue's item, verbatim, as DynamoDB JSON and unmarshalled as the router reads it.
        const ISSUE_ITEM = unmarshall({
            PK: { S: "ROUTE#support@example.com" }, SK: { S: "RULE#v1" }, entity_type: { S: "ROUTE" }, recipient: { S: "support@example.com" },
            actions: { L: [{ M: { type: { S: "forward-to-gmail" }, target: { S: "me@gmail.com" } } }, { M: { type: { S: "forward-to-gmail" }, target: { S: "team@gmail.com" } } }, { M: { type: { S: "store" } } }] },
            enabled: { BOOL: true }, description: { S: "Support to two mailboxes" }, metadata: { S: "{}" }, created_at: { S: "2026-01-31T10:00:00Z" }, updated_at: { S: "2026-01-31T10:00:00Z" },
        });
        const list = (...actions: Record<string, unknown>[]) => parseRule({ PK: "ROUTE#support@example.com", actions });

        it("reads several forward targets and store from one rule", () => {
            const parsed = parseRule(ISSUE_ITEM) as RouteRule;
            expect(parsed.actions).to.deep.equal([
                { type: "forward-to-gmail", target: "me@gmail.com", labels: [] },
                { type: "forward-to-gmail", target: "team@gmail.com", labels: [] },
                { type: "store", labels: [] },
            ]);
            expect(parsed).to.deep.include({ pattern: "support@example.com", enabled: true });
            expect(ruleActions(parsed)).to.equal(parsed.actions);
        });

        it("labels per action (a list or a string set), targets lowercased, labels ignored on other actions", () => {
            const parsed = list({ type: "forward-to-gmail", target: " Me@Gmail.com ", labels: ["Label_1"] }, { type: "forward-to-gmail", target: "team@gmail.com", labels: new Set(["Label_7"]) }, { type: "store", labels: ["X"] }) as RouteRule;
            expect(parsed.actions).to.deep.equal([
                { type: "forward-to-gmail", target: "me@gmail.com", labels: ["Label_1"] },
                { type: "forward-to-gmail", target: "team@gmail.com", labels: ["Label_7"] },
                { type: "store", labels: [] },
            ]);
        });

        it("the same target twice is one action with both label sets; repeated store is one", () => {
            const parsed = list({ type: "forward-to-gmail", target: "me@gmail.com", labels: ["A"] }, { type: "store" }, { type: "forward-to-gmail", target: "ME@gmail.com", labels: ["B", "A"] }, { type: "store" }) as RouteRule;
            expect(parsed.actions).to.deep.equal([{ type: "forward-to-gmail", target: "me@gmail.com", labels: ["A", "B"] }, { type: "store", labels: [] }]);
        });

        it("an item with both forms follows `actions`; its action/target/labels are ignored, and said so", () => {
            const parsed = parseRule({ PK: "ROUTE#a@example.com", action: "bounce", target: "", labels: ["L"], actions: [{ type: "forward-to-gmail", target: "me@gmail.com" }] }) as RouteRule;
            expect(ruleActions(parsed)).to.deep.equal([{ type: "forward-to-gmail", target: "me@gmail.com", labels: [] }]);
            expect(parsed.notes).to.deep.equal(["action, labels ignored: actions takes precedence"]);
            // A malformed list is not rescued by the single form: the operator meant the list.
            expect(parseRule({ PK: "ROUTE#a@example.com", action: "store", actions: [{ type: "deliver-to-jmap" }] })).to.have.property("invalid").that.matches(/^actions\[0\]\.type "deliver-to-jmap"/);
        });

        it("store goes with anything; forward with bounce or drop, and bounce with drop, contradict each other", () => {
            const f = { type: "forward-to-gmail", target: "me@gmail.com" };
            for (const ok of [[f, { type: "store" }], [{ type: "bounce" }, { type: "store" }], [{ type: "drop" }, { type: "store" }], [{ type: "store" }]]) {
                expect(list(...ok), JSON.stringify(ok)).to.not.have.property("invalid");
            }
            expect(list(f, { type: "bounce" })).to.deep.include({ invalid: "actions: forward-to-gmail and bounce contradict each other (store may go with anything; forward-to-gmail, bounce and drop exclude each other)" });
            expect(list(f, { type: "store" }, { type: "drop" })).to.have.property("invalid").that.matches(/^actions: forward-to-gmail and drop contradict/);
            expect(list({ type: "bounce" }, { type: "silent-drop" })).to.have.property("invalid").that.matches(/^actions: bounce and drop contradict/);
            expect(contradiction([])).to.equal("it has no actions");
            expect(list()).to.deep.include({ invalid: "actions: it has no actions" });
        });

        it("maps silent-drop to drop; other action types of the predecessor are invalid with the reason", () => {
            expect(ruleActions(list({ type: "silent-drop" }) as RouteRule)).to.deep.equal([{ type: "drop", labels: [] }]);
            expect(ruleActions(parseRule({ PK: "ROUTE#x", action: "silent-drop" }) as RouteRule)).to.deep.equal([{ type: "drop", labels: [] }]);
            expect(list({ type: "forward-to-gmail", target: "me@gmail.com" }, { type: "deliver-to-jmap", target: "inbox-1" })).to.deep.equal({
                pattern: "support@example.com", enabled: true, invalid: `actions[1].type "deliver-to-jmap" is not an action ses-mail implements (${SUPPORTED})`,
            });
            expect(list({ type: "spam" })).to.have.property("invalid").that.matches(/^actions\[0\]\.type "spam" is not an action/);
            expect(list({ type: "forward-to-gmail" })).to.deep.include({ invalid: "actions[0]: forward-to-gmail needs target, the Gmail address" });
            expect(parseRule({ PK: "ROUTE#x", actions: "store" })).to.deep.include({ invalid: "actions is not a list of {type, target?, labels?}" });
            expect(parseRule({ PK: "ROUTE#x", actions: ["store"] })).to.deep.include({ invalid: "actions[0] is not a map {type, target?, labels?}" });
            expect(parseRule({ PK: "ROUTE#x", enabled: false, actions: [{ type: "spam" }] })).to.deep.include({ enabled: false });
        });
    });

    describe("resolution: every candidate with what was found", () => {
        const invalid = (pattern: string, enabled = true): [string, StoredRule] => [pattern, { pattern, invalid: "why", enabled }];

        it("an invalid rule is skipped as if absent, and reported; a disabled one is skipped silently", () => {
            const rules = new Map<string, StoredRule>([invalid("a+x@example.com"), rule("a@example.com", "bounce", { enabled: false }), invalid("*@example.com", false), rule("*", "store")]);
            const found = resolution("A+x@example.com", rules);
            expect(found.rule?.pattern).to.equal("*");
            expect(found.candidates.map((c) => [c.pattern, c.status])).to.deep.equal([["a+x@example.com", "invalid"], ["a@example.com", "disabled"], ["*@example.com", "disabled"], ["*", "chosen"]]);
            expect(found.skippedInvalid.map((r) => r.pattern)).to.deep.equal(["a+x@example.com"]);
            expect(resolve("a+x@example.com", rules)?.pattern).to.equal("*");
        });

        it("candidates after the winner are not reached, and their invalidity is not reported", () => {
            const found = resolution("a@example.com", new Map<string, StoredRule>([rule("a@example.com", "drop"), invalid("*")]));
            expect(found.candidates.map((c) => c.status)).to.deep.equal(["chosen", "absent", "not-reached"]);
            expect(found.skippedInvalid).to.deep.equal([]);
        });
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

    it("one event per mail with the S3 location; one decision per (action, target, labels, reason), listing its recipients", () => {
        const event = routingEvent(mail({ recipients: ["support@example.com", "sales@example.com", "nobody@example.com", "x@other.org"] }), rules, settings);
        expect(event.decisions.map((d) => [d.action, d.target, d.recipients, d.reason, d.labels])).to.deep.equal([
            // Each recipient's decision names the rule that decided it (the forwarder still imports once per target).
            ["forward-to-gmail", "team@gmail.com", ["support@example.com"], "rule:support@example.com", ["Label_7"]],
            ["forward-to-gmail", "team@gmail.com", ["sales@example.com"], "rule:sales@example.com", ["Label_7"]],
            ["bounce", undefined, ["nobody@example.com"], "rule:*@example.com", []],
            ["store", undefined, ["x@other.org"], "default", []],
        ]);
        expect(event).to.deep.include({ messageId: "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1", source: "sender@example.net", s3: { bucket: "ses-mail-email-test", key: "inbound/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1" } });
        expect(event.decisions[2]).to.not.have.property("target");
    });

    it("verdicts decide before rules: virus and DMARC reject drop; spam drops or labels; spam is never bounced", () => {
        expect(decide(mail({ virus: "FAIL", recipients: ["support@example.com"] }), rules, settings).map((d) => [d.action, d.reason])).to.deep.equal([["drop", "virus"]]);
        expect(decide(mail({ dmarc: "FAIL", dmarcPolicy: "REJECT", recipients: ["support@example.com"] }), rules, settings).map((d) => [d.action, d.reason])).to.deep.equal([["drop", "dmarc-reject"]]);
        expect(decide(mail({ dmarc: "FAIL", dmarcPolicy: "none", recipients: ["support@example.com"] }), rules, settings)[0].action).to.equal("forward-to-gmail");
        expect(decide(mail({ spam: "FAIL", recipients: ["support@example.com"] }), rules, settings).map((d) => [d.action, d.reason])).to.deep.equal([["drop", "spam"]]);
        const labelled = decide(mail({ spam: "FAIL", recipients: ["support@example.com", "nobody@example.com"] }), rules, { ...settings, spamAction: "label" });
        expect(labelled.map((d) => [d.action, d.labels, d.reason])).to.deep.equal([["forward-to-gmail", ["Label_7", "SPAM"], "rule:support@example.com"], ["drop", [], "spam"]]);
    });

    describe("multi-action rules", () => {
        const listRule = (pattern: string, actions: RouteRule["actions"], extra: Partial<RouteRule> = {}): [string, RouteRule] => [pattern, { pattern, action: actions![0].type, enabled: true, labels: [], actions, ...extra }];
        const multi = new Map<string, StoredRule | undefined>([
            listRule("support@example.com", [
                { type: "forward-to-gmail", target: "me@gmail.com", labels: ["Label_1"] },
                { type: "forward-to-gmail", target: "team@gmail.com", labels: [] },
                { type: "store", labels: [] },
            ]),
            listRule("billing@example.com", [{ type: "forward-to-gmail", target: "team@gmail.com", labels: [] }, { type: "store", labels: [] }]),
            listRule("old@example.com", [{ type: "bounce", labels: [] }, { type: "store", labels: [] }]),
            rule("sales@example.com", "forward-to-gmail", { target: "team@gmail.com" }),
            ["broken@example.com", { pattern: "broken@example.com", invalid: 'actions[1].type "deliver-to-jmap" is not an action', enabled: true }],
            ["off@example.com", { pattern: "off@example.com", invalid: "contradiction", enabled: false }],
            rule("*@example.com", "bounce"),
        ]);
        const rows = (decisions: ReturnType<typeof decide>) => decisions.map((d) => [d.action, d.target, d.recipients, d.labels, d.reason]);

        it("one decision per (action, target, labels) of the rule, for the recipients it covers; both forms in one mail", () => {
            const routed = routeMail(mail({ recipients: ["support@example.com", "billing@example.com", "sales@example.com", "old@example.com"] }), multi, settings);
            expect(rows(routed.decisions)).to.deep.equal([
                ["forward-to-gmail", "me@gmail.com", ["support@example.com"], ["Label_1"], "rule:support@example.com"],
                ["forward-to-gmail", "team@gmail.com", ["support@example.com"], [], "rule:support@example.com"],
                ["store", undefined, ["support@example.com"], [], "rule:support@example.com"],
                ["forward-to-gmail", "team@gmail.com", ["billing@example.com"], [], "rule:billing@example.com"],
                ["store", undefined, ["billing@example.com"], [], "rule:billing@example.com"],
                ["forward-to-gmail", "team@gmail.com", ["sales@example.com"], [], "rule:sales@example.com"],
                ["bounce", undefined, ["old@example.com"], [], "rule:old@example.com"],
                ["store", undefined, ["old@example.com"], [], "rule:old@example.com"],
            ]);
            expect(routed.invalidRules).to.deep.equal([]);
            // Each forward target once per mail: what the forwarder imports once per (message, target).
            const forwards = routed.decisions.filter((d) => d.action === "forward-to-gmail" && d.recipients.includes("support@example.com")).map((d) => d.target);
            expect(forwards).to.deep.equal([...new Set(forwards)]);
        });

        it("spam: a bounce in a list is dropped, the store stays; forwards get SPAM when spamAction is label", () => {
            const labelled = decide(mail({ spam: "FAIL", recipients: ["old@example.com", "support@example.com"] }), multi, { ...settings, spamAction: "label" });
            expect(rows(labelled)).to.deep.equal([
                ["drop", undefined, ["old@example.com"], [], "spam"],
                ["store", undefined, ["old@example.com"], [], "rule:old@example.com"],
                ["forward-to-gmail", "me@gmail.com", ["support@example.com"], ["Label_1", "SPAM"], "rule:support@example.com"],
                ["forward-to-gmail", "team@gmail.com", ["support@example.com"], ["SPAM"], "rule:support@example.com"],
                ["store", undefined, ["support@example.com"], [], "rule:support@example.com"],
            ]);
        });

        it("an invalid rule is skipped for its recipients as if absent, visibly: its own decision names it, and it is reported", () => {
            const routed = routeMail(mail({ recipients: ["broken@example.com", "nobody@example.com", "broken+x@example.com", "off@example.com"] }), multi, settings);
            expect(rows(routed.decisions)).to.deep.equal([
                ["bounce", undefined, ["broken@example.com", "broken+x@example.com"], [], 'rule:*@example.com; rule:broken@example.com invalid: actions[1].type "deliver-to-jmap" is not an action'],
                ["bounce", undefined, ["nobody@example.com", "off@example.com"], [], "rule:*@example.com"],
            ]);
            expect(routed.invalidRules).to.deep.equal([{ pattern: "broken@example.com", reason: 'actions[1].type "deliver-to-jmap" is not an action', recipients: ["broken@example.com", "broken+x@example.com"] }]);
            const fallback = routeMail(mail({ recipients: ["broken@example.com"] }), new Map([multi.get("broken@example.com") && ["broken@example.com", multi.get("broken@example.com")]] as [string, StoredRule][]), settings);
            expect(rows(fallback.decisions)).to.deep.equal([["store", undefined, ["broken@example.com"], [], 'default; rule:broken@example.com invalid: actions[1].type "deliver-to-jmap" is not an action']]);
        });

        it("a verdict that decides first consults no rule, so reports none", () => {
            expect(routeMail(mail({ virus: "FAIL", recipients: ["broken@example.com"] }), multi, settings)).to.deep.equal({
                decisions: [{ action: "drop", recipients: ["broken@example.com"], reason: "virus", labels: [] }], invalidRules: [],
            });
        });
    });

    it("keeps the headers a bounce decision needs and the null sender", () => {
        const m = mail({ source: "<>", extraHeaders: [{ name: "Auto-Submitted", value: "auto-replied" }, { name: "List-Id", value: "<news.example.net>" }, { name: "Precedence", value: "bulk" }] });
        expect(m.source).to.equal("");
        expect(m.headers).to.deep.equal({ autoSubmitted: "auto-replied", precedence: "bulk", listId: "<news.example.net>" });
    });
});
