import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NO_EXPIRY, NO_EXPIRY_SECONDS, parameterNames, TOKEN_METRICS, TOKEN_TAGS } from "../functions/shared/gmail-oauth";
import type { AlarmSpec } from "./alarm-specs";
import { metricAlarm } from "./alarms";
import { allow, allowPutMetricData, assumeRolePolicy, policyDocument } from "./iam";
import { LambdaFunction } from "./lambda-function";
import { accountSlug, globalPhysicalName, gmailParameterPrefix, physicalName, standardTags } from "./naming";
import { serviceIntegration, stateMachineWithRole } from "./state-machine";

/** Arguments of {@link TokenMonitor}. */
export interface TokenMonitorArgs {
    /** Environment name: the last part of the state machine's, function's and alarms' names. */
    env: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Region whose IAM role names have no region part (see `globalPhysicalName`). @default every region's names have one */
    homeRegion?: string;
    /** The Gmail account whose refresh token is watched. */
    account: string;
    /** Alarms notify this topic (MailIngest's `…-gmail-forwarder-token-alerts-<env>`). */
    alertTopicArn: pulumi.Input<string>;
    /** SSM path of the OAuth parameters. @default "/<namePrefix>/<env>/gmail-forwarder" */
    parameterPrefix?: string;
    /** Warning when the token expires within this many hours. @default 24 */
    warningHours?: number;
    /** Critical when it expires within this many hours. @default 6 */
    criticalHours?: number;
    /** Create the WARNING-tier alarm (expiring within `warningHours`); the CRITICAL ones always exist. @default true */
    warningAlarm?: boolean;
    /** How often the expiry is published. @default "rate(5 minutes)" */
    scheduleExpression?: string;
    /** How often the probe exchanges the token. @default "rate(1 hour)" */
    probeScheduleExpression?: string;
    /** @default 30 */
    logRetentionDays?: number;
    /**
     * Log mail addresses as keyed hashes instead of in the clear (see docs/DATA.md). @default false
     */
    hashAddressesInLogs?: boolean;
    /** Extra tags. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
}

/** {@link TokenMonitorArgs} with defaults applied and checked. */
export interface TokenMonitorSettings {
    /** Environment name. */
    env: string;
    /** Prefix of physical names. */
    namePrefix: string;
    /** The Gmail account watched. */
    account: string;
    /** The refresh-token parameter's name. */
    parameterName: string;
    /** The OAuth client parameter's name. */
    clientCredentialsName: string;
    /** CloudWatch namespace: `SESMail/<env>`. */
    namespace: string;
    /** Warning when the token expires within this many hours. */
    warningHours: number;
    /** Critical when it expires within this many hours. */
    criticalHours: number;
    /** Whether the WARNING-tier expiry alarm is created. */
    warningAlarm: boolean;
    /** Schedule of the expiry check. */
    scheduleExpression: string;
    /** Schedule of the validity probe. */
    probeScheduleExpression: string;
}

/** Defaults and checks (pure). */
export function resolveTokenMonitorSettings(args: Omit<TokenMonitorArgs, "alertTopicArn">): TokenMonitorSettings {
    const namePrefix = args.namePrefix ?? "ses-mail";
    const warningHours = args.warningHours ?? 24;
    const criticalHours = args.criticalHours ?? 6;
    if (!(criticalHours > 0 && warningHours > criticalHours)) {
        throw new Error(`TokenMonitor: warningHours (${warningHours}) must be greater than criticalHours (${criticalHours}), and both positive.`);
    }
    const names = parameterNames(args.parameterPrefix ?? gmailParameterPrefix(args.env, namePrefix), args.account);
    return {
        env: args.env,
        namePrefix,
        account: args.account,
        parameterName: names.refreshToken,
        clientCredentialsName: names.clientCredentials,
        namespace: `SESMail/${args.env}`,
        warningHours,
        criticalHours,
        warningAlarm: args.warningAlarm ?? true,
        scheduleExpression: args.scheduleExpression ?? "rate(5 minutes)",
        probeScheduleExpression: args.probeScheduleExpression ?? "rate(1 hour)",
    };
}

/** The tags the probe writes on the refresh-token parameter: the only ones it may write. */
export const PROBE_TAG_KEYS = [TOKEN_TAGS.lastProbeAt, TOKEN_TAGS.lastProbeResult];

const refreshCommand = (s: TokenMonitorSettings) => `npx ses-mail token refresh --stack ${s.env} --account ${s.account}`;

/**
 * The monitor (JSONata): the refresh-token parameter's tags → seconds until `expires_at_epoch`,
 * counted from the execution's start → `TokenSecondsUntilExpiration`. It reads tags only, so the
 * token never appears in execution data. No parameter or no usable tag fails the execution; the
 * metric then goes missing, which the expiry alarms treat as breaching. `partition` names the task
 * resources (`arn:<partition>:states:::aws-sdk:…`).
 */
export function tokenMonitorDefinition(s: TokenMonitorSettings, partition: string): Record<string, unknown> {
    return {
        Comment: `Publishes ${TOKEN_METRICS.secondsUntilExpiration} for ${s.account} from the ${TOKEN_TAGS.expiresAtEpoch} tag of ${s.parameterName}.`,
        QueryLanguage: "JSONata",
        TimeoutSeconds: 60,
        StartAt: "Read token tags",
        States: {
            "Read token tags": {
                Type: "Task",
                Resource: serviceIntegration(partition, "aws-sdk:ssm:listTagsForResource"),
                Arguments: { ResourceType: "Parameter", ResourceId: s.parameterName },
                Assign: { expiry: `{% ($tag := $states.result.TagList[Key = '${TOKEN_TAGS.expiresAtEpoch}'].Value; $exists($tag) ? $tag : '') %}` },
                Retry: [{ ErrorEquals: ["Ssm.InternalServerErrorException", "Ssm.SsmException", "States.Timeout"], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
                Catch: [{ ErrorEquals: ["Ssm.InvalidResourceIdException"], Next: "No token" }],
                Next: "Check expiry",
            },
            "Check expiry": {
                Type: "Choice",
                Choices: [
                    { Condition: `{% $expiry = '${NO_EXPIRY}' %}`, Next: "No expiry date" },
                    { Condition: "{% $contains($expiry, /^[0-9]+$/) %}", Next: "Seconds left" },
                ],
                Default: "No expiry tag",
            },
            "No expiry date": { Type: "Pass", Assign: { seconds: NO_EXPIRY_SECONDS }, Next: "Publish" },
            "Seconds left": {
                Type: "Pass",
                Assign: { seconds: "{% $number($expiry) - $floor($toMillis($states.context.Execution.StartTime) / 1000) %}" },
                Next: "Publish",
            },
            Publish: {
                Type: "Task",
                Resource: serviceIntegration(partition, "aws-sdk:cloudwatch:putMetricData"),
                Arguments: {
                    Namespace: s.namespace,
                    // Per account only (its alarms, the dashboard): a dimensionless copy would be one more
                    // custom metric at $0.30 a month, published every 5 minutes whether mail flows or not;
                    // `ses-mail token status` shows every account's expiry.
                    MetricData: [
                        { MetricName: TOKEN_METRICS.secondsUntilExpiration, Dimensions: [{ Name: "account", Value: s.account }], Unit: "Seconds", Value: "{% $seconds %}" },
                    ],
                },
                Output: { account: s.account, secondsUntilExpiration: "{% $seconds %}" },
                Retry: [{ ErrorEquals: ["States.ALL"], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
                End: true,
            },
            "No token": { Type: "Fail", Error: "TokenMissing", Cause: `No refresh token at ${s.parameterName}: run ${refreshCommand(s)}` },
            "No expiry tag": {
                Type: "Fail",
                Error: "TokenExpiryUnknown",
                Cause: `${s.parameterName} has no usable ${TOKEN_TAGS.expiresAtEpoch} tag (stored by hand?): run ${refreshCommand(s)}`,
            },
        },
    };
}

/** The account's alarms (pure). Alarm names start `<prefix>-gmail-token-`, the token-alerts topic's publisher pattern. */
export function tokenAlarmSpecs(s: TokenMonitorSettings, stateMachineArn: pulumi.Input<string>): AlarmSpec[] {
    const name = (what: string, tier: AlarmSpec["tier"]) => `${s.namePrefix}-gmail-token-${what}-${tier}-${accountSlug(s.account)}-${s.env}`;
    const expiry = { id: "m", namespace: s.namespace, metricName: TOKEN_METRICS.secondsUntilExpiration, dimensions: { account: s.account }, stat: "Minimum" as const };
    // Three monitor runs per period, so one late run never reads as missing data.
    const expiring = (what: string, tier: AlarmSpec["tier"], threshold: number, description: string): AlarmSpec => ({
        name: name(what, tier), tier, description: `${description} Run: ${refreshCommand(s)}`, metric: expiry,
        threshold, comparison: "LessThanThreshold", periodSeconds: 900, evaluationPeriods: 1, treatMissingData: "breaching",
    });
    const states = (id: string, metricName: string) => ({ id, namespace: "AWS/States", metricName, dimensions: { StateMachineArn: stateMachineArn }, stat: "Sum" as const });
    return [
        ...(s.warningAlarm ? [expiring("expiring", "WARNING", s.warningHours * 3600, `Gmail refresh token of ${s.account} expires within ${s.warningHours} h (or its expiry is not being published).`)] : []),
        expiring("expiring", "CRITICAL", s.criticalHours * 3600, `Gmail refresh token of ${s.account} expires within ${s.criticalHours} h (or its expiry is not being published).`),
        expiring("expired", "CRITICAL", 0, `Gmail refresh token of ${s.account} has expired: mail for it waits in the retry queue.`),
        {
            name: name("invalid", "CRITICAL"), tier: "CRITICAL",
            description: `Google refused the refresh token of ${s.account} (probe or forwarder): revoked, password changed or expired; mail waits in the retry queue. Run: ${refreshCommand(s)}`,
            metric: { id: "m", namespace: s.namespace, metricName: TOKEN_METRICS.valid, dimensions: { account: s.account }, stat: "Minimum" },
            threshold: 1, comparison: "LessThanThreshold", periodSeconds: 3600, evaluationPeriods: 1,
            // Only a refusal is news here: a probe that cannot run shows as its function's Errors alarm.
            treatMissingData: "notBreaching",
        },
        {
            name: name("monitor-failed", "CRITICAL"), tier: "CRITICAL",
            description: `The token monitor of ${s.account} failed (no token, or no ${TOKEN_TAGS.expiresAtEpoch} tag): see its error cause. Run: ${refreshCommand(s)}`,
            expression: "FILL(failed, 0) + FILL(timedOut, 0)",
            metrics: [states("failed", "ExecutionsFailed"), states("timedOut", "ExecutionsTimedOut")],
            threshold: 0, comparison: "GreaterThanThreshold", periodSeconds: 300, evaluationPeriods: 1, treatMissingData: "notBreaching",
        },
    ];
}

/** The account's alarm names: the token-alerts topic lets exactly these publish. */
export function tokenAlarmNames(s: TokenMonitorSettings): string[] {
    // Only the monitor-failed alarm's dimension uses the state machine's ARN, never a name.
    return tokenAlarmSpecs(s, "").map((spec) => spec.name);
}

/**
 * Watches one Gmail account's refresh token so operators hear of its end in advance: every 5 minutes
 * an Express state machine publishes the seconds until it expires; every hour a probe exchanges it
 * with Google and publishes TokenValid. Alarms (warning, critical, expired, refused, monitor failed)
 * go to the token-alerts topic.
 */
export class TokenMonitor extends pulumi.ComponentResource {
    /** The Express state machine that publishes `TokenSecondsUntilExpiration`. */
    public readonly stateMachine: aws.sfn.StateMachine;
    /** The function that exchanges the token and publishes `TokenValid`. */
    public readonly probe: LambdaFunction;
    /** Runs the state machine. */
    public readonly schedule: aws.scheduler.Schedule;
    /** Runs the probe. */
    public readonly probeSchedule: aws.scheduler.Schedule;
    /** Expiring (warning, critical), expired, invalid and monitor-failed alarms. */
    public readonly alarms: aws.cloudwatch.MetricAlarm[];
    /** The Gmail account watched. */
    public readonly account: string;

    constructor(name: string, args: TokenMonitorArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:TokenMonitor", name, {}, opts);
        const s = resolveTokenMonitorSettings(args);
        this.account = s.account;
        const tags = standardTags(s.env, "TokenMonitor", args.tags);
        const slug = accountSlug(s.account);
        const child = { parent: this };
        const common = { env: s.env, namePrefix: args.namePrefix, homeRegion: args.homeRegion, component: "TokenMonitor", tags: args.tags };
        const region = aws.getRegionOutput({}, child).region;
        const accountId = aws.getCallerIdentityOutput({}, child).accountId;
        const partition = aws.getPartitionOutput({}, child).partition;
        const parameterArn = (parameterName: string) => pulumi.interpolate`arn:${partition}:ssm:${region}:${accountId}:parameter${parameterName}`;

        this.stateMachine = stateMachineWithRole(`${name}-monitor`, {
            env: s.env,
            namePrefix: args.namePrefix,
            homeRegion: args.homeRegion,
            purpose: `gmail-token-monitor-${slug}`,
            // Short and frequent: Express costs a fraction of Standard, and its data holds no secret.
            type: "EXPRESS",
            includeExecutionData: true,
            logRetentionDays: args.logRetentionDays,
            tags,
            statements: () => [allow(["ssm:ListTagsForResource"], [parameterArn(s.parameterName)]), allowPutMetricData(s.namespace)],
            definition: (_, p) => p.apply((resolved) => JSON.stringify(tokenMonitorDefinition(s, resolved))),
        }, this);

        this.probe = new LambdaFunction(`${name}-probe`, {
            ...common, code: "token-probe", purpose: `gmail-token-probe-${slug}`, timeout: 60, metricsNamespace: s.namespace, logRetentionDays: args.logRetentionDays, hashAddressesInLogs: args.hashAddressesInLogs,
            description: `Exchanges the Gmail refresh token of ${s.account} hourly and publishes TokenValid`,
            environment: { ACCOUNT: s.account, SSM_PREFIX: args.parameterPrefix ?? gmailParameterPrefix(s.env, s.namePrefix) },
            policyStatements: [
                allow(["ssm:GetParameter"], [parameterArn(s.clientCredentialsName), parameterArn(s.parameterName)]),
                // Only its own tags: never the expiry the refresh command stores, which the monitor reads
                // (SSM authorizes AddTagsToResource on aws:TagKeys; ForAllValues alone would also pass
                // a request without the key, hence the Null check).
                allow(["ssm:AddTagsToResource"], [parameterArn(s.parameterName)], {
                    "ForAllValues:StringEquals": { "aws:TagKeys": PROBE_TAG_KEYS },
                    Null: { "aws:TagKeys": "false" },
                }),
            ],
        }, child);

        // EventBridge Scheduler starts both, through one role that may start exactly these two.
        const schedulerRole = new aws.iam.Role(`${name}-scheduler-role`, {
            name: region.apply((r) => globalPhysicalName("iamRole", { purpose: `gmail-token-${slug}-scheduler`, env: s.env, prefix: args.namePrefix, region: r, homeRegion: args.homeRegion })),
            // Scheduler presents the schedule group's ARN: our schedules are in the default group
            // ("Set up the execution role", EventBridge Scheduler User Guide).
            assumeRolePolicy: assumeRolePolicy("scheduler.amazonaws.com", {
                account: accountId,
                arn: pulumi.interpolate`arn:${partition}:scheduler:${region}:${accountId}:schedule-group/default`,
            }),
            tags,
        }, child);
        const schedulerPolicy = new aws.iam.RolePolicy(`${name}-scheduler-policy`, {
            role: schedulerRole.id,
            policy: policyDocument([
                allow(["states:StartExecution"], [this.stateMachine.arn]),
                allow(["lambda:InvokeFunction"], [this.probe.arn]),
            ]),
        }, child);
        const schedule = (suffix: string, purpose: string, expression: string, targetArn: pulumi.Input<string>, description: string) =>
            new aws.scheduler.Schedule(`${name}-${suffix}`, {
                name: physicalName("schedule", { purpose, env: s.env, prefix: args.namePrefix }),
                description,
                scheduleExpression: expression,
                flexibleTimeWindow: { mode: "OFF" },
                // A missed run is replaced by the next one: retry briefly, never deliver stale runs.
                target: { arn: targetArn, roleArn: schedulerRole.arn, input: "{}", retryPolicy: { maximumEventAgeInSeconds: 300, maximumRetryAttempts: 2 } },
            }, { parent: this, dependsOn: [schedulerPolicy] });
        this.schedule = schedule("schedule", `gmail-token-monitor-${slug}`, s.scheduleExpression, this.stateMachine.arn, `Publishes the Gmail token expiry of ${s.account}`);
        this.probeSchedule = schedule("probe-schedule", `gmail-token-probe-${slug}`, s.probeScheduleExpression, this.probe.arn, `Probes the Gmail token of ${s.account}`);

        // Logical names keep only what differs: `<name>-expiring-WARNING`, `<name>-invalid-CRITICAL`, …
        const shortName = (alarmName: string) => alarmName.slice(`${s.namePrefix}-gmail-token-`.length, -`-${slug}-${s.env}`.length);
        this.alarms = tokenAlarmSpecs(s, this.stateMachine.arn).map((spec) => metricAlarm(`${name}-${shortName(spec.name)}`, spec, args.alertTopicArn, tags, this));
        this.registerOutputs({ stateMachineArn: this.stateMachine.arn, probeFunctionName: this.probe.functionName });
    }
}
