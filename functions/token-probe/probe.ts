// The probe's verdict on one refresh token: exchanged for an access token (valid), refused by
// Google (invalid: revoked, expired, password changed, client deleted), or not known because Google
// could not be reached (unreachable: says nothing about the token).
import type { OAuthClientCredentials } from "../shared/gmail-oauth";

/**
 * The token endpoint and per-attempt timeout from the function's environment. An empty variable is
 * unset, as in the forwarder's config (functions/gmail-forwarder/config.ts): an empty
 * OAUTH_TOKEN_URL means Google's endpoint, not a request to "" (which fails as unreachable, hour
 * after hour), and an empty OAUTH_TIMEOUT_MS the default 10 s, not 0.
 */
export function probeEndpoints(env: Record<string, string | undefined>): { tokenUrl?: string; timeoutMs: number } {
    return { tokenUrl: env.OAUTH_TOKEN_URL || undefined, timeoutMs: Number(env.OAUTH_TIMEOUT_MS || "10000") };
}

export type ProbeOutcome = "valid" | "invalid" | "missing" | "unreachable";

export interface ProbeResult {
    outcome: ProbeOutcome;
    reason: string;
}

/** OAuth errors that mean "this token or client will never work again". */
const REFUSALS = new Set(["invalid_grant", "invalid_client", "unauthorized_client", "access_denied"]);

interface GaxiosLikeError {
    message?: string;
    code?: string | number;
    status?: number;
    response?: { status?: number; data?: unknown };
}

/** Classifies a failed token exchange (a TokenEndpointError of shared/oauth-token.ts, or a GaxiosError: same fields). */
export function classifyExchangeError(error: unknown): ProbeResult {
    const e = (error ?? {}) as GaxiosLikeError;
    const status = e.response?.status ?? e.status;
    const data = e.response?.data as { error?: unknown; error_description?: unknown } | undefined;
    const oauthError = typeof data?.error === "string" ? data.error : undefined;
    if (oauthError && REFUSALS.has(oauthError)) {
        return { outcome: "invalid", reason: [oauthError, data?.error_description].filter(Boolean).join(": ") };
    }
    if (status === 400 || status === 401) {
        return { outcome: "invalid", reason: `token endpoint ${status}: ${oauthError ?? e.message ?? "refused"}` };
    }
    return { outcome: "unreachable", reason: status ? `token endpoint ${status}` : `network: ${e.code ?? e.message ?? String(error)}` };
}

export interface ProbePorts {
    /** The account's client credentials and refresh token, or undefined when a parameter is missing. */
    readSecrets(): Promise<{ client: OAuthClientCredentials; refreshToken: string } | { missing: string }>;
    /** Exchanges the refresh token for an access token (throws Google's error). */
    exchange(client: OAuthClientCredentials, refreshToken: string): Promise<void>;
}

export async function probeToken(ports: ProbePorts): Promise<ProbeResult> {
    const secrets = await ports.readSecrets();
    if ("missing" in secrets) return { outcome: "missing", reason: secrets.missing };
    try {
        await ports.exchange(secrets.client, secrets.refreshToken);
        return { outcome: "valid", reason: "exchanged for an access token" };
    } catch (error) {
        return classifyExchangeError(error);
    }
}
