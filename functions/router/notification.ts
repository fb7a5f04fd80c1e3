// Parses the SES receipt notification (S3 action → SNS → SQS) into the mail the router decides on.
// SES has already accepted the SMTP transaction when this arrives, so addresses are never judged:
// envelope senders are RFC 5321 addresses as bulk senders and forwarders write them (VERP, SRS,
// BATV, quoted local parts, the null sender `<>`). Only the notification's structure can be broken.
import * as z from "zod/mini";
import { InvalidInputError } from "../shared/email";
import type { RoutingEvent } from "../shared/routing-event";
import { decodeSqsBody } from "../shared/sqs-body";

export type { VerdictStatus } from "../shared/routing-event";

/** A routing event before its decisions: everything the router read from the notification. */
export type ReceivedMail = Omit<RoutingEvent, "decisions">;

/**
 * An envelope address as SES delivered it: trimmed, surrounding `<>` removed, the domain (after the
 * last `@`) lowercased. The local part is kept as delivered (RFC 5321 §2.4: it may be case
 * sensitive); rule lookup lowercases on its own. `<>` and "" are the null sender: "".
 */
export function normaliseAddress(address: string): string {
    let value = address.trim();
    if (value.startsWith("<")) value = value.slice(1);
    if (value.endsWith(">")) value = value.slice(0, -1);
    value = value.trim();
    const at = value.lastIndexOf("@");
    return at < 0 ? value : value.slice(0, at) + value.slice(at).toLowerCase();
}

const verdict = z._default(z.looseObject({ status: z.enum(["PASS", "FAIL", "GRAY", "PROCESSING_FAILED", "DISABLED"]) }), { status: "DISABLED" as const });
const nonEmpty = z.string().check(z.minLength(1));

const notificationSchema = z.looseObject({
    notificationType: z.literal("Received"),
    mail: z.looseObject({
        timestamp: z.optional(z.string()),
        source: z._default(z.string(), ""),
        messageId: nonEmpty,
        headers: z._default(z.array(z.looseObject({ name: z.string(), value: z.string() })), []),
        commonHeaders: z._default(z.looseObject({ subject: z.optional(z.string()), from: z.optional(z.array(z.string())) }), {}),
    }),
    receipt: z.looseObject({
        timestamp: z.optional(z.string()),
        recipients: z.array(z.string()).check(z.minLength(1)),
        spamVerdict: verdict,
        virusVerdict: verdict,
        spfVerdict: verdict,
        dkimVerdict: verdict,
        dmarcVerdict: verdict,
        dmarcPolicy: z.optional(z.string()),
        action: z.looseObject({ type: z.literal("S3"), bucketName: nonEmpty, objectKey: nonEmpty }),
    }),
});

const shown = (value: unknown) => (value === undefined ? "nothing" : (JSON.stringify(value) ?? String(value)).slice(0, 80));

/** Readable reasons (zod/mini loads no locale: its own messages say only "Invalid input"). */
const describeIssue: z.core.$ZodErrorMap = (issue) => {
    switch (issue.code) {
        case "invalid_type": return issue.input === undefined ? `missing (expected ${issue.expected})` : `expected ${issue.expected}, got ${shown(issue.input)}`;
        case "invalid_value": return `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}, got ${shown(issue.input)}`;
        case "too_small": return issue.origin === "array" ? "empty list" : "empty";
        default: return undefined;
    }
};

/** The notification, validated, or an {@link InvalidInputError} naming every structural problem. */
function validNotification(message: unknown): z.output<typeof notificationSchema> {
    const result = notificationSchema.safeParse(message, { error: describeIssue });
    if (!result.success) {
        const reasons = result.error.issues.map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message));
        throw new InvalidInputError(`Invalid SES receipt notification: ${reasons.join("; ")}`);
    }
    return result.data;
}

function header(headers: { name: string; value: string }[], name: string): string | undefined {
    return headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value.trim();
}

/** Parses an SQS body: the SNS envelope around SES's receipt notification (or the notification itself). */
export function parseReceiptNotification(body: string): ReceivedMail {
    const { message, snsType } = decodeSqsBody(body);
    if (message === undefined && snsType !== undefined) {
        throw new InvalidInputError(`SNS ${snsType} message carries no SES receipt notification`);
    }
    const { mail, receipt } = validNotification(message);
    const recipients = [...new Set(receipt.recipients.map(normaliseAddress).filter((r) => r !== ""))];
    const receivedAt = receipt.timestamp ?? mail.timestamp;
    if (recipients.length === 0 || receivedAt === undefined) {
        const reason = recipients.length === 0 ? "receipt.recipients: no recipient address" : "receipt.timestamp: missing (and no mail.timestamp)";
        throw new InvalidInputError(`Invalid SES receipt notification: ${reason}`);
    }
    return {
        messageId: mail.messageId,
        source: normaliseAddress(mail.source),
        recipients,
        receivedAt,
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

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/** The SES message id and S3 location, read from whatever part of a notification is readable. */
export function readableIds(message: unknown): { messageId?: string; s3?: { bucket: string; key: string } } {
    const mail = isObject(message) && isObject(message.mail) ? message.mail : {};
    const receipt = isObject(message) && isObject(message.receipt) ? message.receipt : {};
    const action = isObject(receipt.action) ? receipt.action : {};
    const messageId = text(mail.messageId);
    const bucket = text(action.bucketName);
    const key = text(action.objectKey);
    return { ...(messageId ? { messageId } : {}), ...(bucket && key ? { s3: { bucket, key } } : {}) };
}

/** {@link readableIds} of an SQS body that failed to parse; nothing when it is not even JSON. */
export function readableIdsOfBody(body: string): ReturnType<typeof readableIds> {
    try {
        return readableIds(decodeSqsBody(body).message);
    } catch {
        return {};
    }
}
