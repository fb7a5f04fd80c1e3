import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { violationNames } from "../support/policy";

const ROLE = "arn:aws:iam::123456789012:role/r";

/** A state machine logging to a log group of the stack (as stateMachineWithRole creates them), with changes. */
const machine = (name: string, logging: Partial<aws.types.input.sfn.StateMachineLoggingConfiguration> | undefined, logGroup: { retentionInDays?: number } = { retentionInDays: 14 }) => () => {
    const logs = new aws.cloudwatch.LogGroup(`${name}-logs`, { name: `/aws/vendedlogs/states/${name}`, ...logGroup });
    new aws.sfn.StateMachine(name, {
        name, roleArn: ROLE, definition: "{}",
        loggingConfiguration: logging && { level: "ERROR", includeExecutionData: false, logDestination: logs.arn.apply((arn) => `${arn}:*`), ...logging },
    });
};

describe("policy: Step Functions", () => {
    it("a state machine logs errors to a log group of the stack with retention", async () => {
        expect(await violationNames(machine("drain", {}))).to.deep.equal([]);
        expect(await violationNames(machine("drain", {}, { retentionInDays: 0 }))).to.deep.equal(["sfn-log-group-retention"]);
        expect(await violationNames(machine("drain", {}, {}))).to.deep.equal(["sfn-log-group-retention"]);
        expect(await violationNames(machine("drain", undefined))).to.deep.equal(["sfn-log-group-retention"]);
        expect(await violationNames(machine("drain", { level: "OFF" }))).to.deep.equal(["sfn-log-group-retention"]);
        expect(await violationNames(machine("drain", { logDestination: "arn:aws:logs:us-east-1:123456789012:log-group:/elsewhere:*" }))).to.deep.equal(["sfn-log-group-retention"]);
    });

    it("execution data is not logged, except by state machines the config lists (the token monitor by default)", async () => {
        expect(await violationNames(machine("ses-mail-gmail-forwarder-retry-drain-test", { includeExecutionData: true }))).to.deep.equal(["sfn-no-execution-data"]);
        expect(await violationNames(machine("ses-mail-gmail-token-monitor-you-gmail-com-test", { includeExecutionData: true }))).to.deep.equal([]);
        const reviewed = { config: { "sfn-no-execution-data": { allowExecutionData: ["ses-mail-gmail-forwarder-retry-drain-*"] } } };
        expect(await violationNames(machine("ses-mail-gmail-forwarder-retry-drain-test", { includeExecutionData: true }), reviewed)).to.deep.equal([]);
        expect(await violationNames(machine("ses-mail-gmail-token-monitor-you-gmail-com-test", { includeExecutionData: true }), reviewed)).to.deep.equal(["sfn-no-execution-data"]);
    });
});
