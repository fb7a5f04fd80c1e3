// Offline plan of a stack: runs the stack program under Pulumi mocks with Pulumi.<stack>.yaml and
// prints what `pulumi up` would create. Needs no AWS account and no Pulumi CLI.
import { parseArgs } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { bundleFunction } from "../components/bundle";
import { sesMailPolicies } from "../policy/policies";
import { readPackConfig, runPolicies } from "../policy/runner";
import { StackConfigError } from "../stacks/config";
import type { RecordedResource } from "../tests/support/mocks";
import { listStacks, runStack } from "../tests/support/stack";

const SUMMARIES: Record<string, (inputs: Record<string, any>) => string> = {
    "aws:dynamodb/table:Table": (i) => [
        i.billingMode,
        `key ${i.hashKey}${i.rangeKey ? `+${i.rangeKey}` : ""}`,
        ...(i.globalSecondaryIndexes ?? []).map((g: any) => `GSI ${g.name}`),
        i.ttl?.enabled ? `TTL ${i.ttl.attributeName}` : "no TTL",
        i.pointInTimeRecovery?.enabled ? "PITR" : "no PITR",
        i.serverSideEncryption?.kmsKeyArn ? "SSE customer key" : "SSE aws/dynamodb",
        i.streamEnabled ? `stream ${i.streamViewType}` : "",
        i.deletionProtectionEnabled ? "deletion-protected" : "",
    ].filter(Boolean).join(", "),
    "aws:lambda/function:Function": (i) =>
        `${i.runtime} ${i.architectures?.join(",")} ${i.memorySize} MB ${i.timeout} s, tracing ${i.tracingConfig?.mode}, ` +
        `bundle ${(bundleFunction(i.environment.variables.POWERTOOLS_SERVICE_NAME).code.length / 1024).toFixed(0)} KiB`,
    "aws:sqs/queue:Queue": (i) => [
        `retention ${Math.round(i.messageRetentionSeconds / 86400)} d`,
        i.visibilityTimeoutSeconds ? `visibility ${i.visibilityTimeoutSeconds} s` : "",
        i.redrivePolicy ? `redrive after ${JSON.parse(i.redrivePolicy).maxReceiveCount}` : "",
        i.kmsMasterKeyId ? "SSE-KMS" : i.sqsManagedSseEnabled ? "SSE-SQS" : "UNENCRYPTED",
    ].filter(Boolean).join(", "),
    "aws:cloudwatch/logGroup:LogGroup": (i) => `retention ${i.retentionInDays} d`,
    "aws:scheduler/schedule:Schedule": (i) => `${i.scheduleExpression} → ${String(i.target?.arn).split(":").pop()}`,
    "aws:sfn/stateMachine:StateMachine": (i) => `${i.type ?? "STANDARD"}, ${JSON.parse(i.definition).QueryLanguage ?? "JSONPath"}, tracing ${i.tracingConfiguration?.enabled ? "on" : "off"}`,
    "aws:cloudwatch/metricAlarm:MetricAlarm": (i) => i.metricName ? `${i.metricName} ${i.comparisonOperator} ${i.threshold}, missing ${i.treatMissingData}` : `expression ${i.comparisonOperator} ${i.threshold}`,
    "aws:lambda/eventSourceMapping:EventSourceMapping": (i) =>
        `batch ${i.batchSize}, retries ${i.maximumRetryAttempts}, on failure → ${String(i.destinationConfig?.onFailure?.destinationArn).split(":").pop()}`,
};

function row(resource: RecordedResource): string[] {
    const physical = String(resource.inputs.name ?? resource.inputs.bucket ?? "");
    return [resource.type, resource.name, physical, SUMMARIES[resource.type]?.(resource.inputs) ?? ""];
}

function table(rows: string[][]): string {
    const widths = rows[0].map((_, column) => Math.max(...rows.map((r) => r[column].length)));
    return rows.map((r) => r.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()).join("\n");
}

async function main(): Promise<number> {
    const { values } = parseArgs({ options: { stack: { type: "string", default: "test" } } });
    const stack = values.stack!;
    if (!listStacks().includes(stack)) {
        console.error(`No stack "${stack}": choose one of ${listStacks().join(", ")} (npm run preview -- --stack <name>).`);
        return 2;
    }
    try {
        const { plan, outputs } = await runStack(stack);
        const custom = plan.resources.filter((r) => r.custom);
        console.log(`Plan for stack "${stack}" (offline, Pulumi mocks): ${custom.length} resources in ${plan.resources.length - custom.length} components\n`);
        console.log(table([["TYPE", "LOGICAL NAME", "PHYSICAL NAME", "KEY PROPERTIES"], ...plan.resources.map(row)]));
        console.log("\nOutputs:");
        for (const [key, value] of Object.entries(outputs)) {
            const shown = value === undefined ? "(not created)" : pulumi.Output.isInstance(value) || typeof value === "object" && value !== null && Object.values(value).some((v) => pulumi.Output.isInstance(v)) ? "(known after up)" : JSON.stringify(value);
            console.log(`  ${key}: ${shown}`);
        }
        const violations = await runPolicies(plan.resources, sesMailPolicies, { config: readPackConfig() });
        const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
        console.log(`\nPolicy pack ses-mail (${sesMailPolicies.length} policies): ${mandatory.length} mandatory, ${violations.length - mandatory.length} advisory violations`);
        for (const v of violations) {
            console.log(`  [${v.enforcementLevel}] ${v.policyName}: ${v.message}${v.urn ? `\n      ${v.urn}` : ""}`);
        }
        return mandatory.length > 0 ? 1 : 0;
    } catch (error) {
        if (error instanceof StackConfigError) {
            console.error(error.message);
            return 1;
        }
        throw error;
    }
}

main().then((code) => process.exit(code), (error) => {
    console.error(error);
    process.exit(1);
});
