import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, paginateQuery, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { lookupAddress, normalisedEmail, parseOrThrow } from "./email";

/** Why an address is suppressed. */
export const SUPPRESSION_REASONS = ["bounce", "complaint", "manual"] as const;
/** `bounce`, `complaint` or `manual`; an address may be suppressed for several. */
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];
const REASON_INDEX = "reason-index";

const reasonSchema = z.enum(SUPPRESSION_REASONS, { error: (issue) => `reason must be one of ${SUPPRESSION_REASONS.join(", ")} (got ${JSON.stringify(issue.input)})` });
const epochSeconds = z.int().check(z.positive());
const text = (max: number) => z.optional(z.string().check(z.minLength(1), z.maxLength(max)));

const entrySchema = z.object({
    email: normalisedEmail,
    reason: reasonSchema,
    bounceType: text(64),
    bounceSubType: text(64),
    details: text(4000),
    sourceMessageId: text(256),
    /** Epoch seconds after which the entry ages out (DynamoDB TTL). Omit for a permanent entry. */
    expiresAt: z.optional(epochSeconds),
});

/** What a sender writes: a permanent entry unless `expiresAt` is set. */
export type SuppressionInput = z.input<typeof entrySchema>;

/** An entry as stored, in the shape applications use. */
export interface SuppressionEntry {
    /** The address, trimmed and lowercased. */
    email: string;
    /** Why. */
    reason: SuppressionReason;
    /** When it was first suppressed for this reason, epoch seconds. */
    addedAt: number;
    /** SES bounce type, e.g. `Permanent`. @default none */
    bounceType?: string;
    /** SES bounce subtype, e.g. `General`. @default none */
    bounceSubType?: string;
    /** Evidence, e.g. the diagnostic code. @default none */
    details?: string;
    /** The SES message id that caused it. @default none */
    sourceMessageId?: string;
    /** When a transient suppression ends, epoch seconds (DynamoDB TTL). @default none (permanent) */
    expiresAt?: number;
}

/** What {@link SuppressionClient.suppress} did. */
export type SuppressOutcome =
    /** The address was not suppressed for this reason before. */
    | "created"
    /** An entry existed; its details were refreshed, `added_at` kept. */
    | "updated"
    /** A transient entry met a permanent one (or one expiring later): nothing changed. */
    | "unchanged";

/** Options of {@link SuppressionClient.suppress}. */
export interface SuppressOptions {
    /** Create only: an entry that exists for the address and reason is left exactly as it is (`unchanged`). @default false */
    ifAbsent?: boolean;
    /** `added_at` of a created entry (epoch seconds), when the suppression began elsewhere (an import). @default now */
    addedAt?: number;
}

/** Options of {@link SuppressionClient}. */
export interface SuppressionClientOptions {
    /** SuppressionStore's table (stack output `suppressionTableName`). */
    tableName: string;
    /** @default a client for the Lambda's region */
    client?: DynamoDBClient;
    /** Clock in epoch seconds (tests). @default Date.now()/1000 */
    now?: () => number;
    /** Read the base table strongly consistently (a write a moment ago is seen). @default false */
    consistentRead?: boolean;
}

/** Entry fields and their table attributes (snake case, as operators' runbooks query them). */
const OPTIONAL_FIELDS = {
    bounceType: "bounce_type",
    bounceSubType: "bounce_sub_type",
    details: "details",
    sourceMessageId: "source_message_id",
    expiresAt: "expires_at",
} as const;

/** Reads and writes the suppression table (`ses-email-suppression-list`). */
export class SuppressionClient {
    private readonly doc: DynamoDBDocumentClient;
    private readonly tableName: string;
    private readonly now: () => number;
    private readonly consistentRead: boolean;

    constructor(options: SuppressionClientOptions) {
        this.tableName = options.tableName;
        this.consistentRead = options.consistentRead ?? false;
        this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
        this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    }

    /** True if any live entry suppresses the address. One Query on the partition. */
    public async isSuppressed(email: string): Promise<boolean> {
        return (await this.entries(email)).length > 0;
    }

    /** Every live entry for the address (at most one per reason). Expired-but-not-yet-deleted TTL items are left out. */
    public async entries(email: string): Promise<SuppressionEntry[]> {
        // A lookup takes any delivered address: a sender SES accepted (VERP, SRS, …) is simply not listed.
        const address = lookupAddress(email);
        const result = await this.doc.send(new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "email = :email",
            ExpressionAttributeValues: { ":email": address },
            ...(this.consistentRead ? { ConsistentRead: true } : {}),
        }));
        const now = this.now();
        return (result.Items ?? []).map(fromItem).filter((entry) => entry.expiresAt === undefined || entry.expiresAt > now);
    }

    /**
     * Adds or refreshes an entry. Idempotent; keeps the first `added_at`; a transient entry
     * (with `expiresAt`) never replaces a permanent one or shortens a longer expiry, and a permanent
     * entry always clears an expiry. Concurrent calls for one address are safe: each is one atomic
     * conditional update.
     */
    public async suppress(input: SuppressionInput, options: SuppressOptions = {}): Promise<SuppressOutcome> {
        const entry = parseOrThrow(entrySchema, input, "suppression entry");
        const now = this.now();
        const addedAt = options.addedAt === undefined ? now : parseOrThrow(epochSeconds, options.addedAt, "addedAt (epoch seconds)");
        const values: Record<string, unknown> = { ":now": addedAt };
        // Create-only writes the whole entry: what an expired entry (not yet deleted by TTL) left behind goes.
        const sets = [options.ifAbsent ? "added_at = :now" : "added_at = if_not_exists(added_at, :now)"];
        const removes: string[] = [];
        for (const [field, attribute] of Object.entries(OPTIONAL_FIELDS)) {
            const value = entry[field as keyof typeof OPTIONAL_FIELDS];
            if (field === "expiresAt") continue;
            if (value !== undefined) {
                sets.push(`${attribute} = :${attribute}`);
                values[`:${attribute}`] = value;
            } else if (options.ifAbsent) {
                removes.push(attribute);
            }
        }
        let condition: string | undefined;
        if (entry.expiresAt === undefined) {
            removes.push("expires_at");
        } else {
            sets.push("expires_at = :expires_at");
            values[":expires_at"] = entry.expiresAt;
            condition = "attribute_not_exists(email) OR (attribute_exists(expires_at) AND expires_at < :expires_at)";
        }
        if (options.ifAbsent) {
            // An expired entry is no suppression (entries() skips it), and TTL deletes it only within days.
            condition = "attribute_not_exists(email) OR expires_at <= :clock";
            values[":clock"] = now;
        }
        const update = `SET ${sets.join(", ")}${removes.length > 0 ? ` REMOVE ${removes.join(", ")}` : ""}`;
        try {
            const result = await this.doc.send(new UpdateCommand({
                TableName: this.tableName,
                Key: { email: entry.email, reason: entry.reason },
                UpdateExpression: update,
                ConditionExpression: condition,
                ExpressionAttributeValues: values,
                ReturnValues: "UPDATED_OLD",
            }));
            return options.ifAbsent || result.Attributes?.added_at === undefined ? "created" : "updated";
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) {
                return "unchanged";
            }
            throw error;
        }
    }

    /** Deletes one entry. Returns false if there was none. */
    public async remove(email: string, reason: SuppressionReason): Promise<boolean> {
        const address = parseOrThrow(normalisedEmail, email, "email address");
        const validReason = parseOrThrow(reasonSchema, reason, "reason");
        const result = await this.doc.send(new DeleteCommand({
            TableName: this.tableName,
            Key: { email: address, reason: validReason },
            ReturnValues: "ALL_OLD",
        }));
        return result.Attributes !== undefined;
    }

    /** Entries with this reason added at or after `since` (epoch seconds), oldest first, via `reason-index`. */
    public async list(reason: SuppressionReason, since = 0): Promise<SuppressionEntry[]> {
        const validReason = parseOrThrow(reasonSchema, reason, "reason");
        const from = parseOrThrow(z.int().check(z.nonnegative()), since, "since (epoch seconds)");
        const entries: SuppressionEntry[] = [];
        const pages = paginateQuery({ client: this.doc }, {
            TableName: this.tableName,
            IndexName: REASON_INDEX,
            KeyConditionExpression: "reason = :reason AND added_at >= :since",
            ExpressionAttributeValues: { ":reason": validReason, ":since": from },
        });
        for await (const page of pages) {
            entries.push(...(page.Items ?? []).map(fromItem));
        }
        return entries;
    }
}

function fromItem(item: Record<string, unknown>): SuppressionEntry {
    const entry: SuppressionEntry = {
        email: String(item.email),
        reason: item.reason as SuppressionReason,
        addedAt: Number(item.added_at ?? 0),
    };
    for (const [field, attribute] of Object.entries(OPTIONAL_FIELDS)) {
        if (item[attribute] !== undefined) {
            Object.assign(entry, { [field]: item[attribute] });
        }
    }
    return entry;
}
