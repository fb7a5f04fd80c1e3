import type { DynamoDBRecord } from "aws-lambda";
import { InvalidInputError, normaliseEmail } from "../shared/email";
import type { SuppressionEntry, SuppressionReason } from "../shared/suppression-client";

/** The reasons SES's account-level list knows. */
export type SesSuppressionReason = "BOUNCE" | "COMPLAINT";

export type DesiredState = { kind: "put"; email: string; reason: SesSuppressionReason } | { kind: "delete"; email: string };

/** An address on SES's account-level list, as GetSuppressedDestination describes it. */
export interface ListedEntry {
    reason: SesSuppressionReason;
    /** `LastUpdateTime` as an ISO timestamp: it changes whenever anyone (SES itself included) writes the entry. */
    lastUpdated: string;
    /**
     * SES added it after a real bounce or complaint: its `Attributes` name the `MessageId` or
     * `FeedbackId` that caused it (SESv2 API Reference, SuppressedDestinationAttributes), which a
     * PutSuppressedDestination never sets.
     */
    setBySes: boolean;
}

/**
 * What the mirror did for an address:
 * - `put`: added the address, or changed the reason of an entry this stack put;
 * - `delete`: removed an entry this stack put and nobody has written since;
 * - `unchanged`: SES already matches the table as far as this stack is concerned;
 * - `left`: SES lists the address and this stack did not put it (SES itself after a bounce or
 *   complaint, the console, another stack or system): the mirror neither changes nor removes it.
 */
export type MirrorAction =
    | { kind: "put"; email: string; reason: SesSuppressionReason }
    | { kind: "delete"; email: string }
    | { kind: "unchanged"; email: string }
    | { kind: "left"; email: string; wanted: DesiredState["kind"] };

export interface MirrorPorts {
    /** Live entries left in the table for the address, read consistently (stream records of other writes run in parallel). */
    entries(email: string): Promise<SuppressionEntry[]>;
    /** The address's entry on SES's list; undefined when it is not listed. */
    listed(email: string): Promise<ListedEntry | undefined>;
    put(email: string, reason: SesSuppressionReason): Promise<void>;
    /** Deletes from SES; an address SES does not hold counts as deleted. */
    delete(email: string): Promise<void>;
    /** This stack's claim: the `lastUpdated` SES reported after this stack's own put; undefined without one. */
    claim(email: string): Promise<string | undefined>;
    /** Records a claim, keeping a later one already recorded (parallel records of one address may both put). */
    saveClaim(email: string, lastUpdated: string): Promise<void>;
    dropClaim(email: string): Promise<void>;
}

// SES has no "manual" reason: a manual entry is mirrored as BOUNCE, and a complaint outranks both.
const SES_REASON: Record<SuppressionReason, SesSuppressionReason> = { complaint: "COMPLAINT", bounce: "BOUNCE", manual: "BOUNCE" };

/** The SES state that matches the table's live entries for one address. */
export function desiredState(email: string, entries: SuppressionEntry[]): DesiredState {
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
 * so out-of-order, duplicate and TTL-expiry records all converge on the table's truth, and touches
 * only entries this stack put. The account-level list is shared by everything in the account and
 * region, and SES keeps no owner or tags on an entry; the stack's claim is the entry's
 * `LastUpdateTime` right after its own put. An entry that was there before, or that anyone wrote
 * since, is someone else's too and is left alone (at worst an address stays suppressed in SES), as is
 * one SES itself added after a bounce or complaint.
 */
export async function mirrorRecord(record: DynamoDBRecord, ports: MirrorPorts): Promise<MirrorAction> {
    const email = addressOf(record);
    const desired = desiredState(email, await ports.entries(email));
    const [listed, claim] = await Promise.all([ports.listed(email), ports.claim(email)]);
    const isOurs = (entry: ListedEntry | undefined) => entry !== undefined && claim === entry.lastUpdated && !entry.setBySes;
    let ours = isOurs(listed);
    if (desired.kind === "put") {
        if (listed !== undefined && !ours) {
            return { kind: "left", email, wanted: "put" };
        }
        if (listed?.reason === desired.reason) {
            return { kind: "unchanged", email };
        }
        await ports.put(email, desired.reason);
        const after = await ports.listed(email);
        if (after !== undefined) {
            await ports.saveClaim(email, after.lastUpdated);
        }
        return desired;
    }
    // Re-read right before deleting: DeleteSuppressedDestination has no condition, so this narrows the
    // window in which SES (after a real bounce) or anyone else writes the entry between read and delete.
    const current = ours ? await ports.listed(email) : listed;
    ours = isOurs(current);
    if (ours) {
        await ports.delete(email);
    }
    if (claim !== undefined) {
        await ports.dropClaim(email);
    }
    if (ours) return desired;
    return current === undefined ? { kind: "unchanged", email } : { kind: "left", email, wanted: "delete" };
}
