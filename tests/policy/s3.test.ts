import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { compliantBucket } from "../fixtures/policy";
import { violationNames } from "../support/policy";

describe("policy: S3", () => {
    it("a bare bucket violates encryption, public access, TLS and lifecycle rules", async () => {
        expect(await violationNames(() => new aws.s3.Bucket("raw", { bucket: "raw-mail" }))).to.deep.equal([
            "s3-bucket-encrypted",
            "s3-lifecycle-expiry",
            "s3-public-access-blocked",
            "s3-tls-only",
        ]);
    });

    it("a partial public access block still violates", async () => {
        expect(await violationNames(() => {
            const bucket = compliantBucket("mail");
            new aws.s3.BucketPublicAccessBlock("partial", { bucket: bucket.id, blockPublicAcls: true });
            new aws.s3.Bucket("second", { bucket: "second-bucket" });
        })).to.deep.equal(["s3-bucket-encrypted", "s3-lifecycle-expiry", "s3-public-access-blocked", "s3-tls-only"]);
    });

    it("a disabled lifecycle rule does not count as expiry", async () => {
        expect(await violationNames(() => {
            const bucket = new aws.s3.Bucket("b", { bucket: "b-bucket" });
            new aws.s3.BucketServerSideEncryptionConfiguration("b-sse", { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });
            new aws.s3.BucketPublicAccessBlock("b-pab", { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
            new aws.s3.BucketPolicy("b-policy", { bucket: bucket.id, policy: JSON.stringify({ Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } }] }) });
            new aws.s3.BucketLifecycleConfiguration("b-lifecycle", { bucket: bucket.id, rules: [{ id: "expire", status: "Disabled", expiration: { days: 90 } }] });
        })).to.deep.equal(["s3-lifecycle-expiry"]);
    });

    it("the TLS deny covers every S3 action on the bucket and all its keys, for everyone, with no other condition", async () => {
        const withDeny = (deny: object) => () => {
            const bucket = new aws.s3.Bucket("b", { bucket: "b-bucket" });
            new aws.s3.BucketServerSideEncryptionConfiguration("b-sse", { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] });
            new aws.s3.BucketPublicAccessBlock("b-pab", { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
            new aws.s3.BucketLifecycleConfiguration("b-lifecycle", { bucket: bucket.id, rules: [{ id: "expire", status: "Enabled", expiration: { days: 90 } }] });
            const statement = { Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::b-bucket", "arn:aws:s3:::b-bucket/*"], Condition: { Bool: { "aws:SecureTransport": "false" } }, ...deny };
            new aws.s3.BucketPolicy("b-policy", { bucket: bucket.id, policy: JSON.stringify({ Statement: [statement] }) });
        };
        for (const covering of [{}, { Resource: "*" }, { Resource: "arn:aws:s3:::b-bucket*" }, { Action: "*" }, { Principal: { AWS: "*" } }]) {
            expect(await violationNames(withDeny(covering)), JSON.stringify(covering)).to.deep.equal([]);
        }
        const narrowed = [
            { Action: ["s3:GetObject", "s3:PutObject"] },
            { Resource: "arn:aws:s3:::b-bucket/*" },
            { Resource: ["arn:aws:s3:::b-bucket", "arn:aws:s3:::b-bucket/inbound/*"] },
            { Principal: { AWS: "arn:aws:iam::999999999999:root" } },
            { Condition: { Bool: { "aws:SecureTransport": "false" }, StringNotEquals: { "aws:PrincipalAccount": "123456789012" } } },
            { Condition: { Bool: { "aws:SecureTransport": "true" } } },
            { NotAction: "s3:GetObject", Action: undefined },
        ];
        for (const narrowing of narrowed) {
            expect(await violationNames(withDeny(narrowing)), JSON.stringify(narrowing)).to.deep.equal(["s3-tls-only"]);
        }
    });
});
