import { EventType } from "@aws-lambda-powertools/batch";
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SendBounceCommand, SESClient } from "@aws-sdk/client-ses";
import type { SQSRecord } from "aws-lambda";
import { MINIMUM_MAIL_RETENTION_DAYS } from "../../components/retention";
import { batchHandler, pacedIdempotentHandler } from "../shared/batch";
import { requireEnv } from "../shared/env";
import { createLogger } from "../shared/logging";
import { countMetric } from "../shared/metrics";
import { createPacer } from "../shared/pacing";
import { SuppressionClient } from "../shared/suppression-client";
import { noBounceReason, parseBounceRequest, recipientsByDomain } from "./logic";

const logger = createLogger();
const metrics = new Metrics();
const ses = new SESClient({});
const suppressions = new SuppressionClient({ tableName: requireEnv("SUPPRESSION_TABLE_NAME"), client: new DynamoDBClient({}) });
const senderLocalPart = process.env.BOUNCE_SENDER_LOCAL_PART ?? "MAILER-DAEMON";
const idempotency = new IdempotencyConfig({ eventKeyJmesPath: "[messageId, domain]", expiresAfterSeconds: MINIMUM_MAIL_RETENTION_DAYS * 86400 });
const ownMailerDaemons = requireEnv("DOMAINS").split(",").map((domain) => `${senderLocalPart}@${domain.trim()}`.toLowerCase());
const pacer = createPacer(Number(requireEnv("BOUNCE_MIN_INTERVAL_MS")));

const THROTTLE_ATTEMPTS = 4;
const isThrottling = (error: unknown) => ["Throttling", "ThrottlingException", "TooManyRequestsException"].includes((error as Error)?.name);

interface DomainBounce {
    messageId: string;
    domain: string;
    recipients: string[];
    receivedAt: string;
}

// One DSN per (mail, domain), however often SQS delivers the event or a later domain's call fails.
const bounceOnce = makeIdempotent(async (bounce: DomainBounce): Promise<{ messageId: string }> => {
    const command = new SendBounceCommand({
        OriginalMessageId: bounce.messageId,
        BounceSender: `${senderLocalPart}@${bounce.domain}`,
        Explanation: "The address you sent to does not exist here.",
        MessageDsn: { ReportingMta: `dns; ${bounce.domain}`, ArrivalDate: new Date(bounce.receivedAt) },
        BouncedRecipientInfoList: bounce.recipients.map((recipient) => ({ Recipient: recipient, BounceType: "DoesNotExist" })),
    });
    // Two instances may each call once within the same second; SES then throttles one of them, which
    // waits its turn again rather than failing the record (and raising its receive count).
    for (let attempt = 1; ; attempt++) {
        try {
            const result = await pacer.paced(() => ses.send(command));
            return { messageId: result.MessageId ?? "" };
        } catch (error) {
            if (attempt >= THROTTLE_ATTEMPTS || !isThrottling(error)) throw error;
            logger.warn("SendBounce throttled; trying again", { messageId: bounce.messageId, attempt });
        }
    }
}, {
    persistenceStore: new DynamoDBPersistenceLayer({ tableName: requireEnv("IDEMPOTENCY_TABLE_NAME"), awsSdkV3Client: new DynamoDBClient({}) }),
    config: idempotency,
});

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
        await bounceOnce({ messageId: request.messageId, domain, recipients, receivedAt: request.receivedAt });
        countMetric(metrics, "BounceSent", recipients.length);
        logger.info("Bounce sent", { ...fields, action: "bounce", recipient: recipients.join(","), bounceSender: `${senderLocalPart}@${domain}` });
    }
}

export const handler = pacedIdempotentHandler(batchHandler(EventType.SQS, handleRecord, { logger, metrics }), idempotency, pacer);
