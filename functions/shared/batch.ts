import { BatchProcessor, EventType, processPartialResponse } from "@aws-lambda-powertools/batch";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import type { Pacer } from "./pacing";
import type { IdempotencyConfig } from "@aws-lambda-powertools/idempotency";
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, SQSEvent, SQSRecord } from "aws-lambda";

type Sources = {
    [EventType.SQS]: { event: SQSEvent; record: SQSRecord };
    [EventType.DynamoDBStreams]: { event: DynamoDBStreamEvent; record: DynamoDBRecord };
};

/**
 * A Lambda handler that runs `handleRecord` for every record (in parallel unless `inOrder`), reports failed records
 * as partial batch failures, and always flushes the metrics collected on the way.
 */
export function batchHandler<T extends keyof Sources>(
    eventType: T,
    handleRecord: (record: Sources[T]["record"]) => Promise<void>,
    tools: { logger: Logger; metrics: Metrics },
    /** Process records one after another (e.g. stream records of one item must stay in order). @default false */
    inOrder = false,
) {
    const processor = new BatchProcessor(eventType);
    return async (event: Sources[T]["event"], context: Context) => {
        tools.logger.addContext(context);
        try {
            // A batch whose every record failed is reported record by record too (not thrown), so
            // metrics and logs stay the same whatever the batch size.
            return await processPartialResponse(event, handleRecord as (record: unknown) => Promise<void>, processor, { context, throwOnFullBatchFailure: false, processInParallel: !inOrder });
        } finally {
            // A handler may publish as it goes (the feedback worker does, per notification).
            if (tools.metrics.hasStoredMetrics()) tools.metrics.publishStoredMetrics();
        }
    };
}

/**
 * A handler for a function that is idempotent per record and paced across instances: it registers
 * the Lambda context with Powertools Idempotency and, before it returns, waits out its pacing
 * interval, so the next invocation (perhaps on another instance) calls no sooner than allowed.
 */
export function pacedIdempotentHandler<E, R>(handler: (event: E, context: Context) => Promise<R>, idempotency: IdempotencyConfig, pacer: Pacer): (event: E, context: Context) => Promise<R> {
    return async (event, context) => {
        idempotency.registerLambdaContext(context);
        try {
            return await handler(event, context);
        } finally {
            await pacer.settled();
        }
    };
}
