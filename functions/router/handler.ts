// EventBridge Pipes enrichment: receives a batch of SQS messages (SES receipt notifications) and
// returns the routing events the pipe puts on the bus, detail-type "Email Routing Decision".
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { Context, SQSRecord } from "aws-lambda";
import { requireEnv } from "../shared/env";
import { countMetric } from "../shared/metrics";
import { route, RouterOutput } from "./route";
import { RuleStore } from "./rule-store";
import { ROUTE_ACTIONS, RouteAction } from "./rules";

const logger = new Logger();
const metrics = new Metrics();
const tracer = new Tracer();

function routeAction(name: string, fallback: RouteAction): RouteAction {
    const value = process.env[name] ?? fallback;
    if (!(ROUTE_ACTIONS as readonly string[]).includes(value)) {
        throw new Error(`Environment variable ${name}=${value} is not one of ${ROUTE_ACTIONS.join(", ")}.`);
    }
    return value as RouteAction;
}

const settings = {
    defaultAction: routeAction("DEFAULT_ACTION", "store"),
    spamAction: process.env.SPAM_ACTION === "label" ? "label" as const : "drop" as const,
};
const rules = new RuleStore({
    tableName: requireEnv("ROUTING_TABLE_NAME"),
    client: tracer.captureAWSv3Client(new DynamoDBClient({})),
    cacheTtlMs: Number(process.env.RULE_CACHE_TTL_SECONDS ?? "60") * 1000,
    onInvalidRule: (pattern, reason) => logger.warn("Skipped malformed routing rule", { pattern, reason }),
});

export const handler = async (records: SQSRecord[], context: Context): Promise<RouterOutput[]> => {
    logger.addContext(context);
    try {
        return await route(records, rules, settings, {
            log: (message, fields) => logger.info(message, fields),
            error: (message, fields) => logger.error(message, fields),
            metric: (name, dimensions) => countMetric(metrics, name, 1, dimensions),
        });
    } finally {
        metrics.publishStoredMetrics();
    }
};
