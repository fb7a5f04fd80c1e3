import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allowOnAnyResource, assumeRolePolicy, LOG_DELIVERY_ACTIONS, policyDocument, PolicyStatement } from "./iam";
import { globalPhysicalName, physicalName } from "./naming";

/** A state machine with its role and log group, for `stateMachineWithRole`. */
export interface StateMachineSpec {
    /** Environment name. */
    env: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Region whose IAM role name has no region part (see `globalPhysicalName`). @default every region's name has one */
    homeRegion?: string;
    /** Purpose part of the physical name. */
    purpose: string;
    /** The definition (ASL), given the state machine's own ARN and the partition (for task resources). */
    definition: (selfArn: pulumi.Output<string>, partition: pulumi.Output<string>) => pulumi.Input<string>;
    /** What its tasks may do (least privilege, on ARNs), given its own ARN. */
    statements: (selfArn: pulumi.Output<string>) => pulumi.Input<PolicyStatement>[];
    /** @default "STANDARD" */
    type?: "STANDARD" | "EXPRESS";
    /** Log state inputs and outputs on errors (never for definitions that handle secrets). @default false */
    includeExecutionData?: boolean;
    /** Retention of its log group. @default 30 */
    logRetentionDays?: pulumi.Input<number>;
    /** Tags of the state machine, role and log group. */
    tags: Record<string, string>;
}

/**
 * `arn:<partition>:states:::<integration>`: the Resource of a Task calling a service integration,
 * e.g. `aws-sdk:sqs:receiveMessage` ("AWS SDK service integrations"; the partition is part of it,
 * `arn:aws-us-gov:states:::…` in GovCloud).
 */
export function serviceIntegration(partition: string, integration: string): string {
    return `arn:${partition}:states:::${integration}`;
}

/**
 * A state machine with its own role (its tasks' statements plus logs and X-Ray), an error log
 * group and tracing: the one way components create Step Functions.
 */
export function stateMachineWithRole(name: string, spec: StateMachineSpec, parent: pulumi.Resource): aws.sfn.StateMachine {
    const stateMachineName = physicalName("sfnStateMachine", { purpose: spec.purpose, env: spec.env, prefix: spec.namePrefix });
    const accountId = aws.getCallerIdentityOutput({}, { parent }).accountId;
    const region = aws.getRegionOutput({}, { parent }).region;
    const partition = aws.getPartitionOutput({}, { parent }).partition;
    const selfArn = pulumi.interpolate`arn:${partition}:states:${region}:${accountId}:stateMachine:${stateMachineName}`;

    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
        name: `/aws/vendedlogs/states/${stateMachineName}`,
        retentionInDays: spec.logRetentionDays ?? 30,
        tags: spec.tags,
    }, { parent });
    const role = new aws.iam.Role(`${name}-role`, {
        name: region.apply((r) => globalPhysicalName("iamRole", { purpose: `${spec.purpose}-sfn`, env: spec.env, prefix: spec.namePrefix, region: r, homeRegion: spec.homeRegion })),
        // Step Functions assumes the role for this state machine only ("Creating an IAM role for your
        // state machine", confused deputy prevention: aws:SourceArn is the state machine's ARN).
        // Its versions and aliases (`<arn>:<qualifier>`) run as the state machine too.
        assumeRolePolicy: assumeRolePolicy("states.amazonaws.com", { account: accountId, arn: [selfArn, pulumi.interpolate`${selfArn}:*`] }),
        tags: spec.tags,
    }, { parent });
    const rolePolicy = new aws.iam.RolePolicy(`${name}-policy`, {
        role: role.id,
        policy: policyDocument([
            ...spec.statements(selfArn),
            allowOnAnyResource(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]),
            allowOnAnyResource(LOG_DELIVERY_ACTIONS),
        ]),
    }, { parent });
    return new aws.sfn.StateMachine(name, {
        name: stateMachineName,
        type: spec.type ?? "STANDARD",
        roleArn: role.arn,
        definition: spec.definition(selfArn, partition),
        loggingConfiguration: { level: "ERROR", includeExecutionData: spec.includeExecutionData ?? false, logDestination: pulumi.interpolate`${logGroup.arn}:*` },
        tracingConfiguration: { enabled: true },
        tags: spec.tags,
    }, { parent, dependsOn: [rolePolicy] });
}
