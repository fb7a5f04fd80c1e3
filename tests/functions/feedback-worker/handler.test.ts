import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { FeedbackPipeline } from "../../../components/feedback-pipeline";
import { SuppressionStore } from "../../../components/suppression-store";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { runUnderMocks } from "../../support/mocks";
import { DEFAULT_RATE_ALARMS, rateAlarmSpecs } from "../../../components/alarm-specs";
import { captureOutput, emittedMetrics, metricSeries } from "../../support/output";
import * as ses from "../../fixtures/ses-feedback";

const context = { functionName: "ses-mail-feedback-worker-test", awsRequestId: "req-1", getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
const TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-mail-sender-notifications-hw";

describe("feedback-worker handler (dynalite + stubbed SNS)", () => {
    let local: LocalDynamo;
    let sns: AwsClientStub<SNSClient>;
    let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
    const saved = { ...process.env };

    async function run(event: SQSEvent) {
        const { result, lines } = await captureOutput(() => handler(event, context));
        const logs = lines.filter((l): l is Record<string, any> => typeof l === "object" && l !== null && "level" in l);
        return { result, logs, metrics: emittedMetrics(lines) };
    }

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new FeedbackPipeline("feedback", { env: "hw", suppressionStore: new SuppressionStore("suppression", { env: "hw", tableName: "suppression-hw" }) }));
        const fn = plan.one("aws:lambda/function:Function", "feedback-worker");
        for (const table of plan.ofType("aws:dynamodb/table:Table")) {
            await createTableFrom(local, table);
        }
        // The function's own environment, as the component sets it, pointed at dynalite.
        Object.assign(process.env, fn.inputs.environment.variables, {
            NOTIFICATIONS_TOPIC_ARN: TOPIC,
            AWS_ENDPOINT_URL_DYNAMODB: local.endpoint,
            AWS_REGION: "us-east-1",
            AWS_ACCESS_KEY_ID: "local",
            AWS_SECRET_ACCESS_KEY: "local",
        });
        sns = mockClient(SNSClient);
        ({ handler } = await import("../../../functions/feedback-worker/handler"));
    });

    after(async () => {
        sns.restore();
        process.env = saved;
        await local.close();
    });

    beforeEach(() => {
        sns.reset();
        sns.on(PublishCommand).resolves({ MessageId: "m" });
    });

    it("processes good messages, ignores SES test messages and fails only the malformed one", async () => {
        const event = ses.sqsEvent(
            ses.sns(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("gone@example.com")], { messageId: "h1" })),
            "{not json",
            ses.sns(ses.subscriptionSucceeded),
            ses.sns(ses.delivery("event", ["fine@example.com"], { messageId: "h2" })),
        );
        const { result, logs, metrics } = await run(event);
        expect(result.batchItemFailures).to.deep.equal([{ itemIdentifier: event.Records[1].messageId }]);
        expect(metrics).to.deep.equal({ OutboundBounce: 1, OutboundBounceHard: 1, SuppressionAdded: 1, OutboundDelivery: 1 });
        const failure = logs.find((l) => l.level === "ERROR");
        expect(failure).to.deep.include({ sqsMessageId: event.Records[1].messageId, receiveCount: "1" });
        expect(failure!.error.message).to.match(/Message body is not JSON/);
        expect(logs.find((l) => l.message === "Processed feedback" && l.messageId === "h1")).to.deep.include({ eventType: "Bounce", newRecords: 1, suppressionsAdded: 1 });
        expect(logs.find((l) => l.message === "Ignored feedback message")?.reason).to.equal("SES subscription test notification");
    });

    it("publishes exactly the series the rate alarms watch, and each also without dimensions (the runbooks' queries)", async () => {
        const mail = (id: string) => ({ messageId: id });
        const event = ses.sqsEvent(
            ses.sns(ses.send(["r1@example.com", "r2@example.com"], mail("rs1"))),
            ses.sns(ses.delivery("event", ["r1@example.com"], mail("rs1"))),
            ses.sns(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("r2@example.com")], mail("rs1"))),
            ses.sns(ses.complaint("event", ["r1@example.com"], { complaintFeedbackType: "abuse" }, mail("rs2"), new Date().toISOString())),
        );
        const { result, lines } = await captureOutput(() => handler(event, context));
        expect(result.batchItemFailures).to.deep.equal([]);
        const series = metricSeries(lines);
        for (const spec of rateAlarmSpecs({ ...DEFAULT_RATE_ALARMS, env: "hw", namespace: "SESMail/hw", applicationNamespace: "SESMail/hw/Application" })) {
            for (const metric of (spec.metrics ?? []).filter((m) => m.namespace === "SESMail/hw")) {
                expect(series.some((s) => s.namespace === metric.namespace && s.name === metric.metricName && JSON.stringify(s.dimensions) === JSON.stringify(metric.dimensions)), `${spec.name}: ${metric.metricName} ${JSON.stringify(metric.dimensions)}`).to.equal(true);
            }
        }
        const total = (name: string, dimensions: Record<string, string>) => series.filter((s) => s.name === name && JSON.stringify(s.dimensions) === JSON.stringify(dimensions)).reduce((n, s) => n + s.value, 0);
        expect([total("OutboundSend", {}), total("OutboundSend", { service: "feedback-worker" })]).to.deep.equal([2, 2]);
        expect([total("SuppressionAdded", {}), total("SuppressionAdded", { service: "feedback-worker", reason: "bounce" }) + total("SuppressionAdded", { service: "feedback-worker", reason: "complaint" })]).to.deep.equal([2, 2]);
    });

    it("announces a sender reaching the complaint threshold on the notifications topic", async () => {
        // The worker counts complaints in the 30 days before now, so these happen now.
        const now = new Date().toISOString();
        const complaints = [1, 2, 3].map((i) => ses.sns(ses.complaint("event", [`angry${i}@example.com`], { complaintFeedbackType: "abuse" }, { messageId: `hc-${i}`, from: "Promo <promo@example.com>" }, now)));
        const { result, metrics } = await run(ses.sqsEvent(...complaints));
        expect(result.batchItemFailures).to.deep.equal([]);
        const publishes = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
        expect(publishes).to.have.length(1);
        expect(publishes[0]).to.deep.include({ TopicArn: TOPIC, Subject: "ses-mail: sender promo@example.com is now flagged" });
        expect(JSON.parse(publishes[0].Message!)).to.deep.include({ sender: "promo@example.com", from: "ok", to: "flagged", complaints: 3 });
        expect(metrics).to.deep.include({ SenderFlagged: 1, OutboundComplaint: 3 });
    });
});
