import { expect } from "chai";
import {
    accountKeyAdministration, allow, allowOnAnyResource, allowPutMetricData, allowServicePrincipal, denyInsecureTransport, denyKeyActionsExcept, policyDocument,
} from "../../components/iam";
import { promiseOf } from "../support/mocks";

describe("IAM policy builder", () => {
    it("never allows a wildcard or malformed action", () => {
        for (const action of ["*", "s3:*", "dynamodb:Get*", "GetItem", "s3:Get Object"]) {
            expect(() => allow([action], ["arn:aws:s3:::b"]), action).to.throw(/never a wildcard/);
        }
    });

    it("needs at least one action and one resource ARN", () => {
        expect(() => allow([], ["arn:aws:s3:::b"])).to.throw(/at least one action/);
        expect(() => allow(["s3:GetObject"], [])).to.throw(/at least one resource ARN/);
    });

    it("grants * resources only for actions AWS cannot scope, with required conditions", () => {
        expect(allowOnAnyResource(["xray:PutTraceSegments"])).to.deep.equal({ Effect: "Allow", Action: ["xray:PutTraceSegments"], Resource: "*" });
        expect(() => allowOnAnyResource(["s3:GetObject"])).to.throw(/supports resource-level permissions/);
        expect(() => allowOnAnyResource(["cloudwatch:PutMetricData"])).to.throw(/needs a cloudwatch:namespace condition/);
        expect(allowPutMetricData("SESMail/test")).to.deep.equal({
            Effect: "Allow",
            Action: ["cloudwatch:PutMetricData"],
            Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": "SESMail/test" } },
        });
    });

    it("scopes service principals with aws:SourceArn and refuses to leave it out", () => {
        expect(allowServicePrincipal("sns.amazonaws.com", ["sqs:SendMessage"], ["arn:q"], ["arn:topic"])).to.deep.equal({
            Effect: "Allow",
            Principal: { Service: "sns.amazonaws.com" },
            Action: ["sqs:SendMessage"],
            Resource: ["arn:q"],
            Condition: { ArnEquals: { "aws:SourceArn": ["arn:topic"] } },
        });
        expect(() => allowServicePrincipal("sns.amazonaws.com", ["sqs:SendMessage"], ["arn:q"], [])).to.throw(/aws:SourceArn/);
    });

    it("serialises statements with nested outputs into a versioned document", async () => {
        const { output } = await import("@pulumi/pulumi");
        const json = await promiseOf(policyDocument([allow(["sqs:SendMessage"], [output("arn:aws:sqs:us-east-1:1:q")]), denyInsecureTransport("sqs", ["arn:q"])]));
        expect(JSON.parse(json)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: ["arn:aws:sqs:us-east-1:1:q"] },
                { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: ["sqs:*"], Resource: ["arn:q"], Condition: { Bool: { "aws:SecureTransport": "false" } } },
            ],
        });
    });

    it("key administration goes to the account principal of the key's partition (ARNs carry it: aws, aws-cn, aws-us-gov)", async () => {
        for (const partition of ["aws", "aws-cn", "aws-us-gov"]) {
            const document = JSON.parse(await promiseOf(policyDocument([accountKeyAdministration("123456789012", partition)])));
            expect(document.Statement[0]).to.deep.equal({ Sid: "AccountAdministersKeyThroughIam", Effect: "Allow", Principal: { AWS: `arn:${partition}:iam::123456789012:root` }, Action: ["kms:*"], Resource: "*" });
        }
    });

    it("denies key actions to everyone but the exempt principals (by aws:PrincipalArn), to everyone when none is, never with a wildcard action", () => {
        expect(denyKeyActionsExcept("OnlyAdmins", ["kms:Decrypt"], ["arn:aws:iam::1:role/admin"])).to.deep.equal({
            Sid: "OnlyAdmins", Effect: "Deny", Principal: "*", Action: ["kms:Decrypt"], Resource: "*", Condition: { ArnNotEquals: { "aws:PrincipalArn": ["arn:aws:iam::1:role/admin"] } },
        });
        expect(denyKeyActionsExcept("Nobody", ["kms:Decrypt"], [])).to.deep.equal({ Sid: "Nobody", Effect: "Deny", Principal: "*", Action: ["kms:Decrypt"], Resource: "*" });
        expect(() => denyKeyActionsExcept("All", ["kms:*"], [])).to.throw(/never a wildcard/);
    });
});
