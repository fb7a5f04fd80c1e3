import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import type { Context, SQSRecord } from "aws-lambda";
import { expect } from "chai";
import { MailIngest } from "../../../components/mail-ingest";
import { SuppressionStore } from "../../../components/suppression-store";
import type { RouterOutput } from "../../../functions/router/route";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { runUnderMocks } from "../../support/mocks";
import { captureOutput, emittedMetrics, metricPoints } from "../../support/output";
import { routingRuleInvalidAlarm } from "../../../components/alarm-specs";
import { OPERATOR_PUT_ITEM, pipeBatch, receiptNotification } from "../../fixtures/ses-receipt";

describe("router handler (Pipes enrichment, dynalite)", () => {
    let local: LocalDynamo;
    let handler: (records: SQSRecord[], context: Context) => Promise<RouterOutput[]>;
    const saved = { ...process.env };
    const context = { functionName: "ses-mail-router-test", awsRequestId: "r", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new MailIngest("ingest", { env: "rh", domains: ["example.com"], suppressionStore: new SuppressionStore("s", { env: "rh" }) }));
        const table = await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "ingest-routing"));
        await local.client.send(new PutItemCommand({ TableName: table, Item: OPERATOR_PUT_ITEM as never }));
        // A list-form rule with an action type ses-mail does not implement: invalid.
        const base = Object.fromEntries(Object.entries(OPERATOR_PUT_ITEM).filter(([name]) => name !== "action" && name !== "target"));
        await local.client.send(new PutItemCommand({ TableName: table, Item: { ...base, PK: { S: "ROUTE#jmap@example.com" }, actions: { L: [{ M: { type: { S: "deliver-to-jmap" } } }] } } as never }));
        Object.assign(process.env, plan.one("aws:lambda/function:Function", "ingest-router").inputs.environment.variables, {
            AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local",
        });
        ({ handler } = await import("../../../functions/router/handler"));
    });
    after(async () => {
        process.env = saved;
        await local.close();
    });

    it("returns one routing event per record with all its decisions, and logs each decision with the message id", async () => {
        const records = pipeBatch(receiptNotification({ recipients: ["support@example.com", "nobody@example.com"] }), "garbage");
        const { result, lines } = await captureOutput(() => handler(records, context));
        expect(result.map((o) => o.decisions.map((d) => [d.action, "target" in d ? d.target : undefined, d.recipients]))).to.deep.equal([
            [["forward-to-gmail", "your-email@gmail.com", ["support@example.com"]], ["store", undefined, ["nobody@example.com"]]],
            [["invalid", undefined, []]],
        ]);
        const decisions = lines.filter((l: any) => l.message === "Routing decision") as any[];
        expect(decisions.map((l) => [l.service, l.messageId, l.action, l.target, l.recipient, l.reason])).to.deep.equal([
            ["router", "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1", "forward-to-gmail", "your-email@gmail.com", "support@example.com", "rule:support@example.com"],
            ["router", "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1", "store", undefined, "nobody@example.com", "default"],
        ]);
        const invalid = lines.find((l: any) => l.message === "Unreadable message sent to the input DLQ") as any;
        expect([invalid.level, invalid.sqsMessageId, invalid.reason]).to.deep.equal(["ERROR", records[1].messageId, "Message body is not JSON: garbage"]);
        expect(emittedMetrics(lines)).to.deep.include({ EmailsReceived: 1, RouterInvalidMessage: 1 });
    });

    it("an invalid rule: an error log with the pattern, RoutingRuleInvalid per pattern and in exactly the series the alarm watches", async () => {
        const records = pipeBatch(receiptNotification({ messageId: "m-jmap", recipients: ["jmap@example.com", "support@example.com"] }));
        const { result, lines } = await captureOutput(() => handler(records, context));
        expect(result[0].decisions.map((d) => [d.action, d.recipients, d.reason.replace(/ invalid: .*/, " invalid: …")])).to.deep.equal([
            ["store", ["jmap@example.com"], "default; rule:jmap@example.com invalid: …"],
            ["forward-to-gmail", ["support@example.com"], "rule:support@example.com"],
        ]);
        const logged = lines.find((l: any) => l.message === "Invalid routing rule skipped") as any;
        expect([logged.level, logged.service, logged.messageId, logged.pattern, logged.recipient]).to.deep.equal(["ERROR", "router", "m-jmap", "jmap@example.com", "jmap@example.com"]);
        expect(logged.reason).to.match(/^actions\[0\]\.type "deliver-to-jmap" is not an action ses-mail implements/);
        const points = metricPoints(lines).filter((p) => p.name === "RoutingRuleInvalid");
        expect(points.map((p) => [p.value, p.dimensions])).to.have.deep.members([[1, { service: "router", pattern: "jmap@example.com" }], [1, { service: "router" }]]);
        // The alarm's metric is one the router really publishes: same namespace, name and dimensions, exactly.
        const alarm = routingRuleInvalidAlarm("rh").metric!;
        expect(points.map((p) => p.dimensions)).to.deep.include(alarm.dimensions);
        const namespaces = lines.flatMap((l: any) => (l._aws?.CloudWatchMetrics ?? []).filter((d: any) => d.Metrics.some((m: any) => m.Name === "RoutingRuleInvalid")).map((d: any) => d.Namespace));
        expect([...new Set(namespaces)]).to.deep.equal([alarm.namespace]);
    });
});
