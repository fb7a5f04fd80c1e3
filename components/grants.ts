// Grants in the style of CDK's `table.grantRead(role)`: a component attaches to a user's role one
// inline policy with exactly what a runtime client of it calls, instead of the user assembling
// statements by hand.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allow, policyDocument, PolicyStatement } from "./iam";

/** The role to grant to: a role of the same program, or the name of an existing role. */
export type GrantRole = aws.iam.Role | string;

/** Options of a component's `grant…` methods. */
export interface GrantOptions {
    /**
     * Last part of the policy's resource name (`<component>-<purpose>-<name>`), instead of the
     * role's resource name (or the role name given). Needed only to grant two roles of the same
     * resource name (children of different components). @default the role's resource name
     */
    name?: string;
}

/** The grants made so far, per component, by resource name: a second identical grant reuses the first. */
const made = new WeakMap<pulumi.Resource, Map<string, { role: GrantRole; policy: aws.iam.RolePolicy }>>();

/**
 * One `aws.iam.RolePolicy` named `<component>-<purpose>-<role>`, child of `component` (so it takes
 * the component's provider), holding `statements`. Granting the same thing to the same role twice
 * returns the first policy (one URN); two different roles that would share a name are refused with
 * the fix rather than failing `pulumi up` on a duplicate URN.
 */
export function grantRolePolicy(
    component: pulumi.ComponentResource,
    purpose: string,
    role: GrantRole,
    statements: pulumi.Input<pulumi.Input<PolicyStatement>[]>,
    options: GrantOptions = {},
): aws.iam.RolePolicy {
    const roleKey = options.name ?? (typeof role === "string" ? role : pulumi.resourceName(role));
    const name = `${pulumi.resourceName(component)}-${purpose}-${roleKey}`;
    const grants = made.get(component) ?? new Map<string, { role: GrantRole; policy: aws.iam.RolePolicy }>();
    made.set(component, grants);
    const existing = grants.get(name);
    if (existing) {
        if (existing.role !== role) {
            throw new Error(`${name}: another role was granted ${purpose} under this name already; pass { name: "<unique>" } to tell the two apart.`);
        }
        return existing.policy;
    }
    const policy = new aws.iam.RolePolicy(name, {
        role: typeof role === "string" ? role : role.id,
        policy: policyDocument(statements),
    }, { parent: component });
    grants.set(name, { role, policy });
    return policy;
}

/**
 * KMS statements for a table's customer key, read from the table itself (a transform may have set
 * one): none for the AWS-owned or AWS-managed key, whose use needs no IAM permission.
 */
export function tableKeyStatements(table: aws.dynamodb.Table, actions: string[]): pulumi.Output<PolicyStatement[]> {
    return table.serverSideEncryption.apply((sse) => (sse?.enabled && sse.kmsKeyArn ? [allow(actions, [sse.kmsKeyArn])] : []));
}

/** Statements plus some computed ones, as one Input for {@link grantRolePolicy}. */
export function withStatements(statements: PolicyStatement[], more: pulumi.Output<PolicyStatement[]>): pulumi.Output<PolicyStatement[]> {
    return more.apply((extra) => [...statements, ...extra]);
}
