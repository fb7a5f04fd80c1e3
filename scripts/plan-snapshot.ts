// A stack's plan as plain JSON: what `npm run preview` renders and what `--compare` diffs. Built
// from one run of the stack program under Pulumi mocks (tests/support/stack's runStack).
//
// URNs here are the engine's: the type part is the full parent type chain
// (`ses-mail:index:MailIngest$ses-mail:index:QueueWithDlq$aws:sqs/queue:Queue`). The mock monitor
// only prefixes the direct parent's type, so a resource whose grandparent changes would keep its mock
// URN while `pulumi up` replaces it.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";

export const SNAPSHOT_FORMAT = "ses-mail-plan/1";

/** One registered resource or component. */
export interface PlanResource {
    /** The engine's URN (full parent type chain). */
    urn: string;
    type: string;
    /** Logical name. */
    name: string;
    /** URN of the parent component; absent for children of the stack. */
    parent?: string;
    /** false for components. */
    custom: boolean;
    /** Inputs as JSON: undefined dropped, assets as `{ "$asset": … , "sha256": … }` (see normalizeValue). */
    inputs: Record<string, unknown>;
    /** URNs this resource was registered as before (its `aliases`, and its parents' aliases applied to it). */
    aliases?: string[];
}

export interface PlanSnapshot {
    format: typeof SNAPSHOT_FORMAT;
    stack: string;
    project: string;
    /** In registration order. */
    resources: PlanResource[];
}

/** What the program registered, as tests/support/mocks records it (only the fields every version has). */
export interface RecordedRegistration {
    type: string;
    name: string;
    /** The mock monitor's URN. */
    urn: string;
    parentUrn?: string;
    custom: boolean;
    inputs: Record<string, any>;
}

/** An alias as the SDK sends it to the monitor: a URN, or a spec relative to the resource. */
export interface AliasRequest {
    urn?: string;
    name?: string;
    type?: string;
    stack?: string;
    project?: string;
    /** Mock URN of the alias's parent. */
    parentUrn?: string;
    noParent?: boolean;
}

/** Per mock URN, what the registration request carried beyond the inputs. */
export type RegistrationExtras = Map<string, { parentUrn?: string; aliases: AliasRequest[] }>;

function shortHash(text: string | Buffer): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/**
 * Inputs as plain JSON. Archives and assets (a function's bundled code is a large string) become
 * `{ "$asset": "archive", sha256, bytes, files }` so a plan stays small and a code change shows as
 * a hash change.
 */
export async function normalizeValue(value: unknown): Promise<unknown> {
    if (value === undefined || value === null) {
        return undefined;
    }
    if (pulumi.asset.Archive.isInstance(value) || pulumi.asset.Asset.isInstance(value)) {
        return normalizeAsset(value);
    }
    if (pulumi.Output.isInstance(value)) {
        return "(unknown)";
    }
    if (Array.isArray(value)) {
        return Promise.all((value as unknown[]).map(async (item) => (await normalizeValue(item)) ?? null));
    }
    if (typeof value === "object") {
        const entries = await Promise.all(Object.entries(value).map(async ([key, item]) => [key, await normalizeValue(item)] as const));
        return Object.fromEntries(entries.filter(([, item]) => item !== undefined));
    }
    return value;
}

async function assetBytes(asset: pulumi.asset.Asset): Promise<{ content: string; bytes: number }> {
    const a = asset as any;
    if (a.text !== undefined) {
        const text: string = await a.text;
        return { content: text, bytes: Buffer.byteLength(text) };
    }
    const where: string = (await a.path) ?? (await a.uri) ?? "";
    return { content: where, bytes: 0 };
}

async function normalizeAsset(value: pulumi.asset.Asset | pulumi.asset.Archive): Promise<Record<string, unknown>> {
    const v = value as any;
    if (pulumi.asset.Asset.isInstance(value)) {
        const { content, bytes } = await assetBytes(value);
        return { $asset: "asset", sha256: shortHash(content), bytes };
    }
    if (v.assets !== undefined) {
        const assets: Record<string, pulumi.asset.Asset | pulumi.asset.Archive> = await v.assets;
        const hash = createHash("sha256");
        let bytes = 0;
        const files = Object.keys(assets).sort();
        for (const file of files) {
            const item = assets[file];
            const inner = pulumi.asset.Asset.isInstance(item) ? await assetBytes(item) : { content: JSON.stringify(await normalizeAsset(item)), bytes: 0 };
            hash.update(`${file}\0${inner.content}\0`);
            bytes += inner.bytes;
        }
        return { $asset: "archive", sha256: hash.digest("hex").slice(0, 12), bytes, files };
    }
    const where: string = (await v.path) ?? (await v.uri) ?? "";
    return { $asset: "archive", sha256: shortHash(where), bytes: 0, files: [where] };
}

export function isAssetValue(value: unknown): value is { $asset: string; sha256: string; bytes: number; files?: string[] } {
    return typeof value === "object" && value !== null && typeof (value as any).$asset === "string" && typeof (value as any).sha256 === "string";
}

/** `urn:pulumi:<stack>::<project>::<qualified type>::<name>` split into its parts. */
export function parseUrn(urn: string): { stack: string; project: string; qualifiedType: string; type: string; name: string } {
    const [head, project, qualifiedType, ...rest] = urn.split("::");
    const types = (qualifiedType ?? "").split("$");
    return { stack: head.replace(/^urn:pulumi:/, ""), project: project ?? "", qualifiedType: qualifiedType ?? "", type: types[types.length - 1], name: rest.join("::") };
}

export function engineUrn(stack: string, project: string, parentUrn: string | undefined, type: string, name: string): string {
    const qualified = parentUrn ? `${parseUrn(parentUrn).qualifiedType}$${type}` : type;
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** The plan of one program run, with engine URNs and the aliases the engine would match. */
export async function buildSnapshot(stack: string, registrations: RecordedRegistration[], extras: RegistrationExtras = new Map()): Promise<PlanSnapshot> {
    const project = registrations[0] ? parseUrn(registrations[0].urn).project : "";
    const byMockUrn = new Map(registrations.map((r) => [r.urn, r]));
    const parentOf = (r: RecordedRegistration) => extras.get(r.urn)?.parentUrn ?? r.parentUrn;

    const urns = new Map<string, string>();
    const urnOf = (mockUrn: string, seen = new Set<string>()): string => {
        const known = urns.get(mockUrn);
        if (known) return known;
        const r = byMockUrn.get(mockUrn);
        if (!r || seen.has(mockUrn)) return mockUrn; // not registered by this program: leave as is
        seen.add(mockUrn);
        const parent = parentOf(r);
        const urn = engineUrn(stack, project, parent ? urnOf(parent, seen) : undefined, r.type, r.name);
        urns.set(mockUrn, urn);
        return urn;
    };

    const aliasCache = new Map<string, string[]>();
    const aliasesOf = (r: RecordedRegistration): string[] => {
        const cached = aliasCache.get(r.urn);
        if (cached) return cached;
        aliasCache.set(r.urn, []); // cycles cannot happen, but never recurse forever
        const parent = parentOf(r);
        const own = (extras.get(r.urn)?.aliases ?? []).map((alias) => {
            if (alias.urn) return alias.urn;
            const aliasParent = alias.noParent ? undefined : alias.parentUrn ? urnOf(alias.parentUrn) : parent ? urnOf(parent) : undefined;
            return engineUrn(alias.stack || stack, alias.project || project, aliasParent, alias.type || r.type, alias.name || r.name);
        });
        // The engine applies a parent's aliases to its children: same type and name under the old parent.
        const parentRecord = parent ? byMockUrn.get(parent) : undefined;
        const inherited = parentRecord ? aliasesOf(parentRecord).map((old) => engineUrn(stack, project, old, r.type, r.name)) : [];
        const all = [...new Set([...own, ...inherited])].filter((urn) => urn !== urnOf(r.urn));
        aliasCache.set(r.urn, all);
        return all;
    };

    const resources: PlanResource[] = [];
    for (const r of registrations) {
        const parent = parentOf(r);
        const aliases = aliasesOf(r);
        resources.push({
            urn: urnOf(r.urn),
            type: r.type,
            name: r.name,
            ...(parent ? { parent: urnOf(parent) } : {}),
            custom: r.custom,
            inputs: ((await normalizeValue(r.inputs)) ?? {}) as Record<string, unknown>,
            ...(aliases.length > 0 ? { aliases } : {}),
        });
    }
    return { format: SNAPSHOT_FORMAT, stack, project, resources };
}

/**
 * Runs `program` (which runs the stack under tests/support/mocks) while recording each
 * registration's parent and aliases, which the mocks' own records leave out.
 */
export async function recordingRegistrations<T>(program: () => Promise<T>): Promise<{ result: T; extras: RegistrationExtras }> {
    const extras: RegistrationExtras = new Map();
    const proto = MockMonitor.prototype as any;
    const original = proto.registerResource;
    proto.registerResource = function (req: any, callback: (err: any, response: any) => void) {
        const parentUrn: string | undefined = req.getParent() || undefined;
        const aliases: AliasRequest[] = (req.getAliasesList?.() ?? []).map((alias: any): AliasRequest => {
            if (!alias.hasSpec?.()) return { urn: alias.getUrn() };
            const spec = alias.getSpec();
            return {
                name: spec.getName() || undefined,
                type: spec.getType() || undefined,
                stack: spec.getStack() || undefined,
                project: spec.getProject() || undefined,
                parentUrn: spec.getParenturn() || undefined,
                noParent: spec.getNoparent() || undefined,
            };
        });
        return original.call(this, req, (err: any, response: any) => {
            if (!err && response) extras.set(response.getUrn(), { parentUrn, aliases });
            callback(err, response);
        });
    };
    try {
        return { result: await program(), extras };
    } finally {
        proto.registerResource = original;
    }
}
