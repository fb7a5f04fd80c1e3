// From a received mail and the rules that apply to its recipients, the routing decisions: one per
// (action, target, labels), naming the recipients it covers; a rule with several actions puts its
// recipients in one decision per action. Pure.
import type { RouteAction, RoutingDecision, RoutingEvent } from "../shared/routing-event";
import type { ReceivedMail } from "./notification";
import { resolution, RuleAction, ruleActions, StoredRule } from "./rules";

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

/** An enabled rule the router found but could not use, and the recipients it was skipped for. */
export interface SkippedInvalidRule {
    pattern: string;
    reason: string;
    recipients: string[];
}

export interface MailRouting {
    decisions: RoutingDecision[];
    /** Invalid rules skipped for this mail's recipients (they fell through as if absent). */
    invalidRules: SkippedInvalidRule[];
}

/**
 * Every recipient of the mail in one decision per action of the rule that applies to it (one for
 * a single-action rule or the default), in the order the recipients came. Decisions group
 * recipients by (action, target, labels); a recipient for whom an invalid rule was skipped is in
 * decisions of its own whose reason names that rule: `default; rule:<pattern> invalid: <why>`.
 */
export function routeMail(mail: ReceivedMail, rules: ReadonlyMap<string, StoredRule | undefined>, settings: RouterSettings): MailRouting {
    const override = verdictOverride(mail, settings);
    if (override) {
        return { decisions: [{ action: "drop", recipients: [...mail.recipients], reason: override, labels: [] }], invalidRules: [] };
    }
    const spam = mail.verdicts.spam === "FAIL";
    const groups = new Map<string, RoutingDecision>();
    const invalidRules = new Map<string, SkippedInvalidRule>();
    for (const recipient of mail.recipients) {
        const { rule, skippedInvalid } = resolution(recipient, rules);
        for (const skipped of skippedInvalid) {
            const seen = invalidRules.get(skipped.pattern);
            if (seen) seen.recipients.push(recipient);
            else invalidRules.set(skipped.pattern, { pattern: skipped.pattern, reason: skipped.invalid, recipients: [recipient] });
        }
        const skippedNote = skippedInvalid.map((r) => `; rule:${r.pattern} invalid: ${r.invalid}`).join("");
        const actions: RuleAction[] = rule ? ruleActions(rule) : [{ type: settings.defaultAction, labels: [] }];
        const keys = new Set<string>();
        for (const ruleAction of actions) {
            let action = ruleAction.type;
            let reason = rule ? `rule:${rule.pattern}` : "default";
            // Spam is never bounced (the sender is likely forged): it is dropped instead.
            if (spam && action === "bounce") {
                action = "drop";
                reason = "spam";
            }
            const target = action === "forward-to-gmail" ? ruleAction.target : undefined;
            const labels = action === "forward-to-gmail" ? [...ruleAction.labels, ...(spam ? ["SPAM"] : [])] : [];
            // The reason is part of the key: each recipient's decision names the rule that decided it.
            const key = `${action}|${target ?? ""}|${labels.join(",")}|${reason}${skippedNote}`;
            if (keys.has(key)) continue;
            keys.add(key);
            const group = groups.get(key);
            if (group) {
                group.recipients.push(recipient);
            } else {
                groups.set(key, { action, ...(target ? { target } : {}), recipients: [recipient], reason: reason + skippedNote, labels });
            }
        }
    }
    return { decisions: [...groups.values()], invalidRules: [...invalidRules.values()] };
}

/** The decisions of one mail (see routeMail). */
export function decide(mail: ReceivedMail, rules: ReadonlyMap<string, StoredRule | undefined>, settings: RouterSettings): RoutingDecision[] {
    return routeMail(mail, rules, settings).decisions;
}

/** The routing event of one mail: what it is, where it is, and all its decisions. */
export function routingEvent(mail: ReceivedMail, rules: ReadonlyMap<string, StoredRule | undefined>, settings: RouterSettings): RoutingEvent {
    return { ...mail, decisions: decide(mail, rules, settings) };
}
