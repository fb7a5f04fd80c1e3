import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { sendingPolicyProblems } from "../../policy/policies/ses";
import { violationNames, violationsOf } from "../support/policy";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com";

describe("policy: SES", () => {
    it("receipt rules must scan and require TLS", async () => {
        const rule = (args: Partial<aws.ses.ReceiptRuleArgs>) => () => new aws.ses.ReceiptRule("rule", { ruleSetName: "rules", recipients: ["example.com"], enabled: true, ...args });
        const found = await violationsOf(rule({ scanEnabled: false, tlsPolicy: "Optional" }));
        expect(found.map((v) => [v.policyName, v.message])).to.deep.equal([
            ["ses-receipt-rule-scanning-tls", "Receipt rule does not scan for spam and viruses: set scanEnabled to true."],
            ["ses-receipt-rule-scanning-tls", "Receipt rule accepts mail without TLS: set tlsPolicy to Require."],
        ]);
        expect(await violationNames(rule({ scanEnabled: true, tlsPolicy: "Require" }))).to.deep.equal([]);
    });

    it("sending policies must carry ses:FromAddress", async () => {
        const policy = (statement: object) => () => new aws.iam.Policy("smtp", { policy: doc(statement) });
        expect(await violationNames(policy({ Effect: "Allow", Action: ["ses:SendRawEmail"], Resource: IDENTITY }))).to.deep.equal(["ses-sending-from-address"]);
        expect(await violationNames(policy({ Effect: "Allow", Action: ["ses:SendRawEmail", "ses:SendEmail"], Resource: IDENTITY, Condition: { StringLike: { "ses:FromAddress": ["app@example.com"] } } }))).to.deep.equal([]);
        expect(await violationNames(policy({ Effect: "Allow", Action: "ses:Send*", Resource: IDENTITY }))).to.deep.equal(["iam-no-wildcard-actions", "ses-sending-from-address"]);
        expect(await violationNames(policy({ Effect: "Allow", Action: "ses:SendBounce", Resource: IDENTITY }))).to.deep.equal([]);
    });

    it("sendingPolicyProblems is usable on generated documents", () => {
        expect(sendingPolicyProblems([{ Sid: "Send", Effect: "Allow", Action: "ses:SendEmail", Resource: IDENTITY }])).to.deep.equal(["Statement Send allows sending without an ses:FromAddress condition."]);
        expect(sendingPolicyProblems([{ Effect: "Deny", Action: "ses:SendEmail", Resource: "*" }])).to.deep.equal([]);
    });

    it("configuration sets must require TLS (SESv2 and SES v1)", async () => {
        expect(await violationNames(() => new aws.sesv2.ConfigurationSet("cs", { configurationSetName: "cs" }))).to.deep.equal(["ses-configuration-set-tls"]);
        expect(await violationNames(() => new aws.sesv2.ConfigurationSet("cs", { configurationSetName: "cs", deliveryOptions: { tlsPolicy: "REQUIRE" } }))).to.deep.equal([]);
        expect(await violationNames(() => new aws.ses.ConfigurationSet("v1", { name: "v1", deliveryOptions: { tlsPolicy: "Optional" } }))).to.deep.equal(["ses-configuration-set-tls"]);
        expect(await violationNames(() => new aws.ses.ConfigurationSet("v1", { name: "v1", deliveryOptions: { tlsPolicy: "Require" } }))).to.deep.equal([]);
    });
});
