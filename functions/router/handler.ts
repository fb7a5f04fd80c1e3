// EventBridge Pipes enrichment: receives a batch of SQS messages (SES receipt notifications) and
// returns one routing event per message, which the pipe puts on the bus as "Email Routing Decision".
import { createLogger } from "../shared/logging";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context, SQSRecord } from "aws-lambda";
import { countMetric } from "../shared/metrics";
import type { RouterOutput } from "../shared/routing-event";
import { routerConfig } from "./config";
import { route } from "./route";
import { RuleStore } from "./rule-store";

const logger = createLogger();
const metrics = new Metrics();

const config = routerConfig(process.env);
const rules = new RuleStore({
    tableName: config.tableName,
    client: new DynamoDBClient({}),
    cacheTtlMs: config.cacheTtlMs,
    maxCacheEntries: config.maxCacheEntries,
    onInvalidRule: (pattern, reason) => logger.warn("Skipped malformed routing rule", { pattern, reason }),
});

export const handler = async (records: SQSRecord[], context: Context): Promise<RouterOutput[]> => {
    logger.addContext(context);
    try {
        return await route(records, rules, config.settings, {
            log: (message, fields) => logger.info(message, fields),
            error: (message, fields) => logger.error(message, fields),
            // RoutingRuleInvalid by pattern is a breakdown of the series published next to it: one dimensionless copy, not two.
            metric: (name, dimensions) => countMetric(metrics, name, 1, dimensions, { aggregate: dimensions?.pattern === undefined }),
        });
    } finally {
        metrics.publishStoredMetrics();
    }
};
