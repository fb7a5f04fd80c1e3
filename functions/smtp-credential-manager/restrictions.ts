// A restricted sender is really restricted: the SMTP users allowed to send as it are disabled the
// ordinary way (their record's status becomes `disabled`; the stream run then sets every key
// Inactive). Triggered by the sender notifications topic (restrictions only) and repeated by the
// hourly sweep for every restricted sender, so a lost notification or a user enabled again while its
// sender is still restricted is caught within the hour. Lifting a restriction enables nobody.
import type { SmtpRecord } from "./logic";
import type { ManagerContext } from "./manager";

/** What the manager reads of FeedbackPipeline's sender reputation (read-only). */
export interface RestrictionsPort {
    /** The sender's restriction when it is restricted now (consistent read of its state item), else undefined. */
    restriction(sender: string): Promise<{ at?: string; actor?: string; reason?: string } | undefined>;
    /** Every restricted sender (the state index: eventually consistent, confirmed by `restriction`). */
    restrictedSenders(): Promise<string[]>;
}

/** The record field naming the restricted sender that disabled the user (kept until an operator enables it). */
export const DISABLED_BY_FIELD = "disabled_by_restriction";

/**
 * Whether allowed senders let a user send as `sender`: the exact address, or `*@<its domain>`
 * (compared trimmed and lowercased, as the manager's policy values are). A sender that is not an
 * address (a `senderTag` value such as an account name) matches no SMTP user.
 */
export function coversSender(allowedSenders: readonly string[], sender: string): boolean {
    const wanted = sender.trim().toLowerCase();
    const at = wanted.lastIndexOf("@");
    if (at <= 0 || at === wanted.length - 1) return false;
    const wildcard = `*@${wanted.slice(at + 1)}`;
    return allowedSenders.some((entry) => {
        const value = entry.trim().toLowerCase();
        return value === wanted || value === wildcard;
    });
}

export interface EnforcementOutcome {
    /** Users set disabled now, with the sender that disabled each. */
    disabled: { username: string; sender: string }[];
    /** Senders named that are not restricted now (lifted meanwhile, or a stale notification). */
    notRestricted: string[];
}

/**
 * Disables every active or pending SMTP user allowed to send as one of `senders` that is restricted
 * now. Each update is conditional on the status read, so an operator's change meanwhile wins and is
 * looked at again by the next sweep. Users already disabled or failed are left as they are.
 * `records`: the SMTP records when the caller has just read them (the sweep).
 */
export async function enforceRestrictions(senders: string[], restrictions: RestrictionsPort, context: ManagerContext, records?: SmtpRecord[]): Promise<EnforcementOutcome> {
    const unique = [...new Set(senders.map((s) => s.trim().toLowerCase()))];
    const confirmed = await Promise.all(unique.map(async (sender) => ({ sender, restriction: await restrictions.restriction(sender) })));
    const restricted = confirmed.filter((c) => c.restriction !== undefined);
    const outcome: EnforcementOutcome = { disabled: [], notRestricted: confirmed.filter((c) => c.restriction === undefined).map((c) => c.sender) };
    if (restricted.length === 0) return outcome;
    const now = context.now().toISOString();
    for (const record of records ?? await context.store.all()) {
        if (record.status !== "active" && record.status !== "pending") continue;
        const match = restricted.find((r) => coversSender(record.allowedSenders, r.sender));
        if (!match) continue;
        const { at, actor, reason } = match.restriction!;
        const why = `sender ${match.sender} is restricted${at ? ` since ${at}` : ""}${actor ? ` by ${actor}` : ""}${reason ? ` (${reason})` : ""}; enable the user again once the restriction is lifted or the sender removed from allowed_senders`;
        const updated = await context.store.update(record.username, {
            status: "disabled", disabled_reason: why.slice(0, 1000), [DISABLED_BY_FIELD]: match.sender, disabled_at: now, updated_at: now,
        }, { status: record.status });
        if (!updated) continue;
        outcome.disabled.push({ username: record.username, sender: match.sender });
        context.metric("SMTPCredentialDisabledForRestrictedSender");
        context.log("SMTP user disabled: a sender it may send as is restricted", { username: record.username, sender: match.sender, action: "disable-restricted-sender" });
    }
    return outcome;
}

/** The sender a notifications-topic message (FeedbackPipeline's announceTransition) restricts, if any. */
export function restrictedSenderOf(message: string): string | undefined {
    try {
        const transition = JSON.parse(message) as { sender?: unknown; to?: unknown };
        return transition.to === "restricted" && typeof transition.sender === "string" && transition.sender !== "" ? transition.sender : undefined;
    } catch {
        return undefined;
    }
}
