// What `pulumi up` would do going from one version's plan to another's, decided the way the engine
// decides it: resources are matched by URN (type + name + parent type chain, or an alias); a URN that
// disappears is a delete, one that appears is a create, a matched resource whose inputs differ is an
// update, or a replacement when a property that cannot change in place changed. A data-bearing
// resource deleted or replaced is data loss. Pure: two PlanSnapshots in, a PlanDiff out.
import { physicalName, shortType } from "./key-properties";
import { isAssetValue, parseUrn, type PlanResource, type PlanSnapshot } from "./plan-snapshot";
import { columns, truncate, WIDTH, wrap } from "./text";

/** Resource types that hold data, with what a delete loses. */
export const DATA_BEARING: Record<string, string> = {
    "aws:dynamodb/table:Table": "its items",
    "aws:s3/bucket:Bucket": "its objects",
    "aws:s3/bucketV2:BucketV2": "its objects",
    "aws:kms/key:Key": "the key material: everything encrypted with it becomes unreadable",
    "aws:sqs/queue:Queue": "the messages it holds",
    "aws:ssm/parameter:Parameter": "its value",
};

/**
 * Inputs the AWS provider cannot update in place (ForceNew in its schema): a change replaces the
 * resource. Listed for the data-bearing types, where it matters most, and for a few common named
 * types, where it only shows as a replacement.
 */
export const REPLACED_ON_CHANGE: Record<string, string[]> = {
    "aws:dynamodb/table:Table": ["name", "hashKey", "rangeKey", "localSecondaryIndexes"],
    "aws:s3/bucket:Bucket": ["bucket", "bucketPrefix", "objectLockEnabled"],
    "aws:s3/bucketV2:BucketV2": ["bucket", "bucketPrefix", "objectLockEnabled"],
    "aws:sqs/queue:Queue": ["name", "namePrefix", "fifoQueue"],
    "aws:kms/key:Key": ["customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"],
    "aws:ssm/parameter:Parameter": ["name"],
    "aws:lambda/function:Function": ["name"],
    "aws:iam/role:Role": ["name", "path"],
    "aws:sns/topic:Topic": ["name", "fifoTopic"],
    "aws:cloudwatch/logGroup:LogGroup": ["name"],
    "aws:cloudwatch/eventBus:EventBus": ["name"],
    "aws:cloudwatch/metricAlarm:MetricAlarm": ["name"],
    "aws:sfn/stateMachine:StateMachine": ["name"],
    "aws:pipes/pipe:Pipe": ["name"],
    "aws:kms/alias:Alias": ["name"],
};

export type ChangeKind = "create" | "delete" | "replace" | "update" | "move";

export interface PropertyChange {
    /** `threshold`, `tags.Tier`, `policy.Statement[0].Action` (JSON-string inputs are compared as JSON). */
    path: string;
    before?: unknown;
    after?: unknown;
    /** For lists of plain values: what went and what came, instead of before/after. */
    removed?: unknown[];
    added?: unknown[];
}

export interface ResourceChange {
    kind: ChangeKind;
    /** The URN after `pulumi up` (for a delete: the URN that goes). */
    urn: string;
    /** The URN before, when it differs (replace with a new URN, move through an alias). */
    oldUrn?: string;
    type: string;
    name: string;
    physicalName?: string;
    component: boolean;
    dataBearing: boolean;
    /** Deleted or replaced while holding data. */
    dataLoss: boolean;
    /** Why the engine would do this, in words. */
    reasons: string[];
    properties: PropertyChange[];
}

export interface PlanDiff {
    stack: string;
    counts: Record<ChangeKind | "same", number>;
    /** Data loss first, then replace, delete, create, move, update. */
    changes: ResourceChange[];
    dataLoss: ResourceChange[];
}

const ORDER: ChangeKind[] = ["replace", "delete", "create", "move", "update"];

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asJson(value: unknown): unknown {
    if (typeof value !== "string" || !/^\s*[[{]/.test(value)) return undefined;
    try {
        return JSON.parse(value);
    } catch {
        return undefined;
    }
}

function equal(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => equal(item, b[i]));
    if (isPlainObject(a) && isPlainObject(b)) {
        const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
        return [...keys].every((key) => equal(a[key], b[key]));
    }
    return false;
}

const plain = (value: unknown) => value === null || ["string", "number", "boolean"].includes(typeof value);

/** The leaf differences between two input values. */
export function propertyChanges(before: unknown, after: unknown, path = ""): PropertyChange[] {
    if (equal(before, after)) return [];
    if (isAssetValue(before) || isAssetValue(after)) return [{ path, before, after }];
    const jsonBefore = asJson(before);
    const jsonAfter = asJson(after);
    if (jsonBefore !== undefined && jsonAfter !== undefined) return propertyChanges(jsonBefore, jsonAfter, path);
    if (isPlainObject(before) && isPlainObject(after)) {
        const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
        return keys.flatMap((key) => propertyChanges(before[key], after[key], path ? `${path}.${key}` : key));
    }
    if (Array.isArray(before) && Array.isArray(after)) {
        if (before.every(plain) && after.every(plain)) {
            const removed = before.filter((item) => !after.includes(item));
            const added = after.filter((item) => !before.includes(item));
            if (removed.length + added.length > 0) return [{ path, removed, added }];
            return [{ path, before, after }]; // same items, new order
        }
        if (before.length === after.length) return before.flatMap((item, i) => propertyChanges(item, after[i], `${path}[${i}]`));
        // Different lengths: drop the items both have, then compare what is left.
        const removed = before.filter((item) => !after.some((other) => equal(item, other)));
        const added = after.filter((item) => !before.some((other) => equal(item, other)));
        if (removed.length === added.length) {
            return removed.flatMap((item, i) => propertyChanges(item, added[i], `${path}[${before.indexOf(item)}]`));
        }
        return [{ path, removed, added }];
    }
    return [{ path, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) }];
}

/** `SuppressionStore › QueueWithDlq`, or `(stack)`, from a URN's parent type chain. */
export function parentChain(urn: string): string {
    const types = parseUrn(urn).qualifiedType.split("$").slice(0, -1);
    return types.length === 0 ? "(stack)" : types.map(shortType).join(" › ");
}

function why(oldUrn: string, newUrn: string): string {
    const before = parseUrn(oldUrn);
    const after = parseUrn(newUrn);
    const parts: string[] = [];
    if (before.name !== after.name) parts.push(`logical name ${before.name} → ${after.name}`);
    if (before.qualifiedType !== after.qualifiedType) parts.push(`parent ${parentChain(oldUrn)} → ${parentChain(newUrn)}`);
    return `new URN (${parts.join("; ")})`;
}

function change(kind: ChangeKind, resource: PlanResource, extra: Partial<ResourceChange> = {}): ResourceChange {
    const dataBearing = resource.type in DATA_BEARING;
    const physical = resource.custom ? physicalName(resource) : "";
    return {
        kind,
        urn: resource.urn,
        type: resource.type,
        name: resource.name,
        ...(physical ? { physicalName: physical } : {}),
        component: !resource.custom,
        dataBearing,
        dataLoss: dataBearing && (kind === "delete" || kind === "replace"),
        reasons: [],
        properties: [],
        ...extra,
    };
}

/** What `pulumi up` would do to go from `before` to `after`. */
export function diffPlans(before: PlanSnapshot, after: PlanSnapshot): PlanDiff {
    const old = new Map(before.resources.map((r) => [r.urn, r]));
    const next = new Map(after.resources.map((r) => [r.urn, r]));
    const changes: ResourceChange[] = [];
    const matchedOld = new Set<string>();
    let same = 0;

    const compare = (was: PlanResource, now: PlanResource, moved: boolean) => {
        matchedOld.add(was.urn);
        const properties = propertyChanges(was.inputs, now.inputs);
        const forced = (REPLACED_ON_CHANGE[now.type] ?? []).filter((key) => !equal(was.inputs[key], now.inputs[key]));
        const extra = moved ? { oldUrn: was.urn, reasons: [`moved through an alias from ${parentChain(was.urn)} ${was.name}`] } : {};
        if (forced.length > 0) {
            const reasons = [...(extra.reasons ?? []), `${forced.join(", ")} cannot change in place`];
            changes.push(change("replace", now, { ...extra, reasons, properties }));
        } else if (properties.length > 0) {
            changes.push(change("update", now, { ...extra, properties }));
        } else if (moved) {
            changes.push(change("move", now, extra));
        } else {
            same++;
        }
    };

    // Same URN, or a new URN that names the old one as an alias: the engine updates in place.
    const created: PlanResource[] = [];
    for (const now of after.resources) {
        const was = old.get(now.urn);
        if (was) {
            compare(was, now, false);
            continue;
        }
        const alias = (now.aliases ?? []).find((urn) => old.has(urn) && !next.has(urn) && !matchedOld.has(urn));
        if (alias) compare(old.get(alias)!, now, true);
        else created.push(now);
    }
    const deleted = before.resources.filter((r) => !next.has(r.urn) && !matchedOld.has(r.urn));

    // A deleted and a created resource of the same type and name (or physical name) are one resource
    // whose URN changed: the engine creates the new one and deletes the old one.
    const pairs = new Map<string, PlanResource>();
    for (const gone of deleted) {
        const candidates = created.filter((r) => r.type === gone.type && ![...pairs.values()].includes(r));
        const partner = candidates.find((r) => r.name === gone.name) ??
            candidates.find((r) => r.custom && physicalName(r) !== "" && physicalName(r) === physicalName(gone));
        if (partner) pairs.set(gone.urn, partner);
    }
    for (const gone of deleted) {
        const partner = pairs.get(gone.urn);
        if (!partner) {
            const reasons = ["no longer registered by the program"];
            changes.push(change("delete", gone, { reasons }));
            continue;
        }
        const properties = propertyChanges(gone.inputs, partner.inputs);
        changes.push(change("replace", partner, { oldUrn: gone.urn, reasons: [why(gone.urn, partner.urn)], properties }));
    }
    const paired = new Set(pairs.values());
    for (const now of created.filter((r) => !paired.has(r))) changes.push(change("create", now));

    changes.sort((a, b) => Number(b.dataLoss) - Number(a.dataLoss) || ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind) ||
        Number(b.component) - Number(a.component) || a.type.localeCompare(b.type) || a.name.localeCompare(b.name));
    const counts = { create: 0, delete: 0, replace: 0, update: 0, move: 0, same };
    for (const c of changes) counts[c.kind]++;
    return { stack: after.stack, counts, changes, dataLoss: changes.filter((c) => c.dataLoss) };
}

/** 1 when data would be lost and that was not accepted. */
export function diffExitCode(diff: PlanDiff, allowDataLoss = false): number {
    return diff.dataLoss.length > 0 && !allowDataLoss ? 1 : 0;
}

function show(value: unknown, width = 48): string {
    if (value === undefined) return "(none)";
    if (isAssetValue(value)) return `#${value.sha256.slice(0, 8)} (${Math.round(value.bytes / 1024)} KiB)`;
    return truncate(JSON.stringify(value) ?? String(value), Math.max(12, width));
}

/** Two strings with their common start and end cut to `…`, so the difference shows. */
function showPair(before: unknown, after: unknown, width: number): [string, string] {
    if (typeof before !== "string" || typeof after !== "string") return [show(before, width), show(after, width)];
    let start = 0;
    while (start < before.length && start < after.length && before[start] === after[start]) start++;
    let end = 0;
    while (end < before.length - start && end < after.length - start && before[before.length - 1 - end] === after[after.length - 1 - end]) end++;
    const keep = 10; // context either side of the difference
    const cut = (text: string) => {
        const from = start > keep + 3 ? start - keep : 0;
        const to = end > keep + 3 ? text.length - end + keep : text.length;
        return `${from > 0 ? "…" : ""}${text.slice(from, to)}${to < text.length ? "…" : ""}`;
    };
    return [truncate(JSON.stringify(cut(before)), Math.max(12, width)), truncate(JSON.stringify(cut(after)), Math.max(12, width))];
}

/** One changed property in at most `width` columns. */
function propertyLine(p: PropertyChange, width: number): string {
    if (isAssetValue(p.before) && isAssetValue(p.after)) {
        return `${p.path} changed #${p.before.sha256.slice(0, 8)} → #${p.after.sha256.slice(0, 8)} (${Math.round(p.before.bytes / 1024)} → ${Math.round(p.after.bytes / 1024)} KiB)`;
    }
    const path = truncate(p.path || "(inputs)", Math.floor(width / 2));
    const room = width - columns(path) - 2;
    if (p.removed || p.added) {
        const items = [...(p.removed ?? []).map((v) => ["-", v] as const), ...(p.added ?? []).map((v) => ["+", v] as const)];
        const each = Math.max(12, Math.floor(room / Math.max(1, items.length)) - 2);
        return truncate(`${path}: ${items.map(([sign, v]) => `${sign}${show(v, each)}`).join(" ")}`, width);
    }
    if (p.before === undefined) return truncate(`${path}: + ${show(p.after, room - 2)}`, width);
    if (p.after === undefined) return truncate(`${path}: - ${show(p.before, room - 2)}`, width);
    const [before, after] = showPair(p.before, p.after, Math.floor((room - 3) / 2));
    return truncate(`${path}: ${before} → ${after}`, width);
}

const SYMBOL: Record<ChangeKind, string> = { create: "+ create ", delete: "- delete ", replace: "± replace", update: "~ update ", move: "> move   " };
const MAX_PROPERTIES = 8;

function headline(c: ResourceChange): string {
    const what = `${shortType(c.type)} ${c.name}${c.component ? " (component)" : ""}`;
    const physical = c.physicalName && c.physicalName !== c.name ? `  ${c.physicalName}` : "";
    const flag = c.dataLoss ? "  [DATA LOSS]" : "";
    const line = `  ${SYMBOL[c.kind]}  ${what}${physical}${flag}`;
    return columns(line) <= WIDTH ? line : `  ${SYMBOL[c.kind]}  ${truncate(what, WIDTH - 16 - columns(flag))}${flag}`;
}

function detailLines(c: ResourceChange): string[] {
    const lines: string[] = [];
    const indent = "        ";
    for (const reason of c.reasons) lines.push(...wrap(reason, indent, indent + "  "));
    for (const p of c.properties.slice(0, MAX_PROPERTIES)) lines.push(indent + propertyLine(p, WIDTH - columns(indent)));
    if (c.properties.length > MAX_PROPERTIES) lines.push(`${indent}… and ${c.properties.length - MAX_PROPERTIES} more properties`);
    return lines;
}

function lossExplanation(c: ResourceChange): string {
    const data = DATA_BEARING[c.type] ?? "its data";
    const kind = shortType(c.type);
    if (c.kind === "delete") {
        return `pulumi up would delete this ${kind} and ${data}. If it moved, register it again with aliases (the old URN: ${c.urn}).`;
    }
    if (c.oldUrn && parseUrn(c.oldUrn).qualifiedType !== parseUrn(c.urn).qualifiedType) {
        const types = parseUrn(c.oldUrn).qualifiedType.split("$");
        const parent = types.length > 1 ? `<the ${shortType(types[types.length - 2])} it had>` : "pulumi.rootStackResource";
        return `pulumi up would create a new ${kind} and delete the old one with ${data}. Keep it: give the resource ` +
            `aliases: [{ parent: ${parent} }] (or the old URN: aliases: ["${c.oldUrn}"]).`;
    }
    if (c.oldUrn) {
        return `pulumi up would create a new ${kind} and delete the old one with ${data}. Keep it: aliases: [{ name: "${parseUrn(c.oldUrn).name}" }].`;
    }
    return `pulumi up would create a new ${kind} and delete the old one with ${data}.`;
}

export interface DiffLabels {
    before: string;
    after: string;
}

/** The diff as text, every line within WIDTH. */
export function renderDiff(diff: PlanDiff, labels: DiffLabels, options: { allowDataLoss?: boolean; notes?: string[]; shown?: (c: ResourceChange) => boolean } = {}): string[] {
    const lines = [`Plan diff for stack "${diff.stack}": ${labels.before} → ${labels.after} (offline, Pulumi mocks)`];
    for (const note of options.notes ?? []) lines.push(...wrap(note, "  note: ", "        "));
    lines.push("");
    if (diff.dataLoss.length > 0) {
        lines.push(`DATA LOSS: ${diff.dataLoss.length} data-bearing resource${diff.dataLoss.length === 1 ? "" : "s"} would be deleted or replaced`);
        for (const c of diff.dataLoss) {
            lines.push(headline(c));
            lines.push(...detailLines({ ...c, properties: [] }));
            lines.push(...wrap(lossExplanation(c), "        ", "        "));
        }
        lines.push("");
    }
    const { create, delete: del, replace, update, move, same } = diff.counts;
    const changed = diff.changes.length;
    if (changed === 0) {
        lines.push(`No changes: both versions register the same ${same} resources and components with the same inputs.`);
        return lines;
    }
    lines.push(`Changes: ${create} to create, ${del} to delete, ${replace} to replace, ${update} to update` +
        `${move > 0 ? `, ${move} moved through aliases` : ""} (${same} unchanged)`);
    const shown = diff.changes.filter(options.shown ?? (() => true));
    for (const c of shown) {
        lines.push(headline(c));
        lines.push(...detailLines(c));
    }
    if (shown.length < changed) lines.push(`  (${changed - shown.length} more changes outside the filter)`);
    lines.push("");
    if (diff.dataLoss.length === 0) {
        lines.push("No data-bearing resource (table, bucket, key, queue, parameter) is deleted or replaced.");
    } else if (options.allowDataLoss) {
        lines.push(`Data loss accepted (--allow-data-loss): ${diff.dataLoss.length} resource${diff.dataLoss.length === 1 ? "" : "s"}.`);
    } else {
        lines.push(...wrap(`Exit 1: data loss in ${diff.dataLoss.length} resource${diff.dataLoss.length === 1 ? "" : "s"}. ` +
            "Fix the URNs (aliases), or pass --allow-data-loss if losing the data is intended.", "", ""));
    }
    return lines;
}

/** Diff, text and exit code in one call: what `--compare` prints and returns. */
export function comparePlans(before: PlanSnapshot, after: PlanSnapshot, labels: DiffLabels, options: { allowDataLoss?: boolean; notes?: string[] } = {}): { diff: PlanDiff; lines: string[]; exitCode: number } {
    const diff = diffPlans(before, after);
    return { diff, lines: renderDiff(diff, labels, options), exitCode: diffExitCode(diff, options.allowDataLoss) };
}
