// `npm run preview`: arguments, the in-process synthesis of the working tree, and the choice between
// the tree, JSON and a plan diff. Exported so tests call it without spawning npm.
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { sesMailPolicies } from "../policy/policies";
import { readPackConfig, runPolicies } from "../policy/runner";
import { StackConfigError } from "../stacks/config";
import { listStacks, runStack } from "../tests/support/stack";
import { CompareError, synthesizeVersions } from "./compare";
import { keyProperties, physicalName, shortType } from "./key-properties";
import { diffExitCode, diffPlans, renderDiff, type ResourceChange } from "./plan-diff";
import { buildSnapshot, recordingRegistrations, type PlanSnapshot } from "./plan-snapshot";
import { FilterError, renderPreview, select, type PlanFilter, type PreviewData } from "./plan-tree";

const ROOT = path.resolve(__dirname, "..");

export const USAGE = `Usage: npm run preview -- [options]

  --stack <name>          stack to synthesize (Pulumi.<name>.yaml; default test)
  --json                  machine-readable output instead of the tree
  --component <name>      only this component and what is under it (logical name or type, e.g. ingest or MailIngest)
  --type <type>           only resources of this type (aws:dynamodb/table:Table, dynamodb:Table, Table or dynamodb)
  --compare <git-ref>     plan diff from the stack at <git-ref> to the working tree (or from a saved --json file)
  --allow-data-loss       with --compare: exit 0 even when a data-bearing resource is deleted or replaced

Exit status: 0 fine; 1 mandatory policy violation, invalid config or (with --compare) data loss; 2 usage.`;

export interface Io {
    out(text: string): void;
    err(text: string): void;
}

const CONSOLE: Io = { out: (text) => console.log(text), err: (text) => console.error(text) };

function showOutput(value: unknown): string {
    if (value === undefined || value === null) return "(not created)";
    const unknown = pulumi.Output.isInstance(value) ||
        typeof value === "object" && value !== null && Object.values(value).some((v) => pulumi.Output.isInstance(v));
    return unknown ? "(known after up)" : JSON.stringify(value);
}

/** The working tree's stack, synthesized in this process, with its policy results. */
export async function synthesize(stack: string): Promise<PreviewData> {
    const { result, extras } = await recordingRegistrations(() => runStack(stack));
    const snapshot = await buildSnapshot(stack, result.plan.resources, extras);
    const violations = await runPolicies(result.plan.resources, sesMailPolicies, { config: readPackConfig() });
    const outputs = Object.fromEntries(Object.entries(result.outputs).map(([key, value]) => [key, showOutput(value)]));
    return { snapshot, outputs, policy: { policies: sesMailPolicies.map((p) => p.name), violations } };
}

/** What `--json` prints: the plan (a PlanSnapshot, so it can be compared later) plus what the tree shows. */
export function previewJson(data: PreviewData, filter: PlanFilter = {}) {
    const filtered = filter.component !== undefined || filter.type !== undefined;
    const selected = filtered ? select(data.snapshot, filter) : undefined;
    const resources = data.snapshot.resources.filter((r) => !selected || selected.has(r.urn));
    const byComponent: Record<string, number> = {};
    const byUrn = new Map(data.snapshot.resources.map((r) => [r.urn, r]));
    for (const r of resources.filter((x) => x.custom)) {
        let top = r;
        while (top.parent && byUrn.get(top.parent)) top = byUrn.get(top.parent)!;
        const key = top === r ? "(stack)" : top.name;
        byComponent[key] = (byComponent[key] ?? 0) + 1;
    }
    const byType: Record<string, number> = {};
    for (const r of resources.filter((x) => x.custom)) byType[r.type] = (byType[r.type] ?? 0) + 1;
    const mandatory = data.policy.violations.filter((v) => v.enforcementLevel === "mandatory").length;
    return {
        format: "ses-mail-preview/1",
        stack: data.snapshot.stack,
        project: data.snapshot.project,
        ...(filtered ? { filter } : {}),
        summary: {
            resources: resources.filter((r) => r.custom).length,
            components: resources.filter((r) => !r.custom).length,
            byComponent,
            byType,
        },
        resources: resources.map((r) => ({
            ...r,
            shortType: shortType(r.type),
            physicalName: r.custom ? physicalName(r) : "",
            keyProperties: r.custom ? keyProperties(r) : [],
        })),
        outputs: data.outputs,
        policy: {
            policies: data.policy.policies.length,
            mandatory,
            advisory: data.policy.violations.length - mandatory,
            violations: data.policy.violations,
        },
    };
}

function readSavedPlan(file: string): PlanSnapshot {
    const saved = JSON.parse(fs.readFileSync(file, "utf8"));
    if (!Array.isArray(saved?.resources) || typeof saved?.stack !== "string") {
        throw new CompareError(`${file} is not a plan (the output of npm run preview -- --json).`);
    }
    if (saved.filter) throw new CompareError(`${file} is a filtered plan: save one without --component/--type to compare.`);
    return { format: "ses-mail-plan/1", stack: saved.stack, project: saved.project ?? "", resources: saved.resources };
}

/** Changes the filter keeps: under the component and/or of the type, in either version. */
function changeFilter(before: PlanSnapshot, after: PlanSnapshot, filter: PlanFilter): ((c: ResourceChange) => boolean) | undefined {
    if (filter.component === undefined && filter.type === undefined) return undefined;
    const inside = (snapshot: PlanSnapshot) => {
        try {
            return select(snapshot, filter);
        } catch (error) {
            if (error instanceof FilterError) return new Set<string>();
            throw error;
        }
    };
    const urns = new Set([...inside(before), ...inside(after)]);
    if (urns.size === 0) select(after, filter); // throws, naming the choices
    return (c) => urns.has(c.urn) || (c.oldUrn !== undefined && urns.has(c.oldUrn));
}

async function compare(stack: string, ref: string, filter: PlanFilter, json: boolean, allowDataLoss: boolean, io: Io): Promise<number> {
    let before: PlanSnapshot;
    let after: PlanSnapshot;
    let label: string;
    let notes: string[] = [];
    if (ref.endsWith(".json") && fs.existsSync(ref)) {
        before = readSavedPlan(ref);
        after = (await synthesize(stack)).snapshot;
        label = path.basename(ref);
        if (before.stack !== stack) notes.push(`${label} is a plan of stack "${before.stack}", compared with stack "${stack}".`);
    } else {
        ({ before, after, label, notes } = await synthesizeVersions(ROOT, ref, stack));
    }
    const labels = { before: label, after: "working tree" };
    const shown = changeFilter(before, after, filter);
    const diff = diffPlans(before, after);
    const exitCode = diffExitCode(diff, allowDataLoss);
    if (json) {
        const changes = shown ? diff.changes.filter(shown) : diff.changes;
        io.out(JSON.stringify({ format: "ses-mail-plan-diff/1", ...labels, notes, ...diff, changes, allowDataLoss, exitCode }, null, 2));
    } else {
        // With a filter only the matching changes are listed; data loss is always listed in full.
        for (const line of renderDiff(diff, labels, { allowDataLoss, notes, shown })) io.out(line);
    }
    return exitCode;
}

/** Runs the preview; resolves with the process exit code. */
export async function runPreview(argv: string[], io: Io = CONSOLE): Promise<number> {
    let values: { stack?: string; json?: boolean; component?: string; type?: string; compare?: string; "allow-data-loss"?: boolean; help?: boolean };
    try {
        ({ values } = parseArgs({
            args: argv,
            options: {
                stack: { type: "string", default: "test" },
                json: { type: "boolean", default: false },
                component: { type: "string" },
                type: { type: "string" },
                compare: { type: "string" },
                "allow-data-loss": { type: "boolean", default: false },
                help: { type: "boolean", short: "h", default: false },
            },
        }));
    } catch (error) {
        io.err(`${(error as Error).message}\n\n${USAGE}`);
        return 2;
    }
    if (values.help) {
        io.out(USAGE);
        return 0;
    }
    const stack = values.stack!;
    if (!listStacks().includes(stack)) {
        io.err(`No stack "${stack}": choose one of ${listStacks().join(", ")} (npm run preview -- --stack <name>).`);
        return 2;
    }
    if (values["allow-data-loss"] && values.compare === undefined) {
        io.err(`--allow-data-loss only applies to --compare.\n\n${USAGE}`);
        return 2;
    }
    const filter: PlanFilter = { component: values.component, type: values.type };
    try {
        if (values.compare !== undefined) {
            return await compare(stack, values.compare, filter, values.json!, values["allow-data-loss"]!, io);
        }
        const data = await synthesize(stack);
        if (values.json) {
            io.out(JSON.stringify(previewJson(data, filter), null, 2));
        } else {
            for (const line of renderPreview(data, filter)) io.out(line);
        }
        return data.policy.violations.some((v) => v.enforcementLevel === "mandatory") ? 1 : 0;
    } catch (error) {
        if (error instanceof StackConfigError || error instanceof CompareError) {
            io.err(error.message);
            return 1;
        }
        if (error instanceof FilterError) {
            io.err(error.message);
            return 2;
        }
        throw error;
    }
}
