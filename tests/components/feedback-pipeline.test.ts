import { expect } from "chai";
import { FEEDBACK_EVENT_TYPES, FeedbackPipeline, FeedbackPipelineArgs, resolveFeedbackSettings } from "../../components/feedback-pipeline";
import { SuppressionStore } from "../../components/suppression-store";
import { MOCK_ACCOUNT as ACCOUNT, runUnderMocks } from "../support/mocks";
import { decide } from "../support/policy";

const ARN = {
    queue: `arn:aws:sqs:us-east-1:${ACCOUNT}:ses-mail-feedback-test`,
    topic: `arn:aws:sns:us-east-1:${ACCOUNT}:ses-mail-feedback-test`,
    notifications: `arn:aws:sns:us-east-1:${ACCOUNT}:ses-mail-sender-notifications-test`,
    events: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/ses-mail-feedback-events-test`,
    senders: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/ses-mail-sender-reputation-test`,
    suppression: `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/ses-email-suppression-list`,
    key: `arn:aws:kms:us-east-1:${ACCOUNT}:key/feedback-key-physical`,
    configurationSet: `arn:aws:ses:us-east-1:${ACCOUNT}:configuration-set/ses-mail-outbound-test`,
    identity: `arn:aws:ses:us-east-1:${ACCOUNT}:identity/example.com`,
    oidc: `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC123`,
};

function pipeline(args: Partial<FeedbackPipelineArgs> = {}) {
    return runUnderMocks(() => new FeedbackPipeline("feedback", { env: "test", suppressionStore: new SuppressionStore("suppression", { env: "test" }), domains: ["example.com"], ...args }));
}

describe("FeedbackPipeline", () => {
    it("publishes the domains' own SPF and DMARC records in the zone only when asked (a zone may have them already)", async () => {
        const apex = async (args: Partial<FeedbackPipelineArgs>) => (await pipeline({ hostedZoneId: "Z123", ...args })).plan.ofType("aws:route53/record:Record")
            .filter((r) => r.inputs.name === "example.com" || r.inputs.name === "_dmarc.example.com").map((r) => `${r.inputs.name} ${r.inputs.records[0]}`).sort();
        expect(await apex({})).to.deep.equal([]);
        expect(await apex({ publishDomainSpf: true, dmarcPolicy: "quarantine" })).to.deep.equal(["_dmarc.example.com v=DMARC1; p=quarantine", "example.com v=spf1 include:amazonses.com ~all"]);
    });

    describe("resolveFeedbackSettings", () => {
        it("documents its defaults", () => {
            expect(resolveFeedbackSettings({})).to.deep.equal({
                eventRetentionDays: 90, transientThreshold: 3, transientWindowDays: 7, transientSuppressionDays: 7,
                complaintFlagThreshold: 3, complaintRestrictThreshold: 5, complaintWindowDays: 30,
            });
        });
        it("rejects impossible thresholds with the fix", () => {
            expect(() => resolveFeedbackSettings({ transientThreshold: 0 })).to.throw(/transientThreshold must be a positive whole number \(got 0\)/);
            expect(() => resolveFeedbackSettings({ complaintFlagThreshold: 5, complaintRestrictThreshold: 5 })).to.throw(/complaintRestrictThreshold \(5\) must be above complaintFlagThreshold \(5\)/);
        });
    });

    it("creates a configuration set with reputation metrics and TLS required; whether it sends is left to SES (the brake, operators)", async () => {
        const { plan } = await pipeline({ sesSuppressedReasons: ["BOUNCE", "COMPLAINT"] });
        expect(plan.one("aws:sesv2/configurationSet:ConfigurationSet").inputs).to.deep.include({
            configurationSetName: "ses-mail-outbound-test",
            reputationOptions: { reputationMetricsEnabled: true },
            deliveryOptions: { tlsPolicy: "REQUIRE" },
            suppressionOptions: { suppressedReasons: ["BOUNCE", "COMPLAINT"] },
        });
        // A pause by the emergency brake survives pulumi up (tests/components/sending-guard.test.ts).
        expect(plan.one("aws:sesv2/configurationSet:ConfigurationSet").inputs).to.not.have.property("sendingOptions");
        expect(plan.one("aws:sesv2/emailIdentity:EmailIdentity").inputs.configurationSetName).to.equal("ses-mail-outbound-test");
    });

    it("publishes all seven event types to the KMS-encrypted topic, which only SES for this set and identity may publish to", async () => {
        const { plan } = await pipeline();
        const destination = plan.one("aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination");
        expect(destination.inputs.eventDestination).to.deep.equal({ enabled: true, matchingEventTypes: FEEDBACK_EVENT_TYPES, snsDestination: { topicArn: ARN.topic } });
        expect(FEEDBACK_EVENT_TYPES).to.deep.equal(["SEND", "DELIVERY", "BOUNCE", "COMPLAINT", "REJECT", "DELIVERY_DELAY", "RENDERING_FAILURE"]);
        expect(plan.one("aws:sns/topic:Topic", "feedback-topic").inputs.kmsMasterKeyId).to.equal(ARN.key);
        const policy = plan.json(plan.one("aws:sns/topicPolicy:TopicPolicy", "feedback-topic-policy"), "policy");
        expect(policy.Statement).to.deep.equal([
            { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: ["sns:*"], Resource: [ARN.topic], Condition: { Bool: { "aws:SecureTransport": "false" } } },
            { Effect: "Allow", Principal: { Service: "ses.amazonaws.com" }, Action: ["sns:Publish"], Resource: [ARN.topic], Condition: { ArnEquals: { "aws:SourceArn": [ARN.configurationSet, ARN.identity] } } },
        ]);
    });

    it("uses a rotating customer key that SES may use only for this account", async () => {
        const { plan } = await pipeline();
        const key = plan.one("aws:kms/key:Key");
        expect(key.inputs).to.deep.include({ enableKeyRotation: true, deletionWindowInDays: 30 });
        expect(plan.json(key, "policy").Statement).to.deep.equal([
            { Sid: "AccountAdministersKeyThroughIam", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ["kms:*"], Resource: "*" },
            { Sid: "sesUsesKey", Effect: "Allow", Principal: { Service: "ses.amazonaws.com" }, Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: "*", Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } } },
        ]);
        expect(plan.one("aws:kms/alias:Alias").inputs.name).to.equal("alias/ses-mail-feedback-test");
    });

    it("delivers the topic to the queue (6 × worker timeout visibility, DLQ) that only the topic may send to", async () => {
        const { plan } = await pipeline();
        expect(plan.one("aws:sns/topicSubscription:TopicSubscription").inputs).to.deep.include({ topic: ARN.topic, protocol: "sqs", endpoint: ARN.queue });
        expect(plan.one("aws:sqs/queue:Queue", "feedback-queue").inputs).to.deep.include({ visibilityTimeoutSeconds: 360 });
        const queuePolicy = plan.json(plan.one("aws:sqs/queuePolicy:QueuePolicy", "feedback-queue-policy"), "policy");
        expect(queuePolicy.Statement[1]).to.deep.equal({ Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: ["sqs:SendMessage"], Resource: [ARN.queue], Condition: { ArnEquals: { "aws:SourceArn": [ARN.topic] } } });
    });

    // The index definitions are unchanged on purpose: sharding lives in the type_day values the worker
    // writes (see TYPE_DAY_SHARDS), so deploying it changes no index, no table, no URN.
    it("stores events with TTL and the recipient, type-by-day and complaint-sender indexes", async () => {
        const { plan } = await pipeline();
        const events = plan.one("aws:dynamodb/table:Table", "feedback-events");
        expect(events.inputs).to.deep.include({ name: "ses-mail-feedback-events-test", hashKey: "pk", rangeKey: "sk", ttl: { attributeName: "expires_at", enabled: true }, pointInTimeRecovery: { enabled: true }, serverSideEncryption: { enabled: true } });
        expect(events.inputs.globalSecondaryIndexes.map((g: any) => [g.name, g.keySchemas.map((k: any) => k.attributeName), g.projectionType])).to.deep.equal([
            ["recipient-index", ["recipient", "event_at"], "ALL"],
            ["type-day-index", ["type_day", "event_at"], "ALL"],
            ["complaint-sender-index", ["complaint_sender", "event_at"], "KEYS_ONLY"],
        ]);
        const senders = plan.one("aws:dynamodb/table:Table", "feedback-senders");
        expect(senders.inputs).to.deep.include({ name: "ses-mail-sender-reputation-test", pointInTimeRecovery: { enabled: true } });
        expect(senders.inputs).not.to.have.property("ttl");
    });

    it("gives the worker exactly its queue, its tables, the suppression update, and its topic", async () => {
        const { plan } = await pipeline();
        const statements = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "feedback-worker-policy"), "policy").Statement;
        expect(statements.slice(2)).to.deep.equal([
            { Effect: "Allow", Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"], Resource: [ARN.queue] },
            { Effect: "Allow", Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], Resource: [ARN.events] },
            { Effect: "Allow", Action: ["dynamodb:Query"], Resource: [`${ARN.events}/index/recipient-index`, `${ARN.events}/index/complaint-sender-index`] },
            { Effect: "Allow", Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"], Resource: [ARN.senders] },
            { Effect: "Allow", Action: ["dynamodb:UpdateItem"], Resource: [ARN.suppression] },
            { Effect: "Allow", Action: ["sns:Publish"], Resource: [ARN.notifications] },
            { Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: [ARN.key] },
        ]);
        const mapping = plan.one("aws:lambda/eventSourceMapping:EventSourceMapping");
        expect(mapping.inputs).to.deep.include({ eventSourceArn: ARN.queue, batchSize: 10, functionResponseTypes: ["ReportBatchItemFailures"] });
        const fn = plan.one("aws:lambda/function:Function");
        expect(fn.inputs).to.deep.include({ timeout: 60 });
        expect(fn.inputs.environment.variables).to.deep.include({
            EVENTS_TABLE_NAME: "ses-mail-feedback-events-test", SENDERS_TABLE_NAME: "ses-mail-sender-reputation-test",
            SUPPRESSION_TABLE_NAME: "ses-email-suppression-list", NOTIFICATIONS_TOPIC_ARN: ARN.notifications,
            TRANSIENT_THRESHOLD: "3", COMPLAINT_FLAG_THRESHOLD: "3", COMPLAINT_RESTRICT_THRESHOLD: "5", COMPLAINT_WINDOW_DAYS: "30",
        });
        expect(fn.inputs.environment.variables).not.to.have.property("SENDER_TAG");
    });

    it("lets the worker make exactly the DynamoDB calls it makes (IAM policy simulator)", async () => {
        const { plan } = await pipeline();
        const policy = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "feedback-worker-policy"), "policy");
        const role = `arn:aws:iam::${ACCOUNT}:role/ses-mail-feedback-worker-test`;
        const ask = (action: string, resource: string) => decide({ identity: [policy] }, { principal: role, action, resource });
        const allowed: [string, string][] = [
            ["dynamodb:PutItem", ARN.events], // records
            ["dynamodb:UpdateItem", ARN.events], // counters
            ["dynamodb:GetItem", ARN.events], // a full counter
            ["dynamodb:Query", `${ARN.events}/index/recipient-index`], // seeding a transient-bounce counter
            ["dynamodb:Query", `${ARN.events}/index/complaint-sender-index`], // seeding a complaint counter
            ["dynamodb:GetItem", ARN.senders], ["dynamodb:Query", ARN.senders], ["dynamodb:UpdateItem", ARN.senders], ["dynamodb:PutItem", ARN.senders],
            ["dynamodb:UpdateItem", ARN.suppression],
        ];
        const denied: [string, string][] = [
            ["dynamodb:DeleteItem", ARN.events], ["dynamodb:Scan", ARN.events], ["dynamodb:Query", `${ARN.events}/index/type-day-index`],
            ["dynamodb:DeleteItem", ARN.senders], ["dynamodb:DeleteItem", ARN.suppression], ["dynamodb:PutItem", ARN.suppression],
        ];
        expect(await Promise.all(allowed.map(([action, resource]) => ask(action, resource)))).to.deep.equal(allowed.map(() => "Allowed"));
        expect(await Promise.all(denied.map(([action, resource]) => ask(action, resource)))).to.deep.equal(denied.map(() => "ImplicitlyDenied"));
    });

    it("wires the older identity notifications to their own topics when asked", async () => {
        const { plan } = await pipeline({ identityNotifications: true });
        const notifications = plan.ofType("aws:ses/identityNotificationTopic:IdentityNotificationTopic");
        expect(notifications.map((n) => [n.inputs.identity, n.inputs.notificationType, n.inputs.topicArn, n.inputs.includeOriginalHeaders])).to.deep.equal(
            ["bounce", "complaint", "delivery"].map((type) => ["example.com", type[0].toUpperCase() + type.slice(1), `arn:aws:sns:us-east-1:${ACCOUNT}:ses-mail-feedback-${type}-test`, true]));
        expect(plan.ofType("aws:sns/topicSubscription:TopicSubscription").map((s) => s.inputs.endpoint)).to.deep.equal(Array(4).fill(ARN.queue));
        const queuePolicy = plan.json(plan.one("aws:sqs/queuePolicy:QueuePolicy", "feedback-queue-policy"), "policy");
        expect(queuePolicy.Statement[1].Condition.ArnEquals["aws:SourceArn"]).to.have.length(4);
    });

    it("an external EKS consumer gets an IRSA role limited to its ServiceAccount and the queue; the built-in worker can be off", async () => {
        const { plan } = await pipeline({ builtInWorker: false, externalConsumer: { oidcProviderArn: ARN.oidc, namespace: "mail", serviceAccount: "feedback-worker" } });
        expect(plan.ofType("aws:lambda/function:Function")).to.deep.equal([]);
        expect(plan.ofType("aws:lambda/eventSourceMapping:EventSourceMapping")).to.deep.equal([]);
        expect(plan.ofType("aws:iam/accessKey:AccessKey")).to.deep.equal([]);
        const role = plan.one("aws:iam/role:Role");
        expect(plan.json(role, "assumeRolePolicy").Statement).to.deep.equal([{
            Effect: "Allow",
            Principal: { Federated: ARN.oidc },
            Action: ["sts:AssumeRoleWithWebIdentity"],
            Condition: { StringEquals: {
                "oidc.eks.us-east-1.amazonaws.com/id/ABC123:sub": "system:serviceaccount:mail:feedback-worker",
                "oidc.eks.us-east-1.amazonaws.com/id/ABC123:aud": "sts.amazonaws.com",
            } },
        }]);
        // Exactly what the worker does (issue #15.7): a pod with the role can process notifications.
        const statements = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy"), "policy").Statement;
        expect(statements[0]).to.deep.equal({ Effect: "Allow", Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"], Resource: [ARN.queue] });
        const { plan: withWorker } = await pipeline();
        const workerStatements = plan.json(withWorker.one("aws:iam/rolePolicy:RolePolicy", "feedback-worker-policy"), "policy").Statement as { Action: string[] }[];
        const processing = workerStatements.filter((s) => !s.Action.some((a) => a.startsWith("sqs:") || a.startsWith("logs:") || a.startsWith("xray:")));
        expect(statements.slice(1, -1)).to.deep.equal(processing);
        expect(statements.at(-1)).to.deep.equal({ Effect: "Allow", Action: ["cloudwatch:PutMetricData"], Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": "SESMail/test" } } });
    });

    it("refuses the built-in worker and an external consumer on one queue, naming the fix", async () => {
        const both = await pipeline({ externalConsumer: { oidcProviderArn: ARN.oidc, namespace: "mail", serviceAccount: "feedback-worker" } }).then(() => undefined, (e: Error) => e);
        expect(both?.message).to.match(/would both consume the feedback queue\. Fix: set builtInWorker \(ses-mail:feedback\.builtInWorker\) to false/);
    });
});
