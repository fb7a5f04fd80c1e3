import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { SenderReputation, SenderTransition } from "./sender-reputation";

/** Publishes a sender state change to the notifications topic (one message format for worker and operators). */
export async function announceTransition(sns: SNSClient, topicArn: string, transition: SenderTransition): Promise<void> {
    await sns.send(new PublishCommand({
        TopicArn: topicArn,
        Subject: `ses-mail: sender ${transition.sender} is now ${transition.to}`.slice(0, 100),
        Message: JSON.stringify(transition),
        MessageAttributes: { state: { DataType: "String", StringValue: transition.to } },
    }));
}

export interface LiftSenderRestrictionOptions {
    /** FeedbackPipeline's senders table. */
    sendersTableName: string;
    /** FeedbackPipeline's notifications topic. */
    notificationsTopicArn: string;
    sender: string;
    /** Who lifts it (recorded in the audit trail). */
    operator: string;
    /** Why (recorded in the audit trail). */
    reason: string;
    dynamodb?: DynamoDBClient;
    sns?: SNSClient;
}

/**
 * The explicit operator action that returns a flagged or restricted sender to `ok`: audited and
 * announced like every other change. Complaints before it stop counting against the sender.
 */
export async function liftSenderRestriction(options: LiftSenderRestrictionOptions): Promise<SenderTransition> {
    const reputation = new SenderReputation({ tableName: options.sendersTableName, client: options.dynamodb });
    const transition = await reputation.lift(options.sender, { operator: options.operator, reason: options.reason });
    const sns = options.sns ?? new SNSClient({});
    await reputation.settle(options.sender, (t) => announceTransition(sns, options.notificationsTopicArn, t));
    return transition;
}
