import * as fs from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { packageRoot } from "./bundle";
import { allow, allowOnAnyResource, assumeRolePolicy, policyDocument } from "./iam";
import { globalPhysicalName, standardTags } from "./naming";
import { resolveEnv } from "./stack-env";

/** A queue of the stack and its DLQ (either may be absent for the health check). */
export interface RunbookQueue {
    /** The source queue's URL; absent for a DLQ without one (stream and EventBridge failures). @default none */
    queueUrl?: pulumi.Input<string>;
    /** The source queue's ARN. @default none */
    queueArn?: pulumi.Input<string>;
    /** The DLQ's URL. */
    dlqUrl: pulumi.Input<string>;
    /** The DLQ's ARN. */
    dlqArn: pulumi.Input<string>;
}

const PYTHON_RUNTIME = "python3.11";

/** A step script from runbooks/ (tested with python3 -m unittest), embedded in the document. */
export function runbookScript(file: string): string {
    return fs.readFileSync(path.join(packageRoot(), "runbooks", file), "utf8");
}

/** The `SESMail-DLQ-Redrive-<env>` Automation document (pure): `pairs` maps each DLQ URL to its source queue URL, the only pairs it accepts. */
export function redriveDocument(env: string, roleArn: string, pairs: Record<string, string>): Record<string, unknown> {
    return {
        schemaVersion: "0.3",
        description: `Moves messages from a ses-mail DLQ back to its source queue (${env}). Deletes a message only after it was sent; keeps message attributes.`,
        assumeRole: roleArn,
        parameters: {
            DLQUrl: { type: "String", description: "The DLQ to drain.", allowedValues: Object.keys(pairs) },
            SourceQueueUrl: { type: "String", description: "The queue whose DLQ it is.", allowedValues: [...new Set(Object.values(pairs))] },
            MaxMessages: { type: "Integer", description: "Messages to move at most (0 = all).", default: 0 },
            VelocityPerSecond: { type: "Integer", description: "Messages per second at most.", default: 10 },
        },
        mainSteps: [{
            name: "Redrive",
            action: "aws:executeScript",
            inputs: {
                Runtime: PYTHON_RUNTIME,
                Handler: "handler",
                Script: runbookScript("dlq_redrive.py"),
                InputPayload: {
                    DLQUrl: "{{ DLQUrl }}", SourceQueueUrl: "{{ SourceQueueUrl }}", MaxMessages: "{{ MaxMessages }}", VelocityPerSecond: "{{ VelocityPerSecond }}",
                    AllowedPairs: JSON.stringify(pairs),
                },
            },
            outputs: [
                { Name: "RedrivenCount", Selector: "$.Payload.RedrivenCount", Type: "Integer" },
                { Name: "FailedCount", Selector: "$.Payload.FailedCount", Type: "Integer" },
            ],
        }],
        outputs: ["Redrive.RedrivenCount", "Redrive.FailedCount"],
    };
}

/** The `SESMail-Queue-HealthCheck-<env>` Automation document (pure), over `queues` (label → queue and DLQ URLs). */
export function healthCheckDocument(env: string, roleArn: string, queues: Record<string, { queue?: string; dlq: string }>): Record<string, unknown> {
    return {
        schemaVersion: "0.3",
        description: `Depths, ages and DLQ counts of every ses-mail queue (${env}), with a HEALTHY / UNHEALTHY verdict.`,
        assumeRole: roleArn,
        parameters: {},
        mainSteps: [{
            name: "CheckQueues",
            action: "aws:executeScript",
            inputs: { Runtime: PYTHON_RUNTIME, Handler: "handler", Script: runbookScript("queue_health.py"), InputPayload: { Queues: JSON.stringify(queues), MaxAgeSeconds: 300 } },
            outputs: [
                { Name: "HealthReport", Selector: "$.Payload.HealthReport", Type: "String" },
                { Name: "HealthStatus", Selector: "$.Payload.HealthStatus", Type: "String" },
            ],
        }],
        outputs: ["CheckQueues.HealthReport", "CheckQueues.HealthStatus"],
    };
}

/** Arguments of {@link Runbooks}. */
export interface RunbooksArgs {
    /** Environment name: documents are `SESMail-<purpose>-<env>`. @default the stack name (`pulumi.getStack()`) */
    env?: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Region whose IAM role name has no region part (see `globalPhysicalName`). @default every region's name has one */
    homeRegion?: string;
    /** label → queue and DLQ: every DLQ of the stack, those without a source queue (stream, EventBridge) too. */
    queues: Record<string, RunbookQueue>;
    /** Extra tags. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
}

/** SSM Automation runbooks `SESMail-DLQ-Redrive-<env>` and `SESMail-Queue-HealthCheck-<env>`, with their role. */
export class Runbooks extends pulumi.ComponentResource {
    /** The DLQ redrive document. */
    public readonly redrive: aws.ssm.Document;
    /** The queue health-check document. */
    public readonly healthCheck: aws.ssm.Document;
    /** The automation role: drain the DLQs, send to their source queues, read SQS metrics. */
    public readonly role: aws.iam.Role;

    constructor(name: string, args: RunbooksArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:Runbooks", name, {}, opts);
        const env = resolveEnv("Runbooks", args.env);
        const tags = standardTags(env, "Runbooks", args.tags);
        const entries = Object.entries(args.queues);
        const sources = entries.filter(([, q]) => q.queueArn !== undefined);
        // A DLQ without a source queue is only read by the health check: no receive, no delete.
        const checkedOnly = entries.filter(([, q]) => q.queueArn === undefined);
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const accountId = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        this.role = new aws.iam.Role(`${name}-role`, {
            name: region.apply((r) => globalPhysicalName("iamRole", { purpose: "runbooks", env, prefix: args.namePrefix, region: r, homeRegion: args.homeRegion })),
            // Automation assumes the role for executions in this account and region only (Systems
            // Manager User Guide, "Cross-service confused deputy prevention": automation-execution ARNs).
            assumeRolePolicy: assumeRolePolicy("ssm.amazonaws.com", {
                account: accountId,
                arn: pulumi.interpolate`arn:${partition}:ssm:${region}:${accountId}:automation-execution/*`,
            }),
            tags,
        }, { parent: this });
        new aws.iam.RolePolicy(`${name}-policy`, {
            role: this.role.id,
            policy: policyDocument([
                allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], sources.map(([, q]) => q.dlqArn)),
                allow(["sqs:SendMessage", "sqs:GetQueueAttributes"], sources.map(([, q]) => q.queueArn!)),
                allowOnAnyResource(["cloudwatch:GetMetricStatistics"]),
                ...(checkedOnly.length > 0 ? [allow(["sqs:GetQueueAttributes"], checkedOnly.map(([, q]) => q.dlqArn))] : []),
            ]),
        }, { parent: this });

        const urls = pulumi.output(entries.map(([label, q]) => pulumi.all([label, q.queueUrl, q.dlqUrl])));
        const pairs = urls.apply((list) => Object.fromEntries(list.filter(([, queue]) => queue).map(([, queue, dlq]) => [dlq, queue!])));
        const health = urls.apply((list) => Object.fromEntries(list.map(([label, queue, dlq]) => [label, { ...(queue ? { queue } : {}), dlq }])));
        const document = (suffix: string, purpose: string, content: pulumi.Output<Record<string, unknown>>) => new aws.ssm.Document(`${name}-${suffix}`, {
            name: `SESMail-${purpose}-${env}`,
            documentType: "Automation",
            documentFormat: "JSON",
            content: content.apply((c) => JSON.stringify(c)),
            tags,
        }, { parent: this });
        this.redrive = document("redrive", "DLQ-Redrive", pulumi.all([this.role.arn, pairs]).apply(([arn, p]) => redriveDocument(env, arn, p)));
        this.healthCheck = document("health-check", "Queue-HealthCheck", pulumi.all([this.role.arn, health]).apply(([arn, h]) => healthCheckDocument(env, arn, h)));
        this.registerOutputs({ redrive: this.redrive.name, healthCheck: this.healthCheck.name });
    }
}
