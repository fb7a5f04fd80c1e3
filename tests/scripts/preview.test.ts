import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { sesMailPolicies } from "../../policy/policies";
import { previewJson, runPreview, synthesize } from "../../scripts/preview-cli";
import { FilterError, renderPreview, select, type PreviewData } from "../../scripts/plan-tree";
import { columns } from "../../scripts/text";

/** Runs the CLI in this process, collecting what it prints. */
async function preview(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runPreview(argv, { out: (text) => out.push(...text.split("\n")), err: (text) => err.push(...text.split("\n")) });
    return { code, out, err };
}

const MISSING = /\bundefined\b|\bnull\b|\[object Object\]|\bNaN\b/;

describe("npm run preview: the plan tree", function () {
    this.timeout(120000);
    const data: Record<string, PreviewData> = {};
    const lines: Record<string, string[]> = {};

    before(async () => {
        for (const stack of ["test", "prod"]) {
            data[stack] = await synthesize(stack);
            lines[stack] = renderPreview(data[stack]);
        }
    });

    for (const stack of ["test", "prod"]) {
        it(`${stack}: no line over 120 columns and no undefined, null, NaN or [object Object]`, () => {
            const long = lines[stack].filter((line) => columns(line) > 120);
            expect(long, "lines over 120 columns").to.deep.equal([]);
            expect(lines[stack].filter((line) => MISSING.test(line)), "cells with a missing value").to.deep.equal([]);
            const custom = data[stack].snapshot.resources.filter((r) => r.custom).length;
            expect(lines[stack][0]).to.equal(`Plan for stack "${stack}" (offline, Pulumi mocks): ${custom} resources in ${data[stack].snapshot.resources.length - custom} components`);
        });

        it(`${stack}: one tree line per resource and component, each under its parent`, () => {
            const tree = lines[stack].slice(lines[stack].indexOf(`Stack ses-mail-${stack}  (${data[stack].snapshot.resources.filter((r) => r.custom).length} resources)`));
            const heads = tree.filter((line) => /[├└]─ /.test(line));
            expect(heads).to.have.length(data[stack].snapshot.resources.length);
            // Depth (the column of the branch) follows the parent chain: the suppression table is a
            // child of SuppressionStore, the feedback DLQ's queue three levels down.
            const depth = (line: string) => columns(line.slice(0, line.search(/[├└]─ /))) / 3;
            const head = (type: string, name: string) => heads.find((line) => new RegExp(`[├└]─ ${type} +${name}(  |$)`).test(line))!;
            expect(depth(head("SuppressionStore", "suppression"))).to.equal(0);
            expect(depth(head("dynamodb:Table", "suppression"))).to.equal(1);
            expect(depth(head("sqs:Queue", "feedback-queue-dlq"))).to.equal(3);
        });
    }

    it("test: type, logical name, physical name and key properties on a resource's lines", () => {
        const text = lines.test.join("\n");
        expect(text).to.match(/[├└]─ dynamodb:Table +suppression {2}ses-email-suppression-list-test\n.* {7}PAY_PER_REQUEST, key email\+reason, GSI reason-index, TTL expires_at, PITR, SSE aws\/dynamodb\n/);
        const ingest = data.test.snapshot.resources.filter((r) => r.custom && r.urn.includes("::ses-mail:index:MailIngest$")).length;
        expect(text).to.match(new RegExp(`[├└]─ MailIngest +ingest {2}\\(${ingest} resources\\)`));
        // An SQS trigger shows what an SQS source has, not the stream-only fields (retries, on failure).
        const forwarder = lines.test.findIndex((line) => /lambda:EventSourceMapping +ingest-forwarder-source/.test(line));
        expect(lines.test[forwarder + 1].replace(/^[│ ]+/, "")).to.equal("from ses-mail-gmail-forwarder-test, batch 5, max concurrency 2, partial batch failures");
        const stream = lines.test.findIndex((line) => /lambda:EventSourceMapping +smtp-manager-stream/.test(line));
        expect(lines.test.slice(stream + 1, stream + 3).join(" ")).to.include("retries 5").and.include("on failure → ses-mail-smtp-credential-manager-dlq-test");
    });

    it("test: the summary counts resources by component and by type, then the policy results", () => {
        const summary = lines.test.slice(lines.test.findIndex((line) => line.startsWith("Summary: ")));
        const custom = data.test.snapshot.resources.filter((r) => r.custom).length;
        expect(summary[0]).to.equal(`Summary: ${custom} resources in ${data.test.snapshot.resources.length - custom} components`);
        const byComponent = summary.slice(2, summary.indexOf("  by type:")).map((line) => line.trim().split(/\s+/));
        expect(byComponent.map(([type, name]) => `${type} ${name}`)).to.deep.equal([
            "SuppressionStore suppression", "FeedbackPipeline feedback", "MailIngest ingest", "SmtpCredentials smtp",
            "Alarms alarms", "SendingGuard sending", "OperationsDashboard dashboard", "SavedQueries queries", "Runbooks runbooks",
            "KmsKey stack-key",
        ]);
        expect(byComponent.reduce((sum, row) => sum + Number(row[2]), 0)).to.equal(custom);
        const alarms = data.test.snapshot.resources.filter((r) => r.type === "aws:cloudwatch/metricAlarm:MetricAlarm").length;
        expect(summary.join("\n")).to.include(` ${alarms} cloudwatch:MetricAlarm`).and.match(/ {2}5 dynamodb:Table/);
        const n = sesMailPolicies.length;
        expect(summary.find((line) => line.startsWith("Policy pack"))).to.equal(`Policy pack ses-mail (${n} policies): 0 mandatory, 0 advisory violations`);
        expect(summary.join("\n")).to.include(`passed (${n}): ${sesMailPolicies[0].name}`);
    });

    it("lists violations first, mandatory before advisory, then what passed", () => {
        const policy = {
            policies: ["a-rule", "b-rule", "c-rule"],
            violations: [
                { policyName: "c-rule", enforcementLevel: "advisory" as const, message: "advice", urn: "urn:x" },
                { policyName: "b-rule", enforcementLevel: "mandatory" as const, message: "must fix" },
            ],
        };
        const out = renderPreview({ ...data.test, policy });
        const tail = out.slice(out.findIndex((line) => line.startsWith("Policy pack")));
        expect(tail).to.deep.equal([
            "Policy pack ses-mail (3 policies): 1 mandatory, 1 advisory violations",
            "  [mandatory] b-rule: must fix",
            "  [advisory] c-rule: advice",
            "      urn:x",
            "  passed (1): a-rule",
        ]);
    });

    it("--component and --type select a subtree and a type, with the ancestors for context", () => {
        const out = renderPreview(data.test, { component: "ingest", type: "Table" });
        expect(out[1]).to.equal("Showing component ingest, type Table: 2 resources");
        expect(out.filter((line) => /[├└]─ /.test(line))).to.deep.equal([
            "└─ MailIngest ingest  (86 resources)",
            "   ├─ dynamodb:Table ingest-idempotency  ses-mail-gmail-forwarder-idempotency-test",
            "   └─ dynamodb:Table ingest-routing  ses-mail-email-routing-test",
        ]);
        const forms = ["Table", "dynamodb:Table", "aws:dynamodb/table:Table", "dynamodb", "TABLE"].map((type) => [...select(data.test.snapshot, { type })].sort());
        for (const form of forms) expect(form).to.deep.equal(forms[0]).and.have.length(5);
        expect(select(data.test.snapshot, { component: "MailIngest" })).to.deep.equal(select(data.test.snapshot, { component: "ingest" }));
        expect(() => select(data.test.snapshot, { component: "nope" })).to.throw(FilterError, /No component "nope"\. Components: suppression \(SuppressionStore\), feedback/);
        expect(() => select(data.test.snapshot, { component: "alarms", type: "Table" })).to.throw(FilterError, /No resource of type "Table" in alarms\. Types: .*cloudwatch:MetricAlarm/);
    });

    it("--json: the plan for tools, with code as a hash, filters applied", async () => {
        const { code, out } = await preview("--json", "--stack", "prod");
        expect(code).to.equal(0);
        const json = JSON.parse(out.join("\n"));
        expect(json).to.have.keys(["format", "stack", "project", "summary", "resources", "outputs", "policy"]);
        expect(json).to.deep.include({ format: "ses-mail-preview/1", stack: "prod", project: "ses-mail" });
        const custom = json.resources.filter((r: any) => r.custom).length;
        expect(json.summary.resources).to.equal(custom).and.be.greaterThan(200);
        expect(json.summary.components).to.equal(json.resources.length - custom);
        expect(json.summary.byType["aws:dynamodb/table:Table"]).to.equal(6);
        expect(Object.values(json.summary.byComponent).reduce((a: number, b) => a + (b as number), 0)).to.equal(custom);
        expect(json.policy).to.deep.equal({ policies: sesMailPolicies.length, mandatory: 0, advisory: 0, violations: [] });
        for (const r of json.resources) {
            expect(r).to.include.keys(["urn", "type", "name", "custom", "inputs", "shortType", "physicalName", "keyProperties"]);
            expect(r.urn).to.match(/^urn:pulumi:prod::ses-mail::/);
            expect(r.keyProperties.every((p: unknown) => typeof p === "string" && !MISSING.test(p))).to.equal(true);
        }
        const table = json.resources.find((r: any) => r.name === "suppression" && r.custom);
        expect(table).to.deep.include({ type: "aws:dynamodb/table:Table", shortType: "dynamodb:Table", physicalName: "ses-email-suppression-list", parent: "urn:pulumi:prod::ses-mail::ses-mail:index:SuppressionStore::suppression" });
        const fn = json.resources.find((r: any) => r.type === "aws:lambda/function:Function" && r.name === "feedback-worker");
        expect(fn.inputs.code).to.have.keys(["$asset", "sha256", "bytes", "files"]);
        expect(fn.inputs.code.sha256).to.match(/^[0-9a-f]{12}$/);
        expect(out.join("\n").length, "no bundled code in the JSON").to.be.below(1_000_000);

        const filtered = previewJson(data.test, { type: "dynamodb:Table" });
        expect(filtered.filter).to.deep.equal({ type: "dynamodb:Table" });
        expect(filtered.resources.map((r) => r.name).sort()).to.deep.equal(["feedback-events", "feedback-senders", "ingest-idempotency", "ingest-routing", "suppression"]);
    });

    it("a saved --json plan compares with the working tree: no changes, exit 0", async () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "preview-test-")), "plan.json");
        fs.writeFileSync(file, JSON.stringify(previewJson(data.test)));
        const { code, out } = await preview("--compare", file);
        expect(code).to.equal(0);
        expect(out[0]).to.equal('Plan diff for stack "test": plan.json → working tree (offline, Pulumi mocks)');
        expect(out).to.include(`No changes: both versions register the same ${data.test.snapshot.resources.length} resources and components with the same inputs.`);
        fs.rmSync(path.dirname(file), { recursive: true, force: true });
    });

    it("usage errors exit 2 and say why", async () => {
        expect(await preview("--stack", "nope")).to.deep.include({ code: 2, err: ['No stack "nope": choose one of prod, test (npm run preview -- --stack <name>).'] });
        const unknown = await preview("--bogus");
        expect(unknown.code).to.equal(2);
        expect(unknown.err[0]).to.match(/Unknown option '--bogus'/);
        expect((await preview("--allow-data-loss")).code).to.equal(2);
        expect((await preview("--component", "nope")).code).to.equal(2);
    });
});
