// What an SMTP_USER# record asks for, and the policies an SMTP user gets. Pure.
import { createHash } from "node:crypto";
import { InvalidInputError, normalisedEmail } from "../shared/email";

export const SMTP_USER_PREFIX = "SMTP_USER#";
export const CREDENTIALS_SORT_KEY = "CREDENTIALS#v1";
/** Registry items (same partition): one per IAM user name ever chosen, until the user is gone. */
export const IAM_USER_SORT_KEY_PREFIX = "IAM_USER#";
export const SENDING_POLICY_NAME = "ses-smtp-send";
/** The record field that lets `*@<domain>` in allowed_senders through (`{"BOOL": true}`); anything else refuses it. */
export const DOMAIN_WILDCARD_FIELD = "allow_domain_wildcard";
const SENDING_ACTIONS = ["ses:SendRawEmail", "ses:SendEmail"];
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
    /** The operator's opt-in to `*@<domain>` senders ({@link DOMAIN_WILDCARD_FIELD}). */
    allowDomainWildcard: boolean;
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
        allowDomainWildcard: item[DOMAIN_WILDCARD_FIELD] === true,
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
    const problem = recordProblem({ username, status: "pending", allowedSenders: [], allowDomainWildcard: false, provisionAttempts: 0 });
    if (problem) throw new InvalidInputError(problem);
}

export function iamUserName(username: string, epochSeconds: number): string {
    return `${IAM_PREFIX}${username}-${epochSeconds}`;
}

/** The domains and single addresses this stack's SES identities cover (`…:identity/<domain or address>`), lowercased. */
export function identityScope(identityArns: string[]): { domains: string[]; addresses: string[] } {
    const names = identityArns.map((arn) => arn.slice(arn.indexOf(":identity/") + ":identity/".length).toLowerCase());
    return { domains: names.filter((n) => !n.includes("@")), addresses: names.filter((n) => n.includes("@")) };
}

/**
 * The `ses:FromAddress` values a record's allowed_senders stand for, and why any are refused.
 * Accepted: plain addresses (trimmed and lowercased, as everywhere in this system) of a domain this
 * stack's identities cover, or equal to an address identity; `*@<domain>` of such a domain only on
 * a record that opts in with `allow_domain_wildcard: true`. Never `*` or `?` anywhere else: IAM's
 * StringLike would read them as wildcards, letting the user send as any address (`ceo@`,
 * `MAILER-DAEMON@`). Values come sorted and without duplicates, so the policy does not depend on
 * the order operators list them in.
 */
export function senderValues(record: Pick<SmtpRecord, "allowedSenders" | "allowDomainWildcard">, identityArns: string[]): { values: string[]; problem?: string } {
    const { domains, addresses } = identityScope(identityArns);
    const covered = `this stack's SES identities cover ${[...domains, ...addresses].join(", ") || "nothing"}`;
    const values = new Set<string>();
    const problems: string[] = [];
    for (const entry of record.allowedSenders) {
        const text = entry.trim().toLowerCase();
        const domain = text.slice(text.lastIndexOf("@") + 1);
        if (text === `*@${domain}` && domains.includes(domain)) {
            if (record.allowDomainWildcard) values.add(text);
            else problems.push(`"${entry}" lets the user send as every address of ${domain}: list exact addresses, or set ${DOMAIN_WILDCARD_FIELD}: true on the record`);
            continue;
        }
        if (/[*?]/.test(text)) {
            problems.push(`"${entry}": wildcards are refused; list exact addresses (or "*@<domain>" of this stack's domains with ${DOMAIN_WILDCARD_FIELD}: true)`);
            continue;
        }
        const parsed = normalisedEmail.safeParse(entry);
        if (!parsed.success) problems.push(`"${entry}" is not a plain email address`);
        else if (!domains.includes(domain) && !addresses.includes(parsed.data)) problems.push(`"${entry}" is not an address the stack may send as (${covered})`);
        else values.add(parsed.data);
    }
    return { values: [...values].sort(), ...(problems.length ? { problem: `allowed_senders: ${problems.join("; ")}` } : {}) };
}

/**
 * Send only raw and formatted mail, only through this stack's identities and configuration sets,
 * only as the allowed senders (values from {@link senderValues}): exact addresses under
 * StringEquals, opted-in `*@<domain>` under StringLike. SES authorizes a send that uses a
 * configuration set (an identity's default one included) against the configuration set's ARN as
 * well as the identity's, each with the request's `ses:FromAddress`, so both kinds of resource are
 * listed. IAM compares `ses:FromAddress` case-sensitively: the values are lowercase, so clients send
 * the From address in lowercase. An empty sender list denies sending outright.
 */
export function sendingPolicy(identityArns: string[], configurationSetArns: string[], senders: string[]): { Version: string; Statement: Record<string, unknown>[] } {
    const allowFrom = (sid: string, operator: string, addresses: string[]) => (addresses.length
        ? [{ Sid: sid, Effect: "Allow", Action: SENDING_ACTIONS, Resource: [...identityArns, ...configurationSetArns], Condition: { [operator]: { "ses:FromAddress": addresses } } }]
        : []);
    const statements = [
        ...allowFrom("SendAsAllowedSenders", "StringEquals", senders.filter((s) => !s.startsWith("*@"))),
        ...allowFrom("SendAsAnyAddressOfOptedInDomains", "StringLike", senders.filter((s) => s.startsWith("*@"))),
    ];
    return { Version: "2012-10-17", Statement: statements.length ? statements : [{ Sid: "NoAllowedSenders", Effect: "Deny", Action: SENDING_ACTIONS, Resource: "*" }] };
}

/**
 * The permissions boundary every SMTP user carries: at most, send raw and formatted mail through this
 * stack's identities and configuration sets, as addresses those identities cover. Whatever policy a
 * user is given, it can do no more (effective permissions are the intersection); in particular
 * nothing of IAM, so the manager's role cannot create a way to admin.
 */
export function userBoundaryPolicy(identityArns: string[], configurationSetArns: string[]): { Version: string; Statement: Record<string, unknown>[] } {
    const { domains, addresses } = identityScope(identityArns);
    return {
        Version: "2012-10-17",
        Statement: [{
            Sid: "SmtpUsersSendThroughThisStackOnly", Effect: "Allow", Action: SENDING_ACTIONS, Resource: [...identityArns, ...configurationSetArns],
            Condition: { StringLike: { "ses:FromAddress": [...domains.map((d) => `*@${d}`), ...addresses] } },
        }],
    };
}

/** What the manager's IAM objects depend on besides the record. */
export interface SendingScope {
    identityArns: string[];
    /** Configuration sets the users' mail goes through (identities' defaults): SES authorizes against them too. */
    configurationSetArns: string[];
    /** The managed policy every SMTP user carries as its permissions boundary. */
    permissionsBoundaryArn: string;
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

/**
 * The desired state: what IAM must match (status, rotation, the user's policy and boundary). It covers
 * the scope too, so a change of identities, configuration sets or boundary (or of the policy's shape
 * in a new version of the manager) has the sweep reconcile every record.
 */
export function desiredFingerprint(record: Pick<SmtpRecord, "status" | "allowedSenders" | "allowDomainWildcard" | "rotateRequestedAt">, scope: SendingScope): string {
    const senders = senderValues(record, scope.identityArns);
    const desired = [record.status, record.rotateRequestedAt ?? null, scope.permissionsBoundaryArn, sendingPolicy(scope.identityArns, scope.configurationSetArns, senders.values), senders.problem ?? null];
    return createHash("sha256").update(JSON.stringify(desired)).digest("base64url");
}

const operatorView = (record: SmtpRecord) => JSON.stringify([[...record.allowedSenders].sort(), record.allowDomainWildcard, record.rotateRequestedAt ?? null, record.reconcileRequestedAt ?? null, record.invalid ?? null]);

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
export function needsAttention(record: SmtpRecord, now: Date, scope: SendingScope): boolean {
    if (record.status === "failed") return record.iamUserName !== undefined;
    if (record.status === "pending" || record.lastError !== undefined || record.outOfSyncSince !== undefined) return true;
    if (record.retiringKey && Date.parse(record.retiringKey.deleteAfter) <= now.getTime()) return true;
    return record.reconciled !== desiredFingerprint(record, scope);
}
