import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allowOnAnyResource, assumeRolePolicy, LOG_DELIVERY_ACTIONS, policyDocument, PolicyStatement } from "./iam";
import { physicalName } from "./naming";

export interface StateMachineSpec {
    env: string;
    namePrefix?: string;
    /** Purpose part of the physical name. */
    purpose: string;
    /** The definition (ASL), given the state machine's own ARN. */
    definition: (selfArn: pulumi.Output<string>) => pulumi.Input<string>;
    /** What its tasks may do (least privilege, on ARNs), given its own ARN. */
    statements: (selfArn: pulumi.Output<string>) => pulumi.Input<PolicyStatement>[];
    /** @default "STANDARD" */
    type?: "STANDARD" | "EXPRESS";
    /** Log state inputs and outputs on errors (never for definitions that handle secrets). @default false */
    includeExecutionData?: boolean;
    logRetentionDays?: pulumi.Input<number>;
    tags: Record<string, string>;
}

/**
 * A state machine with its own role (its tasks' statements plus logs and X-Ray), an error log
 * group and tracing: the one way components create Step Functions.
 */
export function stateMachineWithRole(name: string, spec: StateMachineSpec, parent: pulumi.Resource): aws.sfn.StateMachine {
    const stateMachineName = physicalName("sfnStateMachine", { purpose: spec.purpose, env: spec.env, prefix: spec.namePrefix });
    const identity = aws.getCallerIdentityOutput({}, { parent });
    const region = aws.getRegionOutput({}, { parent });
    const selfArn = pulumi.interpolate`arn:aws:states:${region.region}:${identity.accountId}:stateMachine:${stateMachineName}`;

    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
        name: `/aws/vendedlogs/states/${stateMachineName}`,
        retentionInDays: spec.logRetentionDays ?? 30,
        tags: spec.tags,
    }, { parent });
    const role = new aws.iam.Role(`${name}-role`, {
        name: physicalName("iamRole", { purpose: `${spec.purpose}-sfn`, env: spec.env, prefix: spec.namePrefix }),
        assumeRolePolicy: assumeRolePolicy("states.amazonaws.com"),
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
        definition: spec.definition(selfArn),
        loggingConfiguration: { level: "ERROR", includeExecutionData: spec.includeExecutionData ?? false, logDestination: pulumi.interpolate`${logGroup.arn}:*` },
        tracingConfiguration: { enabled: true },
        tags: spec.tags,
    }, { parent, dependsOn: [rolePolicy] });
}
