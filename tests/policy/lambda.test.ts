import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { allow } from "../../components/iam";
import { LambdaFunction } from "../../components/lambda-function";
import { QueueWithDlq } from "../../components/queue-with-dlq";
import { violationNames, violationsOf } from "../support/policy";

const ROLE = "arn:aws:iam::123456789012:role/r";

describe("policy: Lambda", () => {
    it("LambdaFunction passes every rule", async () => {
        expect(await violationNames(() => new LambdaFunction("fn", { code: "suppression-mirror", env: "test", metricsNamespace: "SESMail/test", policyStatements: [] }))).to.deep.equal([]);
    });

    it("a bare function violates tracing and log-group rules", async () => {
        const found = await violationsOf(() => new aws.lambda.Function("bare", { name: "bare", role: ROLE, runtime: "nodejs22.x", handler: "index.handler" }));
        expect(found.map((v) => v.policyName).sort()).to.deep.equal(["lambda-log-group-retention", "lambda-xray-tracing"]);
        expect(found.find((v) => v.policyName === "lambda-log-group-retention")!.message).to.match(/logs to \/aws\/lambda\/bare, which the stack does not create/);
    });

    it("a log group without retention violates", async () => {
        expect(await violationNames(() => {
            const logs = new aws.cloudwatch.LogGroup("logs", { name: "/aws/lambda/f" });
            new aws.lambda.Function("f", { name: "f", role: ROLE, runtime: "nodejs22.x", handler: "index.handler", tracingConfig: { mode: "Active" }, loggingConfig: { logFormat: "JSON", logGroup: logs.name } });
        })).to.deep.equal(["lambda-log-group-retention"]);
    });

    it("plaintext secrets in the environment violate; references to where they are kept do not", async () => {
        const withEnv = (variables: Record<string, string>) => () => new LambdaFunction("fn", { code: "suppression-mirror", env: "test", metricsNamespace: "m", policyStatements: [], environment: variables });
        expect(await violationNames(withEnv({ GMAIL_REFRESH_TOKEN: "1//0abc" }))).to.deep.equal(["lambda-no-plaintext-secrets"]);
        expect(await violationNames(withEnv({ SMTP_PASSWORD: "hunter2" }))).to.deep.equal(["lambda-no-plaintext-secrets"]);
        expect(await violationNames(withEnv({ SOME_SETTING: "AKIAABCDEFGHIJKLMNOP" }))).to.deep.equal(["lambda-no-plaintext-secrets"]);
        expect(await violationNames(withEnv({ REFRESH_TOKEN_PARAMETER: "/ses-mail/test/gmail-forwarder/oauth/refresh-token", KMS_KEY_ARN: "arn:aws:kms:us-east-1:1:key/k" }))).to.deep.equal([]);
    });

    it("a queue consumer whose timeout exceeds visibility / 6 violates; QueueWithDlq sized for it passes", async () => {
        const consumer = (consumerTimeoutSeconds: number | undefined) => () => {
            const fn = new LambdaFunction("worker", { code: "suppression-mirror", env: "test", metricsNamespace: "m", policyStatements: [allow(["sqs:ReceiveMessage"], ["arn:aws:sqs:us-east-1:1:q"])], timeout: 60 });
            const queue = new QueueWithDlq("q", { env: "test", purpose: "q", consumerTimeoutSeconds });
            new aws.lambda.EventSourceMapping("worker-source", { eventSourceArn: queue.arn, functionName: fn.arn });
        };
        // The DLQ alarm is the Alarms component's job; this test is about the timeout rule.
        const mandatory = async (program: () => void) => (await violationsOf(program)).filter((v) => v.enforcementLevel === "mandatory" && v.policyName !== "dlq-has-alarm").map((v) => v.policyName);
        expect(await mandatory(consumer(undefined))).to.deep.equal(["lambda-timeout-within-visibility"]);
        expect(await mandatory(consumer(60))).to.deep.equal([]);
    });
});
