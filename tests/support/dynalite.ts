import { spawn } from "node:child_process";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { CreateTableCommand, CreateTableCommandInput, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import type { RecordedResource } from "./mocks";

export interface LocalDynamo {
    client: DynamoDBClient;
    endpoint: string;
    close(): Promise<void>;
}

function localClient(endpoint: string): DynamoDBClient {
    return new DynamoDBClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
}

/** Starts dynalite (in memory) in this process on a free loopback port. */
export async function startDynalite(): Promise<LocalDynamo> {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = localClient(endpoint);
    return {
        client,
        endpoint,
        close: () => new Promise<void>((resolve) => {
            client.destroy();
            server.close(() => resolve());
        }),
    };
}

/**
 * Starts dynalite in a child process, so that a benchmark's client and the database do not share
 * one event loop (closer to a real network service). Stops with the returned close().
 */
export async function startDynaliteProcess(): Promise<LocalDynamo> {
    const cli = path.join(path.dirname(require.resolve("dynalite")), "cli.js");
    const child = spawn(process.execPath, [cli, "--port", "0", "--host", "127.0.0.1", "--createTableMs", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    const port = await new Promise<number>((resolve, reject) => {
        child.once("error", reject);
        child.once("exit", (code) => reject(new Error(`dynalite exited with ${code}`)));
        child.stdout.on("data", (chunk: Buffer) => {
            const match = /:(\d+)\s*$/m.exec(chunk.toString());
            if (match) resolve(Number(match[1]));
        });
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const client = localClient(endpoint);
    return {
        client,
        endpoint,
        close: async () => {
            client.destroy();
            child.removeAllListeners("exit");
            child.kill();
        },
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
