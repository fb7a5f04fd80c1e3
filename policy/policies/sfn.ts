import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { wildcardMatches } from "../documents";
import { ofType } from "../stack-resources";

export const sfnLogGroupRetention: StackValidationPolicy = {
    name: "sfn-log-group-retention",
    description: "Every state machine logs (level ERROR or ALL) to a log group created in the stack, with a retention period.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Set loggingConfiguration { level: \"ERROR\", logDestination: `${logGroup.arn}:*` } with a LogGroup that has retentionInDays (stateMachineWithRole does).",
    validateStack: (args, reportViolation) => {
        const logGroups = ofType(args.resources, "aws:cloudwatch/logGroup:LogGroup");
        for (const machine of ofType(args.resources, "aws:sfn/stateMachine:StateMachine")) {
            const logging = machine.props.loggingConfiguration;
            if (!["ERROR", "ALL", "FATAL"].includes(logging?.level)) {
                reportViolation(`State machine ${machine.props.name} does not log its executions (level ${logging?.level ?? "unset"}).`, machine.urn);
                continue;
            }
            // Step Functions takes the log group's ARN ending in `:*`.
            const group = logGroups.find((g) => typeof g.props.arn === "string" && String(logging.logDestination).replace(/:\*$/, "") === g.props.arn);
            if (!group) {
                reportViolation(`State machine ${machine.props.name} logs to ${logging.logDestination}, which the stack does not create.`, machine.urn);
            } else if (!(group.props.retentionInDays > 0)) {
                reportViolation(`Log group ${group.props.name} of state machine ${machine.props.name} keeps logs forever: set retentionInDays.`, machine.urn);
            }
        }
    },
};

export const sfnNoExecutionData: ResourceValidationPolicy = {
    name: "sfn-no-execution-data",
    description: "State machines do not log execution data (inputs, outputs: mail metadata, addresses), except those the pack's config lists as reviewed to carry none.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Set loggingConfiguration.includeExecutionData to false, or list the state machine's name (wildcards allowed) in allowExecutionData after reviewing what its states carry.",
    configSchema: {
        properties: {
            // The token monitor's states carry an account's token tags and metric values, no secret or mail.
            allowExecutionData: { type: "array", items: { type: "string" }, default: ["*-gmail-token-monitor-*"] },
        },
    },
    validateResource: validateResourceOfType(aws.sfn.StateMachine, (machine, args, reportViolation) => {
        const { allowExecutionData } = args.getConfig<{ allowExecutionData: string[] }>();
        if (machine.loggingConfiguration?.includeExecutionData === true && !allowExecutionData.some((pattern) => wildcardMatches(pattern, String(machine.name)))) {
            reportViolation("Execution data (every state's input and output) is logged: set loggingConfiguration.includeExecutionData to false.");
        }
    }),
};
