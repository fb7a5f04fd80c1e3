import type { AddressInfo } from "node:net";
import { CreateTableCommand, CreateTableCommandInput, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import type { RecordedResource } from "./mocks";

export interface LocalDynamo {
    client: DynamoDBClient;
    endpoint: string;
    close(): Promise<void>;
}

/** Starts dynalite (in memory) on a free loopback port. */
export async function startDynalite(): Promise<LocalDynamo> {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new DynamoDBClient({
        endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
        maxAttempts: 1,
    });
    return {
        client,
        endpoint,
        close: () => new Promise<void>((resolve) => {
            client.destroy();
            server.close(() => resolve());
        }),
    };
}

type KeySchema = { attributeName: string; keyType: "HASH" | "RANGE" }[];

function keySchema(spec: { hashKey?: string; rangeKey?: string; keySchemas?: KeySchema }) {
    const keys: KeySchema = spec.keySchemas ?? [
        ...(spec.hashKey ? [{ attributeName: spec.hashKey, keyType: "HASH" as const }] : []),
        ...(spec.rangeKey ? [{ attributeName: spec.rangeKey, keyType: "RANGE" as const }] : []),
    ];
    return keys.map((k) => ({ AttributeName: k.attributeName, KeyType: k.keyType }));
}

/**
 * The CreateTable request equivalent to an `aws.dynamodb.Table` a component registered, so local
 * tests use the deployed schema itself rather than a copy typed by hand.
 */
export function createTableInput(table: RecordedResource): CreateTableCommandInput {
    if (table.type !== "aws:dynamodb/table:Table") {
        throw new Error(`${table.name} is a ${table.type}, not a DynamoDB table`);
    }
    const inputs = table.inputs;
    const gsis: any[] = inputs.globalSecondaryIndexes ?? [];
    return {
        TableName: inputs.name,
        BillingMode: inputs.billingMode,
        AttributeDefinitions: inputs.attributes.map((a: { name: string; type: "S" | "N" | "B" }) => ({ AttributeName: a.name, AttributeType: a.type })),
        KeySchema: keySchema(inputs),
        GlobalSecondaryIndexes: gsis.length === 0 ? undefined : gsis.map((g) => ({
            IndexName: g.name,
            KeySchema: keySchema(g),
            Projection: { ProjectionType: g.projectionType, NonKeyAttributes: g.nonKeyAttributes },
        })),
    };
}

export async function createTableFrom(local: LocalDynamo, table: RecordedResource): Promise<string> {
    const input = createTableInput(table);
    await local.client.send(new CreateTableCommand(input));
    return input.TableName!;
}
