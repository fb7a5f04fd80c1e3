// `ses-mail health` end to end: argument parsing to output and exit code, against dynalite (the test
// stack's suppression and senders tables) and SDK client mocks for CloudWatch, SQS, SESv2, SES and
// SSM. Which checks fail is generated (fast-check): the command must flag exactly those, and exit 1
// exactly when one is flagged.
import { CloudWatchClient, DescribeAlarmsCommand, GetMetricDataCommand, ListTagsForResourceCommand as ListAlarmTagsCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeActiveReceiptRuleSetCommand, SESClient } from "@aws-sdk/client-ses";
import { GetAccountCommand, GetConfigurationSetCommand, GetEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { GetQueueAttributesCommand, GetQueueUrlCommand, QueueDoesNotExist, SQSClient } from "@aws-sdk/client-sqs";
import { ListTagsForResourceCommand, SSMClient } from "@aws-sdk/client-ssm";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { HEALTH_CHECKS, HealthCheck, HealthCheckName } from "../../cli/health";
import { SUPPRESSIONS_PER_DAY_INVESTIGATE } from "../../cli/ops-target";
import { parameterNames, TOKEN_TAGS } from "../../functions/shared/gmail-oauth";
import { SuppressionClient } from "../../functions/shared/suppression-client";
import { MOCK_ACTIVE_RULE_SET } from "../support/mocks";
import { OpsFixture, opsFixture, runCli } from "./ops-fixture";

const NOW = new Date("2026-12-03T07:00:00.000Z");
const NOW_S = NOW.getTime() / 1000;
const ACCOUNT = "123456789012";
const url = (name: string) => `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/${name}`;

type Failing = Record<HealthCheckName, boolean>;

describe("ses-mail health (end to end against dynalite and SDK mocks)", function () {
    this.timeout(180_000);
    let fx: OpsFixture;
    let cloudwatch: AwsClientStub<CloudWatchClient>;
    let sqs: AwsClientStub<SQSClient>;
    let sesv2: AwsClientStub<SESv2Client>;
    let ses: AwsClientStub<SESClient>;
    let ssm: AwsClientStub<SSMClient>;
    /** Alarms of the synthesized stack (names and tags as the components create them) and one of another stack. */
    let ourAlarm: { name: string; tags: Record<string, string>; description: string };
    let otherAlarm: { name: string; tags: Record<string, string>; description: string };
    let foreignAlarm: { name: string; tags: Record<string, string>; description: string };
    let tagLookups: string[];

    before(async () => {
        fx = await opsFixture();
        const alarms = fx.plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => ({ name: a.inputs.name as string, tags: a.inputs.tags as Record<string, string>, description: a.inputs.alarmDescription as string }));
        // Any alarm named for the stack (the test stack has CRITICAL ones only: alarms.warnings false).
        ourAlarm = alarms.find((a) => a.name.endsWith("-test"))!;
        expect(ourAlarm, "the test stack has an alarm named for it").to.not.equal(undefined);
        // The same alarm of prod (which shares test's account): not ours by name; never looked at further.
        otherAlarm = { ...ourAlarm, name: ourAlarm.name.replace(/-test$/, "-prod"), tags: { ...ourAlarm.tags, Environment: "prod" } };
        expect(otherAlarm.name).to.not.equal(ourAlarm.name);
        // Another system's alarm whose name happens to end like ours: not ours by its tags.
        foreignAlarm = { name: "billing-export-errors-test", tags: { Team: "billing" }, description: "[CRITICAL] not ours" };
        cloudwatch = mockClient(CloudWatchClient);
        sqs = mockClient(SQSClient);
        sesv2 = mockClient(SESv2Client);
        ses = mockClient(SESClient);
        ssm = mockClient(SSMClient);
    });
    after(async () => {
        [cloudwatch, sqs, sesv2, ses, ssm].forEach((m) => m.restore());
        await fx.close();
    });

    /** AWS as it answers when exactly the `failing` checks have a problem. */
    async function world(failing: Failing, extraSuppressions = 0): Promise<void> {
        [cloudwatch, sqs, sesv2, ses, ssm].forEach((m) => m.reset());
        await fx.clear();
        const t = fx.target;
        // Alarms: ours in ALARM when failing; another stack's always (must be ignored). Two pages (NextToken).
        const firing = [otherAlarm, foreignAlarm, ...(failing.alarms ? [ourAlarm] : [])];
        tagLookups = [];
        const described = firing.map((a) => ({ AlarmName: a.name, AlarmArn: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${a.name}`, AlarmDescription: a.description, StateValue: "ALARM" as const }));
        cloudwatch.on(DescribeAlarmsCommand).callsFake((input) => {
            expect(input.StateValue).to.equal("ALARM");
            return input.NextToken ? { MetricAlarms: described.slice(1) } : { MetricAlarms: described.slice(0, 1), NextToken: "page-2" };
        });
        cloudwatch.on(ListAlarmTagsCommand).callsFake((input) => {
            const alarm = firing.find((a) => input.ResourceARN.endsWith(`:alarm:${a.name}`))!;
            tagLookups.push(alarm.name);
            return { Tags: Object.entries(alarm.tags).map(([Key, Value]) => ({ Key, Value })) };
        });
        // Queues: every main queue and DLQ of the stack exists; the feedback queue's oldest message is 900 s old, the feedback DLQ holds 2.
        const mainQueue = t.queues[0].name;
        const dlq = t.dlq.dlqs[0].name;
        const names = [...t.queues.map((q) => q.name), ...t.dlq.dlqs.map((d) => d.name)];
        sqs.on(GetQueueUrlCommand).callsFake((input) => {
            if (!names.includes(input.QueueName)) throw new QueueDoesNotExist({ message: "The specified queue does not exist.", $metadata: {} });
            return { QueueUrl: url(input.QueueName) };
        });
        sqs.on(GetQueueAttributesCommand).callsFake((input) => {
            const name = input.QueueUrl.split("/").pop();
            const depth = (name === mainQueue && failing.queues) ? 4 : (name === mainQueue ? 1 : 0) + (name === dlq && failing.dlqs ? 2 : 0);
            return { Attributes: { ApproximateNumberOfMessages: String(depth), ApproximateNumberOfMessagesNotVisible: "0", ApproximateNumberOfMessagesDelayed: "0" } };
        });
        cloudwatch.on(GetMetricDataCommand).callsFake((input) => ({
            MetricDataResults: input.MetricDataQueries.map((q: { Id: string; MetricStat: { Metric: { Dimensions: { Value: string }[] } } }) => {
                const queue = q.MetricStat.Metric.Dimensions[0].Value;
                return { Id: q.Id, Values: [queue === mainQueue ? (failing.queues ? 900 : 20) : 3600] };
            }),
        }));
        // Tokens: expired 2 h ago, or 10 days left; the probe's last result.
        const parameter = parameterNames(fx.target.tokens.parameterPrefix, "you@gmail.com").refreshToken;
        ssm.on(ListTagsForResourceCommand, { ResourceType: "Parameter", ResourceId: parameter }).resolves({
            TagList: [
                { Key: TOKEN_TAGS.expiresAtEpoch, Value: String(NOW_S + (failing.tokens ? -7200 : 10 * 86400)) },
                { Key: TOKEN_TAGS.lastProbeResult, Value: "valid" }, { Key: TOKEN_TAGS.lastProbeAt, Value: "2026-12-03T06:00:00Z" },
            ],
        });
        sesv2.on(GetConfigurationSetCommand, { ConfigurationSetName: t.sending.configurationSetName }).resolves(failing.sending ? { SendingOptions: { SendingEnabled: false } } : {});
        sesv2.on(GetAccountCommand).resolves({ SendingEnabled: true, ProductionAccessEnabled: true, SendQuota: { Max24HourSend: 50_000, SentLast24Hours: failing.quota ? 40_000 : 5_000, MaxSendRate: 14 } });
        sesv2.on(GetEmailIdentityCommand).callsFake((input) => ({
            VerifiedForSendingStatus: true, VerificationStatus: "SUCCESS", DkimAttributes: { Status: failing.identities ? "PENDING" : "SUCCESS" },
            MailFromAttributes: { MailFromDomain: `bounce.${input.EmailIdentity}`, MailFromDomainStatus: "SUCCESS", BehaviorOnMxFailure: "USE_DEFAULT_VALUE" },
        }));
        // The account's active set is the one the test stack joins; its rule is in it unless failing.
        ses.on(DescribeActiveReceiptRuleSetCommand).resolves({
            Metadata: { Name: MOCK_ACTIVE_RULE_SET },
            Rules: [{ Name: "other-system-rule", Enabled: true }, ...(failing["receipt-rules"] ? [] : [{ Name: t.receiving!.ruleName, Enabled: true }])],
        });
        // Suppressions in the last 24 h: the runbook's threshold exactly (not a problem), or one more; older ones never count.
        const store = new SuppressionClient({ tableName: t.suppression.tableName, client: fx.local.client, now: () => NOW_S });
        const added = SUPPRESSIONS_PER_DAY_INVESTIGATE + (failing.suppressions ? 1 : 0) + extraSuppressions;
        for (let i = 0; i < added; i++) await store.suppress({ email: `u${i}@example.com`, reason: i % 3 === 0 ? "complaint" : "bounce" }, { addedAt: NOW_S - 60 - i * 600 });
        for (let i = 0; i < 5; i++) await store.suppress({ email: `old${i}@example.com`, reason: "bounce" }, { addedAt: NOW_S - 86_400 - 1 - i });
    }

    const none = (): Failing => Object.fromEntries(HEALTH_CHECKS.map((c) => [c, false])) as Failing;

    it("names it uses are the stack's: the receipt rule and the active set the test stack joins", () => {
        const rule = fx.plan.ofType("aws:ses/receiptRule:ReceiptRule")[0];
        expect(fx.target.receiving).to.deep.equal({ ruleName: rule.inputs.name, ruleSetName: MOCK_ACTIVE_RULE_SET });
        expect(fx.target.identities).to.deep.equal(["mail-test.example.com"]);
    });

    it("all fine: one line per check, verdict healthy, exit 0; --help has an example", async () => {
        await world(none());
        const { code, stdout } = await runCli(["health", "--stack", "test"], () => NOW);
        const lines = stdout.trimEnd().split("\n");
        expect(lines.slice(0, HEALTH_CHECKS.length).map((l) => l.split(/\s+/)[1])).to.deep.equal([...HEALTH_CHECKS]);
        lines.slice(0, HEALTH_CHECKS.length).forEach((l) => expect(l).to.match(/^OK {4}/));
        expect(lines.at(-1)).to.equal("Verdict: healthy");
        expect(code).to.equal(0);
        expect(stdout).to.contain("10 added in 24 h (bounce 6, complaint 4, manual 0; investigate above 10)");
        const help = await runCli(["health", "--help"], () => NOW);
        expect(help.stdout).to.contain("Example:\n  $ ses-mail health --stack prod");
    });

    it("exit 1 with exactly the checks that have a problem flagged (generated combinations)", async () => {
        await fc.assert(fc.asyncProperty(fc.record(Object.fromEntries(HEALTH_CHECKS.map((c) => [c, fc.boolean()])) as Record<HealthCheckName, fc.Arbitrary<boolean>>), async (failing) => {
            await world(failing);
            const { code, stdout } = await runCli(["health", "--stack", "test", "--json"], () => NOW);
            const report = JSON.parse(stdout) as { verdict: string; checks: HealthCheck[] };
            const flagged = report.checks.filter((c) => c.status === "attention").map((c) => c.check);
            const expected = HEALTH_CHECKS.filter((c) => failing[c]);
            expect(flagged, JSON.stringify(report.checks.filter((c) => c.status !== "ok"), null, 1)).to.deep.equal(expected);
            expect(code).to.equal(expected.length > 0 ? 1 : 0);
            expect(report.verdict).to.equal(expected.length > 0 ? "attention" : "healthy");
            expect(report.checks.map((c) => c.check)).to.deep.equal([...HEALTH_CHECKS]);
        }), { numRuns: 24, examples: [[none()], [Object.fromEntries(HEALTH_CHECKS.map((c) => [c, true])) as Failing]] });
    });

    it("says why: the alarm by tier, the paused set, the expired token, the suppressions over the threshold", async () => {
        await world({ ...none(), alarms: true, tokens: true, suppressions: true });
        const { code, stdout } = await runCli(["health", "--stack", "test"], () => NOW);
        expect(code).to.equal(1);
        expect(stdout).to.contain(`FAIL  alarms         1 alarm in ALARM (${ourAlarm.tags.Tier} 1): ${ourAlarm.name}`);
        expect(stdout).to.not.contain(otherAlarm.name);
        expect(stdout).to.not.contain(foreignAlarm.name);
        // Tags are read only for alarms whose names may be the stack's.
        expect(tagLookups.sort()).to.deep.equal([foreignAlarm.name, ourAlarm.name].sort());
        expect(stdout).to.match(/FAIL {2}tokens {9}you@gmail\.com EXPIRED, probe valid at 2026-12-03T06:00:00Z: ses-mail token refresh --stack test --account <gmail>/);
        expect(stdout).to.contain("FAIL  suppressions   11 added in 24 h");
        expect(stdout.trimEnd().split("\n").at(-1)).to.equal("Verdict: NEEDS ATTENTION (alarms, tokens, suppressions)");
    });

    it("a check that cannot run needs attention and says why; the others still run", async () => {
        await world(none());
        ses.on(DescribeActiveReceiptRuleSetCommand).rejects(Object.assign(new Error("User is not authorized to perform: ses:DescribeActiveReceiptRuleSet"), { name: "AccessDenied" }));
        const { code, stdout } = await runCli(["health", "--stack", "test", "--json"], () => NOW);
        const checks = (JSON.parse(stdout) as { checks: HealthCheck[] }).checks;
        expect(code).to.equal(1);
        expect(checks.find((c) => c.check === "receipt-rules")).to.include({ status: "attention" });
        expect(checks.find((c) => c.check === "receipt-rules")!.summary).to.match(/^could not check: AWS denied ses:DescribeActiveReceiptRuleSet/);
        expect(checks.filter((c) => c.status === "ok")).to.have.length(HEALTH_CHECKS.length - 1);
    });

    it("--env: the same names from the components' naming; what only the stack file knows is skipped, a table it names is reported missing", async () => {
        await world(none());
        const { code, stdout } = await runCli(["health", "--env", "test", "--json"], () => NOW);
        const checks = Object.fromEntries((JSON.parse(stdout) as { checks: HealthCheck[] }).checks.map((c) => [c.check, c]));
        // The suppression table is SuppressionStore's default with --env (the test stack names its own,
        // which only its file says): that table does not exist here, and the check says so.
        expect(checks.suppressions.status).to.equal("attention");
        expect(checks.suppressions.summary).to.match(/^could not check: .*ses-email-suppression-list/);
        expect(Object.values(checks).filter((c) => c.status === "attention").map((c) => c.check)).to.deep.equal(["suppressions"]);
        expect(code).to.equal(1);
        expect(checks.tokens).to.include({ status: "skipped", summary: "accounts unknown: give --account <gmail>" });
        expect(checks.identities.status).to.equal("skipped");
        expect(checks["receipt-rules"].status).to.equal("ok");
        expect(checks.dlqs.status).to.equal("ok");
        const withAccount = await runCli(["health", "--env", "test", "--account", "you@gmail.com", "--json"], () => NOW);
        expect((JSON.parse(withAccount.stdout) as { checks: HealthCheck[] }).checks.find((c) => c.check === "tokens")!.status).to.equal("ok");
    });

    it("usage errors exit 2: no deployment, --outputs", async () => {
        expect((await runCli(["health"], () => NOW)).code).to.equal(2);
        const outputs = await runCli(["health", "--outputs", "x.json"], () => NOW);
        expect(outputs.code).to.equal(2);
        expect(outputs.stderr).to.match(/give --stack <name>/);
    });
});
