import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DeadLetterQueue, QUEUE_ROLE_TAG, QueueSender, queueAccessPolicy, queueConsumerStatements, queueEncryption, queueSenderStatements } from "./dead-letter-queue";
import { PolicyStatement } from "./iam";
import { physicalName, standardTags } from "./naming";
import { applyTransform, Transform } from "./transform";

/** Arguments of {@link QueueWithDlq}. */
export interface QueueWithDlqArgs {
    /** Environment name: the last part of both queues' physical names and the `Environment` tag. */
    env: string;
    /** Purpose part of the physical name; the DLQ gets `<purpose>-dlq`. */
    purpose: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Receives before a message moves to the DLQ. @default 3 */
    maxReceiveCount?: number;
    /**
     * Timeout (seconds) of the function that consumes the queue. The visibility timeout becomes at
     * least 6 × this, as AWS recommends for Lambda event sources.
     * @default none: no consumer to size the visibility timeout for
     */
    consumerTimeoutSeconds?: number;
    /** @default 6 × consumerTimeoutSeconds, or 30 without a consumer */
    visibilityTimeoutSeconds?: number;
    /** @default 345600 (4 days) */
    messageRetentionSeconds?: number;
    /** Customer KMS key for both queues. @default none: SQS-managed encryption */
    kmsKeyArn?: pulumi.Input<string>;
    /** Services allowed to send to the main queue. @default none @example [{ service: "sns.amazonaws.com", sourceArns: [topic.arn] }] */
    allowedSenders?: QueueSender[];
    /** Services allowed to send to the DLQ (e.g. EventBridge target DLQs). @default none @example [{ service: "events.amazonaws.com", sourceArns: [rule.arn] }] */
    dlqAllowedSenders?: QueueSender[];
    /** Component tag value. @default "QueueWithDlq" */
    component?: string;
    /** Tags added to the standard ones on both queues. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
    /**
     * Changes to the main queue's and the DLQ's `aws.sqs.Queue` arguments before they are created
     * (see {@link Transform}). @default none
     * @example { queue: { delaySeconds: 5 }, dlq: (args) => { args.tags = { ...args.tags, Team: "mail" }; } }
     */
    transform?: {
        /** The main queue. */
        queue?: Transform<aws.sqs.QueueArgs>;
        /** The dead-letter queue. */
        dlq?: Transform<aws.sqs.QueueArgs>;
    };
}

/** The queue's settings with defaults applied and checked. */
export interface ResolvedQueueSettings {
    /** Receives before a message moves to the DLQ. */
    maxReceiveCount: number;
    /** Visibility timeout (at least 6 × the consumer's timeout). */
    visibilityTimeoutSeconds: number;
    /** How long the main queue keeps a message. */
    messageRetentionSeconds: number;
}

/** Defaults and checks for a queue, as a pure function (table-tested without mocks). */
export function resolveQueueSettings(args: Pick<QueueWithDlqArgs, "maxReceiveCount" | "consumerTimeoutSeconds" | "visibilityTimeoutSeconds" | "messageRetentionSeconds" | "purpose">): ResolvedQueueSettings {
    const maxReceiveCount = args.maxReceiveCount ?? 3;
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
        throw new Error(`Queue "${args.purpose}": maxReceiveCount must be an integer from 1 to 1000 (got ${maxReceiveCount}).`);
    }
    const minimumVisibility = args.consumerTimeoutSeconds !== undefined ? 6 * args.consumerTimeoutSeconds : 0;
    const visibilityTimeoutSeconds = args.visibilityTimeoutSeconds ?? Math.max(minimumVisibility, 30);
    if (visibilityTimeoutSeconds < minimumVisibility) {
        throw new Error(
            `Queue "${args.purpose}": visibilityTimeoutSeconds ${visibilityTimeoutSeconds} is less than 6 × the consumer's timeout ` +
            `(${args.consumerTimeoutSeconds} s); raise it to at least ${minimumVisibility} or leave it unset.`,
        );
    }
    if (visibilityTimeoutSeconds > 43200) {
        throw new Error(`Queue "${args.purpose}": visibility timeout ${visibilityTimeoutSeconds} s exceeds SQS's 12-hour maximum; shorten the consumer's timeout.`);
    }
    return { maxReceiveCount, visibilityTimeoutSeconds, messageRetentionSeconds: args.messageRetentionSeconds ?? 345600 };
}

/** An encrypted, TLS-only queue whose failures land in its own {@link DeadLetterQueue}. */
export class QueueWithDlq extends pulumi.ComponentResource {
    /** The main queue. */
    public readonly queue: aws.sqs.Queue;
    /** Its dead-letter queue. */
    public readonly dlq: DeadLetterQueue;
    /** The main queue's ARN. */
    public readonly arn: pulumi.Output<string>;
    /** The main queue's URL. */
    public readonly url: pulumi.Output<string>;
    /** The main queue's name. */
    public readonly name: pulumi.Output<string>;
    /** The resolved settings. */
    public readonly settings: ResolvedQueueSettings;
    /** Purpose part of its physical name (`email-input`, `gmail-forwarder`, …): the runbooks name its alarms by it. */
    public readonly purpose: string;
    private readonly kmsKeyArn?: pulumi.Input<string>;

    constructor(name: string, args: QueueWithDlqArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:QueueWithDlq", name, {}, opts);
        this.settings = resolveQueueSettings(args);
        this.purpose = args.purpose;
        this.kmsKeyArn = args.kmsKeyArn;
        const component = args.component ?? "QueueWithDlq";

        this.dlq = new DeadLetterQueue(`${name}-dlq`, {
            env: args.env,
            purpose: `${args.purpose}-dlq`,
            namePrefix: args.namePrefix,
            kmsKeyArn: args.kmsKeyArn,
            allowedSenders: args.dlqAllowedSenders,
            component,
            tags: args.tags,
            transform: { queue: args.transform?.dlq },
        }, { parent: this });

        this.queue = new aws.sqs.Queue(name, ...applyTransform(args.transform?.queue, name, {
            name: physicalName("sqsQueue", { purpose: args.purpose, env: args.env, prefix: args.namePrefix }),
            visibilityTimeoutSeconds: this.settings.visibilityTimeoutSeconds,
            messageRetentionSeconds: this.settings.messageRetentionSeconds,
            receiveWaitTimeSeconds: 20,
            redrivePolicy: pulumi.jsonStringify({ deadLetterTargetArn: this.dlq.arn, maxReceiveCount: this.settings.maxReceiveCount }),
            ...queueEncryption(args.kmsKeyArn),
            tags: standardTags(args.env, component, { ...args.tags, [QUEUE_ROLE_TAG]: "main" }),
        }, { parent: this }));

        // Only this queue may use the DLQ, so a misrouted redrive is refused.
        new aws.sqs.RedriveAllowPolicy(`${name}-dlq-redrive-allow`, {
            queueUrl: this.dlq.url,
            redriveAllowPolicy: pulumi.jsonStringify({ redrivePermission: "byQueue", sourceQueueArns: [this.queue.arn] }),
        }, { parent: this });

        new aws.sqs.QueuePolicy(`${name}-policy`, {
            queueUrl: this.queue.url,
            policy: queueAccessPolicy(this.queue.arn, args.allowedSenders),
        }, { parent: this });

        this.arn = this.queue.arn;
        this.url = this.queue.url;
        this.name = this.queue.name;
        this.registerOutputs({ arn: this.arn, url: this.url, dlqArn: this.dlq.arn, dlqUrl: this.dlq.url });
    }

    /** What a consumer of the main queue needs, and nothing more. */
    public consumerStatements(): PolicyStatement[] {
        return queueConsumerStatements(this.queue.arn, this.kmsKeyArn);
    }

    /** What a producer of the main queue needs. */
    public senderStatements(): PolicyStatement[] {
        return queueSenderStatements(this.queue.arn, this.kmsKeyArn);
    }
}
