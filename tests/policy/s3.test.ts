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
});
