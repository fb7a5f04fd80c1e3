import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { MailIngest } from "../../../components/mail-ingest";
import { SuppressionStore } from "../../../components/suppression-store";
import { decide, DEFAULT_ROUTER_SETTINGS } from "../../../functions/router/decide";
import { parseReceiptNotification } from "../../../functions/router/notification";
import { route } from "../../../functions/router/route";
import type { InvalidRoutingEvent, RoutingDecision, RoutingEvent } from "../../../functions/shared/routing-event";
import { RuleStore } from "../../../functions/router/rule-store";
import type { RouteRule } from "../../../functions/router/rules";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { runUnderMocks } from "../../support/mocks";
import { OPERATOR_PUT_ITEM, pipeBatch, receiptNotification } from "../../fixtures/ses-receipt";

describe("router against dynalite (routing table from MailIngest)", () => {
    let local: LocalDynamo;
    let table: string;
    let clock: number;
    let invalid: [string, string][];
    const put = (item: Record<string, unknown>) => local.client.send(new PutItemCommand({ TableName: table, Item: item as never }));
    const store = () => new RuleStore({ tableName: table, client: local.client, now: () => clock, cacheTtlMs: 60_000, onInvalidRule: (p, r) => invalid.push([p, r]) });

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new MailIngest("ingest", { env: "rt", domains: ["example.com"], suppressionStore: new SuppressionStore("s", { env: "rt" }) }));
        table = await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "ingest-routing"));
        // Exactly what operators run today, plus the domain and catch-all forms.
        await put(OPERATOR_PUT_ITEM);
        await put({ ...OPERATOR_PUT_ITEM, PK: { S: "ROUTE#*@example.com" }, recipient: { S: "*@example.com" }, action: { S: "bounce" }, target: { S: "" }, description: { S: "Unknown addresses bounce" } });
        await put({ ...OPERATOR_PUT_ITEM, PK: { S: "ROUTE#*" }, recipient: { S: "*" }, action: { S: "store" }, description: { S: "Everything else is kept in S3" } });
        await put({ ...OPERATOR_PUT_ITEM, PK: { S: "ROUTE#broken@example.com" }, action: { S: "teleport" } });
        await put({ ...OPERATOR_PUT_ITEM, PK: { S: "ROUTE#off@example.com" }, enabled: { BOOL: false } });
        // The predecessor's list form (the item), in the same table as the single form.
        const base = Object.fromEntries(Object.entries(OPERATOR_PUT_ITEM).filter(([name]) => name !== "action" && name !== "target"));
        const forward = (target: string, labels: string[] = []) => ({ M: { type: { S: "forward-to-gmail" }, target: { S: target }, ...(labels.length ? { labels: { L: labels.map((l) => ({ S: l })) } } : {}) } });
        const listItem = (pattern: string, ...actions: unknown[]) => put({ ...base, PK: { S: `ROUTE#${pattern}` }, recipient: { S: pattern }, actions: { L: actions }, metadata: { S: "{}" } });
        await listItem("team@example.com", forward("me@gmail.com"), forward("team@gmail.com", ["Label_7"]), { M: { type: { S: "store" } } });
        await listItem("jmap@example.com", forward("me@gmail.com"), { M: { type: { S: "deliver-to-jmap" }, target: { S: "inbox-1" } } });
        await listItem("contra@example.com", forward("me@gmail.com"), { M: { type: { S: "bounce" } } });
        await listItem("quiet@example.com", { M: { type: { S: "silent-drop" } } });
        await put({ ...OPERATOR_PUT_ITEM, PK: { S: "ROUTE#both@example.com" }, actions: { L: [forward("team@gmail.com")] } });
    });
    after(() => local.close());
    beforeEach(() => {
        clock = 1_000_000;
        invalid = [];
    });

    it("resolves exact, +tag, *@domain and * for a whole batch in one BatchGetItem", async () => {
        const rules = store();
        const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ recipients: ["support@example.com", "support+urgent@example.com", "nobody@example.com", "someone@elsewhere.org"] })));
        const ruleMap = await rules.rulesFor(mail.recipients);
        expect(rules.roundTrips).to.equal(1);
        expect(decide(mail, ruleMap, DEFAULT_ROUTER_SETTINGS).map((d) => [d.action, d.target, d.recipients])).to.deep.equal([
            ["forward-to-gmail", "your-email@gmail.com", ["support@example.com", "support+urgent@example.com"]],
            ["bounce", undefined, ["nobody@example.com"]],
            ["store", undefined, ["someone@elsewhere.org"]],
        ]);
    });

    it("skips a malformed rule visibly (reported, named in the reason) and falls through; a disabled rule falls through", async () => {
        const ruleMap = await store().rulesFor(["broken@example.com", "off@example.com"]);
        const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ recipients: ["broken@example.com", "off@example.com"] })));
        const teleport = 'action "teleport" is not an action ses-mail implements (forward-to-gmail, bounce, store, drop; silent-drop is read as drop)';
        expect(decide(mail, ruleMap, DEFAULT_ROUTER_SETTINGS).map((d) => [d.action, d.recipients, d.reason])).to.deep.equal([
            ["bounce", ["broken@example.com"], `rule:*@example.com; rule:broken@example.com invalid: ${teleport}`],
            ["bounce", ["off@example.com"], "rule:*@example.com"],
        ]);
        expect(invalid).to.deep.equal([["broken@example.com", teleport]]);
    });

    it("both forms in one table, one BatchGetItem: several forward targets with labels per action and store; silent-drop is drop; actions wins over action", async () => {
        const rules = store();
        const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ recipients: ["team@example.com", "support@example.com", "quiet@example.com", "both@example.com"] })));
        const ruleMap = await rules.rulesFor(mail.recipients);
        expect(rules.roundTrips).to.equal(1);
        expect(decide(mail, ruleMap, DEFAULT_ROUTER_SETTINGS).map((d) => [d.action, d.target, d.recipients, d.labels, d.reason])).to.deep.equal([
            ["forward-to-gmail", "me@gmail.com", ["team@example.com"], [], "rule:team@example.com"],
            ["forward-to-gmail", "team@gmail.com", ["team@example.com"], ["Label_7"], "rule:team@example.com"],
            ["store", undefined, ["team@example.com"], [], "rule:team@example.com"],
            ["forward-to-gmail", "your-email@gmail.com", ["support@example.com"], [], "rule:support@example.com"],
            ["drop", undefined, ["quiet@example.com"], [], "rule:quiet@example.com"],
            ["forward-to-gmail", "team@gmail.com", ["both@example.com"], [], "rule:both@example.com"],
        ]);
        expect(invalid).to.deep.equal([]);
    });

    it("unsupported and contradictory actions: the rule is reported invalid, skipped visibly, counted as RoutingRuleInvalid per pattern and in total", async () => {
        const metrics: string[] = [];
        const errors: Record<string, unknown>[] = [];
        const records = pipeBatch(receiptNotification({ messageId: "m1", recipients: ["jmap@example.com", "contra@example.com", "jmap+x@example.com"] }), receiptNotification({ messageId: "m2", recipients: ["jmap@example.com"] }));
        const outputs = await route(records, store(), DEFAULT_ROUTER_SETTINGS, {
            log: () => undefined,
            error: (message, fields) => errors.push({ message, ...fields }),
            metric: (name, dimensions) => metrics.push(dimensions ? `${name}:${JSON.stringify(dimensions)}` : name),
        });
        const jmap = 'actions[1].type "deliver-to-jmap" is not an action ses-mail implements (forward-to-gmail, bounce, store, drop; silent-drop is read as drop)';
        const contra = "actions: forward-to-gmail and bounce contradict each other (store may go with anything; forward-to-gmail, bounce and drop exclude each other)";
        expect((outputs[0] as RoutingEvent).decisions.map((d) => [d.action, d.recipients, d.reason])).to.deep.equal([
            ["bounce", ["jmap@example.com", "jmap+x@example.com"], `rule:*@example.com; rule:jmap@example.com invalid: ${jmap}`],
            ["bounce", ["contra@example.com"], `rule:*@example.com; rule:contra@example.com invalid: ${contra}`],
        ]);
        expect(errors).to.deep.equal([
            { message: "Invalid routing rule skipped", messageId: "m1", pattern: "jmap@example.com", reason: jmap, recipient: "jmap@example.com,jmap+x@example.com" },
            { message: "Invalid routing rule skipped", messageId: "m1", pattern: "contra@example.com", reason: contra, recipient: "contra@example.com" },
            { message: "Invalid routing rule skipped", messageId: "m2", pattern: "jmap@example.com", reason: jmap, recipient: "jmap@example.com" },
        ]);
        expect(metrics.filter((m) => m.startsWith("RoutingRuleInvalid"))).to.deep.equal([
            'RoutingRuleInvalid:{"pattern":"jmap@example.com"}', "RoutingRuleInvalid",
            'RoutingRuleInvalid:{"pattern":"contra@example.com"}', "RoutingRuleInvalid",
            'RoutingRuleInvalid:{"pattern":"jmap@example.com"}', "RoutingRuleInvalid",
        ]);
        expect(invalid.map(([pattern]) => pattern).sort()).to.deep.equal(["contra@example.com", "jmap@example.com"]);
    });

    it("caches rules and their absence for the TTL, then reads again", async () => {
        const rules = store();
        await rules.rulesFor(["support@example.com"]);
        await rules.rulesFor(["support@example.com"]);
        expect(rules.roundTrips).to.equal(1);
        clock += 60_001;
        await rules.rulesFor(["support@example.com"]);
        expect(rules.roundTrips).to.equal(2);
    });

    it("never caches a failed read", async () => {
        const rules = new RuleStore({ tableName: "no-such-table", client: local.client, now: () => clock });
        for (let i = 0; i < 2; i++) {
            let failed = false;
            await rules.rulesFor(["a@example.com"]).catch(() => (failed = true));
            expect(failed).to.equal(true);
        }
        expect(rules.roundTrips).to.equal(2);
    });

    it("a batch with an unreadable message still routes the others and emits one invalid event for the DLQ, in order", async () => {
        const metrics: string[] = [];
        const errors: Record<string, unknown>[] = [];
        const records = pipeBatch(receiptNotification({ recipients: ["support@example.com"], spam: "FAIL", virus: "PASS" }), "not json", receiptNotification({ messageId: "m2", recipients: ["x@example.com"] }));
        const outputs = await route(records, store(), DEFAULT_ROUTER_SETTINGS, {
            log: () => undefined,
            error: (_m, fields) => errors.push(fields),
            metric: (name, dimensions) => metrics.push(dimensions ? `${name}:${Object.values(dimensions).join(",")}` : name),
        });
        expect(outputs.map((o) => o.decisions.map((d) => d.action))).to.deep.equal([["drop"], ["invalid"], ["bounce"]]);
        expect(outputs[1]).to.deep.include({ sqsMessageId: records[1].messageId, body: "not json", bodyTruncated: false });
        expect((outputs[1] as InvalidRoutingEvent).reason).to.match(/not JSON/);
        expect(errors).to.have.length(1);
        expect(metrics.sort()).to.deep.equal(["EmailsReceived", "EmailsReceived", "RouterInvalidMessage", "RoutingDecision:bounce", "RoutingDecision:drop", "SpamDetected"]);
    });

    describe("cache bound", () => {
        const bounded = (maxCacheEntries: number) => new RuleStore({ tableName: table, client: local.client, now: () => clock, cacheTtlMs: 60_000, maxCacheEntries });

        it("holds at most maxCacheEntries patterns, evicting the least recently used", async () => {
            const rules = bounded(6);
            await rules.rulesFor(["a@example.com"]); // a@example.com, *@example.com, *
            await rules.rulesFor(["b@other.org"]); // b@other.org, *@other.org (* cached)
            expect([rules.cacheSize, rules.roundTrips]).to.deep.equal([5, 2]);
            await rules.rulesFor(["a@example.com"]); // all cached: a, *@example.com and * become the most recent
            expect(rules.roundTrips).to.equal(2);
            await rules.rulesFor(["c@third.net"]); // c@third.net, *@third.net: 7 > 6, b@other.org (least recent) goes
            expect([rules.cacheSize, rules.roundTrips]).to.deep.equal([6, 3]);
            await rules.rulesFor(["a@example.com", "c@third.net"]);
            expect(rules.roundTrips).to.equal(3);
            await rules.rulesFor(["b@other.org"]);
            expect(rules.roundTrips).to.equal(4);
            expect(rules.cacheSize).to.equal(6);
        });

        it("a batch needing more patterns than the bound still gets every rule", async () => {
            const rules = bounded(2);
            const ruleMap = await rules.rulesFor(["support@example.com", "x@example.com", "y@elsewhere.org"]);
            const action = (pattern: string) => (ruleMap.get(pattern) as RouteRule | undefined)?.action;
            expect([action("support@example.com"), action("*@example.com"), action("*"), ruleMap.has("y@elsewhere.org")]).to.deep.equal(["forward-to-gmail", "bounce", "store", true]);
            expect(rules.cacheSize).to.equal(2);
        });

        it("drops expired entries", async () => {
            const rules = bounded(10_000);
            await rules.rulesFor(["a@example.com", "b@example.com"]);
            expect(rules.cacheSize).to.equal(4);
            clock += 60_000;
            await rules.rulesFor(["c@other.org"]);
            expect(rules.cacheSize).to.equal(3);
        });

        it("defaults to 10,000 patterns", async () => {
            const rules = store();
            // exact and untagged for each, 7 domains and *: 10,208 patterns
            await rules.rulesFor(Array.from({ length: 5_100 }, (_, i) => `u${i}+t@d${i % 7}.example`));
            expect(rules.roundTrips).to.equal(103);
            expect(rules.cacheSize).to.equal(10_000);
        });
    });

    describe("one mail to 60 recipients across exact, +tag, *@domain and * rules", () => {
        before(async () => {
            await put({ ...OPERATOR_PUT_ITEM, PK: { S: "ROUTE#sales@example.com" }, target: { S: "sales-team@gmail.com" }, labels: { L: [{ S: "Label_9" }] } });
            await put({ ...OPERATOR_PUT_ITEM, PK: { S: "ROUTE#noreply@example.com" }, action: { S: "drop" } });
            await put({ ...OPERATOR_PUT_ITEM, PK: { S: "ROUTE#archive@example.com" }, action: { S: "store" } });
            await put({ ...OPERATOR_PUT_ITEM, PK: { S: "ROUTE#*@drop.example.org" }, action: { S: "drop" } });
            await put({ ...OPERATOR_PUT_ITEM, PK: { S: "ROUTE#*@forward.example.org" }, target: { S: "catch-all@gmail.com" } });
        });

        /** Recipient i of mail m, and the decision it must land in (action, target, labels). */
        const forms: ((m: number, i: number) => [string, string])[] = [
            (m, i) => [i === 0 ? "support@example.com" : `support+m${m}t${i}@example.com`, "forward-to-gmail your-email@gmail.com "],
            (m, i) => [i === 1 ? "Sales@Example.com" : `sales+m${m}t${i}@example.com`, "forward-to-gmail sales-team@gmail.com Label_9"],
            (m, i) => [i === 2 ? "noreply@example.com" : `noreply+m${m}t${i}@example.com`, "drop  "],
            (m, i) => [`archive+m${m}t${i}@example.com`, "store  "],
            (m, i) => [`u${m}-${i}@example.com`, "bounce  "],
            (m, i) => [`u${m}-${i}@DROP.example.org`, "drop  "],
            (m, i) => [`u${m}-${i}@forward.example.org`, "forward-to-gmail catch-all@gmail.com "],
            (m, i) => [`u${m}-${i}@elsewhere.net`, "store  "],
        ];
        const mail = (m: number) => Array.from({ length: 60 }, (_, i) => forms[i % forms.length](m, i));
        const key = (d: RoutingDecision) => `${d.action} ${d.target ?? ""} ${d.labels.join(",")}`;
        /** Decisions are per (action, target, labels, reason): those of one kind together. */
        const byKind = (decisions: RoutingDecision[]) => {
            const kinds = new Map<string, string[]>();
            for (const d of decisions) kinds.set(key(d), [...(kinds.get(key(d)) ?? []), ...d.recipients].sort());
            return kinds;
        };

        async function routeMails(count: number) {
            const rules = store();
            const logged: Record<string, unknown>[] = [];
            const records = pipeBatch(...Array.from({ length: count }, (_, m) => receiptNotification({ messageId: `mail-${m}`, recipients: mail(m).map(([r]) => r) })));
            const outputs = await route(records, rules, DEFAULT_ROUTER_SETTINGS, { log: (_m, fields) => logged.push(fields), error: () => undefined, metric: () => undefined });
            return { outputs, logged, rules };
        }

        function expectEvery(event: RoutingEvent, m: number) {
            expect(event.messageId).to.equal(`mail-${m}`);
            const expected = new Map<string, string[]>();
            for (const [recipient, decision] of mail(m)) expected.set(decision, [...(expected.get(decision) ?? []), recipient.replace(/@.*$/, (d) => d.toLowerCase())].sort());
            expect(byKind(event.decisions)).to.deep.equal(expected);
            expect(event.decisions.flatMap((d) => d.recipients)).to.have.length(60);
        }

        it("one mail: one event, six decisions covering all 60 recipients, each logged", async () => {
            const { outputs, logged } = await routeMails(1);
            expect(outputs).to.have.length(1);
            expectEvery(outputs[0] as RoutingEvent, 0);
            expect([...new Set(logged.map((l) => `${l.messageId} ${l.action} ${l.target}`))].map((l) => l.split(" ").map((p) => (p === "undefined" ? undefined : p)))).to.have.deep.members([
                ["mail-0", "forward-to-gmail", "your-email@gmail.com"], ["mail-0", "forward-to-gmail", "sales-team@gmail.com"], ["mail-0", "forward-to-gmail", "catch-all@gmail.com"],
                ["mail-0", "drop", undefined], ["mail-0", "store", undefined], ["mail-0", "bounce", undefined],
            ]);
        });

        it("ten such mails in one batch: exactly 10 entries, in order, every decision present, each under the PutEvents entry limit", async () => {
            const { outputs, rules } = await routeMails(10);
            expect(outputs).to.have.length(10);
            outputs.forEach((out, m) => expectEvery(out as RoutingEvent, m));
            // Every candidate of 600 recipients, 100 keys per BatchGetItem.
            expect(rules.roundTrips).to.equal(Math.ceil(rules.cacheSize / 100));
            for (const out of outputs) expect(Buffer.byteLength(JSON.stringify(out))).to.be.below(256 * 1024);
        });
    });
});
