import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { IAMClient } from "@aws-sdk/client-iam";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { Context, DynamoDBStreamEvent, ScheduledEvent } from "aws-lambda";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { smtpCredentialAlarms } from "../../../components/alarm-specs";
import { SmtpCredentials } from "../../../components/smtp-credentials";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { runUnderMocks } from "../../support/mocks";
import { captureOutput, metricPoints } from "../../support/output";

describe("SMTP credential manager handler (dynalite, IAM refusing everything)", () => {
    let local: LocalDynamo;
    let iam: AwsClientStub<IAMClient>;
    let handler: (event: DynamoDBStreamEvent | ScheduledEvent, context: Context) => Promise<unknown>;
    const saved = { ...process.env };
    const context = { functionName: "ses-mail-smtp-credential-manager-fn-test", awsRequestId: "r", getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
    const item = { PK: "SMTP_USER#app-sender", SK: "CREDENTIALS#v1", allowed_senders: ["app@example.com"], status: "pending" };

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new SmtpCredentials("smtp", { env: "test", homeRegion: "us-east-1", identityArns: ["arn:aws:ses:us-east-1:123456789012:identity/example.com"] }));
        const table = await createTableFrom(local, plan.one("aws:dynamodb/table:Table"));
        await local.client.send(new PutItemCommand({ TableName: table, Item: marshall(item) }));
        Object.assign(process.env, plan.one("aws:lambda/function:Function").inputs.environment.variables, {
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

    it("the sweep publishes the stuck count in the series the stuck alarm watches, 0 included", async () => {
        const { lines } = await captureOutput(() => handler({ "detail-type": "Scheduled Event", source: "aws.events" } as unknown as ScheduledEvent, context));
        const alarm = smtpCredentialAlarms("test").find((a) => a.name === "ses-mail-smtp-credential-stuck-test")!.metric!;
        const points = metricPoints(lines).filter((p) => p.name === alarm.metricName);
        expect(points.map((p) => [p.value, p.dimensions])).to.deep.equal([[0, alarm.dimensions]]);
    });
});
