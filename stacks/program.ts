import * as pulumi from "@pulumi/pulumi";
import { SuppressionStore } from "../components/suppression-store";
import { CONFIG_NAMESPACE, decodeConfigValue, parseStackConfig, StackConfig } from "./config";

/** Reads and validates this stack's `ses-mail:*` config. */
export function readStackConfig(): StackConfig {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const raw = Object.fromEntries(
        Object.entries(pulumi.runtime.allConfig())
            .filter(([key]) => key.startsWith(prefix))
            .map(([key, value]) => [key.slice(prefix.length), decodeConfigValue(value)]),
    );
    return parseStackConfig({ environment: pulumi.getStack(), ...raw }, pulumi.getStack());
}

/** The whole system for one environment. Each component joins here as it lands. */
export function createStack(config: StackConfig) {
    const suppression = new SuppressionStore("suppression", {
        env: config.environment,
        namePrefix: config.namePrefix,
        logRetentionDays: config.logRetentionDays,
        ...config.suppression,
    });
    return {
        suppressionTableName: suppression.tableName,
        suppressionTableArn: suppression.tableArn,
        suppressionStreamArn: suppression.streamArn,
        suppressionMirrorFunction: suppression.mirror?.functionName,
    };
}
