import { EventType } from "@aws-lambda-powertools/batch";
import { createLogger } from "../shared/logging";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import type { SQSRecord } from "aws-lambda";
import { batchHandler } from "../shared/batch";
import { FeedbackEvents } from "../shared/feedback-events";
import { countMetric } from "../shared/metrics";
import { announceTransition } from "../shared/sender-admin";
import { SenderReputation } from "../shared/sender-reputation";
import { SuppressionClient } from "../shared/suppression-client";
import { parseFeedbackMessage } from "./parse";
import { FeedbackPorts, processFeedback } from "./process";
import { settingsFromEnv } from "./settings";

const logger = createLogger();
const metrics = new Metrics();
const tracer = new Tracer();
const settings = settingsFromEnv(process.env);
const dynamo = tracer.captureAWSv3Client(new DynamoDBClient({}));
const sns = tracer.captureAWSv3Client(new SNSClient({}));

const ports: FeedbackPorts = {
    events: new FeedbackEvents({ tableName: settings.eventsTableName, client: dynamo }),
    suppressions: new SuppressionClient({ tableName: settings.suppressionTableName, client: dynamo }),
    senders: new SenderReputation({ tableName: settings.sendersTableName, client: dynamo }),
    announce: async (transition) => {
        await announceTransition(sns, settings.notificationsTopicArn, transition);
        logger.warn("Sender state changed", { sender: transition.sender, from: transition.from, to: transition.to, complaints: transition.complaints });
    },
    metrics: (points) => {
        points.forEach((point) => countMetric(metrics, point.name, point.value, point.dimensions));
        // At once, not when the batch ends: a crash later must not lose metrics of records already written.
        if (points.some((point) => !point.dimensions)) metrics.publishStoredMetrics();
    },
    now: Date.now,
};

async function handleRecord(record: SQSRecord): Promise<void> {
    try {
        const parsed = parseFeedbackMessage(record.body);
        if (parsed.kind === "ignored") {
            logger.info("Ignored feedback message", { sqsMessageId: record.messageId, reason: parsed.reason });
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
        logger.error("Feedback message failed; SQS retries it, then moves it to the DLQ", { sqsMessageId: record.messageId, receiveCount: record.attributes.ApproximateReceiveCount, error });
        throw error;
    }
}

export const handler = batchHandler(EventType.SQS, handleRecord, { logger, metrics });
