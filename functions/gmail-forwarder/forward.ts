import type { Readable } from "node:stream";
import * as z from "zod/mini";
import { normalisedEmail } from "../shared/email";
import { eventDetail } from "../shared/sqs-body";
import type { OAuthClientCredentials } from "../shared/gmail-oauth";
import type { ImportOptions } from "./gmail";

export interface ForwardRequest {
    messageId: string;
    target: string;
    recipients: string[];
    labels: string[];
    source: string;
    subject?: string;
    receivedAt: string;
    s3: { bucket: string; key: string };
}

const requestSchema = z.looseObject({
    messageId: z.string().check(z.minLength(1)),
    action: z.literal("forward-to-gmail"),
    target: normalisedEmail,
    recipients: z.array(z.string()),
    labels: z._default(z.array(z.string()), []),
    source: z._default(z.string(), ""),
    subject: z.optional(z.string()),
    receivedAt: z.string(),
    s3: z.looseObject({ bucket: z.string().check(z.minLength(1)), key: z.string().check(z.minLength(1)) }),
});

/** The routing decision inside the EventBridge event that SQS delivers. */
export function parseForwardRequest(body: string): ForwardRequest {
    return eventDetail(body, requestSchema, "routing event detail (forward-to-gmail)");
}

export interface ForwardSettings {
    /** Larger mail gets a notice with its S3 location instead. */
    maxImportBytes: number;
    internalDateSource: ImportOptions["internalDateSource"];
    neverMarkSpam: boolean;
}

export interface ForwardPorts {
    credentials(account: string): Promise<{ client: OAuthClientCredentials; refreshToken: string }>;
    /** Opens the raw mail; `size` comes from the response, before any byte is read. */
    openObject(bucket: string, key: string): Promise<{ size: number; body: Readable }>;
    importer(account: string, client: OAuthClientCredentials, refreshToken: string): { importMessage(raw: Readable | Buffer, options: ImportOptions): Promise<string> };
}

export interface ForwardResult {
    gmailMessageId: string;
    oversize: boolean;
    bytes: number;
}

/** A short RFC 822 notice that says where the too-large mail is stored. */
export function oversizeNotice(request: ForwardRequest, size: number, limit: number): Buffer {
    const subject = `[Too large to import] ${request.subject ?? "(no subject)"}`.replace(/[\r\n]+/g, " ");
    const lines = [
        "From: ses-mail <postmaster@ses-mail.invalid>",
        `To: <${request.target}>`,
        `Subject: ${subject}`,
        `Date: ${new Date(request.receivedAt).toUTCString().replace("GMT", "+0000")}`,
        `Message-ID: <oversize-${request.messageId}@ses-mail.invalid>`,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "",
        `A message from ${request.source || "(null sender)"} to ${request.recipients.join(", ")} is ${size} bytes,`,
        `more than Gmail's import limit of ${limit} bytes, so it was not imported.`,
        "",
        `It is stored at s3://${request.s3.bucket}/${request.s3.key} (SES message id ${request.messageId}).`,
        "",
    ];
    return Buffer.from(lines.join("\r\n"), "utf8");
}

/** Imports one message into the account the rule named: streamed from S3, or a notice if too large. */
export async function forwardToGmail(request: ForwardRequest, settings: ForwardSettings, ports: ForwardPorts): Promise<ForwardResult> {
    const { client, refreshToken } = await ports.credentials(request.target);
    const importer = ports.importer(request.target, client, refreshToken);
    const object = await ports.openObject(request.s3.bucket, request.s3.key);
    const options: ImportOptions = {
        labelIds: [...new Set(["INBOX", "UNREAD", ...request.labels])],
        internalDateSource: settings.internalDateSource,
        neverMarkSpam: settings.neverMarkSpam && !request.labels.includes("SPAM"),
    };
    if (object.size > settings.maxImportBytes) {
        object.body.destroy();
        const id = await importer.importMessage(oversizeNotice(request, object.size, settings.maxImportBytes), { ...options, internalDateSource: "receivedTime" });
        return { gmailMessageId: id, oversize: true, bytes: object.size };
    }
    return { gmailMessageId: await importer.importMessage(object.body, options), oversize: false, bytes: object.size };
}
