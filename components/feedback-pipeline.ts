import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_FEEDBACK_SETTINGS, FeedbackSettings } from "../functions/feedback-worker/logic";
import { FEEDBACK_INDEXES } from "../functions/shared/feedback-events";
import { senderCheckPolicyStatements } from "../functions/shared/sender-check";
import { SENDER_STATE_INDEX } from "../functions/shared/sender-reputation";
import { EncryptedTopic } from "./encrypted-topic";
import { GrantOptions, GrantRole, grantRolePolicy } from "./grants";
import { allow, allowPutMetricData, policyDocument, PolicyStatement } from "./iam";
import { componentKey, KEY_SERVICE_USERS, KmsKey, KeyServiceUser } from "./kms-key";
import { LambdaFunction, logAddressEnvironment } from "./lambda-function";
import { MailDomain } from "./mail-domain";
import { globalPhysicalName, physicalName, standardTags } from "./naming";
import { QueueWithDlq } from "./queue-with-dlq";
import { resolveEnv } from "./stack-env";
import { secureTableSettings } from "./table-settings";
import { SuppressionStore } from "./suppression-store";
import { applyTransform, Transform } from "./transform";

/** The event types the configuration set publishes. */
export const FEEDBACK_EVENT_TYPES = ["SEND", "DELIVERY", "BOUNCE", "COMPLAINT", "REJECT", "DELIVERY_DELAY", "RENDERING_FAILURE"];
const IDENTITY_NOTIFICATION_TYPES = ["Bounce", "Complaint", "Delivery"] as const;

/** What SES needs of a key to publish to a topic encrypted with it. */
export const SES_PUBLISHES_ENCRYPTED: KeyServiceUser = KEY_SERVICE_USERS.ses;

/** A Kubernetes ServiceAccount (EKS, IRSA) that consumes the feedback queue instead of the built-in worker. */
export interface ExternalConsumerArgs {
    /** ARN of the cluster's IAM OIDC provider. */
    oidcProviderArn: pulumi.Input<string>;
    /** Kubernetes namespace of the ServiceAccount. */
    namespace: string;
    /** Name of the ServiceAccount the worker's pods run as. */
    serviceAccount: string;
}

/** The children of a FeedbackPipeline a `transform` can change. */
export interface FeedbackPipelineTransform {
    /** The events table (`aws.dynamodb.Table`). */
    eventsTable?: Transform<aws.dynamodb.TableArgs>;
    /** The sender-reputation table. */
    sendersTable?: Transform<aws.dynamodb.TableArgs>;
    /** The feedback queue (`aws.sqs.Queue`). */
    queue?: Transform<aws.sqs.QueueArgs>;
    /** The feedback queue's DLQ. */
    dlq?: Transform<aws.sqs.QueueArgs>;
    /** The topic SES publishes events to (`aws.sns.Topic`). */
    topic?: Transform<aws.sns.TopicArgs>;
    /** The sender-notifications topic. */
    notificationsTopic?: Transform<aws.sns.TopicArgs>;
    /** The built-in worker's `aws.lambda.Function`. */
    workerFunction?: Transform<aws.lambda.FunctionArgs>;
    /** The built-in worker's execution role. */
    workerRole?: Transform<aws.iam.RoleArgs>;
}

/** Arguments of {@link FeedbackPipeline}. */
export interface FeedbackPipelineArgs {
    /**
     * Environment name: the last part of physical names (`ses-mail-feedback-<env>`), the
     * `Environment` tag and the metrics namespace (`SESMail/<env>`).
     * @default the stack name (`pulumi.getStack()`)
     */
    env?: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Region whose IAM role names have no region part (see `globalPhysicalName`). @default every region's names have one */
    homeRegion?: string;
    /** Where suppressions go. */
    suppressionStore: SuppressionStore;
    /** Sending domains: each becomes a MailDomain with this configuration set as its default. @default none */
    domains?: string[];
    /** Route 53 zone for the domains' DNS records. @default none: the records are only outputs */
    hostedZoneId?: pulumi.Input<string>;
    /** Publish a `_dmarc` record with this policy (in `hostedZoneId`, else as an output). @default none published: `dnsRecordsToMerge` suggests one */
    dmarcPolicy?: "none" | "quarantine" | "reject";
    /** Publish the domains' own SPF record (`v=spf1 include:amazonses.com <spfAll>`); SES needs only the MAIL FROM domain's. @default false */
    publishDomainSpf?: boolean;
    /** DMARC aggregate report address (rua). @default none */
    dmarcReportAddress?: string;
    /** @default "~all" */
    spfAll?: "~all" | "-all";
    /** @default "ses-mail-outbound-<env>" */
    configurationSetName?: string;
    /** TLS to recipients' servers. @default "REQUIRE" */
    tlsPolicy?: "REQUIRE" | "OPTIONAL";
    /** Reasons for SES's own suppression at configuration-set level. @default account-level settings */
    sesSuppressedReasons?: ("BOUNCE" | "COMPLAINT")[];
    /** Also wire the older identity notifications (one topic each for Bounce, Complaint, Delivery). @default false */
    identityNotifications?: boolean;
    /** @default 90 */
    eventRetentionDays?: number;
    /** Deletion protection of the events and sender-reputation tables (operator data). @default true */
    deletionProtection?: boolean;
    /** @default 3 */
    transientThreshold?: number;
    /** @default 7 */
    transientWindowDays?: number;
    /** @default 7 */
    transientSuppressionDays?: number;
    /** @default 3 */
    complaintFlagThreshold?: number;
    /** @default 5 */
    complaintRestrictThreshold?: number;
    /** @default 30 */
    complaintWindowDays?: number;
    /** Message tag naming the sender (e.g. `account`). @default none: senders are counted by From address */
    senderTag?: string;
    /** Addresses notified of sender state changes. @default none */
    notificationEmails?: string[];
    /** Run the built-in worker Lambda. @default true */
    builtInWorker?: boolean;
    /** Create an IRSA role for an external (EKS) consumer. @default none */
    externalConsumer?: ExternalConsumerArgs;
    /** Worker timeout in seconds (the queue's visibility timeout is 6 ×). @default 60 */
    workerTimeoutSeconds?: number;
    /** @default 10 */
    workerBatchSize?: number;
    /** @default 30 */
    logRetentionDays?: number;
    /**
     * Log mail addresses as keyed hashes instead of in the clear (see docs/DATA.md). @default false
     */
    hashAddressesInLogs?: boolean;
    /**
     * ARN of the KMS key the topics (feedback, identity notifications, sender notifications) are
     * encrypted with, instead of a key of its own ($1 a key-month): one key per stack shared by its
     * components. Its key policy must let SES use it (`KEY_SERVICE_USERS.ses`, as `stackKmsKey`'s
     * does). The tables keep the AWS-managed key.
     * @default a key of its own, `<name>-key` (`alias/<namePrefix>-feedback-<env>`)
     * @example stackKey.arn
     */
    kmsKeyArn?: pulumi.Input<string>;
    /**
     * With `kmsKeyArn`, while moving a deployed stack onto it: still declare the key this component
     * created before (same URN), retained on delete and unused, so that the deploy without this flag
     * leaves it in AWS instead of scheduling its deletion (docs/OPERATIONS.md, "One KMS key per stack").
     * @default false
     */
    retainOwnKey?: boolean;
    /** Tags added to the standard ones on every taggable child. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
    /**
     * Changes to a child's arguments before it is created: a partial object merged over them, or a
     * function editing them (see `Transform`). The policy pack still checks the result.
     * @default none
     * @example { eventsTable: { tableClass: "STANDARD_INFREQUENT_ACCESS" }, workerFunction: { memorySize: 512 } }
     */
    transform?: FeedbackPipelineTransform;
}

/** The worker's thresholds and retention with every default applied ({@link resolveFeedbackSettings}). */
export type ResolvedFeedbackSettings = Omit<FeedbackSettings, "senderTag">;

/** Threshold defaults (the worker's own, one source) and checks; pure, table-tested. */
export function resolveFeedbackSettings(args: Partial<ResolvedFeedbackSettings>): ResolvedFeedbackSettings {
    const defaults: ResolvedFeedbackSettings = DEFAULT_FEEDBACK_SETTINGS;
    const settings: ResolvedFeedbackSettings = { ...defaults };
    for (const key of Object.keys(defaults) as (keyof ResolvedFeedbackSettings)[]) {
        settings[key] = args[key] ?? defaults[key];
    }
    for (const [key, value] of Object.entries(settings)) {
        if (!Number.isInteger(value) || value < 1) {
            throw new Error(`FeedbackPipeline: ${key} must be a positive whole number (got ${value}).`);
        }
    }
    if (settings.complaintRestrictThreshold <= settings.complaintFlagThreshold) {
        throw new Error(`FeedbackPipeline: complaintRestrictThreshold (${settings.complaintRestrictThreshold}) must be above complaintFlagThreshold (${settings.complaintFlagThreshold}).`);
    }
    return settings;
}

/**
 * Turns every SES bounce, complaint and delivery into suppressions, metrics and stored evidence:
 * configuration set → encrypted SNS → SQS (+ DLQ) → worker, plus the sending domains.
 */
export class FeedbackPipeline extends pulumi.ComponentResource {
    /** The SESv2 configuration set whose events feed the pipeline. */
    public readonly configurationSet: aws.sesv2.ConfigurationSet;
    /** The configuration set's name (`<prefix>-outbound-<env>` unless given). */
    public readonly configurationSetName: pulumi.Output<string>;
    /** One MailDomain per `domains` entry. */
    public readonly mailDomains: MailDomain[];
    /** The component's own key: absent when it was given one (`kmsKeyArn`), unless `retainOwnKey` keeps it declared. */
    public readonly key?: KmsKey;
    /** The key the topics are encrypted with: the one given, or its own. */
    public readonly kmsKeyArn: pulumi.Input<string>;
    /** The event-publishing topic SES writes to. */
    public readonly topic: EncryptedTopic;
    /** Bounce, Complaint and Delivery identity notification topics; empty unless `identityNotifications`. */
    public readonly identityNotificationTopics: EncryptedTopic[];
    /** The feedback queue (and its DLQ) the worker reads. */
    public readonly queue: QueueWithDlq;
    /** Stored feedback events and counters. */
    public readonly eventsTable: aws.dynamodb.Table;
    /** Sender reputation: states, audit records, sending pauses. */
    public readonly sendersTable: aws.dynamodb.Table;
    /** Where sender state changes are announced. */
    public readonly notificationsTopic: EncryptedTopic;
    /** The Lambda worker; absent when `builtInWorker` is false. */
    public readonly worker?: LambdaFunction;
    /** The IRSA role of an external consumer; absent without `externalConsumer`. */
    public readonly externalConsumerRole?: aws.iam.Role;
    /**
     * The environment an external consumer's container needs (`runFeedbackWorker` reads it): the
     * Lambda's variables, the queue URL and region, and the metrics namespace and service the alarms watch.
     */
    public readonly externalConsumerEnvironment?: pulumi.Output<Record<string, string>>;
    /** The resolved thresholds and retention. */
    public readonly settings: ResolvedFeedbackSettings;
    private readonly suppressionStore: SuppressionStore;
    private readonly env: string;

    constructor(name: string, args: FeedbackPipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:FeedbackPipeline", name, {}, opts);
        if (args.externalConsumer && (args.builtInWorker ?? true)) {
            // Two consumers of one queue each process a random half of the notifications.
            throw new Error("FeedbackPipeline: externalConsumer and the built-in worker would both consume the feedback queue. Fix: set builtInWorker (ses-mail:feedback.builtInWorker) to false when an external consumer runs the worker.");
        }
        this.settings = resolveFeedbackSettings(args);
        const env = resolveEnv("FeedbackPipeline", args.env);
        this.env = env;
        this.suppressionStore = args.suppressionStore;
        const transform = args.transform ?? {};
        const prefix = args.namePrefix;
        const tags = standardTags(env, "FeedbackPipeline", args.tags);
        const child = { parent: this };
        const accountId = aws.getCallerIdentityOutput({}, child).accountId;
        const region = aws.getRegionOutput({}, child).region;
        const workerTimeout = args.workerTimeoutSeconds ?? 60;

        const configurationSetName = args.configurationSetName ?? physicalName("sesConfigurationSet", { purpose: "outbound", env, prefix });
        this.configurationSet = new aws.sesv2.ConfigurationSet(`${name}-outbound`, {
            configurationSetName,
            reputationOptions: { reputationMetricsEnabled: true },
            // No sendingOptions: whether the set may send belongs to the emergency brake and operators
            // (SendingGuard, `ses-mail sending`), never to `pulumi up`. SES creates a set enabled, and the
            // provider's sendingOptions is optional and computed, so an absent value keeps whatever SES
            // has (a pause survives); ignoreChanges keeps it so even if someone adds sendingOptions back.
            deliveryOptions: { tlsPolicy: args.tlsPolicy ?? "REQUIRE" },
            suppressionOptions: args.sesSuppressedReasons ? { suppressedReasons: args.sesSuppressedReasons } : undefined,
            tags,
        }, { ...child, ignoreChanges: ["sendingOptions"] });
        this.configurationSetName = this.configurationSet.configurationSetName;

        this.mailDomains = (args.domains ?? []).map((domain) => new MailDomain(`${name}-${domain.replace(/\./g, "-")}`, {
            domain,
            env,
            configurationSetName: this.configurationSetName,
            hostedZoneId: args.hostedZoneId,
            dmarcPolicy: args.dmarcPolicy,
            publishDomainSpf: args.publishDomainSpf,
            dmarcReportAddress: args.dmarcReportAddress,
            spfAll: args.spfAll,
            tags: args.tags,
        }, child));

        // SES can only publish to an encrypted topic whose key policy lets it: a customer key.
        const key = componentKey(`${name}-key`, args.kmsKeyArn, args.retainOwnKey, {
            env, purpose: "feedback", namePrefix: prefix, component: "FeedbackPipeline", tags: args.tags,
            description: `ses-mail feedback topics (${env})`,
            serviceUsers: [SES_PUBLISHES_ENCRYPTED],
        }, child);
        this.key = key.own;
        this.kmsKeyArn = key.arn;

        const identityArns = this.mailDomains.map((d) => d.identityArn);
        const partition = aws.getPartitionOutput({}, child).partition;
        const sesSources = [pulumi.interpolate`arn:${partition}:ses:${region}:${accountId}:configuration-set/${configurationSetName}`, ...identityArns];
        const topic = (suffix: string, purpose: string, sourceArns: pulumi.Input<string>[]) => new EncryptedTopic(`${name}-${suffix}`, {
            env, purpose, namePrefix: prefix, kmsKeyArn: this.kmsKeyArn, component: "FeedbackPipeline", tags: args.tags,
            publishers: sourceArns.length > 0 ? [{ service: "ses.amazonaws.com", sourceArns }] : [],
            transform: { topic: suffix === "topic" ? transform.topic : undefined },
        }, child);
        this.topic = topic("topic", "feedback", sesSources);
        this.identityNotificationTopics = args.identityNotifications
            ? IDENTITY_NOTIFICATION_TYPES.map((type) => topic(`${type.toLowerCase()}-topic`, `feedback-${type.toLowerCase()}`, identityArns))
            : [];
        const feedbackTopics = [this.topic, ...this.identityNotificationTopics];

        this.queue = new QueueWithDlq(`${name}-queue`, {
            env, purpose: "feedback", namePrefix: prefix, component: "FeedbackPipeline", tags: args.tags,
            consumerTimeoutSeconds: workerTimeout,
            allowedSenders: [{ service: "sns.amazonaws.com", sourceArns: feedbackTopics.map((t) => t.arn) }],
            transform: { queue: transform.queue, dlq: transform.dlq },
        }, child);
        feedbackTopics.forEach((t, i) => new aws.sns.TopicSubscription(`${name}-subscription${i === 0 ? "" : `-${IDENTITY_NOTIFICATION_TYPES[i - 1].toLowerCase()}`}`, {
            topic: t.arn,
            protocol: "sqs",
            endpoint: this.queue.arn,
        }, child));

        new aws.sesv2.ConfigurationSetEventDestination(`${name}-destination`, {
            configurationSetName: this.configurationSetName,
            eventDestinationName: "feedback-sns",
            eventDestination: { enabled: true, matchingEventTypes: FEEDBACK_EVENT_TYPES, snsDestination: { topicArn: this.topic.arn } },
        }, { parent: this, dependsOn: [this.topic] });
        this.mailDomains.forEach((domain) => this.identityNotificationTopics.forEach((t, i) => new aws.ses.IdentityNotificationTopic(
            `${name}-${domain.domain.replace(/\./g, "-")}-${IDENTITY_NOTIFICATION_TYPES[i].toLowerCase()}`,
            { identity: domain.identity.emailIdentity, notificationType: IDENTITY_NOTIFICATION_TYPES[i], topicArn: t.arn, includeOriginalHeaders: true },
            { parent: this, dependsOn: [t] },
        )));

        this.eventsTable = new aws.dynamodb.Table(`${name}-events`, ...applyTransform(transform.eventsTable, `${name}-events`, {
            name: physicalName("dynamodbTable", { purpose: "feedback-events", env, prefix }),
            hashKey: "pk",
            rangeKey: "sk",
            attributes: [
                { name: "pk", type: "S" },
                { name: "sk", type: "S" },
                { name: "recipient", type: "S" },
                { name: "type_day", type: "S" },
                { name: "complaint_sender", type: "S" },
                { name: "event_at", type: "N" },
            ],
            globalSecondaryIndexes: [
                { name: "recipient-index", keySchemas: [{ attributeName: "recipient", keyType: "HASH" }, { attributeName: "event_at", keyType: "RANGE" }], projectionType: "ALL" },
                { name: "type-day-index", keySchemas: [{ attributeName: "type_day", keyType: "HASH" }, { attributeName: "event_at", keyType: "RANGE" }], projectionType: "ALL" },
                { name: "complaint-sender-index", keySchemas: [{ attributeName: "complaint_sender", keyType: "HASH" }, { attributeName: "event_at", keyType: "RANGE" }], projectionType: "KEYS_ONLY" },
            ],
            ttl: { attributeName: "expires_at", enabled: true },
            ...secureTableSettings({ deletionProtection: args.deletionProtection }),
            tags,
        }, child));
        this.sendersTable = new aws.dynamodb.Table(`${name}-senders`, ...applyTransform(transform.sendersTable, `${name}-senders`, {
            name: physicalName("dynamodbTable", { purpose: "sender-reputation", env, prefix }),
            hashKey: "pk",
            rangeKey: "sk",
            // The state index lists flagged and restricted senders without a Scan. Adding a GSI (and
            // its key attributes) is an in-place UpdateTable, not a replacement; DynamoDB backfills it
            // from the existing state items.
            attributes: [{ name: "pk", type: "S" }, { name: "sk", type: "S" }, { name: "state", type: "S" }, { name: "sender", type: "S" }],
            globalSecondaryIndexes: [
                { name: SENDER_STATE_INDEX, keySchemas: [{ attributeName: "state", keyType: "HASH" }, { attributeName: "sender", keyType: "RANGE" }], projectionType: "ALL" },
            ],
            ...secureTableSettings({ deletionProtection: args.deletionProtection }),
            tags,
        }, child));

        this.notificationsTopic = new EncryptedTopic(`${name}-notifications`, {
            env, purpose: "sender-notifications", namePrefix: prefix, kmsKeyArn: this.kmsKeyArn, component: "FeedbackPipeline", tags: args.tags,
            emailSubscriptions: args.notificationEmails,
            transform: { topic: transform.notificationsTopic },
        }, child);

        // What the worker needs wherever it runs (the Lambda, or a container: externalConsumerEnvironment).
        const workerEnvironment: Record<string, pulumi.Input<string>> = {
            EVENTS_TABLE_NAME: this.eventsTable.name,
            SENDERS_TABLE_NAME: this.sendersTable.name,
            SUPPRESSION_TABLE_NAME: args.suppressionStore.tableName,
            NOTIFICATIONS_TOPIC_ARN: this.notificationsTopic.arn,
            EVENT_RETENTION_DAYS: String(this.settings.eventRetentionDays),
            TRANSIENT_THRESHOLD: String(this.settings.transientThreshold),
            TRANSIENT_WINDOW_DAYS: String(this.settings.transientWindowDays),
            TRANSIENT_SUPPRESSION_DAYS: String(this.settings.transientSuppressionDays),
            COMPLAINT_FLAG_THRESHOLD: String(this.settings.complaintFlagThreshold),
            COMPLAINT_RESTRICT_THRESHOLD: String(this.settings.complaintRestrictThreshold),
            COMPLAINT_WINDOW_DAYS: String(this.settings.complaintWindowDays),
            ...(args.senderTag ? { SENDER_TAG: args.senderTag } : {}),
        };
        if (args.builtInWorker ?? true) {
            this.worker = new LambdaFunction(`${name}-worker`, {
                code: "feedback-worker",
                env,
                namePrefix: prefix,
                homeRegion: args.homeRegion,
                component: "FeedbackPipeline",
                description: "Turns SES feedback into suppressions, metrics, stored events and sender states",
                metricsNamespace: `SESMail/${env}`,
                timeout: workerTimeout,
                logRetentionDays: args.logRetentionDays,
                hashAddressesInLogs: args.hashAddressesInLogs,
                environment: workerEnvironment,
                policyStatements: [...this.queue.consumerStatements(), ...this.processingStatements(args.suppressionStore)],
                tags: args.tags,
                transform: { function: transform.workerFunction, role: transform.workerRole },
            }, child);
            new aws.lambda.EventSourceMapping(`${name}-worker-source`, {
                eventSourceArn: this.queue.arn,
                functionName: this.worker.arn,
                batchSize: args.workerBatchSize ?? 10,
                maximumBatchingWindowInSeconds: 5,
                functionResponseTypes: ["ReportBatchItemFailures"],
                tags,
            }, child);
        }

        if (args.externalConsumer) {
            this.externalConsumerRole = this.externalConsumer(name, args.externalConsumer, { env, prefix, homeRegion: args.homeRegion, region }, tags);
            this.externalConsumerEnvironment = pulumi.all([workerEnvironment, this.queue.url, region, accountId]).apply(([worker, queueUrl, awsRegion, account]): Record<string, string> => ({
                ...worker,
                FEEDBACK_QUEUE_URL: queueUrl,
                AWS_REGION: awsRegion,
                // The Lambda's metric namespace and `service` dimension: the feedback alarms match them exactly.
                POWERTOOLS_SERVICE_NAME: "feedback-worker",
                POWERTOOLS_METRICS_NAMESPACE: `SESMail/${env}`,
                ...logAddressEnvironment(args.hashAddressesInLogs, account, prefix, env),
            }));
        }

        this.registerOutputs({
            configurationSetName: this.configurationSetName,
            topicArn: this.topic.arn,
            queueUrl: this.queue.url,
            dlqUrl: this.queue.dlq.url,
            eventsTableName: this.eventsTable.name,
            sendersTableName: this.sendersTable.name,
            notificationsTopicArn: this.notificationsTopic.arn,
        });
    }

    /**
     * What an application's role needs for `SenderCheck` (ses-mail/runtime): GetItem of the senders'
     * state items, their key and `state` attributes only.
     */
    public senderCheckStatements(): PolicyStatement[] {
        return senderCheckPolicyStatements<pulumi.Input<string>>(this.sendersTable.arn);
    }

    /**
     * What `runFeedbackWorker` (ses-mail/runtime) calls, run outside Lambda: receive, delete and
     * extend the visibility of the queue's messages (no GetQueueAttributes: it polls a known URL),
     * process them as the Lambda does, and publish its metrics by API to `SESMail/<env>`.
     */
    public consumeStatements(): PolicyStatement[] {
        return [
            ...this.queue.consumerStatements().map((statement) => ({
                ...statement,
                Action: statement.Action.filter((action) => action !== "sqs:GetQueueAttributes"),
            })),
            ...this.processingStatements(this.suppressionStore),
            allowPutMetricData(`SESMail/${this.env}`),
        ];
    }

    /**
     * Lets `role` run the feedback worker outside Lambda (`runFeedbackWorker`): one inline policy
     * `<name>-consume-<role>` with {@link consumeStatements}. Only one consumer should poll the
     * queue: set `builtInWorker: false` for it.
     * @example feedback.grantConsume(workerRole)
     */
    public grantConsume(role: GrantRole, options?: GrantOptions): aws.iam.RolePolicy {
        return grantRolePolicy(this, "consume", role, this.consumeStatements(), options);
    }

    /** What processing a notification takes, wherever the worker runs (Lambda or an external consumer). */
    private processingStatements(suppressionStore: SuppressionStore): PolicyStatement[] {
        return [
            // Records and counters; a counter is created from the records the two indexes show.
            allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [this.eventsTable.arn]),
            allow(["dynamodb:Query"], [FEEDBACK_INDEXES.recipient, FEEDBACK_INDEXES.complaintSender].map((index) => pulumi.interpolate`${this.eventsTable.arn}/index/${index}`)),
            allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"], [this.sendersTable.arn]),
            ...suppressionStore.suppressStatements(),
            ...this.notificationsTopic.publishStatements(),
        ];
    }

    /**
     * An IRSA role for one ServiceAccount with exactly what the worker does: consume the queue
     * (receive, delete, extend visibility), write records, suppressions and sender states, announce
     * sender changes, and publish metrics by API (a pod has no Lambda log-based EMF).
     */
    private externalConsumer(name: string, consumer: ExternalConsumerArgs, naming: { env: string; prefix?: string; homeRegion?: string; region: pulumi.Output<string> }, tags: Record<string, string>): aws.iam.Role {
        // The condition keys are named after the provider's issuer (the ARN without its prefix).
        const trust = pulumi.output(consumer.oidcProviderArn).apply((providerArn) => {
            const issuer = providerArn.replace(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\//, "");
            return policyDocument([{
                Effect: "Allow",
                Principal: { Federated: providerArn },
                Action: ["sts:AssumeRoleWithWebIdentity"],
                Condition: {
                    StringEquals: {
                        [`${issuer}:sub`]: `system:serviceaccount:${consumer.namespace}:${consumer.serviceAccount}`,
                        [`${issuer}:aud`]: "sts.amazonaws.com",
                    },
                },
            }]);
        });
        const role = new aws.iam.Role(`${name}-external-consumer`, {
            name: naming.region.apply((region) => globalPhysicalName("iamRole", { purpose: "feedback-consumer", env: naming.env, prefix: naming.prefix, region, homeRegion: naming.homeRegion })),
            assumeRolePolicy: trust,
            tags,
        }, { parent: this });
        const statements = this.consumeStatements();
        new aws.iam.RolePolicy(`${name}-external-consumer-policy`, { role: role.id, policy: policyDocument(statements) }, { parent: this });
        return role;
    }
}

