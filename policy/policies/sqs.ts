import type { StackValidationPolicy } from "@pulumi/policy";
import { deniesInsecureTransport, statementsOf } from "../documents";
import { deadLetterQueueArns, findQueue, ofType } from "../stack-resources";

const SQS_DEFAULT_RETENTION_SECONDS = 345600;

export const sqsRedriveToDlq: StackValidationPolicy = {
    name: "sqs-redrive-to-dlq",
    description: "Every SQS queue that is not itself a dead-letter queue redrives to a DLQ.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Use QueueWithDlq, or set redrivePolicy { deadLetterTargetArn, maxReceiveCount } on the queue.",
    validateStack: (args, reportViolation) => {
        const dlqs = deadLetterQueueArns(args.resources);
        for (const queue of ofType(args.resources, "aws:sqs/queue:Queue")) {
            const redriven = Boolean(queue.props.redrivePolicy) || ofType(args.resources, "aws:sqs/redrivePolicy:RedrivePolicy").some((r) => r.props.queueUrl === queue.props.url);
            if (!dlqs.has(queue.props.arn) && !redriven) {
                reportViolation(`Queue ${queue.props.name} has no dead-letter queue: failed messages would be retried until they expire.`, queue.urn);
            }
        }
    },
};

export const sqsDlqRetention: StackValidationPolicy = {
    name: "sqs-dlq-retention",
    description: "Dead-letter queues keep messages for at least 7 days.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Set messageRetentionSeconds to at least 604800 (DeadLetterQueue uses 14 days).",
    configSchema: { properties: { minimumDays: { type: "number", default: 7 } } },
    validateStack: (args, reportViolation) => {
        const { minimumDays } = args.getConfig<{ minimumDays: number }>();
        const dlqs = deadLetterQueueArns(args.resources);
        for (const queue of ofType(args.resources, "aws:sqs/queue:Queue").filter((q) => dlqs.has(q.props.arn))) {
            const retention = queue.props.messageRetentionSeconds ?? SQS_DEFAULT_RETENTION_SECONDS;
            if (retention < minimumDays * 86400) {
                reportViolation(`DLQ ${queue.props.name} keeps messages ${retention / 86400} days; at least ${minimumDays} needed to investigate and redrive.`, queue.urn);
            }
        }
    },
};

export const sqsTlsOnly: StackValidationPolicy = {
    name: "sqs-tls-only",
    description: "Every SQS queue has a policy denying everyone every SQS action on it when the request is not made over TLS.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Attach a QueuePolicy with Deny, Principal *, Action sqs:*, Resource the queue ARN, Condition Bool aws:SecureTransport false (QueueWithDlq does).",
    validateStack: (args, reportViolation) => {
        const policies = ofType(args.resources, "aws:sqs/queuePolicy:QueuePolicy");
        for (const queue of ofType(args.resources, "aws:sqs/queue:Queue")) {
            const inline = statementsOf(queue.props.policy);
            const attached = policies.filter((p) => findQueue(args.resources, p.props.queueUrl) === queue).flatMap((p) => statementsOf(p.props.policy));
            const denies = [...inline, ...attached].some((statement) => deniesInsecureTransport(statement, "sqs", [queue.props.arn]));
            if (!denies) {
                reportViolation(`Queue ${queue.props.name} accepts requests without TLS: add a deny of sqs:* on aws:SecureTransport false.`, queue.urn);
            }
        }
    },
};
