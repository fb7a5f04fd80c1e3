import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allow, allowServicePrincipal, denyInsecureTransport, policyDocument, PolicyStatement } from "./iam";
import { componentKey, KEY_SERVICE_USERS } from "./kms-key";
import { physicalName, standardTags } from "./naming";
import { applyTransform, Transform } from "./transform";

/** An AWS service allowed to publish, only on behalf of the named resources. */
export interface TopicPublisher {
    /** e.g. `ses.amazonaws.com`, `cloudwatch.amazonaws.com`. */
    service: string;
    /** `aws:SourceArn` values (exact): the configuration set, identities or alarms that publish. */
    sourceArns: pulumi.Input<string>[];
}

/** Arguments of {@link EncryptedTopic}. */
export interface EncryptedTopicArgs {
    /** Environment name: the last part of the physical name and the `Environment` tag. */
    env: string;
    /** Purpose part of the physical name (`<prefix>-<purpose>-<env>`). */
    purpose: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** KMS key the topic is encrypted with. */
    kmsKeyArn: pulumi.Input<string>;
    /** Services allowed to publish. @default none (only IAM principals of this account) @example [{ service: "ses.amazonaws.com", sourceArns: [configurationSetArn] }] */
    publishers?: TopicPublisher[];
    /** Email addresses to subscribe (each must confirm). @default none */
    emailSubscriptions?: string[];
    /** HTTPS endpoints to subscribe (e.g. a paging service). @default none */
    httpsSubscriptions?: string[];
    /** Component tag value. @default "EncryptedTopic" */
    component?: string;
    /** Tags added to the standard ones. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
    /**
     * Changes to the `aws.sns.Topic`'s arguments before it is created (see {@link Transform}).
     * @default none
     * @example { topic: { displayName: "Mail alerts" } }
     */
    transform?: {
        /** The topic. */
        topic?: Transform<aws.sns.TopicArgs>;
    };
}

/** A KMS-encrypted SNS topic whose policy denies non-TLS access and scopes service publishers. */
export class EncryptedTopic extends pulumi.ComponentResource {
    /** The topic. */
    public readonly topic: aws.sns.Topic;
    /** The topic's ARN. */
    public readonly arn: pulumi.Output<string>;
    /** The topic's name. */
    public readonly name: pulumi.Output<string>;
    /** The key the topic is encrypted with: a publisher needs kms:GenerateDataKey on it. */
    public readonly kmsKeyArn: pulumi.Input<string>;

    constructor(name: string, args: EncryptedTopicArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:EncryptedTopic", name, {}, opts);
        this.kmsKeyArn = args.kmsKeyArn;
        this.topic = new aws.sns.Topic(name, ...applyTransform(args.transform?.topic, name, {
            name: physicalName("snsTopic", { purpose: args.purpose, env: args.env, prefix: args.namePrefix }),
            kmsMasterKeyId: args.kmsKeyArn,
            tags: standardTags(args.env, args.component ?? "EncryptedTopic", args.tags),
        }, { parent: this }));
        new aws.sns.TopicPolicy(`${name}-policy`, {
            arn: this.topic.arn,
            policy: policyDocument([
                denyInsecureTransport("sns", [this.topic.arn]),
                ...(args.publishers ?? []).map((p) => allowServicePrincipal(p.service, ["sns:Publish"], [this.topic.arn], p.sourceArns)),
            ]),
        }, { parent: this });
        const subscribe = (protocol: "email" | "https", endpoints: string[] = []) => endpoints.forEach((endpoint, i) =>
            new aws.sns.TopicSubscription(`${name}-${protocol}-${i}`, { topic: this.topic.arn, protocol, endpoint }, { parent: this }));
        subscribe("email", args.emailSubscriptions);
        subscribe("https", args.httpsSubscriptions);
        this.arn = this.topic.arn;
        this.name = this.topic.name;
        this.registerOutputs({ arn: this.arn });
    }

    /** What a publisher needs: sns:Publish here and the key to encrypt with. */
    public publishStatements(): PolicyStatement[] {
        return [
            allow(["sns:Publish"], [this.topic.arn]),
            allow(["kms:GenerateDataKey", "kms:Decrypt"], [this.kmsKeyArn]),
        ];
    }
}

/** Arguments of `alarmTopic`: an encrypted topic CloudWatch may publish to, with its subscriptions. */
export interface AlarmTopicArgs {
    /** Environment name. */
    env: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Purpose part of the topic's name. */
    purpose: string;
    /** What the topic carries (the KMS key's description). */
    description: string;
    /**
     * The alarms that may publish, by exact name: this stack's own, never another stack's in the
     * same account (a name pattern would let a test alarm page prod's operators, or the reverse).
     */
    alarmNames: string[];
    /** Addresses subscribed by email (each confirms once). @default none */
    emailSubscriptions?: string[];
    /** HTTPS endpoints subscribed. @default none */
    httpsSubscriptions?: string[];
    /** The `Component` tag. */
    component: string;
    /** Extra tags. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
    /** A key to encrypt the topic with instead of `<name>-key` (its policy must let CloudWatch use it). @default a key of its own */
    kmsKeyArn?: pulumi.Input<string>;
    /** With `kmsKeyArn`: keep `<name>-key` declared, retained on delete and unused (see `componentKey`). @default false */
    retainOwnKey?: boolean;
}

/**
 * A topic CloudWatch alarms publish to: encrypted with a key of its own that CloudWatch may use
 * (it cannot publish to a topic under the AWS-managed key), publishers limited to the named alarms
 * of this account and region. Creates `<name>-topic`, and `<name>-key` unless it is given one.
 */
export function alarmTopic(name: string, args: AlarmTopicArgs, parent: pulumi.Resource): EncryptedTopic {
    const accountId = aws.getCallerIdentityOutput({}, { parent }).accountId;
    const region = aws.getRegionOutput({}, { parent }).region;
    const partition = aws.getPartitionOutput({}, { parent }).partition;
    const common = { env: args.env, namePrefix: args.namePrefix, component: args.component, tags: args.tags };
    const key = componentKey(`${name}-key`, args.kmsKeyArn, args.retainOwnKey, {
        ...common, purpose: args.purpose, description: args.description,
        serviceUsers: [KEY_SERVICE_USERS.cloudwatch],
    }, { parent });
    return new EncryptedTopic(`${name}-topic`, {
        ...common, purpose: args.purpose, kmsKeyArn: key.arn,
        publishers: [{ service: "cloudwatch.amazonaws.com", sourceArns: args.alarmNames.map((alarm) => pulumi.interpolate`arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${alarm}`) }],
        emailSubscriptions: args.emailSubscriptions,
        httpsSubscriptions: args.httpsSubscriptions,
    }, { parent });
}
