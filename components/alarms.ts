import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AlarmSpec, DEFAULT_RATE_ALARMS, lambdaThrottlesAlarm, rateAlarmSpecs, resourceAlarmSpecs } from "./alarm-specs";
import { alarmTopic } from "./encrypted-topic";
import { standardTags } from "./naming";
import { resolveEnv } from "./stack-env";
import { applyTransform, Transform } from "./transform";

/** Arguments of {@link Alarms}. */
export interface AlarmsArgs {
    /**
     * Environment name: in alarm names (`ses-mail-routing-rule-invalid-<env>`), the namespace
     * watched (`SESMail/<env>`) and the `Environment` tag. @default the stack name (`pulumi.getStack()`)
     */
    env?: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Publish to this existing topic instead of creating one. @default a KMS-encrypted topic of its own */
    alarmTopicArn?: pulumi.Input<string>;
    /** @default none */
    alarmEmails?: string[];
    /** @default none */
    alarmHttpsEndpoints?: string[];
    /** label → main queue name (oldest-message age alarm). @default none @example { input: ingest.inputQueue.name } */
    queues?: Record<string, pulumi.Input<string>>;
    /** label → the queue's purpose, the `<queue>` of the runbooks' `ses-<queue>-queue-age-<env>`. @default the label @example { input: "email-input" } */
    queuePurposes?: Record<string, string>;
    /** label → DLQ name (visible-messages alarm). @default none @example { input: ingest.inputQueue.dlq.name } */
    deadLetterQueues?: Record<string, pulumi.Input<string>>;
    /** label → function name (Errors each; their Throttles are the account's, see `accountAlarms`). @default none @example { router: ingest.router.functionName } */
    functions?: Record<string, pulumi.Input<string>>;
    /** label → pipe name (ExecutionFailed). @default none @example { router: ingest.pipe.name } */
    pipes?: Record<string, pulumi.Input<string>>;
    /** label → state machine ARN (ExecutionsFailed). @default none @example { "retry-drain": ingest.retryDrain.arn } */
    stateMachines?: Record<string, pulumi.Input<string>>;
    /** Namespace of applications' EmailsSent / EmailsFailed. @default "SESMail/<env>/Application" */
    applicationNamespace?: string;
    /** @default 100 */
    minimumSends?: number;
    /** @default 3600 */
    ratePeriodSeconds?: number;
    /** @default 1 */
    rateEvaluationPeriods?: number;
    /** Rate alarm names are `<prefix>-<what>-<TIER><suffix>`, e.g. ses-high-bounce-rate-CRITICAL. @default "ses" */
    alarmNamePrefix?: string;
    /** @default "" */
    alarmNameSuffix?: string;
    /** Warning and critical bounce rate (%). @default [3, 5] */
    bounceRateThresholds?: [number, number];
    /** @default [0.05, 0.1] */
    complaintRateThresholds?: [number, number];
    /** @default [5, 10] */
    sendFailureRateThresholds?: [number, number];
    /** @default [5, 20] */
    suppressionsPerDayThresholds?: [number, number];
    /** @default 95 */
    deliveryRateCritical?: number;
    /** @default 300 */
    queueAgeSeconds?: number;
    /**
     * Create the WARNING-tier alarms (rates' early tiers, suppressions added, a refused SMTP record).
     * Off, only CRITICAL ones page: each WARNING alarm is $0.10–0.20 a month, and a throwaway
     * environment rarely has anyone to act on an early warning. @default true
     */
    warnings?: boolean;
    /**
     * Create the alarms on account-wide figures: SES's account reputation (bounce and complaint rate)
     * and Lambda throttles of the account (one alarm for every function, see `lambdaThrottlesAlarm`).
     * Stacks sharing an account and region need them once: turn them off in all but one. @default true
     */
    accountAlarms?: boolean;
    /**
     * ARN of the KMS key the created alarm topic is encrypted with, instead of a key of its own ($1 a
     * key-month): one key per stack shared by its components. Its key policy must let CloudWatch use
     * it (`KEY_SERVICE_USERS.cloudwatch`, as `stackKmsKey`'s does).
     * @default a key of its own, `<name>-key` (`alias/<namePrefix>-alarms-<env>`)
     * @example stackKey.arn
     */
    kmsKeyArn?: pulumi.Input<string>;
    /**
     * With `kmsKeyArn`, while moving a deployed stack onto it: still declare the key this component
     * created before (same URN), retained on delete and unused, so that the deploy without this flag
     * leaves it in AWS (docs/OPERATIONS.md, "One KMS key per stack"). @default false
     */
    retainOwnKey?: boolean;
    /** Alarms other components create (e.g. SendingGuard's) that also publish to the topic created here. @default none */
    otherPublishingAlarmNames?: string[];
    /** Tags added to the standard ones on every alarm (and the topic). @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
    /**
     * Changes to every alarm's `aws.cloudwatch.MetricAlarm` arguments before it is created (see
     * `Transform`); a function gets the alarm's resource name to pick one. @default none
     * @example { alarm: (args, _opts, name) => { if (name.endsWith("-dlq-router")) args.evaluationPeriods = 3; } }
     */
    transform?: {
        /** Every alarm; a function also gets the alarm's name, to pick some. */
        alarm?: Transform<aws.cloudwatch.MetricAlarmArgs>;
    };
}

/** Every alarm the args ask for (pure). */
export function alarmSpecs(args: AlarmsArgs & { env: string }): AlarmSpec[] {
    const wanted = (spec: AlarmSpec) => ((args.warnings ?? true) || spec.tier !== "WARNING") && ((args.accountAlarms ?? true) || spec.scope !== "account");
    return allAlarmSpecs(args).filter(wanted);
}

function allAlarmSpecs(args: AlarmsArgs & { env: string }): AlarmSpec[] {
    const d = DEFAULT_RATE_ALARMS;
    return [
        ...rateAlarmSpecs({
            env: args.env,
            namespace: `SESMail/${args.env}`,
            feedbackService: d.feedbackService,
            applicationNamespace: args.applicationNamespace ?? `SESMail/${args.env}/Application`,
            minimumSends: args.minimumSends ?? d.minimumSends,
            periodSeconds: args.ratePeriodSeconds ?? d.periodSeconds,
            evaluationPeriods: args.rateEvaluationPeriods ?? d.evaluationPeriods,
            namePrefix: args.alarmNamePrefix ?? d.namePrefix,
            nameSuffix: args.alarmNameSuffix ?? d.nameSuffix,
            bounceRate: args.bounceRateThresholds ?? d.bounceRate,
            complaintRate: args.complaintRateThresholds ?? d.complaintRate,
            sendFailureRate: args.sendFailureRateThresholds ?? d.sendFailureRate,
            suppressionsPerDay: args.suppressionsPerDayThresholds ?? d.suppressionsPerDay,
            deliveryRateCritical: args.deliveryRateCritical ?? d.deliveryRateCritical,
        }),
        ...resourceAlarmSpecs({
            env: args.env,
            queues: args.queues ?? {},
            queuePurposes: args.queuePurposes,
            namePrefix: args.namePrefix,
            deadLetterQueues: args.deadLetterQueues ?? {},
            functions: args.functions ?? {},
            pipes: args.pipes ?? {},
            stateMachines: args.stateMachines ?? {},
            queueAgeSeconds: args.queueAgeSeconds ?? 300,
        }),
        ...(Object.keys(args.functions ?? {}).length > 0 ? [lambdaThrottlesAlarm(args.env, args.namePrefix)] : []),
    ];
}

/** CloudWatch alarms (rates with warning/critical tiers, reputation, queues, functions, pipes, state machines) to one topic. */
export class Alarms extends pulumi.ComponentResource {
    /** The topic the alarms notify (created, or `topicArn`). */
    public readonly topicArn: pulumi.Output<string>;
    /** The topic's KMS key when the topic is created here (a publisher needs it); undefined for `alarmTopicArn`. */
    public readonly topicKmsKeyArn?: pulumi.Input<string>;
    /** Every alarm created. */
    public readonly alarms: aws.cloudwatch.MetricAlarm[];

    constructor(name: string, args: AlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:Alarms", name, {}, opts);
        const env = resolveEnv("Alarms", args.env);
        const tags = standardTags(env, "Alarms", args.tags);
        const common = { env, namePrefix: args.namePrefix, component: "Alarms", tags: args.tags };
        const specs = alarmSpecs({ ...args, env });
        if (args.alarmTopicArn) {
            this.topicArn = pulumi.output(args.alarmTopicArn);
        } else {
            const topic = alarmTopic(name, {
                ...common, purpose: "alarms", description: `ses-mail alarms (${env})`, alarmNames: [...specs.map((spec) => spec.name), ...(args.otherPublishingAlarmNames ?? [])],
                emailSubscriptions: args.alarmEmails,
                httpsSubscriptions: args.alarmHttpsEndpoints,
                kmsKeyArn: args.kmsKeyArn,
                retainOwnKey: args.retainOwnKey,
            }, this);
            this.topicArn = topic.arn;
            this.topicKmsKeyArn = topic.kmsKeyArn;
        }
        this.alarms = specs.map((spec) => metricAlarm(`${name}-${spec.key ?? spec.name}`, spec, this.topicArn, tags, this, args.transform?.alarm));
        this.registerOutputs({ topicArn: this.topicArn });
    }
}

/** A CloudWatch alarm from its spec, notifying `topicArn` on ALARM and OK: the one way components create alarms. */
export function metricAlarm(
    resourceName: string, spec: AlarmSpec, topicArn: pulumi.Input<string>, tags: Record<string, string>, parent: pulumi.Resource,
    /** The user's change to the alarm's arguments (a component's `transform.alarm`). */
    transform?: Transform<aws.cloudwatch.MetricAlarmArgs>,
): aws.cloudwatch.MetricAlarm {
    const common = {
        name: spec.name,
        alarmDescription: `[${spec.tier}] ${spec.description}`,
        threshold: spec.threshold,
        comparisonOperator: spec.comparison,
        evaluationPeriods: spec.evaluationPeriods,
        treatMissingData: spec.treatMissingData,
        alarmActions: [topicArn],
        okActions: [topicArn],
        tags: { ...tags, Tier: spec.tier },
    };
    const source: Partial<aws.cloudwatch.MetricAlarmArgs> = spec.metric
        ? { namespace: spec.metric.namespace, metricName: spec.metric.metricName, dimensions: spec.metric.dimensions, statistic: spec.metric.stat, period: spec.periodSeconds }
        : {
            metricQueries: [
                ...(spec.metrics ?? []).map((m) => ({
                    id: m.id,
                    returnData: false,
                    metric: { namespace: m.namespace, metricName: m.metricName, dimensions: m.dimensions, stat: m.stat, period: spec.periodSeconds },
                })),
                { id: "result", expression: spec.expression, label: spec.description, returnData: true },
            ],
        };
    return new aws.cloudwatch.MetricAlarm(resourceName, ...applyTransform(transform, resourceName, { ...common, ...source }, { parent }));
}
