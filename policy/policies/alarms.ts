import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { deadLetterQueueArns, ofType } from "../stack-resources";

/** Queue names that some alarm watches through ApproximateNumberOfMessagesVisible. */
function watchedQueueNames(resources: PolicyResource[]): Set<string> {
    const names = new Set<string>();
    for (const alarm of ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm")) {
        const metrics = [alarm.props, ...(alarm.props.metricQueries ?? []).map((q: any) => q.metric ?? {})];
        for (const metric of metrics) {
            if (metric.namespace === "AWS/SQS" && metric.metricName === "ApproximateNumberOfMessagesVisible" && metric.dimensions?.QueueName) {
                names.add(metric.dimensions.QueueName);
            }
        }
    }
    return names;
}

export const dlqHasAlarm: StackValidationPolicy = {
    name: "dlq-has-alarm",
    description: "Every dead-letter queue has an alarm on visible messages, so failures are noticed.",
    severity: "high",
    // Mandatory since the Alarms component watches every DLQ of the stacks.
    enforcementLevel: "mandatory",
    remediationSteps: "Add an alarm on AWS/SQS ApproximateNumberOfMessagesVisible > 0 for the DLQ (the Alarms component does this for every queue handed in).",
    validateStack: (args, reportViolation) => {
        const dlqs = deadLetterQueueArns(args.resources);
        const watched = watchedQueueNames(args.resources);
        for (const queue of ofType(args.resources, "aws:sqs/queue:Queue").filter((q) => dlqs.has(q.props.arn))) {
            if (!watched.has(queue.props.name)) {
                reportViolation(`DLQ ${queue.props.name} has no alarm on ApproximateNumberOfMessagesVisible.`, queue.urn);
            }
        }
    },
};
