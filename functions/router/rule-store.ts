import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { BatchGetCommand, DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { candidatePatterns, isInvalidRule, parseRule, RULE_KEY_PREFIX, ruleKey, StoredRule } from "./rules";

const BATCH_GET_LIMIT = 100;
const MAX_UNPROCESSED_RETRIES = 5;

export interface RuleStoreOptions {
    tableName: string;
    client?: DynamoDBClient;
    /** How long a rule (or its absence) is remembered. @default 60000 */
    cacheTtlMs?: number;
    /** Most patterns remembered; the least recently used go first. @default 10000 */
    maxCacheEntries?: number;
    now?: () => number;
    /**
     * Told about rule items that cannot be used when they are read. They are kept (as InvalidRule)
     * so that routing can skip them visibly; never fatal.
     */
    onInvalidRule?: (pattern: string, reason: string) => void;
}

export const DEFAULT_RULE_CACHE_TTL_MS = 60_000;
export const DEFAULT_RULE_CACHE_ENTRIES = 10_000;

/**
 * Reads routing rules with one BatchGetItem for every candidate of every recipient not already in
 * the cache. Answers (and absences) are cached for a short TTL and at most `maxCacheEntries`
 * patterns (least recently used evicted; expired ones dropped); a failed read is never cached.
 * Every recipient brings up to four patterns, and mail to random addresses brings new ones.
 */
export class RuleStore {
    private readonly doc: DynamoDBDocumentClient;
    private readonly cache = new Map<string, { rule: StoredRule | undefined; until: number }>();
    /** Requests sent to DynamoDB so far (benchmarks read it). */
    public roundTrips = 0;

    constructor(private readonly options: RuleStoreOptions) {
        this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}));
    }

    /** Patterns cached now (expired ones included until the next read drops them). */
    public get cacheSize(): number {
        return this.cache.size;
    }

    public async rulesFor(addresses: string[]): Promise<Map<string, StoredRule | undefined>> {
        const now = (this.options.now ?? Date.now)();
        for (const [pattern, entry] of this.cache) {
            if (entry.until <= now) this.cache.delete(pattern);
        }
        const patterns = [...new Set(addresses.flatMap(candidatePatterns))];
        const result = new Map<string, StoredRule | undefined>();
        const missing: string[] = [];
        for (const pattern of patterns) {
            const entry = this.cache.get(pattern);
            if (entry) {
                // Map order is insertion order: re-inserting makes it the most recently used.
                this.cache.delete(pattern);
                this.cache.set(pattern, entry);
                result.set(pattern, entry.rule);
            } else {
                missing.push(pattern);
                result.set(pattern, undefined);
            }
        }
        for (let i = 0; i < missing.length; i += BATCH_GET_LIMIT) {
            for (const item of await this.batchGet(missing.slice(i, i + BATCH_GET_LIMIT))) {
                const parsed = parseRule(item);
                const pattern = String(item.PK).slice(RULE_KEY_PREFIX.length);
                if (isInvalidRule(parsed)) this.options.onInvalidRule?.(pattern, parsed.invalid);
                if (result.has(pattern)) result.set(pattern, parsed);
            }
        }
        const until = now + (this.options.cacheTtlMs ?? DEFAULT_RULE_CACHE_TTL_MS);
        missing.forEach((pattern) => this.cache.set(pattern, { rule: result.get(pattern), until }));
        const limit = this.options.maxCacheEntries ?? DEFAULT_RULE_CACHE_ENTRIES;
        for (const pattern of this.cache.keys()) {
            if (this.cache.size <= limit) break;
            this.cache.delete(pattern);
        }
        return result;
    }

    private async batchGet(patterns: string[]): Promise<Record<string, unknown>[]> {
        const items: Record<string, unknown>[] = [];
        let keys = patterns.map(ruleKey);
        for (let attempt = 0; keys.length > 0; attempt++) {
            if (attempt > MAX_UNPROCESSED_RETRIES) {
                throw new Error(`DynamoDB left ${keys.length} routing-rule keys unprocessed after ${MAX_UNPROCESSED_RETRIES} retries`);
            }
            if (attempt > 0) {
                await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
            }
            this.roundTrips += 1;
            const result = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.options.tableName]: { Keys: keys } } }));
            items.push(...(result.Responses?.[this.options.tableName] ?? []));
            keys = (result.UnprocessedKeys?.[this.options.tableName]?.Keys ?? []) as typeof keys;
        }
        return items;
    }
}
