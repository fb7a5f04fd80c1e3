import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, paginateQuery, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { InvalidInputError, parseOrThrow } from "./email";

/** A sender's states, from good to bad. */
export const SENDER_STATES = ["ok", "flagged", "restricted"] as const;
/** `ok`, `flagged` (under review, may send) or `restricted` (may not send). */
export type SenderState = (typeof SENDER_STATES)[number];
/** Order of the states: a sender only ever moves up, except by an operator's lift. */
export const SENDER_RANK: Record<SenderState, number> = { ok: 0, flagged: 1, restricted: 2 };
/** How long a worker may hold the right to announce a change before another may take over. */
const ANNOUNCE_LEASE_MS = 120_000;
/**
 * GSI of the senders table keyed on the state item's `state` (+ `sender`): only state items carry
 * `state` (audit records carry `from`/`to`), so the index holds one entry per sender ever raised or
 * lifted, and flagged or restricted senders are one Query each, never a Scan.
 */
export const SENDER_STATE_INDEX = "state-index";

/**
 * A change of a sender's state, as audited and announced. Its audit record is an item of the senders
 * table, `pk = SENDER#<sender>`, `sk = AUDIT#<at>#<to>`, with these fields; audit records are never
 * changed nor deleted (the table has no TTL), so they are the sender's whole history.
 */
export interface SenderTransition {
    /** The sender. */
    sender: string;
    /** State before. */
    from: SenderState;
    /** State after. */
    to: SenderState;
    /** ISO 8601. */
    at: string;
    /** `feedback-worker` for complaint thresholds, else the operator who acted (the CLI records the caller's STS ARN). */
    actor: string;
    /** Complaints counted, for threshold changes. @default none (operator actions) */
    complaints?: number;
    /** Why, for operator actions. @default none (threshold changes) */
    reason?: string;
}

/** A sender's state item as {@link SenderReputation.status} reads it. */
export interface SenderStatus {
    /** The sender. */
    sender: string;
    /** Its current state. */
    state: SenderState;
    /** The state of the last change that was announced and audited. */
    notifiedState: SenderState;
    /** Whether the last change was announced and audited (or there was none). */
    settled: boolean;
    /** Complaints counted in the window. @default none */
    complaints?: number;
    /** Epoch ms of the last operator lift: complaints before it no longer count. */
    liftedAt?: number;
    /** The last change. @default none (never changed) */
    lastTransition?: SenderTransition;
}

/** One sender as {@link SenderReputation.listByState} lists it. */
export interface SenderListing {
    /** The sender. */
    sender: string;
    /** Its state. */
    state: SenderState;
    /** Complaints counted. @default none */
    complaints?: number;
    /** The last change. @default none */
    lastTransition?: SenderTransition;
}

/** Options of {@link SenderReputation}. */
export interface SenderReputationOptions {
    /** FeedbackPipeline's senders table. */
    tableName: string;
    /** @default a client for the environment's region */
    client?: DynamoDBClient;
    /** Clock in epoch ms (tests). */
    now?: () => number;
}

const operatorAction = z.object({
    operator: z.string().check(z.minLength(1, { error: "operator is required (who lifts the restriction)" })),
    reason: z.string().check(z.minLength(3, { error: "reason is required (why the restriction is lifted)" })),
});

/**
 * Complaint-driven state of each sender (`ok` → `flagged` → `restricted`), in the senders table:
 * `pk = SENDER#<sender>`, `sk = STATE` for the state, `sk = AUDIT#<time>#<state>` per change.
 *
 * A change is written with its transition on the state item first, together with a lease on
 * announcing it; the holder announces it, then writes its audit record (same key on every attempt),
 * which marks it done: a change is settled when the newest audit record is its own. A crash between
 * the steps leaves it unsettled, and the next attempt ({@link settle}, once the lease has expired)
 * finishes it, so no change goes unaudited or unannounced.
 */
export class SenderReputation {
    private readonly doc: DynamoDBDocumentClient;
    private readonly tableName: string;
    private readonly now: () => number;

    constructor(options: SenderReputationOptions) {
        this.tableName = options.tableName;
        this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
        this.now = options.now ?? Date.now;
    }

    /** The state item and the newest audit record, both read consistently (two requests in parallel). */
    public async status(sender: string): Promise<SenderStatus> {
        const key = senderKey(sender);
        const [{ Item }, { Items }] = await Promise.all([
            this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: key, sk: "STATE" }, ConsistentRead: true })),
            this.doc.send(new QueryCommand({
                TableName: this.tableName,
                KeyConditionExpression: "pk = :pk AND begins_with(sk, :audit)",
                ExpressionAttributeValues: { ":pk": key, ":audit": "AUDIT#" },
                ScanIndexForward: false,
                Limit: 1,
                ConsistentRead: true,
            })),
        ]);
        const lastTransition = Item?.last_transition as SenderTransition | undefined;
        const latestAudit = Items?.[0];
        return {
            sender: normaliseSender(sender),
            state: (Item?.state as SenderState) ?? "ok",
            notifiedState: (latestAudit?.to as SenderState) ?? "ok",
            settled: !lastTransition || latestAudit?.sk === auditKey(lastTransition),
            complaints: Item?.complaints,
            liftedAt: Item?.lifted_at,
            lastTransition,
        };
    }

    /**
     * Moves the sender up to `to` if it is below it; never down (only {@link lift} lowers a state).
     * Returns the transition, or undefined when the sender was already there or a concurrent worker
     * raised it first (its own announcement covers it). With `current` (a status just read) nothing
     * is read again, and the write also requires that no lift happened since; with `announce` the
     * same write claims the announcement, which is made and audited before this returns.
     */
    public async raise(sender: string, to: SenderState, complaints: number, options: { current?: SenderStatus; announce?: (transition: SenderTransition) => Promise<void> } = {}): Promise<SenderTransition | undefined> {
        const lower = SENDER_STATES.filter((state) => SENDER_RANK[state] < SENDER_RANK[to]);
        if (lower.length === 0) {
            return undefined;
        }
        const current = options.current ?? await this.status(sender);
        if (SENDER_RANK[current.state] >= SENDER_RANK[to]) {
            return undefined;
        }
        const now = this.now();
        const transition: SenderTransition = { sender: current.sender, from: current.state, to, at: new Date(now).toISOString(), actor: "feedback-worker", complaints };
        const placeholders = Object.fromEntries(lower.map((state, i) => [`:lower${i}`, state]));
        const lifted = current.liftedAt === undefined ? "attribute_not_exists(lifted_at)" : "lifted_at = :liftedAt";
        try {
            await this.doc.send(new UpdateCommand({
                TableName: this.tableName,
                Key: { pk: senderKey(sender), sk: "STATE" },
                // Without `announce` the lease of an older announcement is dropped, so that settle() can claim this one.
                UpdateExpression: `SET #state = :to, complaints = :complaints, last_transition = :transition, sender = :sender${options.announce ? ", notify_lease = :until" : " REMOVE notify_lease"}`,
                ConditionExpression: `(attribute_not_exists(#state) OR #state IN (${Object.keys(placeholders).join(", ")})) AND ${lifted}`,
                ExpressionAttributeNames: { "#state": "state" },
                ExpressionAttributeValues: {
                    ":to": to, ":complaints": complaints, ":transition": transition, ":sender": current.sender, ...placeholders,
                    ...(current.liftedAt === undefined ? {} : { ":liftedAt": current.liftedAt }),
                    ...(options.announce ? { ":until": now + ANNOUNCE_LEASE_MS } : {}),
                },
            }));
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) {
                return undefined; // raised or lifted concurrently; whoever did it announces it
            }
            throw error;
        }
        if (options.announce) {
            await this.announceAndAudit(transition, now + ANNOUNCE_LEASE_MS, options.announce);
        }
        return transition;
    }

    /**
     * An operator returns a flagged or restricted sender to `ok`; earlier complaints stop counting.
     * SMTP users disabled because of the restriction stay disabled: an operator enables them.
     */
    public async lift(sender: string, action: { operator: string; reason: string }): Promise<SenderTransition> {
        return this.operatorChange(sender, "ok", action);
    }

    /**
     * An operator restricts a sender by hand (from `ok` or `flagged`), whatever its complaints. Like a
     * threshold restriction it is announced, so SmtpCredentials disables the SMTP users allowed to send as it.
     */
    public async restrict(sender: string, action: { operator: string; reason: string }): Promise<SenderTransition> {
        return this.operatorChange(sender, "restricted", action);
    }

    /**
     * The operator's change, written with who, when and why on the state item (`last_transition`);
     * its audit record follows once {@link settle} announced it. When the sender is already there
     * because an earlier operator change was not announced yet (its publish failed), that change is
     * returned instead of writing a new one, so running the same command again finishes it.
     */
    private async operatorChange(sender: string, to: "ok" | "restricted", action: { operator: string; reason: string }): Promise<SenderTransition> {
        const { operator, reason } = parseOrThrow(operatorAction, action, `${to === "ok" ? "lift" : "restrict"} request`);
        const current = await this.status(sender);
        if (current.state === to) {
            const pending = current.lastTransition;
            if (!current.settled && pending && pending.to === to && pending.actor !== "feedback-worker") return pending;
            throw new InvalidInputError(to === "ok"
                ? `Sender ${current.sender} is not flagged or restricted; nothing to lift.`
                : `Sender ${current.sender} is already restricted.`);
        }
        const now = this.now();
        const transition: SenderTransition = { sender: current.sender, from: current.state, to, at: new Date(now).toISOString(), actor: operator, reason };
        // The lease of an older change's announcement is dropped, so that settle() announces this one at once.
        const lifting = to === "ok";
        try {
            await this.doc.send(new UpdateCommand({
                TableName: this.tableName,
                Key: { pk: senderKey(sender), sk: "STATE" },
                UpdateExpression: `SET #state = :to, last_transition = :transition, sender = :sender${lifting ? ", complaints = :zero, lifted_at = :now" : ""} REMOVE notify_lease`,
                // Only over the state read: a worker's raise meanwhile is not overwritten unseen.
                ConditionExpression: current.state === "ok" ? "attribute_not_exists(#state) OR #state = :from" : "#state = :from",
                ExpressionAttributeNames: { "#state": "state" },
                ExpressionAttributeValues: { ":to": to, ":transition": transition, ":sender": current.sender, ":from": current.state, ...(lifting ? { ":zero": 0, ":now": now } : {}) },
            }));
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) {
                throw new InvalidInputError(`Sender ${current.sender} changed state while this ran (it was ${current.state}); look at it again and retry.`);
            }
            throw error;
        }
        return transition;
    }

    /**
     * Senders in one state, by {@link SENDER_STATE_INDEX} (a Query per page, never a Scan). Index
     * reads are eventually consistent: a change of the last moment may be missing; `status` reads
     * one sender consistently.
     */
    public async listByState(state: Exclude<SenderState, "ok">): Promise<SenderListing[]> {
        const listed: SenderListing[] = [];
        for await (const page of paginateQuery({ client: this.doc }, {
            TableName: this.tableName,
            IndexName: SENDER_STATE_INDEX,
            KeyConditionExpression: "#state = :state",
            ExpressionAttributeNames: { "#state": "state" },
            ExpressionAttributeValues: { ":state": state },
        })) {
            for (const item of page.Items ?? []) {
                listed.push({ sender: String(item.sender), state, complaints: item.complaints, lastTransition: item.last_transition as SenderTransition | undefined });
            }
        }
        return listed;
    }

    /**
     * Announces and audits the last change if that has not happened yet. Safe to call any number
     * of times and concurrently: one caller claims the announcement with a lease; it is released if
     * announcing fails and expires if the caller dies, so a retry announces instead. A lease that
     * announced is kept until it expires, so a caller that read the status before the audit record
     * was written cannot announce the change a second time. `current`: a status just read.
     * `takeOver`: claim it even under another caller's lease, because a newer change is about to
     * supersede it and must not leave it unaudited (its holder may have died; if not, the change is
     * announced twice and audited once).
     */
    public async settle(sender: string, announce: (transition: SenderTransition) => Promise<void>, options: { current?: SenderStatus; takeOver?: boolean } = {}): Promise<SenderTransition | undefined> {
        const status = options.current ?? await this.status(sender);
        const transition = status.lastTransition;
        if (!transition || status.settled || status.state !== transition.to) {
            return undefined;
        }
        const now = this.now();
        try {
            await this.doc.send(new UpdateCommand({
                TableName: this.tableName,
                Key: { pk: senderKey(sender), sk: "STATE" },
                UpdateExpression: "SET notify_lease = :until",
                ConditionExpression: `#state = :to AND last_transition.#at = :at${options.takeOver ? "" : " AND (attribute_not_exists(notify_lease) OR notify_lease < :now)"}`,
                ExpressionAttributeNames: { "#state": "state", "#at": "at" },
                ExpressionAttributeValues: { ":to": transition.to, ":at": transition.at, ":until": now + ANNOUNCE_LEASE_MS, ...(options.takeOver ? {} : { ":now": now }) },
            }));
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) {
                return undefined; // another worker is announcing it, or a newer change superseded it
            }
            throw error;
        }
        await this.announceAndAudit(transition, now + ANNOUNCE_LEASE_MS, announce);
        return transition;
    }

    /** Under a held lease: announce, then write the audit record that marks the change settled. */
    private async announceAndAudit(transition: SenderTransition, lease: number, announce: (transition: SenderTransition) => Promise<void>): Promise<void> {
        const key = { pk: senderKey(transition.sender), sk: "STATE" };
        try {
            await announce(transition);
            await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: key.pk, sk: auditKey(transition), ...transition } }));
        } catch (error) {
            // Only our own lease is released: a newer change may have claimed its own meanwhile.
            await this.doc.send(new UpdateCommand({
                TableName: this.tableName, Key: key, UpdateExpression: "REMOVE notify_lease",
                ConditionExpression: "notify_lease = :lease", ExpressionAttributeValues: { ":lease": lease },
            })).catch((release: unknown) => {
                if (!(release instanceof ConditionalCheckFailedException)) throw release;
            });
            throw error;
        }
    }

    /** The sender's audit trail, oldest first. */
    public async audit(sender: string): Promise<SenderTransition[]> {
        const { Items } = await this.doc.send(new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: "pk = :pk AND begins_with(sk, :audit)",
            ExpressionAttributeValues: { ":pk": senderKey(sender), ":audit": "AUDIT#" },
        }));
        return (Items ?? []).map(({ pk: _pk, sk: _sk, ...transition }) => transition as SenderTransition);
    }
}

function normaliseSender(sender: string): string {
    return parseOrThrow(z.string().check(z.trim(), z.toLowerCase(), z.minLength(1, { error: "sender must not be empty" })), sender, "sender");
}

function senderKey(sender: string): string {
    return `SENDER#${normaliseSender(sender)}`;
}

function auditKey(transition: SenderTransition): string {
    return `AUDIT#${transition.at}#${transition.to}`;
}
