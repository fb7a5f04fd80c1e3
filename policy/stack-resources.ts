import type { PolicyResource } from "@pulumi/policy";
import { asArray } from "./documents";

/** ARN of a resource in stack validation (outputs), if it has one. */
export function arnOf(resource: PolicyResource): string | undefined {
    return typeof resource.props.arn === "string" ? resource.props.arn : undefined;
}

export function ofType(resources: PolicyResource[], type: string): PolicyResource[] {
    return resources.filter((resource) => resource.type === type);
}

/**
 * ARNs of every queue that serves as a dead-letter queue: a redrive target, a Lambda or event
 * source on-failure destination, an EventBridge target or SNS subscription DLQ, or tagged so.
 */
export function deadLetterQueueArns(resources: PolicyResource[]): Set<string> {
    const arns = new Set<string>();
    const add = (arn: unknown) => typeof arn === "string" && arns.add(arn);
    const fromRedrive = (policy: unknown) => {
        try {
            add((typeof policy === "string" ? JSON.parse(policy) : policy)?.deadLetterTargetArn);
        } catch {
            // An unparseable redrive policy names no DLQ.
        }
    };
    for (const resource of resources) {
        const props = resource.props;
        switch (resource.type) {
            case "aws:sqs/queue:Queue":
                fromRedrive(props.redrivePolicy);
                if (props.tags?.QueueRole === "dead-letter") {
                    add(props.arn);
                }
                break;
            case "aws:sqs/redrivePolicy:RedrivePolicy":
            case "aws:sns/topicSubscription:TopicSubscription":
                fromRedrive(props.redrivePolicy);
                break;
            case "aws:lambda/eventSourceMapping:EventSourceMapping":
                add(props.destinationConfig?.onFailure?.destinationArn);
                break;
            case "aws:cloudwatch/eventTarget:EventTarget":
                add(props.deadLetterConfig?.arn);
                break;
            case "aws:lambda/function:Function":
                add(props.deadLetterConfig?.targetArn);
                break;
            case "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig":
                add(props.destinationConfig?.onFailure?.destination);
                break;
            case "aws:pipes/pipe:Pipe":
                add(props.sourceParameters?.dynamodbStreamParameters?.deadLetterConfig?.arn);
                add(props.sourceParameters?.kinesisStreamParameters?.deadLetterConfig?.arn);
                break;
        }
    }
    return new Set([...arns].filter((arn) => arn.startsWith("arn:aws") && arn.includes(":sqs:")));
}

/** Resources of a type attached to a bucket (policy, public access block, lifecycle, encryption). */
export function bucketCompanions(resources: PolicyResource[], type: string, bucket: PolicyResource): PolicyResource[] {
    return ofType(resources, type).filter((resource) => resource.props.bucket === bucket.props.bucket);
}

/** The queue a URL or ARN names, if it is in the stack. */
export function findQueue(resources: PolicyResource[], urlOrArn: unknown): PolicyResource | undefined {
    return ofType(resources, "aws:sqs/queue:Queue").find((queue) => queue.props.url === urlOrArn || queue.props.arn === urlOrArn);
}

// Attachments of managed policies, by resource type: where their policy ARNs are.
const ATTACHED_POLICY_ARNS: Record<string, (props: Record<string, any>) => unknown[]> = {
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (props) => [props.policyArn],
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": (props) => [props.policyArn],
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment": (props) => [props.policyArn],
    "aws:iam/policyAttachment:PolicyAttachment": (props) => [props.policyArn],
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": (props) => asArray(props.policyArns),
    "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive": (props) => asArray(props.policyArns),
    "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive": (props) => asArray(props.policyArns),
    "aws:iam/role:Role": (props) => asArray(props.managedPolicyArns),
};

/** ARNs of the managed policies a resource attaches to a role, user or group (none for other resources). */
export function attachedPolicyArns(resource: PolicyResource): string[] {
    return (ATTACHED_POLICY_ARNS[resource.type]?.(resource.props) ?? []).filter((arn): arn is string => typeof arn === "string");
}

export { asArray };
