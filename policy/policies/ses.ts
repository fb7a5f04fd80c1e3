import * as aws from "@pulumi/aws";
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { allowsAction, conditionValues, identityPolicies, PolicyDocStatement, restrictingValues } from "../documents";
import { attachedPolicyArns } from "../stack-resources";

export const receiptRuleScanningTls: ResourceValidationPolicy = {
    name: "ses-receipt-rule-scanning-tls",
    description: "SES receipt rules scan for spam and viruses and require TLS from sending servers.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set scanEnabled: true and tlsPolicy: \"Require\" on the receipt rule.",
    validateResource: validateResourceOfType(aws.ses.ReceiptRule, (rule, _args, reportViolation) => {
        if (rule.scanEnabled !== true) {
            reportViolation("Receipt rule does not scan for spam and viruses: set scanEnabled to true.");
        }
        if (rule.tlsPolicy !== "Require") {
            reportViolation("Receipt rule accepts mail without TLS: set tlsPolicy to Require.");
        }
    }),
};

const SENDING_ACTIONS = ["ses:SendEmail", "ses:SendRawEmail"];

/**
 * Problems with statements that allow sending: each must require `ses:FromAddress` to be one of
 * named addresses, so a credential can only send as the addresses it was issued for. Under
 * StringLike, `*` and `?` are wildcards (`*@example.com` sends as ceo@ and MAILER-DAEMON@); under
 * StringEquals they are literal. IfExists, negated and ForAllValues operators pass requests without
 * the key, so they restrict nothing. Shared with the SMTP credential manager's tests, which check
 * the policies it generates.
 */
export function sendingPolicyProblems(statements: PolicyDocStatement[]): string[] {
    return statements
        .filter((statement) => SENDING_ACTIONS.some((action) => allowsAction(statement, action)))
        .flatMap((statement) => {
            const name = `Statement${statement.Sid ? ` ${statement.Sid}` : ""}`;
            const conditions = restrictingValues(statement, "ses:FromAddress");
            if (conditions.length === 0) {
                return [`${name} allows sending without an ses:FromAddress condition.`];
            }
            const wildcards = conditions.filter((c) => c.operator.endsWith("Like")).flatMap((c) => c.values).filter((value) => /[*?]/.test(value));
            return wildcards.length > 0 ? [`${name} allows sending from any address matching ${wildcards.join(", ")}: name exact addresses.`] : [];
        });
}

/**
 * ARNs of the managed policies the stack uses only as permissions boundaries (an identity's
 * permissionsBoundary, or an iam:PermissionsBoundary condition): they cap, never grant. A policy
 * also attached to an identity grants, and is checked.
 */
function boundaryOnlyPolicyArns(resources: PolicyResource[]): Set<string> {
    const boundaries = resources.flatMap((resource) => [
        ...(["aws:iam/role:Role", "aws:iam/user:User"].includes(resource.type) ? [resource.props.permissionsBoundary] : []),
        ...identityPolicies(resource.type, resource.props)
            .flatMap(({ statements }) => statements)
            .flatMap((statement) => conditionValues(statement, "iam:PermissionsBoundary")),
    ]);
    const attached = new Set(resources.flatMap(attachedPolicyArns));
    return new Set(boundaries.filter((arn): arn is string => typeof arn === "string" && !attached.has(arn)));
}

export const smtpSendingFromAddress: StackValidationPolicy = {
    name: "ses-sending-from-address",
    description: "IAM policies (role, user, group and managed policies the stack defines) that allow ses:SendEmail / ses:SendRawEmail require ses:FromAddress to be one of named addresses: no condition, a wildcard (`*`, `?` under StringLike) or an IfExists / negated operator violates. Permissions boundaries are exempt: they cap what the granting policy allows.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Add Condition StringEquals ses:FromAddress = the exact allowed sender addresses.",
    validateStack: (args, reportViolation) => {
        const boundaries = boundaryOnlyPolicyArns(args.resources);
        for (const resource of args.resources.filter((r) => !(r.type === "aws:iam/policy:Policy" && boundaries.has(r.props.arn)))) {
            for (const { where, statements } of identityPolicies(resource.type, resource.props)) {
                for (const problem of sendingPolicyProblems(statements)) {
                    reportViolation(`${resource.name} ${where}: ${problem}`, resource.urn);
                }
            }
        }
    },
};

export const configurationSetTls: ResourceValidationPolicy = {
    name: "ses-configuration-set-tls",
    description: "SES configuration sets require TLS for delivery to recipients' servers.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Set deliveryOptions.tlsPolicy to REQUIRE (SESv2) or Require (SES v1).",
    validateResource: [
        validateResourceOfType(aws.sesv2.ConfigurationSet, (set, _args, reportViolation) => {
            if (set.deliveryOptions?.tlsPolicy !== "REQUIRE") {
                reportViolation("Configuration set does not require TLS: set deliveryOptions.tlsPolicy to REQUIRE.");
            }
        }),
        validateResourceOfType(aws.ses.ConfigurationSet, (set, _args, reportViolation) => {
            if (set.deliveryOptions?.tlsPolicy !== "Require") {
                reportViolation("Configuration set does not require TLS: set deliveryOptions.tlsPolicy to Require.");
            }
        }),
    ],
};
