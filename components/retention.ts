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
 * The fewest days raw mail must be kept, for the longest wait without an operator redriving twice:
 * in the input DLQ (router failing), redriven; up to a day of EventBridge delivery retries; parked
 * for a token refresh for the retry queue's retention; drained, failing again, in the forwarder's
 * DLQ. Each redrive or drain sends a new message, whose age starts anew. Expired earlier, a redrive
 * finds no object to import.
 */
export const MINIMUM_MAIL_RETENTION_DAYS = Math.ceil((DLQ_RETENTION_SECONDS + ROUTING_EVENT_MAX_AGE_SECONDS + RETRY_QUEUE_RETENTION_SECONDS + DLQ_RETENTION_SECONDS) / 86400);
