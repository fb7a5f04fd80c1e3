// "May this sender send?" for senders' own applications (exported by `ses-mail/runtime`): one
// strongly consistent GetItem of the sender's state item, answers cached for a short time.
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import type { SenderState } from "./sender-reputation";

/** Default time an answer is reused: a restriction reaches every application within it. */
export const DEFAULT_SENDER_CHECK_TTL_MS = 60_000;
/** The attributes the check reads: what {@link senderCheckPolicyStatements} lets it read, nothing else. */
const READ_ATTRIBUTES = ["pk", "sk", "state"];

/** The answer of {@link SenderCheck.maySend}. */
export interface SendPermission {
    /** Lowercased and trimmed, as the senders table keys it. */
    sender: string;
    /** False only for a restricted sender; a flagged sender may still send (it is under review). */
    allowed: boolean;
    /** The sender's state (`ok` for a sender never seen). */
    state: SenderState;
    /** Epoch ms at which the read that answered was sent (a cached answer keeps its time). */
    checkedAt: number;
}

/** Options of {@link SenderCheck}. */
export interface SenderCheckOptions {
    /** FeedbackPipeline's senders table (stack output `senderReputationTableName`). */
    tableName: string;
    /** @default a client for the environment's region */
    client?: DynamoDBClient;
    /** How long an answer is reused, in ms; 0 reads every time. @default 60000 */
    cacheTtlMs?: number;
    /** Most senders cached at once; the oldest answer is dropped first. @default 10000 */
    maxCachedSenders?: number;
    /** Clock in epoch ms (tests). */
    now?: () => number;
}

interface CacheEntry {
    /** When the answer stops being used: TTL after the read was *sent*, so no answer outlives it. */
    expiresAt: number;
    answer: Promise<SendPermission>;
}

/**
 * Answers whether a sender may send, from the sender reputation FeedbackPipeline keeps (restricted
 * by complaints or by an operator). Each sender costs one strongly consistent read (`GetItem` with
 * `ConsistentRead`: a restriction written before the read is always seen) per TTL; concurrent
 * questions about one sender share that read. A failed read is not cached and is thrown: the caller
 * decides whether to send (fail open) or not (fail closed).
 */
export class SenderCheck {
    private readonly client: DynamoDBClient;
    private readonly tableName: string;
    private readonly ttlMs: number;
    private readonly maxEntries: number;
    private readonly now: () => number;
    private readonly cache = new Map<string, CacheEntry>();

    constructor(options: SenderCheckOptions) {
        const ttl = options.cacheTtlMs ?? DEFAULT_SENDER_CHECK_TTL_MS;
        if (!Number.isFinite(ttl) || ttl < 0) throw new RangeError(`SenderCheck: cacheTtlMs must be 0 or more (got ${ttl}).`);
        this.client = options.client ?? new DynamoDBClient({});
        this.tableName = options.tableName;
        this.ttlMs = ttl;
        this.maxEntries = Math.max(1, options.maxCachedSenders ?? 10_000);
        this.now = options.now ?? Date.now;
    }

    /** Whether `sender` (an address, or the `senderTag` value the stack counts by) may send now. */
    public async maySend(sender: string): Promise<SendPermission> {
        const key = sender.trim().toLowerCase();
        if (key === "") throw new RangeError("SenderCheck: sender must not be empty.");
        const now = this.now();
        const cached = this.cache.get(key);
        if (cached && cached.expiresAt > now) return cached.answer;
        this.cache.delete(key);
        const answer = this.read(key, now);
        if (this.ttlMs > 0) {
            if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
            this.cache.set(key, { expiresAt: now + this.ttlMs, answer });
            // A failure is not an answer: the next question reads again.
            answer.catch(() => {
                if (this.cache.get(key)?.answer === answer) this.cache.delete(key);
            });
        }
        return answer;
    }

    /** Drops cached answers (one sender's, or all). */
    public forget(sender?: string): void {
        if (sender === undefined) this.cache.clear();
        else this.cache.delete(sender.trim().toLowerCase());
    }

    private async read(sender: string, checkedAt: number): Promise<SendPermission> {
        const { Item } = await this.client.send(new GetItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: `SENDER#${sender}` }, sk: { S: "STATE" } },
            ConsistentRead: true,
            // Only the state: the policy below allows reading nothing else.
            ProjectionExpression: "#state",
            ExpressionAttributeNames: { "#state": "state" },
        }));
        const state = (Item?.state?.S ?? "ok") as SenderState;
        return { sender, allowed: state !== "restricted", state, checkedAt };
    }
}

/** One IAM policy statement, as JSON (ARN typed by the caller: a string, or a Pulumi Input). */
export interface SenderCheckStatement<Arn> {
    /** Statement id. */
    Sid: string;
    /** Always Allow. */
    Effect: "Allow";
    /** `dynamodb:GetItem` only. */
    Action: string[];
    /** The senders table's ARN. */
    Resource: Arn[];
    /** Only `SENDER#` items, only their state attributes. */
    Condition: Record<string, Record<string, string | string[]>>;
}

/**
 * Exactly what {@link SenderCheck} needs: `dynamodb:GetItem` on the senders table, only of state
 * items (`SENDER#…` partition keys) and only their key and `state` attributes — the pattern of the
 * IAM User Guide's "Amazon DynamoDB: Allows access to specific attributes" (`dynamodb:Attributes`
 * with `dynamodb:Select` = SPECIFIC_ATTRIBUTES) plus `dynamodb:LeadingKeys`. Complaint counts, who
 * restricted and why stay unreadable to applications.
 */
export function senderCheckPolicyStatements<Arn = string>(sendersTableArn: Arn): SenderCheckStatement<Arn>[] {
    return [{
        Sid: "SesMailSenderCheck",
        Effect: "Allow",
        Action: ["dynamodb:GetItem"],
        Resource: [sendersTableArn],
        Condition: {
            "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["SENDER#*"] },
            "ForAllValues:StringEquals": { "dynamodb:Attributes": READ_ATTRIBUTES },
            StringEqualsIfExists: { "dynamodb:Select": "SPECIFIC_ATTRIBUTES" },
        },
    }];
}
