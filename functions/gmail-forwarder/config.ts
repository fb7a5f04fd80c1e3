// The forwarder's environment, read and checked once at cold start: a missing or malformed value
// fails the init with the variable's name and what it must be (the component sets them all).
import { GMAIL_IMPORT_LIMIT_BYTES } from "./limits";
import type { ImportOptions } from "./gmail";

export interface ForwarderConfig {
    retryQueueUrl: string;
    deadLetterQueueUrl: string;
    /** The forwarder's own queue: copies for each Gmail account of a mail go here. */
    forwarderQueueUrl: string;
    /** The forwarder queue's maxReceiveCount: the attempt after which SQS moves a message to the DLQ. */
    maxReceiveCount: number;
    ssmPrefix: string;
    accounts: string[];
    idempotencyTableName: string;
    maxImportBytes: number;
    internalDateSource: ImportOptions["internalDateSource"];
    neverMarkSpam: boolean;
    credentialCacheMs: number;
    /** Milliseconds between two imports of one instance, so all instances together keep Gmail's quota. */
    importIntervalMs: number;
    endpoints: { apiRootUrl?: string; tokenUrl?: string };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
    const value = env[name];
    if (!value) throw new Error(`Environment variable ${name} is not set; the component that creates this function sets it.`);
    return value;
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string, what: string, range: { min: number; max?: number }, fallback?: number): number {
    const text = env[name];
    if (text === undefined || text === "") {
        if (fallback !== undefined) return fallback;
        throw new Error(`Environment variable ${name} is not set; it must be ${what}. The component that creates this function sets it.`);
    }
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || value < range.min || (range.max !== undefined && value > range.max)) {
        const bounds = range.max !== undefined ? `from ${range.min} to ${range.max}` : `of at least ${range.min}`;
        throw new Error(`Environment variable ${name} is "${text}"; it must be ${what}, a whole number ${bounds}.`);
    }
    return value;
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
    const text = env[name];
    if (text === undefined || text === "") return fallback;
    if (!(values as readonly string[]).includes(text)) throw new Error(`Environment variable ${name} is "${text}"; it must be one of ${values.join(", ")}.`);
    return text as T;
}

export function forwarderConfig(env: NodeJS.ProcessEnv): ForwarderConfig {
    return {
        retryQueueUrl: required(env, "RETRY_QUEUE_URL"),
        deadLetterQueueUrl: required(env, "DLQ_URL"),
        forwarderQueueUrl: required(env, "FORWARDER_QUEUE_URL"),
        maxReceiveCount: wholeNumber(env, "MAX_RECEIVE_COUNT", "the forwarder queue's maxReceiveCount (its redrive policy)", { min: 1, max: 1000 }),
        ssmPrefix: required(env, "SSM_PREFIX"),
        // Empty when no account is configured: every forward decision then goes to the DLQ, saying so.
        accounts: (env.GMAIL_ACCOUNTS ?? required(env, "GMAIL_ACCOUNTS")).split(",").map((a) => a.trim().toLowerCase()).filter(Boolean),
        idempotencyTableName: required(env, "IDEMPOTENCY_TABLE_NAME"),
        maxImportBytes: wholeNumber(env, "MAX_IMPORT_BYTES", "the largest mail to import (larger mail gets a notice)", { min: 1, max: GMAIL_IMPORT_LIMIT_BYTES }, GMAIL_IMPORT_LIMIT_BYTES),
        internalDateSource: oneOf(env, "INTERNAL_DATE_SOURCE", ["dateHeader", "receivedTime"] as const, "dateHeader"),
        neverMarkSpam: oneOf(env, "NEVER_MARK_SPAM", ["true", "false"] as const, "false") === "true",
        credentialCacheMs: wholeNumber(env, "CREDENTIAL_CACHE_SECONDS", "seconds to cache OAuth secrets", { min: 0 }, 300) * 1000,
        importIntervalMs: wholeNumber(env, "IMPORT_MIN_INTERVAL_MS", "milliseconds between imports of one instance (trigger concurrency × 60,000 / imports a minute)", { min: 0 }),
        endpoints: { apiRootUrl: env.GMAIL_API_ROOT_URL || undefined, tokenUrl: env.OAUTH_TOKEN_URL || undefined },
    };
}
