import { createHash, randomUUID } from "node:crypto";
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, paginateQuery, PutCommand, QueryCommandInput, UpdateCommand } from "@aws-sdk/lib-dynamodb";

/** GSIs of the feedback events table (see components/feedback-pipeline.ts). */
export const FEEDBACK_INDEXES = {
    /** recipient + event_at: an address's history. */
    recipient: "recipient-index",
    /** `<type>#<YYYY-MM-DD>#<shard>` + event_at: reports by type and time window ({@link typeDayPartition}). */
    typeDay: "type-day-index",
    /** complaint_sender + event_at, sparse (counted complaints only): complaints per sender. */
    complaintSender: "complaint-sender-index",
} as const;

/**
 * Partitions of `type-day-index` per type and day. One index partition takes about 1,000 write
 * units a second ("Best practices for designing and using partition keys effectively"), and a
 * throttled index throttles the table's writes ("GSI write throttling and back pressure"): one
 * partition per type and day capped every type at ~1,000 records/s; 16 hold ~16,000/s of records up
 * to 1 KB each (about 8,000/s at 2 KB), while a report reads 16 partitions per day instead of one.
 */
export const TYPE_DAY_SHARDS = 16;

/** Most occurrences a counter item holds (~30 bytes each, well inside DynamoDB's 400 KB per item). */
export const COUNTER_CAP = 10_000;

/** What only the event-publishing copy of a notification knows: who sent the mail (its message tags). */
const ATTRIBUTION = new Set(["sender", "complaint_sender", "tags"]);

/** A stored feedback event, as written by the feedback worker (snake_case attributes). */
export type FeedbackEventItem = Record<string, unknown> & {
    /** Partition key: the record's identity (type, SES message id, recipient). */
    pk: string;
    /** Sort key. */
    sk: string;
    /** SES event type, e.g. `Bounce`, `Complaint`, `Delivery`. */
    event_type: string;
    /** When the event happened, epoch ms. */
    event_at: number;
    /** The recipient it concerns; absent for opens and clicks of a mail with several recipients. */
    recipient?: string;
};

/**
 * What writing a record did: created it; found it already stored; or replaced the copy of an
 * identity notification that could not name the sender (`sender_pending`) with the authoritative one.
 */
export type RecordOutcome = "new" | "duplicate" | "attributed";

/** What is counted per subject: complaints per sender, counted transient bounces per address. */
export type CounterKind = "complaints" | "transient-bounces";

/** One counted thing: a digest of (message, recipient), and when it happened (epoch ms). */
export interface Occurrence {
    /** Digest of (message, recipient). */
    id: string;
    /** When it happened, epoch ms. */
    at: number;
}

/** A short, stable digest of a value, small enough for sort keys and counter members. */
export function digest(value: string): string {
    return createHash("sha256").update(value).digest("base64url").slice(0, 16);
}

/** The same (message, recipient) counts once, whichever copy or redelivery brings it. */
export function occurrenceOf(messageId: string, recipient: string, at: number): Occurrence {
    return { id: digest(`${messageId}\n${recipient}`), at };
}

/** The record's partition in `type-day-index`: its type and UTC day, and a shard fixed by its key (write sharding with a calculated suffix). */
export function typeDayPartition(type: string, atMs: number, key: { pk: string; sk: string }): string {
    const shard = createHash("sha256").update(`${key.pk}\n${key.sk}`).digest().readUInt32BE(0) % TYPE_DAY_SHARDS;
    return `${type}#${new Date(atMs).toISOString().slice(0, 10)}#${shard}`;
}

/** Options of {@link FeedbackEvents}. */
export interface FeedbackEventsOptions {
    /** FeedbackPipeline's events table (stack output `feedbackEventsTableName`). */
    tableName: string;
    /** @default a client for the environment's region */
    client?: DynamoDBClient;
}

/** The feedback events table: idempotent records, consistent counters for thresholds, report queries. */
export class FeedbackEvents {
    private readonly doc: DynamoDBDocumentClient;
    private readonly tableName: string;

    constructor(options: FeedbackEventsOptions) {
        this.tableName = options.tableName;
        this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
    }

    /**
     * Stores one (type, message, recipient) record once, in one conditional write. A record marked
     * `sender_pending` (an identity notification when the sender is a message tag, which that format
     * never carries) is only ever created. Any other copy creates the record, or completes such a
     * pending one with what only it knows (`sender`, `complaint_sender`, `tags`) and keeps the rest as first stored,
     * so the event-publishing copy decides the sender whichever copy arrives first, and the record
     * (and the metrics published for it) stays the one first stored.
     */
    public async record(item: { pk: string; sk: string; sender_pending?: boolean }): Promise<RecordOutcome> {
        const { pk, sk, ...attributes } = item;
        try {
            if (item.sender_pending === true) {
                await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" }));
                return "new";
            }
            const entries = Object.entries(attributes).filter(([, value]) => value !== undefined);
            const { Attributes } = await this.doc.send(new UpdateCommand({
                TableName: this.tableName,
                Key: { pk, sk },
                UpdateExpression: `SET ${entries.map(([name], i) => (ATTRIBUTION.has(name) ? `#a${i} = :a${i}` : `#a${i} = if_not_exists(#a${i}, :a${i})`)).join(", ")} REMOVE sender_pending`,
                ConditionExpression: "attribute_not_exists(pk) OR attribute_exists(sender_pending)",
                ExpressionAttributeNames: Object.fromEntries(entries.map(([name], i) => [`#a${i}`, name])),
                ExpressionAttributeValues: Object.fromEntries(entries.map(([, value], i) => [`:a${i}`, value])),
                ReturnValues: "ALL_OLD",
            }));
            return Attributes ? "attributed" : "new";
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) {
                return "duplicate";
            }
            throw error;
        }
    }

    /**
     * Adds occurrences to the subject's counter and returns the times of all it holds from
     * `sinceMs` on. The counter is one base-table item (`COUNTER#<kind>#<subject>`) whose string set
     * is updated atomically and returned by the same request, so the count includes every
     * occurrence added before — unlike a GSI query, which may miss writes of the last moments ("Read
     * consistency": reads from global secondary indexes are eventually consistent). Adding is
     * idempotent (set union), so duplicates and redeliveries count once. A counter that did not exist
     * is seeded from the stored records (its GSI), which brings in whatever was recorded before it;
     * writes that GSI does not show yet carry their own occurrences. Occurrences before `sinceMs` are
     * dropped; an idle counter expires one window after its last use.
     */
    public async tally(kind: CounterKind, subject: string, occurrences: Occurrence[], window: { sinceMs: number; nowMs: number }): Promise<number[]> {
        const key = { pk: `COUNTER#${kind}#${subject}`, sk: "WINDOW" };
        const expiresAt = Math.ceil((2 * window.nowMs - window.sinceMs) / 1000) + 86_400;
        const token = randomUUID();
        let item = await this.add(key, occurrences.map(member), { expiresAt, token });
        if (item.seed_token === token) {
            const held = new Set(item.members);
            const seeds = (await this.stored(kind, subject, window.sinceMs)).map(member).filter((m) => !held.has(m));
            if (seeds.length > 0) {
                item = await this.add(key, seeds, { expiresAt, token });
            }
        }
        const stale = item.members.filter((m) => timeOf(m) < window.sinceMs);
        if (stale.length > 0) {
            await this.doc.send(new UpdateCommand({ TableName: this.tableName, Key: key, UpdateExpression: "DELETE members :stale", ExpressionAttributeValues: { ":stale": new Set(stale) } }));
        }
        // One time per occurrence, however its members came to differ in time.
        const times = new Map(item.members.map((m) => [m.slice(m.indexOf(":") + 1), timeOf(m)]));
        return [...times.values()].filter((at) => at >= window.sinceMs);
    }

    /** An address's events since `sinceMs`, oldest first. */
    public byRecipient(recipient: string, sinceMs = 0): Promise<FeedbackEventItem[]> {
        return this.items({
            IndexName: FEEDBACK_INDEXES.recipient,
            KeyConditionExpression: "recipient = :recipient AND event_at >= :since",
            ExpressionAttributeValues: { ":recipient": recipient, ":since": sinceMs },
        });
    }

    /**
     * Events of one type in [fromMs, toMs), oldest first: every shard of every UTC day, queried in
     * parallel, plus each day's unsharded partition (`<type>#<day>`) that records written before
     * the index was sharded still carry until they expire.
     */
    public async byType(type: string, fromMs: number, toMs: number): Promise<FeedbackEventItem[]> {
        const partitions: string[] = [];
        for (let day = Date.UTC(...utcDate(fromMs)); day < toMs; day += 86_400_000) {
            const date = new Date(day).toISOString().slice(0, 10);
            partitions.push(`${type}#${date}`, ...Array.from({ length: TYPE_DAY_SHARDS }, (_, shard) => `${type}#${date}#${shard}`));
        }
        const results = await Promise.all(partitions.map((partition) => this.items({
            IndexName: FEEDBACK_INDEXES.typeDay,
            KeyConditionExpression: "type_day = :typeDay AND event_at BETWEEN :from AND :to",
            ExpressionAttributeValues: { ":typeDay": partition, ":from": fromMs, ":to": toMs - 1 },
        })));
        return results.flat().sort((a, b) => a.event_at - b.event_at);
    }

    /** One atomic ADD; when the counter is full, its current state (read consistently) instead. */
    private async add(key: { pk: string; sk: string }, members: string[], meta: { expiresAt: number; token: string }): Promise<{ members: string[]; seed_token?: string }> {
        try {
            const { Attributes } = await this.doc.send(new UpdateCommand({
                TableName: this.tableName,
                Key: key,
                UpdateExpression: "ADD members :members SET expires_at = :expires, seed_token = if_not_exists(seed_token, :token)",
                ConditionExpression: "attribute_not_exists(members) OR size(members) < :cap",
                ExpressionAttributeValues: { ":members": new Set(members), ":expires": meta.expiresAt, ":token": meta.token, ":cap": COUNTER_CAP },
                ReturnValues: "ALL_NEW",
            }));
            return { members: [...(Attributes?.members ?? [])], seed_token: Attributes?.seed_token };
        } catch (error) {
            if (!(error instanceof ConditionalCheckFailedException)) {
                throw error;
            }
            // At the cap the count is far above any threshold; stale members are still dropped by the caller.
            const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
            return { members: [...(Item?.members ?? [])], seed_token: Item?.seed_token };
        }
    }

    /** The counted occurrences the stored records show for a subject since `sinceMs` (through a GSI). */
    private async stored(kind: CounterKind, subject: string, sinceMs: number): Promise<Occurrence[]> {
        if (kind === "complaints") {
            // complaint-sender-index projects keys only: pk is `Complaint#<messageId>`, sk the recipient.
            const items = await this.items({
                IndexName: FEEDBACK_INDEXES.complaintSender,
                KeyConditionExpression: "complaint_sender = :sender AND event_at >= :since",
                ExpressionAttributeValues: { ":sender": subject, ":since": sinceMs },
            });
            return items.map((i) => occurrenceOf(i.pk.slice(i.pk.indexOf("#") + 1), i.sk, i.event_at));
        }
        const items = await this.items({
            IndexName: FEEDBACK_INDEXES.recipient,
            KeyConditionExpression: "recipient = :recipient AND event_at >= :since",
            FilterExpression: "event_type = :bounce AND bounce_type = :transient AND counted = :yes",
            ExpressionAttributeValues: { ":recipient": subject, ":since": sinceMs, ":bounce": "Bounce", ":transient": "Transient", ":yes": true },
        });
        return items.map((i) => occurrenceOf(String(i.message_id), subject, i.event_at));
    }

    private async items(query: Omit<QueryCommandInput, "TableName">): Promise<FeedbackEventItem[]> {
        const items: FeedbackEventItem[] = [];
        for await (const page of paginateQuery({ client: this.doc }, { TableName: this.tableName, ...query })) {
            items.push(...((page.Items ?? []) as FeedbackEventItem[]));
        }
        return items;
    }
}

/** Counter members are `<epoch ms>:<occurrence id>`, so the window is read from the set itself. */
function member(occurrence: Occurrence): string {
    return `${occurrence.at}:${occurrence.id}`;
}

function timeOf(member: string): number {
    return Number(member.slice(0, member.indexOf(":")));
}

function utcDate(ms: number): [number, number, number] {
    const date = new Date(ms);
    return [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()];
}
