import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { EncryptedTopic } from "../../components/encrypted-topic";
import { QueueWithDlq } from "../../components/queue-with-dlq";
import { SuppressionStore } from "../../components/suppression-store";
import { compliantBucket } from "../fixtures/policy";
import { violationNames, violationsOf } from "../support/policy";

describe("policy: encryption at rest", () => {
    it("a plain queue violates encryption, DLQ and TLS rules", async () => {
        expect(await violationNames(() => new aws.sqs.Queue("plain"))).to.deep.equal(["sqs-queue-encrypted", "sqs-redrive-to-dlq", "sqs-tls-only"]);
    });

    it("QueueWithDlq passes every rule but the DLQ alarm (the Alarms component's job)", async () => {
        const found = await violationsOf(() => new QueueWithDlq("q", { env: "test", purpose: "q" }));
        expect(found.map((v) => v.policyName)).to.deep.equal(["dlq-has-alarm"]);
    });

    it("SNS topics need a KMS key (and, like every topic, a TLS deny)", async () => {
        expect(await violationNames(() => new aws.sns.Topic("plain"))).to.deep.equal(["sns-tls-only", "sns-topic-encrypted"]);
        expect(await violationNames(() => new aws.sns.Topic("kms", { kmsMasterKeyId: "alias/aws/sns" }))).to.deep.equal(["sns-tls-only"]);
        expect(await violationNames(() => new EncryptedTopic("t", { env: "test", purpose: "t", kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k" }))).to.deep.equal([]);
    });

    it("KMS keys rotate, when KMS can rotate them (symmetric keys outside custom key stores)", async () => {
        expect(await violationNames(() => new aws.kms.Key("k", {}))).to.deep.equal(["kms-key-rotation"]);
        expect(await violationNames(() => new aws.kms.Key("k", { enableKeyRotation: false, customerMasterKeySpec: "SYMMETRIC_DEFAULT" }))).to.deep.equal(["kms-key-rotation"]);
        expect(await violationNames(() => new aws.kms.Key("k", { enableKeyRotation: true }))).to.deep.equal([]);
        // EnableKeyRotation (KMS API Reference): not supported for asymmetric, HMAC or custom-key-store keys.
        expect(await violationNames(() => new aws.kms.Key("k", { customerMasterKeySpec: "RSA_3072", keyUsage: "SIGN_VERIFY" }))).to.deep.equal([]);
        expect(await violationNames(() => new aws.kms.Key("k", { customerMasterKeySpec: "HMAC_256", keyUsage: "GENERATE_VERIFY_MAC" }))).to.deep.equal([]);
        expect(await violationNames(() => new aws.kms.Key("k", { customKeyStoreId: "cks-1234567890abcdef0" }))).to.deep.equal([]);
    });

    it("DynamoDB tables need KMS encryption and PITR; exempt tables skip PITR only", async () => {
        const bare = () => new aws.dynamodb.Table("bare", { name: "scratch", hashKey: "id", attributes: [{ name: "id", type: "S" }], billingMode: "PAY_PER_REQUEST" });
        expect(await violationNames(bare)).to.deep.equal(["dynamodb-pitr", "dynamodb-table-encrypted"]);
        expect(await violationNames(bare, { config: { "dynamodb-pitr": { exemptTables: ["scratch"] } } })).to.deep.equal(["dynamodb-table-encrypted"]);
        expect(await violationNames(() => new SuppressionStore("s", { env: "test" }))).to.deep.equal([]);
    });

    it("S3 buckets need a default-encryption configuration (KMS when configured)", async () => {
        expect(await violationNames(() => compliantBucket("mail"))).to.deep.equal([]);
        expect(await violationNames(() => compliantBucket("mail"), { config: { "s3-bucket-encrypted": { requireKms: true } } })).to.deep.equal(["s3-bucket-encrypted"]);
        expect(await violationNames(() => compliantBucket("mail", "aws:kms"), { config: { "s3-bucket-encrypted": { requireKms: true } } })).to.deep.equal([]);
    });

    it("log groups need a customer key only when the pack's config requires it", async () => {
        const group = () => new aws.cloudwatch.LogGroup("logs", { name: "/aws/lambda/x", retentionInDays: 30 });
        expect(await violationNames(group)).to.deep.equal([]);
        expect(await violationNames(group, { config: { "log-group-kms-encrypted": { requireKms: true } } })).to.deep.equal(["log-group-kms-encrypted"]);
    });

    it("SSM parameters named like secrets must be SecureString", async () => {
        const parameter = (type: string, name = "/ses-mail/test/gmail-forwarder/oauth/refresh-token") => () => new aws.ssm.Parameter("p", { name, type, value: "x" });
        expect(await violationNames(parameter("String"))).to.deep.equal(["ssm-secret-securestring"]);
        expect(await violationNames(parameter("SecureString"))).to.deep.equal([]);
        expect(await violationNames(parameter("String", "/ses-mail/test/feature-flags"))).to.deep.equal([]);
    });
});
