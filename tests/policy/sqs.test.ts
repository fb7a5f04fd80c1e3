import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { DeadLetterQueue } from "../../components/dead-letter-queue";
import { QueueWithDlq } from "../../components/queue-with-dlq";
import { violationNames } from "../support/policy";

const TOPIC = "arn:aws:sns:us-east-1:123456789012:inbound";

describe("policy: SQS and DLQ alarms", () => {
    it("service principals without a source condition violate; QueueWithDlq's senders pass", async () => {
        expect(await violationNames(() => new aws.sqs.QueuePolicy("open", {
            queueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: "sqs:SendMessage", Resource: "arn:aws:sqs:us-east-1:123456789012:q" }] }),
        }))).to.deep.equal(["resource-policy-service-scoped"]);
        expect(await violationNames(() => new QueueWithDlq("q", { env: "test", purpose: "q", allowedSenders: [{ service: "sns.amazonaws.com", sourceArns: [TOPIC] }] })))
            .to.deep.equal(["dlq-has-alarm"]);
    });

    it("a queue's TLS deny must cover every SQS action on the queue, for everyone, with no other condition", async () => {
        const queueWithDeny = (deny: object) => () => {
            const queue = new aws.sqs.Queue("q", { name: "q", sqsManagedSseEnabled: true, redrivePolicy: JSON.stringify({ deadLetterTargetArn: "arn:aws:sqs:us-east-1:123456789012:elsewhere", maxReceiveCount: 5 }) });
            new aws.sqs.QueuePolicy("q-policy", { queueUrl: queue.url, policy: queue.arn.apply((arn) => JSON.stringify({ Statement: [{ Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: arn, Condition: { Bool: { "aws:SecureTransport": "false" } }, ...deny }] })) });
        };
        expect(await violationNames(queueWithDeny({}))).to.deep.equal([]);
        expect(await violationNames(queueWithDeny({ Action: "*", Resource: "*" }))).to.deep.equal([]);
        expect(await violationNames(queueWithDeny({ Action: ["sqs:SendMessage", "sqs:ReceiveMessage"] }))).to.deep.equal(["sqs-tls-only"]);
        expect(await violationNames(queueWithDeny({ Principal: { AWS: "arn:aws:iam::999999999999:root" } }))).to.deep.equal(["sqs-tls-only"]);
        expect(await violationNames(queueWithDeny({ Resource: "arn:aws:sqs:us-east-1:123456789012:other" }))).to.deep.equal(["sqs-tls-only"]);
        expect(await violationNames(queueWithDeny({ Condition: { Bool: { "aws:SecureTransport": "false" }, StringNotEquals: { "aws:PrincipalAccount": "123456789012" } } }))).to.deep.equal(["sqs-tls-only"]);
    });

    it("a DLQ keeping messages under 7 days violates (the SQS default is 4)", async () => {
        expect(await violationNames(() => {
            const dlq = new aws.sqs.Queue("short-dlq", { name: "short-dlq", sqsManagedSseEnabled: true });
            new aws.sqs.QueuePolicy("short-dlq-policy", { queueUrl: dlq.url, policy: dlq.arn.apply((arn) => JSON.stringify({ Statement: [{ Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: arn, Condition: { Bool: { "aws:SecureTransport": "false" } } }] })) });
            new aws.lambda.EventSourceMapping("stream", { eventSourceArn: "arn:aws:dynamodb:us-east-1:1:table/t/stream/x", functionName: "f", startingPosition: "LATEST", destinationConfig: { onFailure: { destinationArn: dlq.arn } } });
        })).to.deep.equal(["dlq-has-alarm", "sqs-dlq-retention"]);
    });

    it("a DLQ with an alarm on visible messages satisfies the alarm rule (mandatory; config can relax it)", async () => {
        const program = (alarmed: boolean) => () => {
            const dlq = new DeadLetterQueue("failures", { env: "test", purpose: "failures" });
            if (alarmed) {
                new aws.cloudwatch.MetricAlarm("failures-visible", {
                    namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: dlq.name },
                    statistic: "Maximum", period: 60, evaluationPeriods: 1, threshold: 0, comparisonOperator: "GreaterThanThreshold",
                });
            }
        };
        expect(await violationNames(program(true))).to.deep.equal([]);
        const { violationsOf } = await import("../support/policy");
        expect((await violationsOf(program(false))).map((v) => [v.policyName, v.enforcementLevel])).to.deep.equal([["dlq-has-alarm", "mandatory"]]);
        const relaxed = await violationsOf(program(false), { config: { "dlq-has-alarm": "advisory" } });
        expect(relaxed.map((v) => [v.policyName, v.enforcementLevel])).to.deep.equal([["dlq-has-alarm", "advisory"]]);
    });
});
