import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";

/**
 * When Lambda stops accepting new functions (CreateFunction) and changes to existing ones
 * (UpdateFunctionCode / UpdateFunctionConfiguration) on each Node.js runtime, from the "Supported
 * runtimes" and "Deprecated runtimes" tables of https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
 * (deprecation policy: https://docs.aws.amazon.com/lambda/latest/dg/runtime-support-policy.html).
 * AWS publishes these as projected dates and has moved them before: update the table when the page
 * changes. A Node.js runtime older than every row is past its block dates.
 */
export const LAMBDA_RUNTIME_BLOCK_DATES: Readonly<Record<string, { deprecated: string; blockCreate: string; blockUpdate: string }>> = {
    "nodejs18.x": { deprecated: "2025-09-01", blockCreate: "2025-10-01", blockUpdate: "2025-11-01" },
    "nodejs20.x": { deprecated: "2026-04-30", blockCreate: "2026-06-01", blockUpdate: "2026-07-01" },
    "nodejs22.x": { deprecated: "2027-04-30", blockCreate: "2027-06-01", blockUpdate: "2027-07-01" },
    "nodejs24.x": { deprecated: "2028-04-30", blockCreate: "2028-06-01", blockUpdate: "2028-07-01" },
};

/** How long before a runtime's block date a function on it is reported: time to move and test. */
export const RUNTIME_WARNING_DAYS = 365;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Why `runtime` should be moved off at `now`, or undefined. Only Node.js runtimes are judged (the
 * ones this library builds for); a newer Node.js runtime than the table knows is fine.
 */
export function runtimeBlockProblem(runtime: string, now: Date): string | undefined {
    const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
    if (major === undefined) {
        return undefined;
    }
    const dates = LAMBDA_RUNTIME_BLOCK_DATES[runtime];
    if (!dates) {
        const known = Object.keys(LAMBDA_RUNTIME_BLOCK_DATES).map((r) => Number(/\d+/.exec(r)![0]));
        return Number(major) < Math.min(...known) ? `${runtime} is past Lambda's block dates: functions on it can no longer be created or updated.` : undefined;
    }
    // Dates are UTC days; the block applies from the start of that day.
    const blockCreate = Date.parse(`${dates.blockCreate}T00:00:00Z`);
    if (now.getTime() >= Date.parse(`${dates.blockUpdate}T00:00:00Z`)) {
        return `${runtime} is blocked: Lambda refuses creating functions on it since ${dates.blockCreate} and updating them since ${dates.blockUpdate}.`;
    }
    if (now.getTime() >= blockCreate) {
        return `${runtime} is blocked for new functions since ${dates.blockCreate}; updates are refused from ${dates.blockUpdate}.`;
    }
    const days = Math.ceil((blockCreate - now.getTime()) / DAY_MS);
    if (days <= RUNTIME_WARNING_DAYS) {
        return `${runtime} is within ${days} day(s) of its block date: Lambda refuses creating functions on it from ${dates.blockCreate} and updating them from ${dates.blockUpdate}.`;
    }
    return undefined;
}

export const lambdaRuntimeSupported: ResourceValidationPolicy = {
    name: "lambda-runtime-supported",
    description: `Lambda functions run on a Node.js runtime more than ${RUNTIME_WARNING_DAYS} days away from the date Lambda blocks creating functions on it.`,
    severity: "medium",
    // Advisory: the stack still deploys, but a new stack (or a new function) would fail once the
    // block date passes, so the warning comes a year ahead.
    enforcementLevel: "advisory",
    remediationSteps: "Move the function to a newer runtime (LambdaFunction uses LAMBDA_RUNTIME of components/bundle.ts) and test its bundle against it.",
    validateResource: validateResourceOfType(aws.lambda.Function, (fn, _args, reportViolation) => {
        const problem = fn.runtime === undefined ? undefined : runtimeBlockProblem(String(fn.runtime), new Date());
        if (problem) {
            reportViolation(problem);
        }
    }),
};
