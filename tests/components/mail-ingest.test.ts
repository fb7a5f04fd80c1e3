import { expect } from "chai";
import { MailIngest, MailIngestArgs, validateMailIngestArgs } from "../../components/mail-ingest";
import { MINIMUM_MAIL_RETENTION_DAYS } from "../../components/retention";
import { GMAIL_IMPORT_LIMIT_BYTES } from "../../functions/gmail-forwarder/limits";
import { SuppressionStore } from "../../components/suppression-store";
import { MOCK_ACCOUNT as ACCOUNT, MOCK_ACTIVE_RULE_SET, promiseOf, RunOptions, runUnderMocks } from "../support/mocks";
import { cachedUnderMocks } from "../support/stack";

const arn = {
    queue: (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`,
    rule: (name: string) => `arn:aws:events:us-east-1:${ACCOUNT}:rule/${name}`,
    table: (name: string) => `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${name}`,
};
// No homeRegion: the bucket's global name carries the region.
const BUCKET = `ses-mail-email-test-us-east-1-${ACCOUNT}`;
// By default MailIngest joins the account's active rule set (the mocks': another system's).
const RECEIPT_RULE = `arn:aws:ses:us-east-1:${ACCOUNT}:receipt-rule-set/${MOCK_ACTIVE_RULE_SET}:receipt-rule/ses-mail-inbound-test`;

function ingest(args: Partial<MailIngestArgs> = {}, options: RunOptions = {}) {
    const program = () => new MailIngest("ingest", {
        env: "test", domains: ["example.com"], gmailAccounts: ["me@gmail.com", "team@gmail.com"],
        suppressionStore: new SuppressionStore("suppression", { env: "test" }), ...args,
    });
    // The defaults, which most tests read: synthesized once (each test gets its own copy of the plan).
    return Object.keys(args).length === 0 ? cachedUnderMocks("mail-ingest.test.ts: MailIngest defaults", program, options) : runUnderMocks(program, options);
}
const statementsOf = (plan: Awaited<ReturnType<typeof ingest>>["plan"], policyName: string) => plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", policyName), "policy").Statement;

describe("MailIngest", () => {
    it("validates its args with the fix", () => {
        expect(() => validateMailIngestArgs({ domains: [] })).to.throw(/domains is empty/);
        expect(() => validateMailIngestArgs({ domains: ["a.com"], gmailAccounts: ["Me@Gmail.com"] })).to.throw(/not a lowercase email address/);
        expect(() => validateMailIngestArgs({ domains: ["a.com"], defaultAction: "forward-to-gmail" })).to.throw(/use a ROUTE#\* rule/);
    });

    it("refuses a mail retention shorter than a mail may wait (parked, then in a DLQ), naming the minimum", () => {
        // Up to 14 days in the input DLQ (a DLQ counts age from the first send: "Setting-up dead-letter
        // queue retention"), a day of bus retries, 14 days parked, 14 in the forwarder's DLQ.
        expect(MINIMUM_MAIL_RETENTION_DAYS).to.equal(43);
        expect(() => validateMailIngestArgs({ domains: ["a.com"], mailRetentionDays: 42 })).to.throw(/mailRetentionDays 42 is shorter than a mail may wait .* set it to at least 43/);
        expect(() => validateMailIngestArgs({ domains: ["a.com"], mailRetentionDays: 43 })).to.not.throw();
    });

    it("keeps the import limit within Gmail's and the trigger's concurrency within AWS's range", () => {
        expect(() => validateMailIngestArgs({ domains: ["a.com"], maxImportBytes: GMAIL_IMPORT_LIMIT_BYTES + 1 })).to.throw(/maxImportBytes must be a whole number from 1 to 157286400/);
        expect(() => validateMailIngestArgs({ domains: ["a.com"], forwarderMaxConcurrency: 1 })).to.throw(/from 2 to 1000/);
    });

    describe("receiving", () => {
        it("a receipt rule for the domains with scanning, TLS and an S3 action that notifies the topic", async () => {
            const { plan } = await ingest();
            const rule = plan.one("aws:ses/receiptRule:ReceiptRule");
            expect(rule.inputs).to.deep.include({ name: "ses-mail-inbound-test", ruleSetName: MOCK_ACTIVE_RULE_SET, recipients: ["example.com"], enabled: true, scanEnabled: true, tlsPolicy: "Require" });
            expect(rule.inputs.s3Actions).to.deep.equal([{ bucketName: BUCKET, objectKeyPrefix: "inbound/", topicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:ses-mail-email-inbound-test`, position: 1 }]);
            expect(plan.ofType("aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet")).to.deep.equal([]);
        });

        it("creates the receipt rule only after the bucket policy, the topic (policy) and its own active set exist", async () => {
            const { plan } = await ingest({ ruleSetMode: "own" }, { activeReceiptRuleSet: null });
            const rule = plan.one("aws:ses/receiptRule:ReceiptRule");
            expect(rule.dependencies).to.include.members([
                plan.one("aws:s3/bucketPolicy:BucketPolicy").urn,
                // A dependency on the topic component expands to its children: the topic policy included.
                plan.one("aws:sns/topicPolicy:TopicPolicy", "ingest-topic-policy").urn,
                plan.one("aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet").urn,
            ]);
        });

        it("joins an existing active rule set by name instead of creating one", async () => {
            const { plan } = await ingest({ ruleSetMode: "join", ruleSetName: "corp-inbound" }, { activeReceiptRuleSet: "corp-inbound" });
            expect(plan.ofType("aws:ses/receiptRuleSet:ReceiptRuleSet")).to.deep.equal([]);
            expect(plan.ofType("aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet")).to.deep.equal([]);
            expect(plan.one("aws:ses/receiptRule:ReceiptRule").inputs.ruleSetName).to.equal("corp-inbound");
        });

        it("stores mail in a private, encrypted, TLS-only, expiring bucket that only this rule's SES may write to", async () => {
            const { plan } = await ingest({ mailRetentionDays: 60 });
            expect(plan.one("aws:s3/bucket:Bucket").inputs.bucket).to.equal(BUCKET);
            expect(plan.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).to.deep.include({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
            expect(plan.one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules[0]).to.deep.include({ status: "Enabled", expiration: { days: 60 } });
            const policy = plan.json(plan.one("aws:s3/bucketPolicy:BucketPolicy"), "policy");
            expect(policy.Statement[0]).to.deep.include({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } });
            expect(policy.Statement[1]).to.deep.equal({
                Sid: "SesWritesInboundMail", Effect: "Allow", Principal: { Service: "ses.amazonaws.com" }, Action: ["s3:PutObject"],
                Resource: [`arn:aws:s3:::${BUCKET}/inbound/*`],
                Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT }, ArnLike: { "aws:SourceArn": RECEIPT_RULE } },
            });
        });

        it("names the bucket as before in its home region, and per region elsewhere (bucket names are global: the same env in a second region must not collide)", async () => {
            const home = await ingest({ homeRegion: "us-east-1" });
            expect(home.plan.one("aws:s3/bucket:Bucket").inputs.bucket).to.equal(`ses-mail-email-test-${ACCOUNT}`);
            const second = await ingest({ homeRegion: "us-east-1" }, { region: "eu-west-1" });
            expect(second.plan.one("aws:s3/bucket:Bucket").inputs.bucket).to.equal(`ses-mail-email-test-eu-west-1-${ACCOUNT}`);
        });

        it("outputs the MX record (and creates it with a hosted zone)", async () => {
            const { result, plan } = await ingest({ hostedZoneId: "Z9" });
            const records = await promiseOf(result.dnsRecords);
            expect(records[0]).to.deep.equal({ name: "example.com", type: "MX", value: "10 inbound-smtp.us-east-1.amazonaws.com", ttl: 600 });
            expect(plan.one("aws:route53/record:Record", "ingest-example-com-mx").inputs).to.deep.include({ zoneId: "Z9", name: "example.com", type: "MX", records: ["10 inbound-smtp.us-east-1.amazonaws.com"] });
        });
    });

    describe("routing", () => {
        it("input queue (+DLQ) → pipe with the router as enrichment → event bus, logging to its own group", async () => {
            const { plan } = await ingest();
            expect(plan.one("aws:sqs/queue:Queue", "ingest-input").inputs.name).to.equal("ses-mail-email-input-test");
            expect(plan.one("aws:sqs/queue:Queue", "ingest-input-dlq").inputs.name).to.equal("ses-mail-email-input-dlq-test");
            const pipe = plan.one("aws:pipes/pipe:Pipe");
            expect(pipe.inputs).to.deep.include({
                source: arn.queue("ses-mail-email-input-test"),
                enrichment: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:ses-mail-router-test`,
                target: `arn:aws:events:us-east-1:${ACCOUNT}:event-bus/ses-mail-email-routing-test`,
            });
            expect(pipe.inputs.targetParameters).to.deep.equal({ eventbridgeEventBusParameters: { detailType: "Email Routing Decision", source: "ses-mail.router" } });
            expect(pipe.inputs.logConfiguration.level).to.equal("ERROR");
            expect(statementsOf(plan, "ingest-pipe-policy").map((s: any) => [s.Action, s.Resource])).to.deep.equal([
                [["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], [arn.queue("ses-mail-email-input-test")]],
                [["lambda:InvokeFunction"], [`arn:aws:lambda:us-east-1:${ACCOUNT}:function:ses-mail-router-test`]],
                [["events:PutEvents"], [`arn:aws:events:us-east-1:${ACCOUNT}:event-bus/ses-mail-email-routing-test`]],
                [["logs:CreateLogStream", "logs:PutLogEvents"], [`arn:aws:logs:us-east-1:${ACCOUNT}:log-group:/aws/vendedlogs/pipes/ses-mail-email-router-test:*`]],
            ]);
        });

        it("the router may only read the routing table (one BatchGetItem)", async () => {
            const { plan } = await ingest();
            expect(statementsOf(plan, "ingest-router-policy").slice(2)).to.deep.equal([
                { Effect: "Allow", Action: ["dynamodb:BatchGetItem"], Resource: [arn.table("ses-mail-email-routing-test")] },
            ]);
            const table = plan.one("aws:dynamodb/table:Table", "ingest-routing");
            expect(table.inputs).to.deep.include({ hashKey: "PK", rangeKey: "SK", billingMode: "PAY_PER_REQUEST", pointInTimeRecovery: { enabled: true }, serverSideEncryption: { enabled: true }, streamEnabled: false });
        });

        it("reads 10 records a batch: the router returns one event each, and an event-bus target takes at most 10", async () => {
            const { plan } = await ingest();
            expect(plan.one("aws:pipes/pipe:Pipe").inputs.sourceParameters.sqsQueueParameters.batchSize).to.equal(10);
        });

        it("bus rules match any decision of a mail: forward-to-gmail and bounce to their queues with retries and a target DLQ; queue policies name the rules", async () => {
            const { plan } = await ingest();
            const pattern = (name: string) => JSON.parse(plan.one("aws:cloudwatch/eventRule:EventRule", name).inputs.eventPattern);
            const routed = { source: ["ses-mail.router"], "detail-type": ["Email Routing Decision"] };
            expect(pattern("ingest-forward-rule")).to.deep.equal({ ...routed, detail: { decisions: { action: ["forward-to-gmail"] } } });
            expect(pattern("ingest-bounce-rule")).to.deep.equal({ ...routed, detail: { decisions: { action: ["bounce"] } } });
            expect(pattern("ingest-invalid-rule")).to.deep.equal({ ...routed, detail: { decisions: { action: ["invalid"] } } });
            const target = plan.one("aws:cloudwatch/eventTarget:EventTarget", "ingest-forward-target");
            expect(target.inputs).to.deep.include({
                arn: arn.queue("ses-mail-gmail-forwarder-test"),
                retryPolicy: { maximumEventAgeInSeconds: 86400, maximumRetryAttempts: 185 },
                deadLetterConfig: { arn: arn.queue("ses-mail-gmail-forwarder-dlq-test") },
            });
            expect(plan.one("aws:cloudwatch/eventTarget:EventTarget", "ingest-bounce-target").inputs.arn).to.equal(arn.queue("ses-mail-bouncer-test"));
            const queuePolicy = plan.json(plan.one("aws:sqs/queuePolicy:QueuePolicy", "ingest-forwarder-policy"), "policy");
            expect(queuePolicy.Statement[1]).to.deep.equal({
                Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: ["sqs:SendMessage"], Resource: [arn.queue("ses-mail-gmail-forwarder-test")],
                Condition: { ArnEquals: { "aws:SourceArn": [arn.rule("ses-mail-route-forward-test")] } },
            });
            const inputDlqPolicy = plan.json(plan.one("aws:sqs/queuePolicy:QueuePolicy", "ingest-input-dlq-policy"), "policy");
            expect(inputDlqPolicy.Statement[1].Condition.ArnEquals["aws:SourceArn"]).to.deep.equal([arn.rule("ses-mail-route-invalid-test")]);
        });

        it("invalid mail goes to the input DLQ; what the bus cannot deliver there goes to a DLQ of its own", async () => {
            const { plan } = await ingest();
            const target = plan.one("aws:cloudwatch/eventTarget:EventTarget", "ingest-invalid-target");
            expect(target.inputs.arn).to.equal(arn.queue("ses-mail-email-input-dlq-test"));
            expect(target.inputs.deadLetterConfig).to.deep.equal({ arn: arn.queue("ses-mail-email-routing-events-dlq-test") });
            const policy = plan.json(plan.one("aws:sqs/queuePolicy:QueuePolicy", "ingest-routing-events-dlq-policy"), "policy");
            expect(policy.Statement[1].Condition.ArnEquals["aws:SourceArn"]).to.deep.equal([arn.rule("ses-mail-route-invalid-test")]);
        });
    });

    describe("Gmail forwarder", () => {
        it("reads only its S3 prefix and its SSM parameters, and uses only its queues and idempotency table", async () => {
            const { plan } = await ingest();
            const ssm = `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/ses-mail/test/gmail-forwarder/oauth`;
            expect(statementsOf(plan, "ingest-forwarder-policy").slice(2)).to.deep.equal([
                { Effect: "Allow", Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"], Resource: [arn.queue("ses-mail-gmail-forwarder-test")] },
                { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [arn.queue("ses-mail-gmail-forwarder-test"), arn.queue("ses-mail-gmail-forwarder-retry-test"), arn.queue("ses-mail-gmail-forwarder-dlq-test")] },
                { Effect: "Allow", Action: ["s3:GetObject"], Resource: [`arn:aws:s3:::${BUCKET}/inbound/*`] },
                { Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [`${ssm}/client-credentials`, `${ssm}/refresh-token/me_at_gmail.com`, `${ssm}/refresh-token/team_at_gmail.com`] },
                // The bouncer shares the table: Powertools keys are `<function name>#<hash>`.
                {
                    Effect: "Allow", Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], Resource: [arn.table("ses-mail-gmail-forwarder-idempotency-test")],
                    Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["ses-mail-gmail-forwarder-test#*"] } },
                },
            ]);
            const fn = plan.one("aws:lambda/function:Function", "ingest-forwarder");
            expect(fn.inputs.environment.variables).to.deep.include({
                SSM_PREFIX: "/ses-mail/test/gmail-forwarder", GMAIL_ACCOUNTS: "me@gmail.com,team@gmail.com", INTERNAL_DATE_SOURCE: "dateHeader",
                FORWARDER_QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/ses-mail-gmail-forwarder-test`,
                MAX_IMPORT_BYTES: String(GMAIL_IMPORT_LIMIT_BYTES),
            });
            // The forwarder knows the last attempt from the queue's own setting.
            const maxReceiveCount = JSON.parse(plan.one("aws:sqs/queue:Queue", "ingest-forwarder").inputs.redrivePolicy).maxReceiveCount;
            expect(fn.inputs.environment.variables.MAX_RECEIVE_COUNT).to.equal(String(maxReceiveCount));
            const other = await ingest({ forwarderMaxConcurrency: 4 });
            expect(other.plan.one("aws:lambda/eventSourceMapping:EventSourceMapping", "ingest-forwarder-source").inputs.scalingConfig).to.deep.equal({ maximumConcurrency: 4 });
            expect(plan.one("aws:sqs/queue:Queue", "ingest-retry").inputs).to.deep.include({ name: "ses-mail-gmail-forwarder-retry-test", messageRetentionSeconds: 14 * 86400 });
        });

        it("caps the trigger's concurrency and paces imports to one mailbox's Gmail quota (240 a minute)", async () => {
            const { plan } = await ingest();
            const mapping = plan.one("aws:lambda/eventSourceMapping:EventSourceMapping", "ingest-forwarder-source");
            expect(mapping.inputs).to.deep.include({ batchSize: 5, functionResponseTypes: ["ReportBatchItemFailures"], scalingConfig: { maximumConcurrency: 2 } });
            const interval = Number(plan.one("aws:lambda/function:Function", "ingest-forwarder").inputs.environment.variables.IMPORT_MIN_INTERVAL_MS);
            // Two lanes of one import per interval: 2 × 60,000 / interval imports a minute.
            expect(2 * 60_000 / interval).to.equal(240);
        });

        it("a retry-drain state machine moves messages from the retry queue to the forwarder queue", async () => {
            const { plan } = await ingest();
            const machine = plan.one("aws:sfn/stateMachine:StateMachine", "ingest-retry-drain");
            const definition = JSON.parse(machine.inputs.definition);
            expect(definition.States.Receive.Arguments.QueueUrl).to.equal(`https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/ses-mail-gmail-forwarder-retry-test`);
            expect(definition.States.MoveEach.ItemProcessor.States.Send.Arguments.QueueUrl).to.equal(`https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/ses-mail-gmail-forwarder-test`);
        });
    });

    describe("token monitoring", () => {
        it("one TokenMonitor per Gmail account, alarms to the encrypted …-gmail-forwarder-token-alerts-<env> topic", async () => {
            const { plan, result } = await ingest({ tokenAlertEmails: ["ops@example.com"] });
            expect(plan.ofType("ses-mail:index:TokenMonitor").map((m) => m.name)).to.deep.equal(["ingest-token-me-gmail-com", "ingest-token-team-gmail-com"]);
            expect(result.tokenMonitors.map((m) => m.account)).to.deep.equal(["me@gmail.com", "team@gmail.com"]);
            const topic = plan.one("aws:sns/topic:Topic", "ingest-token-alerts-topic");
            expect(topic.inputs.name).to.equal("ses-mail-gmail-forwarder-token-alerts-test");
            expect(topic.inputs.kmsMasterKeyId).to.equal(`arn:aws:kms:us-east-1:${ACCOUNT}:key/ingest-token-alerts-key-physical`);
            const publisher = plan.json(plan.one("aws:sns/topicPolicy:TopicPolicy", "ingest-token-alerts-topic-policy"), "policy").Statement[1];
            expect(plan.one("aws:sns/topicSubscription:TopicSubscription", "ingest-token-alerts-topic-email-0").inputs).to.deep.include({ protocol: "email", endpoint: "ops@example.com" });
            const alarms = plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
            expect(alarms).to.have.length(10);
            // Exactly these ten alarms may publish (not every ses-mail-gmail-token-* alarm of the account).
            expect(publisher).to.deep.include({ Principal: { Service: "cloudwatch.amazonaws.com" } });
            expect(publisher.Condition.ArnEquals["aws:SourceArn"]).to.have.members(alarms.map((a) => `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${a.inputs.name}`)).and.to.have.length(10);
            expect(alarms.every((a) => a.inputs.name.startsWith("ses-mail-gmail-token-") && a.inputs.alarmActions[0] === topic.state.arn)).to.equal(true);
            expect(await promiseOf(result.tokenAlertTopicArn!)).to.equal(topic.state.arn);
        });

        it("uses a given topic instead, or none at all when monitoring is off", async () => {
            const given = await ingest({ tokenAlertTopicArn: "arn:aws:sns:us-east-1:1:ops" });
            expect(given.plan.ofType("aws:sns/topic:Topic").map((t) => t.inputs.name)).to.not.include("ses-mail-gmail-forwarder-token-alerts-test");
            expect(given.plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").every((a) => a.inputs.alarmActions[0] === "arn:aws:sns:us-east-1:1:ops")).to.equal(true);
            const off = await ingest({ tokenMonitoring: false });
            expect(off.plan.ofType("ses-mail:index:TokenMonitor")).to.deep.equal([]);
            expect(off.result.tokenAlertTopicArn).to.equal(undefined);
        });

        it("refuses two accounts that would share resource names", () => {
            expect(() => validateMailIngestArgs({ domains: ["a.com"], gmailAccounts: ["a.b@example.com", "a-b@example.com"] })).to.throw(/gmailAccounts: "a.b@example.com" and "a-b@example.com" map to the same resource name \("a-b-example-com"\)/);
        });
    });

    describe("bouncer", () => {
        it("may SendBounce only from our identities, reads suppressions, bounces once per mail and domain", async () => {
            const { plan } = await ingest({ domains: ["example.com", "example.org"] });
            expect(statementsOf(plan, "ingest-bouncer-policy").slice(3)).to.deep.equal([
                { Effect: "Allow", Action: ["ses:SendBounce"], Resource: [`arn:aws:ses:us-east-1:${ACCOUNT}:identity/example.com`, `arn:aws:ses:us-east-1:${ACCOUNT}:identity/example.org`] },
                // Only what its code calls: isSuppressed is one Query on the partition; Powertools Idempotency
                // gets, puts, updates and deletes records keyed by the function's name.
                { Effect: "Allow", Action: ["dynamodb:Query"], Resource: [arn.table("ses-email-suppression-list")] },
                {
                    Effect: "Allow", Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], Resource: [arn.table("ses-mail-gmail-forwarder-idempotency-test")],
                    Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["ses-mail-bouncer-test#*"] } },
                },
            ]);
            const fn = plan.one("aws:lambda/function:Function", "ingest-bouncer");
            expect(fn.inputs.environment.variables).to.deep.include({ DOMAINS: "example.com,example.org", BOUNCE_SENDER_LOCAL_PART: "MAILER-DAEMON", IDEMPOTENCY_TABLE_NAME: "ses-mail-gmail-forwarder-idempotency-test" });
        });

        it("limits its idempotency records to its real function name, whatever the name prefix; keeps the suppression key's Decrypt", async () => {
            const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/suppressions`;
            const { plan } = await ingest({ namePrefix: "acme-mail", suppressionStore: new SuppressionStore("suppression", { env: "test", kmsKeyArn: key }) });
            const statements = statementsOf(plan, "ingest-bouncer-policy");
            const functionName = plan.one("aws:lambda/function:Function", "ingest-bouncer").inputs.name;
            expect(functionName).to.equal("acme-mail-bouncer-test");
            const idempotency = statements.find((s: any) => s.Action.includes("dynamodb:PutItem"));
            expect(idempotency.Condition).to.deep.equal({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${functionName}#*`] } });
            expect(statements).to.deep.include({ Effect: "Allow", Action: ["kms:Decrypt"], Resource: [key] });
            expect(statements.filter((s: any) => s.Action.some((a: string) => a.startsWith("dynamodb:"))).flatMap((s: any) => s.Action).sort())
                .to.deep.equal(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]);
        });

        it("stays within SendBounce's 1 per second without reserved concurrency (throttled pollers would raise receive counts)", async () => {
            const { plan } = await ingest();
            const fn = plan.one("aws:lambda/function:Function", "ingest-bouncer");
            expect(fn.inputs.reservedConcurrentExecutions).to.equal(undefined);
            const { maximumConcurrency } = plan.one("aws:lambda/eventSourceMapping:EventSourceMapping", "ingest-bouncer-source").inputs.scalingConfig;
            expect(maximumConcurrency).to.equal(2);
            // Each of the (at most) two lanes calls once per interval: together once a second.
            expect(maximumConcurrency * 1000 / Number(fn.inputs.environment.variables.BOUNCE_MIN_INTERVAL_MS)).to.equal(1);
        });
    });

    it("reuses identities created elsewhere instead of creating a second one", async () => {
        const { MailDomain } = await import("../../components/mail-domain");
        const { plan } = await runUnderMocks(() => {
            const shared = new MailDomain("shared", { domain: "example.com", env: "test" });
            return new MailIngest("ingest", { env: "test", domains: ["example.com"], mailDomains: [shared], suppressionStore: new SuppressionStore("s", { env: "test" }) });
        });
        expect(plan.ofType("aws:sesv2/emailIdentity:EmailIdentity").map((r) => r.name)).to.deep.equal(["shared"]);
    });
});
