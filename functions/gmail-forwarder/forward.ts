import type { Readable } from "node:stream";
import * as z from "zod/mini";
import { InvalidInputError, normalisedEmail, parseOrThrow } from "../shared/email";
import type { OAuthClientCredentials } from "../shared/gmail-oauth";
import type { RouteAction } from "../shared/routing-event";
import { eventDetail } from "../shared/sqs-body";
import type { ImportOptions, RawMessage } from "./gmail";

export const FORWARD_ACTION: RouteAction = "forward-to-gmail";

/** One import: a mail into one Gmail account, for every recipient whose decision named that account. */
export interface ForwardRequest {
    messageId: string;
    target: string;
    recipients: string[];
    /** The Gmail label ids of every forward decision for the target (rule labels, `SPAM`). */
    labels: string[];
    /** Why, per decision: `rule:<pattern>`, `default`, … */
    reasons: string[];
    source: string;
    subject?: string;
    receivedAt: string;
    s3: { bucket: string; key: string };
}

const decisionSchema = z.looseObject({
    action: z.string(),
    target: z.optional(z.string()),
    recipients: z._default(z.array(z.string()), []),
    reason: z._default(z.string(), ""),
    labels: z._default(z.array(z.string()), []),
});
type Decision = z.output<typeof decisionSchema>;

const detailSchema = z.looseObject({
    messageId: z.string().check(z.minLength(1)),
    source: z._default(z.string(), ""),
    subject: z.optional(z.string()),
    receivedAt: z.string(),
    s3: z.looseObject({ bucket: z.string().check(z.minLength(1)), key: z.string().check(z.minLength(1)) }),
    decisions: z.array(decisionSchema),
});
type Detail = z.output<typeof detailSchema>;

/** Decisions for one account share a key however the router spelled the address. */
const targetKey = (target: string | undefined) => (target ?? "").trim().toLowerCase();
const isForward = (decision: Decision) => decision.action === FORWARD_ACTION;
const union = (lists: string[][]) => [...new Set(lists.flat())];

/**
 * The forward-to-gmail decisions of a routing event (the EventBridge event SQS delivers), merged
 * into one request per Gmail account: recipients and labels united, so that two decisions for the
 * same account (say, different labels for two recipients) make one import, as the idempotency key
 * [messageId, target] requires. In the order the accounts first appear; empty when none.
 */
export function parseForwardRequests(body: string): ForwardRequest[] {
    const detail: Detail = eventDetail(body, detailSchema, "routing event detail");
    const byTarget = new Map<string, Decision[]>();
    for (const decision of detail.decisions.filter(isForward)) {
        const key = targetKey(decision.target);
        byTarget.set(key, [...(byTarget.get(key) ?? []), decision]);
    }
    return [...byTarget.values()].map((decisions) => ({
        messageId: detail.messageId,
        // Checked when this account's import runs, so that one bad decision fails only its own copy.
        target: decisions[0].target?.trim().toLowerCase() ?? "",
        recipients: union(decisions.map((d) => d.recipients)),
        labels: union(decisions.map((d) => d.labels)),
        reasons: union(decisions.map((d) => [d.reason])).filter(Boolean),
        source: detail.source,
        ...(detail.subject !== undefined ? { subject: detail.subject } : {}),
        receivedAt: detail.receivedAt,
        s3: { bucket: detail.s3.bucket, key: detail.s3.key },
    }));
}

/**
 * One SQS body per account for an event with several: the same event with `detail.decisions`
 * narrowed to that account's forward decisions. Each copy is then imported (idempotently), retried,
 * parked or dead-lettered on its own.
 */
export function splitByTarget(body: string, requests: ForwardRequest[]): { target: string; body: string }[] {
    const event = JSON.parse(body) as { detail: { decisions: Decision[] } };
    return requests.map((request) => ({
        target: request.target,
        body: JSON.stringify({
            ...event,
            detail: { ...event.detail, decisions: event.detail.decisions.filter((d) => isForward(d) && targetKey(d.target) === request.target) },
        }),
    }));
}

/** The account of a request, checked: the decision must name a Gmail address. */
export function checkedTarget(request: ForwardRequest): string {
    if (request.target === "") throw new InvalidInputError("Invalid routing event detail: a forward-to-gmail decision names no target account");
    return parseOrThrow(normalisedEmail, request.target, "forward-to-gmail target");
}

const SYSTEM_BOXES = ["SPAM", "TRASH", "INBOX"] as const;

/**
 * The label ids to import with. Gmail accepts at most one of INBOX, SPAM and TRASH on a message:
 * mail the spam verdict marked (`SPAM`, spamAction label) goes to Spam, never the inbox; a rule's
 * TRASH wins over the inbox; everything else lands in the inbox. Always UNREAD, then the rule labels.
 */
export function importLabels(labels: string[]): string[] {
    const box = SYSTEM_BOXES.find((b) => labels.includes(b)) ?? "INBOX";
    const rest = labels.filter((l) => !(SYSTEM_BOXES as readonly string[]).includes(l) && l !== "UNREAD");
    return [...new Set([box, "UNREAD", ...rest])];
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
    importer(account: string, client: OAuthClientCredentials, refreshToken: string): { importMessage(message: RawMessage, options: ImportOptions): Promise<string> };
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
        `more than the import limit of ${limit} bytes, so it was not imported into Gmail.`,
        "",
        `It is stored at s3://${request.s3.bucket}/${request.s3.key} (SES message id ${request.messageId}).`,
        "",
    ];
    return Buffer.from(lines.join("\r\n"), "utf8");
}

/** Imports one message into the account the rule named: streamed from S3, or a notice if too large. */
export async function forwardToGmail(request: ForwardRequest, settings: ForwardSettings, ports: ForwardPorts): Promise<ForwardResult> {
    const target = checkedTarget(request);
    const { client, refreshToken } = await ports.credentials(target);
    const importer = ports.importer(target, client, refreshToken);
    const object = await ports.openObject(request.s3.bucket, request.s3.key);
    const labelIds = importLabels(request.labels);
    const options: ImportOptions = {
        labelIds,
        internalDateSource: settings.internalDateSource,
        neverMarkSpam: settings.neverMarkSpam && !labelIds.includes("SPAM"),
    };
    if (object.size > settings.maxImportBytes) {
        object.body.destroy();
        const notice = oversizeNotice({ ...request, target }, object.size, settings.maxImportBytes);
        const id = await importer.importMessage({ body: notice, size: notice.length }, { ...options, internalDateSource: "receivedTime" });
        return { gmailMessageId: id, oversize: true, bytes: object.size };
    }
    return { gmailMessageId: await importer.importMessage({ body: object.body, size: object.size }, options), oversize: false, bytes: object.size };
}

/**
 * What the retry queue keeps of a parked mail: the routing event without its subject and header
 * From. The retry drain (a Standard state machine) receives parked messages in its own SDK tasks,
 * and Step Functions keeps every task's response in the execution history for 90 days; this way the
 * history holds ids, addresses, the S3 location and the decisions, never what the mail says (a
 * drained notice of a too-large mail then says "(no subject)"). A body that is not an event stays.
 */
export function parkedBody(body: string): string {
    let event: unknown;
    try {
        event = JSON.parse(body);
    } catch {
        return body;
    }
    if (typeof event !== "object" || event === null || typeof (event as { detail?: unknown }).detail !== "object") return body;
    const { detail, ...envelope } = event as { detail: Record<string, unknown> };
    const kept = { ...detail };
    delete kept.subject;
    delete kept.from;
    return JSON.stringify({ ...envelope, detail: kept });
}
