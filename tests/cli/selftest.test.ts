// `ses-mail selftest` end to end: SES (SESv2) and CloudWatch through aws-sdk-client-mock, the test
// stack's events and suppression tables in dynalite, and the feedback worker's own processing code
// (parseFeedbackMessage → processFeedback) standing in for the deployed worker, fed with SES event
// publishing messages shaped as SES documents them. The wait loop runs on a fake clock: a run that
// "waits" 15 minutes takes milliseconds.
// SES's mailbox simulator, as documented (SES Developer Guide, "Using the mailbox simulator manually",
// https://docs.aws.amazon.com/ses/latest/DeveloperGuide/mailbox-simulator.html): sends to it count
// against the maximum send rate but not the daily quota, do not change reputation metrics, the bounce
// address "isn't placed on the Amazon SES suppression list" (so GetSuppressedDestination answers
// NotFound here), and labels (bounce+label@…) reach the same scenario. The stack's own worker does
// suppress them: that is what the cleanup must undo.
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetConfigurationSetCommand, GetSuppressedDestinationCommand, NotFoundException, SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { SELFTEST_TAG, StepResult } from "../../cli/selftest";
import { DEFAULT_FEEDBACK_SETTINGS } from "../../functions/feedback-worker/logic";
import { parseFeedbackMessage } from "../../functions/feedback-worker/parse";
import { FeedbackPorts, processFeedback } from "../../functions/feedback-worker/process";
import { FeedbackEvents } from "../../functions/shared/feedback-events";
import { SenderReputation } from "../../functions/shared/sender-reputation";
import { SuppressionClient } from "../../functions/shared/suppression-client";
import { bounce, complaint, delivery, hardRecipient, sns } from "../fixtures/ses-feedback";
import { OpsFixture, opsFixture, runCli } from "./ops-fixture";

const START = Date.parse("2026-12-03T08:00:00.000Z");
const FROM = "ses-mail-selftest@mail-test.example.com";

describe("ses-mail selftest (end to end against dynalite, SDK mocks and the worker's own code)", function () {
    this.timeout(120_000);
    let fx: OpsFixture;
    let ses: AwsClientStub<SESv2Client>;
    let cloudwatch: AwsClientStub<CloudWatchClient>;
    let clock: number;
    let sleeps: number;
    let sent: { id: string; to: string; input: Record<string, any> }[];
    /** Which feedback the simulated SES + worker deliver, and after how many polls; metrics likewise. */
    let deliver: { success: boolean; bounce: boolean; complaint: boolean; afterPolls: number; metricsAfterPolls: number };
    let paused: boolean;
    let lastHour: { sends: number; bounce: number; complaint: number };

    /** The deployed worker, as code: SES's event publishing message for each sent mail, processed once. */
    const processed = new Set<string>();
    /** The stack under test (the prod tests switch to theirs) and its selftest sender. */
    let active: { fx: OpsFixture; from: string };
    async function worker(): Promise<void> {
        const { fx, from } = active;
        const t = fx.target;
        const ports: FeedbackPorts = {
            events: new FeedbackEvents({ tableName: t.eventsTableName, client: fx.local.client }),
            suppressions: new SuppressionClient({ tableName: t.suppression.tableName, client: fx.local.client, now: () => Math.floor(clock / 1000) }),
            senders: new SenderReputation({ tableName: t.sending.sendersTableName, client: fx.local.client, now: () => clock }),
            announce: async () => undefined, metrics: () => undefined, now: () => clock,
        };
        for (const mail of sent) {
            if (processed.has(mail.id)) continue;
            const scenario = mail.to.split("+")[0] as "success" | "bounce" | "complaint";
            if (!deliver[scenario]) continue;
            // Event publishing carries the message's tags (the sender tag of a stack that uses one).
            const tags = Object.fromEntries((mail.input.EmailTags as { Name: string; Value: string }[]).map((tag) => [tag.Name, [tag.Value]]));
            const options = { messageId: mail.id, from, destination: [mail.to], timestamp: new Date(clock - 5000).toISOString(), tags };
            const published = scenario === "success" ? delivery("event", [mail.to], options)
                : scenario === "bounce" ? bounce("event", "Permanent", "General", [hardRecipient(mail.to)], options, new Date(clock).toISOString())
                    : complaint("event", [mail.to], { complaintFeedbackType: "abuse" }, options, new Date(clock).toISOString());
            const parsed = parseFeedbackMessage(JSON.stringify(sns(published)));
            if (parsed.kind !== "event") throw new Error("fixture not parsed as an event");
            await processFeedback(parsed.event, { ...DEFAULT_FEEDBACK_SETTINGS, senderTag: t.senderTag, eventsTableName: t.eventsTableName, sendersTableName: t.sending.sendersTableName, suppressionTableName: t.suppression.tableName, notificationsTopicArn: "arn:aws:sns:us-east-1:123456789012:x" } as never, ports);
            processed.add(mail.id);
        }
    }
    /** The injected sleep: advances the fake clock; the worker catches up after `afterPolls` polls. */
    async function sleep(ms: number): Promise<void> {
        clock += ms;
        sleeps += 1;
        if (sleeps >= deliver.afterPolls) await worker();
    }

    before(async () => {
        fx = await opsFixture();
        ses = mockClient(SESv2Client);
        cloudwatch = mockClient(CloudWatchClient);
    });
    after(async () => {
        ses.restore();
        cloudwatch.restore();
        await fx.close();
    });
    beforeEach(async () => {
        active = { fx, from: FROM };
        await fx.clear();
        processed.clear();
        clock = START;
        sleeps = 0;
        sent = [];
        paused = false;
        deliver = { success: true, bounce: true, complaint: true, afterPolls: 2, metricsAfterPolls: 3 };
        ses.reset();
        cloudwatch.reset();
        ses.on(GetConfigurationSetCommand).callsFake(() => (paused ? { SendingOptions: { SendingEnabled: false } } : {}));
        ses.on(SendEmailCommand).callsFake((input) => {
            const id = `0100018c-selftest-${sent.length}`;
            sent.push({ id, to: input.Destination.ToAddresses[0], input });
            return { MessageId: id };
        });
        // The test stack does not mirror; SES never lists simulator addresses itself.
        ses.on(GetSuppressedDestinationCommand).rejects(new NotFoundException({ message: "not found", $metadata: {} }));
        // The selftest's own metrics appear after a few polls; the last hour's traffic (headroom) is `lastHour`.
        lastHour = { sends: 0, bounce: 0, complaint: 0 };
        cloudwatch.on(GetMetricDataCommand).callsFake((input) => ({
            MetricDataResults: input.MetricDataQueries.map((q: { Id: string }) => ({
                Id: q.Id, Values: q.Id === "m" ? (sleeps >= deliver.metricsAfterPolls ? [1] : []) : [lastHour[q.Id as keyof typeof lastHour]],
            })),
        }));
        // A real suppression that must survive every run.
        await new SuppressionClient({ tableName: fx.target.suppression.tableName, client: fx.local.client }).suppress({ email: "real.person@example.com", reason: "bounce" });
    });

    const suppressed = async () => (await new SuppressionClient({ tableName: fx.target.suppression.tableName, client: fx.local.client }).list("bounce"))
        .concat(await new SuppressionClient({ tableName: fx.target.suppression.tableName, client: fx.local.client }).list("complaint")).map((e) => `${e.email} ${e.reason}`).sort();

    it("passes: sends through the stack's set to labelled simulator addresses, sees events, suppressions and metrics, then removes exactly its suppressions", async () => {
        const { code, stdout, stderr } = await runCli(["selftest", "--stack", "test", "--json", "--poll", "10"], () => new Date(clock), { sleep });
        const outcome = JSON.parse(stdout) as { run: string; passed: boolean; steps: StepResult[] };
        expect(outcome.steps.map((s) => [s.step, s.status])).to.deep.equal([
            ["sending enabled", "pass"], ["reputation headroom", "pass"], ["send to the mailbox simulator", "pass"], ["feedback events stored", "pass"],
            ["suppressions added", "pass"], ["metrics published", "pass"], ["clean up simulator suppressions", "pass"],
        ]);
        expect(code).to.equal(0);
        expect(outcome.run).to.match(/^st-[a-z0-9]+-[a-z0-9]{4}$/);
        // Every mail: the stack's configuration set, the run's tag, a labelled simulator address (SES's "labeling").
        expect(sent.map((m) => m.to)).to.deep.equal(["success", "bounce", "complaint"].map((s) => `${s}+${outcome.run}@simulator.amazonses.com`));
        for (const m of sent) {
            expect(m.input).to.deep.include({ FromEmailAddress: FROM, ConfigurationSetName: fx.target.sending.configurationSetName });
            expect(m.input.EmailTags).to.deep.equal([{ Name: SELFTEST_TAG, Value: outcome.run }]);
        }
        // The events waited 20 s (two polls of 10 s) on the fake clock; waits show progress on stderr.
        expect(outcome.steps[3].seconds).to.equal(20);
        expect(stderr).to.match(/waiting for feedback events \(0 s\): Delivery of success, Bounce of bounce, Complaint of complaint/);
        expect(outcome.steps[6].detail).to.equal(`removed bounce+${outcome.run}@simulator.amazonses.com (bounce), complaint+${outcome.run}@simulator.amazonses.com (complaint)`);
        expect(await suppressed()).to.deep.equal(["real.person@example.com bounce"]);
        const text = await runCli(["selftest", "--stack", "test"], () => new Date(clock), { sleep });
        expect(text.stdout).to.match(/PASS {2}feedback events stored +\d+\.\d s {2}Delivery, Bounce, Complaint recorded in ses-mail-feedback-events-test\n/);
        expect(text.stdout.trimEnd().split("\n").at(-1)).to.equal("Verdict: PASSED");
    });

    it("times out (exit 1, says which step and what was missing), skips the rest, and still cleans up", async () => {
        deliver.complaint = false;
        const { code, stdout } = await runCli(["selftest", "--stack", "test", "--timeout", "300", "--poll", "30"], () => new Date(clock), { sleep });
        expect(code).to.equal(1);
        expect(stdout).to.match(/FAIL {2}feedback events stored +300\.0 s {2}timed out after 300 s waiting for feedback events: Complaint of complaint\n/);
        expect(stdout).to.match(/SKIP {2}suppressions added/);
        expect(stdout).to.match(/SKIP {2}metrics published/);
        expect(stdout).to.match(/PASS {2}clean up simulator suppressions .* removed bounce\+st-[a-z0-9-]+@simulator\.amazonses\.com \(bounce\); feedback arriving later adds them again/);
        expect(stdout.trimEnd().split("\n").at(-1)).to.equal("Verdict: FAILED at feedback events stored");
        expect(clock - START).to.be.at.least(300_000);
        expect(await suppressed()).to.deep.equal(["real.person@example.com bounce"]);
    });

    it("metrics that never come: fails at that step, suppressions already cleaned up", async () => {
        deliver.metricsAfterPolls = Infinity;
        const { code, stdout } = await runCli(["selftest", "--stack", "test", "--timeout", "120"], () => new Date(clock), { sleep });
        expect(code).to.equal(1);
        expect(stdout).to.match(/FAIL {2}metrics published .*OutboundDelivery, OutboundBounce, OutboundComplaint not in SESMail\/test yet/);
        expect(await suppressed()).to.deep.equal(["real.person@example.com bounce"]);
    });

    it("refuses to send when its bounce and complaint would pull the emergency brake; --force sends and says what trips", async () => {
        // 150 sends in the last hour, none bounced: one complaint in 153 sends is 0.65%, over the brake's 0.5% (the low-volume guard is 100 sends).
        lastHour = { sends: 150, bounce: 0, complaint: 0 };
        const refused = await runCli(["selftest", "--stack", "test"], () => new Date(clock), { sleep });
        expect(refused.code).to.equal(1);
        expect(sent).to.have.length(0);
        expect(refused.stdout).to.match(/FAIL {2}reputation headroom .*PAUSE sending \(emergency brake \(complaint\): 0\.000% → 0\.654% \(> 0\.5%\)/);
        const forced = await runCli(["selftest", "--stack", "test", "--force", "--json"], () => new Date(clock), { sleep });
        const steps = (JSON.parse(forced.stdout) as { steps: StepResult[] }).steps;
        expect(forced.code).to.equal(0);
        expect(steps[1].detail).to.match(/^last hour: 150 sends, 0 bounces, 0 complaints; WILL TRIP emergency brake \(complaint\).*complaint rate WARNING alarm.*complaint rate CRITICAL alarm/);
        // 2,000 quiet sends: 1 in 2,003 stays under every complaint threshold (0.05% WARNING), the bounce ones too.
        lastHour = { sends: 2000, bounce: 0, complaint: 0 };
        const busy = await runCli(["selftest", "--stack", "test", "--json"], () => new Date(clock), { sleep });
        expect((JSON.parse(busy.stdout) as { steps: StepResult[] }).steps[1].detail).to.equal("last hour: 2000 sends, 0 bounces, 0 complaints: the run's mail trips no rate alarm or brake");
    });

    it("sending paused: fails first, sends nothing", async () => {
        paused = true;
        const { code, stdout } = await runCli(["selftest", "--stack", "test"], () => new Date(clock), { sleep });
        expect(code).to.equal(1);
        expect(sent).to.have.length(0);
        expect(stdout).to.contain("FAIL  sending enabled");
    });

    it("inbound (--to): the router's decision, then the forwarder's import, from the functions' log groups", async () => {
        const filters: { logGroupName: string; filterPattern: string }[] = [];
        let polls = 0;
        const logs = async () => ({
            filterLogEvents: async (input: { logGroupName: string; filterPattern: string }) => {
                filters.push({ logGroupName: input.logGroupName, filterPattern: input.filterPattern });
                polls += 1;
                if (input.logGroupName.endsWith("-router-test") && polls >= 2) {
                    return { events: [
                        { message: "START RequestId: 1" },
                        { message: JSON.stringify({ level: "INFO", message: "Routing decision", messageId: "inbound-1", action: "forward-to-gmail", target: "you@gmail.com", recipient: "selftest@mail-test.example.com", reason: "rule selftest@mail-test.example.com", source: FROM }) },
                    ] };
                }
                if (input.logGroupName.endsWith("-gmail-forwarder-test") && input.filterPattern.includes('"inbound-1"')) {
                    return { events: [{ message: JSON.stringify({ level: "INFO", message: "Imported into Gmail", messageId: "inbound-1", target: "you@gmail.com", gmailMessageId: "g-1" }) }] };
                }
                return { events: [] };
            },
        });
        const { code, stdout } = await runCli(["selftest", "--stack", "test", "--no-outbound", "--to", "selftest@mail-test.example.com"], () => new Date(clock), { sleep, logs });
        expect(code, stdout).to.equal(0);
        expect(stdout).to.match(/PASS {2}routing decision .* forward-to-gmail → you@gmail\.com \(rule selftest@mail-test\.example\.com; SES message id inbound-1\)/);
        expect(stdout).to.match(/PASS {2}forwarded to Gmail .* imported into you@gmail\.com \(Gmail id g-1\)/);
        expect(sent.map((m) => m.to)).to.deep.equal(["selftest@mail-test.example.com"]);
        // Log group names from the components' naming (LambdaFunction: /aws/lambda/<function>).
        expect([...new Set(filters.map((f) => f.logGroupName))]).to.deep.equal(["/aws/lambda/ses-mail-router-test", "/aws/lambda/ses-mail-gmail-forwarder-test"]);
        const groups = fx.plan.ofType("aws:cloudwatch/logGroup:LogGroup").map((g) => g.inputs.name);
        expect(groups).to.include.members(["/aws/lambda/ses-mail-router-test", "/aws/lambda/ses-mail-gmail-forwarder-test"]);
    });

    describe("prod: sender tag, and the mirror into SES's account-level list", () => {
        let prod: OpsFixture;
        /** SES's account-level list as the prod mirror keeps it: an address is listed while the table suppresses it, and dropped `lag` polls after. */
        let lag: number;
        const removedAt = new Map<string, number>();
        before(async () => {
            prod = await opsFixture("prod");
        });
        after(async () => {
            await prod.close();
            // opsFixture("prod") pointed the environment at its own dynalite: the outer suite's is still open.
            process.env.AWS_ENDPOINT_URL_DYNAMODB = fx.local.endpoint;
        });
        beforeEach(async () => {
            await prod.clear();
            active = { fx: prod, from: "ses-mail-selftest@mail.example.com" };
            process.env.AWS_ENDPOINT_URL_DYNAMODB = prod.local.endpoint;
            removedAt.clear();
            lag = 2;
            ses.on(GetSuppressedDestinationCommand).callsFake(async (input) => {
                const client = new SuppressionClient({ tableName: prod.target.suppression.tableName, client: prod.local.client });
                const live = (await client.entries(input.EmailAddress)).length > 0;
                if (live) return { SuppressedDestination: { EmailAddress: input.EmailAddress, Reason: "BOUNCE", LastUpdateTime: new Date(clock) } };
                if (!removedAt.has(input.EmailAddress)) removedAt.set(input.EmailAddress, sleeps);
                if (sleeps - removedAt.get(input.EmailAddress)! < lag) return { SuppressedDestination: { EmailAddress: input.EmailAddress, Reason: "BOUNCE", LastUpdateTime: new Date(clock) } };
                throw new NotFoundException({ message: "not found", $metadata: {} });
            });
        });

        it("tags each mail with the stack's sender tag; cleanup waits until SES's list drops the simulator addresses", async () => {
            expect(prod.target.suppression.mirrorToSes).to.equal(true);
            const { code, stdout } = await runCli(["selftest", "--stack", "prod", "--json"], () => new Date(clock), { sleep });
            const outcome = JSON.parse(stdout) as { run: string; steps: StepResult[] };
            expect(code, stdout).to.equal(0);
            expect(sent[0].input.EmailTags).to.deep.equal([{ Name: SELFTEST_TAG, Value: outcome.run }, { Name: "account", Value: SELFTEST_TAG }]);
            const cleanup = outcome.steps.find((step) => step.step === "clean up simulator suppressions")!;
            expect(cleanup.detail).to.match(/; not on SES's account-level list$/);
            expect(cleanup.seconds).to.be.at.least(20);
        });

        it("fails the cleanup, with the command to run, when SES keeps listing them", async () => {
            lag = Infinity;
            const { code, stdout } = await runCli(["selftest", "--stack", "prod", "--timeout", "60"], () => new Date(clock), { sleep });
            expect(code).to.equal(1);
            expect(stdout).to.match(/FAIL {2}clean up simulator suppressions .*STILL on SES's account-level list: .*bounce\+st-.*aws sesv2 delete-suppressed-destination/);
        });
    });

    it("usage errors exit 2; --help has an example", async () => {
        expect((await runCli(["selftest", "--stack", "test", "--no-outbound"], () => new Date(clock), { sleep })).code).to.equal(2);
        expect((await runCli(["selftest", "--stack", "test", "--to", "not an address"], () => new Date(clock), { sleep })).code).to.equal(2);
        expect((await runCli(["selftest", "--env", "test"], () => new Date(clock), { sleep })).code).to.equal(2);
        expect((await runCli(["selftest", "--help"], () => new Date(clock))).stdout).to.contain("Examples:\n  $ ses-mail selftest --stack prod");
    });
});
