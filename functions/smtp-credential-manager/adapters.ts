import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
    CreateAccessKeyCommand, CreateUserCommand, DeleteAccessKeyCommand, DeleteUserCommand, DeleteUserPolicyCommand, GetUserCommand, GetUserPolicyCommand,
    IAMClient, ListAccessKeysCommand, ListUserPoliciesCommand, NoSuchEntityException, PutUserPermissionsBoundaryCommand, PutUserPolicyCommand,
    UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { CREDENTIALS_SORT_KEY, IAM_USER_SORT_KEY_PREFIX, parseSmtpRecord, SMTP_USER_PREFIX } from "./logic";
import type { AccessKey, IamPort, StorePort } from "./manager";
import type { RestrictionsPort } from "./restrictions";
import { SenderReputation } from "../shared/sender-reputation";

const gone = (error: unknown) => error instanceof NoSuchEntityException;

export function iamPort(iam: IAMClient): IamPort {
    const listAccessKeys = async (user: string): Promise<AccessKey[]> => {
        const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName: user }));
        return (AccessKeyMetadata ?? []).map((k) => ({ id: k.AccessKeyId!, status: k.Status as AccessKey["status"] }));
    };
    return {
        getUser: async (user) => {
            try {
                // GetUser returns the permissions boundary; ListUsers leaves it out.
                const { User } = await iam.send(new GetUserCommand({ UserName: user }));
                return { permissionsBoundaryArn: User?.PermissionsBoundary?.PermissionsBoundaryArn };
            } catch (error) {
                if (gone(error)) return undefined;
                throw error;
            }
        },
        createUser: async (user, path, tags, permissionsBoundaryArn) => {
            const { User } = await iam.send(new CreateUserCommand({
                UserName: user, Path: path, PermissionsBoundary: permissionsBoundaryArn, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
            }));
            return User!.Arn!;
        },
        setPermissionsBoundary: async (user, permissionsBoundaryArn) => {
            await iam.send(new PutUserPermissionsBoundaryCommand({ UserName: user, PermissionsBoundary: permissionsBoundaryArn }));
        },
        getUserPolicy: async (user, name) => {
            try {
                const { PolicyDocument } = await iam.send(new GetUserPolicyCommand({ UserName: user, PolicyName: name }));
                // IAM returns the document URL-encoded (RFC 3986).
                return PolicyDocument === undefined ? undefined : decodeURIComponent(PolicyDocument);
            } catch (error) {
                if (gone(error)) return undefined;
                throw error;
            }
        },
        putUserPolicy: async (user, name, document) => {
            await iam.send(new PutUserPolicyCommand({ UserName: user, PolicyName: name, PolicyDocument: document }));
        },
        deleteUserPolicy: async (user, name) => {
            try {
                await iam.send(new DeleteUserPolicyCommand({ UserName: user, PolicyName: name }));
            } catch (error) {
                if (!gone(error)) throw error;
            }
        },
        createAccessKey: async (user) => {
            const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: user }));
            return { id: AccessKey!.AccessKeyId!, secret: AccessKey!.SecretAccessKey! };
        },
        setAccessKeyStatus: async (user, id, status) => {
            await iam.send(new UpdateAccessKeyCommand({ UserName: user, AccessKeyId: id, Status: status }));
        },
        deleteAccessKey: async (user, id) => {
            try {
                await iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: id }));
            } catch (error) {
                if (!gone(error)) throw error;
            }
        },
        listAccessKeys,
        deleteUserCompletely: async (user) => {
            // Each step tolerates what is already gone, so a repeated or concurrent deletion finishes.
            const ignoreGone = async (call: () => Promise<unknown>) => {
                try {
                    await call();
                } catch (error) {
                    if (!gone(error)) throw error;
                }
            };
            let keys: AccessKey[];
            try {
                keys = await listAccessKeys(user);
            } catch (error) {
                if (gone(error)) return; // already gone is success
                throw error;
            }
            for (const key of keys) await ignoreGone(() => iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: key.id })));
            let policies: string[] = [];
            await ignoreGone(async () => { policies = (await iam.send(new ListUserPoliciesCommand({ UserName: user }))).PolicyNames ?? []; });
            for (const name of policies) await ignoreGone(() => iam.send(new DeleteUserPolicyCommand({ UserName: user, PolicyName: name })));
            await ignoreGone(() => iam.send(new DeleteUserCommand({ UserName: user })));
        },
    };
}

const key = (username: string) => ({ PK: `${SMTP_USER_PREFIX}${username}`, SK: CREDENTIALS_SORT_KEY });

export function storePort(doc: DynamoDBDocumentClient, tableName: string): StorePort {
    const update: StorePort["update"] = async (username, fields, expect = {}) => {
        const set = Object.entries(fields).filter(([, value]) => value !== null && value !== undefined);
        const remove = Object.entries(fields).filter(([, value]) => value === null).map(([name]) => name);
        const conditions = Object.entries(expect);
        const names: Record<string, string> = {};
        const values: Record<string, unknown> = {};
        set.forEach(([name, value], i) => { names[`#f${i}`] = name; values[`:v${i}`] = value; });
        remove.forEach((name, i) => { names[`#r${i}`] = name; });
        conditions.forEach(([name, value], i) => { names[`#c${i}`] = name; if (value !== undefined) values[`:c${i}`] = value; });
        const expression = [
            set.length ? `SET ${set.map((_, i) => `#f${i} = :v${i}`).join(", ")}` : "",
            remove.length ? `REMOVE ${remove.map((_, i) => `#r${i}`).join(", ")}` : "",
        ].filter(Boolean).join(" ");
        try {
            await doc.send(new UpdateCommand({
                TableName: tableName,
                Key: key(username),
                UpdateExpression: expression,
                ConditionExpression: ["attribute_exists(PK)", ...conditions.map(([, value], i) => (value === undefined ? `attribute_not_exists(#c${i})` : `#c${i} = :c${i}`))].join(" AND "),
                ExpressionAttributeNames: names,
                ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
            }));
            return true;
        } catch (error) {
            if (error instanceof ConditionalCheckFailedException) return false;
            throw error;
        }
    };
    return {
        current: async (username) => {
            const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: key(username), ConsistentRead: true }));
            return Item ? parseSmtpRecord(Item) : undefined;
        },
        update,
        recordFailure: async (username, error, at, count) => {
            try {
                const { Attributes } = await doc.send(new UpdateCommand({
                    TableName: tableName,
                    Key: key(username),
                    UpdateExpression: "SET provision_attempts = if_not_exists(provision_attempts, :zero) + :count, last_error = :error, last_attempt_at = :at, out_of_sync_since = if_not_exists(out_of_sync_since, :at)",
                    ConditionExpression: "attribute_exists(PK)",
                    ExpressionAttributeValues: { ":zero": 0, ":count": count ? 1 : 0, ":error": error.slice(0, 1000), ":at": at },
                    ReturnValues: "UPDATED_NEW",
                }));
                return Number(Attributes?.provision_attempts ?? 0);
            } catch (failure) {
                if (failure instanceof ConditionalCheckFailedException) return 0;
                throw failure;
            }
        },
        all: async () => {
            const items: Record<string, unknown>[] = [];
            let start: Record<string, unknown> | undefined;
            do {
                const page = await doc.send(new ScanCommand({
                    TableName: tableName,
                    FilterExpression: "begins_with(PK, :prefix) AND SK = :sk",
                    ExpressionAttributeValues: { ":prefix": SMTP_USER_PREFIX, ":sk": CREDENTIALS_SORT_KEY },
                    ConsistentRead: true,
                    ExclusiveStartKey: start,
                }));
                items.push(...(page.Items ?? []));
                start = page.LastEvaluatedKey;
            } while (start);
            return items.map(parseSmtpRecord);
        },
        registerUser: async (username, iamUser, at) => {
            await doc.send(new PutCommand({ TableName: tableName, Item: { PK: `${SMTP_USER_PREFIX}${username}`, SK: `${IAM_USER_SORT_KEY_PREFIX}${iamUser}`, entity_type: "SMTP_IAM_USER", iam_user_name: iamUser, registered_at: at } }));
        },
        registeredUsers: async () => {
            const entries: { username: string; iamUser: string; registeredAt: string }[] = [];
            let start: Record<string, unknown> | undefined;
            do {
                const page = await doc.send(new ScanCommand({
                    TableName: tableName,
                    FilterExpression: "begins_with(PK, :prefix) AND begins_with(SK, :sk)",
                    ExpressionAttributeValues: { ":prefix": SMTP_USER_PREFIX, ":sk": IAM_USER_SORT_KEY_PREFIX },
                    ConsistentRead: true,
                    ExclusiveStartKey: start,
                }));
                for (const item of page.Items ?? []) {
                    entries.push({ username: String(item.PK).slice(SMTP_USER_PREFIX.length), iamUser: String(item.iam_user_name), registeredAt: String(item.registered_at) });
                }
                start = page.LastEvaluatedKey;
            } while (start);
            return entries;
        },
        unregisterUser: async (username, iamUser) => {
            await doc.send(new DeleteCommand({ TableName: tableName, Key: { PK: `${SMTP_USER_PREFIX}${username}`, SK: `${IAM_USER_SORT_KEY_PREFIX}${iamUser}` } }));
        },
        touch: async (username, at) => {
            try {
                await doc.send(new UpdateCommand({
                    TableName: tableName,
                    Key: key(username),
                    UpdateExpression: "SET reconcile_requested_at = :at, out_of_sync_since = if_not_exists(out_of_sync_since, :at)",
                    ConditionExpression: "attribute_exists(PK)",
                    ExpressionAttributeValues: { ":at": at },
                }));
            } catch (error) {
                if (!(error instanceof ConditionalCheckFailedException)) throw error;
            }
        },
    };
}

/**
 * FeedbackPipeline's senders table, read-only: a consistent GetItem of a sender's state item, and
 * the restricted senders by its state index (what SmtpCredentials' policy for the manager allows).
 */
export function restrictionsPort(client: DynamoDBClient, sendersTableName: string): RestrictionsPort {
    const doc = DynamoDBDocumentClient.from(client);
    const reputation = new SenderReputation({ tableName: sendersTableName, client });
    return {
        restriction: async (sender) => {
            const { Item } = await doc.send(new GetCommand({
                TableName: sendersTableName, Key: { pk: `SENDER#${sender.trim().toLowerCase()}`, sk: "STATE" }, ConsistentRead: true,
                ProjectionExpression: "#state, last_transition", ExpressionAttributeNames: { "#state": "state" },
            }));
            if (Item?.state !== "restricted") return undefined;
            const last = (Item.last_transition ?? {}) as { at?: string; actor?: string; reason?: string };
            return { at: last.at, actor: last.actor, reason: last.reason };
        },
        restrictedSenders: async () => (await reputation.listByState("restricted")).map((listed) => listed.sender),
    };
}

export function kmsEncrypt(kms: KMSClient, keyId: string) {
    return async (username: string, plaintext: string): Promise<string> => {
        const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(plaintext, "utf8"), EncryptionContext: { username } }));
        return Buffer.from(CiphertextBlob!).toString("base64");
    };
}

