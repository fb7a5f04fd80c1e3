import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { comparePlans, diffPlans, type PlanDiff } from "../../scripts/plan-diff";
import { buildSnapshot, engineUrn, recordingRegistrations, type PlanResource, type PlanSnapshot } from "../../scripts/plan-snapshot";
import { synthesize } from "../../scripts/preview-cli";
import { columns } from "../../scripts/text";
import { runUnderMocks } from "../support/mocks";

// Two versions of a plan without git: the test stack's real plan, and a copy edited the way a
// restructuring or a tuning change would edit it.

const clone = (snapshot: PlanSnapshot): PlanSnapshot => JSON.parse(JSON.stringify(snapshot));
const labels = { before: "main", after: "working tree" };

function find(snapshot: PlanSnapshot, type: string, name: string): PlanResource {
    const found = snapshot.resources.find((r) => r.type === type && r.name === name);
    if (!found) throw new Error(`no ${type} ${name}`);
    return found;
}

/** Moves `resource` (and what is under it) under `parent`, with the URNs the engine would give them. */
function reparent(snapshot: PlanSnapshot, resource: PlanResource, parent: PlanResource): void {
    const move = (r: PlanResource, parentUrn: string) => {
        const old = r.urn;
        r.parent = parentUrn;
        r.urn = engineUrn(snapshot.stack, snapshot.project, parentUrn, r.type, r.name);
        snapshot.resources.filter((child) => child.parent === old).forEach((child) => move(child, r.urn));
    };
    move(resource, parent.urn);
}

/** Adds a component under `parent`. */
function addComponent(snapshot: PlanSnapshot, type: string, name: string, parent: PlanResource): PlanResource {
    const component: PlanResource = { urn: engineUrn(snapshot.stack, snapshot.project, parent.urn, type, name), type, name, parent: parent.urn, custom: false, inputs: {} };
    snapshot.resources.push(component);
    return component;
}

function expectReadable(lines: string[]): void {
    expect(lines.filter((line) => columns(line) > 120), "lines over 120 columns").to.deep.equal([]);
    expect(lines.filter((line) => /\bundefined\b|\[object Object\]/.test(line))).to.deep.equal([]);
}

describe("npm run preview -- --compare: the plan diff", function () {
    this.timeout(120000);
    let base: PlanSnapshot;

    before(async () => {
        base = (await synthesize("test")).snapshot;
    });

    it("identical versions: no changes, exit 0", () => {
        const { diff, lines, exitCode } = comparePlans(base, clone(base), labels);
        expect(diff.changes).to.deep.equal([]);
        expect(diff.counts.same).to.equal(base.resources.length);
        expect(exitCode).to.equal(0);
        expect(lines).to.deep.equal([
            'Plan diff for stack "test": main → working tree (offline, Pulumi mocks)',
            "",
            `No changes: both versions register the same ${base.resources.length} resources and components with the same inputs.`,
        ]);
    });

    it("a table under a new parent component is flagged as data loss and exits 1", () => {
        const next = clone(base);
        const store = find(next, "ses-mail:index:SuppressionStore", "suppression");
        const table = find(next, "aws:dynamodb/table:Table", "suppression");
        const oldUrn = table.urn;
        reparent(next, table, addComponent(next, "ses-mail:index:SuppressionTable", "suppression-table", store));

        const { diff, lines, exitCode } = comparePlans(base, next, labels);
        expect(exitCode).to.equal(1);
        expect(diff.counts).to.deep.equal({ create: 1, delete: 0, replace: 1, update: 0, move: 0, same: base.resources.length - 1 });
        expect(diff.dataLoss).to.have.length(1);
        expect(diff.dataLoss[0]).to.deep.include({
            kind: "replace",
            type: "aws:dynamodb/table:Table",
            name: "suppression",
            physicalName: "ses-email-suppression-list-test",
            oldUrn,
            urn: "urn:pulumi:test::ses-mail::ses-mail:index:SuppressionStore$ses-mail:index:SuppressionTable$aws:dynamodb/table:Table::suppression",
            dataLoss: true,
            reasons: ["new URN (parent SuppressionStore → SuppressionStore › SuppressionTable)"],
            properties: [],
        });
        expect(diff.changes.find((c) => c.kind === "create")).to.deep.include({ name: "suppression-table", component: true, dataLoss: false });
        expect(lines.slice(2, 8)).to.deep.equal([
            "DATA LOSS: 1 data-bearing resource would be deleted or replaced",
            "  ± replace  dynamodb:Table suppression  ses-email-suppression-list-test  [DATA LOSS]",
            "        new URN (parent SuppressionStore → SuppressionStore › SuppressionTable)",
            "        pulumi up would create a new dynamodb:Table and delete the old one with its items. Keep it: give the resource",
            "        aliases: [{ parent: <the SuppressionStore it had> }] (or the old URN: aliases:",
            `        ["${oldUrn}"]).`,
        ]);
        expect(lines[lines.length - 1]).to.equal("Exit 1: data loss in 1 resource. Fix the URNs (aliases), or pass --allow-data-loss if losing the data is intended.");
        expectReadable(lines);

        const accepted = comparePlans(base, next, labels, { allowDataLoss: true });
        expect(accepted.exitCode).to.equal(0);
        expect(accepted.lines[accepted.lines.length - 1]).to.equal("Data loss accepted (--allow-data-loss): 1 resource.");
    });

    it("the same move with an alias to the old URN is an in-place move: not flagged, exit 0", () => {
        const next = clone(base);
        const store = find(next, "ses-mail:index:SuppressionStore", "suppression");
        const table = find(next, "aws:dynamodb/table:Table", "suppression");
        const oldUrn = table.urn;
        reparent(next, table, addComponent(next, "ses-mail:index:SuppressionTable", "suppression-table", store));
        table.aliases = [oldUrn];
        const { diff, exitCode, lines } = comparePlans(base, next, labels);
        expect(exitCode).to.equal(0);
        expect(diff.dataLoss).to.deep.equal([]);
        expect(diff.changes.map((c) => [c.kind, c.name])).to.deep.equal([["create", "suppression-table"], ["move", "suppression"]]);
        expect(lines).to.include("No data-bearing resource (table, bucket, key, queue, parameter) is deleted or replaced.");
    });

    it("only an alarm threshold changed: one update with the property, not flagged, exit 0", () => {
        const next = clone(base);
        const alarm = find(next, "aws:cloudwatch/metricAlarm:MetricAlarm", "alarms-ses-high-bounce-rate-CRITICAL-test");
        const threshold = alarm.inputs.threshold as number;
        alarm.inputs.threshold = threshold + 1;
        const { diff, lines, exitCode } = comparePlans(base, next, labels);
        expect(exitCode).to.equal(0);
        expect(diff.dataLoss).to.deep.equal([]);
        expect(diff.changes).to.have.length(1);
        expect(diff.changes[0]).to.deep.include({ kind: "update", name: "alarms-ses-high-bounce-rate-CRITICAL-test", dataLoss: false, properties: [{ path: "threshold", before: threshold, after: threshold + 1 }] });
        expect(lines.slice(2)).to.deep.equal([
            `Changes: 0 to create, 0 to delete, 0 to replace, 1 to update (${base.resources.length - 1} unchanged)`,
            "  ~ update   cloudwatch:MetricAlarm alarms-ses-high-bounce-rate-CRITICAL-test  ses-high-bounce-rate-CRITICAL-test",
            `        threshold: ${threshold} → ${threshold + 1}`,
            "",
            "No data-bearing resource (table, bucket, key, queue, parameter) is deleted or replaced.",
        ]);
    });

    it("a new table name replaces the table in place of its URN: flagged", () => {
        const next = clone(base);
        find(next, "aws:dynamodb/table:Table", "ingest-routing").inputs.name = "ses-mail-routing-test";
        const diff = diffPlans(base, next);
        const table = diff.changes.find((c) => c.name === "ingest-routing")!;
        expect(table).to.deep.include({ kind: "replace", dataLoss: true, reasons: ["name cannot change in place"] });
        expect(table.properties).to.deep.include({ path: "name", before: "ses-mail-email-routing-test", after: "ses-mail-routing-test" });
        expect(diff.dataLoss.map((c) => c.name)).to.deep.equal(["ingest-routing"]);
    });

    it("deletes: a queue is data loss, an alarm is not; a renamed function is a replacement, not data loss", () => {
        const next = clone(base);
        const gone = new Set(["alarms-ses-mail-router-errors-test", "ingest-retry-dlq"]);
        next.resources = next.resources.filter((r) => !(gone.has(r.name) && r.custom));
        const fn = find(next, "aws:lambda/function:Function", "ingest-bouncer");
        fn.name = "ingest-bouncer-v2";
        fn.urn = engineUrn(next.stack, next.project, fn.parent, fn.type, fn.name);
        const diff: PlanDiff = diffPlans(base, next);
        const kinds = Object.fromEntries(diff.changes.map((c) => [c.name, [c.kind, c.dataLoss]]));
        expect(kinds).to.deep.equal({
            "ingest-retry-dlq": ["delete", true],
            "alarms-ses-mail-router-errors-test": ["delete", false],
            "ingest-bouncer-v2": ["replace", false],
        });
        expect(diff.changes[0].name, "data loss listed first").to.equal("ingest-retry-dlq");
        expect(diff.changes.find((c) => c.name === "ingest-bouncer-v2")!.reasons).to.deep.equal(["new URN (logical name ingest-bouncer → ingest-bouncer-v2)"]);
    });

    it("bundled code shows as a short hash, never the bundle", () => {
        const next = clone(base);
        const fn = find(next, "aws:lambda/function:Function", "ingest-router");
        const before = fn.inputs.code as { sha256: string; bytes: number };
        fn.inputs.code = { ...before, sha256: "0123456789ab", bytes: before.bytes + 2048 };
        const { lines } = comparePlans(base, next, labels);
        const kib = Math.round(before.bytes / 1024);
        expect(lines).to.include(`        code changed #${before.sha256.slice(0, 8)} → #01234567 (${kib} → ${kib + 2} KiB)`);
        expectReadable(lines);
    });

    it("JSON-string inputs are compared as JSON: the changed statement's path, not the whole policy", () => {
        const next = clone(base);
        const policy = find(next, "aws:iam/rolePolicy:RolePolicy", "ingest-pipe-policy");
        const doc = JSON.parse(policy.inputs.policy as string);
        doc.Statement[0].Action = [...doc.Statement[0].Action, "sqs:ListQueues"];
        policy.inputs.policy = JSON.stringify(doc);
        const change = diffPlans(base, next).changes[0];
        expect(change.properties).to.deep.equal([{ path: "policy.Statement[0].Action", removed: [], added: ["sqs:ListQueues"] }]);
    });
});

describe("plan snapshots of real registrations: URNs and aliases as the engine sees them", () => {
    class Part extends pulumi.ComponentResource {
        constructor(type: string, name: string, opts?: pulumi.ComponentResourceOptions) {
            super(type, name, {}, opts);
            this.registerOutputs({});
        }
    }
    const table = (parent: pulumi.Resource, opts: pulumi.CustomResourceOptions = {}) =>
        new aws.dynamodb.Table("rules", { name: "rules", hashKey: "PK", attributes: [{ name: "PK", type: "S" }], billingMode: "PAY_PER_REQUEST" }, { parent, ...opts });

    async function snapshotOf(program: () => void): Promise<PlanSnapshot> {
        const { result, extras } = await recordingRegistrations(() => runUnderMocks(program));
        return buildSnapshot("test", result.plan.resources, extras);
    }

    const v1 = () => {
        table(new Part("x:index:Ingest", "ingest"));
    };

    it("a table moved under a new part: data loss without an alias, a move with `aliases: [{ parent }]`", async () => {
        const before = await snapshotOf(v1);
        const moved = await snapshotOf(() => {
            const ingest = new Part("x:index:Ingest", "ingest");
            table(new Part("x:index:Routing", "ingest-routing", { parent: ingest }));
        });
        const aliased = await snapshotOf(() => {
            const ingest = new Part("x:index:Ingest", "ingest");
            table(new Part("x:index:Routing", "ingest-routing", { parent: ingest }), { aliases: [{ parent: ingest }] });
        });
        expect(find(moved, "aws:dynamodb/table:Table", "rules").urn).to.equal("urn:pulumi:test::ses-mail::x:index:Ingest$x:index:Routing$aws:dynamodb/table:Table::rules");
        expect(diffPlans(before, moved).dataLoss.map((c) => c.name)).to.deep.equal(["rules"]);
        expect(find(aliased, "aws:dynamodb/table:Table", "rules").aliases).to.deep.equal(["urn:pulumi:test::ses-mail::x:index:Ingest$aws:dynamodb/table:Table::rules"]);
        const diff = diffPlans(before, aliased);
        expect(diff.dataLoss).to.deep.equal([]);
        expect(diff.changes.map((c) => [c.kind, c.name])).to.deep.equal([["create", "ingest-routing"], ["move", "rules"]]);
    });

    it("a new grandparent changes the URN although the mock URN (direct parent only) stays", async () => {
        const before = await snapshotOf(() => {
            table(new Part("x:index:Routing", "routing", { parent: new Part("x:index:Ingest", "ingest") }));
        });
        const after = await snapshotOf(() => {
            table(new Part("x:index:Routing", "routing", { parent: new Part("x:index:Inbound", "ingest") }));
        });
        expect(diffPlans(before, after).dataLoss.map((c) => [c.name, c.reasons])).to.deep.equal([
            ["rules", ["new URN (parent Ingest › Routing → Inbound › Routing)"]],
        ]);
    });

    it("a parent's alias carries its children: a component's new type with an alias loses nothing", async () => {
        const before = await snapshotOf(v1);
        const after = await snapshotOf(() => {
            table(new Part("x:index:Inbound", "ingest", { aliases: [{ type: "x:index:Ingest" }] }));
        });
        const diff = diffPlans(before, after);
        expect(diff.dataLoss).to.deep.equal([]);
        expect(diff.changes.map((c) => [c.kind, c.urn, c.oldUrn])).to.deep.equal([
            ["move", "urn:pulumi:test::ses-mail::x:index:Inbound::ingest", "urn:pulumi:test::ses-mail::x:index:Ingest::ingest"],
            ["move", "urn:pulumi:test::ses-mail::x:index:Inbound$aws:dynamodb/table:Table::rules", "urn:pulumi:test::ses-mail::x:index:Ingest$aws:dynamodb/table:Table::rules"],
        ]);
        // Without the alias, the table (and the component) would be replaced.
        const bare = await snapshotOf(() => {
            table(new Part("x:index:Inbound", "ingest"));
        });
        expect(diffPlans(before, bare).dataLoss.map((c) => c.name)).to.deep.equal(["rules"]);
    });
});
