import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateQuery, PutCommand, QueryCommandInput } from "@aws-sdk/lib-dynamodb";

/** GSIs of the feedback events table (see components/feedback-pipeline.ts). */
export const FEEDBACK_INDEXES = {
    /** recipient + event_at: an address's history; transient-bounce counting. */
    recipient: "recipient-index",
    /** `<type>#<YYYY-MM-DD>` + event_at: reports by type and time window, one partition per type and day. */
    typeDay: "type-day-index",
    /** complaint_sender + event_at, sparse (counted complaints only): complaints per sender. */
    complaintSender: "complaint-sender-index",
} as const;

/** A stored feedback event, as written by the feedback worker (snake_case attributes). */
export type FeedbackEventItem = Record<string, unknown> & { pk: string; sk: string; event_type: string; recipient: string; event_at: number };

export interface FeedbackEventsOptions {
    tableName: string;
    client?: DynamoDBClient;
}

/** The feedback events table: idempotent writes, counters for thresholds, report queries. */
export class FeedbackEvents {
    private readonly doc: DynamoDBDocumentClient;
    private readonly tableName: string;

    constructor(options: FeedbackEventsOptions) {
        this.tableName = options.tableName;
        this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
    }

    /** Writes the event unless it is already stored (same type, message and recipient). True if new. */
    public async putIfNew(item: { pk: string; sk: string }): Promise<boolean> {
        try {
            await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" }));
            return true;
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) {
                return false;
            }
            throw error;
        }
    }

    /** Counted transient bounces for an address since `sinceMs`. */
    public countTransientBounces(recipient: string, sinceMs: number): Promise<number> {
        return this.count({
            IndexName: FEEDBACK_INDEXES.recipient,
            KeyConditionExpression: "recipient = :recipient AND event_at >= :since",
            FilterExpression: "event_type = :bounce AND bounce_type = :transient AND counted = :yes",
            ExpressionAttributeValues: { ":recipient": recipient, ":since": sinceMs, ":bounce": "Bounce", ":transient": "Transient", ":yes": true },
        });
    }

    /** Counted complaints against a sender since `sinceMs`. */
    public countComplaints(sender: string, sinceMs: number): Promise<number> {
        return this.count({
            IndexName: FEEDBACK_INDEXES.complaintSender,
            KeyConditionExpression: "complaint_sender = :sender AND event_at >= :since",
            ExpressionAttributeValues: { ":sender": sender, ":since": sinceMs },
        });
    }

    /** An address's events since `sinceMs`, oldest first. */
    public byRecipient(recipient: string, sinceMs = 0): Promise<FeedbackEventItem[]> {
        return this.items({
            IndexName: FEEDBACK_INDEXES.recipient,
            KeyConditionExpression: "recipient = :recipient AND event_at >= :since",
            ExpressionAttributeValues: { ":recipient": recipient, ":since": sinceMs },
        });
    }

    /** Events of one type in [fromMs, toMs), oldest first: one query per UTC day. */
    public async byType(type: string, fromMs: number, toMs: number): Promise<FeedbackEventItem[]> {
        const days: string[] = [];
        for (let day = Date.UTC(...utcDate(fromMs)); day < toMs; day += 86_400_000) {
            days.push(new Date(day).toISOString().slice(0, 10));
        }
        const perDay = await Promise.all(days.map((day) => this.items({
            IndexName: FEEDBACK_INDEXES.typeDay,
            KeyConditionExpression: "type_day = :typeDay AND event_at BETWEEN :from AND :to",
            ExpressionAttributeValues: { ":typeDay": `${type}#${day}`, ":from": fromMs, ":to": toMs - 1 },
        })));
        return perDay.flat();
    }

    private async count(query: Omit<QueryCommandInput, "TableName">): Promise<number> {
        let total = 0;
        for await (const page of paginateQuery({ client: this.doc }, { TableName: this.tableName, Select: "COUNT", ...query })) {
            total += page.Count ?? 0;
        }
        return total;
    }

    private async items(query: Omit<QueryCommandInput, "TableName">): Promise<FeedbackEventItem[]> {
        const items: FeedbackEventItem[] = [];
        for await (const page of paginateQuery({ client: this.doc }, { TableName: this.tableName, ...query })) {
            items.push(...((page.Items ?? []) as FeedbackEventItem[]));
        }
        return items;
    }
}

function utcDate(ms: number): [number, number, number] {
    const date = new Date(ms);
    return [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()];
}
