// DynamoDB whose global secondary indexes lag behind the table, as DynamoDB's do and dynalite's do
// not: an HTTP proxy in front of dynalite that hides, from every Query or Scan on an index, the items
// written less than a propagation delay ago.
//
// The model ("Read consistency" and "Using Global Secondary Indexes in DynamoDB", developer guide):
// "all reads from GSIs ... are eventually consistent"; a write is propagated to the index
// asynchronously, "usually within a fraction of a second" but possibly longer ("Why don't my table
// items appear in my GSI?", AWS re:Post knowledge center: "within 1 second", longer under load).
// Each write draws its own delay; until it has passed, the item is missing from index reads (for an
// update of an item already indexed DynamoDB would show the old version; hiding it is the stricter
// choice, and the one the feedback worker meets when a new record enters a sparse index). Table
// reads (GetItem, Query/Scan without IndexName) are untouched: they may be strongly consistent.
import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { readBody } from "./fake-google";

export interface DelayedIndexOptions {
    /** Milliseconds before a write shows in the table's indexes; drawn per write. */
    delayMs: () => number;
    /** Clock of the delay (epoch ms). @default Date.now */
    now?: () => number;
}

/** The delay model above: 90% of writes within 0-1 s, the rest within 1-5 s. */
export function propagationDelay(random: () => number): () => number {
    return () => (random() < 0.9 ? random() * 1000 : 1000 + random() * 4000);
}

type AttributeMap = Record<string, unknown>;

interface Forwarded {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
}

function forward(upstream: URL, request: IncomingMessage, body: Buffer): Promise<Forwarded> {
    const headers = { ...request.headers, host: upstream.host, "content-length": String(body.length) };
    delete headers["transfer-encoding"];
    return new Promise((resolve, reject) => {
        const outgoing = httpRequest({ host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers }, (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
            response.on("error", reject);
        });
        outgoing.on("error", reject);
        outgoing.end(body);
    });
}

function reply(response: ServerResponse, forwarded: Forwarded): void {
    const headers: Forwarded["headers"] = { ...forwarded.headers, "content-length": String(forwarded.body.length) };
    delete headers["transfer-encoding"];
    response.writeHead(forwarded.status, headers as Record<string, string>);
    response.end(forwarded.body);
}

export class DelayedIndexDynamo {
    /** Items left out of index reads because their last write had not propagated yet. */
    public hidden = 0;
    private readonly visibleAt = new Map<string, number>();
    private readonly keySchemas = new Map<string, Promise<string[]>>();
    private readonly describe: DynamoDBClient;

    private constructor(private readonly server: Server, public readonly endpoint: string, private readonly upstream: URL, private readonly options: DelayedIndexOptions) {
        this.describe = new DynamoDBClient({ endpoint: upstream.origin, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } });
    }

    /** Listens on 127.0.0.1 in front of `upstreamEndpoint` (dynalite). */
    public static async start(upstreamEndpoint: string, options: DelayedIndexOptions): Promise<DelayedIndexDynamo> {
        const holder: { proxy?: DelayedIndexDynamo } = {};
        const server = createServer((request, response) => {
            holder.proxy!.handle(request, response).catch((error) => {
                const body = Buffer.from(JSON.stringify({ __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message: String(error) }));
                response.writeHead(500, { "content-type": "application/x-amz-json-1.0", "content-length": String(body.length) });
                response.end(body);
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        holder.proxy = new DelayedIndexDynamo(server, endpoint, new URL(upstreamEndpoint), options);
        return holder.proxy;
    }

    public close(): Promise<void> {
        this.describe.destroy();
        this.server.closeAllConnections();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }

    private now(): number {
        return (this.options.now ?? Date.now)();
    }

    private keyAttributes(table: string): Promise<string[]> {
        let schema = this.keySchemas.get(table);
        if (!schema) {
            schema = this.describe.send(new DescribeTableCommand({ TableName: table })).then((d) => (d.Table?.KeySchema ?? []).map((k) => k.AttributeName!));
            this.keySchemas.set(table, schema);
        }
        return schema;
    }

    private async itemKey(table: string, item: AttributeMap): Promise<string> {
        const names = await this.keyAttributes(table);
        return `${table}|${JSON.stringify(names.map((name) => item[name]))}`;
    }

    private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
        const body = await readBody(request);
        const operation = String(request.headers["x-amz-target"] ?? "").split(".").pop() ?? "";
        const input = body.length > 0 ? JSON.parse(body.toString("utf8")) : {};
        const onIndex = (operation === "Query" || operation === "Scan") && typeof input.IndexName === "string";
        if (!onIndex) {
            // Hidden from the moment the write may take effect; a write that failed changed nothing.
            const keys = await this.writtenKeys(operation, input);
            const before = keys.map((key) => this.visibleAt.get(key));
            keys.forEach((key) => this.visibleAt.set(key, this.now() + this.options.delayMs()));
            const forwarded = await forward(this.upstream, request, body);
            if (forwarded.status !== 200) {
                keys.forEach((key, i) => (before[i] === undefined ? this.visibleAt.delete(key) : this.visibleAt.set(key, before[i]!)));
            }
            return reply(response, forwarded);
        }
        if (input.ProjectionExpression !== undefined || input.AttributesToGet !== undefined) {
            throw new Error("DelayedIndexDynamo: index reads with a projection are not modelled (the table's key attributes are needed to tell items apart)");
        }
        // Select COUNT cannot be filtered afterwards: read the items, hide the recent ones, count the rest.
        const counting = input.Select === "COUNT";
        const sent = Buffer.from(JSON.stringify(counting ? { ...input, Select: undefined } : input));
        const forwarded = await forward(this.upstream, request, sent);
        if (forwarded.status !== 200) return reply(response, forwarded);
        const result = JSON.parse(forwarded.body.toString("utf8")) as { Items?: AttributeMap[]; Count?: number };
        const now = this.now();
        const visible: AttributeMap[] = [];
        for (const item of result.Items ?? []) {
            if ((this.visibleAt.get(await this.itemKey(input.TableName, item)) ?? 0) <= now) visible.push(item);
            else this.hidden += 1;
        }
        const rewritten = { ...result, Count: visible.length, Items: counting ? undefined : visible };
        const headers = { ...forwarded.headers };
        // The body changed: its CRC32 header would no longer match.
        delete headers["x-amz-crc32"];
        reply(response, { status: 200, headers, body: Buffer.from(JSON.stringify(rewritten)) });
    }

    /** The items a write request may change. */
    private async writtenKeys(operation: string, input: any): Promise<string[]> {
        const keys = (table: string, items: AttributeMap[]) => Promise.all(items.map((item) => this.itemKey(table, item)));
        switch (operation) {
            case "PutItem":
                return keys(input.TableName, [input.Item]);
            case "UpdateItem":
            case "DeleteItem":
                return keys(input.TableName, [input.Key]);
            case "BatchWriteItem":
                return (await Promise.all(Object.entries(input.RequestItems as Record<string, { PutRequest?: { Item: AttributeMap }; DeleteRequest?: { Key: AttributeMap } }[]>)
                    .map(([table, requests]) => keys(table, requests.map((r) => r.PutRequest?.Item ?? r.DeleteRequest!.Key))))).flat();
            case "TransactWriteItems":
                return (await Promise.all((input.TransactItems as Record<string, { TableName: string; Item?: AttributeMap; Key?: AttributeMap } | undefined>[])
                    .map((entry) => entry.Put ?? entry.Update ?? entry.Delete)
                    .filter((action) => action !== undefined)
                    .map((action) => keys(action.TableName, [action.Item ?? action.Key!])))).flat();
            default:
                return [];
        }
    }
}
