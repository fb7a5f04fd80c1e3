// Counts the DynamoDB requests a piece of code makes, and how many of them had to wait for another:
// the sequential round trips. A request's depth is one more than the deepest request that had
// finished before it started; the largest depth is the number of round trips one after another
// that the code needs, whatever the network's latency. Counted, not timed.
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

export interface RoundTrips {
    /** Requests by command (e.g. `PutItemCommand`). */
    requests: Record<string, number>;
    total: number;
    /** Sequential round trips (the deepest chain of requests each waiting for the one before). */
    sequential: number;
}

interface Request {
    command: string;
    started: number;
    ended?: number;
    depth: number;
}

/** Instruments a client (and every DynamoDBDocumentClient made from it, which shares its middleware). */
export class RoundTripCounter {
    private requests: Request[] = [];
    private tick = 0;

    constructor(client: DynamoDBClient) {
        client.middlewareStack.add((next, context) => async (args) => {
            const started = ++this.tick;
            const before = this.requests.filter((r) => r.ended !== undefined && r.ended < started);
            const request: Request = { command: String(context.commandName), started, depth: 1 + Math.max(0, ...before.map((r) => r.depth)) };
            this.requests.push(request);
            try {
                return await next(args);
            } finally {
                request.ended = ++this.tick;
            }
        }, { step: "initialize", name: "roundTripCounter" });
    }

    /** Runs `work` alone (nothing else may use the client meanwhile) and counts its requests. */
    public async count(work: () => Promise<unknown>): Promise<RoundTrips> {
        this.requests = [];
        await work();
        const requests: Record<string, number> = {};
        for (const r of this.requests) requests[r.command] = (requests[r.command] ?? 0) + 1;
        return { requests, total: this.requests.length, sequential: Math.max(0, ...this.requests.map((r) => r.depth)) };
    }
}
