// The readable plan: stack → component → children as `pulumi preview` groups them, one resource a
// line (type, logical name, physical name, key properties), then a summary. Pure: PlanSnapshot in,
// lines out.
import type { PolicyViolation } from "../policy/runner";
import { keyProperties, physicalName, shortType } from "./key-properties";
import type { PlanResource, PlanSnapshot } from "./plan-snapshot";
import { columns, flow, padEnd, WIDTH, wrap } from "./text";

export interface PolicyResults {
    /** Every policy that ran. */
    policies: string[];
    violations: PolicyViolation[];
}

export interface PreviewData {
    snapshot: PlanSnapshot;
    /** Stack outputs as shown: a JSON value, "(known after up)" or "(not created)". */
    outputs: Record<string, string>;
    policy: PolicyResults;
}

export interface PlanFilter {
    /** A component's logical name or type (`ingest`, `MailIngest`): it and everything under it. */
    component?: string;
    /** A type: full (`aws:dynamodb/table:Table`), short (`dynamodb:Table`), class (`Table`) or module (`dynamodb`). */
    type?: string;
}

export class FilterError extends Error {}

function children(snapshot: PlanSnapshot): Map<string, PlanResource[]> {
    const byParent = new Map<string, PlanResource[]>();
    for (const r of snapshot.resources) {
        const key = r.parent ?? "";
        byParent.set(key, [...(byParent.get(key) ?? []), r]);
    }
    return byParent;
}

/**
 * Components first, in the order the program creates them (synchronous, so stable), then resources
 * by short type and name (their registration order depends on when outputs resolve).
 */
function ordered(resources: PlanResource[]): PlanResource[] {
    const position = new Map(resources.map((r, i) => [r, i]));
    return [...resources].sort((a, b) =>
        Number(a.custom) - Number(b.custom) ||
        (a.custom ? shortType(a.type).localeCompare(shortType(b.type)) || a.name.localeCompare(b.name) : position.get(a)! - position.get(b)!));
}

/** Custom resources under `urn`, at any depth. */
function countUnder(byParent: Map<string, PlanResource[]>, urn: string): number {
    return (byParent.get(urn) ?? []).reduce((sum, child) => sum + (child.custom ? 1 : 0) + countUnder(byParent, child.urn), 0);
}

export function typeMatches(type: string, query: string): boolean {
    const q = query.toLowerCase();
    const short = shortType(type).toLowerCase();
    return type.toLowerCase() === q || short === q || short.split(":").pop() === q || short.split(":")[0] === q && short.includes(":");
}

/** URNs the filter selects (all when no filter). Throws FilterError naming the choices when nothing matches. */
export function select(snapshot: PlanSnapshot, filter: PlanFilter): Set<string> {
    const byParent = children(snapshot);
    let chosen = snapshot.resources;
    if (filter.component !== undefined) {
        const q = filter.component.toLowerCase();
        const roots = snapshot.resources.filter((r) => !r.custom && (r.name.toLowerCase() === q || shortType(r.type).toLowerCase() === q || r.type.toLowerCase() === q));
        if (roots.length === 0) {
            const top = snapshot.resources.filter((r) => !r.custom && !r.parent).map((r) => `${r.name} (${shortType(r.type)})`);
            throw new FilterError(`No component "${filter.component}". Components: ${top.join(", ")} (or any component's logical name).`);
        }
        const under = new Set<string>();
        const add = (r: PlanResource) => {
            under.add(r.urn);
            (byParent.get(r.urn) ?? []).forEach(add);
        };
        roots.forEach(add);
        chosen = chosen.filter((r) => under.has(r.urn));
    }
    if (filter.type !== undefined) {
        const matching = chosen.filter((r) => typeMatches(r.type, filter.type!));
        if (matching.length === 0) {
            const types = [...new Set(chosen.map((r) => shortType(r.type)))].sort();
            throw new FilterError(`No resource of type "${filter.type}"${filter.component ? ` in ${filter.component}` : ""}. Types: ${types.join(", ")}.`);
        }
        chosen = matching;
    }
    return new Set(chosen.map((r) => r.urn));
}

/** What the physical-name column shows: the AWS name, or for a component how many resources it holds. */
function physicalCell(resource: PlanResource, byParent: Map<string, PlanResource[]>): string {
    if (!resource.custom) {
        const n = countUnder(byParent, resource.urn);
        return `(${n} resource${n === 1 ? "" : "s"})`;
    }
    const physical = physicalName(resource);
    return physical === resource.name ? "" : physical;
}

/** The tree lines of the selected resources (with their ancestors for context). */
export function treeLines(snapshot: PlanSnapshot, selected?: Set<string>): string[] {
    const byParent = children(snapshot);
    const byUrn = new Map(snapshot.resources.map((r) => [r.urn, r]));
    const shown = new Set<string>();
    for (const urn of selected ?? snapshot.resources.map((r) => r.urn)) {
        for (let r = byUrn.get(urn); r && !shown.has(r.urn); r = r.parent ? byUrn.get(r.parent) : undefined) shown.add(r.urn);
    }
    const custom = snapshot.resources.filter((r) => r.custom && shown.has(r.urn)).length;
    const lines = [`Stack ${snapshot.project}-${snapshot.stack}  (${custom} resource${custom === 1 ? "" : "s"})`];

    const walk = (parentUrn: string, base: string) => {
        const kids = ordered((byParent.get(parentUrn) ?? []).filter((r) => shown.has(r.urn)));
        const typeWidth = Math.min(26, Math.max(0, ...kids.map((k) => columns(shortType(k.type)))));
        kids.forEach((kid, index) => {
            const last = index === kids.length - 1;
            const hasKids = (byParent.get(kid.urn) ?? []).some((r) => shown.has(r.urn));
            const childBase = base + (last ? "   " : "│  ");
            const indent = childBase + (hasKids ? "│  " : "   ") + "  ";
            const head = `${base}${last ? "└─ " : "├─ "}${padEnd(shortType(kid.type), typeWidth)} ${kid.name}`;
            const physical = physicalCell(kid, byParent);
            const phrases = kid.custom ? keyProperties(kid) : [];
            let first = head;
            let rest = phrases;
            if (physical) {
                if (columns(head) + 2 + columns(physical) <= WIDTH) {
                    first = `${head}  ${physical}`;
                } else {
                    lines.push(head);
                    first = indent + physical;
                }
            }
            if (rest.length > 0) {
                // Key properties follow on the same line when they all fit, otherwise on their own lines.
                const inline = `${first}  ${rest.join(", ")}`;
                if (columns(inline) <= WIDTH) {
                    first = inline;
                    rest = [];
                }
            }
            lines.push(first);
            if (rest.length > 0) lines.push(...flow(indent, rest, indent));
            walk(kid.urn, childBase);
        });
    };
    walk("", "");
    return lines;
}

/** `n thing` / `n things`. */
function count(n: number, noun: string): string {
    return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** Cells laid out in as many columns as fit. */
function grid(cells: string[], indent = "  "): string[] {
    if (cells.length === 0) return [];
    const cell = Math.max(...cells.map(columns)) + 3;
    const perLine = Math.max(1, Math.floor((WIDTH - columns(indent)) / cell));
    const rows = Math.ceil(cells.length / perLine);
    const lines: string[] = [];
    for (let row = 0; row < rows; row++) {
        const line = Array.from({ length: perLine }, (_, col) => cells[col * rows + row]).filter((c) => c !== undefined);
        lines.push((indent + line.map((c) => padEnd(c, cell)).join("")).trimEnd());
    }
    return lines;
}

export function summaryLines(snapshot: PlanSnapshot, selected?: Set<string>): string[] {
    const byParent = children(snapshot);
    const inSelection = (r: PlanResource) => !selected || selected.has(r.urn);
    const custom = snapshot.resources.filter((r) => r.custom && inSelection(r));
    const components = snapshot.resources.filter((r) => !r.custom && inSelection(r));
    const total = snapshot.resources.filter((r) => r.custom).length;
    const lines = [selected
        ? `Summary (filtered): ${custom.length} of ${count(total, "resource")}`
        : `Summary: ${count(custom.length, "resource")} in ${count(components.length, "component")}`];

    const countSelected = (urn: string): number =>
        (byParent.get(urn) ?? []).reduce((sum, child) => sum + (child.custom && inSelection(child) ? 1 : 0) + countSelected(child.urn), 0);
    const top = snapshot.resources.filter((r) => !r.custom && !r.parent).map((r) => ({ r, n: countSelected(r.urn) })).filter(({ n }) => n > 0);
    const loose = custom.filter((r) => !r.parent).length;
    if (top.length > 0) {
        lines.push("  by component:");
        const typeWidth = Math.max(...top.map(({ r }) => columns(shortType(r.type))));
        const nameWidth = Math.max(...top.map(({ r }) => columns(r.name)));
        for (const { r, n } of top) lines.push(`    ${padEnd(shortType(r.type), typeWidth)}  ${padEnd(r.name, nameWidth)}  ${String(n).padStart(4)}`);
        if (loose > 0) lines.push(`    ${padEnd("(stack)", typeWidth)}  ${padEnd("", nameWidth)}  ${String(loose).padStart(4)}`);
    }
    const byType = new Map<string, number>();
    for (const r of custom) byType.set(shortType(r.type), (byType.get(shortType(r.type)) ?? 0) + 1);
    const types = [...byType].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (types.length > 0) {
        lines.push("  by type:");
        lines.push(...grid(types.map(([type, n]) => `${String(n).padStart(3)} ${type}`), "    "));
    }
    return lines;
}

export function outputLines(outputs: Record<string, string>): string[] {
    const entries = Object.entries(outputs);
    if (entries.length === 0) return [];
    const later = entries.filter(([, v]) => v === "(known after up)").map(([k]) => k);
    const absent = entries.filter(([, v]) => v === "(not created)").map(([k]) => k);
    const known = entries.filter(([, v]) => v !== "(known after up)" && v !== "(not created)");
    const lines = [`Outputs (${entries.length}):`];
    for (const [key, value] of known) lines.push(...wrap(value, `  ${key} = `, "      "));
    if (later.length > 0) lines.push(...flow(`  known after up: `, later, "    "));
    if (absent.length > 0) lines.push(...flow(`  not created: `, absent, "    "));
    return lines;
}

export function policyLines(policy: PolicyResults): string[] {
    const mandatory = policy.violations.filter((v) => v.enforcementLevel === "mandatory");
    const advisory = policy.violations.filter((v) => v.enforcementLevel !== "mandatory");
    const lines = [`Policy pack ses-mail (${policy.policies.length} ${policy.policies.length === 1 ? "policy" : "policies"}): ${mandatory.length} mandatory, ${advisory.length} advisory violations`];
    for (const v of [...mandatory, ...advisory]) {
        lines.push(...wrap(v.message, `  [${v.enforcementLevel}] ${v.policyName}: `, "      "));
        if (v.urn) lines.push(...flow("      ", [v.urn], "      "));
    }
    const failed = new Set(policy.violations.map((v) => v.policyName));
    const passed = policy.policies.filter((name) => !failed.has(name));
    if (passed.length > 0) lines.push(...flow(`  passed (${passed.length}): `, passed, "    "));
    return lines;
}

/** The whole text preview. */
export function renderPreview(data: PreviewData, filter: PlanFilter = {}): string[] {
    const filtered = filter.component !== undefined || filter.type !== undefined;
    const selected = filtered ? select(data.snapshot, filter) : undefined;
    const resources = data.snapshot.resources.filter((r) => r.custom).length;
    const components = data.snapshot.resources.length - resources;
    const what = [filter.component && `component ${filter.component}`, filter.type && `type ${filter.type}`].filter(Boolean).join(", ");
    return [
        `Plan for stack "${data.snapshot.stack}" (offline, Pulumi mocks): ${resources} resources in ${components} components`,
        ...(what ? [`Showing ${what}: ${[...selected!].filter((urn) => data.snapshot.resources.find((r) => r.urn === urn)?.custom).length} resources`] : []),
        "",
        ...treeLines(data.snapshot, selected),
        "",
        ...summaryLines(data.snapshot, selected),
        "",
        ...outputLines(data.outputs),
        "",
        ...policyLines(data.policy),
    ];
}
