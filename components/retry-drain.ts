import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { allow } from "./iam";
import { standardTags } from "./naming";
import { serviceIntegration, stateMachineWithRole } from "./state-machine";

/** Receives before the execution hands over to a fresh one (Step Functions keeps 25,000 history events; one receive of 10 costs about 135). */
export const DRAIN_ITERATIONS_PER_EXECUTION = 100;

/**
 * How long a received message stays hidden. A message the drain leaves parked (another account, parked
 * after the drain started, over the budget) is not deleted, so this is what keeps it from coming back
 * in the same drain (and from raising its receive count again): 15 minutes cover some 5,000–9,000
 * receipts at the drain's pace of a receive of 10 every one to two seconds. A drain started while
 * another's skipped messages are hidden would not see them (ReceiveMessage returns visible messages
 * only), so a drain first waits until nothing in the queue is in flight (at most a little longer).
 */
export const DRAIN_VISIBILITY_TIMEOUT_SECONDS = 900;

/** How long a drain waits, at most, for earlier drains to end and their hidden messages to come back. */
export const DRAIN_MAX_WAIT_SECONDS = 3600;
const DRAIN_WAIT_STEP_SECONDS = 60;

/**
 * When the queue looks drained, the drain waits this long and makes one more pass, for mail parked by
 * forwarder invocations that were under way with the old token when it started (longer than the
 * forwarder's 120 s timeout).
 */
export const LATE_PARK_GRACE_SECONDS = 150;

/** Added to the budgets: ApproximateNumberOfMessages may lag behind the queue by a little. */
const BUDGET_MARGIN = 10;

/**
 * The execution input. `{}` (or `account: null`) drains every account; `{ "account": "x@gmail.com" }`
 * only messages whose `account` message attribute is that address (case-insensitive). `continued`
 * is set by the drain itself when it hands over to a fresh execution.
 */
export interface RetryDrainInput {
    /** Drain only this Gmail account's messages; absent or null: every account's. @default every account */
    account?: string | null;
    /** Set by the drain itself when it hands over to a fresh execution. @default a first execution */
    continued?: RetryDrainProgress;
}

/** What a handed-over execution carries, so the chain as a whole keeps the first execution's limits. */
export interface RetryDrainProgress {
    /** The first execution's start (ISO 8601). */
    startTime: string;
    /** Messages sent to the queue later (epoch ms) are not moved: the start, or the late-park pass's time. */
    cutoff?: number;
    /** The late-park pass was made. */
    graceDone?: boolean;
    /** Messages it may still move (starts at ApproximateNumberOfMessages). */
    movesLeft: number;
    /** Messages it may still receive, moved or not (starts at twice ApproximateNumberOfMessages). */
    receivesLeft: number;
    /** Messages moved so far. */
    moved: number;
    /** Messages received and left parked so far. */
    skipped: number;
    /** Executions in the chain so far, this one included. */
    executions: number;
}

// The drain's account, from the execution input: lower-cased, or null for every account.
const INPUT_ACCOUNT = "{% $exists($states.input.account) and $states.input.account != null ? $lowercase($trim($states.input.account)) : null %}";
// A message to move: sent before the drain started and, unless the drain is for every account, parked
// for the drain's account. SentTimestamp is epoch milliseconds as a string (SQS ReceiveMessage).
const ELIGIBLE = "$number($m.Attributes.SentTimestamp) < $cutoff and ($account = null or $lowercase($m.MessageAttributes.account.StringValue) = $account)";
// Running executions that started before this one (ties broken by ARN, so two never wait for each other).
const EARLIER_RUNNING = "{% $count($states.result.Executions[ExecutionArn != $states.context.Execution.Id and ($toMillis(StartDate) < $toMillis($states.context.Execution.StartTime) or ($toMillis(StartDate) = $toMillis($states.context.Execution.StartTime) and ExecutionArn < $states.context.Execution.Id))]) %}";
// `[…]` keeps a one-message result an array (JSONata unwraps singletons); only what the move needs is kept.
// The drain's account's messages parked after its cutoff: before the late-park pass, they are shown
// again in time for it (instead of staying hidden for the visibility timeout).
const LATE = `{% $graceDone ? [] : [$map([$filter($states.result.Messages, function($m) { $number($m.Attributes.SentTimestamp) >= $cutoff and ($account = null or $lowercase($m.MessageAttributes.account.StringValue) = $account) })], function($m) { $m.ReceiptHandle })] %}`;
const BATCH = `{% [$map($filter([$filter($states.result.Messages, function($m) { ${ELIGIBLE} })], function($m, $i) { $i < $movesLeft }), function($m) { {"Body": $m.Body, "ReceiptHandle": $m.ReceiptHandle} })] %}`;

/**
 * A Choice that, while `condition` holds (and the drain has not waited its maximum), goes to a Wait
 * of one step that returns to `again`; otherwise on to `then`.
 */
function waitWhile(condition: string, names: { check: string; wait: string; again: string; then: string }): Record<string, unknown> {
    return {
        [names.check]: {
            Type: "Choice",
            Choices: [{ Condition: `{% ${condition} and $waited < ${DRAIN_MAX_WAIT_SECONDS} %}`, Next: names.wait }],
            Default: names.then,
        },
        [names.wait]: {
            Type: "Wait",
            Seconds: DRAIN_WAIT_STEP_SECONDS,
            Assign: { waited: `{% $waited + ${DRAIN_WAIT_STEP_SECONDS} %}` },
            Next: names.again,
        },
    };
}

/**
 * The state machine definition (JSONata). Count the parked messages → loop: receive up to 10 (each
 * hidden for 15 minutes) → move the eligible ones (send to the target queue, then delete — only after
 * the send succeeded) → until a receive comes back empty or the budget is spent. The budget makes it
 * finish even while the forwarder parks again what it moved (another account's token is still bad):
 * it moves at most the messages parked at the start, never one parked after the start, and receives
 * at most twice that many (each parked message plus one re-park of each message it moved).
 * `partition` names the task resources (`arn:<partition>:states:::aws-sdk:…`).
 * `iterationsPerExecution` (receives before handing over) is for tests of long chains.
 */
export function retryDrainDefinition(partition: string, sourceQueueUrl: string, targetQueueUrl: string, iterationsPerExecution = DRAIN_ITERATIONS_PER_EXECUTION): Record<string, unknown> {
    const task = (integration: string) => serviceIntegration(partition, integration);
    const retry = [{ ErrorEquals: ["States.ALL"], IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }];
    const summary = { account: "{% $account %}", moved: "{% $moved %}", skipped: "{% $skipped %}", executions: "{% $executions %}" };
    return {
        Comment: "Moves parked messages (of one account, or all) from the retry queue back to the forwarder queue; deletes each only after its send succeeded.",
        QueryLanguage: "JSONata",
        StartAt: "Check input",
        States: {
            "Check input": {
                Type: "Choice",
                Choices: [
                    {
                        Condition: "{% $exists($states.input.account) and $states.input.account != null and ($type($states.input.account) = 'string' ? $trim($states.input.account) = '' : true) %}",
                        Next: "Invalid input",
                    },
                    { Condition: "{% $exists($states.input.continued) %}", Next: "Resume" },
                ],
                Default: "Start",
            },
            "Invalid input": { Type: "Fail", Error: "InvalidInput", Cause: "The input is {} (every account) or {\"account\": \"<gmail address>\"}." },
            // Drains take turns: two at once would each hide the other's account's messages. So a drain
            // waits for those that started before it, then (only drains receive from the retry queue, so
            // a message in flight is one an earlier drain skipped and hid) until every message is visible.
            Start: { Type: "Pass", Assign: { account: INPUT_ACCOUNT, waited: 0 }, Next: "Earlier drains" },
            "Earlier drains": {
                Type: "Task",
                Resource: task("aws-sdk:sfn:listExecutions"),
                Arguments: { StateMachineArn: "{% $states.context.StateMachine.Id %}", StatusFilter: "RUNNING", MaxResults: 100 },
                Retry: retry,
                Assign: { earlier: EARLIER_RUNNING },
                Output: {},
                Next: "Another drain first?",
            },
            ...waitWhile("$earlier > 0", { check: "Another drain first?", wait: "Wait for the earlier drain", again: "Earlier drains", then: "Count parked" }),
            "Count parked": {
                Type: "Task",
                Resource: task("aws-sdk:sqs:getQueueAttributes"),
                Arguments: { QueueUrl: sourceQueueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] },
                Retry: retry,
                Assign: {
                    parked: "{% $number($states.result.Attributes.ApproximateNumberOfMessages) %}",
                    hidden: "{% $number($states.result.Attributes.ApproximateNumberOfMessagesNotVisible) %}",
                },
                Output: {},
                Next: "Hidden by another drain?",
            },
            ...waitWhile("$hidden > 0", { check: "Hidden by another drain?", wait: "Wait for them", again: "Count parked", then: "Set budget" }),
            "Set budget": {
                Type: "Pass",
                Assign: {
                    startTime: "{% $states.context.Execution.StartTime %}",
                    cutoff: "{% $toMillis($states.context.Execution.StartTime) %}",
                    movesLeft: `{% $parked + ${BUDGET_MARGIN} %}`,
                    receivesLeft: `{% 2 * $parked + ${BUDGET_MARGIN} %}`,
                    graceDone: false,
                    moved: 0,
                    skipped: 0,
                    executions: 1,
                    iterations: 0,
                },
                Output: {},
                Next: "Anything left?",
            },
            Resume: {
                Type: "Pass",
                Assign: {
                    account: INPUT_ACCOUNT,
                    startTime: "{% $states.input.continued.startTime %}",
                    cutoff: "{% $exists($states.input.continued.cutoff) ? $states.input.continued.cutoff : $toMillis($states.input.continued.startTime) %}",
                    graceDone: "{% $states.input.continued.graceDone = true %}",
                    movesLeft: "{% $states.input.continued.movesLeft %}",
                    receivesLeft: "{% $states.input.continued.receivesLeft %}",
                    moved: "{% $states.input.continued.moved %}",
                    skipped: "{% $states.input.continued.skipped %}",
                    executions: "{% $states.input.continued.executions %}",
                    iterations: 0,
                },
                Output: {},
                Next: "Anything left?",
            },
            "Anything left?": {
                Type: "Choice",
                Choices: [
                    { Condition: "{% $movesLeft <= 0 or $receivesLeft <= 0 %}", Next: "Budget spent" },
                    { Condition: `{% $iterations >= ${iterationsPerExecution} %}`, Next: "ContinueAsNew" },
                ],
                Default: "Receive",
            },
            Receive: {
                Type: "Task",
                Resource: task("aws-sdk:sqs:receiveMessage"),
                Arguments: {
                    QueueUrl: sourceQueueUrl,
                    MaxNumberOfMessages: "{% $min([10, $receivesLeft]) %}",
                    // Long polling asks every SQS server, so an empty answer means nothing is visible.
                    WaitTimeSeconds: 1,
                    VisibilityTimeout: DRAIN_VISIBILITY_TIMEOUT_SECONDS,
                    // SentTimestamp. `AttributeNames` is deprecated in favour of MessageSystemAttributeNames
                    // but still honoured, and "All" is valid under both SDK models.
                    AttributeNames: ["All"],
                    MessageAttributeNames: ["account"],
                },
                Retry: retry,
                Assign: {
                    received: "{% $count($states.result.Messages) %}",
                    batch: BATCH,
                    late: LATE,
                    receivesLeft: "{% $receivesLeft - $count($states.result.Messages) %}",
                    iterations: "{% $iterations + 1 %}",
                },
                Output: {},
                Next: "AnyMessages",
            },
            AnyMessages: {
                Type: "Choice",
                Choices: [{ Condition: "{% $received = 0 %}", Next: "Late parks?" }],
                Default: "MoveEach",
            },
            "Late parks?": {
                Type: "Choice",
                Choices: [{ Condition: "{% $graceDone %}", Next: "Drained" }],
                Default: "Wait for late parks",
            },
            "Wait for late parks": { Type: "Wait", Seconds: LATE_PARK_GRACE_SECONDS, Next: "Count late parks" },
            "Count late parks": {
                Type: "Task",
                Resource: task("aws-sdk:sqs:getQueueAttributes"),
                Arguments: { QueueUrl: sourceQueueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] },
                Retry: retry,
                Assign: {
                    cutoff: "{% $toMillis($states.context.State.EnteredTime) %}",
                    movesLeft: "{% $movesLeft + $number($states.result.Attributes.ApproximateNumberOfMessages) %}",
                    receivesLeft: "{% $receivesLeft + 2 * $number($states.result.Attributes.ApproximateNumberOfMessages) %}",
                    graceDone: true,
                },
                Output: {},
                Next: "Anything left?",
            },
            MoveEach: {
                Type: "Map",
                Items: "{% $batch %}",
                MaxConcurrency: 10,
                ItemProcessor: {
                    ProcessorConfig: { Mode: "INLINE" },
                    StartAt: "Send",
                    States: {
                        Send: {
                            Type: "Task",
                            Resource: task("aws-sdk:sqs:sendMessage"),
                            // The body only: the forwarder reads nothing else, and sets `account` and `reason` anew if it parks it again.
                            Arguments: { QueueUrl: targetQueueUrl, MessageBody: "{% $states.input.Body %}" },
                            Retry: retry,
                            Output: "{% $states.input %}",
                            Next: "Delete",
                        },
                        Delete: {
                            Type: "Task",
                            Resource: task("aws-sdk:sqs:deleteMessage"),
                            Arguments: { QueueUrl: sourceQueueUrl, ReceiptHandle: "{% $states.input.ReceiptHandle %}" },
                            Retry: retry,
                            Output: {},
                            End: true,
                        },
                    },
                },
                Assign: {
                    moved: "{% $moved + $count($batch) %}",
                    movesLeft: "{% $movesLeft - $count($batch) %}",
                    skipped: "{% $skipped + $received - $count($batch) %}",
                },
                Output: {},
                Next: "Any late parks?",
            },
            "Any late parks?": {
                Type: "Choice",
                Choices: [{ Condition: "{% $count($late) > 0 %}", Next: "Show late parks in time" }],
                Default: "Anything left?",
            },
            "Show late parks in time": {
                Type: "Map",
                Items: "{% $late %}",
                MaxConcurrency: 10,
                ItemProcessor: {
                    ProcessorConfig: { Mode: "INLINE" },
                    StartAt: "Hide until the late-park pass",
                    States: {
                        "Hide until the late-park pass": {
                            Type: "Task",
                            Resource: task("aws-sdk:sqs:changeMessageVisibility"),
                            Arguments: { QueueUrl: sourceQueueUrl, ReceiptHandle: "{% $states.input %}", VisibilityTimeout: LATE_PARK_GRACE_SECONDS - 30 },
                            Retry: retry,
                            Output: {},
                            End: true,
                        },
                    },
                },
                Output: {},
                Next: "Anything left?",
            },
            ContinueAsNew: {
                Type: "Task",
                Resource: task("states:startExecution"),
                Arguments: {
                    StateMachineArn: "{% $states.context.StateMachine.Id %}",
                    Input: {
                        account: "{% $account %}",
                        continued: {
                            startTime: "{% $startTime %}",
                            cutoff: "{% $cutoff %}",
                            graceDone: "{% $graceDone %}",
                            movesLeft: "{% $movesLeft %}",
                            receivesLeft: "{% $receivesLeft %}",
                            moved: "{% $moved %}",
                            skipped: "{% $skipped %}",
                            executions: "{% $executions + 1 %}",
                        },
                        // Links the executions in the console.
                        AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: "{% $states.context.Execution.Id %}",
                    },
                },
                Retry: retry,
                Output: { ...summary, continuedIn: "{% $states.result.ExecutionArn %}" },
                Next: "Handed over",
            },
            "Handed over": { Type: "Succeed" },
            Drained: { Type: "Succeed", Output: { ...summary, stoppedBecause: "nothing visible left" } },
            "Budget spent": { Type: "Succeed", Output: { ...summary, stoppedBecause: "limit reached: as many as were parked at the start" } },
        },
    };
}

/** Arguments of {@link RetryDrain}. */
export interface RetryDrainArgs {
    /** Environment name: the last part of the state machine's and role's names. */
    env: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** Purpose part of the state machine name. */
    purpose: string;
    /** Region whose IAM role name has no region part (see `globalPhysicalName`). @default every region's name has one */
    homeRegion?: string;
    /** ARN of the queue drained: the forwarder's retry queue. */
    sourceQueueArn: pulumi.Input<string>;
    /** URL of the queue drained. */
    sourceQueueUrl: pulumi.Input<string>;
    /** ARN of the queue parked mail goes back to: the forwarder's queue. */
    targetQueueArn: pulumi.Input<string>;
    /** URL of that queue. */
    targetQueueUrl: pulumi.Input<string>;
    /** @default 30 */
    logRetentionDays?: pulumi.Input<number>;
    /** The `Component` tag. @default "RetryDrain" */
    component?: string;
    /** Extra tags. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
}

/** A Step Functions state machine that moves parked messages (of one account, or all) from one queue to another. */
export class RetryDrain extends pulumi.ComponentResource {
    /** The drain state machine (Standard, JSONata). */
    public readonly stateMachine: aws.sfn.StateMachine;
    /** The state machine's ARN (stack output `retryDrainStateMachineArn`). */
    public readonly arn: pulumi.Output<string>;

    constructor(name: string, args: RetryDrainArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:RetryDrain", name, {}, opts);
        this.stateMachine = stateMachineWithRole(name, {
            env: args.env,
            namePrefix: args.namePrefix,
            purpose: args.purpose,
            homeRegion: args.homeRegion,
            logRetentionDays: args.logRetentionDays,
            tags: standardTags(args.env, args.component ?? "RetryDrain", args.tags),
            statements: (selfArn) => [
                // GetQueueAttributes: ApproximateNumberOfMessages, the drain's budget.
                allow(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"], [args.sourceQueueArn]),
                allow(["sqs:SendMessage"], [args.targetQueueArn]),
                allow(["states:StartExecution", "states:ListExecutions"], [selfArn]),
            ],
            definition: (_, partition) => pulumi.all([partition, args.sourceQueueUrl, args.targetQueueUrl]).apply(([p, source, target]) => JSON.stringify(retryDrainDefinition(p, source, target))),
        }, this);
        this.arn = this.stateMachine.arn;
        this.registerOutputs({ arn: this.arn });
    }
}
