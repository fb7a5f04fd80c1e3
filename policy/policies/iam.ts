import * as aws from "@pulumi/aws";
import { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { WILDCARD_RESOURCE_ACTIONS, WILDCARD_RESOURCE_REQUIRED_CONDITIONS } from "../../components/iam";
import {
    actionMatches,
    allowsAction,
    ARN_PREFIX,
    asArray,
    conditionKeys,
    identityPolicies,
    matchesAnyResource,
    parseArn,
    PolicyDocStatement,
    restrictingValues,
    servicePrincipals,
    sourceScopeProblem,
    statementsOf,
} from "../documents";
import { attachedPolicyArns, ofType } from "../stack-resources";

function allowStatements(args: ResourceValidationArgs): { where: string; statement: PolicyDocStatement }[] {
    return identityPolicies(args.type, args.props).flatMap(({ where, statements }) =>
        statements.filter((statement) => statement.Effect === "Allow").map((statement) => ({ where, statement })));
}

export const iamNoWildcardActions: ResourceValidationPolicy = {
    name: "iam-no-wildcard-actions",
    description: "IAM policies name every action they allow: no `*`, no `service:*`, no NotAction.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "List the exact actions the code calls (the allow() builder in components/iam.ts enforces this).",
    validateResource: (args, reportViolation) => {
        for (const { where, statement } of allowStatements(args)) {
            const wildcards = asArray(statement.Action).filter((action) => action.includes("*"));
            if (wildcards.length > 0) {
                reportViolation(`${where} allows wildcard action(s) ${wildcards.join(", ")}.`);
            }
            if (statement.NotAction) {
                reportViolation(`${where} uses NotAction, which allows every other action.`);
            }
        }
    },
};

export const iamWildcardResourceExceptions: ResourceValidationPolicy = {
    name: "iam-wildcard-resource-exceptions",
    description: "IAM policies name the resources they allow actions on: `*` — or an ARN matching every resource of its kind, such as `arn:aws:s3:::*`, `role/*` or account `*` — only for actions AWS cannot scope to an ARN, with their required conditions.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Scope the statement to resource ARNs; only the actions listed in components/iam.ts (or the pack's extraActions) may use *.",
    configSchema: { properties: { extraActions: { type: "array", items: { type: "string" }, default: [] } } },
    validateResource: (args, reportViolation) => {
        const { extraActions } = args.getConfig<{ extraActions: string[] }>();
        for (const { where, statement } of allowStatements(args)) {
            const broad = statement.NotResource !== undefined ? "every resource" : asArray(statement.Resource).find(matchesAnyResource);
            if (broad === undefined) {
                continue;
            }
            for (const action of asArray(statement.Action)) {
                if (!(action in WILDCARD_RESOURCE_ACTIONS) && !extraActions.includes(action)) {
                    reportViolation(`${where} allows ${action} on ${broad === "*" ? "every resource" : broad}; scope it to ARNs.`);
                    continue;
                }
                const required = WILDCARD_RESOURCE_REQUIRED_CONDITIONS[action];
                if (required && !conditionKeys(statement).includes(required.toLowerCase())) {
                    reportViolation(`${where} allows ${action} on ${broad} without a ${required} condition.`);
                }
            }
        }
    },
};

// IAM actions that grant permissions to a user or role: allowed only when the request must set a
// permissions boundary (the actions that support iam:PermissionsBoundary in the Service
// Authorization Reference, "Actions, resources, and condition keys for IAM").
const GRANTS_NEEDING_BOUNDARY = [
    "iam:CreateUser", "iam:CreateRole", "iam:PutUserPolicy", "iam:PutRolePolicy", "iam:AttachUserPolicy", "iam:AttachRolePolicy",
    "iam:PutUserPermissionsBoundary", "iam:PutRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy",
];
// Grants no boundary condition can contain: they change a group, a managed policy or remove a boundary.
const UNBOUNDABLE_GRANTS = [
    "iam:PutGroupPolicy", "iam:AttachGroupPolicy", "iam:AddUserToGroup", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
    "iam:DeleteUserPermissionsBoundary", "iam:DeleteRolePermissionsBoundary",
];

/** Does the statement require the request's permissions boundary to be one named policy? */
function requiresBoundary(statement: PolicyDocStatement): boolean {
    const values = restrictingValues(statement, "iam:PermissionsBoundary").flatMap((c) => c.values);
    return values.length > 0 && values.every((value) => parseArn(value) !== undefined && !/[*?]/.test(value));
}

export const iamEscalationBounded: ResourceValidationPolicy = {
    name: "iam-escalation-bounded",
    description: "IAM policies that let a principal create users or roles or grant them permissions require a permissions boundary (iam:PermissionsBoundary condition), and never allow changing groups, managed policy versions or removing boundaries.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Add Condition StringEquals iam:PermissionsBoundary = the boundary policy's ARN to statements allowing CreateUser, PutUserPolicy and the like; drop group, policy-version and boundary-removal actions.",
    validateResource: (args, reportViolation) => {
        for (const { where, statement } of allowStatements(args)) {
            const unboundable = UNBOUNDABLE_GRANTS.filter((action) => allowsAction(statement, action));
            if (unboundable.length > 0) {
                reportViolation(`${where} allows ${unboundable.join(", ")}: a path to permissions beyond any boundary.`);
            }
            const unbounded = GRANTS_NEEDING_BOUNDARY.filter((action) => allowsAction(statement, action));
            if (unbounded.length > 0 && !requiresBoundary(statement)) {
                reportViolation(`${where} allows ${unbounded.join(", ")} without requiring a permissions boundary (iam:PermissionsBoundary): a path to admin.`);
            }
        }
    },
};

// AWS managed policies that amount to admin: everything, everything but IAM, or IAM itself.
const ADMIN_MANAGED_POLICY = new RegExp(`^${ARN_PREFIX}iam::aws:policy/(.*/)?(AdministratorAccess|PowerUserAccess|IAMFullAccess)$`);

/** Does a policy document allow every action, or every IAM action (a pattern matching the literal `iam:*` covers them all)? */
function grantsAdmin(statements: PolicyDocStatement[]): boolean {
    return statements.some((statement) => statement.Effect === "Allow" && (statement.NotAction !== undefined || asArray(statement.Action).some((action) => actionMatches(action, "iam:*"))));
}

export const iamManagedPolicyAttachments: StackValidationPolicy = {
    name: "iam-managed-policy-attachments",
    description: "Roles, users and groups get no admin-grade managed policy (AdministratorAccess, PowerUserAccess, IAMFullAccess, or one allowing `*` / `iam:*`), and only managed policies the stack defines (so the pack checks them) or that the pack's config lists.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Grant the exact actions in an inline policy (components/iam.ts), or define the managed policy in the stack; list a reviewed external policy ARN in allowedPolicyArns.",
    configSchema: { properties: { allowedPolicyArns: { type: "array", items: { type: "string" }, default: [] } } },
    validateStack: (args, reportViolation) => {
        const { allowedPolicyArns } = args.getConfig<{ allowedPolicyArns: string[] }>();
        const defined = ofType(args.resources, "aws:iam/policy:Policy");
        for (const resource of args.resources) {
            for (const arn of attachedPolicyArns(resource)) {
                const policy = defined.find((p) => p.props.arn === arn);
                if (ADMIN_MANAGED_POLICY.test(arn) || (policy && grantsAdmin(statementsOf(policy.props.policy)))) {
                    reportViolation(`${resource.type.split(":").pop()} ${resource.name} attaches ${arn}, which grants admin.`, resource.urn);
                } else if (!policy && !allowedPolicyArns.includes(arn)) {
                    reportViolation(`${resource.type.split(":").pop()} ${resource.name} attaches ${arn}, which the stack does not define and the pack's config does not allow.`, resource.urn);
                }
            }
        }
    },
};

export const iamNoAccessKeys: ResourceValidationPolicy = {
    name: "iam-no-access-keys",
    description: "No IAM access keys in the stack, except the SMTP users SmtpCredentials manages.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Use roles (Lambda, IRSA, SSO) instead of access keys; SMTP credentials come from SmtpCredentials.",
    validateResource: validateResourceOfType(aws.iam.AccessKey, (_key, args, reportViolation) => {
        if (!args.urn.includes("ses-mail:index:SmtpCredentials$")) {
            reportViolation("Static access key outside SmtpCredentials.");
        }
    }),
};

const DEFAULT_TRUSTED_SERVICES = [
    "lambda.amazonaws.com",
    "states.amazonaws.com",
    "pipes.amazonaws.com",
    "events.amazonaws.com",
    "scheduler.amazonaws.com",
    "ssm.amazonaws.com",
];

export const iamRoleTrustScoped: ResourceValidationPolicy = {
    name: "iam-role-trust-scoped",
    description: "Each role is assumable only by the one service it is for, on behalf of this account (aws:SourceAccount / aws:SourceArn), or, for IRSA, one federated identity with sub and aud conditions.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Trust a single service principal with an aws:SourceAccount condition (assumeRolePolicy in components/iam.ts), or a federated OIDC provider with :sub and :aud conditions.",
    configSchema: { properties: { trustedServices: { type: "array", items: { type: "string" }, default: DEFAULT_TRUSTED_SERVICES } } },
    validateResource: validateResourceOfType(aws.iam.Role, (role, args, reportViolation) => {
        const { trustedServices } = args.getConfig<{ trustedServices: string[] }>();
        const allows = statementsOf(role.assumeRolePolicy).filter((s) => s.Effect === "Allow");
        const services = new Set(allows.flatMap(servicePrincipals));
        for (const statement of allows) {
            const principal = statement.Principal;
            if (principal === "*" || (typeof principal === "object" && asArray(principal.AWS).includes("*"))) {
                reportViolation("Trust policy lets anyone assume the role.");
            } else if (typeof principal === "object" && principal.AWS !== undefined) {
                reportViolation(`Trust policy lets AWS principal(s) ${asArray(principal.AWS).join(", ")} assume the role; trust the service instead.`);
            } else if (typeof principal === "object" && principal.Federated !== undefined) {
                const keys = conditionKeys(statement);
                if (!keys.some((k) => k.endsWith(":sub")) || !keys.some((k) => k.endsWith(":aud"))) {
                    reportViolation("Federated trust without both :sub and :aud conditions lets any identity of the provider assume the role.");
                }
            }
            const problem = servicePrincipals(statement).length > 0 ? sourceScopeProblem(statement) : undefined;
            if (problem) {
                reportViolation(`Trust policy lets ${servicePrincipals(statement).join(", ")} assume the role for any account: ${problem}.`);
            }
        }
        for (const service of services) {
            if (!trustedServices.includes(service)) {
                reportViolation(`Trust policy names ${service}, which is not one of the trusted services (${trustedServices.join(", ")}).`);
            }
        }
        if (services.size > 1) {
            reportViolation(`Role is assumable by several services (${[...services].join(", ")}); give each service its own role.`);
        }
    }),
};
