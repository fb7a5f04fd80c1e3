import type { Readable } from "node:stream";
import { EventType } from "@aws-lambda-powertools/batch";
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { MessageAttributeValue, SQSClient } from "@aws-sdk/client-sqs";
import { SSMClient } from "@aws-sdk/client-ssm";
import type { SQSRecord } from "aws-lambda";
import { MINIMUM_MAIL_RETENTION_DAYS } from "../../components/retention";
import { batchHandler, pacedIdempotentHandler } from "../shared/batch";
import { lazy } from "../shared/lazy";
import { createLogger } from "../shared/logging";
import { countMetric, tokenValidityMetric } from "../shared/metrics";
import { createPacer } from "../shared/pacing";
import { forwarderConfig } from "./config";
import { CredentialStore } from "./credentials";
import { backoffSeconds, classify } from "./errors";
import { sendCopies } from "./fan-out";
import { ForwardRequest, forwardToGmail, ForwardResult, parkedBody, parseForwardRequests, splitByTarget } from "./forward";
import { GmailImporter } from "./gmail";

const config = forwarderConfig(process.env);
const logger = createLogger();
const metrics = new Metrics();
// SQS only fans out, parks, dead-letters or backs off, never imports: its client is loaded when
// first needed, so a cold start that imports mail does not load it (~60 KB of SDK code, ~15 ms). A
// failed load is retried on the next use, not kept.
const sqs = lazy(async (): Promise<{ client: SQSClient; api: typeof import("@aws-sdk/client-sqs") }> => {
    const api = await import("@aws-sdk/client-sqs");
    return { client: new api.SQSClient({}), api };
});
const s3 = new S3Client({});

const settings = { maxImportBytes: config.maxImportBytes, internalDateSource: config.internalDateSource, neverMarkSpam: config.neverMarkSpam };
const credentials = new CredentialStore({
    ssm: new SSMClient({}),
    prefix: config.ssmPrefix,
    accounts: config.accounts,
    cacheTtlMs: config.credentialCacheMs,
});
const importers = new Map<string, GmailImporter>();
const pacer = createPacer(config.importIntervalMs);

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
            importer = new GmailImporter(client, refreshToken, config.endpoints);
            importers.set(key, importer);
        }
        const { importMessage } = importer;
        // Each instance spaces its imports; with the trigger's maximum concurrency, all stay within the quota.
        return { importMessage: (...args: Parameters<typeof importMessage>) => pacer.paced(() => importMessage.apply(importer, args)) };
    },
};

// Kept as long as a copy of the message may still be drained or redriven (components/retention.ts).
const idempotency = new IdempotencyConfig({ eventKeyJmesPath: "[messageId, target]", expiresAfterSeconds: MINIMUM_MAIL_RETENTION_DAYS * 86400 });
// At most one import per (SES message, Gmail account), however often the queue redelivers it.
const importOnce = makeIdempotent((request: ForwardRequest): Promise<ForwardResult> => forwardToGmail(request, settings, ports), {
    persistenceStore: new DynamoDBPersistenceLayer({ tableName: config.idempotencyTableName, awsSdkV3Client: new DynamoDBClient({}) }),
    config: idempotency,
});

const logFields = (request: ForwardRequest) => ({ messageId: request.messageId, target: request.target, recipient: request.recipients.join(","), reason: request.reasons.join(",") });

async function handleRecord(record: SQSRecord): Promise<void> {
    let request: ForwardRequest | undefined;
    try {
        const requests = parseForwardRequests(record.body);
        if (requests.length !== 1) {
            await routeOthers(record, requests);
            return;
        }
        request = requests[0];
        const result = await importWithCurrentToken(request);
        countMetric(metrics, "GmailForwardSuccess");
        if (result.oversize) countMetric(metrics, "OversizeNotice");
        logger.info("Imported into Gmail", { ...logFields(request), sqsMessageId: record.messageId, action: result.oversize ? "oversize-notice" : "imported", gmailMessageId: result.gmailMessageId, bytes: result.bytes });
    } catch (error) {
        await handleFailure(record, request, error);
    }
}

/**
 * Imports; on a token error, forgets the cached token and tries once more with the one SSM holds now.
 * An instance may hold a token for minutes after `token refresh` replaced it: parking on that stale
 * token would park mail after the refresh's drain has started, where no drain would move it.
 */
async function importWithCurrentToken(request: ForwardRequest): Promise<ForwardResult> {
    try {
        return await importOnce(request);
    } catch (error) {
        if (classify(error).kind !== "park") throw error;
        credentials.forget(request.target);
        return importOnce(request);
    }
}

/** No forward decision: nothing to do. Several accounts: one copy each on this queue. */
async function routeOthers(record: SQSRecord, requests: ForwardRequest[]): Promise<void> {
    if (requests.length === 0) {
        logger.info("No forward-to-gmail decision: nothing to import", { messageId: messageIdOf(record.body), sqsMessageId: record.messageId, action: "none" });
        return;
    }
    await sendCopies((await sqs()).client, config.forwarderQueueUrl, splitByTarget(record.body, requests));
    countMetric(metrics, "GmailForwardFanOut");
    logger.info("Several Gmail accounts: one copy each sent to the forwarder queue", {
        messageId: requests[0].messageId, target: requests.map((r) => r.target).join(","), recipient: requests.flatMap((r) => r.recipients).join(","),
        reason: requests.flatMap((r) => r.reasons).join(","), sqsMessageId: record.messageId, action: "fan-out",
    });
}

async function handleFailure(record: SQSRecord, request: ForwardRequest | undefined, error: unknown): Promise<void> {
    const { kind, reason } = classify(error);
    const { client, api } = await sqs();
    const fields = { ...(request ? logFields(request) : { messageId: messageIdOf(record.body) }), sqsMessageId: record.messageId, reason, action: kind };
    const attributes = { reason: { DataType: "String", StringValue: reason.slice(0, 1000) } };
    if (kind === "park") {
        // The retry drain moves one account's parked mail once its token is refreshed: it reads `account`.
        const account: Record<string, MessageAttributeValue> = request ? { account: { DataType: "String", StringValue: request.target } } : {};
        await client.send(new api.SendMessageCommand({ QueueUrl: config.retryQueueUrl, MessageBody: parkedBody(record.body), MessageAttributes: { ...attributes, ...account } }));
        countMetric(metrics, "GmailTokenError");
        if (request) {
            credentials.forget(request.target);
            // The token monitor's TokenValid alarm hears of it now, not at the next hourly probe.
            tokenValidityMetric(metrics, request.target, false);
        }
        logger.warn("Gmail token unusable: parked in the retry queue until the token is refreshed", fields);
        return;
    }
    if (kind === "permanent") {
        await client.send(new api.SendMessageCommand({ QueueUrl: config.deadLetterQueueUrl, MessageBody: record.body, MessageAttributes: attributes }));
        countMetric(metrics, "GmailForwardFailure");
        logger.error("Cannot forward: sent to the DLQ", fields);
        return;
    }
    const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? "1");
    if (receiveCount >= config.maxReceiveCount) {
        countMetric(metrics, "GmailForwardFailure");
        logger.error("Forwarding failed on the last attempt: SQS moves it to the DLQ", { ...fields, receiveCount });
    } else {
        // Records come from the forwarder's own queue (its URL also works outside the `aws` partition).
        await client.send(new api.ChangeMessageVisibilityCommand({ QueueUrl: config.forwarderQueueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: backoffSeconds(receiveCount) }));
        logger.warn("Forwarding failed; retrying with backoff", { ...fields, receiveCount, retryInSeconds: backoffSeconds(receiveCount) });
    }
    throw error;
}

/** The SES message id of a body, for logs, when it can be read. */
function messageIdOf(body: string): string | undefined {
    try {
        const id = (JSON.parse(body) as { detail?: { messageId?: unknown } })?.detail?.messageId;
        return typeof id === "string" ? id : undefined;
    } catch {
        return undefined;
    }
}

// Records one at a time: imports are paced anyway, and a crash (timeout, OOM) then cuts at most one
// import on the wire. Gmail's import has no idempotency key: an import Gmail took whose answer never
// arrived would be imported again on the retry.
export const handler = pacedIdempotentHandler(batchHandler(EventType.SQS, handleRecord, { logger, metrics }, true), idempotency, pacer);
