// A loopback stand-in for Google's OAuth endpoints (consent, token: refresh and authorization-code
// grants with PKCE) and the Gmail API's media-upload import, scripted per test. Only 127.0.0.1 is
// ever contacted.
import { createHash } from "node:crypto";
import { createServer, IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ImportCall {
    query: URLSearchParams;
    authorization?: string;
    contentType?: string;
    body: string;
}

/** How the consent screen and the code exchange answer. */
export interface ConsentScript {
    /** The user declines on the consent screen. @default false */
    deny?: boolean;
    /** Who signs in (the ID token's email). @default the login_hint */
    signInAs?: string;
    /** Google omits the refresh token (access granted before, no new consent). @default false */
    withoutRefreshToken?: boolean;
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
    /** Status codes for the next import calls, in order (then 200). */
    gmailScript: number[];
    /** `invalid_grant` makes the token endpoint refuse the refresh token; `network` drops the connection. */
    tokenBehaviour: "ok" | "invalid_grant" | "network";
    close(): Promise<void>;
}

const ERRORS: Record<number, unknown> = {
    401: { error: { code: 401, message: "Request had invalid authentication credentials.", status: "UNAUTHENTICATED" } },
    403: { error: { code: 403, message: "Insufficient Permission", status: "PERMISSION_DENIED" } },
    429: { error: { code: 429, message: "Too many concurrent requests for user.", status: "RESOURCE_EXHAUSTED" } },
    500: { error: { code: 500, message: "Backend Error", status: "INTERNAL" } },
};

// Shorter than google-auth-library's 5-minute eager refresh, so every call exchanges the refresh
// token again and a revoked token is noticed at once.
const ACCESS_TOKEN_SECONDS = 60;

function readBody(request: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        request.on("error", reject);
    });
}

export async function startFakeGoogle(): Promise<FakeGoogle> {
    let sequence = 0;
    const fake = {
        imports: [] as ImportCall[], tokenRequests: [] as URLSearchParams[], gmailScript: [] as number[], tokenBehaviour: "ok" as FakeGoogle["tokenBehaviour"],
        consentRequests: [] as URLSearchParams[], consent: {} as ConsentScript, issuedRefreshTokens: [] as string[],
    };
    const codes = new Map<string, URLSearchParams>();
    const jwt = (claims: object) => ["{\"alg\":\"RS256\"}", JSON.stringify(claims)].map((part) => Buffer.from(part).toString("base64url")).join(".") + ".signature";
    const server: Server = createServer(async (request, response) => {
        const url = new URL(request.url ?? "/", "http://127.0.0.1");
        const body = await readBody(request);
        const reply = (status: number, payload: unknown) => {
            response.writeHead(status, { "content-type": "application/json" });
            response.end(JSON.stringify(payload));
        };
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
        const form = new URLSearchParams(body);
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
                id_token: jwt({ iss: "https://accounts.google.com", aud: form.get("client_id"), email: fake.consent.signInAs ?? consented.get("login_hint"), email_verified: true }),
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
        if (request.method === "POST" && url.pathname === "/upload/gmail/v1/users/me/messages/import") {
            const status = fake.gmailScript.shift() ?? 200;
            if (status !== 200) return reply(status, ERRORS[status] ?? { error: { code: status, message: "error" } });
            fake.imports.push({ query: url.searchParams, authorization: request.headers.authorization, contentType: request.headers["content-type"], body });
            return reply(200, { id: `gmail-${fake.imports.length}`, threadId: `thread-${fake.imports.length}`, labelIds: ["INBOX", "UNREAD"] });
        }
        reply(404, { error: { code: 404, message: `unexpected ${request.method} ${url.pathname}` } });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return Object.assign(fake, {
        apiRootUrl: `${base}/`,
        tokenUrl: `${base}/token`,
        authUrl: `${base}/auth`,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    });
}
