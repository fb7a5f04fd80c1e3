// Counts the AWS requests a simulation makes, by service and API, with what AWS bills them by:
// 64 KB chunks (SQS, SNS, EventBridge, Pipes), DynamoDB request units (the ConsumedCapacity dynalite
// computes from item sizes, asked for on every request), Lambda invocations with their memory and
// measured duration, and the bytes the functions log. Attached to a running simulation from the
// outside (instance methods wrapped, nothing in the models changed) and detached before it closes.
//
// Who made a request: the function whose invocation it ran in (AsyncLocalStorage, ./scope), else the
// service acting for the stack (SNS delivering to SQS, EventBridge to a rule's target, a Lambda event
// source mapping or a pipe polling and deleting). Service-side deletes after a batch are counted as
// one DeleteMessageBatch per batch (the sim deletes message by message; the pollers' real API is
// not documented, batch is the cheaper assumption).
import type { SimFunction } from "./lambda";
import { invocationScope } from "./scope";

/** Bytes → billed 64 KB chunks (SQS, SNS, EventBridge and Pipes bill each 64 KB of payload as one request). */
const chunks = (bytes: number) => Math.max(1, Math.ceil(bytes / (64 * 1024)));
const size = (value: unknown) => (value === undefined ? 0 : Buffer.byteLength(typeof value === "string" ? value : JSON.stringify(value)));

export interface RequestKey {
    service: string;
    api: string;
    caller: string;
}

export interface InvocationRecord {
    /** The function's code folder (its Powertools service name). */
    fn: string;
    /** The deployed function's name (what InvocationScope carries). */
    name: string;
    memoryMb: number;
    ms: number;
}

const DOCUMENT_COMMANDS: Record<string, string> = {
    GetCommand: "GetItem", PutCommand: "PutItem", UpdateCommand: "UpdateItem", DeleteCommand: "DeleteItem",
    BatchGetCommand: "BatchGetItem", BatchWriteCommand: "BatchWriteItem", QueryCommand: "Query", ScanCommand: "Scan",
    TransactGetCommand: "TransactGetItems", TransactWriteCommand: "TransactWriteItems",
};
/** How many of a table's indexes (by partition key attribute) a write request sets: in Item, or named in its update expression. */
export function indexesWritten(keys: string[], input: Record<string, any>): number {
    const item = input.Item ?? {};
    const names = Object.values<string>(input.ExpressionAttributeNames ?? {});
    const expression = String(input.UpdateExpression ?? "");
    return keys.filter((key) => key in item || names.includes(key) || new RegExp(`\\b${key}\\b`).test(expression)).length;
}

const READS = new Set(["GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"]);

type Method = (...args: any[]) => any;

export class RequestCounter {
    /** `service|api|caller` → requests. */
    public readonly requests = new Map<string, number>();
    /** `service|api|caller` → billed units (64 KB chunks, request units). */
    public readonly units = new Map<string, number>();
    public readonly invocations: InvocationRecord[] = [];
    /** DynamoDB read / write request units by table. */
    public readonly rru = new Map<string, number>();
    public readonly wru = new Map<string, number>();
    /**
     * Per function, the most DynamoDB round trips one invocation made one after another (a request's
     * depth is one more than the deepest of the same invocation's requests that ended before it began).
     */
    public readonly ddbRoundTrips = new Map<string, number>();
    private readonly chains = new WeakMap<object, { started: number; ended?: number; depth: number }[]>();
    private tick = 0;
    private readonly undo: (() => void)[] = [];
    private via: string[] = [];
    private pendingDeletes = new Map<string, number>();

    private add(service: string, api: string, caller: string, units = 1): void {
        const key = `${service}|${api}|${caller}`;
        this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
        this.units.set(key, (this.units.get(key) ?? 0) + units);
    }

    private caller(): string {
        return invocationScope.getStore()?.functionName ?? this.via[this.via.length - 1] ?? "service";
    }

    /** Replaces `object[name]` (an instance method) with `wrap(original)` until detach(). */
    private patch<T extends object>(object: T, name: string, wrap: (original: Method) => Method): void {
        const original = (object as Record<string, Method>)[name];
        const own = Object.prototype.hasOwnProperty.call(object, name);
        (object as Record<string, Method>)[name] = wrap(original.bind(object));
        this.undo.push(() => {
            if (own) (object as Record<string, Method>)[name] = original;
            else delete (object as Record<string, Method>)[name];
        });
    }

    /** Calls into a model under way (shared by all its methods, so receiveMessage → receive counts once). */
    private readonly depth = new WeakMap<object, { n: number }>();

    /** Counts one call into `model` (not the nested ones it makes itself, e.g. deleteMessageBatch → deleteMessage). */
    private counted(model: object, service: string, api: string, units: (args: any[], result: any) => number = () => 1): (original: Method) => Method {
        if (!this.depth.has(model)) this.depth.set(model, { n: 0 });
        const depth = this.depth.get(model)!;
        return (original) => (...args: any[]) => {
            depth.n += 1;
            try {
                const result = original(...args);
                if (depth.n === 1) this.add(service, api, this.caller(), units(args, result));
                return result;
            } finally {
                depth.n -= 1;
            }
        };
    }

    /** Runs `work` as the service `label` (requests inside it are the service's). */
    private as(label: string): (original: Method) => Method {
        return (original) => (...args: any[]) => {
            this.via.push(label);
            try {
                return original(...args);
            } finally {
                this.via.pop();
            }
        };
    }

    /** SQS model (tests/support/sim/sqs.ts): every API, plus the pollers' receive and delete. */
    public attachSqs(sqs: object): this {
        const body = (input: any) => size(input?.MessageBody) + size(input?.MessageAttributes);
        this.patch(sqs, "sendMessage", this.counted(sqs, "SQS", "SendMessage", ([input]) => chunks(body(input))));
        this.patch(sqs, "sendMessageBatch", this.counted(sqs, "SQS", "SendMessageBatch", ([input]) => chunks((input.Entries ?? []).reduce((s: number, e: unknown) => s + body(e), 0))));
        this.patch(sqs, "receiveMessage", this.counted(sqs, "SQS", "ReceiveMessage", (_args, result) => chunks(size(result?.Messages))));
        // The pollers receive through `receive` directly: one ReceiveMessage of up to 10 messages.
        this.patch(sqs, "receive", this.counted(sqs, "SQS", "ReceiveMessage", (_args, result) => chunks((result ?? []).reduce((s: number, m: any) => s + size(m.body), 0))));
        this.patch(sqs, "deleteMessageBatch", this.counted(sqs, "SQS", "DeleteMessageBatch"));
        this.patch(sqs, "changeMessageVisibility", this.counted(sqs, "SQS", "ChangeMessageVisibility"));
        this.patch(sqs, "changeMessageVisibilityBatch", this.counted(sqs, "SQS", "ChangeMessageVisibilityBatch"));
        this.patch(sqs, "getQueueAttributes", this.counted(sqs, "SQS", "GetQueueAttributes"));
        this.patch(sqs, "getQueueUrl", this.counted(sqs, "SQS", "GetQueueUrl"));
        const depth = this.depth.get(sqs)!;
        this.patch(sqs, "deleteMessage", (original) => (...args: any[]) => {
            depth.n += 1;
            try {
                const result = original(...args);
                if (depth.n > 1) return result;
                const caller = this.caller();
                if (invocationScope.getStore() || caller !== "service") {
                    this.add("SQS", "DeleteMessage", caller);
                } else {
                    // A poller deleting its batch after the invocation: one batch request per queue per tick, 10 entries each.
                    const queue = String(args[0]?.QueueUrl ?? "");
                    const open = this.pendingDeletes.get(queue) ?? 0;
                    if (open % 10 === 0) this.add("SQS", "DeleteMessageBatch", "poller");
                    this.pendingDeletes.set(queue, open + 1);
                    if (open === 0) queueMicrotask(() => this.pendingDeletes.delete(queue));
                }
                return result;
            } finally {
                depth.n -= 1;
            }
        });
        return this;
    }

    /** S3 model: the function's GetObject/HeadObject, and SES's PutObject of each received mail. */
    public attachS3(s3: object): this {
        this.patch(s3, "getObject", this.counted(s3, "S3", "GetObject"));
        this.patch(s3, "headObject", this.counted(s3, "S3", "HeadObject"));
        this.patch(s3, "put", (original) => (...args: any[]) => {
            this.add("S3", "PutObject", "ses");
            this.add("S3", "StoredBytes", "ses", Buffer.byteLength(args[2] ?? ""));
            return original(...args);
        });
        return this;
    }

    /** SSM model; a SecureString read with decryption is one KMS Decrypt as well. */
    public attachSsm(ssm: object): this {
        this.patch(ssm, "getParameter", this.counted(ssm, "SSM", "GetParameter"));
        this.patch(ssm, "getParameters", this.counted(ssm, "SSM", "GetParameters"));
        // Every parameter the forwarder reads is a SecureString read WithDecryption (functions/gmail-forwarder/credentials.ts).
        this.patch(ssm, "getParameter", (original) => (...args: any[]) => {
            const result = original(...args);
            if (invocationScope.getStore()) this.add("KMS", "Decrypt (SSM SecureString)", this.caller());
            return result;
        });
        return this;
    }

    public attachSes(ses: object): this {
        this.patch(ses, "sendBounce", this.counted(ses, "SES", "SendBounce"));
        return this;
    }

    /** EventBridge bus model: PutEvents (each entry a billed event per 64 KB); its rule deliveries are EventBridge's. */
    public attachBus(bus: object): this {
        this.patch(bus, "putEvents", (original) => {
            const counted = this.counted(bus, "EventBridge", "PutEvents (pipe target)", ([input]) => (input.Entries ?? []).reduce((s: number, e: unknown) => s + chunks(size(e)), 0))(original);
            return this.as("eventbridge")(counted);
        });
        return this;
    }

    /** A pipe: each record through it is a Pipes request per 64 KB. */
    public attachPipe(pipe: object): this {
        this.patch(pipe, "process", (original) => (...args: any[]) => {
            for (const message of args[0] ?? []) this.add("Pipes", "request", "pipe", chunks(size(message.body)));
            return original(...args);
        });
        return this;
    }

    /** SNS as SES (or the harness standing in for it) publishes: one Publish per 64 KB; the deliveries to SQS are SNS's. */
    public attachPublisher(target: object, caller = "ses"): this {
        this.patch(target, "publish", (original) => (...args: any[]) => {
            this.add("SNS", "Publish", caller, chunks(size(args[1])));
            this.add("KMS", "GenerateDataKey (SNS SSE, upper bound)", caller);
            return this.as("sns")(original)(...args);
        });
        return this;
    }

    /** A Lambda function: invocations with the configured memory and the measured duration. */
    public attachFunction(fn: SimFunction): this {
        this.patch(fn, "invoke", (original) => async (...args: any[]) => {
            const started = performance.now();
            try {
                return await original(...args);
            } finally {
                this.invocations.push({ fn: fn.spec.environment.POWERTOOLS_SERVICE_NAME ?? fn.name, name: fn.name, memoryMb: fn.spec.memorySize, ms: performance.now() - started });
            }
        });
        return this;
    }

    /**
     * DynamoDB through the SDK (the functions' clients, document clients included, share the base
     * Client.prototype.send): every request made inside an invocation, with its request units.
     * `gsis` names each table's global secondary indexes by their partition key attribute: a write is
     * charged again for each index whose key attribute it writes ("Global secondary indexes: write
     * capacity": an index is written only for items that have its key attributes; a write that leaves
     * an indexed item's key alone but changes a projected attribute is charged too and is missed here).
     */
    public attachDynamo(clientPrototype: { send: Method }, gsis: Record<string, string[]>): this {
        const send = clientPrototype.send;
        const add = (service: string, api: string, caller: string) => this.add(service, api, caller);
        const { rru, wru, chains, ddbRoundTrips } = this;
        const nextTick = () => ++this.tick;
        clientPrototype.send = function (this: { config?: { serviceId?: string } }, command: { constructor: { name: string }; input: Record<string, any> }, ...rest: unknown[]) {
            const scope = invocationScope.getStore();
            if (!scope || this.config?.serviceId !== "DynamoDB") return send.call(this, command, ...rest);
            const name = command.constructor.name;
            const api = DOCUMENT_COMMANDS[name] ?? name.replace(/Command$/, "");
            add("DynamoDB", api, scope.functionName);
            const chain = chains.get(scope) ?? [];
            chains.set(scope, chain);
            const started = nextTick();
            const request: { started: number; ended?: number; depth: number } = { started, depth: 1 + Math.max(0, ...chain.filter((r) => r.ended !== undefined && r.ended < started).map((r) => r.depth)) };
            chain.push(request);
            ddbRoundTrips.set(scope.functionName, Math.max(ddbRoundTrips.get(scope.functionName) ?? 0, request.depth));
            if (command.input && command.input.ReturnConsumedCapacity === undefined) command.input.ReturnConsumedCapacity = "TOTAL";
            return (send.call(this, command, ...rest) as Promise<any>).then((result) => {
                const consumed: { TableName?: string; CapacityUnits?: number }[] = [result?.ConsumedCapacity ?? []].flat();
                for (const c of consumed) {
                    const table = c.TableName ?? "?";
                    const units = c.CapacityUnits ?? 0;
                    if (READS.has(api)) rru.set(table, (rru.get(table) ?? 0) + units);
                    else wru.set(table, (wru.get(table) ?? 0) + units * (1 + indexesWritten(gsis[table] ?? [], command.input)));
                }
                return result;
            }).finally(() => (request.ended = nextTick()));
        };
        this.undo.push(() => (clientPrototype.send = send));
        return this;
    }

    public detach(): void {
        this.undo.reverse().forEach((undo) => undo());
        this.undo.length = 0;
    }

    /** Requests (or units) by `service API`, summed over callers. */
    public byApi(what: "requests" | "units" = "requests"): Record<string, number> {
        const out: Record<string, number> = {};
        for (const [key, n] of (what === "requests" ? this.requests : this.units)) {
            const [service, api] = key.split("|");
            out[`${service} ${api}`] = (out[`${service} ${api}`] ?? 0) + n;
        }
        return out;
    }

    /** Requests by service, summed over APIs and callers. */
    public byService(): Record<string, number> {
        const out: Record<string, number> = {};
        for (const [key, n] of this.requests) {
            const [service, api] = key.split("|");
            if (api === "StoredBytes") continue;
            out[service] = (out[service] ?? 0) + n;
        }
        return out;
    }

    public unitsOf(service: string, api?: string): number {
        let total = 0;
        for (const [key, n] of this.units) {
            const [s, a] = key.split("|");
            if (s === service && (api === undefined || a === api)) total += n;
        }
        return total;
    }

    public requestsOf(service: string, api?: string): number {
        let total = 0;
        for (const [key, n] of this.requests) {
            const [s, a] = key.split("|");
            if (s === service && (api === undefined || a === api)) total += n;
        }
        return total;
    }
}
