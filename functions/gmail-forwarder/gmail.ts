import * as http from "node:http";
import * as https from "node:https";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { gmail, gmail_v1 } from "@googleapis/gmail";
import type { OAuth2Client } from "google-auth-library";
import type { OAuthClientCredentials } from "../shared/gmail-oauth";
import { googleOAuthClient } from "../shared/google-client";
import { GmailHttpError } from "./errors";
import { RESUMABLE_UPLOAD_THRESHOLD_BYTES } from "./limits";

export interface ImportOptions {
    labelIds: string[];
    internalDateSource: "dateHeader" | "receivedTime";
    neverMarkSpam: boolean;
}

/** The raw RFC 822 message and its size in bytes (known before any byte is read). */
export interface RawMessage {
    body: Readable | Buffer;
    size: number;
}

export interface GmailEndpoints {
    /** Gmail API root, e.g. `https://gmail.googleapis.com/` (tests point it at a local server). */
    apiRootUrl?: string;
    /** OAuth token endpoint. @default Google's */
    tokenUrl?: string;
    /** Per-request timeout; for the resumable upload's body, the longest pause between bytes. @default 60000 */
    timeoutMs?: number;
    /** Larger messages use a resumable upload session. @default RESUMABLE_UPLOAD_THRESHOLD_BYTES */
    resumableThresholdBytes?: number;
}

const DEFAULT_ROOT_URL = "https://gmail.googleapis.com/";
const IMPORT_PATH = "upload/gmail/v1/users/me/messages/import";

/**
 * Imports raw messages into one Gmail account with `users.messages.import`, streaming the body:
 * one multipart request for small messages, a resumable upload session for large ones.
 */
export class GmailImporter {
    private readonly auth: OAuth2Client;
    private readonly api: gmail_v1.Gmail;

    constructor(credentials: Pick<OAuthClientCredentials, "clientId" | "clientSecret">, refreshToken: string, private readonly endpoints: GmailEndpoints = {}) {
        this.auth = googleOAuthClient(credentials, { tokenUrl: endpoints.tokenUrl });
        this.auth.setCredentials({ refresh_token: refreshToken });
        this.api = gmail({ version: "v1", auth: this.auth });
    }

    /** Imports the message; returns Gmail's message id. */
    public async importMessage(message: RawMessage, options: ImportOptions): Promise<string> {
        const threshold = this.endpoints.resumableThresholdBytes ?? RESUMABLE_UPLOAD_THRESHOLD_BYTES;
        if (message.size > threshold) {
            return this.importResumable(Buffer.isBuffer(message.body) ? Readable.from([message.body]) : message.body, message.size, options);
        }
        return this.importMultipart(message.body, options);
    }

    private get timeoutMs(): number {
        return this.endpoints.timeoutMs ?? 60_000;
    }

    /** One `uploadType=multipart` request: the metadata and the message, streamed by googleapis. */
    private async importMultipart(raw: Readable | Buffer, options: ImportOptions): Promise<string> {
        const response = await this.api.users.messages.import({
            userId: "me",
            internalDateSource: options.internalDateSource,
            neverMarkSpam: options.neverMarkSpam,
            requestBody: { labelIds: options.labelIds },
            // The upload pipes its body, so a Buffer (e.g. a notice) travels as a one-chunk stream.
            media: { mimeType: "message/rfc822", body: Buffer.isBuffer(raw) ? Readable.from([raw]) : raw },
        // The generated client reads rootUrl from each call's options (not the constructor's) for uploads.
        }, { timeout: this.timeoutMs, retry: false, ...(this.endpoints.apiRootUrl ? { rootUrl: this.endpoints.apiRootUrl } : {}) });
        return response.data.id ?? "";
    }

    /**
     * A resumable upload ("Upload media", resumable protocol): a POST with the metadata and
     * `X-Upload-Content-Type` / `X-Upload-Content-Length` opens a session whose URI comes back in
     * `Location`; one PUT of the whole body to it, with `Content-Length`, completes the import. The
     * body is piped from S3 to the socket with backpressure, never held in memory. An interrupted
     * upload is not resumed here: the failure is classified and the queue retries with a new session.
     */
    private async importResumable(body: Readable, size: number, options: ImportOptions): Promise<string> {
        const url = new URL(IMPORT_PATH, this.endpoints.apiRootUrl ?? DEFAULT_ROOT_URL);
        url.searchParams.set("uploadType", "resumable");
        url.searchParams.set("internalDateSource", options.internalDateSource);
        url.searchParams.set("neverMarkSpam", String(options.neverMarkSpam));
        let sessionUri: string | null;
        try {
            // Through the OAuth client: it adds the access token (refreshing it first) and answers with GaxiosErrors, as googleapis does.
            const session = await this.auth.request<unknown>({
                url: url.toString(), method: "POST", timeout: this.timeoutMs, retry: false,
                headers: { "Content-Type": "application/json; charset=UTF-8", "X-Upload-Content-Type": "message/rfc822", "X-Upload-Content-Length": String(size) },
                data: JSON.stringify({ labelIds: options.labelIds }),
            });
            sessionUri = session.headers.get("location");
        } catch (error) {
            body.destroy();
            throw error;
        }
        if (!sessionUri) {
            body.destroy();
            throw new GmailHttpError(502, "no Location header", "Gmail opened no resumable upload session", "session");
        }
        const authorization = (await this.auth.getRequestHeaders(sessionUri)).get("authorization") ?? undefined;
        const { status, data } = await putStream(new URL(sessionUri, url), body, size, {
            "Content-Type": "message/rfc822",
            ...(authorization ? { Authorization: authorization } : {}),
        }, this.timeoutMs);
        if (status !== 200 && status !== 201) throw new GmailHttpError(status, data, "Gmail resumable upload failed");
        return (data as { id?: string } | undefined)?.id ?? "";
    }
}

/** PUTs a stream of exactly `size` bytes with node:http(s) and reads the (small) JSON answer. */
function putStream(url: URL, body: Readable, size: number, headers: Record<string, string>, idleTimeoutMs: number): Promise<{ status: number; data: unknown }> {
    return new Promise((resolve, reject) => {
        let answered = false;
        const request = (url.protocol === "https:" ? https : http).request(url, { method: "PUT", headers: { ...headers, "Content-Length": String(size) } });
        request.on("error", (error) => {
            if (!answered) reject(error);
        });
        request.setTimeout(idleTimeoutMs, () => request.destroy(Object.assign(new Error(`Gmail upload stalled for ${idleTimeoutMs} ms`), { code: "ETIMEDOUT" })));
        request.on("response", (response) => {
            answered = true;
            const chunks: Buffer[] = [];
            response.on("data", (chunk: Buffer) => chunks.push(chunk));
            response.on("error", reject);
            response.on("end", () => {
                const text = Buffer.concat(chunks).toString("utf8");
                let data: unknown = text;
                try {
                    data = JSON.parse(text);
                } catch {
                    // not JSON: keep the text for the error's reason
                }
                resolve({ status: response.statusCode ?? 0, data });
            });
        });
        // A failure while sending (S3 stream error, reset, length mismatch) fails the upload, unless Gmail already answered.
        pipeline(body, request).catch((error: unknown) => {
            if (!answered) reject(error);
        });
    });
}
