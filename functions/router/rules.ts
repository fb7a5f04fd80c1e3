// Routing rules as operators write them (PK=ROUTE#<pattern>, SK=RULE#v1) and their precedence.
import { ROUTE_ACTIONS, RouteAction } from "../shared/routing-event";

export { ROUTE_ACTIONS, type RouteAction };
export const RULE_SORT_KEY = "RULE#v1";

export interface RouteRule {
    pattern: string;
    action: RouteAction;
    /** The Gmail account for forward-to-gmail. */
    target?: string;
    enabled: boolean;
    /** Extra Gmail label ids for forwarded mail. */
    labels: string[];
}

/** The lookup keys for an address, most specific first: exact → without +tag → *@domain → *. */
export function candidatePatterns(address: string): string[] {
    const lower = address.trim().toLowerCase();
    const at = lower.lastIndexOf("@");
    if (at <= 0) {
        return ["*"];
    }
    const local = lower.slice(0, at);
    const domain = lower.slice(at + 1);
    const plus = local.indexOf("+");
    const untagged = plus > 0 ? `${local.slice(0, plus)}@${domain}` : lower;
    return [...new Set([lower, untagged, `*@${domain}`, "*"])];
}

export const ruleKey = (pattern: string) => ({ PK: `ROUTE#${pattern}`, SK: RULE_SORT_KEY });

/** A rule item read from DynamoDB (unmarshalled), or the reason it is unusable. */
export function parseRule(item: Record<string, unknown>): RouteRule | { invalid: string } {
    const pk = item.PK;
    if (typeof pk !== "string" || !pk.startsWith("ROUTE#")) {
        return { invalid: "PK is not ROUTE#<pattern>" };
    }
    const action = item.action;
    if (typeof action !== "string" || !(ROUTE_ACTIONS as readonly string[]).includes(action)) {
        return { invalid: `action ${JSON.stringify(action)} is not one of ${ROUTE_ACTIONS.join(", ")}` };
    }
    if (item.enabled !== undefined && typeof item.enabled !== "boolean") {
        return { invalid: "enabled is not a boolean" };
    }
    const target = typeof item.target === "string" ? item.target.trim().toLowerCase() : undefined;
    if (action === "forward-to-gmail" && !target?.includes("@")) {
        return { invalid: "forward-to-gmail needs target, the Gmail address" };
    }
    const rawLabels = item.labels instanceof Set ? [...item.labels] : item.labels;
    const labels = Array.isArray(rawLabels) ? rawLabels.filter((l): l is string => typeof l === "string") : [];
    return { pattern: pk.slice("ROUTE#".length), action: action as RouteAction, target, enabled: item.enabled !== false, labels };
}

/** The first enabled rule among the candidates, in precedence order. */
export function resolve(address: string, rules: ReadonlyMap<string, RouteRule | undefined>): RouteRule | undefined {
    for (const pattern of candidatePatterns(address)) {
        const rule = rules.get(pattern);
        if (rule?.enabled) {
            return rule;
        }
    }
    return undefined;
}
