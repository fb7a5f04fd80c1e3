import { EventType } from "@aws-lambda-powertools/batch";
import { createLogger } from "../shared/logging";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteSuppressedDestinationCommand, GetSuppressedDestinationCommand, NotFoundException, PutSuppressedDestinationCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import type { DynamoDBRecord } from "aws-lambda";
import { batchHandler } from "../shared/batch";
import { countMetric } from "../shared/metrics";
import { requireEnv } from "../shared/env";
import { SuppressionClient } from "../shared/suppression-client";
import { claimStore } from "./claims";
import { MirrorAction, mirrorRecord, MirrorPorts, SesSuppressionReason } from "./logic";

const logger = createLogger();
const metrics = new Metrics();
const ses = new SESv2Client({});
const dynamo = new DynamoDBClient({});
// Consistent reads: a record's handler may run right after another write to the same address.
const suppressions = new SuppressionClient({ tableName: requireEnv("SUPPRESSION_TABLE_NAME"), client: dynamo, consistentRead: true });

const ports: MirrorPorts = {
    entries: (email) => suppressions.entries(email),
    listed: async (email) => {
        try {
            const { SuppressedDestination: entry } = await ses.send(new GetSuppressedDestinationCommand({ EmailAddress: email }));
            return entry && {
                reason: entry.Reason as SesSuppressionReason,
                lastUpdated: new Date(entry.LastUpdateTime!).toISOString(),
                setBySes: entry.Attributes?.MessageId !== undefined || entry.Attributes?.FeedbackId !== undefined,
            };
        } catch (error) {
            if (error instanceof NotFoundException) return undefined;
            throw error;
        }
    },
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
    ...claimStore(requireEnv("CLAIMS_TABLE_NAME"), dynamo),
};

const METRIC: Record<MirrorAction["kind"], string> = {
    put: "SuppressionMirrored",
    delete: "SuppressionUnmirrored",
    unchanged: "SuppressionMirrorUnchanged",
    left: "SuppressionLeftInSes",
};

async function handleRecord(record: DynamoDBRecord): Promise<void> {
    try {
        const action = await mirrorRecord(record, ports);
        if (action.kind === "left") {
            // Not an error: the entry is someone else's too. Operators remove it by hand if it should go.
            logger.warn("Left an SES suppression this stack did not put", { action: action.kind, wanted: action.wanted, recipient: action.email, eventName: record.eventName });
        } else {
            logger.info("Mirrored suppression to SES", { action: action.kind, recipient: action.email, eventName: record.eventName });
        }
        countMetric(metrics, METRIC[action.kind]);
    } catch (error) {
        logger.error("Suppression mirror failed; the stream retries, then sends the batch to the DLQ", { eventId: record.eventID, error });
        countMetric(metrics, "SuppressionMirrorFailure");
        throw error;
    }
}

export const handler = batchHandler(EventType.DynamoDBStreams, handleRecord, { logger, metrics });
