import * as aws from "@pulumi/aws";
import { ResourceValidationArgs, ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { WILDCARD_RESOURCE_ACTIONS, WILDCARD_RESOURCE_REQUIRED_CONDITIONS } from "../../components/iam";
import { asArray, conditionKeys, identityPolicies, PolicyDocStatement, servicePrincipals, statementsOf } from "../documents";

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
    description: "IAM policies use `Resource: *` only for actions AWS cannot scope to an ARN, with their required conditions.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Scope the statement to resource ARNs; only the actions listed in components/iam.ts (or the pack's extraActions) may use *.",
    configSchema: { properties: { extraActions: { type: "array", items: { type: "string" }, default: [] } } },
    validateResource: (args, reportViolation) => {
        const { extraActions } = args.getConfig<{ extraActions: string[] }>();
        for (const { where, statement } of allowStatements(args)) {
            if (!asArray(statement.Resource).includes("*") && statement.NotResource === undefined) {
                continue;
            }
            for (const action of asArray(statement.Action)) {
                if (!(action in WILDCARD_RESOURCE_ACTIONS) && !extraActions.includes(action)) {
                    reportViolation(`${where} allows ${action} on every resource; scope it to ARNs.`);
                    continue;
                }
                const required = WILDCARD_RESOURCE_REQUIRED_CONDITIONS[action];
                if (required && !conditionKeys(statement).includes(required.toLowerCase())) {
                    reportViolation(`${where} allows ${action} on * without a ${required} condition.`);
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
    description: "Each role is assumable only by the one service it is for (or, for IRSA, one federated identity with sub and aud conditions).",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Trust a single service principal (assumeRolePolicy in components/iam.ts), or a federated OIDC provider with :sub and :aud conditions.",
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
