import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import fc from "fast-check";
import { matchesAnyResource } from "../../policy/documents";
import { decide, violationNames, violationsOf } from "../support/policy";

const ACCOUNT = "123456789012";
const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const rolePolicy = (...statements: object[]) => () => new aws.iam.RolePolicy("p", { role: "r", policy: doc(...statements) });
const role = (...statements: object[]) => () => new aws.iam.Role("r", { assumeRolePolicy: doc(...statements) });
const ASSUME = "sts:AssumeRole";
const FROM_ACCOUNT = { StringEquals: { "aws:SourceAccount": ACCOUNT } };
const PARTITIONS = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"];
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/ses-mail/test/smtp-user-boundary`;
const USERS = `arn:aws:iam::${ACCOUNT}:user/ses-mail/test/*`;

describe("policy: IAM", () => {
    it("wildcard actions violate, in policies and inline role policies alike", async () => {
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::b/*" }))).to.deep.equal(["iam-no-wildcard-actions"]);
        // "*" also allows ses:SendEmail without a From-address condition, and IAM grants beyond any boundary.
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: ["*"], Resource: ["arn:aws:s3:::b"] }))).to.deep.equal(["iam-escalation-bounded", "iam-escalation-bounded", "iam-no-wildcard-actions", "ses-sending-from-address"]);
        expect(await violationNames(() => new aws.iam.Role("r", {
            assumeRolePolicy: doc({ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: ASSUME, Condition: FROM_ACCOUNT }),
            inlinePolicies: [{ name: "inline", policy: doc({ Effect: "Allow", Action: "dynamodb:Get*", Resource: "arn:aws:dynamodb:us-east-1:1:table/t" }) }],
        }))).to.deep.equal(["iam-no-wildcard-actions"]);
        // NotAction iam:* allows everything else, sending included.
        expect(await violationNames(rolePolicy({ Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:s3:::b" }))).to.deep.equal(["iam-no-wildcard-actions", "ses-sending-from-address"]);
    });

    it("a wildcard Deny (e.g. in resource policies' TLS rule) is not an allowed action", async () => {
        expect(await violationNames(rolePolicy({ Effect: "Deny", Action: "s3:*", Resource: "*" }))).to.deep.equal([]);
    });

    it("Resource * is allowed only for the documented actions, with their conditions", async () => {
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" }))).to.deep.equal(["iam-wildcard-resource-exceptions"]);
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: "*" }))).to.deep.equal([]);
        const found = await violationsOf(rolePolicy({ Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*" }));
        expect(found.map((v) => [v.policyName, v.message])).to.deep.equal([["iam-wildcard-resource-exceptions", "policy allows cloudwatch:PutMetricData on * without a cloudwatch:namespace condition."]]);
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*", Condition: { StringEquals: { "cloudwatch:namespace": "SESMail/test" } } }))).to.deep.equal([]);
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: "s3:ListAllMyBuckets", Resource: "*" }), { config: { "iam-wildcard-resource-exceptions": { extraActions: ["s3:ListAllMyBuckets"] } } })).to.deep.equal([]);
    });

    it("an ARN matching every resource of its kind counts as *, in every partition", async () => {
        const broad = (partition: string) => [
            `arn:${partition}:s3:::*`, `arn:${partition}:s3:::*/*`, `arn:${partition}:iam::*:role/*`, `arn:${partition}:iam::${ACCOUNT}:role/*`,
            `arn:${partition}:dynamodb:us-east-1:${ACCOUNT}:table/*`, `arn:${partition}:sqs:us-east-1:${ACCOUNT}:*`, `arn:${partition}:ssm:us-east-1:*:parameter/app/key`,
            `arn:${partition}:logs:us-east-1:${ACCOUNT}:log-group:*`,
        ];
        const scoped = (partition: string) => [
            `arn:${partition}:s3:::ses-mail-email-test-${ACCOUNT}/inbound/*`, `arn:${partition}:iam::${ACCOUNT}:user/ses-mail/test/*`,
            `arn:${partition}:dynamodb:us-east-1:${ACCOUNT}:table/ses-mail-feedback-events-test/index/*`, `arn:${partition}:logs:us-east-1:${ACCOUNT}:log-group:/aws/lambda/f:*`,
            `arn:${partition}:ssm:us-east-1:${ACCOUNT}:parameter/ses-mail/test/gmail-forwarder/oauth/client-credentials`,
        ];
        fc.assert(fc.property(fc.constantFrom(...PARTITIONS), (partition) => {
            expect(broad(partition).filter((arn) => !matchesAnyResource(arn))).to.deep.equal([]);
            expect(scoped(partition).filter(matchesAnyResource)).to.deep.equal([]);
        }));
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws-cn:s3:::*" }))).to.deep.equal(["iam-wildcard-resource-exceptions"]);
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: "iam:PassRole", Resource: "arn:aws:iam::*:role/*" }))).to.deep.equal(["iam-wildcard-resource-exceptions"]);
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: "iam:PassRole", Resource: `arn:aws:iam::${ACCOUNT}:role/ses-mail-router-fn-test` }))).to.deep.equal([]);
    });

    it("IAM grants need a permissions boundary condition; group, policy-version and boundary-removal grants are refused", async () => {
        const withBoundary = { StringEquals: { "iam:PermissionsBoundary": BOUNDARY } };
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: ["iam:CreateUser", "iam:PutUserPolicy"], Resource: USERS }))).to.deep.equal(["iam-escalation-bounded"]);
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: ["iam:CreateUser", "iam:PutUserPolicy"], Resource: USERS, Condition: withBoundary }))).to.deep.equal([]);
        // IfExists passes a request that sets no boundary; a wildcard value accepts any policy as the boundary.
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: "iam:CreateUser", Resource: USERS, Condition: { StringEqualsIfExists: { "iam:PermissionsBoundary": BOUNDARY } } }))).to.deep.equal(["iam-escalation-bounded"]);
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: "iam:CreateUser", Resource: USERS, Condition: { StringLike: { "iam:PermissionsBoundary": "*" } } }))).to.deep.equal(["iam-escalation-bounded"]);
        for (const action of ["iam:AttachGroupPolicy", "iam:AddUserToGroup", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeleteUserPermissionsBoundary"]) {
            expect(await violationNames(rolePolicy({ Effect: "Allow", Action: action, Resource: USERS, Condition: withBoundary })), action).to.deep.equal(["iam-escalation-bounded"]);
        }
        // Denies (the SMTP manager's belt and braces) grant nothing.
        expect(await violationNames(rolePolicy({ Effect: "Deny", Action: ["iam:AttachUserPolicy", "iam:DeleteUserPermissionsBoundary"], Resource: "*" }))).to.deep.equal([]);
        // Reading users and managing their keys is no grant.
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: ["iam:GetUser", "iam:DeleteUserPolicy", "iam:CreateAccessKey"], Resource: USERS }))).to.deep.equal([]);
    });

    it("what the boundary rule accepts, IAM enforces: no user without the boundary (policy simulator)", async () => {
        // Service Authorization Reference: iam:PermissionsBoundary is the request's boundary for CreateUser.
        // Mostly restricting operators and the boundary itself, so that many generated statements pass the rule.
        const pick = <T>(usual: T[], unusual: T[]) => fc.oneof({ arbitrary: fc.constantFrom(...usual), weight: 3 }, { arbitrary: fc.constantFrom(...unusual), weight: 1 });
        const operator = pick(["StringEquals", "StringLike", "ArnEquals", "ArnLike"], ["StringEqualsIfExists", "ArnLikeIfExists", "StringNotEquals", "ForAllValues:StringEquals"]);
        const value = pick([BOUNDARY, `arn:aws-us-gov:iam::${ACCOUNT}:policy/ses-mail/test/smtp-user-boundary`], [`arn:aws:iam::${ACCOUNT}:policy/*`, "*", `arn:aws:iam::${ACCOUNT}:policy/ses-mail/test/smtp-user-bound?ry`]);
        let acceptedCount = 0;
        await fc.assert(fc.asyncProperty(operator, fc.array(value, { minLength: 1, maxLength: 2 }), async (op, allowed) => {
            const statement = { Effect: "Allow", Action: ["iam:CreateUser"], Resource: USERS, Condition: { [op]: { "iam:PermissionsBoundary": allowed } } };
            const accepted = (await violationNames(rolePolicy(statement))).length === 0;
            const create = (context: Record<string, string>) => decide({ identity: [JSON.parse(doc(statement))] }, { principal: `arn:aws:iam::${ACCOUNT}:role/manager`, action: "iam:CreateUser", resource: `arn:aws:iam::${ACCOUNT}:user/ses-mail/test/x`, context });
            if (accepted) {
                acceptedCount += 1;
                expect(await create({})).to.not.equal("Allowed");
                expect(await create({ "iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess" })).to.not.equal("Allowed");
            }
        }), { numRuns: 60 });
        expect(acceptedCount, "statements the rule accepted").to.be.greaterThan(10);
    });

    it("managed policies: admin-grade ones violate in every partition; others only when neither defined in the stack nor allowed by config", async () => {
        await fc.assert(fc.asyncProperty(fc.constantFrom(...PARTITIONS), fc.constantFrom("AdministratorAccess", "PowerUserAccess", "IAMFullAccess"), async (partition, name) => {
            const policyArn = `arn:${partition}:iam::aws:policy/${name}`;
            expect(await violationNames(() => new aws.iam.RolePolicyAttachment("a", { role: "r", policyArn }))).to.deep.equal(["iam-managed-policy-attachments"]);
            // An allow-list cannot exempt admin.
            expect(await violationNames(() => new aws.iam.UserPolicyAttachment("a", { user: "u", policyArn }), { config: { "iam-managed-policy-attachments": { allowedPolicyArns: [policyArn] } } })).to.deep.equal(["iam-managed-policy-attachments"]);
        }), { numRuns: 20 });
        const external = `arn:aws:iam::${ACCOUNT}:policy/reviewed-read-only`;
        const attachments = () => {
            new aws.iam.GroupPolicyAttachment("g", { group: "g", policyArn: external });
            new aws.iam.Role("r", { assumeRolePolicy: doc({ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: ASSUME, Condition: FROM_ACCOUNT }), managedPolicyArns: [external] });
        };
        expect(await violationNames(attachments)).to.deep.equal(["iam-managed-policy-attachments", "iam-managed-policy-attachments"]);
        expect(await violationNames(attachments, { config: { "iam-managed-policy-attachments": { allowedPolicyArns: [external] } } })).to.deep.equal([]);
        const stackPolicy = (statement: object) => () => {
            const policy = new aws.iam.Policy("p", { policy: doc(statement) });
            new aws.iam.RolePolicyAttachmentsExclusive("r", { roleName: "r", policyArns: [policy.arn] });
        };
        expect(await violationNames(stackPolicy({ Effect: "Allow", Action: "sqs:SendMessage", Resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:q` }))).to.deep.equal([]);
        expect(await violationNames(stackPolicy({ Effect: "Allow", Action: "iam:*", Resource: `arn:aws:iam::${ACCOUNT}:user/x` })))
            .to.deep.equal(["iam-escalation-bounded", "iam-escalation-bounded", "iam-managed-policy-attachments", "iam-no-wildcard-actions"]);
    });

    it("access keys violate outside SmtpCredentials, and are allowed inside it", async () => {
        expect(await violationNames(() => new aws.iam.AccessKey("key", { user: "u" }))).to.deep.equal(["iam-no-access-keys"]);
        class SmtpCredentialsStandIn extends pulumi.ComponentResource {
            constructor() {
                super("ses-mail:index:SmtpCredentials", "smtp", {});
                new aws.iam.AccessKey("smtp-key", { user: "u" }, { parent: this });
            }
        }
        expect(await violationNames(() => new SmtpCredentialsStandIn())).to.deep.equal([]);
    });

    it("roles trust one intended service on behalf of this account, or one federated identity with sub and aud", async () => {
        const lambda = (condition?: object) => role({ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: ASSUME, ...(condition ? { Condition: condition } : {}) });
        expect(await violationNames(lambda(FROM_ACCOUNT))).to.deep.equal([]);
        expect(await violationNames(lambda({ ArnLike: { "aws:SourceArn": `arn:aws:lambda:us-east-1:${ACCOUNT}:function:f` } }))).to.deep.equal([]);
        expect(await violationNames(lambda())).to.deep.equal(["iam-role-trust-scoped"]);
        expect(await violationNames(lambda({ ArnLike: { "aws:SourceArn": "*" } }))).to.deep.equal(["iam-role-trust-scoped"]);
        expect(await violationNames(lambda({ StringEqualsIfExists: { "aws:SourceAccount": ACCOUNT } }))).to.deep.equal(["iam-role-trust-scoped"]);
        expect(await violationNames(role({ Effect: "Allow", Principal: "*", Action: ASSUME }))).to.deep.equal(["iam-role-trust-scoped"]);
        expect(await violationNames(role({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::999999999999:root" }, Action: ASSUME }))).to.deep.equal(["iam-role-trust-scoped"]);
        expect(await violationNames(role({ Effect: "Allow", Principal: { Service: ["lambda.amazonaws.com", "states.amazonaws.com"] }, Action: ASSUME, Condition: FROM_ACCOUNT }))).to.deep.equal(["iam-role-trust-scoped"]);
        expect(await violationNames(role({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: ASSUME, Condition: FROM_ACCOUNT }))).to.deep.equal(["iam-role-trust-scoped"]);
        const oidc = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
        const federated = (condition: object) => role({ Effect: "Allow", Principal: { Federated: oidc }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition });
        expect(await violationNames(federated({ StringEquals: { "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:mail:worker" } }))).to.deep.equal(["iam-role-trust-scoped"]);
        expect(await violationNames(federated({ StringEquals: { "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:mail:worker", "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com" } }))).to.deep.equal([]);
    });
});
