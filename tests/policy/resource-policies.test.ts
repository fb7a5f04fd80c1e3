import * as aws from "@pulumi/aws";
import { expect } from "chai";
import fc from "fast-check";
import { sourceScopeProblem } from "../../policy/documents";
import { decide, violationNames } from "../support/policy";

const ACCOUNT = "123456789012";
const OTHER = "999999999999";
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:inbound`;
const QUEUE = `arn:aws:sqs:us-east-1:${ACCOUNT}:q`;
const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const TLS_DENY = { Effect: "Deny", Principal: "*", Action: "sns:*", Resource: TOPIC, Condition: { Bool: { "aws:SecureTransport": "false" } } };

/** Each kind of resource policy the pack reads, carrying the given statements. */
const carriers: Record<string, (...statements: object[]) => () => unknown> = {
    "topic policy": (...s) => () => new aws.sns.TopicPolicy("p", { arn: TOPIC, policy: doc(...s) }),
    "queue policy": (...s) => () => new aws.sqs.QueuePolicy("p", { queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/q", policy: doc(...s) }),
    "bucket policy": (...s) => () => new aws.s3.BucketPolicy("p", { bucket: "b", policy: doc(...s) }),
    "key policy (Key)": (...s) => () => new aws.kms.Key("k", { enableKeyRotation: true, policy: doc(...s) }),
    "key policy (KeyPolicy)": (...s) => () => new aws.kms.KeyPolicy("p", { keyId: "k", policy: doc(...s) }),
    "event bus policy": (...s) => () => new aws.cloudwatch.EventBusPolicy("p", { eventBusName: "bus", policy: doc(...s) }),
};

describe("policy: resource policies", () => {
    for (const [kind, carrying] of Object.entries(carriers)) {
        it(`${kind}: nothing is allowed to everyone; a Deny may name everyone`, async () => {
            expect(await violationNames(carrying(TLS_DENY))).to.deep.equal([]);
            expect(await violationNames(carrying({ Effect: "Allow", Principal: "*", Action: "sqs:SendMessage", Resource: "*" }))).to.deep.equal(["resource-policy-not-public"]);
            expect(await violationNames(carrying({ Effect: "Allow", Principal: { AWS: ["arn:aws:iam::123456789012:role/r", "*"] }, Action: "kms:Decrypt", Resource: "*" }))).to.deep.equal(["resource-policy-not-public"]);
            expect(await violationNames(carrying({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::*:root" }, Action: "kms:Decrypt", Resource: "*" }))).to.deep.equal(["resource-policy-not-public"]);
            expect(await violationNames(carrying({ Effect: "Allow", NotPrincipal: { AWS: "arn:aws:iam::123456789012:role/r" }, Action: "kms:Decrypt", Resource: "*" }))).to.deep.equal(["resource-policy-not-public"]);
            expect(await violationNames(carrying({ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:role/r" }, Action: "kms:Decrypt", Resource: "*" }))).to.deep.equal([]);
        });

        it(`${kind}: a service principal acts only for this account's resources`, async () => {
            const service = (condition?: object) => carrying({ Effect: "Allow", Principal: { Service: "ses.amazonaws.com" }, Action: "sns:Publish", Resource: TOPIC, ...(condition ? { Condition: condition } : {}) });
            expect(await violationNames(service({ ArnEquals: { "aws:SourceArn": `arn:aws:ses:us-east-1:${ACCOUNT}:identity/example.com` } }))).to.deep.equal([]);
            expect(await violationNames(service({ StringEquals: { "aws:SourceAccount": ACCOUNT } }))).to.deep.equal([]);
            expect(await violationNames(service())).to.deep.equal(["resource-policy-service-scoped"]);
            expect(await violationNames(service({ ArnLike: { "aws:SourceArn": "*" } }))).to.deep.equal(["resource-policy-service-scoped"]);
        });
    }

    it("source conditions: values that name no account, or any resource, do not scope", () => {
        const problem = (condition: object) => sourceScopeProblem({ Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Condition: condition as never });
        expect(problem({ ArnLike: { "aws:SourceArn": `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:*` } })).to.equal(undefined);
        expect(problem({ ArnLike: { "aws:SourceArn": `arn:aws-cn:ssm:cn-north-1:${ACCOUNT}:automation-execution/*` } })).to.equal(undefined);
        expect(problem({ ArnLike: { "aws:SourceArn": "arn:aws:sns:us-east-1:*:topic" } })).to.equal('aws:SourceArn "arn:aws:sns:us-east-1:*:topic" matches resources of any account or any resource');
        expect(problem({ ArnLike: { "aws:SourceArn": `arn:aws:sns:us-east-1:${ACCOUNT}:*` } })).to.equal(`aws:SourceArn "arn:aws:sns:us-east-1:${ACCOUNT}:*" matches resources of any account or any resource`);
        // An S3 ARN carries no account: another account can own a bucket of that name (Lambda AddPermission, SourceAccount).
        expect(problem({ ArnLike: { "aws:SourceArn": "arn:aws:s3:::mail-bucket" } })).to.equal("its aws:SourceArn names no account (as S3 ARNs): add aws:SourceAccount");
        expect(problem({ ArnLike: { "aws:SourceArn": "arn:aws:s3:::mail-bucket" }, StringEquals: { "aws:SourceAccount": ACCOUNT } })).to.equal(undefined);
        expect(problem({ StringLike: { "aws:SourceAccount": "1234567890*" } })).to.equal('aws:SourceAccount "1234567890*" is not one account');
        expect(problem({ ArnNotEquals: { "aws:SourceArn": `arn:aws:sns:us-east-1:${OTHER}:evil` } })).to.equal("it has no aws:SourceArn or aws:SourceAccount condition");
    });

    it("what the scoping rule accepts, IAM enforces: an account the conditions do not name cannot make the service act (policy simulator)", async () => {
        const STRANGER = "555555555555";
        // IAM User Guide, "The confused deputy problem": the service sets aws:SourceArn/SourceAccount to the resource it acts for.
        // Mostly scoping operators and values, so that many generated statements pass the rule.
        const pick = <T>(usual: T[], unusual: T[]) => fc.oneof({ arbitrary: fc.constantFrom(...usual), weight: 3 }, { arbitrary: fc.constantFrom(...unusual), weight: 1 });
        const operator = pick(["ArnEquals", "ArnLike", "StringEquals", "StringLike"], ["ArnEqualsIfExists", "StringEqualsIfExists", "ArnNotEquals", "ForAnyValue:StringLike"]);
        const sourceArn = pick([`arn:aws:sns:us-east-1:${ACCOUNT}:feedback`, `arn:aws:sns:us-east-1:${ACCOUNT}:feed*`, `arn:aws-cn:sns:cn-north-1:${OTHER}:feedback`], ["arn:aws:sns:us-east-1:*:feedback", "arn:aws:sns:*:*:*", "*", `arn:aws:sns:us-east-1:${ACCOUNT}:*`]);
        const account = pick([ACCOUNT, OTHER], ["*", "1234567890??"]);
        const condition = fc.oneof(
            fc.record({ operator, key: fc.constant("aws:SourceArn"), values: fc.array(sourceArn, { minLength: 1, maxLength: 2 }) }),
            fc.record({ operator, key: fc.constant("aws:SourceAccount"), values: fc.array(account, { minLength: 1, maxLength: 2 }) }),
        );
        let accepted = 0;
        await fc.assert(fc.asyncProperty(fc.array(condition, { maxLength: 2 }), async (conditions) => {
            const statement = {
                Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: QUEUE,
                Condition: Object.fromEntries(conditions.map((c) => [c.operator, { [c.key]: c.values }])),
            };
            if (sourceScopeProblem(statement as never) !== undefined) {
                return;
            }
            accepted += 1;
            const send = (context: Record<string, string>) => decide({ resource: JSON.parse(doc(statement)) }, { principal: "sns.amazonaws.com", action: "sqs:SendMessage", resource: QUEUE, context });
            expect(await send({ "aws:SourceArn": `arn:aws:sns:us-east-1:${STRANGER}:feedback`, "aws:SourceAccount": STRANGER })).to.not.equal("Allowed");
            expect(await send({})).to.not.equal("Allowed");
        }), { numRuns: 150 });
        expect(accepted, "statements the rule accepted").to.be.greaterThan(20);
    });

    it("every topic needs a TLS deny of sns:* on it, for everyone", async () => {
        const topicWithPolicy = (...statements: object[]) => () => {
            const topic = new aws.sns.Topic("t", { name: "inbound", kmsMasterKeyId: "alias/aws/sns" });
            new aws.sns.TopicPolicy("t-policy", { arn: topic.arn, policy: doc(...statements) });
        };
        expect(await violationNames(topicWithPolicy(TLS_DENY))).to.deep.equal([]);
        expect(await violationNames(topicWithPolicy())).to.deep.equal(["sns-tls-only"]);
        expect(await violationNames(topicWithPolicy({ ...TLS_DENY, Action: "sns:Publish" }))).to.deep.equal(["sns-tls-only"]);
        expect(await violationNames(topicWithPolicy({ ...TLS_DENY, Resource: `arn:aws:sns:us-east-1:${ACCOUNT}:other` }))).to.deep.equal(["sns-tls-only"]);
    });
});
