import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { actionMatches, asArray, conditionKeys, identityPolicies, PolicyDocStatement } from "../documents";

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
 * Problems with statements that allow sending: each must carry an `ses:FromAddress` condition so
 * a credential can only send as the addresses it was issued for. Shared with SmtpCredentials,
 * which checks the policies it generates at run time.
 */
export function sendingPolicyProblems(statements: PolicyDocStatement[]): string[] {
    return statements
        .filter((statement) => statement.Effect === "Allow")
        .filter((statement) => asArray(statement.Action).some((action) => SENDING_ACTIONS.some((sending) => actionMatches(action, sending))))
        .filter((statement) => !conditionKeys(statement).includes("ses:fromaddress"))
        .map((statement) => `Statement${statement.Sid ? ` ${statement.Sid}` : ""} allows sending without an ses:FromAddress condition.`);
}

export const smtpSendingFromAddress: ResourceValidationPolicy = {
    name: "ses-sending-from-address",
    description: "IAM policies that allow ses:SendEmail / ses:SendRawEmail restrict the From address with an ses:FromAddress condition.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Add Condition StringLike ses:FromAddress = the allowed sender addresses.",
    validateResource: (args, reportViolation) => {
        for (const { where, statements } of identityPolicies(args.type, args.props)) {
            for (const problem of sendingPolicyProblems(statements)) {
                reportViolation(`${where}: ${problem}`);
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
