import { GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { IAMClient } from "@aws-sdk/client-iam";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import type { Context, DynamoDBStreamEvent, ScheduledEvent, SNSEvent } from "aws-lambda";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { smtpCredentialAlarms } from "../../../components/alarm-specs";
import { FeedbackPipeline } from "../../../components/feedback-pipeline";
import { SmtpCredentials } from "../../../components/smtp-credentials";
import { SuppressionStore } from "../../../components/suppression-store";
import { SenderReputation } from "../../../functions/shared/sender-reputation";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { runUnderMocks } from "../../support/mocks";
import { captureOutput, metricPoints } from "../../support/output";

describe("SMTP credential manager handler (dynalite, IAM refusing everything)", () => {
    let local: LocalDynamo;
    let iam: AwsClientStub<IAMClient>;
    let handler: (event: DynamoDBStreamEvent | SNSEvent | ScheduledEvent, context: Context) => Promise<unknown>;
    let sendersTable: string;
    const saved = { ...process.env };
    const context = { functionName: "ses-mail-smtp-credential-manager-fn-test", awsRequestId: "r", getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
    const item = { PK: "SMTP_USER#app-sender", SK: "CREDENTIALS#v1", allowed_senders: ["app@example.com"], status: "pending" };
    let tableName: string;

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new SmtpCredentials("smtp", { env: "test", homeRegion: "us-east-1", identityArns: ["arn:aws:ses:us-east-1:123456789012:identity/example.com"] }));
        const table = await createTableFrom(local, plan.one("aws:dynamodb/table:Table"));
        tableName = table;
        await local.client.send(new PutItemCommand({ TableName: table, Item: marshall(item) }));
        // FeedbackPipeline's senders table: the manager disables SMTP users of restricted senders (#15.6).
        const feedback = await runUnderMocks(() => new FeedbackPipeline("feedback", { env: "test", suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        sendersTable = await createTableFrom(local, feedback.plan.one("aws:dynamodb/table:Table", "feedback-senders"));
        Object.assign(process.env, plan.one("aws:lambda/function:Function").inputs.environment.variables, { SENDERS_TABLE_NAME: sendersTable }, {
            AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local",
        });
        iam = mockClient(IAMClient);
        iam.onAnyCommand().rejects(Object.assign(new Error("Rate exceeded"), { name: "Throttling", $metadata: { httpStatusCode: 400 } }));
        ({ handler } = await import("../../../functions/smtp-credential-manager/handler"));
    });
    after(async () => {
        iam.restore();
        process.env = saved;
        await local.close();
    });

    it("a failed reconcile is a partial batch failure and publishes exactly the series the failures alarm watches", async () => {
        const event = { Records: [{ eventID: "1", eventName: "INSERT", dynamodb: { SequenceNumber: "100", Keys: marshall({ PK: item.PK, SK: item.SK }), NewImage: marshall(item) } }] } as unknown as DynamoDBStreamEvent;
        const { result, lines } = await captureOutput(() => handler(event, context));
        expect(result).to.deep.equal({ batchItemFailures: [{ itemIdentifier: "100" }] });
        const alarm = smtpCredentialAlarms("test").find((a) => a.name === "ses-mail-smtp-credential-failures-test")!.metric!;
        const points = metricPoints(lines).filter((p) => p.name === alarm.metricName);
        expect(points.map((p) => p.dimensions)).to.deep.equal([alarm.dimensions]);
        const namespaces = lines.flatMap((l: any) => (l._aws?.CloudWatchMetrics ?? []).filter((d: any) => d.Metrics.some((m: any) => m.Name === alarm.metricName)).map((d: any) => d.Namespace));
        expect([...new Set(namespaces)]).to.deep.equal([alarm.namespace]);
    });

    it("a record it can never accept is marked failed and publishes exactly the series the refused alarm watches", async () => {
        const bad = { PK: "SMTP_USER#bad-sender", SK: "CREDENTIALS#v1", allowed_senders: ["not an address"], status: "pending" };
        await local.client.send(new PutItemCommand({ TableName: tableName, Item: marshall(bad) }));
        const event = { Records: [{ eventID: "2", eventName: "INSERT", dynamodb: { SequenceNumber: "200", Keys: marshall({ PK: bad.PK, SK: bad.SK }), NewImage: marshall(bad) } }] } as unknown as DynamoDBStreamEvent;
        const { result, lines } = await captureOutput(() => handler(event, context));
        expect(result).to.deep.equal({ batchItemFailures: [] });
        const alarm = smtpCredentialAlarms("test").find((a) => a.name === "ses-mail-smtp-credential-refused-test")!.metric!;
        expect(metricPoints(lines).filter((p) => p.name === alarm.metricName).map((p) => p.dimensions)).to.deep.equal([alarm.dimensions]);
    });

    it("the sweep publishes the stuck count in the series the stuck alarm watches, 0 included", async () => {
        const { lines } = await captureOutput(() => handler({ "detail-type": "Scheduled Event", source: "aws.events" } as unknown as ScheduledEvent, context));
        const alarm = smtpCredentialAlarms("test").find((a) => a.name === "ses-mail-smtp-credential-stuck-test")!.metric!;
        const points = metricPoints(lines).filter((p) => p.name === alarm.metricName);
        expect(points.map((p) => [p.value, p.dimensions])).to.deep.equal([[0, alarm.dimensions]]);
    });
    it("a restriction announced on the notifications topic (SNS → Lambda) disables the SMTP users of that sender", async () => {
        const senders = new SenderReputation({ tableName: sendersTable, client: local.client });
        await senders.restrict("app@example.com", { operator: "arn:aws:sts::123456789012:assumed-role/Ops/alice", reason: "bought list" });
        const announced: string[] = [];
        await senders.settle("app@example.com", async (t) => void announced.push(JSON.stringify(t)));
        const event = { Records: [{ EventSource: "aws:sns", Sns: { Message: announced[0], MessageAttributes: { state: { Type: "String", Value: "restricted" } } } }] } as unknown as SNSEvent;
        const { result } = await captureOutput(() => handler(event, context));
        expect(result).to.deep.equal({ disabled: 1 });
        const { Item } = await local.client.send(new GetItemCommand({ TableName: process.env.TABLE_NAME!, Key: marshall({ PK: item.PK, SK: item.SK }), ConsistentRead: true }));
        expect(unmarshall(Item!)).to.deep.include({ status: "disabled", disabled_by_restriction: "app@example.com" });
    });
});
