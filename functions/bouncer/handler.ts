import { EventType } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendBounceCommand, SESClient } from "@aws-sdk/client-ses";
import type { SQSRecord } from "aws-lambda";
import { batchHandler } from "../shared/batch";
import { requireEnv } from "../shared/env";
import { countMetric } from "../shared/metrics";
import { SuppressionClient } from "../shared/suppression-client";
import { noBounceReason, parseBounceRequest, recipientsByDomain } from "./logic";

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();
const ses = tracer.captureAWSv3Client(new SESClient({}));
const suppressions = new SuppressionClient({ tableName: requireEnv("SUPPRESSION_TABLE_NAME"), client: tracer.captureAWSv3Client(new DynamoDBClient({})) });
const senderLocalPart = process.env.BOUNCE_SENDER_LOCAL_PART ?? "MAILER-DAEMON";
const ownMailerDaemons = requireEnv("DOMAINS").split(",").map((domain) => `${senderLocalPart}@${domain.trim()}`.toLowerCase());
const minIntervalMs = Number(process.env.BOUNCE_MIN_INTERVAL_MS ?? "1000");

// SendBounce allows one call per second; the function also runs with a reserved concurrency of 1.
// Records of a batch are processed in parallel, so calls take turns: each waits for the previous slot.
let lastSlot: Promise<number> = Promise.resolve(0);
function paced<T>(call: () => Promise<T>): Promise<T> {
    const slot = lastSlot.then(async (previous) => {
        const wait = previous + minIntervalMs - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        return Date.now();
    });
    lastSlot = slot;
    return slot.then(call);
}

async function handleRecord(record: SQSRecord): Promise<void> {
    const request = parseBounceRequest(record.body);
    const fields = { messageId: request.messageId, source: request.source, recipient: request.recipients.join(",") };
    const reason = noBounceReason(request, ownMailerDaemons, Date.now()) ?? ((await suppressions.isSuppressed(request.source)) ? "sender-suppressed" : undefined);
    if (reason) {
        countMetric(metrics, "BounceSuppressed", 1, { reason });
        logger.info("Not bouncing: it would be backscatter", { ...fields, action: "bounce-suppressed", reason });
        return;
    }
    for (const [domain, recipients] of recipientsByDomain(request.recipients)) {
        await paced(() => ses.send(new SendBounceCommand({
            OriginalMessageId: request.messageId,
            BounceSender: `${senderLocalPart}@${domain}`,
            Explanation: "The address you sent to does not exist here.",
            MessageDsn: { ReportingMta: `dns; ${domain}`, ArrivalDate: new Date(request.receivedAt) },
            BouncedRecipientInfoList: recipients.map((recipient) => ({ Recipient: recipient, BounceType: "DoesNotExist" })),
        })));
        countMetric(metrics, "BounceSent", recipients.length);
        logger.info("Bounce sent", { ...fields, action: "bounce", recipient: recipients.join(","), bounceSender: `${senderLocalPart}@${domain}` });
    }
}

export const handler = batchHandler(EventType.SQS, handleRecord, { logger, metrics });
