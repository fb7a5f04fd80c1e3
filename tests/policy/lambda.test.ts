import * as aws from "@pulumi/aws";
import * as crypto from "node:crypto";
import { expect } from "chai";
import fc from "fast-check";
import { allow } from "../../components/iam";
import { LambdaFunction } from "../../components/lambda-function";
import { QueueWithDlq } from "../../components/queue-with-dlq";
import { credentialIn } from "../../policy/secrets";
import { violationNames, violationsOf } from "../support/policy";

const ROLE = "arn:aws:iam::123456789012:role/r";

describe("policy: Lambda", () => {
    it("LambdaFunction passes every rule", async () => {
        expect(await violationNames(() => new LambdaFunction("fn", { code: "suppression-mirror", env: "test", metricsNamespace: "SESMail/test", policyStatements: [] }))).to.deep.equal([]);
    });

    it("a bare function violates tracing and log-group rules", async () => {
        const found = await violationsOf(() => new aws.lambda.Function("bare", { name: "bare", role: ROLE, runtime: "nodejs24.x", handler: "index.handler" }));
        expect(found.map((v) => v.policyName).sort()).to.deep.equal(["lambda-log-group-retention", "lambda-xray-tracing"]);
        expect(found.find((v) => v.policyName === "lambda-log-group-retention")!.message).to.match(/logs to \/aws\/lambda\/bare, which the stack does not create/);
    });

    it("a log group without retention violates", async () => {
        expect(await violationNames(() => {
            const logs = new aws.cloudwatch.LogGroup("logs", { name: "/aws/lambda/f" });
            new aws.lambda.Function("f", { name: "f", role: ROLE, runtime: "nodejs24.x", handler: "index.handler", tracingConfig: { mode: "Active" }, loggingConfig: { logFormat: "JSON", logGroup: logs.name } });
        })).to.deep.equal(["lambda-log-group-retention"]);
    });

    it("plaintext secrets in the environment violate; references to where they are kept do not", async () => {
        const withEnv = (variables: Record<string, string>) => () => new LambdaFunction("fn", { code: "suppression-mirror", env: "test", metricsNamespace: "m", policyStatements: [], environment: variables });
        expect(await violationNames(withEnv({ GMAIL_REFRESH_TOKEN: "1//0abc" }))).to.deep.equal(["lambda-no-plaintext-secrets"]);
        expect(await violationNames(withEnv({ SMTP_PASSWORD: "hunter2" }))).to.deep.equal(["lambda-no-plaintext-secrets"]);
        expect(await violationNames(withEnv({ SOME_SETTING: "AKIAABCDEFGHIJKLMNOP" }))).to.deep.equal(["lambda-no-plaintext-secrets"]);
        expect(await violationNames(withEnv({ REFRESH_TOKEN_PARAMETER: "/ses-mail/test/gmail-forwarder/oauth/refresh-token", KMS_KEY_ARN: "arn:aws:kms:us-east-1:1:key/k" }))).to.deep.equal([]);
        const found = await violationsOf(withEnv({ GOOGLE: JSON.stringify({ client_id: "1.apps.googleusercontent.com", client_secret: "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" }) }));
        expect(found.map((v) => v.message)).to.deep.equal(["Environment variable GOOGLE holds a Google OAuth client secret."]);
    });

    it("credentials are recognised by their shape, whatever the variable is called", () => {
        const shaped: Record<string, string> = {
            "an AWS access key id": "ASIAQ3EGUJZKXM4R2HVT",
            "a private key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
            "a Google OAuth client secret": "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",
            "a Google OAuth refresh token": "1//0gk3Jd9sLq0Zx8VbN2mYt4Rw7PcQa1",
            "a Google OAuth access token": "ya29.a0AfB_byk3Jd9sLq0Zx8VbN2mYt4Rw7PcQa1",
            "a Slack token": "xoxp-2048-1024-k3Jd9sLq0Zx8VbN2mYt4",
            "a GitHub token": "ghp_k3Jd9sLq0Zx8VbN2mYt4Rw7PcQa1k3Jd9sLq",
            "a JSON Web Token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "a URL with a password": "postgres://mail:s3cret-pass@db.internal:5432/mail",
        };
        for (const [what, value] of Object.entries(shaped)) {
            expect(credentialIn(`prefix ${value} suffix`), what).to.equal(what);
        }
    });

    it("random secrets are caught and the stack's kinds of values are not (figures over generated values)", () => {
        // Secrets: what a key generator emits (uniform bytes, base64 / base64url / hex), 24 to 64 bytes.
        const secrets = fc.sample(fc.tuple(fc.integer(), fc.integer({ min: 24, max: 64 }), fc.constantFrom("base64", "base64url", "hex") as fc.Arbitrary<BufferEncoding>), 2000)
            .map(([seed, length, encoding]) => {
                let bytes = Buffer.alloc(0);
                for (let i = 0; bytes.length < length; i++) {
                    bytes = Buffer.concat([bytes, crypto.createHash("sha256").update(`${seed}:${i}`).digest()]);
                }
                return bytes.subarray(0, length).toString(encoding);
            });
        const missed = secrets.filter((secret) => credentialIn(secret) === undefined);
        console.log(`      random secrets missed: ${missed.length} of ${secrets.length}`);
        // About 0.5% of random strings happen to read like words; the pack accepts missing those.
        expect(missed.length / secrets.length).to.be.lessThan(0.015);

        const word = fc.stringMatching(/^[a-z]{2,12}$/);
        const name = fc.array(word, { minLength: 1, maxLength: 6 }).map((words) => words.join("-"));
        const benign = fc.oneof(
            fc.tuple(fc.constantFrom("sqs", "sns", "dynamodb", "lambda", "ses", "states"), name).map(([service, n]) => `arn:aws:${service}:us-east-1:123456789012:${n}`),
            name.map((n) => `https://sqs.us-east-1.amazonaws.com/123456789012/${n}`),
            fc.array(word, { minLength: 1, maxLength: 5 }).map((words) => `/${words.join("/")}`),
            fc.emailAddress(),
            fc.nat().map(String),
            fc.uuid(),
            // CamelCase of real words (a run of 2-letter words, "AbCdEf…", does look random).
            fc.array(fc.stringMatching(/^[a-z]{4,12}$/), { minLength: 1, maxLength: 4 }).map((words) => words.map((w) => w[0].toUpperCase() + w.slice(1)).join("") + "2024"),
        );
        const flagged = fc.sample(benign, 2000).filter((value) => credentialIn(value) !== undefined);
        expect(flagged).to.deep.equal([]);
    });

    it("Lambda permissions: never Principal *, and a service only with a sourceArn of one account (plus sourceAccount for S3)", async () => {
        const permission = (args: Partial<aws.lambda.PermissionArgs>) => () => new aws.lambda.Permission("p", { action: "lambda:InvokeFunction", function: "f", principal: "events.amazonaws.com", ...args });
        expect(await violationNames(permission({ sourceArn: "arn:aws:events:us-east-1:123456789012:rule/sweep" }))).to.deep.equal([]);
        expect(await violationNames(permission({}))).to.deep.equal(["lambda-permission-scoped"]);
        expect(await violationNames(permission({ principal: "*" }))).to.deep.equal(["lambda-permission-scoped"]);
        expect(await violationNames(permission({ sourceArn: "arn:aws-us-gov:events:us-gov-west-1:*:rule/*" }))).to.deep.equal(["lambda-permission-scoped"]);
        // AddPermission (Lambda API Reference): for S3 the source ARN has no account; SourceAccount pins it.
        expect(await violationNames(permission({ principal: "s3.amazonaws.com", sourceArn: "arn:aws:s3:::mail-bucket" }))).to.deep.equal(["lambda-permission-scoped"]);
        expect(await violationNames(permission({ principal: "s3.amazonaws.com", sourceArn: "arn:aws:s3:::mail-bucket", sourceAccount: "123456789012" }))).to.deep.equal([]);
        // Another account or role of this one is named: no source to scope.
        expect(await violationNames(permission({ principal: "arn:aws:iam::123456789012:role/caller" }))).to.deep.equal([]);
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
