import { expect } from "chai";
import { NO_EXPIRY_SECONDS } from "../../functions/shared/gmail-oauth";
import { resolveTokenMonitorSettings, tokenAlarmNames, tokenAlarmSpecs, tokenMonitorDefinition, TokenMonitor } from "../../components/token-monitor";
import { ExecutionFailed, runJsonataStateMachine, TaskError } from "../support/asl-jsonata";
import { simulate } from "../support/iam-simulator";
import { MOCK_ACCOUNT, ResourcePlan, runUnderMocks } from "../support/mocks";
import { publishedMetrics } from "../support/published-metrics";

const ACCOUNT = "you@gmail.com";
const PARAMETER = "/ses-mail/test/gmail-forwarder/oauth/refresh-token/you_at_gmail.com";
const PARAMETER_ARN = `arn:aws:ssm:us-east-1:${MOCK_ACCOUNT}:parameter${PARAMETER}`;
const TOPIC = `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:ses-mail-gmail-forwarder-token-alerts-test`;
const STATE_MACHINE_ARN = `arn:aws:states:us-east-1:${MOCK_ACCOUNT}:stateMachine:ses-mail-gmail-token-monitor-you-gmail-com-test`;
const PROBE_ARN = `arn:aws:lambda:us-east-1:${MOCK_ACCOUNT}:function:ses-mail-gmail-token-probe-you-gmail-com-test`;
const settings = resolveTokenMonitorSettings({ env: "test", account: ACCOUNT });

function monitor() {
    return runUnderMocks(() => new TokenMonitor("token-you", { env: "test", account: ACCOUNT, alertTopicArn: TOPIC }));
}

const policyOf = (plan: ResourcePlan, name: string) => plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", name), "policy");

/** What IAM decides for a role's request, by an IAM policy simulator. */
const decide = (policy: object, principal: string, action: string, resource: string, context?: Record<string, string | string[]>) => simulate({ identity: [policy] }, { principal, action, resource, context });

/** SSM and CloudWatch as the state machine's AWS SDK tasks see them. */
function fakeAws(tags: { Key: string; Value: string }[] | "no-parameter") {
    const published: any[] = [];
    const task = async (resource: string, args: any) => {
        if (resource === "arn:aws:states:::aws-sdk:ssm:listTagsForResource") {
            expect(args).to.deep.equal({ ResourceType: "Parameter", ResourceId: PARAMETER });
            if (tags === "no-parameter") throw new TaskError("Ssm.InvalidResourceIdException", "The resource ID is not valid.");
            return { TagList: tags };
        }
        if (resource === "arn:aws:states:::aws-sdk:cloudwatch:putMetricData") {
            published.push(args);
            return {};
        }
        throw new Error(`unexpected task ${resource}`);
    };
    return { task, published };
}

const START = "2026-11-22T10:00:00.000Z";
const startEpoch = Date.parse(START) / 1000;

describe("TokenMonitor", () => {
    describe("state machine (run with the real JSONata evaluator)", () => {
        const definition = JSON.parse(JSON.stringify(tokenMonitorDefinition(settings, "aws")));

        it("publishes the seconds from the execution start to expires_at_epoch, for the account only (no dimensionless copy: one custom metric per account, issue #20)", async () => {
            const aws = fakeAws([{ Key: "created_at", Value: "2026-11-20T10:00:00.000Z" }, { Key: "expires_at_epoch", Value: String(startEpoch + 5 * 3600) }]);
            const output = await runJsonataStateMachine(definition, {}, aws.task, { startTime: START });
            expect(output).to.deep.equal({ account: ACCOUNT, secondsUntilExpiration: 5 * 3600 });
            expect(aws.published).to.deep.equal([{
                Namespace: "SESMail/test",
                MetricData: [
                    { MetricName: "TokenSecondsUntilExpiration", Dimensions: [{ Name: "account", Value: ACCOUNT }], Unit: "Seconds", Value: 18000 },
                ],
            }]);
        });

        it("an expired token publishes a negative value (the expired alarm's < 0)", async () => {
            const aws = fakeAws([{ Key: "expires_at_epoch", Value: String(startEpoch - 60) }]);
            await runJsonataStateMachine(definition, {}, aws.task, { startTime: START });
            expect(aws.published[0].MetricData[0].Value).to.equal(-60);
        });

        it("a token without an expiry date (published app) reports the six-month horizon", async () => {
            const aws = fakeAws([{ Key: "expires_at_epoch", Value: "never" }]);
            await runJsonataStateMachine(definition, {}, aws.task, { startTime: START });
            expect(aws.published[0].MetricData[0].Value).to.equal(NO_EXPIRY_SECONDS);
        });

        it("fails, naming the fix, when there is no token parameter or no usable tag (the metric then goes missing)", async () => {
            for (const [tags, error] of [["no-parameter", "TokenMissing"], [[], "TokenExpiryUnknown"], [[{ Key: "expires_at_epoch", Value: "soon" }], "TokenExpiryUnknown"]] as const) {
                const aws = fakeAws(tags as never);
                const failure = await runJsonataStateMachine(definition, {}, aws.task, { startTime: START }).then(() => undefined, (e: unknown) => e);
                expect(failure, JSON.stringify(tags)).to.be.instanceOf(ExecutionFailed);
                expect((failure as ExecutionFailed).error).to.equal(error);
                expect((failure as ExecutionFailed).cause).to.include("npx ses-mail token refresh --stack test --account you@gmail.com");
                expect(aws.published).to.deep.equal([]);
            }
        });

        it("uses only tasks its role allows, on exactly the resources they touch, and never reads the token", async () => {
            const { plan } = await monitor();
            const machine = plan.one("aws:sfn/stateMachine:StateMachine");
            expect(machine.inputs).to.deep.include({ name: "ses-mail-gmail-token-monitor-you-gmail-com-test", type: "EXPRESS" });
            const deployed = JSON.parse(machine.inputs.definition);
            expect(deployed).to.deep.equal(definition);
            const policy = policyOf(plan, "token-you-monitor-policy");
            const role = plan.one("aws:iam/role:Role", "token-you-monitor-role");
            expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: "states.amazonaws.com" });
            const principal = `arn:aws:iam::${MOCK_ACCOUNT}:role/${role.inputs.name}`;
            const tasks = Object.values(deployed.States as Record<string, any>).filter((state) => state.Type === "Task");
            expect(tasks.map((t) => t.Resource)).to.deep.equal(["arn:aws:states:::aws-sdk:ssm:listTagsForResource", "arn:aws:states:::aws-sdk:cloudwatch:putMetricData"]);
            // Each task's IAM action on its resource: allowed.
            expect(await decide(policy, principal, "ssm:ListTagsForResource", PARAMETER_ARN)).to.equal("Allowed");
            expect(await decide(policy, principal, "cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "SESMail/test" })).to.equal("Allowed");
            // Nothing more: not another parameter, not another namespace, not the secret itself.
            expect(await decide(policy, principal, "ssm:ListTagsForResource", PARAMETER_ARN.replace("you_at_gmail.com", "other_at_gmail.com"))).to.equal("ImplicitlyDenied");
            expect(await decide(policy, principal, "cloudwatch:PutMetricData", "*", { "cloudwatch:namespace": "SESMail/prod" })).to.equal("ImplicitlyDenied");
            expect(await decide(policy, principal, "ssm:GetParameter", PARAMETER_ARN)).to.equal("ImplicitlyDenied");
            expect(machine.inputs.loggingConfiguration).to.deep.include({ level: "ERROR", includeExecutionData: true });
            expect(machine.inputs.tracingConfiguration).to.deep.equal({ enabled: true });
        });
    });

    describe("schedules", () => {
        it("start the monitor every 5 minutes and the probe every hour, through a role that may start only those two", async () => {
            const { plan } = await monitor();
            const schedule = plan.one("aws:scheduler/schedule:Schedule", "token-you-schedule");
            expect(schedule.inputs).to.deep.include({ name: "ses-mail-gmail-token-monitor-you-gmail-com-test", scheduleExpression: "rate(5 minutes)", flexibleTimeWindow: { mode: "OFF" } });
            expect(schedule.inputs.target).to.deep.include({ arn: STATE_MACHINE_ARN, input: "{}", retryPolicy: { maximumEventAgeInSeconds: 300, maximumRetryAttempts: 2 } });
            const probeSchedule = plan.one("aws:scheduler/schedule:Schedule", "token-you-probe-schedule");
            expect(probeSchedule.inputs).to.deep.include({ name: "ses-mail-gmail-token-probe-you-gmail-com-test", scheduleExpression: "rate(1 hour)" });
            expect(probeSchedule.inputs.target.arn).to.equal(PROBE_ARN);
            const role = plan.one("aws:iam/role:Role", "token-you-scheduler-role");
            expect(schedule.inputs.target.roleArn).to.equal(`arn:aws:iam::${MOCK_ACCOUNT}:role/${role.inputs.name}`);
            expect(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal).to.deep.equal({ Service: "scheduler.amazonaws.com" });
            expect(policyOf(plan, "token-you-scheduler-policy").Statement).to.deep.equal([
                { Effect: "Allow", Action: ["states:StartExecution"], Resource: [STATE_MACHINE_ARN] },
                { Effect: "Allow", Action: ["lambda:InvokeFunction"], Resource: [PROBE_ARN] },
            ]);
            // Created only once their role may start the targets.
            const policyUrn = plan.one("aws:iam/rolePolicy:RolePolicy", "token-you-scheduler-policy").urn;
            expect(schedule.dependencies).to.include(policyUrn);
            expect(probeSchedule.dependencies).to.include(policyUrn);
        });
    });

    describe("probe function", () => {
        it("reads the account's two parameters, tags the token's, and is told which account it probes", async () => {
            const { plan } = await monitor();
            const fn = plan.one("aws:lambda/function:Function", "token-you-probe");
            expect(fn.inputs).to.deep.include({ name: "ses-mail-gmail-token-probe-you-gmail-com-test", timeout: 60 });
            expect(fn.inputs.environment.variables).to.deep.include({ ACCOUNT, SSM_PREFIX: "/ses-mail/test/gmail-forwarder", POWERTOOLS_SERVICE_NAME: "token-probe", POWERTOOLS_METRICS_NAMESPACE: "SESMail/test" });
            expect(policyOf(plan, "token-you-probe-policy").Statement.slice(2)).to.deep.equal([
                { Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [`arn:aws:ssm:us-east-1:${MOCK_ACCOUNT}:parameter/ses-mail/test/gmail-forwarder/oauth/client-credentials`, PARAMETER_ARN] },
                {
                    Effect: "Allow", Action: ["ssm:AddTagsToResource"], Resource: [PARAMETER_ARN],
                    Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["last_probe_at", "last_probe_result"] }, Null: { "aws:TagKeys": "false" } },
                },
            ]);
        });

        it("may write its own two tags only, never the expiry the monitor reads (aws:TagKeys)", async () => {
            const { plan } = await monitor();
            const policy = policyOf(plan, "token-you-probe-policy");
            const principal = `arn:aws:iam::${MOCK_ACCOUNT}:role/${plan.one("aws:iam/role:Role", "token-you-probe-role").inputs.name}`;
            const tag = (keys: string[]) => decide(policy, principal, "ssm:AddTagsToResource", PARAMETER_ARN, { "aws:TagKeys": keys });
            expect(await tag(["last_probe_at", "last_probe_result"])).to.equal("Allowed");
            expect(await tag(["last_probe_result"])).to.equal("Allowed");
            for (const keys of [["expires_at_epoch"], ["last_probe_at", "expires_at_epoch"], ["expires_at"], ["created_at"]]) {
                expect(await tag(keys), keys.join(",")).to.equal("ImplicitlyDenied");
            }
            // Without any tag key (a request the API would refuse anyway) nothing is allowed either.
            expect(await decide(policy, principal, "ssm:AddTagsToResource", PARAMETER_ARN)).to.equal("ImplicitlyDenied");
        });
    });

    describe("alarms", () => {
        const specs = tokenAlarmSpecs(settings, STATE_MACHINE_ARN);

        it("warning < 24 h, critical < 6 h, expired < 0, missing data breaching; refused token; failed monitor", () => {
            expect(specs.map((s) => [s.name, s.metric?.metricName ?? s.expression, s.threshold, s.comparison, s.periodSeconds, s.treatMissingData])).to.deep.equal([
                ["ses-mail-gmail-token-expiring-WARNING-you-gmail-com-test", "TokenSecondsUntilExpiration", 86400, "LessThanThreshold", 900, "breaching"],
                ["ses-mail-gmail-token-expiring-CRITICAL-you-gmail-com-test", "TokenSecondsUntilExpiration", 21600, "LessThanThreshold", 900, "breaching"],
                ["ses-mail-gmail-token-expired-CRITICAL-you-gmail-com-test", "TokenSecondsUntilExpiration", 0, "LessThanThreshold", 900, "breaching"],
                ["ses-mail-gmail-token-invalid-CRITICAL-you-gmail-com-test", "TokenValid", 1, "LessThanThreshold", 3600, "notBreaching"],
                ["ses-mail-gmail-token-monitor-failed-CRITICAL-you-gmail-com-test", "FILL(failed, 0) + FILL(timedOut, 0)", 0, "GreaterThanThreshold", 300, "notBreaching"],
            ]);
            for (const spec of specs) expect(spec.description, spec.name).to.include("npx ses-mail token refresh --stack test --account you@gmail.com");
            expect(resolveTokenMonitorSettings({ env: "test", account: ACCOUNT, warningHours: 48, criticalHours: 12 })).to.deep.include({ warningHours: 48, criticalHours: 12 });
            expect(() => resolveTokenMonitorSettings({ env: "test", account: ACCOUNT, warningHours: 6, criticalHours: 6 })).to.throw(/warningHours \(6\) must be greater than criticalHours \(6\)/);
        });

        it("without the warning alarm, the CRITICAL ones stay, and the topic's publisher list (tokenAlarmNames) follows", () => {
            const quiet = resolveTokenMonitorSettings({ env: "test", account: ACCOUNT, warningAlarm: false });
            expect(tokenAlarmSpecs(quiet, STATE_MACHINE_ARN).map((s) => s.name)).to.deep.equal(specs.filter((s) => s.tier === "CRITICAL").map((s) => s.name));
            expect(tokenAlarmNames(quiet)).to.deep.equal(specs.filter((s) => s.tier === "CRITICAL").map((s) => s.name));
        });

        it("watch metrics that are published, with the publishers' exact dimensions", () => {
            const published = publishedMetrics();
            for (const spec of specs) {
                for (const metric of spec.metric ? [spec.metric] : spec.metrics ?? []) {
                    if (metric.namespace === "AWS/States") {
                        expect(metric.dimensions).to.deep.equal({ StateMachineArn: STATE_MACHINE_ARN });
                        continue;
                    }
                    expect([...published], spec.name).to.include(metric.metricName);
                    expect(metric).to.deep.include({ namespace: "SESMail/test", dimensions: { account: ACCOUNT }, stat: "Minimum" });
                }
            }
        });

        it("notify the token-alerts topic on ALARM and OK", async () => {
            const { plan } = await monitor();
            const alarms = plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
            expect(alarms.map((a) => a.inputs.name)).to.deep.equal(specs.map((s) => s.name));
            for (const alarm of alarms) expect(alarm.inputs).to.deep.include({ alarmActions: [TOPIC], okActions: [TOPIC] });
            expect(plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", "token-you-expired-CRITICAL").inputs).to.deep.include({
                namespace: "SESMail/test", metricName: "TokenSecondsUntilExpiration", dimensions: { account: ACCOUNT }, statistic: "Minimum", period: 900, threshold: 0, treatMissingData: "breaching",
            });
        });
    });

    it("every child is parented to the component", async () => {
        const { plan } = await monitor();
        const component = plan.one("ses-mail:index:TokenMonitor");
        const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
        const ancestors = (r: { parentUrn?: string }): string[] => (r.parentUrn && byUrn.has(r.parentUrn) ? [r.parentUrn, ...ancestors(byUrn.get(r.parentUrn)!)] : []);
        const custom = plan.resources.filter((r) => r.custom);
        expect(custom).to.have.length(17);
        for (const resource of custom) expect(ancestors(resource), resource.name).to.include(component.urn);
    });
});
