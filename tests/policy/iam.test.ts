import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { violationNames, violationsOf } from "../support/policy";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const rolePolicy = (...statements: object[]) => () => new aws.iam.RolePolicy("p", { role: "r", policy: doc(...statements) });
const role = (...statements: object[]) => () => new aws.iam.Role("r", { assumeRolePolicy: doc(...statements) });
const ASSUME = "sts:AssumeRole";

describe("policy: IAM", () => {
    it("wildcard actions violate, in policies and inline role policies alike", async () => {
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::b/*" }))).to.deep.equal(["iam-no-wildcard-actions"]);
        // "*" also allows ses:SendEmail without a From-address condition.
        expect(await violationNames(rolePolicy({ Effect: "Allow", Action: ["*"], Resource: ["arn:aws:s3:::b"] }))).to.deep.equal(["iam-no-wildcard-actions", "ses-sending-from-address"]);
        expect(await violationNames(() => new aws.iam.Role("r", {
            assumeRolePolicy: doc({ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: ASSUME }),
            inlinePolicies: [{ name: "inline", policy: doc({ Effect: "Allow", Action: "dynamodb:Get*", Resource: "arn:aws:dynamodb:us-east-1:1:table/t" }) }],
        }))).to.deep.equal(["iam-no-wildcard-actions"]);
        expect(await violationNames(rolePolicy({ Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:s3:::b" }))).to.deep.equal(["iam-no-wildcard-actions"]);
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

    it("roles trust one intended service, or one federated identity with sub and aud", async () => {
        expect(await violationNames(role({ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: ASSUME }))).to.deep.equal([]);
        expect(await violationNames(role({ Effect: "Allow", Principal: "*", Action: ASSUME }))).to.deep.equal(["iam-role-trust-scoped"]);
        expect(await violationNames(role({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::999999999999:root" }, Action: ASSUME }))).to.deep.equal(["iam-role-trust-scoped"]);
        expect(await violationNames(role({ Effect: "Allow", Principal: { Service: ["lambda.amazonaws.com", "states.amazonaws.com"] }, Action: ASSUME }))).to.deep.equal(["iam-role-trust-scoped"]);
        expect(await violationNames(role({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: ASSUME }))).to.deep.equal(["iam-role-trust-scoped"]);
        const oidc = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
        const federated = (condition: object) => role({ Effect: "Allow", Principal: { Federated: oidc }, Action: "sts:AssumeRoleWithWebIdentity", Condition: condition });
        expect(await violationNames(federated({ StringEquals: { "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:mail:worker" } }))).to.deep.equal(["iam-role-trust-scoped"]);
        expect(await violationNames(federated({ StringEquals: { "oidc.eks.us-east-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:mail:worker", "oidc.eks.us-east-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com" } }))).to.deep.equal([]);
    });
});
