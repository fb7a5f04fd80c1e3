// How long messages and mail are kept, in one place, because the checks compare them. No imports:
// stack config validation (and the CLI) read it without loading Pulumi.

/** Every DLQ keeps messages 14 days (SQS's maximum). For standard queues a message's age counts from
 * when it was first sent, not from when it reached the DLQ ("Setting-up dead-letter queue retention"). */
export const DLQ_RETENTION_SECONDS = 14 * 86400;

/** Parked mail waits this long for a token refresh (SQS's maximum retention). */
export const RETRY_QUEUE_RETENTION_SECONDS = 14 * 86400;

/** How long the bus retries delivering a routing event to its queue (24 h, EventBridge's maximum). */
export const ROUTING_EVENT_MAX_AGE_SECONDS = 86400;

/**
 * The fewest days raw mail must be kept: a mail may wait parked for a token refresh for the retry
 * queue's retention, then sit in the forwarder's DLQ for the DLQ's retention, after up to a day of
 * EventBridge delivery retries. Expired earlier, a redrive finds no object to import.
 */
export const MINIMUM_MAIL_RETENTION_DAYS = Math.ceil((RETRY_QUEUE_RETENTION_SECONDS + DLQ_RETENTION_SECONDS + ROUTING_EVENT_MAX_AGE_SECONDS) / 86400);
