// Issue #15 point 6 in the components: the senders table's state index (listing without a Scan) and
// SmtpCredentials' wiring to the sender reputation (filtered SNS subscription, least-privilege reads).
import { expect } from "chai";
import { FeedbackPipeline } from "../../components/feedback-pipeline";
import { SmtpCredentials } from "../../components/smtp-credentials";
import { SuppressionStore } from "../../components/suppression-store";
import { simulate } from "../support/iam-simulator";
import { MOCK_ACCOUNT, runUnderMocks } from "../support/mocks";

const IDENTITY = `arn:aws:ses:us-east-1:${MOCK_ACCOUNT}:identity/example.com`;
const SENDERS_ARN = `arn:aws:dynamodb:us-east-1:${MOCK_ACCOUNT}:table/ses-mail-sender-reputation-test`;
const TOPIC_ARN = `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:ses-mail-sender-notifications-test`;
const reputation = { tableName: "ses-mail-sender-reputation-test", tableArn: SENDERS_ARN, notificationsTopicArn: TOPIC_ARN };

describe("FeedbackPipeline: the senders table's state index", () => {
    it("keys the state items by state and sender; the table's own key and name are unchanged (an in-place update)", async () => {
        const { plan } = await runUnderMocks(() => new FeedbackPipeline("feedback", { env: "test", suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        const table = plan.one("aws:dynamodb/table:Table", "feedback-senders").inputs;
        // Only name, hashKey, rangeKey and local secondary indexes force a new table; global secondary
        // indexes and attributes are updated in place (terraform-provider-aws internal/service/dynamodb/table.go,
        // the schema pulumi-aws bridges: ForceNew on those four only), by UpdateTable's
        // GlobalSecondaryIndexUpdates Create, which "add[s] a new global secondary index to an existing
        // table" and backfills it (DynamoDB API Reference, UpdateTable / GlobalSecondaryIndexUpdate).
        expect({ name: table.name, hashKey: table.hashKey, rangeKey: table.rangeKey, lsi: table.localSecondaryIndexes }).to.deep.equal({ name: "ses-mail-sender-reputation-test", hashKey: "pk", rangeKey: "sk", lsi: undefined });
        expect(table.globalSecondaryIndexes).to.deep.equal([{ name: "state-index", keySchemas: [{ attributeName: "state", keyType: "HASH" }, { attributeName: "sender", keyType: "RANGE" }], projectionType: "ALL" }]);
        // Attribute definitions are exactly the key attributes of the table and its index.
        expect(table.attributes).to.deep.equal([{ name: "pk", type: "S" }, { name: "sk", type: "S" }, { name: "state", type: "S" }, { name: "sender", type: "S" }]);
    });
});

describe("SmtpCredentials with the sender reputation", () => {
    const build = (withReputation: boolean) => runUnderMocks(() => new SmtpCredentials("smtp", {
        env: "test", homeRegion: "us-east-1", identityArns: [IDENTITY], ...(withReputation ? { senderReputation: reputation } : {}),
    }));

    it("subscribes the manager to restrictions only, after SNS may invoke it (from that topic only)", async () => {
        const { plan } = await build(true);
        const subscription = plan.one("aws:sns/topicSubscription:TopicSubscription", "smtp-restricted-senders");
        const permission = plan.one("aws:lambda/permission:Permission", "smtp-restricted-senders-permission");
        const manager = plan.one("aws:lambda/function:Function");
        expect(subscription.inputs).to.deep.include({ topic: TOPIC_ARN, protocol: "lambda", endpoint: manager.state.arn, filterPolicyScope: "MessageAttributes" });
        expect(JSON.parse(subscription.inputs.filterPolicy)).to.deep.equal({ state: ["restricted"] });
        expect(subscription.dependencies).to.include(permission.urn);
        expect(permission.inputs).to.deep.include({ action: "lambda:InvokeFunction", principal: "sns.amazonaws.com", sourceArn: TOPIC_ARN });
        expect(manager.inputs.environment.variables.SENDERS_TABLE_NAME).to.equal("ses-mail-sender-reputation-test");
    });

    it("the manager may read a sender's state item and query the state index: nothing else of that table, no write", async () => {
        const { plan } = await build(true);
        const role = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "smtp-manager-policy"), "policy");
        const principal = `arn:aws:iam::${MOCK_ACCOUNT}:role/ses-mail-smtp-credential-manager-test`;
        const decide = (action: string, resource: string, context: Record<string, string | string[]> = {}) => simulate({ identity: [role] }, { principal, action, resource, context });
        expect(await decide("dynamodb:GetItem", SENDERS_ARN, { "dynamodb:LeadingKeys": ["SENDER#bad@example.com"] })).to.equal("Allowed");
        expect(await decide("dynamodb:Query", `${SENDERS_ARN}/index/state-index`)).to.equal("Allowed");
        expect(await decide("dynamodb:GetItem", SENDERS_ARN, { "dynamodb:LeadingKeys": ["SENDING#config"] })).to.equal("ImplicitlyDenied");
        for (const action of ["dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]) {
            expect(await decide(action, SENDERS_ARN, { "dynamodb:LeadingKeys": ["SENDER#bad@example.com"] }), action).to.equal("ImplicitlyDenied");
        }
    });

    it("without it: no subscription, no permission, no access to the senders table", async () => {
        const { plan } = await build(false);
        expect(plan.ofType("aws:sns/topicSubscription:TopicSubscription")).to.deep.equal([]);
        expect(plan.ofType("aws:lambda/permission:Permission").map((p) => p.name)).to.deep.equal(["smtp-sweep-permission"]);
        expect(JSON.stringify(plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "smtp-manager-policy"), "policy"))).to.not.contain("sender-reputation");
        expect(plan.one("aws:lambda/function:Function").inputs.environment.variables).to.not.have.property("SENDERS_TABLE_NAME");
    });
});
