import { expect } from "chai";
import { StackConfigError } from "../../stacks/config";
import { promiseOf } from "../support/mocks";
import { cachedStack, loadStackConfig } from "../support/stack";

describe("stacks (Pulumi.<stack>.yaml under mocks)", () => {
    it("test: its own suppression table, not mirrored (prod mirrors into the account's list), deletion protection off on every table as its file says", async () => {
        const { plan, outputs } = await cachedStack("test");
        const table = plan.one("aws:dynamodb/table:Table", "suppression");
        expect(table.inputs).to.deep.include({ name: "ses-email-suppression-list-test", deletionProtectionEnabled: false, streamEnabled: false });
        expect(plan.ofType("aws:lambda/function:Function").map((f) => f.name)).not.to.include("suppression-mirror");
        expect(plan.ofType("aws:dynamodb/table:Table").map((t) => [t.name, t.inputs.deletionProtectionEnabled]).filter(([, on]) => on)).to.deep.equal([]);
        expect(plan.ofType("aws:cloudwatch/logGroup:LogGroup").every((g) => g.inputs.retentionInDays === 14)).to.equal(true);
        expect(Object.keys(outputs)).to.include.members(["suppressionTableName", "suppressionTableArn", "configurationSetName", "feedbackQueueUrl", "sendingDnsRecords", "dnsRecordsToMerge"]);
        expect(outputs.suppressionMirrorFunction).to.equal(undefined);
    });

    it("without ses-mail:deletionProtection, every table holding operator data is protected, whatever the environment is called", async () => {
        for (const environment of ["live", "production"]) {
            const { "ses-mail:deletionProtection": setting, ...unset } = loadStackConfig("test");
            expect(setting).to.equal("false");
            const { plan } = await cachedStack("test", { ...unset, "ses-mail:environment": environment });
            const tables = plan.ofType("aws:dynamodb/table:Table");
            expect(tables.map((t) => t.name).sort(), environment).to.deep.equal(["feedback-events", "feedback-senders", "ingest-idempotency", "ingest-routing", "suppression"]);
            expect(tables.every((t) => t.inputs.deletionProtectionEnabled === true), environment).to.equal(true);
        }
    });

    it("test: the feedback pipeline for its sending domain, with identity notifications, wired to the suppression table", async () => {
        const { plan } = await cachedStack("test");
        expect(plan.one("aws:sesv2/emailIdentity:EmailIdentity").inputs.emailIdentity).to.equal("mail-test.example.com");
        expect(plan.ofType("aws:ses/identityNotificationTopic:IdentityNotificationTopic")).to.have.length(3);
        const worker = plan.one("aws:lambda/function:Function", "feedback-worker");
        expect(worker.inputs.environment.variables.SUPPRESSION_TABLE_NAME).to.equal("ses-email-suppression-list-test");
        expect(plan.one("aws:sns/topicSubscription:TopicSubscription", "feedback-notifications-email-0").inputs).to.deep.include({ protocol: "email", endpoint: "ses-alerts-test@example.com" });
    });

    it("prod: the runbooks' table name, deletion-protected, 90-day logs", async () => {
        const { plan } = await cachedStack("prod");
        expect(plan.one("aws:dynamodb/table:Table", "suppression").inputs).to.deep.include({ name: "ses-email-suppression-list", deletionProtectionEnabled: true });
        expect(plan.ofType("aws:dynamodb/table:Table").every((t) => t.inputs.deletionProtectionEnabled)).to.equal(true);
        expect(plan.ofType("aws:cloudwatch/logGroup:LogGroup").every((g) => g.inputs.retentionInDays === 90)).to.equal(true);
        const worker = plan.one("aws:lambda/function:Function", "feedback-worker");
        expect(worker.inputs.environment.variables).to.deep.include({ SENDER_TAG: "account", COMPLAINT_RESTRICT_THRESHOLD: "5" });
        expect(plan.one("aws:sesv2/emailIdentity:EmailIdentity").inputs.emailIdentity).to.equal("mail.example.com");
        for (const resource of plan.resources.filter((r) => r.custom && r.inputs.tags)) {
            expect(resource.inputs.tags, resource.name).to.deep.include({ Environment: "prod", Service: "ses-mail" });
        }
    });

    it("test: MailIngest receives for its domain in the account's shared rule set, sharing the sending identity", async () => {
        const { plan, outputs } = await cachedStack("test");
        expect(plan.ofType("aws:sesv2/emailIdentity:EmailIdentity").map((i) => i.inputs.emailIdentity)).to.deep.equal(["mail-test.example.com"]);
        expect(plan.ofType("aws:ses/receiptRuleSet:ReceiptRuleSet")).to.deep.equal([]);
        expect(plan.ofType("aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet")).to.deep.equal([]);
        expect(plan.one("aws:ses/receiptRule:ReceiptRule").inputs).to.deep.include({ ruleSetName: "corp-inbound-rules", recipients: ["mail-test.example.com"] });
        expect(plan.one("aws:lambda/function:Function", "ingest-forwarder").inputs.environment.variables.GMAIL_ACCOUNTS).to.equal("you@gmail.com");
        expect(Object.keys(outputs)).to.include.members(["mailBucketName", "inputQueue", "gmailForwarderQueue", "gmailForwarderRetryQueue", "bouncerQueue", "routingPipeArn", "retryDrainStateMachineArn", "receivingDnsRecords"]);
    });

    it("test: a TokenMonitor for its Gmail account, alerting the operators' addresses", async () => {
        const { plan, outputs } = await cachedStack("test");
        expect(plan.ofType("ses-mail:index:TokenMonitor").map((m) => m.name)).to.deep.equal(["ingest-token-you-gmail-com"]);
        expect(plan.one("aws:sfn/stateMachine:StateMachine", "ingest-token-you-gmail-com-monitor").inputs.name).to.equal("ses-mail-gmail-token-monitor-you-gmail-com-test");
        expect(plan.one("aws:sns/topic:Topic", "ingest-token-alerts-topic").inputs.name).to.equal("ses-mail-gmail-forwarder-token-alerts-test");
        expect(plan.one("aws:sns/topicSubscription:TopicSubscription", "ingest-token-alerts-topic-email-0").inputs.endpoint).to.equal("ses-alerts-test@example.com");
        expect(await promiseOf(outputs.tokenMonitorStateMachineArns as never)).to.deep.equal({ "you@gmail.com": "arn:aws:states:us-east-1:123456789012:stateMachine:ses-mail-gmail-token-monitor-you-gmail-com-test" });
    });

    it("prod: joins the existing active rule set instead of replacing it", async () => {
        const { plan } = await cachedStack("prod");
        expect(plan.ofType("aws:ses/receiptRuleSet:ReceiptRuleSet")).to.deep.equal([]);
        expect(plan.ofType("aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet")).to.deep.equal([]);
        expect(plan.one("aws:ses/receiptRule:ReceiptRule").inputs.ruleSetName).to.equal("corp-inbound-rules");
        expect(plan.one("aws:lambda/function:Function", "ingest-router").inputs.environment.variables).to.deep.include({ DEFAULT_ACTION: "bounce", SPAM_ACTION: "label" });
    });

    it("test: SMTP users live in the (streamed) routing table and may send only through the stack's identity", async () => {
        const { plan, outputs } = await cachedStack("test");
        expect(plan.one("aws:dynamodb/table:Table", "ingest-routing").inputs).to.deep.include({ name: "ses-mail-email-routing-test", streamEnabled: true, streamViewType: "NEW_AND_OLD_IMAGES" });
        expect(plan.ofType("aws:dynamodb/table:Table").map((t) => t.name)).not.to.include("smtp-table");
        expect(plan.one("aws:lambda/function:Function", "smtp-manager").inputs.environment.variables).to.deep.include({
            TABLE_NAME: "ses-mail-email-routing-test",
            IDENTITY_ARNS: "arn:aws:ses:us-east-1:123456789012:identity/mail-test.example.com",
        });
        expect(Object.keys(outputs)).to.include.members(["smtpEndpoint", "smtpPorts", "spfRecord", "smtpCredentialsTableName", "smtpCredentialsKmsKeyArn", "smtpCredentialManagerFunction"]);
    });

    it("fails with the key and the fix when the stack config is wrong", async () => {
        const config = { ...loadStackConfig("test"), "ses-mail:suppression": JSON.stringify({ mirrorToSes: "yes" }) };
        let caught: unknown;
        try {
            await cachedStack("test", config);
        } catch (error) {
            caught = error;
        }
        expect(caught).to.be.instanceOf(StackConfigError);
        expect((caught as Error).message).to.include("ses-mail:suppression.mirrorToSes");
    });

    it("ses-mail:hashAddressesInLogs: every function of the stack logs hashed addresses with one salt; off by default", async () => {
        const env = (plan: Awaited<ReturnType<typeof cachedStack>>["plan"]) => plan.ofType("aws:lambda/function:Function").map((f) => f.inputs.environment.variables);
        const { plan: plain } = await cachedStack("prod");
        expect(env(plain).filter((v) => "LOG_ADDRESSES" in v || "LOG_ADDRESS_SALT" in v)).to.deep.equal([]);
        const { plan: hashed } = await cachedStack("prod", { ...loadStackConfig("prod"), "ses-mail:hashAddressesInLogs": "true" });
        const variables = env(hashed);
        // Router, forwarder, bouncer, token probe, feedback worker, suppression mirror, SMTP manager, sending brake, send-quota check.
        expect(variables).to.have.length(9);
        expect(new Set(variables.map((v) => `${v.LOG_ADDRESSES} ${v.LOG_ADDRESS_SALT}`))).to.deep.equal(new Set(["hashed 123456789012/ses-mail-prod"]));
    });
});
