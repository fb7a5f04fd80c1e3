import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
    CreateAccessKeyCommand, CreateUserCommand, DeleteAccessKeyCommand, DeleteUserCommand, DeleteUserPolicyCommand, GetUserCommand,
    IAMClient, ListAccessKeysCommand, ListUserPoliciesCommand, NoSuchEntityException, PutUserPolicyCommand, UpdateAccessKeyCommand,
} from "@aws-sdk/client-iam";
import { EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { CREDENTIALS_SORT_KEY, parseSmtpRecord, SMTP_USER_PREFIX, SmtpRecord } from "./logic";
import type { AccessKey, IamPort, StorePort } from "./manager";

const gone = (error: unknown) => error instanceof NoSuchEntityException;

export function iamPort(iam: IAMClient): IamPort {
    const listAccessKeys = async (user: string): Promise<AccessKey[]> => {
        const { AccessKeyMetadata } = await iam.send(new ListAccessKeysCommand({ UserName: user }));
        return (AccessKeyMetadata ?? []).map((k) => ({ id: k.AccessKeyId!, status: k.Status as AccessKey["status"] }));
    };
    return {
        userExists: async (user) => {
            try {
                await iam.send(new GetUserCommand({ UserName: user }));
                return true;
            } catch (error) {
                if (gone(error)) return false;
                throw error;
            }
        },
        createUser: async (user, path, tags) => {
            const { User } = await iam.send(new CreateUserCommand({ UserName: user, Path: path, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
            return User!.Arn!;
        },
        putUserPolicy: async (user, name, document) => {
            await iam.send(new PutUserPolicyCommand({ UserName: user, PolicyName: name, PolicyDocument: document }));
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
            try {
                for (const key of await listAccessKeys(user)) {
                    await iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: key.id }));
                }
                const { PolicyNames } = await iam.send(new ListUserPoliciesCommand({ UserName: user }));
                for (const name of PolicyNames ?? []) {
                    await iam.send(new DeleteUserPolicyCommand({ UserName: user, PolicyName: name }));
                }
                await iam.send(new DeleteUserCommand({ UserName: user }));
            } catch (error) {
                if (!gone(error)) throw error; // already gone is success
            }
        },
    };
}

const key = (username: string) => ({ PK: `${SMTP_USER_PREFIX}${username}`, SK: CREDENTIALS_SORT_KEY });

export function storePort(doc: DynamoDBDocumentClient, tableName: string): StorePort & { retiring(): Promise<{ username: string; iamUserName: string; accessKeyId: string; deleteAfter: string }[]>; clearRetiring(username: string): Promise<void> } {
    return {
        current: async (username) => {
            const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: key(username), ConsistentRead: true }));
            return Item ? parseSmtpRecord(Item) : undefined;
        },
        update: async (username, fields, sequence) => {
            const entries = Object.entries({ ...fields, last_sequence: sequence });
            try {
                await doc.send(new UpdateCommand({
                    TableName: tableName,
                    Key: key(username),
                    UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(", ")}`,
                    ConditionExpression: "attribute_exists(PK)",
                    ExpressionAttributeNames: Object.fromEntries(entries.map(([name], i) => [`#f${i}`, name])),
                    ExpressionAttributeValues: Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
                }));
                return true;
            } catch (error) {
                if (error instanceof ConditionalCheckFailedException) return false;
                throw error;
            }
        },
        recordFailure: async (username, error) => {
            try {
                const { Attributes } = await doc.send(new UpdateCommand({
                    TableName: tableName,
                    Key: key(username),
                    UpdateExpression: "SET provision_attempts = if_not_exists(provision_attempts, :zero) + :one, last_error = :error",
                    ConditionExpression: "attribute_exists(PK)",
                    ExpressionAttributeValues: { ":zero": 0, ":one": 1, ":error": error.slice(0, 1000) },
                    ReturnValues: "UPDATED_NEW",
                }));
                return Number(Attributes?.provision_attempts ?? 1);
            } catch (failure) {
                if (failure instanceof ConditionalCheckFailedException) return Number.MAX_SAFE_INTEGER;
                throw failure;
            }
        },
        retiring: async () => {
            const items: Record<string, unknown>[] = [];
            let start: Record<string, unknown> | undefined;
            do {
                const page = await doc.send(new ScanCommand({
                    TableName: tableName,
                    FilterExpression: "begins_with(PK, :prefix) AND attribute_exists(retiring_key.delete_after)",
                    ExpressionAttributeValues: { ":prefix": SMTP_USER_PREFIX },
                    ExclusiveStartKey: start,
                }));
                items.push(...(page.Items ?? []));
                start = page.LastEvaluatedKey;
            } while (start);
            return items.map((item) => {
                const record: SmtpRecord = parseSmtpRecord(item);
                const retiring = item.retiring_key as { access_key_id: string; delete_after: string };
                return { username: record.username, iamUserName: record.iamUserName!, accessKeyId: retiring.access_key_id, deleteAfter: retiring.delete_after };
            });
        },
        clearRetiring: async (username) => {
            await doc.send(new UpdateCommand({ TableName: tableName, Key: key(username), UpdateExpression: "REMOVE retiring_key" }));
        },
    };
}

export function kmsEncrypt(kms: KMSClient, keyId: string) {
    return async (username: string, plaintext: string): Promise<string> => {
        const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(plaintext, "utf8"), EncryptionContext: { username } }));
        return Buffer.from(CiphertextBlob!).toString("base64");
    };
}

