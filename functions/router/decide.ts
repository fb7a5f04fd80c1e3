// From a received mail and the rules that apply to its recipients, the routing decisions: one per
// (action, target, labels), naming the recipients it covers. Pure.
import type { RouteAction, RoutingDecision, RoutingEvent } from "../shared/routing-event";
import type { ReceivedMail } from "./notification";
import { resolve, RouteRule } from "./rules";

export interface RouterSettings {
    /** What happens to mail no rule matches. */
    defaultAction: RouteAction;
    /** Spam verdict FAIL: drop it, or forward it with Gmail's SPAM label. */
    spamAction: "drop" | "label";
}

export const DEFAULT_ROUTER_SETTINGS: RouterSettings = { defaultAction: "store", spamAction: "drop" };

export type VerdictOverride = "virus" | "dmarc-reject" | "spam" | undefined;

/** A verdict that decides for the whole message before any rule does. */
export function verdictOverride(mail: ReceivedMail, settings: RouterSettings): VerdictOverride {
    if (mail.verdicts.virus === "FAIL") return "virus";
    if (mail.verdicts.dmarc === "FAIL" && mail.verdicts.dmarcPolicy === "reject") return "dmarc-reject";
    if (mail.verdicts.spam === "FAIL" && settings.spamAction === "drop") return "spam";
    return undefined;
}

/** Every recipient of the mail in exactly one decision, in the order the recipients came. */
export function decide(mail: ReceivedMail, rules: ReadonlyMap<string, RouteRule | undefined>, settings: RouterSettings): RoutingDecision[] {
    const override = verdictOverride(mail, settings);
    if (override) {
        return [{ action: "drop", recipients: [...mail.recipients], reason: override, labels: [] }];
    }
    const spam = mail.verdicts.spam === "FAIL";
    const groups = new Map<string, RoutingDecision>();
    for (const recipient of mail.recipients) {
        const rule = resolve(recipient, rules);
        let action = rule?.action ?? settings.defaultAction;
        let reason = rule ? `rule:${rule.pattern}` : "default";
        // Spam is never bounced (the sender is likely forged): it is dropped instead.
        if (spam && action === "bounce") {
            action = "drop";
            reason = "spam";
        }
        const target = action === "forward-to-gmail" ? rule?.target : undefined;
        const labels = action === "forward-to-gmail" ? [...(rule?.labels ?? []), ...(spam ? ["SPAM"] : [])] : [];
        const key = `${action}|${target ?? ""}|${labels.join(",")}`;
        const group = groups.get(key);
        if (group) {
            group.recipients.push(recipient);
        } else {
            groups.set(key, { action, ...(target ? { target } : {}), recipients: [recipient], reason, labels });
        }
    }
    return [...groups.values()];
}

/** The routing event of one mail: what it is, where it is, and all its decisions. */
export function routingEvent(mail: ReceivedMail, rules: ReadonlyMap<string, RouteRule | undefined>, settings: RouterSettings): RoutingEvent {
    return { ...mail, decisions: decide(mail, rules, settings) };
}
