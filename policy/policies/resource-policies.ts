import type { ResourceValidationPolicy } from "@pulumi/policy";
import { appliesToAnyone, resourcePolicyStatements, servicePrincipals, sourceScopeProblem } from "../documents";

const label = (statement: { Sid?: string }) => `Statement${statement.Sid ? ` ${statement.Sid}` : ""}`;

export const resourcePolicyNotPublic: ResourceValidationPolicy = {
    name: "resource-policy-not-public",
    description: "Topic, queue, bucket, KMS key and event bus policies allow nothing to Principal * (or a wildcard principal, or NotPrincipal); only Deny statements, such as the TLS deny, may name everyone.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Name the principals that need access (a role ARN, or a service principal with aws:SourceArn / aws:SourceAccount).",
    validateResource: (args, reportViolation) => {
        for (const statement of resourcePolicyStatements(args.type, args.props)) {
            if (statement.Effect === "Allow" && appliesToAnyone(statement)) {
                reportViolation(`${label(statement)} allows ${JSON.stringify(statement.Action ?? statement.NotAction)} to anyone.`);
            }
        }
    },
};

export const resourcePolicyServiceScoped: ResourceValidationPolicy = {
    name: "resource-policy-service-scoped",
    description: "Topic, queue, bucket, KMS key and event bus policies that let an AWS service act tie it to this account's resources with aws:SourceArn or aws:SourceAccount (confused-deputy protection).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Add Condition ArnEquals aws:SourceArn = the topic, rule or pipe ARN (allowServicePrincipal in components/iam.ts does), or StringEquals aws:SourceAccount = the account.",
    validateResource: (args, reportViolation) => {
        for (const statement of resourcePolicyStatements(args.type, args.props)) {
            const services = servicePrincipals(statement);
            const problem = statement.Effect === "Allow" && services.length > 0 ? sourceScopeProblem(statement) : undefined;
            if (problem) {
                reportViolation(`${label(statement)} lets ${services.join(", ")} act for any account: ${problem}.`);
            }
        }
    },
};
