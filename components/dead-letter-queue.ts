import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allow, allowServicePrincipal, denyInsecureTransport, policyDocument, PolicyStatement } from "./iam";
import { physicalName, standardTags } from "./naming";
import { DLQ_RETENTION_SECONDS } from "./retention";
import { applyTransform, Transform } from "./transform";

/** An AWS service allowed to send to a queue, only on behalf of the named resources. */
export interface QueueSender {
    /** Service principal, e.g. `sns.amazonaws.com`, `events.amazonaws.com`, `pipes.amazonaws.com`. */
    service: string;
    /** ARNs the service acts for (`aws:SourceArn`): the topic, rule or pipe. */
    sourceArns: pulumi.Input<string>[];
}

/** Tag that marks a queue as a dead-letter queue; the policy pack and alarms read it. */
export const QUEUE_ROLE_TAG = "QueueRole";

export { DLQ_RETENTION_SECONDS } from "./retention";

/**
 * The whole access policy of a queue: deny anything not over TLS, then let each sender's service
 * send on behalf of its sources. One document per queue, because a second `QueuePolicy` would
 * silently replace the first.
 */
export function queueAccessPolicy(queueArn: pulumi.Input<string>, senders: QueueSender[] = []): pulumi.Output<string> {
    return policyDocument([
        denyInsecureTransport("sqs", [queueArn]),
        ...senders.map((sender) => allowServicePrincipal(sender.service, ["sqs:SendMessage"], [queueArn], sender.sourceArns)),
    ]);
}

/** Statements for a consumer (Lambda event source, worker role) of an encrypted queue. */
export function queueConsumerStatements(queueArn: pulumi.Input<string>, kmsKeyArn?: pulumi.Input<string>): PolicyStatement[] {
    return [
        allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"], [queueArn]),
        ...(kmsKeyArn ? [allow(["kms:Decrypt"], [kmsKeyArn])] : []),
    ];
}

/** Statements for a producer of an encrypted queue. */
export function queueSenderStatements(queueArn: pulumi.Input<string>, kmsKeyArn?: pulumi.Input<string>): PolicyStatement[] {
    return [
        allow(["sqs:SendMessage"], [queueArn]),
        ...(kmsKeyArn ? [allow(["kms:GenerateDataKey", "kms:Decrypt"], [kmsKeyArn])] : []),
    ];
}

/** Server-side encryption settings: the customer key when given, else SQS-managed keys. */
export function queueEncryption(kmsKeyArn?: pulumi.Input<string>): Pick<aws.sqs.QueueArgs, "sqsManagedSseEnabled" | "kmsMasterKeyId" | "kmsDataKeyReusePeriodSeconds"> {
    return kmsKeyArn
        ? { kmsMasterKeyId: kmsKeyArn, kmsDataKeyReusePeriodSeconds: 300 }
        : { sqsManagedSseEnabled: true };
}

/** Arguments of {@link DeadLetterQueue}. */
export interface DeadLetterQueueArgs {
    /** Environment name: the last part of the physical name and the `Environment` tag. */
    env: string;
    /** Purpose part of the physical name, e.g. `email-input-dlq`. */
    purpose: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Customer KMS key. @default none: SQS-managed encryption */
    kmsKeyArn?: pulumi.Input<string>;
    /** Services that send here directly (e.g. an EventBridge target DLQ). @default none @example [{ service: "events.amazonaws.com", sourceArns: [rule.arn] }] */
    allowedSenders?: QueueSender[];
    /** Component tag value. @default "DeadLetterQueue" */
    component?: string;
    /** Tags added to the standard ones. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
    /**
     * Changes to the `aws.sqs.Queue`'s arguments before it is created (see {@link Transform}).
     * @default none
     * @example { queue: { messageRetentionSeconds: 604800 } }
     */
    transform?: {
        /** The DLQ itself. */
        queue?: Transform<aws.sqs.QueueArgs>;
    };
}

/** An encrypted, TLS-only queue that keeps failed messages for 14 days. */
export class DeadLetterQueue extends pulumi.ComponentResource {
    /** The queue. */
    public readonly queue: aws.sqs.Queue;
    /** The queue's ARN. */
    public readonly arn: pulumi.Output<string>;
    /** The queue's URL. */
    public readonly url: pulumi.Output<string>;
    /** The queue's name. */
    public readonly name: pulumi.Output<string>;
    /** The customer KMS key it is encrypted with; undefined for SSE-SQS. */
    public readonly kmsKeyArn?: pulumi.Input<string>;

    constructor(name: string, args: DeadLetterQueueArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:DeadLetterQueue", name, {}, opts);
        this.kmsKeyArn = args.kmsKeyArn;
        this.queue = new aws.sqs.Queue(name, ...applyTransform(args.transform?.queue, name, {
            name: physicalName("sqsQueue", { purpose: args.purpose, env: args.env, prefix: args.namePrefix }),
            messageRetentionSeconds: DLQ_RETENTION_SECONDS,
            ...queueEncryption(args.kmsKeyArn),
            tags: standardTags(args.env, args.component ?? "DeadLetterQueue", { ...args.tags, [QUEUE_ROLE_TAG]: "dead-letter" }),
        }, { parent: this }));
        new aws.sqs.QueuePolicy(`${name}-policy`, {
            queueUrl: this.queue.url,
            policy: queueAccessPolicy(this.queue.arn, args.allowedSenders),
        }, { parent: this });
        this.arn = this.queue.arn;
        this.url = this.queue.url;
        this.name = this.queue.name;
        this.registerOutputs({ arn: this.arn, url: this.url });
    }
}
