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
            sending: {},
            // A key per component unless the stack says otherwise: a deployed stack moves in two steps (docs/OPERATIONS.md).
            kms: { mode: "per-component" },
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
        // IAM's ARN condition operators read * and ? as wildcards: an exemption pattern exempts a family of principals.
        ["a wildcard among the principals that may decrypt", { environment: "test", smtp: { enabled: true, adminPrincipalArns: ["arn:aws:iam::123456789012:role/*"] } }, 'ses-mail:smtp.adminPrincipalArns.0: invalid value "arn:aws:iam::123456789012:role/*". Fix: list exact IAM role or user ARNs (no * or ?)'],
        ["a wildcard among the mail readers", { environment: "test", ingest: { domains: ["mail.example.com"], mailReaderRoleArns: ["arn:aws:iam::123456789012:role/break-glass?"] } }, 'ses-mail:ingest.mailReaderRoleArns.0: invalid value "arn:aws:iam::123456789012:role/break-glass?". Fix: list exact IAM role ARNs'],
        ["token alert addresses that are not addresses", { environment: "test", ingest: { tokenAlertEmails: ["ops"] } }, 'ses-mail:ingest.tokenAlertEmails.0: invalid value "ops". Fix: list email addresses for Gmail token alerts'],
        // SES API Reference, CreateReceiptRuleSet: letters, digits, '_' and '-'; start and end with a letter or digit; at most 64.
        ["a rule set name SES refuses (a dot)", { environment: "test", ingest: { ruleSetName: "corp.inbound" } }, `ses-mail:ingest.ruleSetName: invalid value "corp.inbound". Fix: use 1-64 letters, digits, '_' or '-', starting and ending with a letter or digit (SES's rule for receipt rule set names).`],
        ["a rule set name SES refuses (ends with '-')", { environment: "test", ingest: { ruleSetName: "corp-" } }, "ses-mail:ingest.ruleSetName: invalid value \"corp-\". Fix: use 1-64 letters"],
        ["a rule set name SES refuses (65 characters)", { environment: "test", ingest: { ruleSetName: "a".repeat(65) } }, "ses-mail:ingest.ruleSetName: invalid value"],
        ["a rule name SES refuses", { environment: "test", ingest: { ruleAfter: "_first" } }, "ses-mail:ingest.ruleAfter: invalid value \"_first\". Fix: give the name of a rule of the set: use 1-64 letters"],
        ["an unknown rule set mode", { environment: "test", ingest: { ruleSetMode: "replace" } }, 'ses-mail:ingest.ruleSetMode: invalid value "replace". Fix: use join (add the rule to the active set, which ruleSetName, if given, must name), own'],
        ["the replaced createRuleSet", { environment: "test", ingest: { createRuleSet: false } }, "ses-mail:ingest.createRuleSet: unknown key. Fix: use ingest.ruleSetMode instead: join (what createRuleSet: false did)"],
        ["a home region that is not one", { environment: "test", homeRegion: "virginia" }, 'ses-mail:homeRegion: invalid value "virginia". Fix: give the region this env was deployed to first'],
        ["a sending domain listed twice", { environment: "test", feedback: { domains: ["mail.example.com", "mail.example.com"] } }, 'ses-mail:feedback.domains: "mail.example.com" is listed twice. Fix: list each once'],
        ["a receiving domain listed twice", { environment: "test", ingest: { domains: ["mail.example.com", "mail.example.com"] } }, 'ses-mail:ingest.domains: "mail.example.com" is listed twice. Fix: list each once'],
        ["two receiving domains with one resource name", { environment: "test", ingest: { domains: ["mail-test.example.com", "mail.test-example.com"] } }, 'ses-mail:ingest.domains: "mail-test.example.com" and "mail.test-example.com" map to the same resource name ("mail-test-example-com")'],
        ["two Gmail accounts with one resource name", { environment: "test", ingest: { gmailAccounts: ["a.b@gmail.com", "a-b@gmail.com"] } }, 'ses-mail:ingest.gmailAccounts: "a.b@gmail.com" and "a-b@gmail.com" map to the same resource name ("a-b-gmail-com")'],
        ["an alarm address listed twice (two subscriptions of one endpoint)", { environment: "test", alarms: { emails: ["ops@example.com", "ops@example.com"] } }, 'ses-mail:alarms.emails: "ops@example.com" is listed twice'],
        ["an SMTP admin listed twice", { environment: "test", smtp: { adminPrincipalArns: ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:role/a"] } }, 'ses-mail:smtp.adminPrincipalArns: "arn:aws:iam::123456789012:role/a" is listed twice'],
        ["a brake rate that is not a percentage", { environment: "test", sending: { brakeBounceRatePercent: 0 } }, "ses-mail:sending.brakeBounceRatePercent: invalid value 0. Fix: use a percentage above 0 and at most 100, e.g. 10 (the runbook's stop-sending bounce rate)."],
        ["a complaint brake above 100%", { environment: "test", sending: { brakeComplaintRatePercent: 150 } }, "ses-mail:sending.brakeComplaintRatePercent: invalid value 150. Fix: use a percentage above 0 and at most 100"],
        ["a quota warning not below the critical level", { environment: "test", sending: { quotaWarningPercent: 95 } }, "ses-mail:sending.quotaCriticalPercent: missing. Fix: use a percentage at most 100 and above quotaWarningPercent (defaults 70 and 90)."],
        ["a brake volume guard that is not a whole number", { environment: "test", sending: { brakeMinimumSends: 2.5 } }, "ses-mail:sending.brakeMinimumSends: invalid value 2.5. Fix: use a positive whole number"],
        ["an unknown sending key", { environment: "test", sending: { brakeRate: 10 } }, "ses-mail:sending.brakeRate: unknown key."],
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
