import { expect } from "chai";
import { allow, allowOnAnyResource, allowPutMetricData, allowServicePrincipal, denyInsecureTransport, policyDocument } from "../../components/iam";
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
});
