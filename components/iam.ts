import * as pulumi from "@pulumi/pulumi";

/**
 * Actions that AWS only authorises on `Resource: "*"` (no resource-level permissions), with the
 * reason. The policy pack reads this list too, so the exceptions live in exactly one place.
 */
export const WILDCARD_RESOURCE_ACTIONS: Readonly<Record<string, string>> = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "cloudwatch:PutMetricData": "scoped by the cloudwatch:namespace condition instead",
    "ses:PutSuppressedDestination": "the account-level suppression list has no ARN",
    "ses:DeleteSuppressedDestination": "the account-level suppression list has no ARN",
    "ses:GetSuppressedDestination": "the account-level suppression list has no ARN",
    "ses:GetAccount": "the account's sending quota and status have no ARN (Service Authorization Reference, Amazon SES v2: GetAccount has no resource type)",
    // Step Functions and Pipes deliver logs through CloudWatch Logs' vended-log delivery, which has
    // no resource-level permissions.
    "logs:CreateLogDelivery": "vended log delivery has no resource-level permissions",
    "logs:GetLogDelivery": "vended log delivery has no resource-level permissions",
    "logs:UpdateLogDelivery": "vended log delivery has no resource-level permissions",
    "logs:DeleteLogDelivery": "vended log delivery has no resource-level permissions",
    "logs:ListLogDeliveries": "vended log delivery has no resource-level permissions",
    "logs:PutResourcePolicy": "vended log delivery has no resource-level permissions",
    "logs:DescribeResourcePolicies": "vended log delivery has no resource-level permissions",
    "logs:DescribeLogGroups": "vended log delivery has no resource-level permissions",
    "cloudwatch:GetMetricStatistics": "CloudWatch metric reads have no resource-level permissions",
};

/** Everything a service needs to deliver its logs to CloudWatch Logs (Step Functions, Pipes). */
export const LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
];

/** Actions that may use `*` only together with the named condition key. */
export const WILDCARD_RESOURCE_REQUIRED_CONDITIONS: Readonly<Record<string, string>> = {
    "cloudwatch:PutMetricData": "cloudwatch:namespace",
};

/** An IAM `Condition` block: operator → condition key → value(s). */
export type ConditionBlock = Record<string, Record<string, pulumi.Input<string | boolean> | pulumi.Input<string>[]>>;

/** An IAM `Principal` other than `*`. */
export interface PrincipalSpec {
    /** Service principals, e.g. `lambda.amazonaws.com`. */
    Service?: string | string[];
    /** Account, role or user ARNs. */
    AWS?: pulumi.Input<string> | pulumi.Input<string>[];
    /** An OIDC or SAML provider ARN. */
    Federated?: pulumi.Input<string>;
}

/** One statement of a JSON policy document. Resource policies set `Principal`. */
export interface PolicyStatement {
    /** Statement id. @default none */
    Sid?: string;
    /** Allow or Deny. */
    Effect: "Allow" | "Deny";
    /** Who (resource and trust policies only). @default none (identity policies) */
    Principal?: "*" | PrincipalSpec;
    /** Actions, named one by one (the policy pack refuses wildcards). */
    Action: string[];
    /** ARNs; `*` only for actions AWS cannot scope. @default none (trust policies) */
    Resource?: pulumi.Input<string>[] | "*";
    /** Conditions. @default none */
    Condition?: ConditionBlock;
}

function assertNoWildcardAction(actions: string[]): void {
    if (actions.length === 0) {
        throw new Error("A policy statement needs at least one action.");
    }
    for (const action of actions) {
        if (action.includes("*") || !/^[a-z0-9-]+:[A-Za-z0-9]+$/.test(action)) {
            throw new Error(`IAM action "${action}" is not allowed: name each action exactly (service:Action), never a wildcard.`);
        }
    }
}

/** Allow `actions` on the given resource ARNs. Never a wildcard action; never an empty resource list. */
export function allow(actions: string[], resources: pulumi.Input<string>[], condition?: ConditionBlock): PolicyStatement {
    assertNoWildcardAction(actions);
    if (resources.length === 0) {
        throw new Error(`allow(${actions.join(", ")}) needs at least one resource ARN.`);
    }
    return { Effect: "Allow", Action: actions, Resource: resources, ...(condition ? { Condition: condition } : {}) };
}

/**
 * Allow actions that AWS only authorises on `*` (see {@link WILDCARD_RESOURCE_ACTIONS}). Anything
 * else, or a required condition left out, is an error rather than a silent widening.
 */
export function allowOnAnyResource(actions: string[], condition?: ConditionBlock): PolicyStatement {
    assertNoWildcardAction(actions);
    for (const action of actions) {
        if (!(action in WILDCARD_RESOURCE_ACTIONS)) {
            throw new Error(`"${action}" supports resource-level permissions: grant it on ARNs with allow().`);
        }
        const key = WILDCARD_RESOURCE_REQUIRED_CONDITIONS[action];
        if (key && !Object.values(condition ?? {}).some((block) => key in block)) {
            throw new Error(`"${action}" on "*" needs a ${key} condition.`);
        }
    }
    return { Effect: "Allow", Action: actions, Resource: "*", ...(condition ? { Condition: condition } : {}) };
}

/** `cloudwatch:PutMetricData` limited to one namespace. */
export function allowPutMetricData(namespace: pulumi.Input<string>): PolicyStatement {
    return allowOnAnyResource(["cloudwatch:PutMetricData"], { StringEquals: { "cloudwatch:namespace": namespace } });
}

/**
 * Resource-policy statement that denies every request not made over TLS. The wildcard action is
 * deliberate: a deny must cover every action of the service.
 */
export function denyInsecureTransport(service: "s3" | "sqs" | "sns", resources: pulumi.Input<string>[]): PolicyStatement {
    return {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: [`${service}:*`],
        Resource: resources,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
}

/**
 * Resource-policy statement letting an AWS service principal act on a resource, only on behalf of
 * the named source resources (confused-deputy protection via `aws:SourceArn`).
 */
export function allowServicePrincipal(
    service: string,
    actions: string[],
    resources: pulumi.Input<string>[],
    sourceArns: pulumi.Input<string>[],
    /** ArnLike when the sources are a pattern (e.g. every alarm of the account). @default "ArnEquals" */
    match: "ArnEquals" | "ArnLike" = "ArnEquals",
): PolicyStatement {
    assertNoWildcardAction(actions);
    if (sourceArns.length === 0) {
        throw new Error(`Granting ${service} access needs at least one source ARN for the aws:SourceArn condition.`);
    }
    return {
        Effect: "Allow",
        Principal: { Service: service },
        Action: actions,
        Resource: resources,
        Condition: { [match]: { "aws:SourceArn": sourceArns } },
    };
}

/** On whose behalf a service may assume a role (IAM User Guide, "The confused deputy problem"). */
export interface AssumeRoleSource {
    /** `aws:SourceAccount`: the account whose resources act through the role. */
    account: pulumi.Input<string>;
    /** `aws:SourceArn` (ArnLike, so `…:automation-execution/*` works; any of a list) where the service documents it. @default not checked */
    arn?: pulumi.Input<string> | pulumi.Input<string>[];
}

/**
 * Trust policy letting one AWS service assume a role, only for resources of `source.account` (and
 * `source.arn`): another account cannot make the service act with this role.
 */
export function assumeRolePolicy(service: string, source: AssumeRoleSource): pulumi.Output<string> {
    return policyDocument([{
        Effect: "Allow",
        Principal: { Service: service },
        Action: ["sts:AssumeRole"],
        Condition: {
            StringEquals: { "aws:SourceAccount": source.account },
            ...(source.arn !== undefined ? { ArnLike: { "aws:SourceArn": source.arn } } : {}),
        },
    }]);
}

/** Serialises statements (with nested Inputs) into a JSON policy document. */
export function policyDocument(statements: pulumi.Input<pulumi.Input<PolicyStatement>[]>): pulumi.Output<string> {
    return pulumi.output(statements).apply((resolved) => JSON.stringify({ Version: "2012-10-17", Statement: resolved }));
}

/** The account principal (`arn:<partition>:iam::<account>:root`): in a Principal, the whole account; as aws:PrincipalArn, its root user. */
export function accountRootArn(accountId: pulumi.Input<string>, partition: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.interpolate`arn:${partition}:iam::${accountId}:root`;
}

/**
 * Key-policy statement letting the account administer its key through IAM. Every key policy needs
 * it (without it the key becomes unmanageable), which is why `kms:*` appears here and nowhere else.
 */
export function accountKeyAdministration(accountId: pulumi.Input<string>, partition: pulumi.Input<string>): PolicyStatement {
    return {
        Sid: "AccountAdministersKeyThroughIam",
        Effect: "Allow",
        Principal: { AWS: accountRootArn(accountId, partition) },
        Action: ["kms:*"],
        Resource: "*",
    };
}

/**
 * Key-policy statement denying `actions` on the key to every principal but `exempt` (to everyone
 * when there is none), whatever their IAM policies allow: an explicit Deny wins. Principals are
 * matched on aws:PrincipalArn, which for an assumed-role session is the IAM role's ARN (path
 * included), never the sts assumed-role ARN ("AWS global condition context keys").
 */
export function denyKeyActionsExcept(sid: string, actions: string[], exempt: pulumi.Input<string>[], only?: ConditionBlock): PolicyStatement {
    assertNoWildcardAction(actions);
    // Conditions of one statement all hold for the deny to apply: `only` narrows it (e.g. to one encryption context).
    const condition: ConditionBlock = { ...(exempt.length ? { ArnNotEquals: { "aws:PrincipalArn": exempt } } : {}), ...(only ?? {}) };
    return {
        Sid: sid,
        Effect: "Deny",
        Principal: "*",
        Action: actions,
        Resource: "*",
        ...(Object.keys(condition).length ? { Condition: condition } : {}),
    };
}

/** Key-policy statement letting an AWS service use the key on this account's behalf only. */
export function allowServiceKeyUse(service: string, actions: string[], accountId: pulumi.Input<string>): PolicyStatement {
    assertNoWildcardAction(actions);
    return {
        Sid: `${service.split(".")[0]}UsesKey`,
        Effect: "Allow",
        Principal: { Service: service },
        Action: actions,
        Resource: "*",
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
    };
}

/** What Powertools Idempotency's DynamoDB persistence layer calls: get, put (conditional), update, delete. */
export const IDEMPOTENCY_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"];

/**
 * The idempotency table's item actions on one function's records only. Powertools keys a record
 * `<function name>#<hash>` (the persistence layer's prefix is AWS_LAMBDA_FUNCTION_NAME unless a
 * keyPrefix is given), and `dynamodb:LeadingKeys` is the partition key value of the request ("Using
 * IAM policy conditions for fine-grained access control", DynamoDB Developer Guide). Functions that
 * share a table then cannot read, complete or delete each other's records. Every granted action
 * names its key, so ForAllValues never meets an empty key set.
 */
export function idempotencyStatement(tableArn: pulumi.Input<string>, functionName: string): PolicyStatement {
    return allow(IDEMPOTENCY_ACTIONS, [tableArn], { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${functionName}#*`] } });
}
