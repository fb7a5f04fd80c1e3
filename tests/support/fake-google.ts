// A loopback stand-in for Google's OAuth endpoints (consent, token: refresh and authorization-code
// grants with PKCE) and the Gmail API's import by media upload (multipart, and resumable sessions),
// scripted per test. Only 127.0.0.1 is ever contacted.
//
// Gmail's documented behaviour it models: `users.messages.import` takes up to 150 MB ("Maximum file
// size"); a message has at most one of INBOX, SPAM and TRASH; rate limiting answers 429 or 403 with
// reason userRateLimitExceeded / rateLimitExceeded ("Resolve errors"); a resumable session is opened
// by a POST with X-Upload-Content-Type / X-Upload-Content-Length and returns its URI in Location,
// and the PUT of the body must carry exactly the announced length ("Upload media", resumable).
import { createHash } from "node:crypto";
import { createServer, IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One completed import (what Gmail stored). */
export interface ImportCall {
    /** Query of the import request (for a resumable upload: of the request that opened the session). */
    query: URLSearchParams;
    authorization?: string;
    contentType?: string;
    /** Multipart: the whole request body. Resumable: the first 64 KiB of the message. */
    body: string;
    upload: "multipart" | "resumable";
    labelIds: string[];
    /** Bytes of the message itself. */
    size: number;
    /** sha256 of the message, hex. */
    sha256: string;
    /** Resumable: the Authorization of the PUT that carried the body. */
    uploadAuthorization?: string;
}

/**
 * A scripted Gmail failure: a status (with its usual body), or a status with an `errors[].reason`,
 * failing the import request (multipart, or the request that opens a resumable session) unless
 * `stage` is "upload" (the PUT of a resumable session's body, after it was read).
 */
export type GmailFault = number | { status: number; reason?: string; message?: string; stage?: "request" | "upload" };

/** How the consent screen and the code exchange answer. */
export interface ConsentScript {
    /** The user declines on the consent screen. @default false */
    deny?: boolean;
    /** Who signs in (the ID token's email). @default the login_hint */
    signInAs?: string;
    /** Google omits the refresh token (access granted before, no new consent). @default false */
    withoutRefreshToken?: boolean;
    /** The exchange answers without an ID token (who signed in is not said). @default false */
    withoutIdToken?: boolean;
    /** The token endpoint refuses the exchange with this OAuth error, e.g. redirect_uri_mismatch. */
    exchangeError?: string;
    /** Scopes granted (the user may untick some). @default those requested */
    grantedScope?: string;
}

export interface FakeGoogle {
    apiRootUrl: string;
    tokenUrl: string;
    authUrl: string;
    /** Query of each consent-screen request. */
    consentRequests: URLSearchParams[];
    consent: ConsentScript;
    /** Refresh tokens issued by the code exchange. */
    issuedRefreshTokens: string[];
    imports: ImportCall[];
    tokenRequests: URLSearchParams[];
    /** Failures of the next import calls, in order (then success). */
    gmailScript: GmailFault[];
    /** Resumable sessions opened so far. */
    sessionsOpened: number;
    /** `invalid_grant` makes the token endpoint refuse the refresh token; `network` drops the connection. */
    tokenBehaviour: "ok" | "invalid_grant" | "network";
    close(): Promise<void>;
}

/** Gmail's error bodies: `error.errors[]` carries the reason ("Resolve errors", Gmail API). */
const ERRORS: Record<number, { message: string; status: string; reason: string; domain?: string }> = {
    400: { message: "Invalid argument", status: "INVALID_ARGUMENT", reason: "badRequest" },
    401: { message: "Request had invalid authentication credentials.", status: "UNAUTHENTICATED", reason: "authError" },
    403: { message: "Insufficient Permission", status: "PERMISSION_DENIED", reason: "insufficientPermissions" },
    429: { message: "Too many concurrent requests for user.", status: "RESOURCE_EXHAUSTED", reason: "rateLimitExceeded", domain: "usageLimits" },
    500: { message: "Backend Error", status: "INTERNAL", reason: "backendError" },
    503: { message: "The service is currently unavailable.", status: "UNAVAILABLE", reason: "backendError" },
};

const REASON_MESSAGES: Record<string, string> = {
    userRateLimitExceeded: "User-rate limit exceeded.",
    rateLimitExceeded: "Rate Limit Exceeded",
    dailyLimitExceeded: "Daily Limit Exceeded",
};

export function gmailErrorBody(status: number, reason?: string, message?: string) {
    const known = ERRORS[status];
    const why = reason ?? known?.reason ?? "unknown";
    const text = message ?? (reason ? REASON_MESSAGES[reason] : undefined) ?? known?.message ?? "error";
    const domain = why.endsWith("LimitExceeded") ? "usageLimits" : known?.domain ?? "global";
    return { error: { code: status, message: text, errors: [{ message: text, domain, reason: why }], status: known?.status ?? "UNKNOWN" } };
}

/** "Maximum file size: 150MB" (users.messages.import). */
const IMPORT_LIMIT_BYTES = 150 * 1024 * 1024;
const PREFIX_BYTES = 64 * 1024;
const IMPORT_PATH = "/upload/gmail/v1/users/me/messages/import";
const BOXES = ["INBOX", "SPAM", "TRASH"];

/** Why Gmail would refuse these labels, if it would. */
function labelProblem(labelIds: string[]): string | undefined {
    const boxes = labelIds.filter((l) => BOXES.includes(l));
    return boxes.length > 1 ? `Invalid label combination: a message can have only one of INBOX, SPAM, TRASH (got ${boxes.join(", ")})` : undefined;
}

/** The metadata and the message of a multipart/related import body. */
function multipartParts(body: Buffer, contentType: string | undefined): { labelIds: string[]; message: Buffer } {
    const boundary = /boundary=("?)([^";]+)\1/.exec(contentType ?? "")?.[2];
    if (!boundary) return { labelIds: [], message: body };
    const delimiter = Buffer.from(`--${boundary}`);
    const parts: Buffer[] = [];
    let at = body.indexOf(delimiter);
    while (at >= 0) {
        const next = body.indexOf(delimiter, at + delimiter.length);
        if (next < 0) break;
        const part = body.subarray(at + delimiter.length, next);
        const headerEnd = part.indexOf("\r\n\r\n");
        // A part is CRLF, headers, blank line, content, CRLF (before the next delimiter).
        parts.push(part.subarray(headerEnd + 4, part.length - 2));
        at = next;
    }
    const metadata = parts[0] ? (JSON.parse(parts[0].toString("utf8")) as { labelIds?: string[] }) : {};
    return { labelIds: metadata.labelIds ?? [], message: parts[1] ?? Buffer.alloc(0) };
}

interface Session {
    query: URLSearchParams;
    authorization?: string;
    labelIds: string[];
    size: number;
    contentType?: string;
}

// Shorter than google-auth-library's 5-minute eager refresh, so every call exchanges the refresh
// token again and a revoked token is noticed at once.
const ACCESS_TOKEN_SECONDS = 60;

/** The whole request body. */
export function readBody(request: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => resolve(Buffer.concat(chunks)));
        request.on("error", reject);
    });
}

/** Reads a body without keeping it: its size, sha256 and first bytes. */
function digestBody(request: IncomingMessage): Promise<{ size: number; sha256: string; prefix: Buffer }> {
    return new Promise((resolve, reject) => {
        const hash = createHash("sha256");
        const prefix: Buffer[] = [];
        let size = 0;
        request.on("data", (chunk: Buffer) => {
            if (size < PREFIX_BYTES) prefix.push(Buffer.from(chunk.subarray(0, PREFIX_BYTES - size)));
            size += chunk.length;
            hash.update(chunk);
        });
        request.on("end", () => resolve({ size, sha256: hash.digest("hex"), prefix: Buffer.concat(prefix) }));
        request.on("error", reject);
    });
}

const asFault = (fault: GmailFault) => (typeof fault === "number" ? { status: fault } : fault);

export async function startFakeGoogle(): Promise<FakeGoogle> {
    let sequence = 0;
    const fake = {
        imports: [] as ImportCall[], tokenRequests: [] as URLSearchParams[], gmailScript: [] as GmailFault[], tokenBehaviour: "ok" as FakeGoogle["tokenBehaviour"],
        consentRequests: [] as URLSearchParams[], consent: {} as ConsentScript, issuedRefreshTokens: [] as string[], sessionsOpened: 0,
    };
    const sessions = new Map<string, Session>();
    /** The next scripted fault for this stage, if the script's head is one. */
    const nextFault = (stage: "request" | "upload") => {
        const head = fake.gmailScript[0];
        if (head === undefined || (asFault(head).stage ?? "request") !== stage) return undefined;
        fake.gmailScript.shift();
        return asFault(head);
    };
    const imported = (call: Omit<ImportCall, "labelIds"> & { labelIds: string[] }) => {
        fake.imports.push(call);
        return { id: `gmail-${fake.imports.length}`, threadId: `thread-${fake.imports.length}`, labelIds: call.labelIds };
    };
    const codes = new Map<string, URLSearchParams>();
    let base = "";
    const jwt = (claims: object) => ["{\"alg\":\"RS256\"}", JSON.stringify(claims)].map((part) => Buffer.from(part).toString("base64url")).join(".") + ".signature";
    const server: Server = createServer(async (request, response) => {
        const url = new URL(request.url ?? "/", "http://127.0.0.1");
        const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
            response.writeHead(status, { "content-type": "application/json", ...headers });
            response.end(JSON.stringify(payload));
        };
        const gmailError = (fault: { status: number; reason?: string; message?: string }) => reply(fault.status, gmailErrorBody(fault.status, fault.reason, fault.message));
        if (request.method === "PUT" && url.pathname === IMPORT_PATH && url.searchParams.has("upload_id")) {
            // The body of a resumable session: counted and hashed as it streams, never kept whole.
            const { size, sha256, prefix } = await digestBody(request);
            const session = sessions.get(url.searchParams.get("upload_id") ?? "");
            if (!session) return gmailError({ status: 404, reason: "notFound", message: "Upload session not found or expired." });
            const fault = nextFault("upload");
            if (fault) return gmailError(fault);
            const declared = Number(request.headers["content-length"]);
            if (size !== session.size || declared !== session.size) {
                return gmailError({ status: 400, reason: "badRequest", message: `Received ${size} bytes (Content-Length ${declared}); the session announced ${session.size}.` });
            }
            sessions.delete(url.searchParams.get("upload_id") ?? "");
            return reply(200, imported({
                query: session.query, authorization: session.authorization, contentType: request.headers["content-type"], body: prefix.toString("utf8"),
                upload: "resumable", labelIds: session.labelIds, size, sha256, uploadAuthorization: request.headers.authorization,
            }));
        }
        const body = await readBody(request);
        if (request.method === "GET" && url.pathname === "/auth") {
            fake.consentRequests.push(url.searchParams);
            const back = new URL(url.searchParams.get("redirect_uri")!);
            back.searchParams.set("state", url.searchParams.get("state") ?? "");
            if (fake.consent.deny) {
                back.searchParams.set("error", "access_denied");
            } else {
                const code = `4/code-${++sequence}`;
                codes.set(code, url.searchParams);
                back.searchParams.set("code", code);
            }
            response.writeHead(302, { location: back.toString() });
            return response.end();
        }
        const form = new URLSearchParams(body.toString("utf8"));
        if (request.method === "POST" && url.pathname === "/token" && form.get("grant_type") === "authorization_code") {
            fake.tokenRequests.push(form);
            const consented = codes.get(form.get("code") ?? "");
            codes.delete(form.get("code") ?? "");
            if (fake.consent.exchangeError) return reply(400, { error: fake.consent.exchangeError, error_description: "Bad Request" });
            if (!consented) return reply(400, { error: "invalid_grant", error_description: "Malformed auth code." });
            if (consented.get("redirect_uri") !== form.get("redirect_uri")) return reply(400, { error: "redirect_uri_mismatch", error_description: "Bad Request" });
            const challenge = createHash("sha256").update(form.get("code_verifier") ?? "").digest("base64url");
            if (consented.get("code_challenge_method") !== "S256" || consented.get("code_challenge") !== challenge) return reply(400, { error: "invalid_grant", error_description: "Invalid code verifier." });
            const refreshToken = `1//refresh-${++sequence}`;
            if (!fake.consent.withoutRefreshToken) fake.issuedRefreshTokens.push(refreshToken);
            return reply(200, {
                access_token: `ya29.fake-${++sequence}`, expires_in: ACCESS_TOKEN_SECONDS, token_type: "Bearer",
                scope: fake.consent.grantedScope ?? consented.get("scope"),
                ...(fake.consent.withoutIdToken ? {} : { id_token: jwt({ iss: "https://accounts.google.com", aud: form.get("client_id"), email: fake.consent.signInAs ?? consented.get("login_hint"), email_verified: true }) }),
                ...(fake.consent.withoutRefreshToken ? {} : { refresh_token: refreshToken }),
            });
        }
        if (request.method === "POST" && url.pathname === "/token") {
            fake.tokenRequests.push(form);
            if (fake.tokenBehaviour === "network") return request.socket.destroy();
            return fake.tokenBehaviour === "invalid_grant"
                ? reply(400, { error: "invalid_grant", error_description: "Token has been expired or revoked." })
                : reply(200, { access_token: `ya29.fake-${++sequence}`, expires_in: ACCESS_TOKEN_SECONDS, scope: "https://www.googleapis.com/auth/gmail.insert", token_type: "Bearer" });
        }
        if (request.method === "POST" && url.pathname === IMPORT_PATH && url.searchParams.get("uploadType") === "resumable") {
            const fault = nextFault("request");
            if (fault) return gmailError(fault);
            const size = Number(request.headers["x-upload-content-length"]);
            const labelIds = (JSON.parse(body.toString("utf8") || "{}") as { labelIds?: string[] }).labelIds ?? [];
            if (!Number.isInteger(size) || request.headers["x-upload-content-type"] !== "message/rfc822") {
                return gmailError({ status: 400, reason: "badRequest", message: "X-Upload-Content-Length and X-Upload-Content-Type: message/rfc822 are required." });
            }
            if (size > IMPORT_LIMIT_BYTES) return gmailError({ status: 413, reason: "uploadTooLarge", message: `Media larger than ${IMPORT_LIMIT_BYTES} bytes.` });
            const problem = labelProblem(labelIds);
            if (problem) return gmailError({ status: 400, reason: "invalidArgument", message: problem });
            const id = `session-${++fake.sessionsOpened}`;
            sessions.set(id, { query: url.searchParams, authorization: request.headers.authorization, labelIds, size, contentType: request.headers["x-upload-content-type"] });
            response.writeHead(200, { location: `${base}${IMPORT_PATH}?uploadType=resumable&upload_id=${id}`, "content-length": "0" });
            return response.end();
        }
        if (request.method === "POST" && url.pathname === IMPORT_PATH) {
            const fault = nextFault("request");
            if (fault) return gmailError(fault);
            const { labelIds, message } = multipartParts(body, request.headers["content-type"]);
            if (message.length > IMPORT_LIMIT_BYTES) return gmailError({ status: 413, reason: "uploadTooLarge", message: `Media larger than ${IMPORT_LIMIT_BYTES} bytes.` });
            const problem = labelProblem(labelIds);
            if (problem) return gmailError({ status: 400, reason: "invalidArgument", message: problem });
            return reply(200, imported({
                query: url.searchParams, authorization: request.headers.authorization, contentType: request.headers["content-type"], body: body.toString("utf8"),
                upload: "multipart", labelIds, size: message.length, sha256: createHash("sha256").update(message).digest("hex"),
            }));
        }
        reply(404, { error: { code: 404, message: `unexpected ${request.method} ${url.pathname}` } });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return Object.assign(fake, {
        apiRootUrl: `${base}/`,
        tokenUrl: `${base}/token`,
        authUrl: `${base}/auth`,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
}
