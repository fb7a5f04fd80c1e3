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

/** Options of {@link liftSenderRestriction} (and {@link restrictSender}). */
export interface LiftSenderRestrictionOptions {
    /** FeedbackPipeline's senders table. */
    sendersTableName: string;
    /** FeedbackPipeline's notifications topic. */
    notificationsTopicArn: string;
    /** The sender: a From address or a `senderTag` value. */
    sender: string;
    /** Who lifts it (recorded in the audit trail). */
    operator: string;
    /** Why (recorded in the audit trail). */
    reason: string;
    /** @default a client for the environment's region */
    dynamodb?: DynamoDBClient;
    /** @default a client for the environment's region */
    sns?: SNSClient;
}

/**
 * The explicit operator action that returns a flagged or restricted sender to `ok`: audited and
 * announced like every other change. Complaints before it stop counting against the sender. SMTP
 * users disabled because of a restriction are not enabled again: an operator does that, user by user.
 */
export async function liftSenderRestriction(options: LiftSenderRestrictionOptions): Promise<SenderTransition> {
    return operatorChange("lift", options);
}

/** Options of {@link restrictSender}: the same as lifting. */
export type RestrictSenderOptions = LiftSenderRestrictionOptions;

/**
 * An operator restricts a sender by hand: recorded (who, when, why), announced on the notifications
 * topic and audited, exactly like a restriction by complaints; SmtpCredentials (when it is given the
 * sender reputation) then disables the SMTP users allowed to send as the sender.
 */
export async function restrictSender(options: RestrictSenderOptions): Promise<SenderTransition> {
    return operatorChange("restrict", options);
}

/**
 * The change, then its announcement and audit record. A failed announcement throws after the change
 * is written (its who, when and why are on the state item): calling again with the same sender
 * announces and audits that change instead of writing a new one.
 */
async function operatorChange(kind: "lift" | "restrict", options: LiftSenderRestrictionOptions): Promise<SenderTransition> {
    const reputation = new SenderReputation({ tableName: options.sendersTableName, client: options.dynamodb });
    const action = { operator: options.operator, reason: options.reason };
    const transition = kind === "lift" ? await reputation.lift(options.sender, action) : await reputation.restrict(options.sender, action);
    const sns = options.sns ?? new SNSClient({});
    await reputation.settle(options.sender, (t) => announceTransition(sns, options.notificationsTopicArn, t));
    return transition;
}
