// Parses the SES receipt notification (S3 action → SNS → SQS) into the mail the router decides on.
import * as z from "zod/mini";
import { normaliseEmail, parseOrThrow } from "../shared/email";
import { decodeSqsBody } from "../shared/sqs-body";

export type VerdictStatus = "PASS" | "FAIL" | "GRAY" | "PROCESSING_FAILED" | "DISABLED";

export interface ReceivedMail {
    messageId: string;
    /** Envelope sender (MAIL FROM); empty for bounces and other null-sender mail. */
    source: string;
    /** Our recipients SES accepted the mail for. */
    recipients: string[];
    receivedAt: string;
    subject?: string;
    from?: string;
    s3: { bucket: string; key: string };
    verdicts: { spam: VerdictStatus; virus: VerdictStatus; spf: VerdictStatus; dkim: VerdictStatus; dmarc: VerdictStatus; dmarcPolicy?: string };
    /** Headers that decide whether a bounce would be backscatter. */
    headers: { autoSubmitted?: string; precedence?: string; listId?: string };
}

const verdict = z._default(z.looseObject({ status: z.enum(["PASS", "FAIL", "GRAY", "PROCESSING_FAILED", "DISABLED"]) }), { status: "DISABLED" as const });

const notificationSchema = z.looseObject({
    notificationType: z.literal("Received"),
    mail: z.looseObject({
        timestamp: z.string(),
        source: z.string(),
        messageId: z.string().check(z.minLength(1)),
        headers: z._default(z.array(z.looseObject({ name: z.string(), value: z.string() })), []),
        commonHeaders: z._default(z.looseObject({ subject: z.optional(z.string()), from: z.optional(z.array(z.string())) }), {}),
    }),
    receipt: z.looseObject({
        timestamp: z.string(),
        recipients: z.array(z.string()).check(z.minLength(1)),
        spamVerdict: verdict,
        virusVerdict: verdict,
        spfVerdict: verdict,
        dkimVerdict: verdict,
        dmarcVerdict: verdict,
        dmarcPolicy: z.optional(z.string()),
        action: z.looseObject({ type: z.literal("S3"), bucketName: z.string().check(z.minLength(1)), objectKey: z.string().check(z.minLength(1)) }),
    }),
});

function header(headers: { name: string; value: string }[], name: string): string | undefined {
    return headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value.trim();
}

/** Parses an SQS body: the SNS envelope around SES's receipt notification (or the notification itself). */
export function parseReceiptNotification(body: string): ReceivedMail {
    const { message } = decodeSqsBody(body);
    const { mail, receipt } = parseOrThrow(notificationSchema, message, "SES receipt notification");
    const source = mail.source.trim() === "<>" ? "" : mail.source.trim();
    return {
        messageId: mail.messageId,
        source: source === "" ? "" : normaliseEmail(source.replace(/^<|>$/g, "")),
        recipients: [...new Set(receipt.recipients.map(normaliseEmail))],
        receivedAt: receipt.timestamp,
        subject: mail.commonHeaders.subject,
        from: mail.commonHeaders.from?.[0],
        s3: { bucket: receipt.action.bucketName, key: receipt.action.objectKey },
        verdicts: {
            spam: receipt.spamVerdict.status,
            virus: receipt.virusVerdict.status,
            spf: receipt.spfVerdict.status,
            dkim: receipt.dkimVerdict.status,
            dmarc: receipt.dmarcVerdict.status,
            ...(receipt.dmarcPolicy ? { dmarcPolicy: receipt.dmarcPolicy.toLowerCase() } : {}),
        },
        headers: {
            autoSubmitted: header(mail.headers, "Auto-Submitted"),
            precedence: header(mail.headers, "Precedence"),
            listId: header(mail.headers, "List-Id"),
        },
    };
}
