// Which configuration set and senders table `ses-mail sending` works on: a stack (Pulumi.<stack>.yaml),
// an environment (the components' own naming), or the stack's outputs (`pulumi stack output --json`).
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_PREFIX, physicalName } from "../components/naming";
import { DEFAULT_QUOTA_THRESHOLDS, QuotaThresholds } from "../functions/shared/send-quota";
import { readStackFile } from "../stacks/stack-file";
import { UsageError } from "./errors";
import { checkTargetOptions, stackConfigForCli, type TargetOptions } from "./rules-target";

/** FeedbackPipeline's names (components/feedback-pipeline.ts): a test keeps them equal. */
export const CONFIGURATION_SET_PURPOSE = "outbound";
export const SENDERS_TABLE_PURPOSE = "sender-reputation";

export interface SendingTarget {
    configurationSetName: string;
    sendersTableName: string;
    /** undefined: the SDK's own (AWS_REGION, profile). */
    region?: string;
    /** How to name this deployment in a command line (quoted in output). */
    selector: string;
    thresholds: QuotaThresholds;
    /** Printed before output when names are assumed. */
    notes: string[];
}

function named(service: "sesConfigurationSet" | "dynamodbTable", purpose: string, env: string, prefix: string): string {
    try {
        return physicalName(service, { purpose, env, prefix });
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
}

export function sendingTarget(options: TargetOptions, cwd: string): SendingTarget {
    const kind = checkTargetOptions(options);
    if (kind === "env") {
        const prefix = options.namePrefix ?? DEFAULT_PREFIX;
        return {
            configurationSetName: named("sesConfigurationSet", CONFIGURATION_SET_PURPOSE, options.env!, prefix),
            sendersTableName: named("dynamodbTable", SENDERS_TABLE_PURPOSE, options.env!, prefix),
            region: options.region,
            selector: `--env ${options.env}${options.namePrefix ? ` --name-prefix ${options.namePrefix}` : ""}`,
            thresholds: DEFAULT_QUOTA_THRESHOLDS,
            notes: [],
        };
    }
    if (kind === "outputs") return fromOutputs(options.outputs!, cwd, options.region);
    return fromStack(options.stack!, options.projectDir ?? cwd, options.region);
}

function fromStack(stack: string, dir: string, region: string | undefined): SendingTarget {
    const file = readStackFile(stack, dir);
    if (!file) {
        return {
            configurationSetName: named("sesConfigurationSet", CONFIGURATION_SET_PURPOSE, stack, DEFAULT_PREFIX),
            sendersTableName: named("dynamodbTable", SENDERS_TABLE_PURPOSE, stack, DEFAULT_PREFIX),
            region, selector: `--stack ${stack}`, thresholds: DEFAULT_QUOTA_THRESHOLDS,
            notes: [`(No Pulumi.${stack}.yaml in ${dir}: assuming environment "${stack}" and name prefix "${DEFAULT_PREFIX}".)`],
        };
    }
    const config = stackConfigForCli(file, stack);
    return {
        configurationSetName: config.feedback.configurationSetName ?? named("sesConfigurationSet", CONFIGURATION_SET_PURPOSE, config.environment, config.namePrefix),
        sendersTableName: named("dynamodbTable", SENDERS_TABLE_PURPOSE, config.environment, config.namePrefix),
        region: region ?? file["aws:region"],
        selector: `--stack ${stack}`,
        thresholds: {
            warningPercent: config.sending.quotaWarningPercent ?? DEFAULT_QUOTA_THRESHOLDS.warningPercent,
            criticalPercent: config.sending.quotaCriticalPercent ?? DEFAULT_QUOTA_THRESHOLDS.criticalPercent,
        },
        notes: [],
    };
}

function fromOutputs(file: string, cwd: string, region: string | undefined): SendingTarget {
    let outputs: Record<string, unknown> | undefined;
    try {
        outputs = JSON.parse(fs.readFileSync(path.resolve(cwd, file), "utf8"));
    } catch (error) {
        throw new UsageError(`Cannot read ${file} as the stack's outputs (${(error as Error).message}): write it with pulumi stack output --json > ${file}.`);
    }
    const text = (key: string) => (typeof outputs?.[key] === "string" && outputs[key] !== "" ? (outputs[key] as string) : undefined);
    const set = text("configurationSetName");
    const table = text("senderReputationTableName");
    if (!set || !table) throw new UsageError(`${file} has no configurationSetName or senderReputationTableName: is it pulumi stack output --json of a ses-mail stack?`);
    // The stack's ARNs carry its region (arn:<partition>:<service>:<region>:…).
    const arn = Object.values(outputs!).find((v): v is string => typeof v === "string" && /^arn:[^:]+:[^:]+:[a-z0-9-]+:/.test(v));
    return { configurationSetName: set, sendersTableName: table, region: region ?? arn?.split(":")[3], selector: `--outputs ${file}`, thresholds: DEFAULT_QUOTA_THRESHOLDS, notes: [] };
}
