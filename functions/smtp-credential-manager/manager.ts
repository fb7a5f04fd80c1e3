// The SMTP credential reconciler. Each run compares the record (desired: status, allowed senders,
// rotation request) with IAM (actual: user, policy, key statuses) and applies every difference.
// Every step is idempotent and every IAM object is named in the record before it matters, so a
// failure or a crash between two calls is finished by the next run (stream retry, then the sweep).
import { InvalidInputError } from "../shared/email";
import { deriveSmtpPassword } from "../shared/smtp-password";
import {
    asksForReconcile, desiredFingerprint, iamUserName, needsAttention, recordProblem, rotationRequested, samePolicy, senderValues, SENDING_POLICY_NAME,
    SendingScope, sendingPolicy, SmtpRecord,
} from "./logic";
import { enforceRestrictions, type RestrictionsPort } from "./restrictions";

export interface AccessKey {
    id: string;
    status: "Active" | "Inactive";
}

export interface IamPort {
    /** The user's permissions boundary (undefined: none), or undefined when the user does not exist. */
    getUser(user: string): Promise<{ permissionsBoundaryArn?: string } | undefined>;
    /** Creates the user with the permissions boundary (the manager's role may create no other); returns its ARN. */
    createUser(user: string, path: string, tags: Record<string, string>, permissionsBoundaryArn: string): Promise<string>;
    setPermissionsBoundary(user: string, permissionsBoundaryArn: string): Promise<void>;
    /** The user's inline policy document, or undefined when it has none by that name. */
    getUserPolicy(user: string, name: string): Promise<string | undefined>;
    putUserPolicy(user: string, name: string, document: string): Promise<void>;
    /** A policy or user already gone is success. */
    deleteUserPolicy(user: string, name: string): Promise<void>;
    createAccessKey(user: string): Promise<{ id: string; secret: string }>;
    setAccessKeyStatus(user: string, id: string, status: AccessKey["status"]): Promise<void>;
    /** A key already gone is success. */
    deleteAccessKey(user: string, id: string): Promise<void>;
    listAccessKeys(user: string): Promise<AccessKey[]>;
    /** Deletes keys, inline policies and the user; a user already gone is success. */
    deleteUserCompletely(user: string): Promise<void>;
}

export interface StorePort {
    /** The record as it is now (consistent read), or undefined if it was deleted. */
    current(username: string): Promise<SmtpRecord | undefined>;
    /**
     * Sets fields (null removes one) only if the record still exists and each `expect` attribute
     * equals its value (undefined: absent); false otherwise.
     */
    update(username: string, fields: Record<string, unknown>, expect?: Record<string, unknown>): Promise<boolean>;
    /** Records a failed attempt (`last_error`, `last_attempt_at`); counts it when `count`; returns the count. */
    recordFailure(username: string, error: string, at: string, count: boolean): Promise<number>;
    /** Every SMTP record (consistent). */
    all(): Promise<SmtpRecord[]>;
    /** Notes an IAM user name before the user is created, so the sweep finds it even after its record is gone. */
    registerUser(username: string, iamUser: string, at: string): Promise<void>;
    registeredUsers(): Promise<{ username: string; iamUser: string; registeredAt: string }[]>;
    unregisterUser(username: string, iamUser: string): Promise<void>;
    /** Asks for a reconcile through the stream (`reconcile_requested_at`), marking the record out of sync. */
    touch(username: string, at: string): Promise<void>;
}

export interface ManagerContext extends SendingScope {
    iam: IamPort;
    store: StorePort;
    /** KMS-encrypts with the username as encryption context; base64 ciphertext. */
    encrypt(username: string, plaintext: string): Promise<string>;
    region: string;
    iamPath: string;
    tags: Record<string, string>;
    /** Non-retryable failures before a user that was never provisioned is marked failed. */
    maxAttempts: number;
    /** How long a rotated-out key stays Active next to the new one. */
    rotationOverlapSeconds: number;
    /** A record out of sync for longer than this counts as stuck (SMTPCredentialsStuck). */
    stuckAfterSeconds: number;
    now(): Date;
    metric(name: string, value?: number): void;
    log(message: string, fields: Record<string, unknown>): void;
    /** FeedbackPipeline's sender reputation, when given: the sweep disables users of restricted senders. */
    restrictions?: RestrictionsPort;
}

const RETRYABLE = new Set(["Throttling", "ThrottlingException", "ServiceFailure", "ServiceFailureException", "ServiceUnavailable", "ServiceUnavailableException",
    "RequestLimitExceeded", "TooManyRequestsException", "InternalFailure", "InternalError", "TimeoutError", "ConcurrentModification", "ConcurrentModificationException",
    "ProvisionedThroughputExceededException", "KMSInternalException", "DependencyTimeoutException"]);

/** Throttling, 5xx and timeouts: retried without counting against the user. Everything else counts. */
export function isRetryable(error: unknown): boolean {
    const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
    return RETRYABLE.has(e?.name ?? "") || Boolean(e?.$retryable) || (e?.$metadata?.httpStatusCode ?? 0) >= 500;
}

/**
 * PutUserPolicy is authorized on the boundary the user carries, and IAM is eventually consistent
 * ("Changes that I make are not always immediately visible", IAM troubleshooting): right after
 * CreateUser or PutUserPermissionsBoundary it may still see none and deny. That denial is retried
 * (stream, then sweep) without counting against the user.
 */
function boundaryNotVisibleYet(error: unknown): unknown {
    const name = (error as { name?: string })?.name;
    if (name !== "AccessDenied" && name !== "AccessDeniedException") return error;
    return Object.assign(new Error(`PutUserPolicy was denied right after the permissions boundary was set (IAM not consistent yet); retried: ${(error as Error).message}`), {
        name: "BoundaryNotVisibleYet", $retryable: {},
    });
}

async function markFailed(record: SmtpRecord, message: string, context: ManagerContext): Promise<void> {
    let cleared: Record<string, null> = {};
    if (record.iamUserName) {
        try {
            await context.iam.deleteUserCompletely(record.iamUserName);
            cleared = { iam_user_name: null, iam_user_arn: null, smtp_username: null, encrypted_credentials: null, retiring_key: null };
        } catch (error) {
            context.log("Cleanup of a failed SMTP user failed; the sweep retries", { username: record.username, error: String(error) });
        }
    }
    await context.store.update(record.username, { status: "failed", error: message, last_error: message, updated_at: context.now().toISOString(), ...cleared });
    context.metric("SMTPCredentialFailed");
    context.log("SMTP user can never be provisioned", { username: record.username, action: "failed", error: message });
}

/** Makes IAM match the record. Returns the steps it took ([] when IAM already matched). */
export async function reconcile(record: SmtpRecord, context: ManagerContext): Promise<string[]> {
    const { iam, store } = context;
    const steps: string[] = [];
    const step = (name: string) => { if (!steps.includes(name)) steps.push(name); };
    const now = context.now();

    if (record.status === "failed") {
        // Final: nothing of it stays in IAM.
        if (record.iamUserName) {
            await iam.deleteUserCompletely(record.iamUserName);
            await store.update(record.username, { iam_user_name: null, iam_user_arn: null, smtp_username: null, encrypted_credentials: null, retiring_key: null });
            step("delete-user");
        }
        return steps;
    }
    const senders = senderValues(record, context.identityArns);
    const problem = recordProblem(record) ?? senders.problem;
    if (problem && !record.smtpUsername) {
        await markFailed(record, problem, context);
        return ["refuse"];
    }
    if (problem) {
        // A provisioned user sends nothing while its record is unacceptable: the policy it has may
        // allow the very senders refused now (a wildcard from before they were validated).
        if (record.iamUserName && (await iam.getUserPolicy(record.iamUserName, SENDING_POLICY_NAME)) !== undefined) {
            await iam.deleteUserPolicy(record.iamUserName, SENDING_POLICY_NAME);
        }
        throw new InvalidInputError(problem);
    }

    const needsCredentials = record.status === "pending" || (record.status === "active" && !record.smtpUsername);
    let user = record.iamUserName;
    if (!user) {
        if (!needsCredentials) return finish(record, record.status, steps, context); // disabled before it was ever provisioned
        user = iamUserName(record.username, Math.floor(now.getTime() / 1000));
        // Registered and named in the record before it exists: a crash, or a deletion of the record
        // whose clean-up runs out of retries, leaves no user the sweep cannot find.
        await store.registerUser(record.username, user, now.toISOString());
        if (!(await store.update(record.username, { iam_user_name: user }, { iam_user_name: undefined }))) return steps;
    }
    let fresh = needsCredentials;
    let boundaryJustSet = false;
    const found = await iam.getUser(user);
    if (!found) {
        const arn = await iam.createUser(user, context.iamPath, { ...context.tags, SmtpUsername: record.username }, context.permissionsBoundaryArn);
        await store.update(record.username, { iam_user_arn: arn });
        step("create-user");
        boundaryJustSet = true;
        fresh = true; // a user that vanished lost its keys too
    } else if (found.permissionsBoundaryArn !== context.permissionsBoundaryArn) {
        // A user from before the boundary (or given another one): the role may change its policy
        // only once it carries this stack's boundary.
        await iam.setPermissionsBoundary(user, context.permissionsBoundaryArn);
        step("set-boundary");
        boundaryJustSet = true;
    }
    const policy = JSON.stringify(sendingPolicy(context.identityArns, context.configurationSetArns, senders.values));
    if (!samePolicy(await iam.getUserPolicy(user, SENDING_POLICY_NAME), policy)) {
        await iam.putUserPolicy(user, SENDING_POLICY_NAME, policy).catch((error: unknown) => {
            throw boundaryJustSet ? boundaryNotVisibleYet(error) : error;
        });
        step("update-policy");
    }

    // Keys the record does not name (created by a run that crashed before recording them) go.
    let keys = await iam.listAccessKeys(user);
    const named = new Set([record.smtpUsername, record.retiringKey?.accessKeyId].filter((id) => id !== undefined));
    for (const key of keys.filter((k) => !named.has(k.id))) {
        await iam.deleteAccessKey(user, key.id);
        step("delete-unknown-key");
    }
    keys = keys.filter((k) => named.has(k.id));
    const rotate = !fresh && rotationRequested(record);
    const retiring = record.retiringKey;
    // After its overlap a rotated-out key is deactivated, then deleted. IAM allows two keys per
    // user, so a new key also cuts short the overlap of an earlier rotation.
    if (retiring && (Date.parse(retiring.deleteAfter) <= now.getTime() || ((fresh || rotate) && keys.length >= 2) || !keys.some((k) => k.id === retiring.accessKeyId))) {
        const key = keys.find((k) => k.id === retiring.accessKeyId);
        if (key?.status === "Active") await iam.setAccessKeyStatus(user, key.id, "Inactive");
        if (key) await iam.deleteAccessKey(user, key.id);
        await store.update(record.username, { retiring_key: null });
        keys = keys.filter((k) => k.id !== retiring.accessKeyId);
        step("retire-old-key");
    }

    let status = record.status;
    if (fresh || rotate) {
        const key = await iam.createAccessKey(user);
        if (status === "disabled") await iam.setAccessKeyStatus(user, key.id, "Inactive"); // a disabled user's new key never authenticates
        const password = deriveSmtpPassword(key.secret, context.region);
        const encrypted = await context.encrypt(record.username, JSON.stringify({ access_key_id: key.id, smtp_password: password }));
        const previous = record.smtpUsername !== undefined && keys.some((k) => k.id === record.smtpUsername) ? record.smtpUsername : undefined;
        const common = { smtp_username: key.id, encrypted_credentials: encrypted, rotated_at: record.rotateRequestedAt ?? null, updated_at: now.toISOString() };
        const fields = fresh
            ? { ...common, ...(status === "pending" ? { status: "active" } : {}), retiring_key: null, error: null }
            : { ...common, retiring_key: previous ? { access_key_id: previous, delete_after: new Date(now.getTime() + context.rotationOverlapSeconds * 1000).toISOString() } : null };
        // Only over the state this run read: an operator's edit meanwhile gets its own run.
        const stored = await store.update(record.username, fields, { status: record.status, smtp_username: record.smtpUsername, rotate_requested_at: record.rotateRequestedAt });
        if (!stored) {
            await iam.deleteAccessKey(user, key.id);
            return steps;
        }
        if (fresh && previous) await iam.deleteAccessKey(user, previous);
        if (status === "pending") status = "active";
        step(fresh ? "provision" : "rotate");
        context.metric(fresh ? "SMTPCredentialCreated" : "SMTPCredentialRotated");
    }

    // Every key the user has (the current one, and a rotated-out one within its overlap) follows the status.
    const desired: AccessKey["status"] = status === "disabled" ? "Inactive" : "Active";
    for (const key of await iam.listAccessKeys(user)) {
        if (key.status === desired) continue;
        await iam.setAccessKeyStatus(user, key.id, desired);
        if (!steps.includes(desired === "Inactive" ? "disable" : "enable")) context.metric(desired === "Inactive" ? "SMTPCredentialDisabled" : "SMTPCredentialEnabled");
        step(desired === "Inactive" ? "disable" : "enable");
    }
    return finish(record, status, steps, context);
}

/** Marks the record in sync (and clears the errors) — written only when something changed. */
async function finish(record: SmtpRecord, status: SmtpRecord["status"], steps: string[], context: ManagerContext): Promise<string[]> {
    const fingerprint = desiredFingerprint({ ...record, status }, context);
    if (steps.length || record.reconciled !== fingerprint || record.lastError !== undefined || record.provisionAttempts || record.outOfSyncSince !== undefined) {
        await context.store.update(record.username, { reconciled: fingerprint, last_error: null, provision_attempts: null, out_of_sync_since: null, updated_at: context.now().toISOString() });
    }
    if (steps.length) context.log("SMTP user reconciled", { username: record.username, action: steps.join(","), iamUser: record.iamUserName });
    return steps;
}

/**
 * Handles one stream record: reconciles the item as it is now. A failure is recorded on the item
 * (`last_error`, the attempt) and thrown, so the stream retries and then the sweep; only a user
 * that was never provisioned is marked failed, on input it can never accept or after `maxAttempts`
 * non-retryable failures.
 */
export async function handleChange(eventName: string, before: SmtpRecord | undefined, after: SmtpRecord | undefined, context: ManagerContext): Promise<string[]> {
    if (!asksForReconcile(eventName, before, after)) return [];
    if (eventName === "REMOVE") {
        try {
            await context.iam.deleteUserCompletely(before!.iamUserName!);
            await context.store.unregisterUser(before!.username, before!.iamUserName!);
        } catch (error) {
            // Retried by the stream; after that the sweep deletes the registered user.
            context.metric("SMTPCredentialReconcileFailed");
            throw error;
        }
        context.metric("SMTPCredentialDeleted");
        return ["delete"];
    }
    const username = after!.username;
    if (before?.status === "failed" && after!.status === "pending") {
        // Re-submitted: start over.
        await context.store.update(username, { provision_attempts: null, last_error: null, error: null });
    }
    const current = await context.store.current(username);
    if (!current) return []; // deleted since: the REMOVE record follows
    try {
        return await reconcile(current, context);
    } catch (error) {
        const message = (error as Error)?.message ?? String(error);
        const retryable = isRetryable(error);
        context.metric("SMTPCredentialReconcileFailed");
        const attempts = await context.store.recordFailure(username, message, context.now().toISOString(), !retryable);
        const neverProvisioned = !current.smtpUsername && (current.status === "pending" || current.status === "active");
        context.log("SMTP user not reconciled; retried by the stream, then the sweep", { username, action: "reconcile", attempts, retryable, error: message });
        if (neverProvisioned && !retryable && attempts >= context.maxAttempts) {
            await markFailed({ ...current, iamUserName: (await context.store.current(username))?.iamUserName ?? current.iamUserName }, message, context);
            return ["failed"];
        }
        throw error;
    }
}

/** A registered user no record names is deleted only after this long: its record may be about to name it. */
export const REGISTRATION_GRACE_SECONDS = 900;

/**
 * The periodic sweep: deletes registered users that no record names (a record deleted while its
 * clean-up failed, a provisioning that crashed), asks the stream to reconcile every record that may
 * differ from IAM (a failure, a crash, an overlap that ended), and publishes how many have been out
 * of sync longer than `stuckAfterSeconds`. IAM changes for a record happen only in its stream run,
 * one at a time; the sweep only touches the record.
 */
export async function sweep(context: ManagerContext): Promise<{ touched: number; stuck: number; orphansDeleted: number; disabledForRestrictedSenders?: number }> {
    const now = context.now();
    const registered = await context.store.registeredUsers();
    const records = await context.store.all();
    const named = new Set(records.map((r) => r.iamUserName));
    let orphansDeleted = 0;
    let orphanFailures = 0;
    for (const entry of registered.filter((e) => !named.has(e.iamUser) && now.getTime() - Date.parse(e.registeredAt) >= REGISTRATION_GRACE_SECONDS * 1000)) {
        // One orphan that cannot be deleted must not stop the sweep (nor silence the stuck count).
        try {
            await context.iam.deleteUserCompletely(entry.iamUser);
            await context.store.unregisterUser(entry.username, entry.iamUser);
            orphansDeleted += 1;
        } catch (error) {
            orphanFailures += 1;
            context.log("Orphaned SMTP IAM user not deleted; the next sweep tries again", { username: entry.username, iamUser: entry.iamUser, error: String(error) });
        }
    }
    let touched = 0;
    let stuck = 0;
    for (const record of records.filter((r) => needsAttention(r, now, context))) {
        if (record.status !== "failed" && record.outOfSyncSince && now.getTime() - Date.parse(record.outOfSyncSince) > context.stuckAfterSeconds * 1000) stuck += 1;
        await context.store.touch(record.username, now.toISOString());
        touched += 1;
    }
    // Users of restricted senders: a notification that never arrived, or a user enabled again while its sender is restricted.
    let disabledForRestrictedSenders: number | undefined;
    if (context.restrictions) {
        try {
            const restricted = await context.restrictions.restrictedSenders();
            disabledForRestrictedSenders = restricted.length ? (await enforceRestrictions(restricted, context.restrictions, context, records)).disabled.length : 0;
        } catch (error) {
            context.metric("SMTPCredentialReconcileFailed");
            context.log("Restricted senders not enforced; the next sweep tries again", { action: "disable-restricted-sender", error: String(error) });
        }
    }
    context.metric("SMTPCredentialsStuck", stuck);
    if (orphansDeleted) context.metric("SMTPCredentialOrphansDeleted", orphansDeleted);
    // Counted with reconcile failures: the failures alarm pages on it.
    if (orphanFailures) context.metric("SMTPCredentialReconcileFailed", orphanFailures);
    return { touched, stuck, orphansDeleted, ...(disabledForRestrictedSenders === undefined ? {} : { disabledForRestrictedSenders }) };
}
