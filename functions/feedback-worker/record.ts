// One feedback message, processed the same way wherever the worker runs: the Lambda (handler.ts)
// and the long-polling worker for EKS (poller.ts) both build their record handler here.
import type { Logger } from "@aws-lambda-powertools/logger";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SNSClient } from "@aws-sdk/client-sns";
import { FeedbackEvents } from "../shared/feedback-events";
import { announceTransition } from "../shared/sender-admin";
import { SenderReputation } from "../shared/sender-reputation";
import { SuppressionClient } from "../shared/suppression-client";
import type { MetricPoint } from "./logic";
import { parseFeedbackMessage } from "./parse";
import { FeedbackPorts, processFeedback } from "./process";
import type { WorkerSettings } from "./settings";

/** What identifies a queue message in the logs. */
export interface FeedbackMessageMeta {
    /** The SQS message id. */
    sqsMessageId: string;
    /** SQS's ApproximateReceiveCount, as SQS sends it (a string). @default unknown */
    receiveCount?: string;
}

/** The ports of `processFeedback` on real clients; `metrics` publishes (the caller decides how). */
export function feedbackPorts(settings: WorkerSettings, clients: { dynamo: DynamoDBClient; sns: SNSClient }, logger: Logger, metrics: (points: MetricPoint[]) => void): FeedbackPorts {
    return {
        events: new FeedbackEvents({ tableName: settings.eventsTableName, client: clients.dynamo }),
        suppressions: new SuppressionClient({ tableName: settings.suppressionTableName, client: clients.dynamo }),
        senders: new SenderReputation({ tableName: settings.sendersTableName, client: clients.dynamo }),
        announce: async (transition) => {
            await announceTransition(clients.sns, settings.notificationsTopicArn, transition);
            logger.warn("Sender state changed", { sender: transition.sender, from: transition.from, to: transition.to, complaints: transition.complaints });
        },
        metrics,
        now: Date.now,
    };
}

/**
 * Parses and processes one message body; throws when it must be retried (the queue redelivers it,
 * then its redrive policy moves it to the DLQ). Every write is idempotent, so a redelivery changes nothing.
 */
export function feedbackRecordHandler(settings: WorkerSettings, ports: FeedbackPorts, logger: Logger): (body: string, meta: FeedbackMessageMeta) => Promise<void> {
    return async (body, meta) => {
        try {
            const parsed = parseFeedbackMessage(body);
            if (parsed.kind === "ignored") {
                logger.info("Ignored feedback message", { sqsMessageId: meta.sqsMessageId, reason: parsed.reason });
                return;
            }
            const { event } = parsed;
            const outcome = await processFeedback(event, settings, ports);
            logger.info("Processed feedback", {
                messageId: event.messageId,
                eventType: event.type,
                format: event.format,
                recipients: event.recipients.map((r) => r.email),
                ...outcome,
                senderTransition: outcome.senderTransition?.to,
            });
        } catch (error) {
            logger.error("Feedback message failed; SQS retries it, then moves it to the DLQ", { sqsMessageId: meta.sqsMessageId, receiveCount: meta.receiveCount, error });
            throw error;
        }
    };
}
