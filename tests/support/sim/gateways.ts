// Loopback gateways in front of the fakes the handlers reach over HTTP, for what the fakes do not
// model: per-account Gmail tokens and faults, and DynamoDB throttling (in the same server as
// dynalite). Both only ever listen on and contact 127.0.0.1.
import { createServer, IncomingMessage, request as httpRequest, RequestListener, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import dynalite from "dynalite";
import type { LocalDynamo } from "../dynalite";
import { type FakeGoogle, readBody } from "../fake-google";
import type { Rng, VirtualClock } from "./clock";

interface Upstream {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: Buffer;
}

function forward(base: URL, request: IncomingMessage, body: Buffer): Promise<Upstream> {
    // The body was read whole: it goes on with a length, never chunked as it may have arrived.
    const headers: Record<string, string | string[] | undefined> = { ...request.headers, host: base.host, "content-length": String(body.length) };
    delete headers["transfer-encoding"];
    return new Promise((resolve, reject) => {
        const upstream = httpRequest({ host: base.hostname, port: base.port, method: request.method, path: request.url, headers }, (response) => {
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("end", () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
            response.on("error", reject);
        });
        upstream.on("error", reject);
        upstream.end(body);
    });
}

function send(response: ServerResponse, upstream: Upstream, rewrite?: (headers: Upstream["headers"]) => Upstream["headers"]): void {
    const headers: Upstream["headers"] = { ...(rewrite ? rewrite(upstream.headers) : upstream.headers), "content-length": String(upstream.body.length) };
    delete headers["transfer-encoding"];
    response.writeHead(upstream.status, headers as Record<string, string>);
    response.end(upstream.body);
}

function json(response: ServerResponse, status: number, payload: unknown): void {
    const body = Buffer.from(JSON.stringify(payload));
    response.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": String(body.length) });
    response.end(body);
}

async function listen(server: Server): Promise<string> {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// ---------------------------------------------------------------------------------------------
// Gmail and Google OAuth
// ---------------------------------------------------------------------------------------------

/**
 * Faults of Gmail's import as "Resolve errors" (Gmail API) documents them: 401 invalid credentials,
 * 403 with reason `rateLimitExceeded` / `userRateLimitExceeded`, 429, 500/503 backend errors; plus
 * a connection reset before Gmail saw the request (`reset`) and, opt-in, a response lost after
 * Gmail imported the message (`lost-response`: only an implementation that can look the message
 * up in Gmail could avoid a second import).
 */
export const GMAIL_FAULTS = ["401", "403-rate", "403-user-rate", "429", "500", "503", "reset", "lost-response"] as const;
export type GmailFault = (typeof GMAIL_FAULTS)[number];

export const MAIL_MARKER_HEADER = "X-Sim-Mail-Id";
const MARKER = new RegExp(`${MAIL_MARKER_HEADER}: ([A-Za-z0-9._-]+)`);

export interface GmailImport {
    at: number;
    account: string;
    mailId?: string;
    gmailId: string;
    bytes: number;
    uploadType: string;
    labelIds?: string[];
}

const GMAIL_ERRORS: Record<Exclude<GmailFault, "reset" | "lost-response">, [number, unknown]> = {
    "401": [401, { error: { code: 401, message: "Request had invalid authentication credentials.", errors: [{ domain: "global", reason: "authError", message: "Invalid Credentials", locationType: "header", location: "Authorization" }], status: "UNAUTHENTICATED" } }],
    "403-rate": [403, { error: { code: 403, message: "Rate Limit Exceeded", errors: [{ domain: "usageLimits", reason: "rateLimitExceeded", message: "Rate Limit Exceeded" }], status: "PERMISSION_DENIED" } }],
    "403-user-rate": [403, { error: { code: 403, message: "User Rate Limit Exceeded", errors: [{ domain: "usageLimits", reason: "userRateLimitExceeded", message: "User Rate Limit Exceeded" }], status: "PERMISSION_DENIED" } }],
    "429": [429, { error: { code: 429, message: "Too many concurrent requests for user.", errors: [{ domain: "usageLimits", reason: "rateLimitExceeded", message: "Too many concurrent requests for user." }], status: "RESOURCE_EXHAUSTED" } }],
    "500": [500, { error: { code: 500, message: "Backend Error", errors: [{ domain: "global", reason: "backendError", message: "Backend Error" }], status: "INTERNAL" } }],
    "503": [503, { error: { code: 503, message: "The service is currently unavailable.", errors: [{ domain: "global", reason: "backendError", message: "Backend Error" }], status: "UNAVAILABLE" } }],
};

export interface GmailGatewayOptions {
    clock: VirtualClock;
    /** How much faster than real time the harness runs pacing (quota windows shrink by this). */
    scale: number;
    /** "Usage limits" (Gmail API): 15,000 quota units per user per minute; messages.import costs 25. */
    userUnitsPerMinute?: number;
    importUnits?: number;
}

/**
 * In front of the fake Google: refresh tokens belong to accounts and can be revoked (the token
 * endpoint then answers `invalid_grant`), every access token is traced to its account, imports are
 * recorded per account, per-user quota is enforced, and scripted faults hit a mail's import
 * attempts. Everything else passes through to the fake unchanged (resumable sessions included).
 */
export class GmailGateway {
    public readonly imports: GmailImport[] = [];
    public readonly faultsApplied: Partial<Record<GmailFault | "quota", number>> = {};
    public readonly importAttempts = new Map<string, number>();
    private readonly refreshTokens = new Map<string, { account: string; revoked: boolean }>();
    private readonly accessTokens = new Map<string, string>();
    private readonly scripts = new Map<string, GmailFault[]>();
    private readonly usage = new Map<string, { at: number; units: number }[]>();
    /** Accounts whose token the operator replaced: a 401 was a token problem, which the new token ends. */
    private readonly refreshed = new Set<string>();

    private constructor(private readonly server: Server, private readonly base: string, private readonly upstream: URL, private readonly options: GmailGatewayOptions) {}

    public static async start(fake: FakeGoogle, options: GmailGatewayOptions): Promise<GmailGateway> {
        const started: { gateway?: GmailGateway } = {};
        const server = createServer((request, response) => {
            started.gateway!.handle(request, response).catch((error) => {
                if (!response.headersSent) json(response, 502, { error: { code: 502, message: String(error) } });
            });
        });
        const base = await listen(server);
        started.gateway = new GmailGateway(server, base, new URL(fake.apiRootUrl), options);
        return started.gateway;
    }

    public get apiRootUrl(): string {
        return `${this.base}/`;
    }

    public get tokenUrl(): string {
        return `${this.base}/token`;
    }

    public registerRefreshToken(token: string, account: string): void {
        if ([...this.refreshTokens.values()].some((entry) => entry.account === account)) this.refreshed.add(account);
        this.refreshTokens.set(token, { account, revoked: false });
    }

    /** The token is expired or revoked: every refresh with it gets `invalid_grant` from now on. */
    public revokeAccount(account: string): void {
        for (const entry of this.refreshTokens.values()) if (entry.account === account) entry.revoked = true;
        for (const [access, owner] of this.accessTokens) if (owner === account) this.accessTokens.delete(access);
    }

    /** Faults for the next import attempts of `mailId` (any account), in order. */
    public script(mailId: string, faults: GmailFault[]): void {
        if (faults.length > 0) this.scripts.set(mailId, [...faults]);
    }

    public close(): Promise<void> {
        this.server.closeAllConnections();
        return new Promise((resolve) => this.server.close(() => resolve()));
    }

    private count(kind: GmailFault | "quota"): void {
        this.faultsApplied[kind] = (this.faultsApplied[kind] ?? 0) + 1;
    }

    private overQuota(account: string): boolean {
        const now = this.options.clock.now();
        const window = 60_000 / this.options.scale;
        const recent = (this.usage.get(account) ?? []).filter((u) => u.at > now - window);
        const units = this.options.importUnits ?? 25;
        const used = recent.reduce((sum, u) => sum + u.units, 0);
        if (used + units > (this.options.userUnitsPerMinute ?? 15_000)) return true;
        this.usage.set(account, [...recent, { at: now, units }]);
        return false;
    }

    private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
        const body = await readBody(request);
        const url = new URL(request.url ?? "/", this.base);
        const rewriteLocation = (headers: Upstream["headers"]) => {
            const location = headers.location;
            return typeof location === "string" ? { ...headers, location: location.replace(this.upstream.origin, this.base) } : headers;
        };
        if (request.method === "POST" && url.pathname === "/token") {
            const form = new URLSearchParams(body.toString("utf8"));
            if (form.get("grant_type") === "refresh_token") {
                const entry = this.refreshTokens.get(form.get("refresh_token") ?? "");
                if (!entry || entry.revoked) return json(response, 400, { error: "invalid_grant", error_description: "Token has been expired or revoked." });
                const upstream = await forward(this.upstream, request, body);
                const accessToken = (() => {
                    try {
                        return JSON.parse(upstream.body.toString("utf8")).access_token as string | undefined;
                    } catch {
                        return undefined;
                    }
                })();
                if (accessToken) this.accessTokens.set(accessToken, entry.account);
                return send(response, upstream);
            }
            return send(response, await forward(this.upstream, request, body));
        }
        const isGmail = url.pathname.startsWith("/upload/gmail/") || url.pathname.startsWith("/gmail/");
        if (!isGmail) return send(response, await forward(this.upstream, request, body), rewriteLocation);
        const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ""))?.[1];
        const account = bearer ? this.accessTokens.get(bearer) : undefined;
        const text = body.toString("latin1");
        const mailId = MARKER.exec(text)?.[1];
        // Requests without the message (a resumable session's start, a chunk without the header)
        // need a valid token but carry nothing to fault or count.
        if (!account && (mailId || bearer)) {
            this.count("401");
            const [status, payload] = GMAIL_ERRORS["401"];
            return json(response, status, payload);
        }
        if (!mailId) return send(response, await forward(this.upstream, request, body), rewriteLocation);
        const attempt = (this.importAttempts.get(`${mailId}|${account}`) ?? 0) + 1;
        this.importAttempts.set(`${mailId}|${account}`, attempt);
        let fault = this.scripts.get(mailId)?.shift();
        while (fault === "401" && this.refreshed.has(account!)) fault = this.scripts.get(mailId)?.shift();
        if (fault === "reset") {
            this.count(fault);
            request.socket.destroy();
            return;
        }
        if (fault && fault !== "lost-response") {
            this.count(fault);
            const [status, payload] = GMAIL_ERRORS[fault];
            return json(response, status, payload);
        }
        if (this.overQuota(account!)) {
            this.count("quota");
            const [status, payload] = GMAIL_ERRORS["403-user-rate"];
            return json(response, status, payload);
        }
        const upstream = await forward(this.upstream, request, body);
        if (upstream.status === 200) {
            const result = JSON.parse(upstream.body.toString("utf8")) as { id?: string };
            if (result.id) {
                const labels = /"labelIds"\s*:\s*(\[[^\]]*\])/.exec(text)?.[1];
                this.imports.push({
                    at: this.options.clock.now(), account: account!, mailId, gmailId: result.id, bytes: body.length,
                    uploadType: url.searchParams.get("uploadType") ?? "session", ...(labels ? { labelIds: JSON.parse(labels) } : {}),
                });
            }
        }
        if (fault === "lost-response") {
            this.count(fault);
            request.socket.destroy();
            return;
        }
        send(response, upstream, rewriteLocation);
    }
}

// ---------------------------------------------------------------------------------------------
// DynamoDB
// ---------------------------------------------------------------------------------------------

export interface DynamoGatewayOptions {
    /** Probability that a request is throttled (ProvisionedThroughputExceededException, HTTP 400). */
    throttleRate: number;
    /** Probability that a BatchGetItem returns part of its keys as UnprocessedKeys ("BatchGetItem" API reference). */
    unprocessedRate: number;
}

/**
 * In front of dynalite: throttles requests ("Throttling issues for DynamoDB": on-demand tables
 * throttle too, the SDK sees ProvisionedThroughputExceededException and retries it with backoff)
 * and leaves BatchGetItem keys unprocessed, as DynamoDB may for any reason.
 *
 * dynalite runs in memory behind two loopback servers sharing its store: the gateway's `endpoint`
 * (the faults, for the handlers) and `local` (none, for the harness's own reads and writes). The
 * gateway hands a request on to dynalite's request handler in the same server, with no second HTTP
 * hop: what the handlers' SDK clients see is the same.
 */
export class DynamoGateway {
    public throttled = 0;
    public unprocessed = 0;
    public readonly requests: Record<string, number> = {};

    private constructor(private readonly server: Server, public readonly endpoint: string, public readonly local: LocalDynamo, private readonly rng: Rng, private readonly options: DynamoGatewayOptions) {}

    public static async start(rng: Rng, options: DynamoGatewayOptions): Promise<DynamoGateway> {
        const plain = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
        const [serve] = plain.listeners("request") as RequestListener[];
        const localEndpoint = await listen(plain);
        const client = new DynamoDBClient({ endpoint: localEndpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
        const local: LocalDynamo = {
            client,
            endpoint: localEndpoint,
            close: () => new Promise<void>((resolve) => {
                client.destroy();
                plain.close(() => resolve());
            }),
        };
        const started: { gateway?: DynamoGateway } = {};
        const server = createServer((request, response) => {
            try {
                started.gateway!.handle(request, response, serve);
            } catch (error) {
                json(response, 500, { __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message: String(error) });
            }
        });
        const endpoint = await listen(server);
        started.gateway = new DynamoGateway(server, endpoint, local, rng, options);
        return started.gateway;
    }

    /** Closes the gateway, then dynalite. */
    public async close(): Promise<void> {
        this.server.closeAllConnections();
        await new Promise<void>((resolve) => this.server.close(() => resolve()));
        await this.local.close();
    }

    private handle(request: IncomingMessage, response: ServerResponse, serve: RequestListener): void {
        const operation = String(request.headers["x-amz-target"] ?? "").split(".").pop() ?? "";
        this.requests[operation] = (this.requests[operation] ?? 0) + 1;
        const isData = !/Table|Describe|List|Tag|TimeToLive/.test(operation);
        if (isData && this.rng.chance(this.options.throttleRate)) {
            this.throttled += 1;
            // Answered once the request is read whole, as a service answers.
            readBody(request).then(() => {
                const payload = Buffer.from(JSON.stringify({
                    __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                    message: "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
                }));
                response.writeHead(400, { "content-type": "application/x-amz-json-1.0", "content-length": String(payload.length) });
                response.end(payload);
            }, (error) => response.destroy(error));
            return;
        }
        if (operation === "BatchGetItem" && this.options.unprocessedRate > 0) this.leaveUnprocessed(request, response);
        serve(request, response);
    }

    /** Watches a BatchGetItem go to dynalite: its answer may come back with part of the keys unprocessed. */
    private leaveUnprocessed(request: IncomingMessage, response: ServerResponse): void {
        // Listening before dynalite does: both see every chunk of the request.
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        const end = response.end as (...args: unknown[]) => ServerResponse;
        response.end = ((body?: unknown, ...rest: unknown[]) => {
            if (response.statusCode === 200 && (typeof body === "string" || Buffer.isBuffer(body)) && this.rng.chance(this.options.unprocessedRate)) {
                const rewritten = this.withUnprocessedKeys(Buffer.concat(chunks), Buffer.from(body));
                if (rewritten) {
                    // The body changed: its CRC32 header would no longer match.
                    response.removeHeader("x-amz-crc32");
                    response.setHeader("Content-Length", rewritten.length);
                    body = rewritten;
                }
            }
            return end.call(response, body, ...rest);
        }) as typeof response.end;
    }

    private withUnprocessedKeys(requestBody: Buffer, responseBody: Buffer): Buffer | undefined {
        const requestItems = JSON.parse(requestBody.toString("utf8")).RequestItems as Record<string, { Keys: Record<string, unknown>[] } & Record<string, unknown>>;
        const result = JSON.parse(responseBody.toString("utf8")) as { Responses: Record<string, Record<string, unknown>[]>; UnprocessedKeys?: Record<string, unknown> };
        const unprocessedKeys: Record<string, unknown> = { ...(result.UnprocessedKeys ?? {}) };
        for (const [table, spec] of Object.entries(requestItems)) {
            const left = spec.Keys.filter(() => this.rng.chance(0.5));
            if (left.length === 0) continue;
            this.unprocessed += left.length;
            const isLeft = (item: Record<string, unknown>) => left.some((key) => Object.entries(key).every(([name, value]) => JSON.stringify(item[name]) === JSON.stringify(value)));
            result.Responses[table] = (result.Responses[table] ?? []).filter((item) => !isLeft(item));
            unprocessedKeys[table] = { ...spec, Keys: left };
        }
        result.UnprocessedKeys = unprocessedKeys;
        return Buffer.from(JSON.stringify(result));
    }
}
