// The SMTP credential lifecycle. Every step that creates something registers its undo, so a
// failure leaves no orphaned IAM user or key behind before the stream retries.
import { deriveSmtpPassword } from "../shared/smtp-password";
import { iamUserName, planAction, SENDING_POLICY_NAME, sendingPolicy, SmtpAction, SmtpRecord, validateUsername } from "./logic";

export interface AccessKey {
    id: string;
    status: "Active" | "Inactive";
}

export interface IamPort {
    userExists(user: string): Promise<boolean>;
    createUser(user: string, path: string, tags: Record<string, string>): Promise<string>;
    putUserPolicy(user: string, name: string, document: string): Promise<void>;
    createAccessKey(user: string): Promise<{ id: string; secret: string }>;
    setAccessKeyStatus(user: string, id: string, status: AccessKey["status"]): Promise<void>;
    deleteAccessKey(user: string, id: string): Promise<void>;
    listAccessKeys(user: string): Promise<AccessKey[]>;
    /** Deletes keys, inline policies and the user; a user already gone is success. */
    deleteUserCompletely(user: string): Promise<void>;
}

export interface CredentialFields {
    iam_user_name: string;
    iam_user_arn: string;
    smtp_username: string;
    encrypted_credentials: string;
}

export interface StorePort {
    /** The record as it is now (consistent read), or undefined if it was deleted. */
    current(username: string): Promise<SmtpRecord | undefined>;
    /** Writes fields only if the record still exists; false if it was deleted meanwhile. */
    update(username: string, fields: Record<string, unknown>, sequence: string): Promise<boolean>;
    /** Counts a failed attempt; returns the count so far. */
    recordFailure(username: string, error: string): Promise<number>;
}

export interface ManagerContext {
    iam: IamPort;
    store: StorePort;
    /** KMS-encrypts with the username as encryption context; base64 ciphertext. */
    encrypt(username: string, plaintext: string): Promise<string>;
    region: string;
    identityArns: string[];
    iamPath: string;
    tags: Record<string, string>;
    /** Attempts before the record is marked failed. */
    maxAttempts: number;
    /** How long a rotated-out key stays (inactive) before it is deleted. */
    rotationOverlapSeconds: number;
    now(): Date;
    metric(name: string): void;
    log(message: string, fields: Record<string, unknown>): void;
}

type Undo = () => Promise<void>;

async function rollback(undo: Undo[], context: ManagerContext, username: string): Promise<void> {
    for (const step of undo.reverse()) {
        try {
            await step();
        } catch (error) {
            context.log("Rollback step failed; the retry will clean up", { username, error: String(error) });
        }
    }
}

async function issueCredentials(context: ManagerContext, username: string, user: string, undo: Undo[]) {
    const key = await context.iam.createAccessKey(user);
    undo.push(() => context.iam.deleteAccessKey(user, key.id));
    const password = deriveSmtpPassword(key.secret, context.region);
    const encrypted = await context.encrypt(username, JSON.stringify({ access_key_id: key.id, smtp_password: password }));
    return { key, encrypted };
}

async function provision(record: SmtpRecord, sequence: string, context: ManagerContext): Promise<void> {
    validateUsername(record.username);
    const undo: Undo[] = [];
    const reuse = record.iamUserName !== undefined && await context.iam.userExists(record.iamUserName);
    const user = reuse ? record.iamUserName! : iamUserName(record.username, Math.floor(context.now().getTime() / 1000));
    try {
        const oldKeys = reuse ? await context.iam.listAccessKeys(user) : [];
        // IAM allows two keys per user: make room for the new one.
        for (const old of oldKeys.slice(1)) await context.iam.deleteAccessKey(user, old.id);
        const arn = reuse ? undefined : await context.iam.createUser(user, context.iamPath, { ...context.tags, SmtpUsername: record.username });
        if (!reuse) undo.push(() => context.iam.deleteUserCompletely(user));
        await context.iam.putUserPolicy(user, SENDING_POLICY_NAME, JSON.stringify(sendingPolicy(context.identityArns, record.allowedSenders)));
        const { key, encrypted } = await issueCredentials(context, record.username, user, undo);
        const fields: Record<string, unknown> = {
            status: "active", smtp_username: key.id, encrypted_credentials: encrypted, iam_user_name: user,
            updated_at: context.now().toISOString(), provision_attempts: 0, error: null,
            ...(arn ? { iam_user_arn: arn } : {}),
        };
        if (!(await context.store.update(record.username, fields, sequence))) {
            await rollback(undo, context, record.username); // deleted while we worked: never resurrect it
            return;
        }
        for (const old of oldKeys.slice(0, 1)) await context.iam.deleteAccessKey(user, old.id);
        context.metric("SMTPCredentialCreated");
        context.log("SMTP credentials issued", { username: record.username, iamUser: user, reused: reuse, action: "provision" });
    } catch (error) {
        await rollback(undo, context, record.username);
        throw error;
    }
}

async function setKeys(record: SmtpRecord, sequence: string, context: ManagerContext, status: AccessKey["status"]): Promise<void> {
    const user = record.iamUserName!;
    const keys = await context.iam.listAccessKeys(user);
    // Enabling restores only the current key; a rotated-out key stays inactive.
    for (const key of keys.filter((k) => status === "Inactive" || k.id === record.smtpUsername)) {
        await context.iam.setAccessKeyStatus(user, key.id, status);
    }
    await context.store.update(record.username, { updated_at: context.now().toISOString() }, sequence);
    context.metric(status === "Inactive" ? "SMTPCredentialDisabled" : "SMTPCredentialEnabled");
}

async function rotate(record: SmtpRecord, sequence: string, context: ManagerContext): Promise<void> {
    const user = record.iamUserName!;
    const undo: Undo[] = [];
    const keys = await context.iam.listAccessKeys(user);
    // A key still retiring from an earlier rotation goes now, to leave room for the new one.
    for (const key of keys.filter((k) => k.id !== record.smtpUsername)) await context.iam.deleteAccessKey(user, key.id);
    try {
        const { key, encrypted } = await issueCredentials(context, record.username, user, undo);
        const deleteAfter = new Date(context.now().getTime() + context.rotationOverlapSeconds * 1000).toISOString();
        const updated = await context.store.update(record.username, {
            smtp_username: key.id, encrypted_credentials: encrypted, rotated_at: record.rotateRequestedAt,
            retiring_key: record.smtpUsername ? { access_key_id: record.smtpUsername, delete_after: deleteAfter } : null,
            updated_at: context.now().toISOString(),
        }, sequence);
        if (!updated) {
            await rollback(undo, context, record.username);
            return;
        }
    } catch (error) {
        await rollback(undo, context, record.username);
        throw error;
    }
    if (record.smtpUsername) await context.iam.setAccessKeyStatus(user, record.smtpUsername, "Inactive");
    context.metric("SMTPCredentialRotated");
}

/** Runs what a stream record asks for. Throws to have the stream retry (after rollback). */
export async function handleChange(eventName: string, sequence: string, before: SmtpRecord | undefined, after: SmtpRecord | undefined, context: ManagerContext): Promise<SmtpAction> {
    const action = planAction(eventName, before, after);
    if (action === "none") return action;
    if (action === "delete") {
        await context.iam.deleteUserCompletely(before!.iamUserName!);
        context.metric("SMTPCredentialDeleted");
        return action;
    }
    const current = await context.store.current(after!.username);
    // Deleted since, or already handled (a redelivered record): nothing to do.
    if (!current || (current.lastSequence !== undefined && BigInt(current.lastSequence) >= BigInt(sequence))) return "none";
    const record = { ...after!, iamUserName: current.iamUserName, smtpUsername: current.smtpUsername };
    try {
        switch (action) {
            case "provision":
                await provision(record, sequence, context);
                break;
            case "disable":
                await setKeys(record, sequence, context, "Inactive");
                break;
            case "enable":
                await setKeys(record, sequence, context, "Active");
                break;
            case "rotate":
                await rotate(record, sequence, context);
                break;
            case "update-policy":
                await context.iam.putUserPolicy(record.iamUserName!, SENDING_POLICY_NAME, JSON.stringify(sendingPolicy(context.identityArns, record.allowedSenders)));
                await context.store.update(record.username, { updated_at: context.now().toISOString() }, sequence);
                break;
        }
        return action;
    } catch (error) {
        const message = (error as Error).message ?? String(error);
        const invalid = (error as Error).name === "InvalidInputError";
        const attempts = await context.store.recordFailure(record.username, message);
        if (invalid || attempts >= context.maxAttempts) {
            await context.store.update(record.username, { status: "failed", error: message, updated_at: context.now().toISOString() }, sequence);
            context.metric("SMTPCredentialFailed");
            context.log("SMTP credential change failed for good", { username: record.username, action, attempts, error: message });
            return action;
        }
        throw error;
    }
}

/** Deletes rotated-out keys whose overlap has ended (run on a schedule). */
export async function sweepRetiringKeys(records: { username: string; iamUserName: string; accessKeyId: string; deleteAfter: string }[], context: ManagerContext & { clearRetiring(username: string): Promise<void> }): Promise<number> {
    let deleted = 0;
    for (const record of records.filter((r) => Date.parse(r.deleteAfter) <= context.now().getTime())) {
        await context.iam.deleteAccessKey(record.iamUserName, record.accessKeyId);
        await context.clearRetiring(record.username);
        deleted += 1;
    }
    return deleted;
}
