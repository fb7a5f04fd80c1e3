import * as settingsModule from "@pulumi/pulumi/runtime/settings";
import { expect } from "chai";
import { FeedbackPipeline } from "../../components/feedback-pipeline";
import { brakeAlarmSpecs, quotaAlarmSpecs, resolveSendingGuardSettings, SendingGuard, SendingGuardArgs, sendingGuardAlarmNames } from "../../components/sending-guard";
import { SuppressionStore } from "../../components/suppression-store";
import { QUOTA_METRICS, quotaMetricPoints, quotaUtilisation } from "../../functions/shared/send-quota";
import { simulate } from "../support/iam-simulator";
import { MOCK_ACCOUNT, ResourcePlan, runUnderMocks } from "../support/mocks";
import { violationNames } from "../support/policy";
import { publishedMetrics } from "../support/published-metrics";

const SET = "ses-mail-outbound-test";
const SET_ARN = `arn:aws:ses:us-east-1:${MOCK_ACCOUNT}:configuration-set/${SET}`;
const TABLE_ARN = `arn:aws:dynamodb:us-east-1:${MOCK_ACCOUNT}:table/ses-mail-sender-reputation-test`;
const TOPIC = `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:ses-mail-alarms-test`;
const KEY = `arn:aws:kms:us-east-1:${MOCK_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ARGS: SendingGuardArgs = {
    env: "test", configurationSetName: SET, sendersTableName: "ses-mail-sender-reputation-test", sendersTableArn: TABLE_ARN, alarmTopicArn: TOPIC, alarmTopicKmsKeyArn: KEY,
};
const guard = (extra: Partial<SendingGuardArgs> = {}) => runUnderMocks(() => new SendingGuard("sending", { ...ARGS, ...extra }));
const policyOf = (plan: ResourcePlan, name: string) => plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", name), "policy");
const BRAKE_ROLE = `arn:aws:iam::${MOCK_ACCOUNT}:role/ses-mail-sending-brake-fn-test-us-east-1`;
const decide = async (policy: object, action: string, resource: string, context?: Record<string, string | string[]>) =>
    simulate({ identity: [policy] }, { principal: BRAKE_ROLE, action, resource, context });

describe("SendingGuard", () => {
    describe("settings (pure)", () => {
        it("defaults: brake at 10% bounces (the runbook's stop-sending level) and 0.5% complaints; quota at 70% and 90%", () => {
            expect(resolveSendingGuardSettings({ env: "test" })).to.deep.include({
                brake: true, brakeBounceRatePercent: 10, brakeComplaintRatePercent: 0.5, brakeMinimumSends: 100, brakePeriodSeconds: 3600,
                quotaCheck: true, quotaWarningPercent: 70, quotaCriticalPercent: 90, namespace: "SESMail/test",
                resumeCommand: "npx ses-mail sending resume --env test --reason \"<why it is safe again>\"",
            });
        });

        it("refuses percentages outside (0, 100], a warning not below critical, and odd periods, naming the setting", () => {
            for (const [extra, message] of [
                [{ brakeBounceRatePercent: 0 }, /brakeBounceRatePercent must be a percentage above 0 and at most 100 \(got 0\)/],
                [{ brakeComplaintRatePercent: 101 }, /brakeComplaintRatePercent/],
                [{ quotaWarningPercent: 90, quotaCriticalPercent: 90 }, /quotaWarningPercent \(90\) must be below quotaCriticalPercent \(90\)/],
                [{ brakeMinimumSends: 0.5 }, /brakeMinimumSends must be a positive whole number/],
                [{ brakePeriodSeconds: 90 }, /brakePeriodSeconds must be a multiple of 60/],
            ] as const) {
                expect(() => resolveSendingGuardSettings({ env: "test", ...extra }), JSON.stringify(extra)).to.throw(message);
            }
        });
    });

    describe("alarms (pure)", () => {
        const s = resolveSendingGuardSettings({ env: "test" });

        it("brake tier: this stack's bounce and complaint rates over an hour with the low-volume guard, CRITICAL", () => {
            expect(brakeAlarmSpecs(s).map((a) => [a.name, a.tier, a.expression, a.metrics!.map((m) => [m.metricName, m.dimensions]), a.threshold, a.comparison, a.periodSeconds, a.treatMissingData])).to.deep.equal([
                ["ses-mail-sending-brake-bounce-rate-test", "CRITICAL", "IF(sends >= 100, 100 * bounces / sends, 0)",
                    [["OutboundBounce", { service: "feedback-worker" }], ["OutboundSend", { service: "feedback-worker" }]], 10, "GreaterThanThreshold", 3600, "notBreaching"],
                ["ses-mail-sending-brake-complaint-rate-test", "CRITICAL", "IF(sends >= 100, 100 * complaints / sends, 0)",
                    [["OutboundComplaint", { service: "feedback-worker" }], ["OutboundSend", { service: "feedback-worker" }]], 0.5, "GreaterThanThreshold", 3600, "notBreaching"],
            ]);
            for (const spec of brakeAlarmSpecs(s)) expect(spec.description).to.match(/PAUSES sending/).and.to.include("npx ses-mail sending resume --env test");
            expect(brakeAlarmSpecs({ ...s, brake: false })).to.deep.equal([]);
        });

        it("quota: SendQuotaUtilization without dimensions, Maximum over 30 minutes (three runs), at or above 70 / 90", () => {
            expect(quotaAlarmSpecs(s).map((a) => [a.name, a.tier, a.metric, a.threshold, a.comparison, a.periodSeconds])).to.deep.equal([
                ["ses-mail-send-quota-WARNING-test", "WARNING", { id: "m", namespace: "SESMail/test", metricName: "SendQuotaUtilization", dimensions: {}, stat: "Maximum" }, 70, "GreaterThanOrEqualToThreshold", 1800],
                ["ses-mail-send-quota-CRITICAL-test", "CRITICAL", { id: "m", namespace: "SESMail/test", metricName: "SendQuotaUtilization", dimensions: {}, stat: "Maximum" }, 90, "GreaterThanOrEqualToThreshold", 1800],
            ]);
            expect(resolveSendingGuardSettings({ env: "test", quotaWarningPercent: 50, quotaCriticalPercent: 75 })).to.deep.include({ quotaWarningPercent: 50, quotaCriticalPercent: 75 });
        });

        it("every metric they watch is one the system publishes (the quota check's points, the feedback worker's counts)", () => {
            const published = new Set([...publishedMetrics(), ...quotaMetricPoints(quotaUtilisation({ max24HourSend: 200, sentLast24Hours: 1, maxSendRate: 1 })).map((p) => p.name)]);
            for (const spec of [...brakeAlarmSpecs(s), ...quotaAlarmSpecs(s)]) {
                for (const metric of spec.metric ? [spec.metric] : spec.metrics!) expect([...published], spec.name).to.include(metric.metricName);
            }
            expect([...publishedMetrics()]).to.include.members(Object.values(QUOTA_METRICS));
        });
    });

    describe("resources", () => {
        it("without warnings, the quota has its CRITICAL alarm only, and the topic's list follows", () => {
            const names = sendingGuardAlarmNames(resolveSendingGuardSettings({ env: "test", warnings: false }));
            expect(names.filter((n) => /send-quota-(WARNING|CRITICAL)/.test(n))).to.deep.equal(["ses-mail-send-quota-CRITICAL-test"]);
            expect(sendingGuardAlarmNames(resolveSendingGuardSettings({ env: "test" })).filter((n) => /send-quota-(WARNING|CRITICAL)/.test(n))).to.have.members(["ses-mail-send-quota-WARNING-test", "ses-mail-send-quota-CRITICAL-test"]);
        });

        it("creates exactly the alarms whose names the alarm topic lets publish, all notifying it on ALARM and OK", async () => {
            const { plan } = await guard();
            const alarms = plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
            expect(alarms.map((a) => a.inputs.name).sort()).to.deep.equal(sendingGuardAlarmNames(resolveSendingGuardSettings({ env: "test" })).sort());
            expect(alarms.map((a) => a.inputs.name)).to.include.members([
                "ses-mail-send-quota-CRITICAL-test", "ses-mail-send-quota-WARNING-test", "ses-mail-sending-brake-bounce-rate-test", "ses-mail-sending-brake-complaint-rate-test",
            ]);
            for (const alarm of alarms) expect(alarm.inputs).to.deep.include({ alarmActions: [TOPIC], okActions: [TOPIC] });
            // Like every function and DLQ of the stack (the Alarms component's specs and names): Errors of
            // both functions (their throttles are the account's: the Alarms component's one alarm), visible messages in the brake's DLQ.
            const watched = alarms.filter((a) => a.inputs.namespace?.startsWith("AWS/")).map((a) => [a.inputs.namespace, a.inputs.metricName, a.inputs.dimensions]);
            expect(watched).to.have.deep.members([
                ...["ses-mail-sending-brake-test", "ses-mail-send-quota-test"].map((fn) => ["AWS/Lambda", "Errors", { FunctionName: fn }]),
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName: "ses-mail-sending-brake-dlq-test" }],
            ]);
        });

        it("the rule matches only the brake alarms' exact ARNs going into ALARM, and feeds the brake with a DLQ", async () => {
            const { plan } = await guard();
            const rule = plan.one("aws:cloudwatch/eventRule:EventRule");
            const arns = ["bounce-rate", "complaint-rate"].map((what) => `arn:aws:cloudwatch:us-east-1:${MOCK_ACCOUNT}:alarm:ses-mail-sending-brake-${what}-test`);
            expect(JSON.parse(rule.inputs.eventPattern)).to.deep.equal({ source: ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"], resources: arns, detail: { state: { value: ["ALARM"] } } });
            const fn = plan.one("aws:lambda/function:Function", "sending-brake");
            expect(fn.inputs.environment.variables).to.deep.include({ CONFIGURATION_SET_NAME: SET, BRAKE_ALARM_ARNS: JSON.stringify(arns), ALARM_TOPIC_ARN: TOPIC, SENDERS_TABLE_NAME: "ses-mail-sender-reputation-test" });
            const dlq = plan.one("aws:sqs/queue:Queue", "sending-brake-dlq");
            expect(plan.one("aws:cloudwatch/eventTarget:EventTarget").inputs).to.deep.include({ arn: fn.state.arn, deadLetterConfig: { arn: dlq.state.arn } });
            expect(plan.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").inputs).to.deep.include({ maximumRetryAttempts: 2, destinationConfig: { onFailure: { destination: dlq.state.arn } } });
            expect(plan.one("aws:lambda/permission:Permission").inputs).to.deep.include({ principal: "events.amazonaws.com", sourceArn: rule.state.arn });
            expect(JSON.parse(plan.one("aws:sqs/queuePolicy:QueuePolicy").inputs.policy).Statement[1].Condition).to.deep.equal({ ArnEquals: { "aws:SourceArn": [rule.state.arn] } });
        });

        it("the brake may pause its own configuration set only, write only its SENDING# records, and publish to the alarm topic", async () => {
            const { plan } = await guard();
            const policy = policyOf(plan, "sending-brake-policy");
            const other = `arn:aws:ses:us-east-1:${MOCK_ACCOUNT}:configuration-set/ses-mail-outbound-prod`;
            expect((await decide(policy, "ses:PutConfigurationSetSendingOptions", SET_ARN))).to.equal("Allowed");
            expect((await decide(policy, "ses:PutConfigurationSetSendingOptions", other))).to.equal("ImplicitlyDenied");
            expect((await decide(policy, "ses:DeleteConfigurationSet", SET_ARN))).to.equal("ImplicitlyDenied");
            expect((await decide(policy, "dynamodb:PutItem", TABLE_ARN, { "dynamodb:LeadingKeys": [`SENDING#${SET}`] }))).to.equal("Allowed");
            expect((await decide(policy, "dynamodb:PutItem", TABLE_ARN, { "dynamodb:LeadingKeys": ["SENDER#app@example.com"] }))).to.equal("ImplicitlyDenied");
            expect((await decide(policy, "dynamodb:DeleteItem", TABLE_ARN, { "dynamodb:LeadingKeys": [`SENDING#${SET}`] }))).to.equal("ImplicitlyDenied");
            expect((await decide(policy, "sns:Publish", TOPIC))).to.equal("Allowed");
            // KMS also needs the key policy (the alarm key delegates to IAM), which a bare simulation lacks: the statement itself.
            expect(policy.Statement).to.deep.include({ Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: [KEY] });
        });

        it("the quota check may read the account and publish metrics in its namespace only; Scheduler starts it every 10 minutes", async () => {
            const { plan } = await guard();
            const policy = policyOf(plan, "sending-quota-policy");
            const quotaRole = `arn:aws:iam::${MOCK_ACCOUNT}:role/ses-mail-send-quota-fn-test-us-east-1`;
            const check = (action: string, resource: string, context?: Record<string, string>) => simulate({ identity: [policy] }, { principal: quotaRole, action, resource, context });
            expect(await check("ses:GetAccount", "*")).to.equal("Allowed");
            expect(await check("cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "SESMail/test" })).to.equal("Allowed");
            expect(await check("cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "SESMail/prod" })).to.equal("ImplicitlyDenied");
            expect(await check("ses:PutConfigurationSetSendingOptions", SET_ARN)).to.equal("ImplicitlyDenied");
            const fn = plan.one("aws:lambda/function:Function", "sending-quota");
            expect(fn.inputs.environment.variables).to.deep.include({ METRICS_NAMESPACE: "SESMail/test", QUOTA_WARNING_PERCENT: "70", QUOTA_CRITICAL_PERCENT: "90" });
            const schedule = plan.one("aws:scheduler/schedule:Schedule");
            expect(schedule.inputs).to.deep.include({ name: "ses-mail-send-quota-check-test", scheduleExpression: "rate(10 minutes)" });
            expect(schedule.inputs.target.arn).to.equal(fn.state.arn);
            expect(policyOf(plan, "sending-quota-scheduler-policy").Statement).to.deep.equal([{ Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: [fn.state.arn] }]);
        });

        it("brake and quota check can each be turned off", async () => {
            const { plan } = await guard({ brake: false, quotaCheck: false });
            expect(plan.ofType("aws:lambda/function:Function")).to.deep.equal([]);
            expect(plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm")).to.deep.equal([]);
            expect(sendingGuardAlarmNames(resolveSendingGuardSettings({ env: "test", brake: false, quotaCheck: false }))).to.deep.equal([]);
        });

        it("passes the policy pack", async () => {
            expect(await violationNames(() => new SendingGuard("sending", ARGS))).to.deep.equal([]);
        });
    });

    describe("the pause survives pulumi up", () => {
        /** The configuration set as registered, with its resource options (the mocks do not record options). */
        async function configurationSet(preview: boolean) {
            const options: { ignoreChanges?: string[] } = {};
            const { plan } = await runUnderMocks(() => {
                const monitor = settingsModule.getMonitor() as any;
                const register = monitor.registerResource.bind(monitor);
                monitor.registerResource = (req: any, callback: any) => {
                    if (req.getType() === "aws:sesv2/configurationSet:ConfigurationSet") options.ignoreChanges = req.getIgnorechangesList();
                    return register(req, callback);
                };
                return new FeedbackPipeline("feedback", { env: "test", suppressionStore: new SuppressionStore("s", { env: "test" }) });
            }, { preview });
            return { inputs: plan.one("aws:sesv2/configurationSet:ConfigurationSet").inputs, options };
        }

        it("the program never says whether the set may send (create, preview and every later run), and ignores sendingOptions", async () => {
            // terraform-provider-aws (aws_sesv2_configuration_set): sending_options is Optional+Computed and
            // Update calls PutConfigurationSetSendingOptions only when it changed; left out of the program it
            // keeps what SES has. Pulumi's bridge keeps that behaviour (pulumi/pulumi#6241: "if the user does not
            // provide a value, Terraform will assume that the property has not changed").
            for (const preview of [false, true, false]) {
                const { inputs, options } = await configurationSet(preview);
                expect(inputs).to.not.have.property("sendingOptions");
                expect(options.ignoreChanges).to.deep.equal(["sendingOptions"]);
                expect(inputs.deliveryOptions).to.deep.equal({ tlsPolicy: "REQUIRE" });
            }
        });
    });
});
