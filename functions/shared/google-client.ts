import { OAuth2Client } from "google-auth-library";
import type { OAuthClientCredentials } from "./gmail-oauth";

export interface OAuthEndpoints {
    /** OAuth token endpoint. @default Google's */
    tokenUrl?: string;
    /** OAuth authorization (consent) endpoint. @default Google's */
    authUrl?: string;
    /** Per-request timeout of token calls. @default none (google-auth-library's) */
    timeoutMs?: number;
}

/** One way to build Google's OAuth client, so the forwarder, probe and command exchange tokens alike. */
export function googleOAuthClient(credentials: Pick<OAuthClientCredentials, "clientId" | "clientSecret">, endpoints: OAuthEndpoints = {}, redirectUri?: string): OAuth2Client {
    return new OAuth2Client({
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
        redirectUri,
        endpoints: {
            ...(endpoints.tokenUrl ? { oauth2TokenUrl: endpoints.tokenUrl } : {}),
            ...(endpoints.authUrl ? { oauth2AuthBaseUrl: endpoints.authUrl } : {}),
        },
        ...(endpoints.timeoutMs ? { transporterOptions: { timeout: endpoints.timeoutMs } } : {}),
    });
}
