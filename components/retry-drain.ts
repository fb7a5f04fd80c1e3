import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allow } from "./iam";
import { standardTags } from "./naming";
import { stateMachineWithRole } from "./state-machine";

/** Iterations before the execution hands over to a fresh one (Step Functions keeps 25,000 history events). */
export const DRAIN_ITERATIONS_PER_EXECUTION = 100;

/**
 * The state machine definition: receive up to 10 → for each, send to the target queue, then delete
 * it from the source queue (only after the send succeeded) → repeat until the source is empty.
 */
export function retryDrainDefinition(sourceQueueUrl: string, targetQueueUrl: string): Record<string, unknown> {
    const retry = [{ ErrorEquals: ["States.ALL"], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }];
    return {
        Comment: "Moves every message from the retry queue back to the forwarder queue; deletes each only after its send succeeded.",
        StartAt: "Init",
        States: {
            Init: { Type: "Pass", Parameters: { moved: 0, iterations: 0 }, Next: "Receive" },
            Receive: {
                Type: "Task",
                Resource: "arn:aws:states:::aws-sdk:sqs:receiveMessage",
                Parameters: { QueueUrl: sourceQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 120, MessageAttributeNames: ["All"] },
                ResultPath: "$.received",
                Retry: retry,
                Next: "AnyMessages",
            },
            AnyMessages: {
                Type: "Choice",
                Choices: [{ Variable: "$.received.Messages[0]", IsPresent: true, Next: "MoveEach" }],
                Default: "Drained",
            },
            MoveEach: {
                Type: "Map",
                ItemsPath: "$.received.Messages",
                MaxConcurrency: 10,
                ResultPath: null,
                ItemProcessor: {
                    ProcessorConfig: { Mode: "INLINE" },
                    StartAt: "Send",
                    States: {
                        Send: {
                            Type: "Task",
                            Resource: "arn:aws:states:::aws-sdk:sqs:sendMessage",
                            Parameters: { QueueUrl: targetQueueUrl, "MessageBody.$": "$.Body" },
                            ResultPath: null,
                            Retry: retry,
                            Next: "Delete",
                        },
                        Delete: {
                            Type: "Task",
                            Resource: "arn:aws:states:::aws-sdk:sqs:deleteMessage",
                            Parameters: { QueueUrl: sourceQueueUrl, "ReceiptHandle.$": "$.ReceiptHandle" },
                            ResultPath: null,
                            Retry: retry,
                            End: true,
                        },
                    },
                },
                Next: "Tally",
            },
            Tally: {
                Type: "Pass",
                Parameters: {
                    "moved.$": "States.MathAdd($.moved, States.ArrayLength($.received.Messages))",
                    "iterations.$": "States.MathAdd($.iterations, 1)",
                },
                Next: "KeepGoing",
            },
            KeepGoing: {
                Type: "Choice",
                Choices: [{ Variable: "$.iterations", NumericGreaterThanEquals: DRAIN_ITERATIONS_PER_EXECUTION, Next: "ContinueAsNew" }],
                Default: "Receive",
            },
            ContinueAsNew: {
                Type: "Task",
                Resource: "arn:aws:states:::states:startExecution",
                Parameters: { "StateMachineArn.$": "$$.StateMachine.Id", Input: {} },
                ResultSelector: { "continuedIn.$": "$.ExecutionArn" },
                Next: "Handed over",
            },
            "Handed over": { Type: "Succeed" },
            Drained: { Type: "Pass", Parameters: { "moved.$": "$.moved" }, End: true },
        },
    };
}

export interface RetryDrainArgs {
    env: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Purpose part of the state machine name. */
    purpose: string;
    sourceQueueArn: pulumi.Input<string>;
    sourceQueueUrl: pulumi.Input<string>;
    targetQueueArn: pulumi.Input<string>;
    targetQueueUrl: pulumi.Input<string>;
    /** @default 30 */
    logRetentionDays?: pulumi.Input<number>;
    component?: string;
    tags?: Record<string, string>;
}

/** A Step Functions state machine that moves every message from one queue to another. */
export class RetryDrain extends pulumi.ComponentResource {
    public readonly stateMachine: aws.sfn.StateMachine;
    public readonly arn: pulumi.Output<string>;

    constructor(name: string, args: RetryDrainArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:RetryDrain", name, {}, opts);
        this.stateMachine = stateMachineWithRole(name, {
            env: args.env,
            namePrefix: args.namePrefix,
            purpose: args.purpose,
            logRetentionDays: args.logRetentionDays,
            tags: standardTags(args.env, args.component ?? "RetryDrain", args.tags),
            statements: (selfArn) => [
                allow(["sqs:ReceiveMessage", "sqs:DeleteMessage"], [args.sourceQueueArn]),
                allow(["sqs:SendMessage"], [args.targetQueueArn]),
                allow(["states:StartExecution"], [selfArn]),
            ],
            definition: () => pulumi.all([args.sourceQueueUrl, args.targetQueueUrl]).apply(([source, target]) => JSON.stringify(retryDrainDefinition(source, target))),
        }, this);
        this.arn = this.stateMachine.arn;
        this.registerOutputs({ arn: this.arn });
    }
}
