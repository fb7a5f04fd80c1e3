import { EventType } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { AttributeValue as StreamAttributeValue, Context, DynamoDBRecord, DynamoDBStreamEvent, ScheduledEvent } from "aws-lambda";
import { batchHandler } from "../shared/batch";
import { requireEnv } from "../shared/env";
import { iamPort, kmsEncrypt, storePort } from "./adapters";
import { parseSmtpRecord } from "./logic";
import { handleChange, ManagerContext, sweepRetiringKeys } from "./manager";

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();
const store = storePort(DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({})), { marshallOptions: { removeUndefinedValues: true } }), requireEnv("TABLE_NAME"));

const context: ManagerContext = {
    iam: iamPort(tracer.captureAWSv3Client(new IAMClient({}))),
    store,
    encrypt: kmsEncrypt(tracer.captureAWSv3Client(new KMSClient({})), requireEnv("KMS_KEY_ID")),
    region: requireEnv("AWS_REGION"),
    identityArns: requireEnv("IDENTITY_ARNS").split(",").filter(Boolean),
    iamPath: requireEnv("IAM_PATH"),
    tags: { Service: "ses-mail", Component: "SmtpCredentials", Environment: process.env.ENVIRONMENT ?? "" },
    maxAttempts: Number(process.env.MAX_ATTEMPTS ?? "3"),
    rotationOverlapSeconds: Number(process.env.ROTATION_OVERLAP_SECONDS ?? "86400"),
    now: () => new Date(),
    metric: (name) => metrics.addMetric(name, MetricUnit.Count, 1),
    log: (message, fields) => logger.info(message, fields),
};

const image = (value?: Record<string, StreamAttributeValue>) => (value ? parseSmtpRecord(unmarshall(value as never)) : undefined);

async function handleRecord(record: DynamoDBRecord): Promise<void> {
    const before = image(record.dynamodb?.OldImage);
    const after = image(record.dynamodb?.NewImage);
    const username = after?.username ?? before?.username;
    try {
        const action = await handleChange(record.eventName ?? "", record.dynamodb?.SequenceNumber ?? "0", before, after, context);
        if (action !== "none") logger.info("SMTP credential change handled", { username, action, eventName: record.eventName });
    } catch (error) {
        logger.error("SMTP credential change failed; rolled back, the stream retries", { username, eventId: record.eventID, error });
        throw error;
    }
}

const streamHandler = batchHandler(EventType.DynamoDBStreams, handleRecord, { logger, metrics }, true);

/** Stream batches, and the hourly schedule that deletes rotated-out keys after their overlap. */
export const handler = async (event: DynamoDBStreamEvent | ScheduledEvent, lambdaContext: Context) => {
    if ("Records" in event) return streamHandler(event, lambdaContext);
    try {
        const deleted = await sweepRetiringKeys(await store.retiring(), { ...context, clearRetiring: store.clearRetiring });
        logger.info("Retired rotated-out SMTP keys", { deleted });
        return { deleted };
    } finally {
        metrics.publishStoredMetrics();
    }
};
