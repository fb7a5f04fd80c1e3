import { Readable } from "node:stream";
import { gmail, gmail_v1 } from "@googleapis/gmail";
import type { OAuthClientCredentials } from "../shared/gmail-oauth";
import { googleOAuthClient } from "../shared/google-client";

export interface ImportOptions {
    labelIds: string[];
    internalDateSource: "dateHeader" | "receivedTime";
    neverMarkSpam: boolean;
}

export interface GmailEndpoints {
    /** Gmail API root, e.g. `https://gmail.googleapis.com/` (tests point it at a local server). */
    apiRootUrl?: string;
    /** OAuth token endpoint. @default Google's */
    tokenUrl?: string;
    /** Per-request timeout. @default 60000 */
    timeoutMs?: number;
}

/** Imports raw messages into one Gmail account, streaming the body as a media upload. */
export class GmailImporter {
    private readonly api: gmail_v1.Gmail;

    constructor(credentials: Pick<OAuthClientCredentials, "clientId" | "clientSecret">, refreshToken: string, private readonly endpoints: GmailEndpoints = {}) {
        const auth = googleOAuthClient(credentials, { tokenUrl: endpoints.tokenUrl });
        auth.setCredentials({ refresh_token: refreshToken });
        this.api = gmail({ version: "v1", auth });
    }

    /** `users.messages.import` with the RFC 822 message as the upload body. Returns Gmail's message id. */
    public async importMessage(raw: Readable | Buffer, options: ImportOptions): Promise<string> {
        const response = await this.api.users.messages.import({
            userId: "me",
            internalDateSource: options.internalDateSource,
            neverMarkSpam: options.neverMarkSpam,
            requestBody: { labelIds: options.labelIds },
            // The upload pipes its body, so a Buffer (e.g. a notice) travels as a one-chunk stream.
            media: { mimeType: "message/rfc822", body: Buffer.isBuffer(raw) ? Readable.from([raw]) : raw },
        // The generated client reads rootUrl from each call's options (not the constructor's) for uploads.
        }, { timeout: this.endpoints.timeoutMs ?? 60_000, retry: false, ...(this.endpoints.apiRootUrl ? { rootUrl: this.endpoints.apiRootUrl } : {}) });
        return response.data.id ?? "";
    }
}
