// runFeedbackWorker with the real processing (record.ts → process.ts) on dynalite, the queue double
// of sqs-poller-double.ts, stubbed SNS and a recording CloudWatch: the environment comes from the
// component's `externalConsumerEnvironment` (what the manifests put in the pod). SNS delivers a
// notification twice (at-least-once), the first DeleteMessageBatch fails every entry (so each record
// is processed again), a malformed body is poison: records, suppressions and metrics still count
// each notification once, and the poison reaches the DLQ through the queue's redrive.
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { PutMetricDataCommandInput } from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { FeedbackPipeline } from "../../../components/feedback-pipeline";
import { SuppressionStore } from "../../../components/suppression-store";
import { runFeedbackWorker, type FeedbackWorkerOptions } from "../../../functions/feedback-worker/poller";
import * as ses from "../../fixtures/ses-feedback";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { promiseOf, runUnderMocks } from "../../support/mocks";
import { DLQ_URL, QUEUE_URL, queueDouble } from "../../support/sqs-poller-double";

const OIDC = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE";
const silent = { info() {}, warn() {}, error() {}, debug() {} } as unknown as FeedbackWorkerOptions["logger"];

describe("runFeedbackWorker with the real processing (dynalite)", function () {
    this.timeout(120_000);
    let local: LocalDynamo;
    let env: Record<string, string>;
    let tables: { events: string; suppression: string };

    before(async () => {
        local = await startDynalite();
        const { result, plan } = await runUnderMocks(() => new FeedbackPipeline("feedback", {
            env: "hw", builtInWorker: false, externalConsumer: { oidcProviderArn: OIDC, namespace: "mail", serviceAccount: "feedback-worker" },
            suppressionStore: new SuppressionStore("suppression", { env: "hw", tableName: "suppression-hw" }),
        }));
        for (const table of plan.ofType("aws:dynamodb/table:Table")) await createTableFrom(local, table);
        env = await promiseOf(result.externalConsumerEnvironment!);
        tables = { events: env.EVENTS_TABLE_NAME, suppression: env.SUPPRESSION_TABLE_NAME };
    });
    after(() => local.close());

    it("counts each notification once through duplicates, failed deletes and redelivery; poison goes to the DLQ", async () => {
        expect(env).to.include({ POWERTOOLS_METRICS_NAMESPACE: "SESMail/hw", POWERTOOLS_SERVICE_NAME: "feedback-worker", FEEDBACK_QUEUE_URL: env.FEEDBACK_QUEUE_URL });
        let deleteCalls = 0;
        const q = queueDouble({
            seed: 11, partialReceiveRate: 0, maxReceiveCount: 3,
            onDelete: (input, apply) => (++deleteCalls === 1
                ? { Successful: [], Failed: (input.Entries ?? []).map((e) => ({ Id: e.Id, SenderFault: true, Code: "ReceiptHandleIsInvalid" })) }
                : apply(input.Entries ?? [])),
        });
        const bounce = JSON.stringify(ses.sns(ses.bounce("event", "Permanent", "General", [ses.hardRecipient("gone1@example.com"), ses.hardRecipient("gone2@example.com")], { messageId: "pb1" })));
        const bodies = [
            bounce, bounce,
            JSON.stringify(ses.sns(ses.complaint("event", ["angry@example.com"], { complaintFeedbackType: "abuse" }, { messageId: "pc1" }, new Date(q.scheduler.now()).toISOString()))),
            "{not json",
            JSON.stringify(ses.sns(ses.subscriptionSucceeded)),
        ];
        bodies.forEach((body) => q.model.sendMessage({ QueueUrl: QUEUE_URL, MessageBody: body }));

        let inFlight = 0;
        const dynamo = new DynamoDBClient({ endpoint: local.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
        dynamo.middlewareStack.add((next) => async (args) => {
            inFlight += 1;
            try {
                return await next(args);
            } finally {
                inFlight -= 1;
            }
        }, { step: "initialize" });
        const sns = mockClient(SNSClient);
        sns.on(PublishCommand).resolves({ MessageId: "m" });
        const put: PutMetricDataCommandInput[] = [];
        const worker = runFeedbackWorker({
            queueUrl: QUEUE_URL, env, logger: silent, signals: [], clock: q.scheduler,
            clients: { sqs: q.client as never, dynamo, sns: new SNSClient({ region: "us-east-1" }), cloudwatch: { send: async (command: any) => (put.push(command.input), {}) } as never },
        });
        let finished = false;
        void worker.done.then(() => (finished = true));
        try {
            await q.scheduler.runUntil(() => q.model.messages(QUEUE_URL).length === 0, 24 * 3600_000, () => inFlight === 0);
            void worker.stop();
            await q.scheduler.runUntil(() => finished, 60_000, () => inFlight === 0);
        } finally {
            sns.restore();
            dynamo.destroy();
        }

        expect(worker.stats.deleteFailed).to.be.at.least(1);
        expect(worker.stats.succeeded).to.be.greaterThan(bodies.length - 1);
        expect(q.model.messages(DLQ_URL).map((m) => m.body)).to.deep.equal(["{not json"]);
        expect(put.every((p) => p.Namespace === "SESMail/hw")).to.equal(true);
        const data = put.flatMap((p) => p.MetricData ?? []);
        const total = (name: string, dimensions: Record<string, string>) => data
            .filter((d) => d.MetricName === name && JSON.stringify(Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value]))) === JSON.stringify(dimensions))
            .reduce((n, d) => n + (d.Value ?? 0), 0);
        const service = { service: "feedback-worker" };
        expect({
            bounce: total("OutboundBounce", service), hard: total("OutboundBounceHard", service), complaint: total("OutboundComplaint", service),
            suppressedBounce: total("SuppressionAdded", { ...service, reason: "bounce" }), suppressedComplaint: total("SuppressionAdded", { ...service, reason: "complaint" }),
            bounceAggregate: total("OutboundBounce", {}), suppressionAggregate: total("SuppressionAdded", {}),
        }).to.deep.equal({ bounce: 2, hard: 2, complaint: 1, suppressedBounce: 2, suppressedComplaint: 1, bounceAggregate: 2, suppressionAggregate: 3 });
        const suppressed = (await local.client.send(new ScanCommand({ TableName: tables.suppression }))).Items ?? [];
        expect(suppressed.map((i) => i.email?.S ?? i.pk?.S ?? JSON.stringify(i)).length).to.equal(3);
    });
});
