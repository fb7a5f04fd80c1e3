// The router's settings from its environment (set by the MailIngest component), checked at cold start.
import { ROUTE_ACTIONS, RouteAction } from "../shared/routing-event";
import type { RouterSettings } from "./decide";
import { DEFAULT_RULE_CACHE_ENTRIES, DEFAULT_RULE_CACHE_TTL_MS } from "./rule-store";

export interface RouterConfig {
    settings: RouterSettings;
    tableName: string;
    cacheTtlMs: number;
    maxCacheEntries: number;
}

type Env = Record<string, string | undefined>;

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
    const value = env[name] || fallback;
    if (!(allowed as readonly string[]).includes(value)) {
        throw new Error(`Environment variable ${name}=${value} is not one of ${allowed.join(", ")}.`);
    }
    return value as T;
}

function count(env: Env, name: string, fallback: number, min: number): number {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min) {
        throw new Error(`Environment variable ${name}=${raw} is not a whole number of at least ${min}.`);
    }
    return value;
}

/**
 * ROUTING_TABLE_NAME (required), DEFAULT_ACTION (a route action, default store), SPAM_ACTION (drop |
 * label, default drop), RULE_CACHE_TTL_SECONDS (default 60), RULE_CACHE_MAX_ENTRIES (default 10000).
 */
export function routerConfig(env: Env): RouterConfig {
    const tableName = env.ROUTING_TABLE_NAME;
    if (!tableName) {
        throw new Error("Environment variable ROUTING_TABLE_NAME is not set; the component that creates this function sets it.");
    }
    return {
        tableName,
        settings: {
            defaultAction: oneOf<RouteAction>(env, "DEFAULT_ACTION", ROUTE_ACTIONS, "store"),
            spamAction: oneOf(env, "SPAM_ACTION", ["drop", "label"] as const, "drop"),
        },
        cacheTtlMs: count(env, "RULE_CACHE_TTL_SECONDS", DEFAULT_RULE_CACHE_TTL_MS / 1000, 0) * 1000,
        maxCacheEntries: count(env, "RULE_CACHE_MAX_ENTRIES", DEFAULT_RULE_CACHE_ENTRIES, 1),
    };
}
