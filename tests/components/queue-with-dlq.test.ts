import { expect } from "chai";
import { QueueWithDlq, resolveQueueSettings } from "../../components/queue-with-dlq";
import { MOCK_ACCOUNT, runUnderMocks } from "../support/mocks";

const QUEUE_ARN = `arn:aws:sqs:us-east-1:${MOCK_ACCOUNT}:ses-mail-email-input-test`;
const DLQ_ARN = `arn:aws:sqs:us-east-1:${MOCK_ACCOUNT}:ses-mail-email-input-dlq-test`;
const TOPIC_ARN = `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:inbound`;

describe("QueueWithDlq", () => {
    describe("resolveQueueSettings", () => {
        const cases: [string, Parameters<typeof resolveQueueSettings>[0], Partial<ReturnType<typeof resolveQueueSettings>>][] = [
            ["defaults", { purpose: "q" }, { maxReceiveCount: 3, visibilityTimeoutSeconds: 30, messageRetentionSeconds: 345600 }],
            ["6 × consumer timeout", { purpose: "q", consumerTimeoutSeconds: 60 }, { visibilityTimeoutSeconds: 360 }],
            ["short consumers still get 30 s", { purpose: "q", consumerTimeoutSeconds: 3 }, { visibilityTimeoutSeconds: 30 }],
            ["explicit, above the minimum", { purpose: "q", consumerTimeoutSeconds: 10, visibilityTimeoutSeconds: 900 }, { visibilityTimeoutSeconds: 900 }],
            ["explicit receive count", { purpose: "q", maxReceiveCount: 5 }, { maxReceiveCount: 5 }],
        ];
        for (const [title, input, expected] of cases) {
            it(title, () => expect(resolveQueueSettings(input)).to.deep.include(expected));
        }

        it("refuses a visibility timeout below 6 × the consumer's timeout, naming the fix", () => {
            expect(() => resolveQueueSettings({ purpose: "email-input", consumerTimeoutSeconds: 60, visibilityTimeoutSeconds: 120 }))
                .to.throw(/Queue "email-input": visibilityTimeoutSeconds 120 is less than 6 × the consumer's timeout \(60 s\); raise it to at least 360/);
        });

        it("refuses impossible receive counts and visibility timeouts", () => {
            expect(() => resolveQueueSettings({ purpose: "q", maxReceiveCount: 0 })).to.throw(/maxReceiveCount must be an integer from 1 to 1000/);
            expect(() => resolveQueueSettings({ purpose: "q", consumerTimeoutSeconds: 9000 })).to.throw(/12-hour maximum/);
        });
    });

    it("creates an encrypted queue redriving to a 14-day DLQ after 3 receives", async () => {
        const { plan } = await runUnderMocks(() => new QueueWithDlq("input", { env: "test", purpose: "email-input", consumerTimeoutSeconds: 30 }));
        const queue = plan.one("aws:sqs/queue:Queue", "input");
        const dlq = plan.one("aws:sqs/queue:Queue", "input-dlq");
        expect(queue.parentType).to.equal("ses-mail:index:QueueWithDlq");
        expect(dlq.parentType).to.equal("ses-mail:index:DeadLetterQueue");
        expect(queue.inputs).to.deep.include({ name: "ses-mail-email-input-test", visibilityTimeoutSeconds: 180, sqsManagedSseEnabled: true, receiveWaitTimeSeconds: 20 });
        expect(JSON.parse(queue.inputs.redrivePolicy)).to.deep.equal({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: 3 });
        expect(dlq.inputs).to.deep.include({ name: "ses-mail-email-input-dlq-test", messageRetentionSeconds: 14 * 86400, sqsManagedSseEnabled: true });
        expect(dlq.inputs).not.to.have.property("redrivePolicy");
        expect(queue.inputs.tags.QueueRole).to.equal("main");
        expect(dlq.inputs.tags.QueueRole).to.equal("dead-letter");
        const allow = plan.one("aws:sqs/redriveAllowPolicy:RedriveAllowPolicy");
        expect(JSON.parse(allow.inputs.redriveAllowPolicy)).to.deep.equal({ redrivePermission: "byQueue", sourceQueueArns: [QUEUE_ARN] });
    });

    it("uses the customer KMS key on both queues when given", async () => {
        const key = `arn:aws:kms:us-east-1:${MOCK_ACCOUNT}:key/k`;
        const { plan, result } = await runUnderMocks(() => new QueueWithDlq("input", { env: "test", purpose: "email-input", kmsKeyArn: key }));
        for (const queue of plan.ofType("aws:sqs/queue:Queue")) {
            expect(queue.inputs).to.deep.include({ kmsMasterKeyId: key });
            expect(queue.inputs).not.to.have.property("sqsManagedSseEnabled");
        }
        expect(result.consumerStatements()[1]).to.deep.equal({ Effect: "Allow", Action: ["kms:Decrypt"], Resource: [key] });
    });

    it("denies non-TLS access on both queues and lets only the named service send, scoped by aws:SourceArn", async () => {
        const { plan } = await runUnderMocks(() => new QueueWithDlq("input", {
            env: "test",
            purpose: "email-input",
            allowedSenders: [{ service: "sns.amazonaws.com", sourceArns: [TOPIC_ARN] }],
        }));
        const policies = plan.ofType("aws:sqs/queuePolicy:QueuePolicy");
        expect(policies).to.have.length(2);
        const main = plan.json(plan.one("aws:sqs/queuePolicy:QueuePolicy", "input-policy"), "policy");
        expect(main.Statement).to.deep.equal([
            { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: ["sqs:*"], Resource: [QUEUE_ARN], Condition: { Bool: { "aws:SecureTransport": "false" } } },
            { Effect: "Allow", Principal: { Service: "sns.amazonaws.com" }, Action: ["sqs:SendMessage"], Resource: [QUEUE_ARN], Condition: { ArnEquals: { "aws:SourceArn": [TOPIC_ARN] } } },
        ]);
        const dlq = plan.json(plan.one("aws:sqs/queuePolicy:QueuePolicy", "input-dlq-policy"), "policy");
        expect(dlq.Statement.map((s: { Effect: string }) => s.Effect)).to.deep.equal(["Deny"]);
    });

    it("gives consumers receive/delete/visibility on the main queue only", async () => {
        const { result } = await runUnderMocks(() => new QueueWithDlq("input", { env: "test", purpose: "email-input" }));
        const { promiseOf } = await import("../support/mocks");
        const { output } = await import("@pulumi/pulumi");
        expect(await promiseOf(output(result.consumerStatements()))).to.deep.equal([{
            Effect: "Allow",
            Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
            Resource: [QUEUE_ARN],
        }]);
    });
});
