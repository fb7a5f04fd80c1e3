import type { DynamoDBRecord } from "aws-lambda";
import { InvalidInputError, normaliseEmail } from "../shared/email";
import type { SuppressionEntry, SuppressionReason } from "../shared/suppression-client";

/** The reasons SES's account-level list knows. */
export type SesSuppressionReason = "BOUNCE" | "COMPLAINT";

export type MirrorAction = { kind: "put"; email: string; reason: SesSuppressionReason } | { kind: "delete"; email: string };

export interface MirrorPorts {
    /** Live entries left in the table for the address. */
    entries(email: string): Promise<SuppressionEntry[]>;
    put(email: string, reason: SesSuppressionReason): Promise<void>;
    /** Deletes from SES; an address SES does not hold counts as deleted. */
    delete(email: string): Promise<void>;
}

// SES has no "manual" reason: a manual entry is mirrored as BOUNCE, and a complaint outranks both.
const SES_REASON: Record<SuppressionReason, SesSuppressionReason> = { complaint: "COMPLAINT", bounce: "BOUNCE", manual: "BOUNCE" };

/** The SES state that matches the table's live entries for one address. */
export function desiredState(email: string, entries: SuppressionEntry[]): MirrorAction {
    if (entries.length === 0) {
        return { kind: "delete", email };
    }
    const reason = entries.some((entry) => SES_REASON[entry.reason] === "COMPLAINT") ? "COMPLAINT" : "BOUNCE";
    return { kind: "put", email, reason };
}

/** The address a stream record is about, from its keys (present for INSERT, MODIFY and REMOVE alike). */
export function addressOf(record: DynamoDBRecord): string {
    const email = record.dynamodb?.Keys?.email?.S;
    if (email === undefined) {
        throw new InvalidInputError(`Stream record ${record.eventID ?? "(no id)"} has no email key; is the mirror attached to the suppression table?`);
    }
    return normaliseEmail(email);
}

/**
 * Re-derives SES's entry for the record's address from the table instead of replaying the event,
 * so out-of-order, duplicate and TTL-expiry records all converge on the table's truth.
 */
export async function mirrorRecord(record: DynamoDBRecord, ports: MirrorPorts): Promise<MirrorAction> {
    const email = addressOf(record);
    const action = desiredState(email, await ports.entries(email));
    if (action.kind === "put") {
        await ports.put(action.email, action.reason);
    } else {
        await ports.delete(action.email);
    }
    return action;
}
