import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { sourceScopeProblem } from "../documents";
import { credentialIn } from "../secrets";
import { findQueue, ofType } from "../stack-resources";

export const lambdaXrayTracing: ResourceValidationPolicy = {
    name: "lambda-xray-tracing",
    description: "Lambda functions have X-Ray active tracing.",
    severity: "low",
    enforcementLevel: "mandatory",
    remediationSteps: "Set tracingConfig: { mode: \"Active\" } (LambdaFunction does).",
    validateResource: validateResourceOfType(aws.lambda.Function, (fn, _args, reportViolation) => {
        if (fn.tracingConfig?.mode !== "Active") {
            reportViolation("X-Ray tracing is not active: set tracingConfig.mode to Active.");
        }
    }),
};

export const lambdaLogGroupRetention: StackValidationPolicy = {
    name: "lambda-log-group-retention",
    description: "Every Lambda function logs to a log group created in the stack, with a retention period.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Create an aws.cloudwatch.LogGroup with retentionInDays and point loggingConfig.logGroup at it (LambdaFunction does).",
    validateStack: (args, reportViolation) => {
        const logGroups = ofType(args.resources, "aws:cloudwatch/logGroup:LogGroup");
        for (const fn of ofType(args.resources, "aws:lambda/function:Function")) {
            const name = fn.props.loggingConfig?.logGroup ?? `/aws/lambda/${fn.props.name}`;
            const group = logGroups.find((g) => g.props.name === name);
            if (!group) {
                reportViolation(`Function ${fn.props.name} logs to ${name}, which the stack does not create: Lambda would create it with no retention.`, fn.urn);
            } else if (!(group.props.retentionInDays > 0)) {
                reportViolation(`Log group ${name} of function ${fn.props.name} keeps logs forever: set retentionInDays.`, fn.urn);
            }
        }
    },
};

// Names that announce a secret, unless they point at where the secret is kept.
const SECRET_NAME = /(token|secret|password|passwd|credential|private_?key|api_?key|access_?key)/i;
const REFERENCE_SUFFIX = /(_PARAMETER|_PARAM|_PARAMETER_NAME|_ARN|_NAME|_PATH|_ID|_PREFIX)$/i;

export const lambdaNoPlaintextSecrets: ResourceValidationPolicy = {
    name: "lambda-no-plaintext-secrets",
    description: "Lambda environment variables hold no plaintext secrets: no variable named like one, and no value shaped like a credential (AWS keys, private keys, OAuth client secrets and tokens, Slack/GitHub tokens, long random strings) whatever its name; secrets live in SSM SecureString.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Store the secret in an SSM SecureString parameter and pass its name (e.g. TOKEN_PARAMETER) instead.",
    validateResource: validateResourceOfType(aws.lambda.Function, (fn, _args, reportViolation) => {
        for (const [key, value] of Object.entries(fn.environment?.variables ?? {})) {
            const text = String(value);
            if (SECRET_NAME.test(key) && !REFERENCE_SUFFIX.test(key) && text !== "") {
                reportViolation(`Environment variable ${key} looks like a plaintext secret.`);
            } else {
                const credential = credentialIn(text);
                if (credential) {
                    reportViolation(`Environment variable ${key} holds ${credential}.`);
                }
            }
        }
    }),
};

export const lambdaTimeoutWithinVisibility: StackValidationPolicy = {
    name: "lambda-timeout-within-visibility",
    description: "A function consuming an SQS queue has a timeout of at most 1/6 of the queue's visibility timeout (AWS's guidance), so messages are not redelivered while still being processed.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Raise the queue's visibilityTimeoutSeconds to 6 × the function timeout (QueueWithDlq's consumerTimeoutSeconds does).",
    validateStack: (args, reportViolation) => {
        const functions = ofType(args.resources, "aws:lambda/function:Function");
        for (const mapping of ofType(args.resources, "aws:lambda/eventSourceMapping:EventSourceMapping")) {
            const queue = findQueue(args.resources, mapping.props.eventSourceArn);
            const fn = functions.find((f) => [f.props.arn, f.props.name].includes(mapping.props.functionName));
            if (!queue || !fn) {
                continue;
            }
            const timeout = fn.props.timeout ?? 3;
            const visibility = queue.props.visibilityTimeoutSeconds ?? 30;
            if (timeout * 6 > visibility) {
                reportViolation(`Function ${fn.props.name} (timeout ${timeout} s) consumes ${queue.props.name} (visibility ${visibility} s): the visibility timeout must be at least ${timeout * 6} s.`, mapping.urn);
            }
        }
    },
};

export const lambdaPermissionScoped: ResourceValidationPolicy = {
    name: "lambda-permission-scoped",
    description: "Lambda permissions name who may invoke: never Principal *, and an AWS service only with a sourceArn of this account (plus sourceAccount for S3, whose ARNs carry no account).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set sourceArn to the rule, topic or bucket ARN that invokes the function (and sourceAccount for S3).",
    validateResource: validateResourceOfType(aws.lambda.Permission, (permission, _args, reportViolation) => {
        const principal = String(permission.principal);
        if (principal.includes("*")) {
            reportViolation(`Anyone may call ${permission.action} on the function.`);
            return;
        }
        if (!/\.amazonaws\.com(\.cn)?$/.test(principal)) {
            return;
        }
        if (permission.sourceArn === undefined) {
            reportViolation(`${principal} may invoke the function on behalf of any resource of any account: set sourceArn.`);
            return;
        }
        // AddPermission turns sourceArn / sourceAccount into aws:SourceArn / aws:SourceAccount conditions.
        const problem = sourceScopeProblem({
            Effect: "Allow",
            Condition: {
                ArnLike: { "aws:SourceArn": String(permission.sourceArn) },
                ...(permission.sourceAccount === undefined ? {} : { StringEquals: { "aws:SourceAccount": String(permission.sourceAccount) } }),
            },
        });
        if (problem) {
            reportViolation(`${principal} may invoke the function for any account: ${problem}.`);
        }
    }),
};
