// What an SMTP_USER# record asks for, and the policy an SMTP user gets. Pure.
import { InvalidInputError } from "../shared/email";

export const SMTP_USER_PREFIX = "SMTP_USER#";
export const CREDENTIALS_SORT_KEY = "CREDENTIALS#v1";
/** Registry items (same partition): one per IAM user name ever chosen, until the user is gone. */
export const IAM_USER_SORT_KEY_PREFIX = "IAM_USER#";
export const SENDING_POLICY_NAME = "ses-smtp-send";
const IAM_PREFIX = "ses-smtp-user-";
/** IAM user names are at most 64 characters ("IAM and AWS STS quotas"). */
const IAM_USER_NAME_LIMIT = 64;
/** Room for `ses-smtp-user-<name>-<10-digit timestamp>` within IAM's 64 characters. */
export const USERNAME_ROOM = IAM_USER_NAME_LIMIT - IAM_PREFIX.length - 11;

export type SmtpStatus = "pending" | "active" | "disabled" | "failed";

export interface SmtpRecord {
    username: string;
    status: SmtpStatus;
    allowedSenders: string[];
    iamUserName?: string;
    iamUserArn?: string;
    smtpUsername?: string;
    rotateRequestedAt?: string;
    rotatedAt?: string;
    retiringKey?: { accessKeyId: string; deleteAfter: string };
    /** Fingerprint of the desired state IAM last matched (see `desiredFingerprint`). */
    reconciled?: string;
    lastError?: string;
    provisionAttempts: number;
    /** When the record was first seen out of sync with IAM (failure or sweep), until it is reconciled. */
    outOfSyncSince?: string;
    reconcileRequestedAt?: string;
    /** Input the manager can never accept (e.g. a `username` attribute that differs from the key). */
    invalid?: string;
}

export function parseSmtpRecord(item: Record<string, unknown>): SmtpRecord {
    const text = (key: string) => (typeof item[key] === "string" ? (item[key] as string) : undefined);
    const fromKey = String(item.PK ?? "").slice(SMTP_USER_PREFIX.length);
    const attribute = text("username");
    const senders = item.allowed_senders;
    const retiring = item.retiring_key as { access_key_id?: unknown; delete_after?: unknown } | null | undefined;
    return {
        username: fromKey || attribute || "",
        status: (text("status") ?? "pending") as SmtpStatus,
        allowedSenders: (Array.isArray(senders) ? senders : senders instanceof Set ? [...senders] : []).filter((s): s is string => typeof s === "string"),
        iamUserName: text("iam_user_name"),
        iamUserArn: text("iam_user_arn"),
        smtpUsername: text("smtp_username"),
        rotateRequestedAt: text("rotate_requested_at"),
        rotatedAt: text("rotated_at"),
        retiringKey: retiring && typeof retiring.access_key_id === "string" && typeof retiring.delete_after === "string"
            ? { accessKeyId: retiring.access_key_id, deleteAfter: retiring.delete_after } : undefined,
        reconciled: text("reconciled"),
        lastError: text("last_error"),
        provisionAttempts: Number(item.provision_attempts ?? 0) || 0,
        outOfSyncSince: text("out_of_sync_since"),
        reconcileRequestedAt: text("reconcile_requested_at"),
        invalid: fromKey && attribute !== undefined && attribute !== fromKey
            ? `username attribute "${attribute}" differs from the key ${SMTP_USER_PREFIX}${fromKey}: the username comes from the key; remove the attribute or make it equal`
            : undefined,
    };
}

/**
 * Why the record can never be provisioned, or undefined. The username becomes part of the IAM user
 * name (letters, digits and `+=,.@_-`, at most 64 characters) and the value of its `SmtpUsername`
 * tag (letters, digits, spaces and `_.:/=+-@`): only characters both accept are allowed.
 */
export function recordProblem(record: SmtpRecord): string | undefined {
    if (record.invalid) return record.invalid;
    const { username } = record;
    if (!/^[A-Za-z0-9_.=+@-]+$/.test(username)) {
        return `username "${username}" may only contain letters, digits and _ . = + @ - (allowed in both IAM user names and IAM tag values)`;
    }
    if (username.length > USERNAME_ROOM) {
        return `username "${username}" is ${username.length} characters; at most ${USERNAME_ROOM} fit the IAM user name ${IAM_PREFIX}<username>-<timestamp> (64 characters)`;
    }
    return undefined;
}

/** Throws InvalidInputError with the rule when the record can never be provisioned. */
export function validateUsername(username: string): void {
    const problem = recordProblem({ username, status: "pending", allowedSenders: [], provisionAttempts: 0 });
    if (problem) throw new InvalidInputError(problem);
}

export function iamUserName(username: string, epochSeconds: number): string {
    return `${IAM_PREFIX}${username}-${epochSeconds}`;
}

/**
 * Send only raw and formatted mail, only through this stack's identities and configuration sets,
 * only as the allowed senders. SES authorizes a send that uses a configuration set (an identity's
 * default one included) against the configuration set's ARN as well as the identity's, each with
 * the request's `ses:FromAddress`, so both kinds of resource are listed under the same condition.
 * An empty sender list denies sending outright.
 */
export function sendingPolicy(identityArns: string[], configurationSetArns: string[], allowedSenders: string[]): { Version: string; Statement: Record<string, unknown>[] } {
    const actions = ["ses:SendRawEmail", "ses:SendEmail"];
    return {
        Version: "2012-10-17",
        Statement: allowedSenders.length === 0
            ? [{ Sid: "NoAllowedSenders", Effect: "Deny", Action: actions, Resource: "*" }]
            : [{ Sid: "SendAsAllowedSenders", Effect: "Allow", Action: actions, Resource: [...identityArns, ...configurationSetArns], Condition: { StringLike: { "ses:FromAddress": allowedSenders } } }],
    };
}

/** Whether two policy documents say the same (IAM returns them re-serialized). */
export function samePolicy(a: string | undefined, b: string): boolean {
    if (a === undefined) return false;
    try {
        return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
    } catch {
        return false;
    }
}

/** The desired state a record states: what IAM must match. */
export function desiredFingerprint(record: Pick<SmtpRecord, "status" | "allowedSenders" | "rotateRequestedAt">): string {
    return JSON.stringify([record.status, [...record.allowedSenders].sort(), record.rotateRequestedAt ?? null]);
}

const operatorView = (record: SmtpRecord) => JSON.stringify([[...record.allowedSenders].sort(), record.rotateRequestedAt ?? null, record.reconcileRequestedAt ?? null, record.invalid ?? null]);

/**
 * Whether a stream record asks for reconciliation. The manager's own writes (credentials, the
 * pending → active/failed status, attempt counters, errors, markers) ask for nothing, so they never
 * loop; anything an operator changes, and the sweep's `reconcile_requested_at`, does.
 */
export function asksForReconcile(eventName: string, before?: SmtpRecord, after?: SmtpRecord): boolean {
    if (eventName === "REMOVE") return before?.iamUserName !== undefined;
    if (!after) return false;
    if (!before) return true;
    const ownStatusWrite = before.status === "pending" && (after.status === "active" || after.status === "failed");
    if (before.status !== after.status && !ownStatusWrite) return true;
    return operatorView(before) !== operatorView(after);
}

/** A rotation asked for and not yet done. */
export function rotationRequested(record: SmtpRecord): boolean {
    return record.rotateRequestedAt !== undefined && record.rotateRequestedAt !== record.rotatedAt;
}

/** Whether the sweep must have the record reconciled (IAM may differ from it). */
export function needsAttention(record: SmtpRecord, now: Date): boolean {
    if (record.status === "failed") return record.iamUserName !== undefined;
    if (record.status === "pending" || record.lastError !== undefined || record.outOfSyncSince !== undefined) return true;
    if (record.retiringKey && Date.parse(record.retiringKey.deleteAfter) <= now.getTime()) return true;
    return record.reconciled !== desiredFingerprint(record);
}
