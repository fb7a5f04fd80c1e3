// What a change to an SMTP_USER# record asks for, and the policy an SMTP user gets. Pure.
import { InvalidInputError } from "../shared/email";

export const SMTP_USER_PREFIX = "SMTP_USER#";
export const CREDENTIALS_SORT_KEY = "CREDENTIALS#v1";
export const SENDING_POLICY_NAME = "ses-smtp-send";
const IAM_PREFIX = "ses-smtp-user-";
const IAM_USER_NAME_LIMIT = 64;

export type SmtpStatus = "pending" | "active" | "disabled" | "failed";

export interface SmtpRecord {
    username: string;
    status: SmtpStatus;
    allowedSenders: string[];
    iamUserName?: string;
    smtpUsername?: string;
    rotateRequestedAt?: string;
    rotatedAt?: string;
    lastSequence?: string;
}

export function parseSmtpRecord(item: Record<string, unknown>): SmtpRecord {
    const text = (key: string) => (typeof item[key] === "string" ? (item[key] as string) : undefined);
    const username = text("username") ?? String(item.PK ?? "").slice(SMTP_USER_PREFIX.length);
    const senders = item.allowed_senders;
    return {
        username,
        status: (text("status") ?? "pending") as SmtpStatus,
        allowedSenders: (Array.isArray(senders) ? senders : senders instanceof Set ? [...senders] : []).filter((s): s is string => typeof s === "string"),
        iamUserName: text("iam_user_name"),
        smtpUsername: text("smtp_username"),
        rotateRequestedAt: text("rotate_requested_at"),
        rotatedAt: text("rotated_at"),
        lastSequence: text("last_sequence"),
    };
}

export type SmtpAction = "provision" | "disable" | "enable" | "rotate" | "update-policy" | "delete" | "none";

/**
 * The action a stream record asks for. The manager's own writes (pending → active/failed, attempt
 * counters, rotation results) ask for nothing, so they never loop.
 */
export function planAction(eventName: string, before?: SmtpRecord, after?: SmtpRecord): SmtpAction {
    if (eventName === "REMOVE") return before?.iamUserName ? "delete" : "none";
    if (!after) return "none";
    if (after.status === "pending") return before?.status === "pending" ? "none" : "provision";
    if (before?.status === "active" && after.status === "disabled") return "disable";
    if (before?.status === "disabled" && after.status === "active") return "enable";
    if (before?.status === "active" && after.status === "active") {
        if (after.rotateRequestedAt && after.rotateRequestedAt !== before.rotateRequestedAt && after.rotateRequestedAt !== after.rotatedAt) return "rotate";
        if ([...after.allowedSenders].sort().join() !== [...before.allowedSenders].sort().join()) return "update-policy";
    }
    return "none";
}

/** IAM user-name rules, and room for `ses-smtp-user-<name>-<10-digit timestamp>` within 64 characters. */
export function validateUsername(username: string): void {
    const room = IAM_USER_NAME_LIMIT - IAM_PREFIX.length - 11;
    if (!/^[A-Za-z0-9+=,.@_-]+$/.test(username)) {
        throw new InvalidInputError(`username "${username}" may only contain letters, digits and + = , . @ _ -`);
    }
    if (username.length > room) {
        throw new InvalidInputError(`username "${username}" is ${username.length} characters; at most ${room} fit the IAM user name ${IAM_PREFIX}<username>-<timestamp> (64 characters)`);
    }
}

export function iamUserName(username: string, epochSeconds: number): string {
    return `${IAM_PREFIX}${username}-${epochSeconds}`;
}

/**
 * Send only raw and formatted mail, only through this stack's identities, only as the allowed
 * senders. An empty list denies sending outright.
 */
export function sendingPolicy(identityArns: string[], allowedSenders: string[]): { Version: string; Statement: Record<string, unknown>[] } {
    const actions = ["ses:SendRawEmail", "ses:SendEmail"];
    return {
        Version: "2012-10-17",
        Statement: allowedSenders.length === 0
            ? [{ Sid: "NoAllowedSenders", Effect: "Deny", Action: actions, Resource: "*" }]
            : [{ Sid: "SendAsAllowedSenders", Effect: "Allow", Action: actions, Resource: identityArns, Condition: { StringLike: { "ses:FromAddress": allowedSenders } } }],
    };
}

/** Stream sequence numbers compare as big integers. */
export function isNewer(sequence: string, than?: string): boolean {
    return than === undefined || BigInt(sequence) > BigInt(than);
}
