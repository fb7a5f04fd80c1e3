import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetAccountCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { SendingGuard } from "../../../components/sending-guard";
import { quotaAdvice, quotaMetricPoints, quotaUtilisation, QuotaUtilisation } from "../../../functions/shared/send-quota";
import { MOCK_ACCOUNT, runUnderMocks } from "../../support/mocks";
import { captureOutput } from "../../support/output";

describe("send quota", () => {
    describe("utilisation (pure)", () => {
        it("is SentLast24Hours / Max24HourSend in percent, two decimals, with the level against 70 / 90", () => {
            expect(quotaUtilisation({ max24HourSend: 50000, sentLast24Hours: 12345, maxSendRate: 14 })).to.deep.equal({
                max24HourSend: 50000, sentLast24Hours: 12345, maxSendRate: 14, unlimited: false, utilisationPercent: 24.69, level: "ok", remaining: 37655,
            });
            expect(quotaUtilisation({ max24HourSend: 50000, sentLast24Hours: 35000, maxSendRate: 14 })).to.deep.include({ utilisationPercent: 70, level: "warning" });
            expect(quotaUtilisation({ max24HourSend: 50000, sentLast24Hours: 44999, maxSendRate: 14 })).to.deep.include({ utilisationPercent: 90, level: "critical" });
            expect(quotaUtilisation({ max24HourSend: 50000, sentLast24Hours: 34999, maxSendRate: 14 })).to.deep.include({ utilisationPercent: 70, level: "warning" }, "69.998 rounds to 70.00");
            expect(quotaUtilisation({ max24HourSend: 50000, sentLast24Hours: 100, maxSendRate: 14 }, { warningPercent: 0.1, criticalPercent: 0.15 })).to.deep.include({ utilisationPercent: 0.2, level: "critical" });
        });

        it("the sandbox: 200 a day at 1 a second", () => {
            // "Request production access (Moving out of the Amazon SES sandbox)": 200 messages per 24 hours, 1 per second.
            expect(quotaUtilisation({ max24HourSend: 200, sentLast24Hours: 150, maxSendRate: 1 })).to.deep.include({ utilisationPercent: 75, level: "warning", remaining: 50 });
            expect(quotaUtilisation({ max24HourSend: 200, sentLast24Hours: 200, maxSendRate: 1 })).to.deep.include({ utilisationPercent: 100, level: "critical", remaining: 0 });
        });

        it("Max24HourSend -1 is unlimited: 0%, never a warning, no remaining count", () => {
            // SES API v2 reference, "SendQuota": "A value of -1 signifies an unlimited quota."
            fc.assert(fc.property(fc.nat(10_000_000), fc.double({ min: 0, max: 10_000, noNaN: true }), (sent, rate) => {
                const u = quotaUtilisation({ max24HourSend: -1, sentLast24Hours: sent, maxSendRate: rate });
                expect(u).to.deep.include({ unlimited: true, utilisationPercent: 0, level: "ok" });
                expect(u).to.not.have.property("remaining");
                expect(quotaAdvice(u)).to.deep.equal([]);
            }));
        });

        it("no quota at all (0) counts as full; past the quota reads above 100; non-numbers are refused", () => {
            expect(quotaUtilisation({ max24HourSend: 0, sentLast24Hours: 0, maxSendRate: 0 })).to.deep.include({ utilisationPercent: 100, level: "critical", remaining: 0 });
            expect(quotaUtilisation({ max24HourSend: 1000, sentLast24Hours: 1010, maxSendRate: 1 })).to.deep.include({ utilisationPercent: 101, level: "critical", remaining: 0 });
            expect(() => quotaUtilisation({ max24HourSend: NaN, sentLast24Hours: 1, maxSendRate: 1 })).to.throw(/max24HourSend is not a number/);
        });

        it("for any quota: the level is monotonic in what was sent and matches the thresholds (generated)", () => {
            fc.assert(fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.nat(12_000_000), fc.nat(12_000_000), (max, a, b) => {
                const [low, high] = [Math.min(a, b), Math.max(a, b)].map((sent) => quotaUtilisation({ max24HourSend: max, sentLast24Hours: sent, maxSendRate: 14 }));
                const rank = { ok: 0, warning: 1, critical: 2 };
                expect(rank[low.level]).to.be.at.most(rank[high.level]);
                expect(Math.abs(high.utilisationPercent - (100 * high.sentLast24Hours) / max)).to.be.at.most(0.005 + 1e-9);
                const expected = high.utilisationPercent >= 90 ? "critical" : high.utilisationPercent >= 70 ? "warning" : "ok";
                expect(high.level).to.equal(expected);
                expect(quotaAdvice(high).length > 0).to.equal(expected !== "ok");
            }));
        });

        it("advice over 70%: request an increase, check the volume; over 90% also how to pause", () => {
            const warning = quotaAdvice(quotaUtilisation({ max24HourSend: 100, sentLast24Hours: 75, maxSendRate: 1 }));
            expect(warning.join("\n")).to.match(/Over 70% of the 24-hour sending quota: request an increase/).and.to.match(/leaked SMTP credential/).and.not.to.match(/sending pause/);
            expect(quotaAdvice(quotaUtilisation({ max24HourSend: 100, sentLast24Hours: 95, maxSendRate: 1 })).join("\n")).to.match(/Over 90%/).and.to.match(/ses-mail sending pause/);
        });
    });

    describe("scheduled check (handler, SDK client mocks)", () => {
        let ses: AwsClientStub<SESv2Client>;
        let cloudwatch: AwsClientStub<CloudWatchClient>;
        let handler: () => Promise<QuotaUtilisation>;
        const saved = { ...process.env };

        before(async () => {
            const { plan } = await runUnderMocks(() => new SendingGuard("sending", {
                env: "test", configurationSetName: "s", sendersTableName: "t", sendersTableArn: `arn:aws:dynamodb:us-east-1:${MOCK_ACCOUNT}:table/t`, alarmTopicArn: `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:a`,
            }));
            Object.assign(process.env, plan.one("aws:lambda/function:Function", "sending-quota").inputs.environment.variables, { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
            ses = mockClient(SESv2Client);
            cloudwatch = mockClient(CloudWatchClient);
            ({ handler } = await import("../../../functions/send-quota/handler"));
        });
        after(() => {
            ses.restore();
            cloudwatch.restore();
            process.env = saved;
        });
        beforeEach(() => {
            ses.reset();
            cloudwatch.reset();
            cloudwatch.on(PutMetricDataCommand).resolves({});
        });

        it("publishes the four figures in SESMail/<env> without dimensions (what the alarms and the runbook's queries read)", async () => {
            ses.on(GetAccountCommand).resolves({ SendQuota: { Max24HourSend: 200, SentLast24Hours: 190, MaxSendRate: 1 } });
            const { result, lines } = await captureOutput(() => handler());
            expect(result).to.deep.include({ utilisationPercent: 95, level: "critical" });
            expect(cloudwatch.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input)).to.deep.equal([{
                Namespace: "SESMail/test",
                MetricData: [
                    { MetricName: "SendQuotaUtilization", Value: 95, Unit: "Percent" },
                    { MetricName: "Max24HourSend", Value: 200, Unit: "Count" },
                    { MetricName: "SentLast24Hours", Value: 190, Unit: "Count" },
                    { MetricName: "MaxSendRate", Value: 1, Unit: "Count/Second" },
                ],
            }]);
            expect(lines.find((l: any) => l.level === "WARN")).to.deep.include({ message: "Send quota utilisation high: npx ses-mail quota shows the advice", utilisationPercent: 95, quotaLevel: "critical" });
            expect(quotaMetricPoints(result).map((p) => p.name)).to.deep.equal(["SendQuotaUtilization", "Max24HourSend", "SentLast24Hours", "MaxSendRate"]);
        });

        it("an unlimited quota publishes 0% and -1 as SES says it", async () => {
            ses.on(GetAccountCommand).resolves({ SendQuota: { Max24HourSend: -1, SentLast24Hours: 123456, MaxSendRate: 500 } });
            await captureOutput(() => handler());
            const data = cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input.MetricData!;
            expect(data.map((d) => [d.MetricName, d.Value])).to.deep.equal([["SendQuotaUtilization", 0], ["Max24HourSend", -1], ["SentLast24Hours", 123456], ["MaxSendRate", 500]]);
        });

        it("fails (Errors alarm) when GetAccount fails or has no quota; publishes nothing then", async () => {
            ses.on(GetAccountCommand).resolves({});
            let error: Error | undefined;
            await captureOutput(() => handler().catch((e: Error) => (error = e)));
            expect(error?.message).to.equal("GetAccount returned no SendQuota");
            expect(cloudwatch.commandCalls(PutMetricDataCommand)).to.deep.equal([]);
        });
    });
});
