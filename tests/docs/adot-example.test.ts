// The ADOT example of docs/COMPONENTS.md ("Tracing: active tracing, no X-Ray SDK") is this file's code,
// line for line: so it type-checks against MailIngestTransform (tsc covers tests/), and under Pulumi
// mocks it adds the layer and the wrapper to the forwarder only, keeping the component's variables.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { MailIngest } from "../../components/mail-ingest";
import { SuppressionStore } from "../../components/suppression-store";
import { runUnderMocks } from "../support/mocks";

const ROOT = path.join(__dirname, "..", "..");

function example(): MailIngest {
    const suppression = new SuppressionStore("suppression", {});
    // docs/COMPONENTS.md from here
    return new MailIngest("ingest", {
        domains: ["mail.example.com"],
        suppressionStore: suppression,
        transform: {
            // The function form: a partial `{ environment: … }` would replace the component's variables whole.
            forwarderFunction: (args) => {
                args.layers = ["<ADOT Node.js layer ARN for your region, arm64>"];
                args.environment = pulumi.output(args.environment).apply((e) => ({
                    variables: { ...e?.variables, AWS_LAMBDA_EXEC_WRAPPER: "/opt/otel-instrument" },
                }));
            },
        },
    });
    // docs/COMPONENTS.md to here
}

/** Trimmed, non-empty lines; `return ` dropped (the document's example is a statement). */
const normalised = (code: string) => code.split("\n").map((l) => l.trim().replace(/^return /, "")).filter((l) => l !== "");

describe("docs/COMPONENTS.md: the ADOT transform example", () => {
    it("is this file's example, line for line", () => {
        const doc = fs.readFileSync(path.join(ROOT, "docs", "COMPONENTS.md"), "utf8");
        const section = doc.slice(doc.indexOf("## Tracing: active tracing, no X-Ray SDK"));
        const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
        const own = fs.readFileSync(__filename, "utf8");
        const code = own.slice(own.indexOf("// docs/COMPONENTS.md from here"), own.indexOf("// docs/COMPONENTS.md to here")).split("\n").slice(1).join("\n");
        expect(block, "no ts block in the Tracing section").to.be.a("string");
        expect(normalised(block!)).to.deep.equal(normalised(code));
    });

    it("adds the layer and AWS_LAMBDA_EXEC_WRAPPER to the forwarder, keeps its variables, changes no other function", async () => {
        const plain = (await runUnderMocks(() => new MailIngest("ingest", { domains: ["mail.example.com"], suppressionStore: new SuppressionStore("suppression", {}) }))).plan;
        const { plan } = await runUnderMocks(example);
        const forwarder = plan.one("aws:lambda/function:Function", "ingest-forwarder").inputs;
        const before = plain.one("aws:lambda/function:Function", "ingest-forwarder").inputs;
        expect(forwarder.layers).to.deep.equal(["<ADOT Node.js layer ARN for your region, arm64>"]);
        expect(Object.keys(before.environment.variables).length).to.be.greaterThan(0);
        expect(forwarder.environment.variables).to.deep.equal({ ...before.environment.variables, AWS_LAMBDA_EXEC_WRAPPER: "/opt/otel-instrument" });
        expect(forwarder.tracingConfig).to.deep.equal({ mode: "Active" });
        for (const name of ["ingest-router", "ingest-bouncer"]) {
            const fn = plan.one("aws:lambda/function:Function", name).inputs;
            expect(fn.layers, name).to.equal(undefined);
            expect(fn.environment.variables, name).to.not.have.property("AWS_LAMBDA_EXEC_WRAPPER");
        }
    });
});
