import type { Readable } from "node:stream";
import { EventType } from "@aws-lambda-powertools/batch";
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { SSMClient } from "@aws-sdk/client-ssm";
import type { SQSRecord } from "aws-lambda";
import { batchHandler } from "../shared/batch";
import { requireEnv } from "../shared/env";
import { tokenValidityMetric } from "../shared/metrics";
import { CredentialStore } from "./credentials";
import { backoffSeconds, classify } from "./errors";
import { ForwardRequest, forwardToGmail, ForwardResult, parseForwardRequest } from "./forward";
import { GmailImporter } from "./gmail";

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();
const sqs = tracer.captureAWSv3Client(new SQSClient({}));
const s3 = tracer.captureAWSv3Client(new S3Client({}));

const retryQueueUrl = requireEnv("RETRY_QUEUE_URL");
const deadLetterQueueUrl = requireEnv("DLQ_URL");
const maxReceiveCount = Number(process.env.MAX_RECEIVE_COUNT ?? "5");
const settings = {
    maxImportBytes: Number(process.env.MAX_IMPORT_BYTES ?? String(50 * 1024 * 1024)),
    internalDateSource: process.env.INTERNAL_DATE_SOURCE === "receivedTime" ? "receivedTime" as const : "dateHeader" as const,
    neverMarkSpam: process.env.NEVER_MARK_SPAM === "true",
};
const credentials = new CredentialStore({
    ssm: tracer.captureAWSv3Client(new SSMClient({})),
    prefix: requireEnv("SSM_PREFIX"),
    accounts: requireEnv("GMAIL_ACCOUNTS").split(",").map((a) => a.trim().toLowerCase()).filter(Boolean),
    cacheTtlMs: Number(process.env.CREDENTIAL_CACHE_SECONDS ?? "300") * 1000,
});
const endpoints = { apiRootUrl: process.env.GMAIL_API_ROOT_URL, tokenUrl: process.env.OAUTH_TOKEN_URL };
const importers = new Map<string, GmailImporter>();

const ports = {
    credentials: (account: string) => credentials.forAccount(account),
    openObject: async (bucket: string, key: string) => {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return { size: object.ContentLength ?? 0, body: object.Body as Readable };
    },
    importer: (account: string, client: { clientId: string; clientSecret: string }, refreshToken: string) => {
        const key = `${account}|${refreshToken}`;
        let importer = importers.get(key);
        if (!importer) {
            importer = new GmailImporter(client, refreshToken, endpoints);
            importers.set(key, importer);
        }
        return importer;
    },
};

const idempotency = new IdempotencyConfig({ eventKeyJmesPath: "[messageId, target]", expiresAfterSeconds: 7 * 24 * 3600 });
// At most one import per (SES message, Gmail account), however often the queue redelivers it.
const importOnce = makeIdempotent((request: ForwardRequest): Promise<ForwardResult> => forwardToGmail(request, settings, ports), {
    persistenceStore: new DynamoDBPersistenceLayer({ tableName: requireEnv("IDEMPOTENCY_TABLE_NAME"), awsSdkV3Client: tracer.captureAWSv3Client(new DynamoDBClient({})) }),
    config: idempotency,
});

async function handleRecord(record: SQSRecord): Promise<void> {
    let request: ForwardRequest | undefined;
    try {
        request = parseForwardRequest(record.body);
        const result = await importOnce(request);
        metrics.addMetric("GmailForwardSuccess", MetricUnit.Count, 1);
        if (result.oversize) metrics.addMetric("OversizeNotice", MetricUnit.Count, 1);
        logger.info("Imported into Gmail", { messageId: request.messageId, target: request.target, recipient: request.recipients.join(","), gmailMessageId: result.gmailMessageId, bytes: result.bytes, oversize: result.oversize });
    } catch (error) {
        const { kind, reason } = classify(error);
        const fields = { messageId: request?.messageId, target: request?.target, sqsMessageId: record.messageId, reason, action: kind };
        const attributes = { reason: { DataType: "String", StringValue: reason.slice(0, 1000) } };
        if (kind === "park") {
            await sqs.send(new SendMessageCommand({ QueueUrl: retryQueueUrl, MessageBody: record.body, MessageAttributes: attributes }));
            metrics.addMetric("GmailTokenError", MetricUnit.Count, 1);
            if (request) {
                credentials.forget(request.target);
                // The token monitor's TokenValid alarm hears of it now, not at the next hourly probe.
                tokenValidityMetric(metrics, request.target, false);
            }
            logger.warn("Gmail token unusable: parked in the retry queue until the token is refreshed", fields);
            return;
        }
        if (kind === "permanent") {
            await sqs.send(new SendMessageCommand({ QueueUrl: deadLetterQueueUrl, MessageBody: record.body, MessageAttributes: attributes }));
            metrics.addMetric("GmailForwardFailure", MetricUnit.Count, 1);
            logger.error("Cannot forward: sent to the DLQ", fields);
            return;
        }
        const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? "1");
        if (receiveCount >= maxReceiveCount) {
            metrics.addMetric("GmailForwardFailure", MetricUnit.Count, 1);
            logger.error("Forwarding failed on the last attempt: SQS moves it to the DLQ", { ...fields, receiveCount });
        } else {
            await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrlOf(record.eventSourceARN), ReceiptHandle: record.receiptHandle, VisibilityTimeout: backoffSeconds(receiveCount) }));
            logger.warn("Forwarding failed; retrying with backoff", { ...fields, receiveCount, retryInSeconds: backoffSeconds(receiveCount) });
        }
        throw error;
    }
}

/** `arn:aws:sqs:<region>:<account>:<name>` → the queue URL. */
function queueUrlOf(arn: string): string {
    const [, , , region, account, name] = arn.split(":");
    return `https://sqs.${region}.amazonaws.com/${account}/${name}`;
}

const batch = batchHandler(EventType.SQS, handleRecord, { logger, metrics });

export const handler: typeof batch = async (event, context) => {
    idempotency.registerLambdaContext(context);
    return batch(event, context);
};
