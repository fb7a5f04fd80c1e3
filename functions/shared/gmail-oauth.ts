// What the forwarder, the token probe and the `ses-mail token` command agree on: where the OAuth
// secrets live in SSM, how a stored refresh token looks, and the tags that carry its metadata (the
// monitor reads tags, never the secret value).
import { InvalidInputError } from "./email";

/** `users.messages.import` needs gmail.insert; `openid email` lets the command check who signed in. */
export const GMAIL_SCOPES = ["https://www.googleapis.com/auth/gmail.insert", "openid", "email"];

/** Refresh tokens of apps in Google's "Testing" publishing status expire after 7 days. */
export const TESTING_TOKEN_LIFETIME_SECONDS = 7 * 86400;

/** Tag value of `expires_at_epoch` for tokens without an expiry date (published apps). */
export const NO_EXPIRY = "never";

/** What such a token reports as seconds left: Google's six months unused, which the hourly probe never lets happen. */
export const NO_EXPIRY_SECONDS = 180 * 86400;

/** Tags on the refresh-token parameter. */
export const TOKEN_TAGS = {
    createdAt: "created_at",
    expiresAt: "expires_at",
    expiresAtEpoch: "expires_at_epoch",
    lastProbeAt: "last_probe_at",
    lastProbeResult: "last_probe_result",
} as const;

export const TOKEN_METRICS = { secondsUntilExpiration: "TokenSecondsUntilExpiration", valid: "TokenValid" } as const;

/** The account has no usable refresh token (missing or unreadable parameter): wait for `token refresh`. */
export class TokenUnavailableError extends Error {
    public override readonly name = "TokenUnavailableError";
}

export interface OAuthClientCredentials {
    clientId: string;
    clientSecret: string;
    /** "web" clients accept only their registered redirect URIs; "installed" (Desktop) clients any loopback port. */
    kind: "installed" | "web" | "plain";
    redirectUris: string[];
}

/**
 * An account as an SSM name segment. Parameter names allow only `a-zA-Z0-9_.-` (and `/`), so
 * `you@gmail.com` becomes `you_at_gmail.com`; any other character becomes `_` and its code in hex.
 */
export function accountParameterSegment(account: string): string {
    return account.toLowerCase().replace("@", "_at_").replace(/[^a-z0-9_.-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`);
}

export const clientCredentialsName = (prefix: string) => `${prefix}/oauth/client-credentials`;
export const refreshTokenName = (prefix: string, account: string) => `${prefix}/oauth/refresh-token/${accountParameterSegment(account)}`;

/** SSM names: `<prefix>/oauth/client-credentials` and `<prefix>/oauth/refresh-token/<account segment>`. */
export function parameterNames(prefix: string, account: string) {
    return { clientCredentials: clientCredentialsName(prefix), refreshToken: refreshTokenName(prefix, account) };
}

/** Accepts `{client_id, client_secret}` or the JSON Google Cloud Console downloads (`installed` / `web`). */
export function parseClientCredentials(value: string): OAuthClientCredentials {
    let parsed: Record<string, unknown>;
    try {
        parsed = JSON.parse(value);
    } catch {
        throw new InvalidInputError("OAuth client credentials are not JSON: store {\"client_id\":…,\"client_secret\":…} or Google's client JSON.");
    }
    const kind = parsed.installed ? "installed" : parsed.web ? "web" : "plain";
    const inner = (parsed.installed ?? parsed.web ?? parsed) as Record<string, unknown>;
    if (typeof inner.client_id !== "string" || typeof inner.client_secret !== "string") {
        throw new InvalidInputError("OAuth client credentials lack client_id or client_secret.");
    }
    const redirectUris = Array.isArray(inner.redirect_uris) ? inner.redirect_uris.filter((u): u is string => typeof u === "string") : [];
    return { clientId: inner.client_id, clientSecret: inner.client_secret, kind, redirectUris };
}

/** The parameter value the token command writes; a bare token (older setups) is accepted too. */
export interface StoredToken {
    refresh_token: string;
    created_at: string;
    /** ISO time, or null when the token has no expiry date. */
    expires_at: string | null;
    expires_at_epoch: number | null;
    client_id: string;
    scope: string;
}

/**
 * The refresh token of a parameter value. A value that cannot be read waits for `token refresh`
 * (TokenUnavailableError: parked, not dead-lettered) with a fixed message: JSON.parse's own error
 * quotes the text around the fault, which is the secret, and error messages reach logs and SQS
 * message attributes.
 */
export function parseRefreshToken(value: string, parameterName: string): string {
    const trimmed = value.trim();
    if (!trimmed.startsWith("{")) return trimmed;
    let parsed: unknown;
    try {
        parsed = JSON.parse(trimmed);
    } catch {
        throw new TokenUnavailableError(`${parameterName} is not valid JSON; run: npx ses-mail token refresh`);
    }
    const token = (parsed as { refresh_token?: unknown }).refresh_token;
    if (typeof token !== "string" || token === "") {
        throw new TokenUnavailableError(`${parameterName} has no refresh_token; run: npx ses-mail token refresh`);
    }
    return token;
}

/** The value and tags to store for a fresh token; `lifetimeSeconds` null means no expiry date. */
export function tokenRecord(refreshToken: string, options: { now: Date; lifetimeSeconds: number | null; clientId: string; scope: string }): { value: StoredToken; tags: Record<string, string> } {
    const createdAt = options.now.toISOString();
    const expiresEpoch = options.lifetimeSeconds === null ? null : Math.floor(options.now.getTime() / 1000) + options.lifetimeSeconds;
    const expiresAt = expiresEpoch === null ? null : new Date(expiresEpoch * 1000).toISOString();
    return {
        value: { refresh_token: refreshToken, created_at: createdAt, expires_at: expiresAt, expires_at_epoch: expiresEpoch, client_id: options.clientId, scope: options.scope },
        tags: {
            [TOKEN_TAGS.createdAt]: createdAt,
            [TOKEN_TAGS.expiresAt]: expiresAt ?? NO_EXPIRY,
            [TOKEN_TAGS.expiresAtEpoch]: expiresEpoch === null ? NO_EXPIRY : String(expiresEpoch),
        },
    };
}
