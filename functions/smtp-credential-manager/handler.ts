import { EventType } from "@aws-lambda-powertools/batch";
import { createLogger } from "../shared/logging";
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
import { handleChange, ManagerContext, sweep } from "./manager";

const logger = createLogger();
const metrics = new Metrics();
const tracer = new Tracer();
const list = (name: string) => (process.env[name] ?? "").split(",").filter(Boolean);

const context: ManagerContext = {
    iam: iamPort(tracer.captureAWSv3Client(new IAMClient({}))),
    store: storePort(DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({})), { marshallOptions: { removeUndefinedValues: true } }), requireEnv("TABLE_NAME")),
    encrypt: kmsEncrypt(tracer.captureAWSv3Client(new KMSClient({})), requireEnv("KMS_KEY_ID")),
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
    metric: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
    log: (message, fields) => logger.info(message, fields),
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

/** Stream batches, and the hourly sweep (orphans, records out of sync, overlaps that ended). */
export const handler = async (event: DynamoDBStreamEvent | ScheduledEvent, lambdaContext: Context) => {
    if ("Records" in event) return streamHandler(event, lambdaContext);
    try {
        const result = await sweep(context);
        logger.info("SMTP sweep", { ...result, action: "sweep" });
        return result;
    } finally {
        metrics.publishStoredMetrics();
    }
};
