import { EventType } from "@aws-lambda-powertools/batch";
import { createLogger } from "../shared/logging";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue as StreamAttributeValue, Context, DynamoDBRecord, DynamoDBStreamEvent, ScheduledEvent, SNSEvent } from "aws-lambda";
import { batchHandler } from "../shared/batch";
import { countMetric } from "../shared/metrics";
import { requireEnv } from "../shared/env";
import { iamPort, kmsEncrypt, restrictionsPort, storePort } from "./adapters";
import { parseSmtpRecord } from "./logic";
import { handleChange, ManagerContext, sweep } from "./manager";
import { enforceRestrictions, restrictedSenderOf } from "./restrictions";

const logger = createLogger();
const metrics = new Metrics();
const list = (name: string) => (process.env[name] ?? "").split(",").filter(Boolean);

const dynamo = new DynamoDBClient({});

const context: ManagerContext = {
    iam: iamPort(new IAMClient({})),
    store: storePort(DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }), requireEnv("TABLE_NAME")),
    encrypt: kmsEncrypt(new KMSClient({}), requireEnv("KMS_KEY_ID")),
    region: requireEnv("AWS_REGION"),
    identityArns: requireEnv("IDENTITY_ARNS").split(",").filter(Boolean),
    configurationSetArns: list("CONFIGURATION_SET_ARNS"),
    permissionsBoundaryArn: requireEnv("PERMISSIONS_BOUNDARY_ARN"),
    iamPath: requireEnv("IAM_PATH"),
    tags: { Service: "ses-mail", Component: "SmtpCredentials", Environment: process.env.ENVIRONMENT ?? "" },
    maxAttempts: Number(process.env.MAX_ATTEMPTS ?? "3"),
    rotationOverlapSeconds: Number(process.env.ROTATION_OVERLAP_SECONDS ?? "86400"),
    stuckAfterSeconds: Number(process.env.STUCK_AFTER_SECONDS ?? "7200"),
    now: () => new Date(),
    metric: (name, value = 1) => countMetric(metrics, name, value),
    log: (message, fields) => logger.info(message, fields),
    // Set when SmtpCredentials is given FeedbackPipeline's sender reputation.
    restrictions: process.env.SENDERS_TABLE_NAME ? restrictionsPort(dynamo, process.env.SENDERS_TABLE_NAME) : undefined,
};

const image = (value?: Record<string, StreamAttributeValue>) => (value ? parseSmtpRecord(unmarshall(value as never)) : undefined);

async function handleRecord(record: DynamoDBRecord): Promise<void> {
    const before = image(record.dynamodb?.OldImage);
    const after = image(record.dynamodb?.NewImage);
    const username = after?.username ?? before?.username;
    try {
        const steps = await handleChange(record.eventName ?? "", before, after, context);
        if (steps.length) logger.info("SMTP record handled", { username, action: steps.join(","), eventName: record.eventName });
    } catch (error) {
        logger.error("SMTP user not reconciled; the stream retries, then the sweep", { username, eventId: record.eventID, error });
        throw error;
    }
}

const streamHandler = batchHandler(EventType.DynamoDBStreams, handleRecord, { logger, metrics }, true);

/**
 * A sender restriction announced on FeedbackPipeline's notifications topic (the subscription's filter
 * lets only `state=restricted` through): its SMTP users are disabled at once. A failure throws, so
 * Lambda retries the asynchronous invocation; the hourly sweep enforces it in any case.
 */
async function handleRestrictions(event: SNSEvent): Promise<{ disabled: number }> {
    const senders = event.Records.map((record) => restrictedSenderOf(record.Sns.Message)).filter((s): s is string => s !== undefined);
    if (!context.restrictions || senders.length === 0) return { disabled: 0 };
    try {
        const outcome = await enforceRestrictions(senders, context.restrictions, context);
        logger.info("Restricted senders enforced", { action: "disable-restricted-sender", senders, disabled: outcome.disabled.map((d) => d.username), notRestricted: outcome.notRestricted });
        return { disabled: outcome.disabled.length };
    } finally {
        metrics.publishStoredMetrics();
    }
}

/** Stream batches, sender restrictions, and the hourly sweep (orphans, records out of sync, overlaps that ended, restricted senders). */
export const handler = async (event: DynamoDBStreamEvent | SNSEvent | ScheduledEvent, lambdaContext: Context) => {
    if ("Records" in event && event.Records[0] && "Sns" in event.Records[0]) return handleRestrictions(event as SNSEvent);
    if ("Records" in event) return streamHandler(event as DynamoDBStreamEvent, lambdaContext);
    try {
        const result = await sweep(context);
        logger.info("SMTP sweep", { ...result, action: "sweep" });
        return result;
    } finally {
        metrics.publishStoredMetrics();
    }
};
