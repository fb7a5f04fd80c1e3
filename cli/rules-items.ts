// Routing-rule items for `ses-mail rules`: patterns, actions from the command line, the items
// written (the runbooks' shape: PK, SK, entity_type, recipient, action/actions, target, enabled,
// description, created_at, updated_at), rows for display, and the files `import` accepts. Pure:
// what the router makes of an item is always the router's own parseRule.
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { contradiction, isInvalidRule, parseRule, RULE_ENTITY_TYPE, RULE_KEY_PREFIX, RULE_SORT_KEY, RuleAction, ruleKey } from "../functions/router/rules";
import { UsageError } from "./errors";

export type Item = Record<string, AttributeValue>;
export type RuleForm = "single" | "list";

/** A pattern as the router looks it up: `user@domain` (a `+tag` allowed), `*@domain` or `*`, lowercase. */
export function normalisePattern(raw: string): string {
    const pattern = raw.trim().toLowerCase();
    const usage = `"${raw}" is not a rule pattern: use an address (support@example.com, support+tag@example.com), *@<domain> or *.`;
    if (pattern === "*") return pattern;
    const at = pattern.lastIndexOf("@");
    const local = pattern.slice(0, at);
    const domain = pattern.slice(at + 1);
    if (at <= 0 || !domain || /[@*\s]/.test(domain) || (local !== "*" && /[*\s]/.test(local))) throw new UsageError(usage);
    return pattern;
}

const LABEL_ID = /^[A-Za-z0-9_-]+$/;

/** `a,b` → label ids (an empty string clears them). */
export function parseLabels(raw: string): string[] {
    const labels = raw.split(",").map((l) => l.trim()).filter(Boolean);
    const bad = labels.find((l) => !LABEL_ID.test(l));
    if (bad !== undefined) throw new UsageError(`"${bad}" is not a Gmail label id (letters, digits, _ and -, e.g. Label_12 or IMPORTANT).`);
    return labels;
}

/** `--forward you@gmail.com` or `--forward you@gmail.com:Label_1,Label_2` (labels of this forward only). */
export function parseForward(raw: string): { target: string; labels?: string[] } {
    const [address, labels] = raw.split(/:(.*)/s, 2);
    const target = address.trim().toLowerCase();
    if (!/^[^@\s:]+@[^@\s:]+\.[^@\s:]+$/.test(target)) throw new UsageError(`--forward ${raw}: give a Gmail address, optionally with its labels (you@gmail.com:Label_1,Label_2).`);
    return labels === undefined ? { target } : { target, labels: parseLabels(labels) };
}

export interface ActionOptions {
    forward?: string[];
    bounce?: boolean;
    store?: boolean;
    drop?: boolean;
    /** Labels of every forward that names none of its own. */
    labels?: string;
}

/** The actions the options ask for (forwards first, in the order given), or undefined when none. */
export function actionsFrom(options: ActionOptions): RuleAction[] | undefined {
    const common = options.labels === undefined ? [] : parseLabels(options.labels);
    const actions: RuleAction[] = (options.forward ?? []).map(parseForward).map(({ target, labels }) => ({ type: "forward-to-gmail", target, labels: labels ?? common }));
    if (options.bounce) actions.push({ type: "bounce", labels: [] });
    if (options.drop) actions.push({ type: "drop", labels: [] });
    if (options.store) actions.push({ type: "store", labels: [] });
    if (actions.length === 0) return undefined;
    const targets = actions.flatMap((a) => (a.target ? [a.target] : []));
    const repeated = targets.find((t, i) => targets.indexOf(t) !== i);
    if (repeated) throw new UsageError(`--forward ${repeated} is given twice: name each Gmail account once (labels: ${repeated}:Label_1,Label_2).`);
    return actions;
}

export interface KnownAccounts {
    accounts: string[];
    /** Where the list comes from, for messages: `ses-mail:ingest.gmailAccounts of Pulumi.test.yaml`. */
    source: string;
}

/** Why these actions cannot be written: contradictions, and Gmail accounts the stack does not configure. */
export function actionProblems(actions: readonly RuleAction[], known: KnownAccounts | undefined): string[] {
    const problems: string[] = [];
    const contradicts = contradiction(actions);
    if (contradicts) problems.push(contradicts);
    for (const action of actions) {
        if (action.type === "forward-to-gmail" && known && !known.accounts.includes(action.target ?? "")) {
            problems.push(`${action.target} is not in ${known.source} (${known.accounts.join(", ") || "none"}): add it there, run pulumi up and store its token (ses-mail token refresh), then write the rule`);
        }
    }
    return problems;
}

/** One action as the list form stores it. */
const listElement = (a: RuleAction) => ({ type: a.type, ...(a.type === "forward-to-gmail" ? { target: a.target, ...(a.labels.length ? { labels: a.labels } : {}) } : {}) });

/** The attributes that say what a rule does, in the given form, and the ones of the other form to remove. */
export function actionAttributes(actions: readonly RuleAction[], form: RuleForm): { set: Item; remove: string[] } {
    if (form === "list") {
        return { set: marshall({ actions: actions.map(listElement) }, { removeUndefinedValues: true }), remove: ["action", "target", "labels"] };
    }
    const [only] = actions;
    const forward = only.type === "forward-to-gmail";
    const set = marshall({ action: only.type, ...(forward ? { target: only.target } : {}), ...(forward && only.labels.length ? { labels: only.labels } : {}) });
    return { set, remove: ["actions", ...(forward ? [] : ["target"]), ...(forward && only.labels.length ? [] : ["labels"])] };
}

/** One action: the single form; several: the list form (older readers and the runbooks' queries read the single form). */
export const formFor = (actions: readonly RuleAction[]): RuleForm => (actions.length === 1 ? "single" : "list");

/** Timestamps as the runbooks write them: 2026-01-31T10:00:00Z. */
export const timestamp = (now: Date) => now.toISOString().replace(/\.\d{3}Z$/, "Z");

export function newItem(pattern: string, actions: readonly RuleAction[], options: { description?: string; enabled: boolean; now: Date }): Item {
    const at = timestamp(options.now);
    return {
        ...marshall({ ...ruleKey(pattern), entity_type: RULE_ENTITY_TYPE, recipient: pattern }),
        ...actionAttributes(actions, formFor(actions)).set,
        ...marshall({ enabled: options.enabled, ...(options.description !== undefined ? { description: options.description } : {}), created_at: at, updated_at: at }),
    };
}

export const formOf = (item: Item): RuleForm => (item.actions !== undefined && item.actions.NULL !== true ? "list" : "single");

/** The item with these changes; every other attribute stays exactly as it was. */
export function editedItem(item: Item, changes: { actions?: readonly RuleAction[]; description?: string; enabled?: boolean; now: Date }): Item {
    const next: Item = { ...item };
    if (changes.actions) {
        // Keep the form the item has (an operator's list stays a list); a single rule grows into a list.
        const form: RuleForm = formOf(item) === "list" || changes.actions.length > 1 ? "list" : "single";
        const { set, remove } = actionAttributes(changes.actions, form);
        remove.forEach((name) => delete next[name]);
        Object.assign(next, set);
    }
    if (changes.description !== undefined) next.description = { S: changes.description };
    if (changes.enabled !== undefined) next.enabled = { BOOL: changes.enabled };
    next.updated_at = { S: timestamp(changes.now) };
    return next;
}

/** Conditional-write arguments that succeed only if the item is still as it was read (or still absent). */
export function unchangedSince(seen: Item | undefined): { ConditionExpression: string; ExpressionAttributeNames: Record<string, string>; ExpressionAttributeValues?: Item } {
    if (!seen) return { ConditionExpression: "attribute_not_exists(#pk)", ExpressionAttributeNames: { "#pk": "PK" } };
    if (seen.updated_at?.S !== undefined) {
        return { ConditionExpression: "#u = :seen", ExpressionAttributeNames: { "#u": "updated_at" }, ExpressionAttributeValues: { ":seen": { S: seen.updated_at.S } } };
    }
    return { ConditionExpression: "attribute_exists(#pk) AND attribute_not_exists(#u)", ExpressionAttributeNames: { "#pk": "PK", "#u": "updated_at" } };
}

/** An item as the router sees it, for display and --json. */
export interface RuleRow {
    pattern: string;
    form: RuleForm;
    /** What the rule does (the router's reading); for an invalid rule, what the item says. */
    actions: { type: string; target?: string; labels?: string[] }[];
    enabled: boolean | "invalid";
    description?: string;
    createdAt?: string;
    updatedAt?: string;
    valid: boolean;
    /** Why the router cannot use it (it skips it for the recipient, reports it, and counts RoutingRuleInvalid). */
    invalid?: string;
    /** Usable, but worth knowing. */
    notes: string[];
}

const str = (value: unknown) => (typeof value === "string" ? value : undefined);

/** What an item says it does, however malformed. */
function rawActions(plain: Record<string, unknown>): RuleRow["actions"] {
    const one = (a: Record<string, unknown>) => ({ type: typeof a.type === "string" ? a.type : JSON.stringify(a.type) ?? "?", ...(typeof a.target === "string" && a.target ? { target: a.target } : {}) });
    if (Array.isArray(plain.actions)) return plain.actions.map((a) => (typeof a === "object" && a !== null ? one(a as Record<string, unknown>) : { type: JSON.stringify(a) }));
    return [one({ type: plain.action, target: plain.target })];
}

export function ruleRow(item: Item, known?: KnownAccounts): RuleRow {
    const plain = unmarshall(item);
    const parsed = parseRule(plain);
    const common = {
        pattern: String(plain.PK ?? "").slice(RULE_KEY_PREFIX.length),
        form: formOf(item),
        description: str(plain.description),
        createdAt: str(plain.created_at),
        updatedAt: str(plain.updated_at),
    };
    if (isInvalidRule(parsed)) {
        return { ...common, actions: rawActions(plain), enabled: typeof plain.enabled === "boolean" || plain.enabled === undefined ? parsed.enabled : "invalid", valid: false, invalid: parsed.invalid, notes: [] };
    }
    const actions = parsed.actions ?? [{ type: parsed.action, ...(parsed.target && parsed.action === "forward-to-gmail" ? { target: parsed.target } : {}), labels: parsed.action === "forward-to-gmail" ? parsed.labels : [] }];
    const notes = [...(parsed.notes ?? [])];
    if (plain.SK !== RULE_SORT_KEY) notes.push(`SK is ${JSON.stringify(plain.SK)}, not ${RULE_SORT_KEY}: the router never reads it`);
    for (const action of actions) {
        if (action.type === "forward-to-gmail" && known && !known.accounts.includes(action.target ?? "")) {
            notes.push(`${action.target} is not in ${known.source}: the forwarder will refuse its mail (DLQ)`);
        }
    }
    const aliased = (Array.isArray(plain.actions) ? plain.actions.map((a: Record<string, unknown>) => a?.type) : [plain.action]).filter((t) => t === "silent-drop");
    if (aliased.length) notes.push("silent-drop is read as drop");
    return { ...common, actions: actions.map((a) => ({ type: a.type, ...(a.target ? { target: a.target } : {}), ...(a.labels.length ? { labels: a.labels } : {}) })), enabled: parsed.enabled, valid: true, notes };
}

/** A row's actions in one line: `forward-to-gmail → a@gmail.com [Label_1], store`. */
export function describeActions(actions: RuleRow["actions"]): string {
    return actions.map((a) => `${a.type}${a.target ? ` → ${a.target}` : ""}${a.labels?.length ? ` [${a.labels.join(",")}]` : ""}`).join(", ");
}

export const statusOf = (row: RuleRow) => (!row.valid ? "INVALID" : row.enabled === true ? "enabled" : "disabled");

/** Most specific first within a domain: addresses, then *@domain; the catch-all * last. */
export function byPattern(a: { pattern: string }, b: { pattern: string }): number {
    const key = (p: string) => (p === "*" ? ["~", "2", p] : [p.slice(p.lastIndexOf("@") + 1), p.startsWith("*@") ? "1" : "0", p]);
    const [ka, kb] = [key(a.pattern), key(b.pattern)];
    for (let i = 0; i < 3; i++) if (ka[i] !== kb[i]) return ka[i] < kb[i] ? -1 : 1;
    return 0;
}

/** Columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string[] {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    return [header, ...rows].map((cells) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd());
}

// ---------------------------------------------------------------------------------------------
// Files: `rules export` writes, `rules import` reads (also `aws dynamodb scan` output)
// ---------------------------------------------------------------------------------------------

export const EXPORT_FORMAT = "ses-mail-rules/v1";

/** The export: DynamoDB JSON like `aws dynamodb scan` prints, so every attribute and type round-trips. */
export function exportDocument(items: Item[], table: string, now: Date) {
    return { format: EXPORT_FORMAT, table, exportedAt: timestamp(now), Count: items.length, Items: items };
}

const TYPE_KEYS = new Set(["S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"]);
const isTyped = (item: Record<string, unknown>) => Object.values(item).every((v) => typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && TYPE_KEYS.has(Object.keys(v)[0]));

/**
 * Items of a file: the export, `aws dynamodb scan` output (`{"Items": [...]}`), or a JSON list of
 * items, in DynamoDB JSON or plain JSON. Items that are not routing rules (SMTP_USER# …) are counted
 * and left out.
 */
export function importItems(text: string, file: string): { items: Item[]; notRules: number } {
    let document: unknown;
    try {
        document = JSON.parse(text);
    } catch (error) {
        throw new UsageError(`${file} is not JSON (${(error as Error).message}): give a file written by ses-mail rules export or aws dynamodb scan --output json.`);
    }
    const list = Array.isArray(document) ? document : (document as { Items?: unknown })?.Items;
    if (!Array.isArray(list)) throw new UsageError(`${file} has no "Items" list: give a file written by ses-mail rules export or aws dynamodb scan --output json.`);
    const items: Item[] = [];
    let notRules = 0;
    for (const [i, raw] of list.entries()) {
        if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new UsageError(`${file}: item ${i} is not an object.`);
        let item: Item;
        try {
            item = isTyped(raw as Record<string, unknown>) ? (raw as Item) : marshall(raw, { removeUndefinedValues: true });
        } catch (error) {
            throw new UsageError(`${file}: item ${i} cannot be stored in DynamoDB (${(error as Error).message}).`);
        }
        if (item.PK?.S?.startsWith(RULE_KEY_PREFIX)) items.push(item);
        else notRules += 1;
    }
    return { items, notRules };
}

/** JSON with object keys sorted (and string sets sorted), to compare items whatever their order. */
export function canonical(value: unknown): string {
    const norm = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(norm);
        if (typeof v === "object" && v !== null) {
            return Object.fromEntries(Object.keys(v).sort().map((k) => [k, k === "SS" || k === "NS" ? [...(v as Record<string, string[]>)[k]].sort() : norm((v as Record<string, unknown>)[k])]));
        }
        return v;
    };
    return JSON.stringify(norm(value));
}
