// When a bounce would be sent, and when it would be backscatter. Pure.
import * as z from "zod/mini";
import { InvalidInputError } from "../shared/email";
import { eventDetail } from "../shared/sqs-body";

export interface BounceRequest {
    messageId: string;
    /** Envelope sender; empty for the null sender. */
    source: string;
    recipients: string[];
    receivedAt: string;
    verdicts: { spam: string; virus: string; spf: string; dkim: string };
    headers: { autoSubmitted?: string; precedence?: string; listId?: string };
}

const decision = z.looseObject({ action: z.string(), recipients: z._default(z.array(z.string()), []) });

const eventSchema = z.looseObject({
    messageId: z.string().check(z.minLength(1)),
    source: z._default(z.string(), ""),
    receivedAt: z.string(),
    verdicts: z.looseObject({ spam: z.string(), virus: z.string(), spf: z.string(), dkim: z.string() }),
    headers: z._default(z.looseObject({ autoSubmitted: z.optional(z.string()), precedence: z.optional(z.string()), listId: z.optional(z.string()) }), {}),
    decisions: z.array(decision),
});

/** The routing event's bounce decisions, as one request for all their recipients. */
export function parseBounceRequest(body: string): BounceRequest {
    const { decisions, ...mail } = eventDetail(body, eventSchema, "routing event detail (bounce)");
    const recipients = [...new Set(decisions.filter((d) => d.action === "bounce").flatMap((d) => d.recipients))];
    if (recipients.length === 0) {
        throw new InvalidInputError(`Routing event ${mail.messageId} has no bounce decision with recipients`);
    }
    return { ...mail, recipients };
}

/** SES accepts SendBounce only within 24 hours of receipt. */
export const BOUNCE_WINDOW_MS = 24 * 3600 * 1000;

export type NoBounceReason =
    | "null-sender" | "spam-or-virus" | "unauthenticated-sender" | "auto-submitted" | "bulk-precedence"
    | "mailing-list" | "own-mailer-daemon" | "outside-24h-window";

/**
 * Why this mail must not be bounced, or undefined if a bounce is safe. Every rule prevents
 * backscatter: bouncing to an address that did not really send the mail.
 */
export function noBounceReason(request: BounceRequest, ownMailerDaemons: string[], now: number): NoBounceReason | undefined {
    if (request.source.trim() === "") return "null-sender";
    if (request.verdicts.spam === "FAIL" || request.verdicts.virus === "FAIL") return "spam-or-virus";
    if (request.verdicts.spf !== "PASS" && request.verdicts.dkim !== "PASS") return "unauthenticated-sender";
    const autoSubmitted = request.headers.autoSubmitted?.trim().toLowerCase();
    if (autoSubmitted !== undefined && autoSubmitted !== "no") return "auto-submitted";
    if (["bulk", "list", "junk"].includes(request.headers.precedence?.trim().toLowerCase() ?? "")) return "bulk-precedence";
    if (request.headers.listId !== undefined) return "mailing-list";
    if (ownMailerDaemons.includes(request.source.toLowerCase())) return "own-mailer-daemon";
    if (now - Date.parse(request.receivedAt) > BOUNCE_WINDOW_MS) return "outside-24h-window";
    return undefined;
}

/** Recipients grouped by domain: each bounce is sent from MAILER-DAEMON@<that domain>. */
export function recipientsByDomain(recipients: string[]): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const recipient of recipients) {
        const domain = recipient.slice(recipient.lastIndexOf("@") + 1).toLowerCase();
        groups.set(domain, [...(groups.get(domain) ?? []), recipient]);
    }
    return groups;
}
