import { expect } from "chai";
import { decodeConfigValue, parseStackConfig, StackConfigError } from "../../stacks/config";

function problemsOf(raw: Record<string, unknown>): string[] {
    try {
        parseStackConfig(raw, "test");
    } catch (error) {
        expect(error).to.be.instanceOf(StackConfigError);
        expect((error as Error).message).to.match(/^Invalid configuration in Pulumi\.test\.yaml:/);
        return (error as StackConfigError).problems;
    }
    throw new Error("expected a StackConfigError");
}

describe("stack config", () => {
    it("fills documented defaults", () => {
        expect(parseStackConfig({ environment: "test" }, "test")).to.deep.equal({
            environment: "test",
            namePrefix: "ses-mail",
            logRetentionDays: 30,
            suppression: {},
            feedback: { domains: [] },
            ingest: { domains: [] },
            smtp: { enabled: false },
            alarms: {},
        });
    });

    it("keeps what the stack sets", () => {
        const config = parseStackConfig({ environment: "prod", logRetentionDays: 90, suppression: { tableName: "ses-email-suppression-list", mirrorToSes: true } }, "prod");
        expect(config.logRetentionDays).to.equal(90);
        expect(config.suppression).to.deep.equal({ tableName: "ses-email-suppression-list", mirrorToSes: true });
    });

    const bad: [string, Record<string, unknown>, string][] = [
        ["a wrong type", { environment: "test", suppression: { mirrorToSes: "yes" } }, 'ses-mail:suppression.mirrorToSes: invalid value "yes". Fix: set it to true or false.'],
        ["a retention CloudWatch does not offer", { environment: "test", logRetentionDays: 10 }, "ses-mail:logRetentionDays: invalid value 10. Fix: use one of CloudWatch's retention periods: 1, 3, 5, 7, 14, 30"],
        ["an unknown top-level key", { environment: "test", supression: {} }, "ses-mail:supression: unknown key. Fix: remove it, or use one of ses-mail:environment"],
        ["an unknown nested key", { environment: "test", suppression: { mirror: true } }, "ses-mail:suppression.mirror: unknown key. Fix: remove it or check its spelling."],
        ["an invalid environment", { environment: "Prod!" }, 'ses-mail:environment: invalid value "Prod!". Fix: set ses-mail:environment to a short lowercase name'],
        ["a threshold that is not a whole number", { environment: "test", feedback: { transientThreshold: 2.5 } }, "ses-mail:feedback.transientThreshold: invalid value 2.5. Fix: use a positive whole number."],
        ["a sending domain that is not one", { environment: "test", feedback: { domains: ["Mail.Example.com"] } }, 'ses-mail:feedback.domains.0: invalid value "Mail.Example.com". Fix: list lowercase sending domains'],
        ["an IRSA provider that is not an OIDC provider ARN", { environment: "test", feedback: { externalConsumer: { oidcProviderArn: "arn:aws:iam::123456789012:role/x", namespace: "mail", serviceAccount: "w" } } }, "ses-mail:feedback.externalConsumer.oidcProviderArn: invalid value"],
        ["a key ARN that is not one", { environment: "test", suppression: { kmsKeyArn: "alias/x" } }, 'ses-mail:suppression.kmsKeyArn: invalid value "alias/x". Fix: give the full ARN of a KMS key'],
        ["a token critical level above the warning level", { environment: "test", ingest: { tokenWarningHours: 4 } }, "ses-mail:ingest.tokenCriticalHours: missing. Fix: use a positive whole number below tokenWarningHours (defaults 6 and 24)."],
        ["a mail retention shorter than a mail may wait", { environment: "test", ingest: { mailRetentionDays: 14 } }, "ses-mail:ingest.mailRetentionDays: invalid value 14. Fix: use a whole number of at least 43 (mail may wait 14 days in the input DLQ, 14 parked, 14 in the forwarder's DLQ"],
        ["an import limit above Gmail's", { environment: "test", ingest: { maxImportBytes: 52428800 * 4 } }, "ses-mail:ingest.maxImportBytes: invalid value 209715200. Fix: use a whole number from 1 to 157286400 (Gmail's import limit)."],
        ["a trigger concurrency below AWS's minimum", { environment: "test", ingest: { forwarderMaxConcurrency: 1 } }, "ses-mail:ingest.forwarderMaxConcurrency: invalid value 1. Fix: use a whole number from 2 to 1000"],
        ["token alert addresses that are not addresses", { environment: "test", ingest: { tokenAlertEmails: ["ops"] } }, 'ses-mail:ingest.tokenAlertEmails.0: invalid value "ops". Fix: list email addresses for Gmail token alerts'],
    ];
    for (const [title, raw, expected] of bad) {
        it(`names the key and the fix for ${title}`, () => {
            const problems = problemsOf(raw);
            expect(problems).to.have.length(1);
            expect(problems[0].startsWith(expected), problems[0]).to.equal(true);
        });
    }

    it("reports every problem at once", () => {
        expect(problemsOf({ environment: "test", logRetentionDays: 2, suppression: { deletionProtection: 1 } })).to.have.length(2);
    });

    it("decodes values as Pulumi stores them", () => {
        expect(decodeConfigValue("test")).to.equal("test");
        expect(decodeConfigValue("30")).to.equal(30);
        expect(decodeConfigValue('{"mirrorToSes":true}')).to.deep.equal({ mirrorToSes: true });
    });
});
