import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import fc from "fast-check";
import { sendingPolicyProblems } from "../../policy/policies/ses";
import { decide, violationNames, violationsOf } from "../support/policy";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com";
const USER = "arn:aws:iam::123456789012:user/ses-mail/test/relay";

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

    it("ses:FromAddress must name exact addresses: wildcards under StringLike and non-restricting operators violate", async () => {
        const send = (condition: object) => () => new aws.iam.UserPolicy("relay", { user: "relay", policy: doc({ Effect: "Allow", Action: "ses:SendRawEmail", Resource: IDENTITY, Condition: condition }) });
        expect(await violationNames(send({ StringEquals: { "ses:FromAddress": ["app@example.com"] } }))).to.deep.equal([]);
        for (const pattern of ["*", "*@*", "?*", "*@example.com", "app?@example.com"]) {
            expect(await violationNames(send({ StringLike: { "ses:FromAddress": ["app@example.com", pattern] } })), pattern).to.deep.equal(["ses-sending-from-address"]);
        }
        // Under StringEquals `*` is a literal character: only the address "*" matches.
        expect(await violationNames(send({ StringEquals: { "ses:FromAddress": "*@example.com" } }))).to.deep.equal([]);
        for (const operator of ["StringLikeIfExists", "StringNotLike", "ForAllValues:StringLike"]) {
            expect(await violationNames(send({ [operator]: { "ses:FromAddress": "app@example.com" } })), operator).to.deep.equal(["ses-sending-from-address"]);
        }
    });

    it("what the From-address rule accepts, IAM enforces: no other From address, and none missing (policy simulator)", async () => {
        const pick = <T>(usual: T[], unusual: T[]) => fc.oneof({ arbitrary: fc.constantFrom(...usual), weight: 3 }, { arbitrary: fc.constantFrom(...unusual), weight: 1 });
        const operator = pick(["StringEquals", "StringLike", "StringEqualsIgnoreCase"], ["StringLikeIfExists", "StringNotEquals", "ForAllValues:StringLike", "ForAnyValue:StringLike"]);
        const address = pick(["app@example.com", "notifications@example.com", "*", "*@example.com"], ["*", "?*", "*@example.com", "app@*"]);
        let accepted = 0;
        await fc.assert(fc.asyncProperty(operator, fc.array(address, { minLength: 1, maxLength: 3 }), fc.emailAddress(), async (op, addresses, from) => {
            const statement = { Effect: "Allow" as const, Action: ["ses:SendRawEmail"], Resource: [IDENTITY], Condition: { [op]: { "ses:FromAddress": addresses } } };
            if (sendingPolicyProblems([statement]).length > 0) {
                return;
            }
            accepted += 1;
            const sendAs = (context: Record<string, string>) => decide({ identity: [{ Version: "2012-10-17", Statement: [statement] }] }, { principal: USER, action: "ses:SendRawEmail", resource: IDENTITY, context });
            const named = addresses.map((a) => a.toLowerCase());
            if (!named.includes(from.toLowerCase())) {
                expect(await sendAs({ "ses:FromAddress": from }), from).to.not.equal("Allowed");
            }
            expect(await sendAs({})).to.not.equal("Allowed");
        }), { numRuns: 120 });
        expect(accepted, "statements the rule accepted").to.be.greaterThan(20);
    });

    it("a permissions boundary may allow a domain's addresses: it caps, the user's own policy grants", async () => {
        const boundaryDocument = doc({ Effect: "Allow", Action: ["ses:SendRawEmail"], Resource: IDENTITY, Condition: { StringLike: { "ses:FromAddress": "*@example.com" } } });
        const manager = (boundaryArn: pulumi.Input<string>) => new aws.iam.RolePolicy("manager", {
            role: "manager",
            policy: pulumi.output(boundaryArn).apply((arn) => doc({ Effect: "Deny", Action: ["iam:CreateUser"], Resource: "*", Condition: { StringNotEquals: { "iam:PermissionsBoundary": arn } } })),
        });
        expect(await violationNames(() => manager(new aws.iam.Policy("boundary", { policy: boundaryDocument }).arn))).to.deep.equal([]);
        expect(await violationNames(() => {
            new aws.iam.Policy("boundary", { policy: boundaryDocument });
            manager("arn:aws:iam::123456789012:policy/another");
        })).to.deep.equal(["ses-sending-from-address"]);
        // Attached to a user as well, it grants the whole domain.
        expect(await violationNames(() => {
            const boundary = new aws.iam.Policy("boundary", { policy: boundaryDocument });
            manager(boundary.arn);
            new aws.iam.UserPolicyAttachment("relay", { user: "relay", policyArn: boundary.arn });
        })).to.deep.equal(["ses-sending-from-address"]);
    });

    it("configuration sets must require TLS (SESv2 and SES v1)", async () => {
        expect(await violationNames(() => new aws.sesv2.ConfigurationSet("cs", { configurationSetName: "cs" }))).to.deep.equal(["ses-configuration-set-tls"]);
        expect(await violationNames(() => new aws.sesv2.ConfigurationSet("cs", { configurationSetName: "cs", deliveryOptions: { tlsPolicy: "REQUIRE" } }))).to.deep.equal([]);
        expect(await violationNames(() => new aws.ses.ConfigurationSet("v1", { name: "v1", deliveryOptions: { tlsPolicy: "Optional" } }))).to.deep.equal(["ses-configuration-set-tls"]);
        expect(await violationNames(() => new aws.ses.ConfigurationSet("v1", { name: "v1", deliveryOptions: { tlsPolicy: "Require" } }))).to.deep.equal([]);
    });
});
