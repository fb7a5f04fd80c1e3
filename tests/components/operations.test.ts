// The operations layer against what operators hold (the runbooks' alarm names and dimensionless
// metric queries) and against what the stack and its functions really do.
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { RUNBOOK_ALARM_NAMES } from "../../components/alarm-specs";
import { alarmSpecs } from "../../components/alarms";
import { BOUNCER_MAX_CONCURRENCY } from "../../components/mail-ingest-bouncing";
import { applicationMetricsNamespace, publishSendOutcomes, sendOutcomeEmf, sendOutcomeMetricData } from "../../functions/shared/send-outcomes";
import { matches } from "../support/metric-checks";
import { MOCK_ACCOUNT } from "../support/mocks";
import { metricSeries } from "../support/output";
import { cachedStack } from "../support/stack";

describe("Operations: the runbooks' names and queries", () => {
    it("prod deploys the alarm names the runbooks use, under the resource names the alarms had (URNs unchanged)", async () => {
        const { plan } = await cachedStack("prod");
        const alarm = (resourceName: string) => plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", resourceName).inputs.name;
        // The runbooks' examples: ses-mail-lambda-<function>-errors-<env>, ses-<queue>-queue-age-<env>, eventbridge-pipes-failures-<env>.
        expect([
            "alarms-ses-mail-gmail-forwarder-errors-prod", "alarms-ses-mail-router-errors-prod", "alarms-ses-mail-bouncer-errors-prod", "alarms-ses-mail-lambda-throttles-prod",
            "alarms-ses-mail-input-queue-age-prod", "alarms-ses-mail-forwarder-queue-age-prod", "alarms-ses-mail-bouncer-queue-age-prod", "alarms-ses-mail-router-execution-failed-prod",
        ].map(alarm)).to.deep.equal([
            "ses-mail-lambda-gmail-forwarder-errors-prod", "ses-mail-lambda-router-errors-prod", "ses-mail-lambda-bouncer-errors-prod", RUNBOOK_ALARM_NAMES.lambdaThrottles("prod"),
            "ses-email-input-queue-age-prod", "ses-gmail-forwarder-queue-age-prod", "ses-bouncer-queue-age-prod", "eventbridge-pipes-failures-prod",
        ]);
        const names = plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => a.inputs.name as string);
        expect(names.filter((n) => n.includes("-queue-age-")).sort()).to.deep.equal(
            ["bouncer", "email-input", "feedback", "gmail-forwarder", "gmail-forwarder-retry"].map((queue) => RUNBOOK_ALARM_NAMES.queueAge(queue, "prod")));
        // Each queue-age alarm watches the queue its name says.
        for (const a of plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((r) => r.inputs.name.includes("-queue-age-"))) {
            expect(`ses-mail-${a.inputs.name.slice("ses-".length, -"-queue-age-prod".length)}-prod`).to.equal(a.inputs.dimensions.QueueName);
        }
        // The topic lets exactly these alarms publish.
        const policy = plan.json(plan.one("aws:sns/topicPolicy:TopicPolicy", "alarms-topic-policy"), "policy");
        const sources = policy.Statement.flatMap((s: any) => s.Condition?.ArnEquals?.["aws:SourceArn"] ?? []);
        expect(sources).to.include.members(["ses-mail-lambda-router-errors-prod", "eventbridge-pipes-failures-prod"].map((n) => `arn:aws:cloudwatch:us-east-1:${MOCK_ACCOUNT}:alarm:${n}`));
    });

    it("no two stacks of one account and Region share an alarm name: they differ in env or in namePrefix (config refuses the rest)", () => {
        const segment = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
        const stack = fc.record({ env: segment, prefix: fc.oneof(fc.constant("ses-mail"), segment) });
        const functions = Object.fromEntries(["router", "gmail-forwarder", "bouncer", "feedback-worker", "suppression-mirror", "smtp-credential-manager", "gmail-token-probe-you-gmail-com"].map((l) => [l, "f"]));
        const queues = Object.fromEntries(["input", "forwarder", "forwarder-retry", "bouncer", "feedback"].map((l) => [l, "q"]));
        const queuePurposes = { input: "email-input", forwarder: "gmail-forwarder", "forwarder-retry": "gmail-forwarder-retry", bouncer: "bouncer", feedback: "feedback" };
        // Rate alarms (metric math, and the suppressions-added one) carry no env: alarms.nameSuffix keeps them apart (the test stack sets -test).
        const names = (s: { env: string; prefix: string }) => alarmSpecs({ env: s.env, namePrefix: s.prefix, functions, queues, queuePurposes, deadLetterQueues: queues, pipes: { router: "p" }, stateMachines: { "retry-drain": "arn" } })
            .filter((spec) => !spec.expression && spec.metric?.namespace !== "AWS/SES" && spec.metric?.metricName !== "SuppressionAdded").map((spec) => spec.name);
        fc.assert(fc.property(stack, stack, (a, b) => {
            fc.pre(a.env !== b.env || a.prefix !== b.prefix);
            const shared = names(a).filter((n) => names(b).includes(n));
            expect(shared, JSON.stringify([a, b])).to.deep.equal([]);
        }), { numRuns: 300 });
    });

    it("one Throttles alarm for the account replaces one per function: no function reserves concurrency, the bouncer's trigger caps it, and only the stack that watches the account has it", async () => {
        for (const stackName of ["test", "prod"]) {
            const { plan } = await cachedStack(stackName);
            const functions = plan.ofType("aws:lambda/function:Function");
            // Reserved concurrency below the SQS pollers' demand throttles routinely ("Using Lambda with Amazon SQS").
            expect(functions.filter((f) => f.inputs.reservedConcurrentExecutions !== undefined).map((f) => f.inputs.name), stackName).to.deep.equal([]);
            const bouncerArn = `arn:aws:lambda:us-east-1:${MOCK_ACCOUNT}:function:ses-mail-bouncer-${stackName}`;
            const mapping = plan.ofType("aws:lambda/eventSourceMapping:EventSourceMapping").find((m) => m.inputs.functionName === bouncerArn || String(m.inputs.functionName).endsWith(`ses-mail-bouncer-${stackName}`));
            expect(mapping?.inputs.scalingConfig, stackName).to.deep.equal({ maximumConcurrency: BOUNCER_MAX_CONCURRENCY });
            const alarms = plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
            // No per-function Throttles alarm is left, in Alarms or SendingGuard.
            expect(alarms.filter((a) => a.inputs.metricName === "Throttles" && a.inputs.dimensions?.FunctionName !== undefined).map((a) => a.inputs.name), stackName).to.deep.equal([]);
            const throttles = alarms.filter((a) => a.inputs.metricName === "Throttles");
            // Test shares prod's account and region (alarms.accountAlarms: false): prod's alarm covers both.
            expect(throttles.map((a) => a.inputs.name), stackName).to.deep.equal(stackName === "prod" ? [RUNBOOK_ALARM_NAMES.lambdaThrottles("prod")] : []);
            if (stackName === "prod") {
                expect(throttles[0].inputs).to.deep.include({ metricName: "Throttles", namespace: "AWS/Lambda", threshold: 0, dimensions: {}, statistic: "Sum", treatMissingData: "notBreaching" });
                expect(throttles[0].inputs.alarmDescription).to.match(/unreserved concurrency is exhausted/);
            }
        }
    });

    it("every function publishes into the namespace its alarms read (SESMail/<env>)", async () => {
        const { plan } = await cachedStack("prod");
        const namespaces = new Set(plan.ofType("aws:lambda/function:Function").map((f) => f.inputs.environment?.variables?.POWERTOOLS_METRICS_NAMESPACE).filter(Boolean));
        expect([...namespaces]).to.deep.equal(["SESMail/prod"]);
        const alarmed = plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").flatMap((a) => [a.inputs.namespace, ...(a.inputs.metricQueries ?? []).map((q: any) => q.metric?.namespace)])
            .filter((ns: string | undefined) => ns !== undefined && !ns.startsWith("AWS/"));
        expect([...new Set(alarmed)].sort()).to.deep.equal(["SESMail/prod", "SESMail/prod/Application"]);
    });

    describe("applications' send outcomes (ses-mail/runtime)", () => {
        const alarm = alarmSpecs({ env: "prod" }).find((s) => s.name === "ses-high-send-failure-rate-CRITICAL")!;

        it("PutMetricData publishes exactly the series the send-failure alarm reads: its namespace, names and no dimension", async () => {
            const cloudwatch = mockClient(CloudWatchClient);
            cloudwatch.on(PutMetricDataCommand).resolves({});
            try {
                await publishSendOutcomes({ env: "prod", client: new CloudWatchClient({ region: "us-east-1" }) }, { sent: 97, failed: 3 });
                const [input] = cloudwatch.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input);
                expect(input.Namespace).to.equal(applicationMetricsNamespace("prod"));
                const published = input.MetricData!.map((d) => ({ name: d.MetricName!, value: d.Value!, dimensions: Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name!, x.Value!])) }));
                expect(published.map((p) => [p.name, p.value, p.dimensions])).to.deep.equal([["EmailsSent", 97, {}], ["EmailsFailed", 3, {}]]);
                for (const metric of alarm.metrics!) {
                    expect(metric.namespace).to.equal(input.Namespace);
                    expect(published.some((p) => matches(metric, p)), metric.metricName).to.equal(true);
                }
            } finally {
                cloudwatch.restore();
            }
        });

        it("the EMF record (Lambda applications) lands in the same series; bad counts are refused", () => {
            const series = metricSeries([sendOutcomeEmf(applicationMetricsNamespace("prod"), { sent: 5, failed: 0 })]);
            for (const metric of alarm.metrics!) {
                expect(series.some((s) => s.namespace === metric.namespace && matches(metric, s)), metric.metricName).to.equal(true);
            }
            expect(() => sendOutcomeMetricData("ns", { sent: -1, failed: 0 })).to.throw(/whole number/);
            expect(() => sendOutcomeMetricData("ns", { sent: 1.5, failed: 0 })).to.throw(/whole number/);
        });
    });
});
