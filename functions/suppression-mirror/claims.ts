// The mirror's claims: which entries of SES's account-level list this stack put, in a table of its own.
import { ConditionalCheckFailedException, type DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { MirrorPorts } from "./logic";

/** Claim items: `email` → `last_updated`, the entry's `LastUpdateTime` (ISO) right after this stack's put. */
export function claimStore(tableName: string, client: DynamoDBClient): Pick<MirrorPorts, "claim" | "saveClaim" | "dropClaim"> {
    const doc = DynamoDBDocumentClient.from(client);
    return {
        claim: async (email) => {
            const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: { email }, ConsistentRead: true }));
            return Item?.last_updated as string | undefined;
        },
        saveClaim: async (email, lastUpdated) => {
            try {
                // ISO timestamps of one format order as strings: a later claim is never replaced by an earlier one.
                await doc.send(new PutCommand({
                    TableName: tableName,
                    Item: { email, last_updated: lastUpdated },
                    ConditionExpression: "attribute_not_exists(email) OR last_updated < :at",
                    ExpressionAttributeValues: { ":at": lastUpdated },
                }));
            } catch (error) {
                if (!(error instanceof ConditionalCheckFailedException)) throw error;
            }
        },
        dropClaim: async (email) => {
            await doc.send(new DeleteCommand({ TableName: tableName, Key: { email } }));
        },
    };
}
