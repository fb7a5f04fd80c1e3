import { expect } from "chai";
import { alarmSpecs, Alarms } from "../../components/alarms";
import { MOCK_ACCOUNT, runUnderMocks } from "../support/mocks";
import { publishedMetrics } from "../support/published-metrics";
import { cachedStack } from "../support/stack";

const AWS_METRICS: Record<string, string[]> = {
    "AWS/SES": ["Reputation.BounceRate", "Reputation.ComplaintRate"],
    "AWS/SQS": ["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"],
    "AWS/Lambda": ["Errors", "Throttles"],
    "AWS/EventBridge/Pipes": ["ExecutionFailed"],
    "AWS/States": ["ExecutionsFailed"],
};

describe("Alarms", () => {
    const specs = alarmSpecs({ env: "test", queues: { input: "q" }, queuePurposes: { input: "email-input" }, deadLetterQueues: { input: "q-dlq" }, functions: { router: "fn" }, pipes: { router: "p" }, stateMachines: { drain: "arn:sm" } });
    const byName = (name: string) => specs.find((s) => s.name === name)!;

    it("rate alarms have warning and critical tiers with the runbooks' names and documented thresholds", () => {
        const table = specs.filter((s) => s.expression).map((s) => [s.name, s.threshold, s.comparison, s.periodSeconds]);
        expect(table).to.deep.equal([
            ["ses-high-bounce-rate-WARNING", 3, "GreaterThanThreshold", 3600],
            ["ses-high-bounce-rate-CRITICAL", 5, "GreaterThanThreshold", 3600],
            ["ses-high-complaint-rate-WARNING", 0.05, "GreaterThanThreshold", 3600],
            ["ses-high-complaint-rate-CRITICAL", 0.1, "GreaterThanThreshold", 3600],
            ["ses-high-send-failure-rate-WARNING", 5, "GreaterThanThreshold", 3600],
            ["ses-high-send-failure-rate-CRITICAL", 10, "GreaterThanThreshold", 3600],
            ["ses-low-delivery-rate-CRITICAL", 95, "LessThanThreshold", 3600],
        ]);
        // Each metric of a metric-math alarm is billed (scripts/cost/prices.ts): none reads more than the two its rate needs.
        expect(specs.filter((s) => s.expression).map((s) => s.metrics!.length)).to.deep.equal(specs.filter((s) => s.expression).map(() => 2));
    });

    it("counts suppressions added per day on one metric: the worker's dimensionless SuppressionAdded, which totals both reasons", () => {
        const table = specs.filter((s) => s.name.startsWith("ses-suppressions-added-")).map((s) => [s.name, s.threshold, s.periodSeconds, s.metric, s.expression]);
        const metric = { id: "m", namespace: "SESMail/test", metricName: "SuppressionAdded", dimensions: {}, stat: "Sum" };
        expect(table).to.deep.equal([
            ["ses-suppressions-added-WARNING", 5, 86400, metric, undefined],
            ["ses-suppressions-added-CRITICAL", 20, 86400, metric, undefined],
        ]);
    });

    it("without warnings, only CRITICAL alarms; without account alarms, neither SES reputation nor Lambda throttles", () => {
        const args = { env: "test", queues: { input: "q" }, deadLetterQueues: { input: "q-dlq" }, functions: { router: "fn", "smtp-credential-manager": "fn2" } };
        const all = alarmSpecs(args);
        expect(all.filter((s) => s.tier === "WARNING").map((s) => s.name)).to.have.members([
            "ses-high-bounce-rate-WARNING", "ses-high-complaint-rate-WARNING", "ses-high-send-failure-rate-WARNING", "ses-suppressions-added-WARNING", "ses-mail-smtp-credential-refused-test",
        ]);
        expect(alarmSpecs({ ...args, warnings: false }).map((s) => s.name)).to.deep.equal(all.filter((s) => s.tier !== "WARNING").map((s) => s.name));
        const account = all.filter((s) => s.scope === "account").map((s) => s.name);
        expect(account).to.deep.equal(["ses-reputation-bounce-rate-CRITICAL", "ses-reputation-complaint-rate-CRITICAL", "ses-mail-lambda-throttles-test"]);
        expect(alarmSpecs({ ...args, accountAlarms: false }).map((s) => s.name)).to.deep.equal(all.filter((s) => !account.includes(s.name)).map((s) => s.name));
        // No function, no Lambda throttles alarm.
        expect(alarmSpecs({ env: "test", queues: { input: "q" } }).map((s) => s.name)).to.not.include("ses-mail-lambda-throttles-test");
    });

    it("guards rates against low volume: evaluated only with at least 100 sends", () => {
        expect(byName("ses-high-bounce-rate-CRITICAL").expression).to.equal("IF(sends >= 100, 100 * bounces / sends, 0)");
        // FILL: a period with failures only (no EmailsSent datapoint) is a 100 % rate, not no data.
        expect(byName("ses-high-send-failure-rate-WARNING").expression).to.equal("IF(FILL(sent, 0) + FILL(failed, 0) >= 100, 100 * FILL(failed, 0) / (FILL(sent, 0) + FILL(failed, 0)), 0)");
        expect(byName("ses-low-delivery-rate-CRITICAL").expression).to.equal("IF(sends >= 100, 100 * deliveries / sends, 100)");
        const custom = alarmSpecs({ env: "test", minimumSends: 500, alarmNameSuffix: "-test", bounceRateThresholds: [2, 4] });
        expect(custom.find((s) => s.name === "ses-high-bounce-rate-WARNING-test")).to.deep.include({ threshold: 2, expression: "IF(sends >= 500, 100 * bounces / sends, 0)" });
    });

    it("watches SES account reputation at SES's own limits", () => {
        expect(byName("ses-reputation-bounce-rate-CRITICAL")).to.deep.include({ threshold: 0.05, comparison: "GreaterThanOrEqualToThreshold", treatMissingData: "notBreaching" });
        expect(byName("ses-reputation-complaint-rate-CRITICAL").metric).to.deep.include({ namespace: "AWS/SES", metricName: "Reputation.ComplaintRate" });
    });

    it("watches every queue, DLQ, function, pipe and state machine handed in", () => {
        const resources = specs.filter((s) => s.metric && s.metric.namespace !== "AWS/SES" && s.metric.metricName !== "SuppressionAdded").map((s) => [s.name, s.key, s.metric!.metricName, s.threshold, s.treatMissingData]);
        // Function, queue-age and pipe alarms carry the runbooks' names and keep their earlier resource names (key).
        expect(resources).to.deep.equal([
            ["ses-mail-input-dlq-messages-test", undefined, "ApproximateNumberOfMessagesVisible", 0, "notBreaching"],
            ["ses-email-input-queue-age-test", "ses-mail-input-queue-age-test", "ApproximateAgeOfOldestMessage", 300, "notBreaching"],
            ["ses-mail-lambda-router-errors-test", "ses-mail-router-errors-test", "Errors", 0, "notBreaching"],
            ["eventbridge-pipes-failures-test", "ses-mail-router-execution-failed-test", "ExecutionFailed", 0, "notBreaching"],
            ["ses-mail-drain-executions-failed-test", undefined, "ExecutionsFailed", 0, "notBreaching"],
            ["ses-mail-routing-rule-invalid-test", undefined, "RoutingRuleInvalid", 0, "notBreaching"],
            // The functions' throttles: one alarm on the account's total (no FunctionName), not one per function.
            ["ses-mail-lambda-throttles-test", undefined, "Throttles", 0, "notBreaching"],
        ]);
        expect(byName("ses-mail-lambda-throttles-test").metric).to.deep.equal({ id: "m", namespace: "AWS/Lambda", metricName: "Throttles", dimensions: {}, stat: "Sum" });
    });

    it("alarms when mail meets an invalid routing rule: the router's total series (service only), any in 5 minutes; only with the router", () => {
        expect(byName("ses-mail-routing-rule-invalid-test")).to.deep.include({
            tier: "CRITICAL", threshold: 0, comparison: "GreaterThanThreshold", periodSeconds: 300, evaluationPeriods: 1, treatMissingData: "notBreaching",
            metric: { id: "m", namespace: "SESMail/test", metricName: "RoutingRuleInvalid", dimensions: { service: "router" }, stat: "Sum" },
        });
        expect(byName("ses-mail-routing-rule-invalid-test").description).to.match(/ses-mail rules list/);
        // No router, no alarm on a metric nobody publishes. (Which series the router really publishes:
        // tests/functions/router/handler.test.ts compares its EMF output with this alarm's metric.)
        expect(alarmSpecs({ env: "test", functions: { "feedback-worker": "fn" } }).map((s) => s.name)).to.not.include("ses-mail-routing-rule-invalid-test");
    });

    it("alarms on the SMTP credential manager's own failure metrics (its service dimension), only with the manager", async () => {
        const { smtpCredentialAlarms } = await import("../../components/alarm-specs");
        const smtp = alarmSpecs({ env: "test", functions: { "smtp-credential-manager": "fn" } }).filter((s) => s.name.includes("smtp-credential-") && s.metric?.namespace === "SESMail/test");
        expect(smtp).to.deep.equal(smtpCredentialAlarms("test"));
        expect(smtp.map((s) => [s.name, s.metric!.metricName, s.metric!.dimensions, s.metric!.stat, s.threshold, s.periodSeconds, s.evaluationPeriods])).to.deep.equal([
            ["ses-mail-smtp-credential-failures-test", "SMTPCredentialReconcileFailed", { service: "smtp-credential-manager" }, "Sum", 0, 3600, 1],
            ["ses-mail-smtp-credential-refused-test", "SMTPCredentialFailed", { service: "smtp-credential-manager" }, "Sum", 0, 300, 1],
            ["ses-mail-smtp-credential-stuck-test", "SMTPCredentialsStuck", { service: "smtp-credential-manager" }, "Maximum", 0, 3600, 1],
        ]);
        const ours = publishedMetrics();
        for (const spec of smtp) expect([...ours]).to.include(spec.metric!.metricName);
        expect(alarmSpecs({ env: "test", functions: { router: "fn" } }).map((s) => s.name).filter((n) => n.includes("smtp"))).to.deep.equal([]);
    });

    it("every metric an alarm names is one our functions publish, or an AWS metric", () => {
        const ours = publishedMetrics();
        for (const spec of specs) {
            for (const metric of spec.metric ? [spec.metric] : spec.metrics ?? []) {
                if (metric.namespace.startsWith("AWS/")) {
                    expect(AWS_METRICS[metric.namespace], spec.name).to.include(metric.metricName);
                } else if (metric.namespace === "SESMail/test") {
                    expect([...ours], `${spec.name}: ${metric.metricName}`).to.include(metric.metricName);
                    // SuppressionAdded: its dimensionless series (the feedback worker alone publishes the name).
                    expect(metric.dimensions.service, spec.name).to.equal(metric.metricName === "RoutingRuleInvalid" ? "router" : metric.metricName === "SuppressionAdded" ? undefined : "feedback-worker");
                } else {
                    // Applications' own namespace: EmailsSent / EmailsFailed are theirs to publish.
                    expect(metric.namespace).to.equal("SESMail/test/Application");
                }
            }
        }
        expect(ours).to.include.members(["RoutingRuleInvalid", "OutboundBounce", "OutboundSend", "OutboundDelivery", "OutboundComplaint", "SuppressionAdded", "GmailForwardSuccess", "BounceSent", "EmailsReceived", "TokenValid", "TokenSecondsUntilExpiration"]);
    });

    it("every metric a dashboard widget names is one our functions publish, or an AWS metric", async () => {
        const { dashboardBody } = await import("../../components/dashboard");
        const body = dashboardBody({ env: "test", region: "us-east-1", functions: { router: "f" }, queues: { input: "q" }, deadLetterQueues: { input: "d" }, gmailAccounts: ["you@gmail.com"] });
        const ours = publishedMetrics();
        const named = body.widgets.flatMap((w: any) => w.properties.metrics).flatMap((row: any[]) => {
            if (typeof row[0] === "string") return [[row[0], row[1]]];
            const search = /MetricName="(\w+)"/.exec(row[0].expression ?? "");
            return search ? [[`SESMail/test`, search[1]]] : [];
        });
        expect(named.length).to.be.greaterThan(20);
        for (const [namespace, metric] of named) {
            if (namespace.startsWith("AWS/")) {
                expect([...(AWS_METRICS[namespace] ?? []), "Duration"], metric).to.include(metric);
            } else {
                expect([...ours], metric).to.include(metric);
            }
        }
    });

    it("creates metric-math alarms that notify an encrypted topic CloudWatch may publish to", async () => {
        const { plan } = await runUnderMocks(() => new Alarms("alarms", { env: "test", alarmEmails: ["ops@example.com"], deadLetterQueues: { input: "q-dlq" } }));
        const bounce = plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", "alarms-ses-high-bounce-rate-CRITICAL");
        const topicArn = `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:ses-mail-alarms-test`;
        expect(bounce.inputs).to.deep.include({ name: "ses-high-bounce-rate-CRITICAL", threshold: 5, comparisonOperator: "GreaterThanThreshold", evaluationPeriods: 1, treatMissingData: "notBreaching", alarmActions: [topicArn], okActions: [topicArn] });
        expect(bounce.inputs.metricQueries).to.deep.equal([
            { id: "bounces", returnData: false, metric: { namespace: "SESMail/test", metricName: "OutboundBounce", dimensions: { service: "feedback-worker" }, stat: "Sum", period: 3600 } },
            { id: "sends", returnData: false, metric: { namespace: "SESMail/test", metricName: "OutboundSend", dimensions: { service: "feedback-worker" }, stat: "Sum", period: 3600 } },
            { id: "result", expression: "IF(sends >= 100, 100 * bounces / sends, 0)", label: "Bounce rate (%) over 1 h, when at least 100 sends", returnData: true },
        ]);
        expect(bounce.inputs.tags.Tier).to.equal("CRITICAL");
        const dlq = plan.one("aws:cloudwatch/metricAlarm:MetricAlarm", "alarms-ses-mail-input-dlq-messages-test");
        expect(dlq.inputs).to.deep.include({ namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: "q-dlq" }, statistic: "Maximum", period: 60, threshold: 0 });
        const topicPolicy = plan.json(plan.one("aws:sns/topicPolicy:TopicPolicy"), "policy");
        // Exactly the component's own alarms may publish, by ARN: not every alarm of the account.
        const alarmArns = plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => `arn:aws:cloudwatch:us-east-1:${MOCK_ACCOUNT}:alarm:${a.inputs.name}`);
        expect(topicPolicy.Statement[1]).to.deep.include({ Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["sns:Publish"] });
        expect(topicPolicy.Statement[1].Condition).to.have.keys(["ArnEquals"]);
        expect(topicPolicy.Statement[1].Condition.ArnEquals["aws:SourceArn"]).to.have.members(alarmArns).and.to.have.length(alarmArns.length);
        expect(plan.json(plan.one("aws:kms/key:Key"), "policy").Statement[1].Principal).to.deep.equal({ Service: "cloudwatch.amazonaws.com" });
        expect(plan.one("aws:sns/topicSubscription:TopicSubscription").inputs).to.deep.include({ protocol: "email", endpoint: "ops@example.com" });
    });

    it("uses an existing topic instead of creating one", async () => {
        const { plan } = await runUnderMocks(() => new Alarms("alarms", { env: "test", alarmTopicArn: "arn:aws:sns:us-east-1:1:ops" }));
        expect(plan.ofType("aws:sns/topic:Topic")).to.deep.equal([]);
        expect(plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").every((a) => a.inputs.alarmActions[0] === "arn:aws:sns:us-east-1:1:ops")).to.equal(true);
    });

    it("the test stack alarms on all eight DLQs, every function, the pipe and the drain, CRITICAL only, leaving the account's figures to prod", async () => {
        const { plan } = await cachedStack("test");
        const alarms = plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
        const names = alarms.map((a) => a.inputs.name);
        // No suppression mirror in test: prod is the account's one mirroring stack.
        // Plus the emergency brake's DLQ (SendingGuard creates its own alarms on the same topic).
        expect(names.filter((n: string) => n.endsWith("-dlq-messages-test"))).to.have.length(8);
        expect(names).to.include("ses-mail-routing-events-dlq-messages-test");
        // Five functions plus the token probe of the one Gmail account, plus SendingGuard's brake (no quota check: prod checks the account's quota).
        expect(names.filter((n: string) => n.endsWith("-errors-test"))).to.have.length(7);
        expect(names).to.include("ses-mail-lambda-gmail-token-probe-you-gmail-com-errors-test");
        expect(names).to.include.members(["eventbridge-pipes-failures-test", "ses-mail-retry-drain-executions-failed-test", "ses-high-bounce-rate-CRITICAL-test", "ses-mail-routing-rule-invalid-test"]);
        // alarms.warnings false, alarms.accountAlarms false, sending.quotaCheck false (Pulumi.test.yaml).
        expect(alarms.filter((a) => a.inputs.tags.Tier !== "CRITICAL").map((a) => a.inputs.name)).to.deep.equal([]);
        expect(names.filter((n: string) => /reputation|lambda-throttles|send-quota/.test(n))).to.deep.equal([]);
    });
});
