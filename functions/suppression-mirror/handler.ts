import { EventType } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteSuppressedDestinationCommand, NotFoundException, PutSuppressedDestinationCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import type { DynamoDBRecord } from "aws-lambda";
import { batchHandler } from "../shared/batch";
import { requireEnv } from "../shared/env";
import { SuppressionClient } from "../shared/suppression-client";
import { mirrorRecord, MirrorPorts } from "./logic";

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();
const ses = tracer.captureAWSv3Client(new SESv2Client({}));
const suppressions = new SuppressionClient({
    tableName: requireEnv("SUPPRESSION_TABLE_NAME"),
    client: tracer.captureAWSv3Client(new DynamoDBClient({})),
});

const ports: MirrorPorts = {
    entries: (email) => suppressions.entries(email),
    put: async (email, reason) => {
        await ses.send(new PutSuppressedDestinationCommand({ EmailAddress: email, Reason: reason }));
    },
    delete: async (email) => {
        try {
            await ses.send(new DeleteSuppressedDestinationCommand({ EmailAddress: email }));
        } catch (error) {
            if (!(error instanceof NotFoundException)) {
                throw error;
            }
        }
    },
};

async function handleRecord(record: DynamoDBRecord): Promise<void> {
    try {
        const action = await mirrorRecord(record, ports);
        logger.info("Mirrored suppression to SES", { action: action.kind, recipient: action.email, eventName: record.eventName });
        metrics.addMetric(action.kind === "put" ? "SuppressionMirrored" : "SuppressionUnmirrored", MetricUnit.Count, 1);
    } catch (error) {
        logger.error("Suppression mirror failed; the stream retries, then sends the batch to the DLQ", { eventId: record.eventID, error });
        metrics.addMetric("SuppressionMirrorFailure", MetricUnit.Count, 1);
        throw error;
    }
}

export const handler = batchHandler(EventType.DynamoDBStreams, handleRecord, { logger, metrics });
