// Size guard for issue #20's cold-start goals: what each bundle is made of (esbuild's metafile) and
// which modules the forwarder loads at init. No timings here: `npm run bench` measures init time.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { bundleComposition, bundleFunction, LEFT_OUT, packageRoot } from "../../components/bundle";
import { MailIngest } from "../../components/mail-ingest";
import { SuppressionStore } from "../../components/suppression-store";
import { bundleGoal, functionNames } from "../../bench/bundles";
import { runUnderMocks } from "../support/mocks";

const FUNCTIONS = functionNames();

describe("function bundles: size and what they carry (issue #20, cold starts)", () => {
    it("every bundle is within its goal: 512 KiB for the Gmail forwarder, 150 KB for the others", () => {
        const over = FUNCTIONS.map((name) => ({ name, bytes: Buffer.byteLength(bundleFunction(name).code), goal: bundleGoal(name) })).filter((b) => b.bytes > b.goal);
        expect(over, "bundles over their goal (run npm run bench to see what they carry)").to.deep.equal([]);
        expect(FUNCTIONS).to.include.members(["gmail-forwarder", "token-probe", "bouncer"]);
    });

    it("no bundle carries the X-Ray SDK: Lambda's active tracing records the function without it", () => {
        for (const name of FUNCTIONS) {
            const modules = Object.keys(bundleComposition(name));
            expect(modules, name).to.not.include("aws-xray-sdk-core");
            expect(modules, name).to.not.include("@aws-lambda-powertools/tracer");
        }
    });

    it("the token probe exchanges the token with Node's fetch: no Google client library in it", () => {
        const modules = Object.keys(bundleComposition("token-probe"));
        for (const library of ["google-auth-library", "gaxios", "node-fetch", "gtoken", "gcp-metadata"]) expect(modules).to.not.include(library);
    });

    it("the forwarder keeps the real Gmail client, without the web-streams polyfill Node does not need", () => {
        const modules = Object.keys(bundleComposition("gmail-forwarder"));
        expect(modules).to.include.members(["@googleapis/gmail", "google-auth-library", "gaxios"]);
        expect(modules).to.not.include("web-streams-polyfill");
        const { code } = bundleFunction("gmail-forwarder");
        // Replaced, not dropped: if the runtime ever lacked ReadableStream, the stub would say so.
        expect(code).to.include("A module left out of this function bundle was loaded");
        for (const id of LEFT_OUT) expect(code).to.not.include(`require("${id}")`);
    });

    it("the forwarder's cold start loads the S3, DynamoDB and SSM clients, and not SQS (only failures and fan-out need it)", async function () {
        this.timeout(60_000);
        const { plan } = await runUnderMocks(() => new MailIngest("ingest", { env: "test", domains: ["example.com"], gmailAccounts: ["me@gmail.com"], suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        const env = { ...plan.one("aws:lambda/function:Function", "ingest-forwarder").inputs.environment.variables, AWS_REGION: "us-east-1" };
        const dir = fs.mkdtempSync(path.join(packageRoot(), "node_modules", ".bundle-size-"));
        try {
            const file = path.join(dir, "index.js");
            fs.writeFileSync(file, bundleFunction("gmail-forwarder").code);
            // Every module the bundle itself requires while it initialises, as Lambda's INIT would.
            const script = `const Module = require("node:module"); const file = process.argv[1]; const seen = new Set(); const load = Module._load;
                Module._load = function (request, parent) { if (parent && parent.filename === file) seen.add(request); return load.apply(this, arguments); };
                const { handler } = require(file); console.log(JSON.stringify({ handler: typeof handler, seen: [...seen].sort() }));`;
            const out = JSON.parse(execFileSync(process.execPath, ["--no-warnings", "-e", script, file], { env: { ...process.env, ...env }, encoding: "utf8" }).trim().split("\n").at(-1)!);
            expect(out.handler).to.equal("function");
            expect(out.seen.filter((id: string) => id.startsWith("@aws-sdk/"))).to.deep.equal(["@aws-sdk/client-dynamodb", "@aws-sdk/client-s3", "@aws-sdk/client-ssm", "@aws-sdk/util-dynamodb"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
