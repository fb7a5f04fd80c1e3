import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { sendingPartitionKey } from "../functions/shared/sending-control";
import { DEFAULT_QUOTA_THRESHOLDS, QUOTA_METRICS } from "../functions/shared/send-quota";
import { AlarmSpec, DEFAULT_RATE_ALARMS, MetricRef, resourceAlarmSpecs } from "./alarm-specs";
import { metricAlarm } from "./alarms";
import { DeadLetterQueue, queueSenderStatements } from "./dead-letter-queue";
import { allow, allowOnAnyResource, allowPutMetricData, assumeRolePolicy, policyDocument, PolicyStatement } from "./iam";
import { LambdaFunction } from "./lambda-function";
import { DEFAULT_PREFIX, globalPhysicalName, physicalName, standardTags } from "./naming";

/** Arguments of {@link SendingGuard}. */
export interface SendingGuardArgs {
    /** Environment name: the last part of physical names and alarm names, and the metrics namespace `SESMail/<env>`. */
    env: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Region whose IAM role names have no region part (see `globalPhysicalName`). @default every region's names have one */
    homeRegion?: string;
    /** The configuration set the brake pauses (FeedbackPipeline's). */
    configurationSetName: pulumi.Input<string>;
    /** FeedbackPipeline's senders table, where pauses and resumes are recorded (`SENDING#<set>` items). */
    sendersTableName: pulumi.Input<string>;
    /** ARN of the same senders table (the brake may write only its `SENDING#` items). */
    sendersTableArn: pulumi.Input<string>;
    /** Alarms notify this topic; the brake tells it why it paused sending. */
    alarmTopicArn: pulumi.Input<string>;
    /** The topic's KMS key, so the brake may publish to it. @default none (an unencrypted or AWS-managed-key topic) */
    alarmTopicKmsKeyArn?: pulumi.Input<string>;
    /** Pause sending when a brake alarm fires. @default true */
    brake?: boolean;
    /** Bounce rate (%) that stops sending: the runbook's emergency level. @default 10 */
    brakeBounceRatePercent?: number;
    /** Complaint rate (%) that stops sending: where SES itself may pause the account. @default 0.5 */
    brakeComplaintRatePercent?: number;
    /** The brake looks at a window only when it has at least this many sends. @default 100 */
    brakeMinimumSends?: number;
    /** @default 3600 */
    brakePeriodSeconds?: number;
    /** What the announcement tells operators to run. @default `npx ses-mail sending resume --env <env> --reason "<why>"` */
    resumeCommand?: string;
    /** Check the account's send quota on a schedule. @default true */
    quotaCheck?: boolean;
    /** @default 70 */
    quotaWarningPercent?: number;
    /** @default 90 */
    quotaCriticalPercent?: number;
    /** @default "rate(10 minutes)" */
    quotaScheduleExpression?: string;
    /** Create the quota's WARNING-tier alarm; the CRITICAL one always exists. @default true */
    warnings?: boolean;
    /** @default 30 */
    logRetentionDays?: number;
    /** Log mail addresses as keyed hashes (see docs/DATA.md). @default false */
    hashAddressesInLogs?: boolean;
    /** Tags added to the standard ones (`Environment`, `Service`, `Component`) on every taggable child. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
}

/** {@link SendingGuardArgs} with every default applied and checked ({@link resolveSendingGuardSettings}). */
export interface SendingGuardSettings {
    /** Environment name. */
    env: string;
    /** Prefix of physical names. */
    namePrefix: string;
    /** CloudWatch namespace of the guard's metrics and alarms: `SESMail/<env>`. */
    namespace: string;
    /** Whether the emergency brake is deployed. */
    brake: boolean;
    /** Bounce rate (%) that pauses sending. */
    brakeBounceRatePercent: number;
    /** Complaint rate (%) that pauses sending. */
    brakeComplaintRatePercent: number;
    /** Sends a window needs before the brake judges its rates. */
    brakeMinimumSends: number;
    /** Window of the brake alarms, in seconds (a multiple of 60). */
    brakePeriodSeconds: number;
    /** The command the pause announcement tells operators to run. */
    resumeCommand: string;
    /** Whether the scheduled send-quota check is deployed. */
    quotaCheck: boolean;
    /** Quota utilisation (%) of the warning alarm; below the critical one. */
    quotaWarningPercent: number;
    /** Quota utilisation (%) of the critical alarm. */
    quotaCriticalPercent: number;
    /** EventBridge Scheduler expression of the quota check. */
    quotaScheduleExpression: string;
    /** Whether the quota's WARNING-tier alarm is created. */
    warnings: boolean;
}

/**
 * Defaults, from the runbooks: bounce rate above 10% → stop sending (emergency). For complaints the
 * runbook's 0.2% means "act" (the rate alarms' tiers page well before it, at 0.05% and 0.1%); the
 * brake stops sending at 0.5%, the complaint rate at which SES itself may pause the whole account
 * ("Amazon SES account status": review at 0.1%, pause at 0.5%), so this stack stops itself first.
 */
export const DEFAULT_SENDING_GUARD = {
    /** The runbooks' "stop sending" bounce rate. */
    brakeBounceRatePercent: 10,
    /** Where SES itself may pause the account. */
    brakeComplaintRatePercent: 0.5,
    /** The rate alarms' low-volume guard. */
    brakeMinimumSends: DEFAULT_RATE_ALARMS.minimumSends,
    /** One hour. */
    brakePeriodSeconds: 3600,
    /** The quota check's warning level. */
    quotaWarningPercent: DEFAULT_QUOTA_THRESHOLDS.warningPercent,
    /** The quota check's critical level. */
    quotaCriticalPercent: DEFAULT_QUOTA_THRESHOLDS.criticalPercent,
    /** How often the quota is read. */
    quotaScheduleExpression: "rate(10 minutes)",
} as const;

/** Labels of the guard's functions and DLQ in alarm names (`ses-mail-<label>-errors-<env>`, …). */
export const SENDING_BRAKE_LABEL = "sending-brake";
/** Label of the send-quota function in alarm names (`ses-mail-lambda-send-quota-errors-<env>`, …). */
export const SEND_QUOTA_LABEL = "send-quota";

/** Defaults and checks (pure). */
export function resolveSendingGuardSettings(args: Omit<SendingGuardArgs, "configurationSetName" | "sendersTableName" | "sendersTableArn" | "alarmTopicArn" | "alarmTopicKmsKeyArn">): SendingGuardSettings {
    const d = DEFAULT_SENDING_GUARD;
    const namePrefix = args.namePrefix ?? DEFAULT_PREFIX;
    const s: SendingGuardSettings = {
        env: args.env,
        namePrefix,
        namespace: `SESMail/${args.env}`,
        brake: args.brake ?? true,
        brakeBounceRatePercent: args.brakeBounceRatePercent ?? d.brakeBounceRatePercent,
        brakeComplaintRatePercent: args.brakeComplaintRatePercent ?? d.brakeComplaintRatePercent,
        brakeMinimumSends: args.brakeMinimumSends ?? d.brakeMinimumSends,
        brakePeriodSeconds: args.brakePeriodSeconds ?? d.brakePeriodSeconds,
        resumeCommand: args.resumeCommand ?? `npx ses-mail sending resume --env ${args.env}${namePrefix === DEFAULT_PREFIX ? "" : ` --name-prefix ${namePrefix}`} --reason "<why it is safe again>"`,
        quotaCheck: args.quotaCheck ?? true,
        quotaWarningPercent: args.quotaWarningPercent ?? d.quotaWarningPercent,
        quotaCriticalPercent: args.quotaCriticalPercent ?? d.quotaCriticalPercent,
        quotaScheduleExpression: args.quotaScheduleExpression ?? d.quotaScheduleExpression,
        warnings: args.warnings ?? true,
    };
    const percent = (key: keyof SendingGuardSettings) => {
        const value = s[key] as number;
        if (!(Number.isFinite(value) && value > 0 && value <= 100)) throw new Error(`SendingGuard: ${key} must be a percentage above 0 and at most 100 (got ${value}).`);
    };
    (["brakeBounceRatePercent", "brakeComplaintRatePercent", "quotaWarningPercent", "quotaCriticalPercent"] as const).forEach(percent);
    if (!(Number.isInteger(s.brakeMinimumSends) && s.brakeMinimumSends >= 1)) throw new Error(`SendingGuard: brakeMinimumSends must be a positive whole number (got ${s.brakeMinimumSends}).`);
    if (!(s.brakePeriodSeconds >= 60 && s.brakePeriodSeconds % 60 === 0)) throw new Error(`SendingGuard: brakePeriodSeconds must be a multiple of 60 (got ${s.brakePeriodSeconds}).`);
    if (s.quotaWarningPercent >= s.quotaCriticalPercent) {
        throw new Error(`SendingGuard: quotaWarningPercent (${s.quotaWarningPercent}) must be below quotaCriticalPercent (${s.quotaCriticalPercent}).`);
    }
    return s;
}

/**
 * The brake tier (pure): this stack's bounce and complaint rates over the period, from the feedback
 * worker's own metrics, guarded against low volume like the rate alarms. Going into ALARM pauses
 * sending; going back to OK does not resume it.
 */
export function brakeAlarmSpecs(s: SendingGuardSettings): AlarmSpec[] {
    if (!s.brake) return [];
    const ours = (id: string, metricName: string): MetricRef => ({ id, namespace: s.namespace, metricName, dimensions: { service: DEFAULT_RATE_ALARMS.feedbackService }, stat: "Sum" });
    const hours = s.brakePeriodSeconds / 3600;
    const rate = (what: string, label: string, numerator: MetricRef, threshold: number): AlarmSpec => ({
        name: `${s.namePrefix}-sending-brake-${what}-${s.env}`, tier: "CRITICAL",
        description: `Emergency brake: ${label} rate above ${threshold}% over ${hours} h (at least ${s.brakeMinimumSends} sends) PAUSES sending through this stack's configuration set. Find the cause, then: ${s.resumeCommand}`,
        expression: `IF(sends >= ${s.brakeMinimumSends}, 100 * ${numerator.id} / sends, 0)`,
        metrics: [numerator, ours("sends", "OutboundSend")],
        threshold, comparison: "GreaterThanThreshold", periodSeconds: s.brakePeriodSeconds, evaluationPeriods: 1, treatMissingData: "notBreaching",
    });
    return [
        rate("bounce-rate", "bounce", ours("bounces", "OutboundBounce"), s.brakeBounceRatePercent),
        rate("complaint-rate", "complaint", ours("complaints", "OutboundComplaint"), s.brakeComplaintRatePercent),
    ];
}

/**
 * Send-quota utilisation (pure), published without dimensions every 10 minutes; the period spans
 * three runs, so one late run never reads as missing data. No data is not breaching: a check that
 * cannot run shows as its function's Errors alarm.
 */
export function quotaAlarmSpecs(s: SendingGuardSettings): AlarmSpec[] {
    if (!s.quotaCheck) return [];
    return ([["WARNING", s.quotaWarningPercent], ["CRITICAL", s.quotaCriticalPercent]] as const).filter(([tier]) => s.warnings || tier !== "WARNING").map(([tier, threshold]) => ({
        name: `${s.namePrefix}-send-quota-${tier}-${s.env}`, tier,
        description: `SES send quota: SentLast24Hours at or above ${threshold}% of Max24HourSend. Run npx ses-mail quota for the figures and the runbook's advice (request an increase; check the volume is expected).`,
        metric: { id: "m", namespace: s.namespace, metricName: QUOTA_METRICS.utilisation, dimensions: {}, stat: "Maximum" },
        threshold, comparison: "GreaterThanOrEqualToThreshold", periodSeconds: 1800, evaluationPeriods: 1, treatMissingData: "notBreaching",
    }));
}

/** The guard's own functions' and DLQ's alarms, as the Alarms component makes them for every function (pure). */
export function guardResourceAlarmSpecs(s: SendingGuardSettings, names: { brake?: pulumi.Input<string>; brakeDlq?: pulumi.Input<string>; quota?: pulumi.Input<string> }): AlarmSpec[] {
    return resourceAlarmSpecs({
        env: s.env, namespace: s.namespace, queues: {}, pipes: {}, stateMachines: {}, queueAgeSeconds: 300,
        deadLetterQueues: s.brake && names.brakeDlq !== undefined ? { [SENDING_BRAKE_LABEL]: names.brakeDlq } : {},
        functions: {
            ...(s.brake && names.brake !== undefined ? { [SENDING_BRAKE_LABEL]: names.brake } : {}),
            ...(s.quotaCheck && names.quota !== undefined ? { [SEND_QUOTA_LABEL]: names.quota } : {}),
        },
    });
}

/** Every alarm name the guard creates: the alarm topic must let exactly these publish. */
export function sendingGuardAlarmNames(s: SendingGuardSettings): string[] {
    return [...brakeAlarmSpecs(s), ...quotaAlarmSpecs(s), ...guardResourceAlarmSpecs(s, { brake: "", brakeDlq: "", quota: "" })].map((spec) => spec.name);
}

/**
 * Sending that can be stopped: an emergency brake that pauses this stack's configuration set when
 * its bounce or complaint rate passes the brake tier (EventBridge alarm event → Lambda →
 * PutConfigurationSetSendingOptions, recorded and announced), and a scheduled send-quota check with
 * warning and critical alarms. Resuming is an operator's act: `ses-mail sending resume`.
 */
export class SendingGuard extends pulumi.ComponentResource {
    /** The resolved settings. */
    public readonly settings: SendingGuardSettings;
    /** The brake function (`<prefix>-sending-brake-<env>`); absent when `brake` is false. */
    public readonly brake?: LambdaFunction;
    /** Where failed brake invocations and undeliverable alarm events go; absent when `brake` is false. */
    public readonly brakeDlq?: DeadLetterQueue;
    /** The EventBridge rule matching the brake alarms' state changes; absent when `brake` is false. */
    public readonly brakeRule?: aws.cloudwatch.EventRule;
    /** The send-quota function; absent when `quotaCheck` is false. */
    public readonly quota?: LambdaFunction;
    /** The schedule that runs the quota check; absent when `quotaCheck` is false. */
    public readonly quotaSchedule?: aws.scheduler.Schedule;
    /** Every alarm the guard created: brake, quota and its own functions' and DLQ's. */
    public readonly alarms: aws.cloudwatch.MetricAlarm[];

    constructor(name: string, args: SendingGuardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:SendingGuard", name, {}, opts);
        const s = resolveSendingGuardSettings(args);
        this.settings = s;
        const tags = standardTags(s.env, "SendingGuard", args.tags);
        const child = { parent: this };
        const common = { env: s.env, namePrefix: args.namePrefix, homeRegion: args.homeRegion, component: "SendingGuard", logRetentionDays: args.logRetentionDays, hashAddressesInLogs: args.hashAddressesInLogs, tags: args.tags, metricsNamespace: s.namespace };
        const region = aws.getRegionOutput({}, child).region;
        const accountId = aws.getCallerIdentityOutput({}, child).accountId;
        const partition = aws.getPartitionOutput({}, child).partition;
        const alarm = (spec: AlarmSpec) => metricAlarm(`${name}-${spec.name}`, spec, args.alarmTopicArn, tags, this);
        const alarms: aws.cloudwatch.MetricAlarm[] = [];

        if (s.brake) {
            const specs = brakeAlarmSpecs(s);
            alarms.push(...specs.map(alarm));
            const alarmArns = specs.map((spec) => pulumi.interpolate`arn:${partition}:cloudwatch:${region}:${accountId}:alarm:${spec.name}`);
            const configurationSetArn = pulumi.interpolate`arn:${partition}:ses:${region}:${accountId}:configuration-set/${args.configurationSetName}`;
            this.brakeRule = new aws.cloudwatch.EventRule(`${name}-brake-rule`, {
                name: physicalName("eventRule", { purpose: "sending-brake", env: s.env, prefix: args.namePrefix }),
                description: "Brake-tier alarms going into ALARM: pause this stack's SES configuration set",
                // CloudWatch delivers alarm state changes to the default bus ("Alarm events and EventBridge").
                eventPattern: pulumi.all(alarmArns).apply((resources) => JSON.stringify({
                    source: ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"], resources, detail: { state: { value: ["ALARM"] } },
                })),
                tags,
            }, child);
            this.brakeDlq = new DeadLetterQueue(`${name}-brake-dlq`, {
                env: s.env, purpose: "sending-brake-dlq", namePrefix: args.namePrefix, component: "SendingGuard", tags: args.tags,
                // Events the rule could not deliver; the function's failed async invocations arrive with its own role.
                allowedSenders: [{ service: "events.amazonaws.com", sourceArns: [this.brakeRule.arn] }],
            }, child);
            const statements: PolicyStatement[] = [
                allow(["ses:PutConfigurationSetSendingOptions"], [configurationSetArn]),
                // Only this configuration set's records in the senders table.
                allow(["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"], [args.sendersTableArn], {
                    "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [pulumi.interpolate`${sendingPartitionKey("")}${args.configurationSetName}`] },
                }),
                allow(["sns:Publish"], [args.alarmTopicArn]),
                ...(args.alarmTopicKmsKeyArn ? [allow(["kms:GenerateDataKey", "kms:Decrypt"], [args.alarmTopicKmsKeyArn])] : []),
                ...queueSenderStatements(this.brakeDlq.arn),
            ];
            this.brake = new LambdaFunction(`${name}-brake`, {
                ...common, code: "sending-brake", purpose: SENDING_BRAKE_LABEL, timeout: 30,
                description: "Emergency brake: pauses this stack's SES configuration set when a brake-tier alarm fires",
                environment: {
                    CONFIGURATION_SET_NAME: args.configurationSetName,
                    BRAKE_ALARM_ARNS: pulumi.all(alarmArns).apply((arns) => JSON.stringify(arns)),
                    RESUME_COMMAND: s.resumeCommand,
                    ALARM_TOPIC_ARN: args.alarmTopicArn,
                    SENDERS_TABLE_NAME: args.sendersTableName,
                },
                policyStatements: statements,
            }, child);
            // Two retries of a failed invocation, then the DLQ (ses-mail-sending-brake-dlq-messages alarm).
            new aws.lambda.FunctionEventInvokeConfig(`${name}-brake-invoke-config`, {
                functionName: this.brake.functionName,
                maximumRetryAttempts: 2,
                maximumEventAgeInSeconds: 3600,
                destinationConfig: { onFailure: { destination: this.brakeDlq.arn } },
            }, child);
            new aws.lambda.Permission(`${name}-brake-permission`, {
                action: "lambda:InvokeFunction",
                function: this.brake.functionName,
                principal: "events.amazonaws.com",
                sourceArn: this.brakeRule.arn,
            }, child);
            new aws.cloudwatch.EventTarget(`${name}-brake-target`, {
                rule: this.brakeRule.name,
                arn: this.brake.arn,
                retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 10 },
                deadLetterConfig: { arn: this.brakeDlq.arn },
            }, child);
        }

        if (s.quotaCheck) {
            this.quota = new LambdaFunction(`${name}-quota`, {
                ...common, code: "send-quota", purpose: SEND_QUOTA_LABEL, timeout: 30,
                description: "Publishes the SES send quota's utilisation (GetAccount) to CloudWatch",
                environment: { METRICS_NAMESPACE: s.namespace, QUOTA_WARNING_PERCENT: String(s.quotaWarningPercent), QUOTA_CRITICAL_PERCENT: String(s.quotaCriticalPercent) },
                // GetAccount has no resource type (Service Authorization Reference, Amazon SES v2).
                policyStatements: [allowOnAnyResource(["ses:GetAccount"]), allowPutMetricData(s.namespace)],
            }, child);
            const schedulerRole = new aws.iam.Role(`${name}-quota-scheduler-role`, {
                name: region.apply((r) => globalPhysicalName("iamRole", { purpose: "send-quota-scheduler", env: s.env, prefix: args.namePrefix, region: r, homeRegion: args.homeRegion })),
                // Scheduler presents the schedule group's ARN ("Set up the execution role", EventBridge Scheduler User Guide).
                assumeRolePolicy: assumeRolePolicy("scheduler.amazonaws.com", { account: accountId, arn: pulumi.interpolate`arn:${partition}:scheduler:${region}:${accountId}:schedule-group/default` }),
                tags,
            }, child);
            const schedulerPolicy = new aws.iam.RolePolicy(`${name}-quota-scheduler-policy`, {
                role: schedulerRole.id,
                policy: policyDocument([allow(["lambda:InvokeFunction"], [this.quota.arn])]),
            }, child);
            this.quotaSchedule = new aws.scheduler.Schedule(`${name}-quota-schedule`, {
                name: physicalName("schedule", { purpose: "send-quota-check", env: s.env, prefix: args.namePrefix }),
                description: "Publishes the SES send quota's utilisation",
                scheduleExpression: s.quotaScheduleExpression,
                flexibleTimeWindow: { mode: "OFF" },
                // A missed run is replaced by the next one: retry briefly, never deliver stale runs.
                target: { arn: this.quota.arn, roleArn: schedulerRole.arn, input: "{}", retryPolicy: { maximumEventAgeInSeconds: 300, maximumRetryAttempts: 2 } },
            }, { parent: this, dependsOn: [schedulerPolicy] });
            alarms.push(...quotaAlarmSpecs(s).map(alarm));
        }

        alarms.push(...guardResourceAlarmSpecs(s, { brake: this.brake?.functionName, brakeDlq: this.brakeDlq?.name, quota: this.quota?.functionName }).map(alarm));
        this.alarms = alarms;
        this.registerOutputs({ brakeFunctionName: this.brake?.functionName, quotaFunctionName: this.quota?.functionName });
    }
}
