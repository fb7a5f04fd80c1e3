import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod/mini";
import { InvalidInputError, parseOrThrow } from "./email";

export const SENDER_STATES = ["ok", "flagged", "restricted"] as const;
export type SenderState = (typeof SENDER_STATES)[number];
const RANK: Record<SenderState, number> = { ok: 0, flagged: 1, restricted: 2 };
/** How long a worker may hold the right to announce a change before another may take over. */
const ANNOUNCE_LEASE_MS = 120_000;

/** A change of a sender's state, as audited and announced. */
export interface SenderTransition {
    sender: string;
    from: SenderState;
    to: SenderState;
    /** ISO 8601. */
    at: string;
    /** `feedback-worker` for complaint thresholds, else the operator who acted. */
    actor: string;
    complaints?: number;
    reason?: string;
}

export interface SenderStatus {
    sender: string;
    state: SenderState;
    /** The last state whose change was audited and announced. */
    notifiedState: SenderState;
    complaints?: number;
    /** Epoch ms of the last operator lift: complaints before it no longer count. */
    liftedAt?: number;
    lastTransition?: SenderTransition;
}

export interface SenderReputationOptions {
    tableName: string;
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
 * A change is written with its transition on the state item first; {@link settle} then writes the
 * audit record (same key on every attempt), announces it and marks it notified. A crash between
 * the steps is repaired by the next attempt, so no change goes unaudited or unannounced.
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

    public async status(sender: string): Promise<SenderStatus> {
        const key = senderKey(sender);
        const { Item } = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk: key, sk: "STATE" }, ConsistentRead: true }));
        return {
            sender: normaliseSender(sender),
            state: (Item?.state as SenderState) ?? "ok",
            notifiedState: (Item?.notified_state as SenderState) ?? "ok",
            complaints: Item?.complaints,
            liftedAt: Item?.lifted_at,
            lastTransition: Item?.last_transition,
        };
    }

    /**
     * Moves the sender up to `to` if it is below it; never down (only {@link lift} lowers a state).
     * Returns the transition, or undefined when the sender was already there.
     */
    public async raise(sender: string, to: SenderState, complaints: number): Promise<SenderTransition | undefined> {
        const lower = SENDER_STATES.filter((state) => RANK[state] < RANK[to]);
        if (lower.length === 0) {
            return undefined;
        }
        const current = await this.status(sender);
        if (RANK[current.state] >= RANK[to]) {
            return undefined;
        }
        const transition: SenderTransition = { sender: current.sender, from: current.state, to, at: new Date(this.now()).toISOString(), actor: "feedback-worker", complaints };
        const placeholders = Object.fromEntries(lower.map((state, i) => [`:lower${i}`, state]));
        try {
            await this.doc.send(new UpdateCommand({
                TableName: this.tableName,
                Key: { pk: senderKey(sender), sk: "STATE" },
                UpdateExpression: "SET #state = :to, complaints = :complaints, last_transition = :transition, notified_state = if_not_exists(notified_state, :ok), sender = :sender",
                ConditionExpression: `attribute_not_exists(#state) OR #state IN (${Object.keys(placeholders).join(", ")})`,
                ExpressionAttributeNames: { "#state": "state" },
                ExpressionAttributeValues: { ":to": to, ":complaints": complaints, ":transition": transition, ":ok": "ok", ":sender": current.sender, ...placeholders },
            }));
            return transition;
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) {
                return undefined; // a concurrent worker raised it first; its settle announces it
            }
            throw error;
        }
    }

    /** An operator returns a flagged or restricted sender to `ok`; earlier complaints stop counting. */
    public async lift(sender: string, action: { operator: string; reason: string }): Promise<SenderTransition> {
        const { operator, reason } = parseOrThrow(operatorAction, action, "lift request");
        const current = await this.status(sender);
        if (current.state === "ok") {
            throw new InvalidInputError(`Sender ${current.sender} is not flagged or restricted; nothing to lift.`);
        }
        const now = this.now();
        const transition: SenderTransition = { sender: current.sender, from: current.state, to: "ok", at: new Date(now).toISOString(), actor: operator, reason };
        await this.doc.send(new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: senderKey(sender), sk: "STATE" },
            UpdateExpression: "SET #state = :ok, complaints = :zero, lifted_at = :now, last_transition = :transition",
            ConditionExpression: "#state = :from",
            ExpressionAttributeNames: { "#state": "state" },
            ExpressionAttributeValues: { ":ok": "ok", ":zero": 0, ":now": now, ":transition": transition, ":from": current.state },
        }));
        return transition;
    }

    /**
     * Audits and announces the last change if that has not happened yet. Safe to call any number
     * of times and concurrently: one caller claims the announcement with a lease; it is released if
     * announcing fails and expires if the caller dies, so a retry announces instead.
     */
    public async settle(sender: string, announce: (transition: SenderTransition) => Promise<void>): Promise<SenderTransition | undefined> {
        const status = await this.status(sender);
        const transition = status.lastTransition;
        // notified_state only moves after the audit record and the announcement, so equality means done.
        if (!transition || (status.state === transition.to && status.notifiedState === transition.to)) {
            return undefined;
        }
        const key = { pk: senderKey(sender), sk: "STATE" };
        const current = { "#state": "state", "#at": "at" };
        const now = this.now();
        try {
            await this.doc.send(new UpdateCommand({
                TableName: this.tableName,
                Key: key,
                UpdateExpression: "SET notify_lease = :until",
                ConditionExpression: "#state = :to AND last_transition.#at = :at AND notified_state <> :to AND (attribute_not_exists(notify_lease) OR notify_lease < :now)",
                ExpressionAttributeNames: current,
                ExpressionAttributeValues: { ":to": transition.to, ":at": transition.at, ":now": now, ":until": now + ANNOUNCE_LEASE_MS },
            }));
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) {
                return undefined; // another worker is announcing it, or a newer change superseded it
            }
            throw error;
        }
        try {
            await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { ...key, sk: auditKey(transition), ...transition } }));
            await announce(transition);
        } catch (error) {
            await this.doc.send(new UpdateCommand({ TableName: this.tableName, Key: key, UpdateExpression: "REMOVE notify_lease" }));
            throw error;
        }
        await this.doc.send(new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: "SET notified_state = :to REMOVE notify_lease",
            ConditionExpression: "#state = :to AND last_transition.#at = :at",
            ExpressionAttributeNames: current,
            ExpressionAttributeValues: { ":to": transition.to, ":at": transition.at },
        })).catch((error: unknown) => {
            // A newer change arrived meanwhile; its own settle announces it.
            if (!(error instanceof ConditionalCheckFailedException)) {
                throw error;
            }
        });
        return transition;
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
