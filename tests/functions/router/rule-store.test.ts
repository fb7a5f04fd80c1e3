import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { MailIngest } from "../../../components/mail-ingest";
import { SuppressionStore } from "../../../components/suppression-store";
import { decide, DEFAULT_ROUTER_SETTINGS } from "../../../functions/router/decide";
import { parseReceiptNotification } from "../../../functions/router/notification";
import { route } from "../../../functions/router/route";
import { RuleStore } from "../../../functions/router/rule-store";
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

    it("skips a malformed rule with the reason and falls through; a disabled rule falls through", async () => {
        const ruleMap = await store().rulesFor(["broken@example.com", "off@example.com"]);
        const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ recipients: ["broken@example.com", "off@example.com"] })));
        expect(decide(mail, ruleMap, DEFAULT_ROUTER_SETTINGS).map((d) => [d.action, d.reason])).to.deep.equal([["bounce", "rule:*@example.com"]]);
        expect(invalid).to.deep.equal([["broken@example.com", 'action "teleport" is not one of forward-to-gmail, bounce, store, drop']]);
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

    it("a batch with an unreadable message still routes the others and emits an invalid event for the DLQ", async () => {
        const metrics: string[] = [];
        const errors: Record<string, unknown>[] = [];
        const outputs = await route(pipeBatch(receiptNotification({ recipients: ["support@example.com"], spam: "FAIL", virus: "PASS" }), "not json", receiptNotification({ messageId: "m2", recipients: ["x@example.com"] })), store(), DEFAULT_ROUTER_SETTINGS, {
            log: () => undefined,
            error: (_m, fields) => errors.push(fields),
            metric: (name, dimensions) => metrics.push(dimensions ? `${name}:${Object.values(dimensions).join(",")}` : name),
        });
        expect(outputs.map((o) => o.action)).to.deep.equal(["drop", "invalid", "bounce"]);
        expect(outputs[1]).to.deep.include({ action: "invalid", body: "not json" });
        expect((outputs[1] as { reason: string }).reason).to.match(/not JSON/);
        expect(errors).to.have.length(1);
        expect(metrics.sort()).to.deep.equal(["EmailsReceived", "EmailsReceived", "RouterInvalidMessage", "RoutingDecision:bounce", "RoutingDecision:drop", "SpamDetected"]);
    });
});
