// `ses-mail sending …` and `ses-mail quota` end to end: argument parsing to output and exit code,
// against dynalite with the senders table FeedbackPipeline defines (reached through
// AWS_ENDPOINT_URL_DYNAMODB) and SESv2 through aws-sdk-client-mock, modelled as SES keeps the switch.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DeleteItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { GetAccountCommand, GetConfigurationSetCommand, NotFoundException, PutConfigurationSetSendingOptionsCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { recordingConfirm, runMain } from "./run-cli";
import { CONFIGURATION_SET_PURPOSE, SENDERS_TABLE_PURPOSE } from "../../cli/sending-target";
import { FeedbackPipeline } from "../../components/feedback-pipeline";
import { physicalName } from "../../components/naming";
import { SuppressionStore } from "../../components/suppression-store";
import { SendingLog } from "../../functions/shared/sending-control";
import { applyBrake } from "../../functions/sending-brake/logic";
import { createTableFrom, LocalDynamo, startDynalite } from "../support/dynalite";
import { MOCK_ACCOUNT, runUnderMocks } from "../support/mocks";

const NOW = new Date("2026-12-03T09:30:00.000Z");
const SET = "ses-mail-outbound-test";
const TABLE = "ses-mail-sender-reputation-test";
const OPERATOR = `arn:aws:sts::${MOCK_ACCOUNT}:assumed-role/AWSReservedSSO_PlatformAdmin_0123/jo@example.com`;

describe("ses-mail sending / quota (commands end to end against dynalite and an SES mock)", () => {
    let local: LocalDynamo;
    let ses: AwsClientStub<SESv2Client>;
    let dir: string;
    let enabled: boolean;
    let answer: boolean;
    const questions: string[] = [];
    const saved = { ...process.env };

    function run(...argv: string[]) {
        // callerArn stands in for STS GetCallerIdentity (SendingDeps).
        return runMain(argv, { now: () => NOW, confirm: recordingConfirm(questions, () => answer), callerArn: async () => OPERATOR });
    }
    const records = async () => ((await local.client.send(new ScanCommand({ TableName: TABLE }))).Items ?? []).map((item) => unmarshall(item));

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new FeedbackPipeline("feedback", { env: "test", suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        expect(await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "feedback-senders"))).to.equal(TABLE);
        // The CLI derives the names the component gives.
        expect([physicalName("sesConfigurationSet", { purpose: CONFIGURATION_SET_PURPOSE, env: "test" }), physicalName("dynamodbTable", { purpose: SENDERS_TABLE_PURPOSE, env: "test" })])
            .to.deep.equal([plan.one("aws:sesv2/configurationSet:ConfigurationSet").inputs.configurationSetName, TABLE]);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-sending-"));
        Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
        ses = mockClient(SESv2Client);
    });
    after(async () => {
        ses.restore();
        process.env = saved;
        fs.rmSync(dir, { recursive: true, force: true });
        await local.close();
    });
    beforeEach(async () => {
        for (const item of (await local.client.send(new ScanCommand({ TableName: TABLE }))).Items ?? []) await local.client.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: item.pk, sk: item.sk } }));
        enabled = true;
        answer = true;
        questions.length = 0;
        ses.reset();
        // SES keeps the switch: GetConfigurationSet reports what the last Put set (a new set reports none: enabled).
        ses.on(GetConfigurationSetCommand, { ConfigurationSetName: SET }).callsFake(() => ({ ConfigurationSetName: SET, ...(enabled ? {} : { SendingOptions: { SendingEnabled: false } }) }));
        ses.on(PutConfigurationSetSendingOptionsCommand, { ConfigurationSetName: SET }).callsFake((input) => {
            enabled = input.SendingEnabled === true;
            return {};
        });
    });

    describe("sending", () => {
        it("status: enabled, exit 0; --stack, --env and --outputs reach the same set", async () => {
            const outputs = path.join(dir, "outputs.json");
            fs.writeFileSync(outputs, JSON.stringify({ configurationSetName: SET, senderReputationTableName: TABLE, alarmTopicArn: `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:ses-mail-alarms-test` }));
            for (const target of [["--stack", "test"], ["--env", "test"], ["--outputs", outputs]]) {
                const { code, stdout } = await run("sending", "status", ...target, "--json");
                expect(code, target.join(" ")).to.equal(0);
                expect(JSON.parse(stdout)).to.deep.equal({ configurationSet: SET, sending: "enabled", recorded: false, lastChange: null, history: [] });
            }
            expect((await run("sending", "status", "--stack", "test")).stdout).to.equal(`${SET}: sending ENABLED\n`);
        });

        it("pause asks, pauses exactly this set, records who (STS), when and why; status then says so and exits 1", async () => {
            const paused = await run("sending", "pause", "--stack", "test", "--reason", "bounce storm from the newsletter import, INC-123");
            expect(paused.code).to.equal(0);
            expect(questions).to.have.length(1);
            expect(questions[0]).to.match(/^Pause sending through ses-mail-outbound-test\?/);
            expect(ses.commandCalls(PutConfigurationSetSendingOptionsCommand).map((c) => c.args[0].input)).to.deep.equal([{ ConfigurationSetName: SET, SendingEnabled: false }]);
            expect(await records()).to.deep.equal([{
                pk: `SENDING#${SET}`, sk: "CHANGE#2026-12-03T09:30:00.000Z#pause", entity_type: "SENDING_CHANGE", configuration_set: SET, action: "pause",
                at: "2026-12-03T09:30:00.000Z", actor: OPERATOR, source: "operator", reason: "bounce storm from the newsletter import, INC-123",
            }]);
            const status = await run("sending", "status", "--stack", "test");
            expect(status.code).to.equal(1);
            expect(status.stdout).to.equal([
                `${SET}: sending PAUSED`,
                `  paused by ${OPERATOR} at 2026-12-03T09:30:00.000Z`,
                "  why: bounce storm from the newsletter import, INC-123",
                "  to resume once the cause is fixed: ses-mail sending resume --stack test --reason \"<why it is safe again>\"",
                "",
            ].join("\n"));
        });

        it("resume after the emergency brake: shows what paused it, asks, enables, records; both changes in the history", async () => {
            // What the brake writes (the same records: functions/sending-brake).
            const log = new SendingLog({ tableName: TABLE, configurationSetName: SET, client: local.client });
            const brake = "ses-mail-sending-brake-bounce-rate-test";
            await applyBrake({
                "detail-type": "CloudWatch Alarm State Change", source: "aws.cloudwatch", resources: [`arn:aws:cloudwatch:us-east-1:${MOCK_ACCOUNT}:alarm:${brake}`],
                detail: { alarmName: brake, state: { value: "ALARM", reason: "Threshold Crossed", timestamp: "2026-12-03T08:00:00.000+0000" } },
            }, { configurationSetName: SET, alarmArns: [`arn:aws:cloudwatch:us-east-1:${MOCK_ACCOUNT}:alarm:${brake}`], resumeCommand: "r" }, {
                pause: async () => { enabled = false; }, record: (c) => log.record(c), announce: async () => undefined, markAnnounced: (c, at) => log.markAnnounced(c, at), now: () => NOW,
            });
            const status = await run("sending", "status", "--env", "test", "--json");
            expect(status.code).to.equal(1);
            expect(JSON.parse(status.stdout)).to.deep.include({ sending: "paused", recorded: true });
            expect(JSON.parse(status.stdout).lastChange).to.deep.include({ actor: brake, source: "brake", alarmName: brake, reason: `${brake} in ALARM: Threshold Crossed` });
            expect((await run("sending", "status", "--env", "test")).stdout).to.include(`paused by ${brake} (emergency brake) at 2026-12-03T08:00:00.000Z`);

            const resumed = await run("sending", "resume", "--env", "test", "--reason", "bad list removed, INC-123");
            expect(resumed.code).to.equal(0);
            expect(resumed.stdout).to.include(`${SET} was paused by ${brake} (emergency brake) at 2026-12-03T08:00:00.000Z: ${brake} in ALARM: Threshold Crossed`);
            expect(resumed.stdout).to.include(`${SET}: sending ENABLED (recorded: resumed by ${OPERATOR} at 2026-12-03T09:30:00.000Z)`);
            expect(enabled).to.equal(true);
            const after = JSON.parse((await run("sending", "status", "--env", "test", "--json")).stdout);
            expect(after).to.deep.include({ sending: "enabled", recorded: true });
            expect(after.history.map((c: { action: string; actor: string }) => [c.action, c.actor])).to.deep.equal([["resume", OPERATOR], ["pause", brake]]);
        });

        it("declined: nothing changes, nothing recorded, exit 1; --yes does not ask", async () => {
            answer = false;
            const declined = await run("sending", "pause", "--env", "test", "--reason", "testing the brake");
            expect([declined.code, declined.stdout]).to.deep.equal([1, "Not paused.\n"]);
            expect(ses.commandCalls(PutConfigurationSetSendingOptionsCommand)).to.deep.equal([]);
            expect(await records()).to.deep.equal([]);
            const yes = await run("sending", "pause", "--env", "test", "--reason", "testing the brake", "--yes", "--json");
            expect(yes.code).to.equal(0);
            expect(questions).to.have.length(1);
            expect(JSON.parse(yes.stdout)).to.deep.equal({ configurationSet: SET, action: "pause", at: NOW.toISOString(), actor: OPERATOR, source: "operator", reason: "testing the brake", changed: true });
        });

        it("pausing a paused set (or resuming an enabled one) changes and records nothing", async () => {
            const resume = await run("sending", "resume", "--env", "test", "--reason", "nothing was wrong", "--yes");
            expect([resume.code, resume.stdout]).to.deep.equal([0, `${SET} is already enabled: nothing to do.\n`]);
            enabled = false;
            const pause = await run("sending", "pause", "--env", "test", "--reason", "stop it", "--yes");
            expect(pause.stdout).to.equal(`${SET} is already paused: nothing to do.\n`);
            expect(ses.commandCalls(PutConfigurationSetSendingOptionsCommand)).to.deep.equal([]);
            expect(await records()).to.deep.equal([]);
            // Paused outside ses-mail: status says no record explains it.
            const status = await run("sending", "status", "--env", "test");
            expect(status.code).to.equal(1);
            expect(status.stdout).to.include("paused outside ses-mail (SES console or API, or SES itself): no record says who or why");
        });

        it("--reason is required (exit 2); a set or table that is not there is a one-line error", async () => {
            for (const action of ["pause", "resume"]) {
                const missing = await run("sending", action, "--env", "test");
                expect(missing.code, action).to.equal(2);
                expect(missing.stderr).to.match(/required option '--reason <text>' not specified/);
            }
            expect((await run("sending", "pause", "--env", "test", "--reason", " x ")).code).to.equal(2);
            expect((await run("sending", "status")).code).to.equal(2);
            ses.on(GetConfigurationSetCommand, { ConfigurationSetName: "ses-mail-outbound-nope" }).rejects(new NotFoundException({ message: "Configuration set does not exist", $metadata: {} }));
            const nope = await run("sending", "status", "--env", "nope");
            expect([nope.code, nope.stderr]).to.deep.equal([1, "No SES configuration set ses-mail-outbound-nope in us-east-1: check --stack / --env / --outputs and --region.\n"]);
        });

        it("every command's --help shows an example", async () => {
            for (const name of ["status", "pause", "resume"]) {
                const { code, stdout } = await run("sending", name, "--help");
                expect(code).to.equal(0);
                expect(stdout, name).to.match(new RegExp(`Example:\\n  \\$ ses-mail sending ${name} --stack prod`));
            }
            expect((await run("quota", "--help")).stdout).to.match(/Example:\n {2}\$ ses-mail quota --stack prod/);
        });
    });

    describe("quota", () => {
        it("prints the figures and utilisation, exit 0 when below the warning", async () => {
            ses.on(GetAccountCommand).resolves({ SendQuota: { Max24HourSend: 50000, SentLast24Hours: 12345, MaxSendRate: 14 } });
            const { code, stdout } = await run("quota", "--stack", "test");
            expect(code).to.equal(0);
            expect(stdout).to.equal([
                "SES send quota (us-east-1):", "  Max24HourSend    50000", "  SentLast24Hours  12345", "  MaxSendRate      14/s",
                "  Utilisation      24.69% — OK (warning at 70%, critical at 90%)", "",
            ].join("\n"));
        });

        it("over 70%: the runbook's advice and exit 1; --json has the same figures; the sandbox; unlimited", async () => {
            ses.on(GetAccountCommand).resolves({ SendQuota: { Max24HourSend: 200, SentLast24Hours: 150, MaxSendRate: 1 } });
            const text = await run("quota");
            expect(text.code).to.equal(1);
            expect(text.stdout).to.include("75.00% — WARNING").and.to.include("Advice (runbook):\n  - Over 70% of the 24-hour sending quota: request an increase");
            const json = JSON.parse((await run("quota", "--json")).stdout);
            expect(json).to.deep.include({ max24HourSend: 200, sentLast24Hours: 150, maxSendRate: 1, utilisationPercent: 75, level: "warning", remaining: 50, warningPercent: 70, criticalPercent: 90 });
            expect(json.advice).to.have.length(3);
            ses.on(GetAccountCommand).resolves({ SendQuota: { Max24HourSend: -1, SentLast24Hours: 9, MaxSendRate: 100 } });
            const unlimited = await run("quota", "--env", "test");
            expect(unlimited.code).to.equal(0);
            expect(unlimited.stdout).to.include("Max24HourSend    unlimited (-1)").and.to.include("n/a (unlimited)");
        });

        it("a stack's own thresholds (sending.quotaWarningPercent / quotaCriticalPercent) apply", async () => {
            const project = fs.mkdtempSync(path.join(dir, "project-"));
            fs.writeFileSync(path.join(project, "Pulumi.low.yaml"), "config:\n  aws:region: eu-west-1\n  ses-mail:sending:\n    quotaWarningPercent: 20\n    quotaCriticalPercent: 30\n");
            ses.on(GetAccountCommand).resolves({ SendQuota: { Max24HourSend: 1000, SentLast24Hours: 250, MaxSendRate: 10 } });
            const { code, stdout } = await run("quota", "--stack", "low", "--project-dir", project);
            expect(code).to.equal(1);
            expect(stdout).to.include("SES send quota (eu-west-1):").and.to.include("25.00% — WARNING (warning at 20%, critical at 30%)");
        });

        it("AWS denying GetAccount is a one-line error", async () => {
            ses.on(GetAccountCommand).rejects(Object.assign(new Error("not authorized to perform: ses:GetAccount"), { name: "AccessDeniedException" }));
            const { code, stderr } = await run("quota");
            expect([code, stderr]).to.deep.equal([1, "AWS denied ses:GetAccount on the SES account: your role needs that permission (not authorized to perform: ses:GetAccount).\n"]);
        });
    });
});
