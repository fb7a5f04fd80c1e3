// Routing rules as operators write them (PK=ROUTE#<pattern>, SK=RULE#v1) and their precedence.
//
// Two forms, both read by the router and written by `ses-mail rules`:
// - single: `action` (+ `target`, `labels` for forward-to-gmail), as the runbooks write today;
// - list:   `actions`, a list of {type, target?, labels?}, as the predecessor system's tables hold.
// An item with `actions` is read in the list form only: its `action`, `target` and `labels` are
// ignored (and `ses-mail rules list` says so). An item that cannot be used is an InvalidRule with
// the reason: the router skips it for the recipient as if absent, but visibly (decide.ts, route.ts).
import { ROUTE_ACTIONS, RouteAction } from "../shared/routing-event";

export { ROUTE_ACTIONS, type RouteAction };
export const RULE_SORT_KEY = "RULE#v1";
export const RULE_KEY_PREFIX = "ROUTE#";
export const RULE_ENTITY_TYPE = "ROUTE";

/** Action types of the predecessor system read as ours: the same effect under another name. */
export const ACTION_ALIASES: Readonly<Record<string, RouteAction>> = { "silent-drop": "drop" };

/** One thing a rule does with a mail. */
export interface RuleAction {
    type: RouteAction;
    /** The Gmail account, for forward-to-gmail (lowercase). */
    target?: string;
    /** Extra Gmail label ids (forward-to-gmail only). */
    labels: string[];
}

export interface RouteRule {
    pattern: string;
    /** Single form: the action. List form: the first action's type (see `actions`). */
    action: RouteAction;
    /** The Gmail account for forward-to-gmail (single form; list form: the first action's). */
    target?: string;
    enabled: boolean;
    /** Extra Gmail label ids for forwarded mail (single form; list form: the first action's). */
    labels: string[];
    /** List form: every action, duplicates merged. When present it is what the rule does. */
    actions?: RuleAction[];
    /** Things an operator should know that do not make the rule unusable (ignored attributes). */
    notes?: string[];
}

/** A rule item that exists but cannot be used, with the reason. */
export interface InvalidRule {
    pattern: string;
    invalid: string;
    /** False only when the item says `enabled: false` (then it is skipped like any disabled rule). */
    enabled: boolean;
}

export type StoredRule = RouteRule | InvalidRule;

export const isInvalidRule = (rule: StoredRule): rule is InvalidRule => "invalid" in rule;

/** What a rule does: its `actions` (list form), or its single action. */
export function ruleActions(rule: RouteRule): RuleAction[] {
    return rule.actions ?? [{ type: rule.action, ...(rule.action === "forward-to-gmail" && rule.target ? { target: rule.target } : {}), labels: rule.action === "forward-to-gmail" ? rule.labels : [] }];
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

export const ruleKey = (pattern: string) => ({ PK: `${RULE_KEY_PREFIX}${pattern}`, SK: RULE_SORT_KEY });

const SUPPORTED = `${ROUTE_ACTIONS.join(", ")}; ${Object.entries(ACTION_ALIASES).map(([alias, action]) => `${alias} is read as ${action}`).join(", ")}`;

/** An action type as ours (aliases mapped), or why it is not one. */
export function actionType(raw: unknown): RouteAction | { invalid: string } {
    if (typeof raw === "string" && (ROUTE_ACTIONS as readonly string[]).includes(raw)) return raw as RouteAction;
    if (typeof raw === "string" && Object.hasOwn(ACTION_ALIASES, raw)) return ACTION_ALIASES[raw];
    return { invalid: `${JSON.stringify(raw) ?? String(raw)} is not an action ses-mail implements (${SUPPORTED})` };
}

/**
 * Why a set of actions contradicts itself, or undefined. `store` goes with anything (the mail is in
 * S3 whatever happens); a forward cannot go with `bounce` (telling the sender the address does not
 * exist) or `drop`, nor `bounce` with `drop`.
 */
export function contradiction(actions: readonly RuleAction[]): string | undefined {
    if (actions.length === 0) return "it has no actions";
    const types = new Set(actions.map((a) => a.type));
    const clashes: [RouteAction, RouteAction][] = [["forward-to-gmail", "bounce"], ["forward-to-gmail", "drop"], ["bounce", "drop"]];
    const clash = clashes.find(([a, b]) => types.has(a) && types.has(b));
    return clash ? `${clash[0]} and ${clash[1]} contradict each other (store may go with anything; forward-to-gmail, bounce and drop exclude each other)` : undefined;
}

function stringList(value: unknown): string[] {
    const raw = value instanceof Set ? [...value] : value;
    return Array.isArray(raw) ? raw.filter((l): l is string => typeof l === "string") : [];
}

/** One action read from an item (single form: the item itself, `where` "action"; list form: one element, "actions[i]"). */
function readAction(type: unknown, target: unknown, labels: unknown, where: string): RuleAction | { invalid: string } {
    const parsed = actionType(type);
    if (typeof parsed !== "string") return { invalid: `${where === "action" ? "action" : `${where}.type`} ${parsed.invalid}` };
    if (parsed !== "forward-to-gmail") return { type: parsed, labels: [] };
    const address = typeof target === "string" ? target.trim().toLowerCase() : undefined;
    if (!address?.includes("@")) return { invalid: `${where === "action" ? "" : `${where}: `}forward-to-gmail needs target, the Gmail address` };
    return { type: parsed, target: address, labels: stringList(labels) };
}

/** Same type and target once: labels merged, first position kept. */
function mergeDuplicates(actions: RuleAction[]): RuleAction[] {
    const merged = new Map<string, RuleAction>();
    for (const action of actions) {
        const key = `${action.type}|${action.target ?? ""}`;
        const seen = merged.get(key);
        if (seen) seen.labels = [...new Set([...seen.labels, ...action.labels])];
        else merged.set(key, { ...action, labels: [...action.labels] });
    }
    return [...merged.values()];
}

/** A rule item read from DynamoDB (unmarshalled), or the reason it is unusable. */
export function parseRule(item: Record<string, unknown>): StoredRule {
    const pk = item.PK;
    const pattern = typeof pk === "string" && pk.startsWith(RULE_KEY_PREFIX) ? pk.slice(RULE_KEY_PREFIX.length) : "";
    const enabled = item.enabled !== false;
    const invalid = (reason: string): InvalidRule => ({ pattern, invalid: reason, enabled });
    if (typeof pk !== "string" || !pk.startsWith(RULE_KEY_PREFIX)) return invalid("PK is not ROUTE#<pattern>");
    if (item.enabled !== undefined && typeof item.enabled !== "boolean") {
        return invalid("enabled is not a boolean");
    }
    if (item.actions !== undefined && item.actions !== null) {
        if (!Array.isArray(item.actions)) return invalid("actions is not a list of {type, target?, labels?}");
        const read: RuleAction[] = [];
        for (const [i, element] of item.actions.entries()) {
            if (typeof element !== "object" || element === null || Array.isArray(element)) return invalid(`actions[${i}] is not a map {type, target?, labels?}`);
            const e = element as Record<string, unknown>;
            const action = readAction(e.type, e.target, e.labels, `actions[${i}]`);
            if ("invalid" in action) return invalid(action.invalid);
            read.push(action);
        }
        const actions = mergeDuplicates(read);
        const contradicts = contradiction(actions);
        if (contradicts) return invalid(`actions: ${contradicts}`);
        const ignored = ["action", "target", "labels"].filter((name) => item[name] !== undefined && item[name] !== null && item[name] !== "");
        const [first] = actions;
        return {
            pattern, action: first.type, ...(first.target ? { target: first.target } : {}), enabled, labels: first.labels, actions,
            ...(ignored.length ? { notes: [`${ignored.join(", ")} ignored: actions takes precedence`] } : {}),
        };
    }
    if (item.action === undefined || item.action === null) return invalid("it has neither action nor actions");
    const action = readAction(item.action, item.target, item.labels, "action");
    if ("invalid" in action) return invalid(action.invalid);
    const target = typeof item.target === "string" ? item.target.trim().toLowerCase() : undefined;
    return { pattern, action: action.type, target, enabled, labels: stringList(item.labels) };
}

/** What was found under one candidate pattern, and what the router made of it. */
export interface CandidateLookup {
    pattern: string;
    /** absent: no item; disabled / invalid: skipped; chosen: the winner; not-reached: after the winner. */
    status: "absent" | "disabled" | "invalid" | "chosen" | "not-reached";
    rule?: StoredRule;
}

export interface Resolution {
    /** The first enabled, valid rule among the candidates; undefined: the default action applies. */
    rule?: RouteRule;
    candidates: CandidateLookup[];
    /** Enabled rules before the winner that could not be used: skipped, but reported. */
    skippedInvalid: InvalidRule[];
}

/** Every candidate of the address in precedence order, and the rule that wins. */
export function resolution(address: string, rules: ReadonlyMap<string, StoredRule | undefined>): Resolution {
    let rule: RouteRule | undefined;
    const skippedInvalid: InvalidRule[] = [];
    const candidates = candidatePatterns(address).map((pattern): CandidateLookup => {
        const found = rules.get(pattern);
        if (!found) return { pattern, status: "absent" };
        if (rule) return { pattern, status: "not-reached", rule: found };
        if (!found.enabled) return { pattern, status: "disabled", rule: found };
        if (isInvalidRule(found)) {
            skippedInvalid.push(found);
            return { pattern, status: "invalid", rule: found };
        }
        rule = found;
        return { pattern, status: "chosen", rule: found };
    });
    return { rule, candidates, skippedInvalid };
}

/** The first enabled, valid rule among the candidates, in precedence order. */
export function resolve(address: string, rules: ReadonlyMap<string, StoredRule | undefined>): RouteRule | undefined {
    return resolution(address, rules).rule;
}
