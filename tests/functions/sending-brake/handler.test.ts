// The emergency brake end to end: EventBridge alarm events (the shape of "Alarm events and
// EventBridge", CloudWatch User Guide) → the handler with the environment SendingGuard gives it →
// SESv2 and SNS through aws-sdk-client-mock, the record in the senders table FeedbackPipeline
// defines, on dynalite.
import { GetConfigurationSetCommand, PutConfigurationSetSendingOptionsCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { FeedbackPipeline } from "../../../components/feedback-pipeline";
import { SendingGuard } from "../../../components/sending-guard";
import { SuppressionStore } from "../../../components/suppression-store";
import { SendingLog } from "../../../functions/shared/sending-control";
import type { AlarmStateChangeEvent, BrakeOutcome } from "../../../functions/sending-brake/logic";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { MOCK_ACCOUNT, runUnderMocks } from "../../support/mocks";
import { captureOutput } from "../../support/output";

const SET = "ses-mail-outbound-test";
const TABLE = "ses-mail-sender-reputation-test";
const TOPIC = `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:ses-mail-alarms-test`;
const BOUNCE = "ses-mail-sending-brake-bounce-rate-test";
const alarmArn = (name: string, account = MOCK_ACCOUNT) => `arn:aws:cloudwatch:us-east-1:${account}:alarm:${name}`;

/** A CloudWatch alarm state change as EventBridge delivers it (the guide's metric-math example, trimmed). */
function alarmEvent(name: string, value: string, timestamp = "2026-12-03T04:10:00.123+0000", account = MOCK_ACCOUNT): AlarmStateChangeEvent {
    return {
        "detail-type": "CloudWatch Alarm State Change", source: "aws.cloudwatch", time: "2026-12-03T04:10:00Z",
        resources: [alarmArn(name, account)],
        detail: {
            alarmName: name,
            state: { value, reason: "Threshold Crossed: 1 datapoint [12.5 (03/12/26 03:10:00)] was greater than the threshold (10.0).", timestamp },
            previousState: { value: value === "ALARM" ? "OK" : "ALARM" },
        },
    };
}

describe("sending-brake handler (dynalite + SDK client mocks)", () => {
    let local: LocalDynamo;
    let ses: AwsClientStub<SESv2Client>;
    let sns: AwsClientStub<SNSClient>;
    let handler: (event: AlarmStateChangeEvent) => Promise<BrakeOutcome>;
    let log: SendingLog;
    const saved = { ...process.env };
    const run = async (event: AlarmStateChangeEvent) => (await captureOutput(() => handler(event))).result;
    const paused = () => ses.commandCalls(PutConfigurationSetSendingOptionsCommand).map((c) => c.args[0].input);

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => {
            const feedback = new FeedbackPipeline("feedback", { env: "test", suppressionStore: new SuppressionStore("s", { env: "test" }) });
            return new SendingGuard("sending", {
                env: "test", configurationSetName: feedback.configurationSetName, sendersTableName: feedback.sendersTable.name, sendersTableArn: feedback.sendersTable.arn, alarmTopicArn: TOPIC,
            });
        });
        expect(await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "feedback-senders"))).to.equal(TABLE);
        // The function's environment exactly as the component sets it.
        Object.assign(process.env, plan.one("aws:lambda/function:Function", "sending-brake").inputs.environment.variables, {
            AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local",
        });
        ses = mockClient(SESv2Client);
        sns = mockClient(SNSClient);
        ({ handler } = await import("../../../functions/sending-brake/handler"));
        log = new SendingLog({ tableName: TABLE, configurationSetName: SET, client: local.client });
    });
    after(async () => {
        ses.restore();
        sns.restore();
        process.env = saved;
        await local.close();
    });
    beforeEach(() => {
        ses.reset();
        sns.reset();
        ses.on(PutConfigurationSetSendingOptionsCommand).resolves({});
        sns.on(PublishCommand).resolves({ MessageId: "m" });
    });

    it("ALARM of a brake alarm pauses exactly this stack's configuration set, records why and tells the alarm topic", async () => {
        const result = await run(alarmEvent(BOUNCE, "ALARM"));
        expect(paused()).to.deep.equal([{ ConfigurationSetName: SET, SendingEnabled: false }]);
        expect(ses.commandCalls(GetConfigurationSetCommand)).to.have.length(0);
        expect(result).to.deep.include({ outcome: "paused", announced: true, duplicate: false });
        const [record] = await log.history();
        expect(record).to.deep.include({
            configurationSet: SET, action: "pause", at: "2026-12-03T04:10:00.123Z", actor: BOUNCE, source: "brake", alarmName: BOUNCE,
            reason: `${BOUNCE} in ALARM: Threshold Crossed: 1 datapoint [12.5 (03/12/26 03:10:00)] was greater than the threshold (10.0).`,
        });
        expect(record.announcedAt).to.match(/^\d{4}-\d\d-\d\dT/);
        const [publish] = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
        expect(publish.TopicArn).to.equal(TOPIC);
        expect(publish.Subject).to.equal(`ses-mail: sending PAUSED on ${SET}`);
        expect(publish.Message).to.include(`alarm ${BOUNCE} went into ALARM at 2026-12-03T04:10:00.123Z`)
            .and.to.include("Threshold Crossed").and.to.include("npx ses-mail sending resume --env test --reason");
    });

    it("a duplicate notification of the same state change is harmless: one record, one announcement", async () => {
        const event = alarmEvent(BOUNCE, "ALARM", "2026-12-03T05:00:00.000+0000");
        const first = await run(event);
        // Two more deliveries at once (one capture: captures do not nest).
        const again = (await captureOutput(() => Promise.all([handler(event), handler(event)]))).result;
        expect(first).to.deep.include({ announced: true, duplicate: false });
        for (const result of again) expect(result).to.deep.include({ outcome: "paused", announced: false, duplicate: true });
        // Pausing is idempotent at SES: each delivery re-asserts it.
        expect(paused()).to.deep.equal(Array(3).fill({ ConfigurationSetName: SET, SendingEnabled: false }));
        expect(sns.commandCalls(PublishCommand)).to.have.length(1);
        expect((await log.history()).filter((r) => r.at === "2026-12-03T05:00:00.000Z")).to.have.length(1);
    });

    it("a retry after the announcement failed announces then (nothing lost), once", async () => {
        const event = alarmEvent(BOUNCE, "ALARM", "2026-12-03T06:00:00.000+0000");
        sns.on(PublishCommand).rejectsOnce(Object.assign(new Error("throttled"), { name: "ThrottledException" }));
        let error: Error | undefined;
        await captureOutput(() => handler(event).catch((e: Error) => (error = e)));
        expect(error?.message).to.equal("throttled");
        expect((await log.history()).find((r) => r.at === "2026-12-03T06:00:00.000Z")).to.not.have.property("announcedAt");
        const retried = await run(event);
        expect(retried).to.deep.include({ announced: true, duplicate: true });
        expect(sns.commandCalls(PublishCommand)).to.have.length(2);
        expect((await log.history()).find((r) => r.at === "2026-12-03T06:00:00.000Z")!.announcedAt).to.be.a("string");
    });

    it("ignores OK and INSUFFICIENT_DATA (never resumes), other alarms, the same alarm name in another account, and other events", async () => {
        const before = (await log.history(100)).length;
        const ignored = [
            alarmEvent(BOUNCE, "OK"),
            alarmEvent(BOUNCE, "INSUFFICIENT_DATA"),
            alarmEvent("ses-high-bounce-rate-CRITICAL", "ALARM"),
            alarmEvent("ses-mail-sending-brake-bounce-rate-prod", "ALARM"),
            alarmEvent(BOUNCE, "ALARM", undefined, "210987654321"),
            { ...alarmEvent(BOUNCE, "ALARM"), "detail-type": "CloudWatch Alarm Configuration Change" },
            { ...alarmEvent(BOUNCE, "ALARM"), source: "custom.app" },
        ];
        for (const event of ignored) expect((await run(event)).outcome, JSON.stringify(event.detail)).to.equal("ignored");
        expect(paused()).to.deep.equal([]);
        expect(sns.commandCalls(PublishCommand)).to.deep.equal([]);
        expect(await log.history(100)).to.have.length(before);
    });

    it("whatever the events, only this set is ever paused, never enabled, and only by ALARM of a brake alarm (generated)", async () => {
        const names = [BOUNCE, "ses-mail-sending-brake-complaint-rate-test", "ses-mail-sending-brake-bounce-rate-prod", "ses-high-complaint-rate-CRITICAL", "other"];
        await fc.assert(fc.asyncProperty(
            fc.array(fc.record({ name: fc.constantFrom(...names), value: fc.constantFrom("ALARM", "OK", "INSUFFICIENT_DATA"), second: fc.integer({ min: 0, max: 59 }) }), { maxLength: 8 }),
            async (events) => {
                ses.resetHistory();
                for (const e of events) await run(alarmEvent(e.name, e.value, `2026-12-04T00:00:${String(e.second).padStart(2, "0")}.000+0000`));
                const expected = events.filter((e) => e.value === "ALARM" && e.name.startsWith("ses-mail-sending-brake-") && e.name.endsWith("-test")).length;
                expect(paused()).to.deep.equal(Array(expected).fill({ ConfigurationSetName: SET, SendingEnabled: false }));
            },
        ), { numRuns: 25 });
    });

    it("a failed pause throws before anything is recorded (Lambda retries, then the DLQ)", async () => {
        ses.on(PutConfigurationSetSendingOptionsCommand).rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
        let error: Error | undefined;
        await captureOutput(() => handler(alarmEvent(BOUNCE, "ALARM", "2026-12-03T07:00:00.000+0000")).catch((e: Error) => (error = e)));
        expect(error?.name).to.equal("AccessDeniedException");
        expect((await log.history(100)).some((r) => r.at === "2026-12-03T07:00:00.000Z")).to.equal(false);
        expect(sns.commandCalls(PublishCommand)).to.deep.equal([]);
    });
});
