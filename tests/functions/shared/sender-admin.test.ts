import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { FeedbackPipeline } from "../../../components/feedback-pipeline";
import { SuppressionStore } from "../../../components/suppression-store";
import { liftSenderRestriction } from "../../../functions/shared/sender-admin";
import { SenderReputation } from "../../../functions/shared/sender-reputation";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { runUnderMocks } from "../../support/mocks";

describe("liftSenderRestriction (operator action)", () => {
    let local: LocalDynamo;
    let table: string;

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new FeedbackPipeline("feedback", { env: "lift", suppressionStore: new SuppressionStore("s", { env: "lift" }) }));
        table = await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "feedback-senders"));
    });
    after(() => local.close());

    it("lifts, audits and announces; the SNS message names operator and reason", async () => {
        const reputation = new SenderReputation({ tableName: table, client: local.client });
        await reputation.raise("bulk@example.com", "restricted", 6);
        await reputation.settle("bulk@example.com", async () => undefined);
        const sns = new SNSClient({ region: "us-east-1" });
        const stub = mockClient(sns);
        stub.on(PublishCommand).resolves({});
        const transition = await liftSenderRestriction({
            sendersTableName: table, notificationsTopicArn: "arn:aws:sns:us-east-1:123456789012:n", sender: "Bulk@Example.com",
            operator: "bob@ops", reason: "list cleaned, double opt-in added", dynamodb: local.client, sns,
        });
        expect(transition).to.deep.include({ sender: "bulk@example.com", from: "restricted", to: "ok", actor: "bob@ops" });
        expect((await reputation.status("bulk@example.com")).state).to.equal("ok");
        expect((await reputation.audit("bulk@example.com")).map((t) => [t.to, t.actor])).to.deep.equal([["restricted", "feedback-worker"], ["ok", "bob@ops"]]);
        const [published] = stub.commandCalls(PublishCommand).map((c) => c.args[0].input);
        expect(published).to.deep.include({ TopicArn: "arn:aws:sns:us-east-1:123456789012:n", Subject: "ses-mail: sender bulk@example.com is now ok" });
        expect(JSON.parse(published.Message!)).to.deep.include({ from: "restricted", to: "ok", actor: "bob@ops", reason: "list cleaned, double opt-in added" });
        stub.restore();
    });
});
