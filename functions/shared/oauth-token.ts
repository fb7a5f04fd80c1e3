// The OAuth 2.0 refresh-token grant (RFC 6749 §6) against Google's token endpoint, with Node's own
// fetch: what the token probe needs, without google-auth-library, gaxios and node-fetch in its bundle
// (about 300 KB of the probe's 466 KB). The forwarder keeps google-auth-library: the Gmail client
// needs it. Google's side: "Using OAuth 2.0 for Web Server Applications", "Refreshing an access
// token (offline access)": https://developers.google.com/identity/protocols/oauth2/web-server#offline
import type { OAuthClientCredentials } from "./gmail-oauth";

/** Google's OAuth token endpoint (google-auth-library's default `oauth2TokenUrl`). */
export const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

/**
 * The retries google-auth-library makes on a token request (gaxios 7 `retry.js` with the
 * library's `RETRY_CONFIG`, POST included): an answer of 408, 429 or 5xx up to 3 more times, no
 * answer at all (reset, DNS, timeout) up to 2 more times; waits of 100 ms, 500 ms, 1.5 s.
 */
export const TOKEN_RETRY = { statusRetries: 3, networkRetries: 2, delaysMs: [100, 500, 1500] } as const;

export interface TokenExchangeOptions {
    /** @default GOOGLE_TOKEN_URL */
    tokenUrl?: string;
    /** Per-attempt timeout. @default none (as google-auth-library) */
    timeoutMs?: number;
    /** @default globalThis.fetch */
    fetch?: typeof fetch;
    /** @default setTimeout */
    sleep?: (ms: number) => Promise<void>;
}

export interface AccessToken {
    accessToken: string;
    /** Seconds, when Google says. */
    expiresIn?: number;
    scope?: string;
}

/**
 * A failed exchange, shaped as google-auth-library's GaxiosError where callers look: `status` and
 * `response: { status, data }` (Google's JSON error body: `{ error, error_description }`) when the
 * endpoint answered, `code` (e.g. `ECONNRESET`, `TimeoutError`) when it did not. The message never
 * carries the request (refresh token, client secret).
 */
export class TokenEndpointError extends Error {
    public override readonly name = "TokenEndpointError";
    public readonly status?: number;
    public readonly code?: string;
    public readonly response?: { status: number; data: unknown };

    constructor(message: string, details: { status?: number; data?: unknown; code?: string }) {
        super(message);
        if (details.status !== undefined) {
            this.status = details.status;
            this.response = { status: details.status, data: details.data };
        }
        this.code = details.code;
    }
}

const retryableStatus = (status: number) => status === 408 || status === 429 || (status >= 500 && status <= 599) || (status >= 100 && status <= 199);

/** undici's fetch fails with `TypeError("fetch failed")` whose `cause` carries the system error code. */
function networkCode(error: unknown): string {
    const e = error as { name?: string; code?: unknown; cause?: { code?: unknown; name?: string } };
    if (typeof e?.cause?.code === "string") return e.cause.code;
    if (typeof e?.code === "string") return e.code;
    return e?.name === "TypeError" ? e.cause?.name ?? "fetch failed" : e?.name ?? String(error);
}

async function readBody(response: Response): Promise<unknown> {
    const text = await response.text();
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/**
 * Exchanges a refresh token for an access token: one form-encoded POST, retried as
 * google-auth-library retries it (`TOKEN_RETRY`). Throws TokenEndpointError.
 */
export async function exchangeRefreshToken(
    client: Pick<OAuthClientCredentials, "clientId" | "clientSecret">,
    refreshToken: string,
    options: TokenExchangeOptions = {},
): Promise<AccessToken> {
    const doFetch = options.fetch ?? globalThis.fetch;
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const body = new URLSearchParams({ refresh_token: refreshToken, client_id: client.clientId, client_secret: client.clientSecret, grant_type: "refresh_token" }).toString();
    for (let attempt = 0; ; attempt++) {
        let failure: TokenEndpointError;
        let retries: number;
        try {
            const response = await doFetch(options.tokenUrl ?? GOOGLE_TOKEN_URL, {
                method: "POST",
                headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
                body,
                ...(options.timeoutMs ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
            });
            const data = await readBody(response);
            const token = data as { access_token?: unknown; expires_in?: unknown; scope?: unknown; error?: unknown } | undefined;
            if (response.ok && typeof token?.access_token === "string") {
                return {
                    accessToken: token.access_token,
                    ...(typeof token.expires_in === "number" ? { expiresIn: token.expires_in } : {}),
                    ...(typeof token.scope === "string" ? { scope: token.scope } : {}),
                };
            }
            const message = typeof token?.error === "string" ? token.error : response.ok ? "token endpoint answered without an access_token" : `token endpoint answered ${response.status}`;
            failure = new TokenEndpointError(message, { status: response.status, data });
            retries = retryableStatus(response.status) ? TOKEN_RETRY.statusRetries : 0;
        } catch (error) {
            const code = networkCode(error);
            failure = new TokenEndpointError(`token endpoint not reached: ${code}`, { code });
            retries = TOKEN_RETRY.networkRetries;
        }
        if (attempt >= retries) throw failure;
        await sleep(TOKEN_RETRY.delaysMs[attempt]);
    }
}
