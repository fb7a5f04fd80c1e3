// The few properties of each resource type worth reading in a plan, as short phrases. Works on a
// PlanResource's JSON inputs. A phrase built from a missing field is left out, never printed as
// `undefined`.
import { isAssetValue, type PlanResource } from "./plan-snapshot";

type Inputs = Record<string, any>;
type Phrase = string | false | null | undefined | 0;

/** `aws:dynamodb/table:Table` → `dynamodb:Table`; `ses-mail:index:MailIngest` → `MailIngest`. */
export function shortType(type: string): string {
    const match = /^([^:]+):([^:]+):([^:]+)$/.exec(type);
    if (!match) return type;
    const [, pkg, module, name] = match;
    if (pkg === "pulumi" || module === "index") return name;
    return `${module.split("/")[0]}:${name}`;
}

/** The name AWS will know the resource by, when the inputs set one. */
export function physicalName(resource: Pick<PlanResource, "type" | "inputs">): string {
    const i = resource.inputs;
    const name = i.name ?? i.bucket ?? i.emailIdentity ?? i.configurationSetName ?? i.ruleSetName ?? i.dashboardName ?? i.eventDestinationName;
    if (resource.type.startsWith("aws:s3/bucket") && resource.type !== "aws:s3/bucket:Bucket" && resource.type !== "aws:s3/bucketV2:BucketV2") {
        return ""; // bucket settings: the bucket is named in the key properties
    }
    if (resource.type === "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes") return "";
    if (resource.type === "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination") return String(i.eventDestinationName ?? "");
    return typeof name === "string" ? name : "";
}

/** The resource's name inside an ARN or queue URL: `arn:aws:sqs:…:q` → `q`, `…:role/r` → `r`. */
export function nameOf(ref: unknown): string | undefined {
    if (typeof ref !== "string" || ref === "") return undefined;
    if (ref.startsWith("https://sqs.")) return ref.split("/").pop();
    const stream = /:table\/([^/]+)\/stream\//.exec(ref);
    if (stream) return `${stream[1]} stream`;
    if (ref.startsWith("arn:")) {
        const resource = ref.split(":").slice(5).join(":");
        const logGroup = /^log-group:(.+?)(:\*)?$/.exec(resource);
        if (logGroup) return logGroup[1];
        return resource.replace(/^(function|stateMachine|rule|table|role|user|event-bus|pipe|key|alias|identity|configuration-set|parameter|log-group):?\/?/, "").split(":")[0];
    }
    return ref;
}

function json(text: unknown): any {
    if (typeof text !== "string") return typeof text === "object" ? text : undefined;
    try {
        return JSON.parse(text);
    } catch {
        return undefined;
    }
}

function list(items: unknown): any[] {
    return Array.isArray(items) ? items : items === undefined || items === null ? [] : [items];
}

function days(seconds: unknown): string | undefined {
    if (typeof seconds !== "number") return undefined;
    return seconds % 86400 === 0 ? `${seconds / 86400} d` : seconds % 3600 === 0 ? `${seconds / 3600} h` : `${seconds} s`;
}

function shorten(text: unknown, max: number): string | undefined {
    if (typeof text !== "string" || text === "") return undefined;
    const flat = text.replace(/\s+/g, " ").trim();
    return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** An event pattern as `path value|value` phrases: `detail-type Email Routing Decision`. */
function patternPhrases(pattern: unknown, path = ""): string[] {
    if (Array.isArray(pattern)) {
        const values = pattern.map((v) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)));
        return [`${path} ${shorten(values.join("|"), 60)}`];
    }
    if (typeof pattern === "object" && pattern !== null) {
        return Object.entries(pattern).flatMap(([key, value]) => patternPhrases(value, path ? `${path}.${key}` : key));
    }
    return pattern === undefined ? [] : [`${path} ${String(pattern)}`];
}

const COMPARISON: Record<string, string> = {
    GreaterThanThreshold: ">",
    GreaterThanOrEqualToThreshold: "≥",
    LessThanThreshold: "<",
    LessThanOrEqualToThreshold: "≤",
    LessThanLowerOrGreaterThanUpperThreshold: "outside band",
    LessThanLowerThreshold: "< band",
    GreaterThanUpperThreshold: "> band",
};

/** Services and accounts a role trusts, from its assume-role policy. */
function trusted(policy: unknown): string | undefined {
    const principals = list(json(policy)?.Statement).flatMap((s: any) => {
        const p = s?.Principal;
        if (typeof p === "string") return [p];
        return [...list(p?.Service), ...list(p?.Federated).map((f: unknown) => `federated ${nameOf(f)}`), ...list(p?.AWS).map((a: unknown) => nameOf(a))];
    });
    return principals.length > 0 ? `trusts ${principals.map((p) => String(p).replace(/\.amazonaws\.com$/, "")).join(", ")}` : undefined;
}

function statements(policy: unknown): string | undefined {
    const all = list(json(policy)?.Statement);
    if (all.length === 0) return undefined;
    const actions = new Set(all.flatMap((s: any) => list(s?.Action)));
    const denies = all.filter((s: any) => s?.Effect === "Deny").length;
    return `${all.length} statement${all.length === 1 ? "" : "s"} (${actions.size} action${actions.size === 1 ? "" : "s"}${denies > 0 ? `, ${denies} deny` : ""})`;
}

function alarmCondition(i: Inputs): Phrase[] {
    const op = COMPARISON[i.comparisonOperator] ?? i.comparisonOperator;
    const result = list(i.metricQueries).find((q: any) => q?.returnData) ?? list(i.metricQueries)[0];
    const what = i.metricName ?? (result?.expression ? `expr ${shorten(result.expression, 48)}` : result?.metric?.metricName);
    const period = i.period ?? result?.metric?.period ?? list(i.metricQueries).find((q: any) => q?.metric?.period)?.metric?.period;
    return [
        what && op !== undefined && i.threshold !== undefined && `${what} ${op} ${i.threshold}`,
        period !== undefined && i.evaluationPeriods !== undefined && `${i.statistic ? `${i.statistic} ` : ""}${days(period)} × ${i.evaluationPeriods}`,
        i.treatMissingData && `missing data ${i.treatMissingData}`,
    ];
}

function eventSource(i: Inputs): Phrase[] {
    const stream = typeof i.eventSourceArn === "string" && i.eventSourceArn.includes(":dynamodb:") || i.eventSourceArn?.includes?.(":kinesis:");
    return [
        nameOf(i.eventSourceArn) && `from ${nameOf(i.eventSourceArn)}`,
        i.batchSize !== undefined && `batch ${i.batchSize}`,
        i.maximumBatchingWindowInSeconds !== undefined && `window ${i.maximumBatchingWindowInSeconds} s`,
        i.scalingConfig?.maximumConcurrency !== undefined && `max concurrency ${i.scalingConfig.maximumConcurrency}`,
        stream && i.startingPosition && `from ${i.startingPosition}`,
        stream && i.maximumRetryAttempts !== undefined && `retries ${i.maximumRetryAttempts}`,
        stream && i.bisectBatchOnFunctionError && "bisect on error",
        nameOf(i.destinationConfig?.onFailure?.destinationArn) && `on failure → ${nameOf(i.destinationConfig.onFailure.destinationArn)}`,
        list(i.functionResponseTypes).includes("ReportBatchItemFailures") && "partial batch failures",
        list(i.filterCriteria?.filters).length > 0 && `${list(i.filterCriteria.filters).length} filter`,
    ];
}

const SUMMARIES: Record<string, (i: Inputs) => Phrase[]> = {
    "aws:dynamodb/table:Table": (i) => [
        i.billingMode,
        i.hashKey && `key ${i.hashKey}${i.rangeKey ? `+${i.rangeKey}` : ""}`,
        ...list(i.globalSecondaryIndexes).map((g: any) => g?.name && `GSI ${g.name}`),
        i.ttl?.enabled ? i.ttl.attributeName && `TTL ${i.ttl.attributeName}` : "no TTL",
        i.pointInTimeRecovery?.enabled ? "PITR" : "no PITR",
        i.serverSideEncryption?.kmsKeyArn ? "SSE customer key" : "SSE aws/dynamodb",
        i.streamEnabled && `stream ${i.streamViewType ?? ""}`.trim(),
        i.deletionProtectionEnabled && "deletion-protected",
    ],
    "aws:lambda/function:Function": (i) => [
        i.runtime && `${i.runtime}${list(i.architectures).length ? ` ${list(i.architectures).join(",")}` : ""}`,
        i.memorySize !== undefined && `${i.memorySize} MB`,
        i.timeout !== undefined && `${i.timeout} s`,
        i.reservedConcurrentExecutions !== undefined && i.reservedConcurrentExecutions >= 0 && `reserved ${i.reservedConcurrentExecutions}`,
        i.tracingConfig?.mode && `tracing ${i.tracingConfig.mode}`,
        isAssetValue(i.code) && `bundle ${Math.round(i.code.bytes / 1024)} KiB #${i.code.sha256.slice(0, 8)}`,
        i.environment?.variables?.POWERTOOLS_SERVICE_NAME && `service ${i.environment.variables.POWERTOOLS_SERVICE_NAME}`,
    ],
    "aws:sqs/queue:Queue": (i) => [
        days(i.messageRetentionSeconds) && `retention ${days(i.messageRetentionSeconds)}`,
        i.visibilityTimeoutSeconds !== undefined && `visibility ${i.visibilityTimeoutSeconds} s`,
        json(i.redrivePolicy)?.maxReceiveCount !== undefined &&
            `DLQ ${nameOf(json(i.redrivePolicy).deadLetterTargetArn) ?? ""} after ${json(i.redrivePolicy).maxReceiveCount} receives`.replace("  ", " "),
        i.fifoQueue && "FIFO",
        i.kmsMasterKeyId ? "SSE-KMS" : i.sqsManagedSseEnabled ? "SSE-SQS" : "UNENCRYPTED",
    ],
    "aws:sqs/queuePolicy:QueuePolicy": (i) => [nameOf(i.queueUrl) && `on ${nameOf(i.queueUrl)}`, statements(i.policy)],
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": (i) => {
        const policy = json(i.redriveAllowPolicy);
        return [nameOf(i.queueUrl) && `on ${nameOf(i.queueUrl)}`, policy?.redrivePermission, ...list(policy?.sourceQueueArns).map((arn: unknown) => nameOf(arn) && `from ${nameOf(arn)}`)];
    },
    "aws:cloudwatch/logGroup:LogGroup": (i) => [i.retentionInDays !== undefined ? `retention ${i.retentionInDays} d` : "retention never expires", i.kmsKeyId && "KMS"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": (i) => [...alarmCondition(i), i.tags?.Tier],
    "aws:cloudwatch/eventRule:EventRule": (i) => {
        const pattern = json(i.eventPattern);
        return [
            i.scheduleExpression,
            ...patternPhrases(pattern),
            i.eventBusName && `on bus ${i.eventBusName}`,
        ];
    },
    "aws:cloudwatch/eventTarget:EventTarget": (i) => [
        i.rule && `rule ${i.rule}`,
        nameOf(i.arn) && `→ ${nameOf(i.arn)}`,
        i.retryPolicy?.maximumRetryAttempts !== undefined && `retries ${i.retryPolicy.maximumRetryAttempts}`,
        nameOf(i.deadLetterConfig?.arn) && `DLQ ${nameOf(i.deadLetterConfig.arn)}`,
    ],
    "aws:cloudwatch/eventBus:EventBus": () => [],
    "aws:cloudwatch/queryDefinition:QueryDefinition": (i) => [list(i.logGroupNames).length > 0 && `${list(i.logGroupNames).length} log group${list(i.logGroupNames).length === 1 ? "" : "s"}`],
    "aws:cloudwatch/dashboard:Dashboard": (i) => [list(json(i.dashboardBody)?.widgets).length > 0 && `${list(json(i.dashboardBody).widgets).length} widgets`],
    "aws:scheduler/schedule:Schedule": (i) => [i.scheduleExpression, nameOf(i.target?.arn) && `→ ${nameOf(i.target.arn)}`],
    "aws:sfn/stateMachine:StateMachine": (i) => [
        i.type ?? "STANDARD",
        json(i.definition) && (json(i.definition).QueryLanguage ?? "JSONPath"),
        json(i.definition)?.States && `${Object.keys(json(i.definition).States).length} states`,
        `tracing ${i.tracingConfiguration?.enabled ? "on" : "off"}`,
        i.loggingConfiguration?.level && `logs ${i.loggingConfiguration.level}`,
    ],
    "aws:lambda/eventSourceMapping:EventSourceMapping": eventSource,
    "aws:lambda/permission:Permission": (i) => [i.principal && `${String(i.principal).replace(/\.amazonaws\.com$/, "")} may ${String(i.action ?? "").replace(/^lambda:/, "")}`, nameOf(i.function) && `on ${nameOf(i.function)}`],
    "aws:iam/role:Role": (i) => [trusted(i.assumeRolePolicy)],
    "aws:iam/rolePolicy:RolePolicy": (i) => [nameOf(i.role) && `on ${nameOf(i.role)}`, statements(i.policy)],
    "aws:iam/user:User": (i) => [i.path && `path ${i.path}`],
    "aws:sns/topic:Topic": (i) => [i.kmsMasterKeyId ? "SSE-KMS" : "UNENCRYPTED", i.fifoTopic && "FIFO"],
    "aws:sns/topicPolicy:TopicPolicy": (i) => [nameOf(i.arn) && `on ${nameOf(i.arn)}`, statements(i.policy)],
    "aws:sns/topicSubscription:TopicSubscription": (i) => [nameOf(i.topic) && `${nameOf(i.topic)} → ${i.protocol ?? ""} ${nameOf(i.endpoint) ?? ""}`.trim()],
    "aws:kms/key:Key": (i) => [
        `rotation ${i.enableKeyRotation ? "on" : "off"}`,
        i.deletionWindowInDays !== undefined && `deletion window ${i.deletionWindowInDays} d`,
        shorten(i.description, 50),
    ],
    "aws:kms/alias:Alias": (i) => [nameOf(i.targetKeyId) && `→ key of ${String(nameOf(i.targetKeyId)).replace(/-key-id$/, "")}`],
    "aws:s3/bucket:Bucket": (i) => [i.forceDestroy && "force-destroy", i.objectLockEnabled && "object lock"],
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": (i) => [i.bucket && `on ${i.bucket}`, i.rule?.objectOwnership],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (i) => {
        const flags = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].filter((f) => i[f]);
        return [i.bucket && `on ${i.bucket}`, flags.length === 4 ? "all public access blocked" : `${flags.length} of 4 public access blocks`];
    },
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (i) => [
        i.bucket && `on ${i.bucket}`,
        ...list(i.rules).map((r: any) => r?.applyServerSideEncryptionByDefault?.sseAlgorithm),
    ],
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (i) => [
        i.bucket && `on ${i.bucket}`,
        ...list(i.rules).map((r: any) => r?.id && `${r.id}${r?.expiration?.days !== undefined ? ` after ${r.expiration.days} d` : ""}${r?.status && r.status !== "Enabled" ? ` (${r.status})` : ""}`),
    ],
    "aws:s3/bucketPolicy:BucketPolicy": (i) => [i.bucket && `on ${i.bucket}`, statements(i.policy)],
    "aws:ses/receiptRuleSet:ReceiptRuleSet": () => [],
    "aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet": () => ["active rule set"],
    "aws:ses/receiptRule:ReceiptRule": (i) => [
        list(i.recipients).length > 0 && `for ${list(i.recipients).join(", ")}`,
        i.scanEnabled ? "scan" : "no scan",
        i.tlsPolicy && `TLS ${i.tlsPolicy}`,
        ...list(i.s3Actions).map((a: any) => a?.bucketName && `→ s3://${a.bucketName}/${a.objectKeyPrefix ?? ""}`),
    ],
    "aws:ses/identityNotificationTopic:IdentityNotificationTopic": (i) => [i.notificationType && i.identity && `${i.notificationType} of ${i.identity}`, nameOf(i.topicArn) && `→ ${nameOf(i.topicArn)}`],
    "aws:sesv2/configurationSet:ConfigurationSet": (i) => [
        i.deliveryOptions?.tlsPolicy && `TLS ${i.deliveryOptions.tlsPolicy}`,
        i.reputationOptions?.reputationMetricsEnabled && "reputation metrics",
        i.sendingOptions?.sendingEnabled === false && "sending disabled",
        list(i.suppressionOptions?.suppressedReasons).length > 0 && `suppresses ${list(i.suppressionOptions.suppressedReasons).join("+")}`,
    ],
    "aws:sesv2/emailIdentity:EmailIdentity": (i) => [
        i.dkimSigningAttributes?.nextSigningKeyLength && `DKIM ${i.dkimSigningAttributes.nextSigningKeyLength}`,
        i.configurationSetName && `config set ${i.configurationSetName}`,
    ],
    "aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes": (i) => [
        i.mailFromDomain && `MAIL FROM ${i.mailFromDomain}`,
        i.behaviorOnMxFailure && `MX failure ${i.behaviorOnMxFailure}`,
    ],
    "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination": (i) => [
        list(i.eventDestination?.matchingEventTypes).length > 0 && `${list(i.eventDestination.matchingEventTypes).length} event types`,
        nameOf(i.eventDestination?.snsDestination?.topicArn) && `→ ${nameOf(i.eventDestination.snsDestination.topicArn)}`,
    ],
    "aws:ssm/document:Document": (i) => [i.documentType, i.documentFormat],
    "aws:ssm/parameter:Parameter": (i) => [i.type, i.tier],
    "aws:pipes/pipe:Pipe": (i) => [
        nameOf(i.source) && `${nameOf(i.source)}${nameOf(i.enrichment) ? ` → ${nameOf(i.enrichment)}` : ""}${nameOf(i.target) ? ` → ${nameOf(i.target)}` : ""}`,
        i.sourceParameters?.sqsQueueParameters?.batchSize !== undefined && `batch ${i.sourceParameters.sqsQueueParameters.batchSize}`,
        i.logConfiguration?.level && `logs ${i.logConfiguration.level}`,
    ],
    "aws:route53/record:Record": (i) => [i.type, list(i.records).length > 0 && shorten(list(i.records).join(" "), 50)],
};

const MISSING = /\bundefined\b|\bnull\b|\[object Object\]|\bNaN\b/;

/** Short phrases for the resource (empty when the type has none worth showing). */
export function keyProperties(resource: Pick<PlanResource, "type" | "inputs">): string[] {
    const summarize = SUMMARIES[resource.type];
    if (!summarize) return [];
    let phrases: Phrase[];
    try {
        phrases = summarize(resource.inputs ?? {});
    } catch {
        return []; // inputs of an unexpected shape: better no phrase than a wrong one
    }
    return phrases.filter((p): p is string => typeof p === "string" && p.trim() !== "" && !MISSING.test(p));
}
