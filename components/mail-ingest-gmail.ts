// MailIngest, Gmail delivery: the forwarder's queue and function, the token retry queue and its
// drain, the idempotency table and one token monitor per Gmail account.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { GMAIL_IMPORT_LIMIT_BYTES } from "../functions/gmail-forwarder/limits";
import { clientCredentialsName, refreshTokenName } from "../functions/shared/gmail-oauth";
import { paceIntervalMs } from "../functions/shared/pacing";
import { alarmTopic } from "./encrypted-topic";
import { allow, idempotencyStatement } from "./iam";
import { LambdaFunction } from "./lambda-function";
import type { IngestScope } from "./mail-ingest-scope";
import { INBOUND_PREFIX } from "./mail-ingest-receiving";
import { type Routing, routingTarget, sentByRule } from "./mail-ingest-routing";
import { accountSlug, gmailParameterPrefix, physicalName, RETRY_DRAIN_PURPOSE } from "./naming";
import { QueueWithDlq } from "./queue-with-dlq";
import { RETRY_QUEUE_RETENTION_SECONDS } from "./retention";
import { RetryDrain } from "./retry-drain";
import { secureTableSettings } from "./table-settings";
import { applyTransform } from "./transform";
import { resolveTokenMonitorSettings, tokenAlarmNames, TokenMonitor } from "./token-monitor";

/**
 * Gmail's per-mailbox quota for Cloud projects created since May 2026: 6,000 units a minute at 25 an
 * import ("Usage limits", Gmail API). Older projects keep 15,000 (600 imports) and may raise it.
 */
export const GMAIL_IMPORTS_PER_MINUTE = 240;
/**
 * Receives of a forwarder message before the DLQ: rate-limited imports back off 30 s, 1, 2, 4, 8 and
 * then 15 minutes, about 45 minutes in all, before a mail is dead-lettered.
 */
export const FORWARDER_MAX_RECEIVE_COUNT = 8;
/** Concurrent forwarder invocations (the SQS trigger's maximum concurrency; AWS's minimum is 2). */
export const DEFAULT_FORWARDER_MAX_CONCURRENCY = 2;
/**
 * Each drain for another account receives (and leaves) a parked message once, raising its receive
 * count; only a message drained this often without ever being moved goes to the retry DLQ.
 */
export const RETRY_QUEUE_MAX_RECEIVE_COUNT = 100;

export interface GmailDelivery {
    forwarderQueue: QueueWithDlq;
    retryQueue: QueueWithDlq;
    idempotencyTable: aws.dynamodb.Table;
    forwarder: LambdaFunction;
    retryDrain: RetryDrain;
    tokenMonitors: TokenMonitor[];
    tokenAlertTopicArn?: pulumi.Output<string>;
}

export function createGmailDelivery(scope: IngestScope, routing: Routing, bucket: aws.s3.Bucket): GmailDelivery {
    const { name, args, env, prefix, tags, child, common } = scope;
    const forwarderTimeout = 120;
    const forwarderQueue = new QueueWithDlq(`${name}-forwarder`, {
        ...common, purpose: "gmail-forwarder", consumerTimeoutSeconds: forwarderTimeout, maxReceiveCount: FORWARDER_MAX_RECEIVE_COUNT,
        allowedSenders: sentByRule(routing.rules.forward), dlqAllowedSenders: sentByRule(routing.rules.forward),
        transform: { queue: args.transform?.forwarderQueue, dlq: args.transform?.forwarderDlq },
    }, child);
    const retryQueue = new QueueWithDlq(`${name}-retry`, {
        ...common, purpose: "gmail-forwarder-retry", messageRetentionSeconds: RETRY_QUEUE_RETENTION_SECONDS, maxReceiveCount: RETRY_QUEUE_MAX_RECEIVE_COUNT,
        transform: { queue: args.transform?.retryQueue },
    }, child);
    const idempotencyTable = new aws.dynamodb.Table(`${name}-idempotency`, ...applyTransform(args.transform?.idempotencyTable, `${name}-idempotency`, {
        name: physicalName("dynamodbTable", { purpose: "gmail-forwarder-idempotency", env, prefix }),
        hashKey: "id",
        attributes: [{ name: "id", type: "S" }],
        ttl: { attributeName: "expiration", enabled: true },
        ...secureTableSettings({ deletionProtection: args.deletionProtection }),
        tags,
    }, child));
    const accounts = args.gmailAccounts ?? [];
    const parameterPrefix = gmailParameterPrefix(env, prefix);
    const parameterArn = (parameter: string) => pulumi.interpolate`arn:${scope.partition}:ssm:${scope.region}:${scope.accountId}:parameter${parameter}`;
    const maxConcurrency = args.forwarderMaxConcurrency ?? DEFAULT_FORWARDER_MAX_CONCURRENCY;
    const forwarder = new LambdaFunction(`${name}-forwarder`, {
        ...common, code: "gmail-forwarder", purpose: "gmail-forwarder", timeout: forwarderTimeout, memorySize: 512, metricsNamespace: scope.metricsNamespace, logRetentionDays: args.logRetentionDays, hashAddressesInLogs: args.hashAddressesInLogs,
        description: "Imports routed mail into Gmail (users.messages.import)",
        environment: {
            FORWARDER_QUEUE_URL: forwarderQueue.url,
            RETRY_QUEUE_URL: retryQueue.url,
            DLQ_URL: forwarderQueue.dlq.url,
            MAX_RECEIVE_COUNT: String(forwarderQueue.settings.maxReceiveCount),
            SSM_PREFIX: parameterPrefix,
            GMAIL_ACCOUNTS: accounts.join(","),
            IDEMPOTENCY_TABLE_NAME: idempotencyTable.name,
            MAX_IMPORT_BYTES: String(args.maxImportBytes ?? GMAIL_IMPORT_LIMIT_BYTES),
            INTERNAL_DATE_SOURCE: args.internalDateSource ?? "dateHeader",
            NEVER_MARK_SPAM: String(args.neverMarkSpam ?? false),
            IMPORT_MIN_INTERVAL_MS: String(paceIntervalMs((args.gmailImportsPerMinute ?? GMAIL_IMPORTS_PER_MINUTE) / 60, maxConcurrency)),
        },
        policyStatements: [
            ...forwarderQueue.consumerStatements(),
            // Its own queue too: a mail for several Gmail accounts is split into one message per account.
            allow(["sqs:SendMessage"], [forwarderQueue.arn, retryQueue.arn, forwarderQueue.dlq.arn]),
            allow(["s3:GetObject"], [pulumi.interpolate`${bucket.arn}/${INBOUND_PREFIX}*`]),
            allow(["ssm:GetParameter"], [parameterArn(clientCredentialsName(parameterPrefix)), ...accounts.map((a) => parameterArn(refreshTokenName(parameterPrefix, a)))]),
            // The bouncer shares the table: each function reaches only its own records.
            idempotencyStatement(idempotencyTable.arn, physicalName("lambda", { purpose: "gmail-forwarder", env, prefix })),
        ],
        transform: { function: args.transform?.forwarderFunction, role: args.transform?.forwarderRole },
    }, child);
    new aws.lambda.EventSourceMapping(`${name}-forwarder-source`, {
        eventSourceArn: forwarderQueue.arn, functionName: forwarder.arn, batchSize: 5, functionResponseTypes: ["ReportBatchItemFailures"],
        scalingConfig: { maximumConcurrency: maxConcurrency },
        tags,
    }, child);
    routingTarget(scope, "forward", routing.rules.forward, forwarderQueue.arn, forwarderQueue.dlq.arn);
    const retryDrain = new RetryDrain(`${name}-retry-drain`, {
        ...common, purpose: RETRY_DRAIN_PURPOSE, logRetentionDays: args.logRetentionDays,
        sourceQueueArn: retryQueue.arn, sourceQueueUrl: retryQueue.url,
        targetQueueArn: forwarderQueue.arn, targetQueueUrl: forwarderQueue.url,
    }, child);
    return { forwarderQueue, retryQueue, idempotencyTable, forwarder, retryDrain, ...tokenMonitoring(scope, accounts, parameterPrefix) };
}

/** The forwarder never stops silently on an expired or revoked token: a monitor per account. */
function tokenMonitoring(scope: IngestScope, accounts: string[], parameterPrefix: string): Pick<GmailDelivery, "tokenMonitors" | "tokenAlertTopicArn"> {
    const { name, args, env, prefix, child, common } = scope;
    if (accounts.length === 0 || !(args.tokenMonitoring ?? true)) return { tokenMonitors: [] };
    const monitorArgs = { env, namePrefix: prefix, parameterPrefix, warningHours: args.tokenWarningHours, criticalHours: args.tokenCriticalHours, warningAlarm: args.tokenWarningAlarms };
    const tokenAlertTopicArn = args.tokenAlertTopicArn !== undefined
        ? pulumi.output(args.tokenAlertTopicArn)
        : alarmTopic(`${name}-token-alerts`, {
            ...common, purpose: "gmail-forwarder-token-alerts", description: `ses-mail Gmail token alerts (${env})`,
            alarmNames: accounts.flatMap((account) => tokenAlarmNames(resolveTokenMonitorSettings({ ...monitorArgs, account }))),
            emailSubscriptions: args.tokenAlertEmails, httpsSubscriptions: args.tokenAlertHttpsEndpoints,
            kmsKeyArn: args.kmsKeyArn, retainOwnKey: args.retainOwnKey,
        }, child.parent).arn;
    const tokenMonitors = accounts.map((account) => new TokenMonitor(`${name}-token-${accountSlug(account)}`, {
        ...monitorArgs, account, homeRegion: args.homeRegion, hashAddressesInLogs: args.hashAddressesInLogs, alertTopicArn: tokenAlertTopicArn, logRetentionDays: args.logRetentionDays, tags: args.tags,
    }, child));
    return { tokenMonitors, tokenAlertTopicArn };
}
