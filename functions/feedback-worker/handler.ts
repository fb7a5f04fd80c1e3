import { EventType } from "@aws-lambda-powertools/batch";
import { createLogger } from "../shared/logging";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import type { SQSRecord } from "aws-lambda";
import { batchHandler } from "../shared/batch";
import { countMetric } from "../shared/metrics";
import { feedbackPorts, feedbackRecordHandler } from "./record";
import { settingsFromEnv } from "./settings";

const logger = createLogger();
const metrics = new Metrics();
const settings = settingsFromEnv(process.env);
const dynamo = new DynamoDBClient({});
const sns = new SNSClient({});

const ports = feedbackPorts(settings, { dynamo, sns }, logger, (points) => {
    points.forEach((point) => countMetric(metrics, point.name, point.value, point.dimensions));
    // At once, not when the batch ends: a crash later must not lose metrics of records already written.
    if (points.some((point) => !point.dimensions)) metrics.publishStoredMetrics();
});
const processMessage = feedbackRecordHandler(settings, ports, logger);

async function handleRecord(record: SQSRecord): Promise<void> {
    await processMessage(record.body, { sqsMessageId: record.messageId, receiveCount: record.attributes.ApproximateReceiveCount });
}

export const handler = batchHandler(EventType.SQS, handleRecord, { logger, metrics });
