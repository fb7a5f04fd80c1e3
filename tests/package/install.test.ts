// Installing the package as a user would (issue #19, "Install"): the packed tarballs of
// @ses-mail/pulumi and @ses-mail/runtime go into fresh projects with Node 22 from the npm registry,
// then a program under Pulumi mocks, the installed `ses-mail` bin and the runtime alone are run.
// Skips, saying so, only when the npm registry cannot be reached.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { packed } from "../support/packed";

const ROOT = path.resolve(__dirname, "..", "..");
const RUNTIME_DIR = path.join(ROOT, "packages", "runtime");
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));
const ROOT_MANIFEST = readJson(path.join(ROOT, "package.json"));
const RUNTIME_MANIFEST = readJson(path.join(RUNTIME_DIR, "package.json"));

/** Package names imported (at run time or for types) by `entry` and the project files it imports. */
function bareImports(entry: string): Set<string> {
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        for (const [, specifier] of fs.readFileSync(file, "utf8").matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)["']([^"']+)["']/gm)) {
            if (specifier.startsWith(".")) {
                const base = path.resolve(path.dirname(file), specifier);
                const found = [`${base}.ts`, path.join(base, "index.ts")].find((candidate) => fs.existsSync(candidate));
                if (!found) throw new Error(`${file}: cannot resolve ${specifier}`);
                visit(found);
            } else if (!specifier.startsWith("node:")) {
                bare.add(specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]);
            }
        }
    };
    visit(entry);
    return bare;
}

/** Bytes of files and number of packages under a node_modules folder (apparent sizes, no symlinks followed). */
function installSize(nodeModules: string): { bytes: number; packages: number } {
    let bytes = 0;
    let packages = 0;
    const walk = (dir: string, inNodeModules: boolean) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                const isPackage = inNodeModules && !entry.name.startsWith(".") && !entry.name.startsWith("@");
                if (isPackage) packages++;
                walk(full, entry.name === "node_modules" || (inNodeModules && entry.name.startsWith("@")));
            } else if (entry.isFile()) {
                bytes += fs.statSync(full).size;
            }
        }
    };
    walk(nodeModules, true);
    return { bytes, packages };
}
const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

describe("package manifests", () => {
    it("ships the Apache-2.0 licence text in both packages", () => {
        const text = fs.readFileSync(path.join(ROOT, "LICENSE"), "utf8");
        expect(ROOT_MANIFEST.license).to.equal("Apache-2.0");
        expect(RUNTIME_MANIFEST.license).to.equal("Apache-2.0");
        expect(text).to.match(/^\s+Apache License\n\s+Version 2\.0, January 2004\n/).and.include("END OF TERMS AND CONDITIONS");
        expect(fs.readFileSync(path.join(RUNTIME_DIR, "LICENSE"), "utf8")).to.equal(text);
    });

    it("requires Node 22; Pulumi is a peer (with a dev copy for the tests); test tools stay dev dependencies", () => {
        for (const manifest of [ROOT_MANIFEST, RUNTIME_MANIFEST]) expect(manifest.engines).to.deep.equal({ node: ">=22" });
        for (const peer of ["@pulumi/pulumi", "@pulumi/aws"]) {
            expect(ROOT_MANIFEST.peerDependencies[peer], peer).to.be.a("string");
            expect(ROOT_MANIFEST.devDependencies[peer], peer).to.equal(ROOT_MANIFEST.peerDependencies[peer]);
            expect(ROOT_MANIFEST.dependencies, peer).to.not.have.property(peer);
        }
        const testTools = ["mocha", "chai", "c8", "fast-check", "eslint", "typescript", "aws-sdk-client-mock", "dynalite", "@types/node"];
        expect(testTools.filter((tool) => tool in ROOT_MANIFEST.dependencies)).to.deep.equal([]);
    });

    it("the runtime package is built from runtime.ts and lists exactly what it imports, at the root's versions", () => {
        expect(RUNTIME_MANIFEST.version).to.equal(ROOT_MANIFEST.version);
        expect(fs.readFileSync(path.join(RUNTIME_DIR, "tsconfig.json"), "utf8")).to.include(`"files": ["../../runtime.ts"]`);
        const imported = [...bareImports(path.join(ROOT, "runtime.ts"))].sort();
        expect(Object.keys(RUNTIME_MANIFEST.dependencies).sort(), "packages/runtime/package.json \"dependencies\" must list what runtime.ts imports, at the root's versions").to.deep.equal(imported);
        for (const name of imported) expect(RUNTIME_MANIFEST.dependencies[name], name).to.equal(ROOT_MANIFEST.dependencies[name]);
        expect(imported.filter((name) => /^(@pulumi\/|esbuild$|tsx$)/.test(name))).to.deep.equal([]);
    });
});

describe("package: installed from the packed tarballs with Node 22", function () {
    // Two builds, two installs from the registry: about 1 to 2 minutes with npm's cache warm.
    this.timeout(600_000);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-install-"));
    const app = path.join(work, "app");
    const alone = path.join(work, "runtime-alone");
    let env: NodeJS.ProcessEnv;
    let installLog = "";
    const sizes: string[] = [];

    const run = (file: string, args: string[], cwd: string) => {
        try {
            return execFileSync(file, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        } catch (error) {
            const { stdout, stderr } = error as { stdout?: string; stderr?: string };
            throw new Error(`${file} ${args.join(" ")} in ${cwd} failed:\n${stdout ?? ""}${stderr ?? ""}`, { cause: error });
        }
    };
    /** npm install, returning its output (warnings included). */
    const npmInstall = (cwd: string, specs: string[]) => {
        const result = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...specs], { cwd, env, encoding: "utf8" });
        if (result.status !== 0) throw new Error(`npm install in ${cwd} failed:\n${result.stdout}\n${result.stderr}`);
        return `${result.stdout}\n${result.stderr}`;
    };

    before(function () {
        // Node 22 from PATH, else from the npm registry (.ci/node22.sh), for npm and every command.
        const node22 = spawnSync("bash", [path.join(ROOT, ".ci", "node22.sh")], { encoding: "utf8" });
        const ping = node22.status === 0 ? spawnSync("npm", ["ping"], { encoding: "utf8", timeout: 30_000 }) : undefined;
        if (node22.status !== 0 || ping?.status !== 0) {
            console.log(`      SKIPPED: the npm registry cannot be reached (${(node22.stderr || ping?.stderr || "timeout").trim().split("\n").pop()})`);
            this.skip();
        }
        env = { ...process.env, PATH: `${node22.stdout.trim()}${path.delimiter}${process.env.PATH}`, npm_config_update_notifier: "false" };

        // `npm run build` and `build:runtime`, then `npm pack` of each: once per test run, shared with
        // the bundle test (tests/support/packed.ts).
        const main = packed(".", env);
        const runtime = packed("packages/runtime", env);
        expect(main.files.map((f) => f.path)).to.include.members(["LICENSE", "dist/index.js", "dist/runtime.js", "dist/cli/main.js", "bin/ses-mail.js"]);
        expect(runtime.files.map((f) => f.path)).to.include.members(["LICENSE", "package.json", "dist/runtime.js", "dist/runtime.d.ts"]);
        expect(runtime.files.filter((f) => !f.path.startsWith("dist/") && !["LICENSE", "package.json", "README.md"].includes(f.path))).to.deep.equal([]);

        for (const dir of [app, alone]) {
            fs.mkdirSync(dir);
            fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: path.basename(dir), private: true }));
        }
        // The user's program owns the Pulumi versions (peer dependencies).
        const peers = Object.entries(ROOT_MANIFEST.peerDependencies as Record<string, string>).map(([name, range]) => `${name}@${range}`);
        installLog = npmInstall(app, [main.tarball, ...peers]);
        npmInstall(alone, [runtime.tarball]);
    });

    after(() => {
        if (sizes.length) console.log(sizes.map((line) => `      ${line}`).join("\n"));
        // Some 40,000 files: removed in the background rather than holding up the suite.
        spawn("rm", ["-rf", work], { detached: true, stdio: "ignore" }).unref();
    });

    it("installs with Node 22 and no engine or peer-dependency warning", () => {
        expect(run("node", ["--version"], app)).to.match(/^v(2[2-9]|[3-9]\d)\./);
        expect(installLog).to.not.match(/EBADENGINE|ERESOLVE|peer dep|Could not resolve dependency/i);
        const size = installSize(path.join(app, "node_modules"));
        sizes.push(`@ses-mail/pulumi with its peers: ${megabytes(size.bytes)} in ${size.packages} packages`);
    });

    it("runs a program under Pulumi mocks that uses two components of the package", () => {
        fs.writeFileSync(path.join(app, "program.js"), `
const pulumi = require("@pulumi/pulumi");
const calls = {
    "aws:index/getCallerIdentity:getCallerIdentity": { accountId: "123456789012" },
    "aws:index/getPartition:getPartition": { partition: "aws", dnsSuffix: "amazonaws.com" },
    "aws:index/getRegion:getRegion": { name: "us-east-1", region: "us-east-1" },
};
const registered = [];
pulumi.runtime.setMocks({
    newResource: (args) => {
        registered.push({ type: args.type, name: args.name, runtime: args.inputs.runtime });
        return { id: args.name + "-id", state: { ...args.inputs, arn: "arn:aws:mock:us-east-1:123456789012:" + args.name } };
    },
    call: (args) => { if (!calls[args.token]) throw new Error("unmocked " + args.token); return calls[args.token]; },
}, "app", "dev", false);
const { LambdaFunction, QueueWithDlq } = require("@ses-mail/pulumi");
const queue = new QueueWithDlq("jobs", { env: "dev", purpose: "jobs" });
const worker = new LambdaFunction("worker", { code: "suppression-mirror", env: "dev", metricsNamespace: "App/dev", policyStatements: [] });
pulumi.all([queue.arn, worker.function.arn]).apply(() => setTimeout(() => console.log(JSON.stringify(registered)), 100));
`);
        const registered = JSON.parse(run("node", ["program.js"], app).trim().split("\n").pop()!) as { type: string; name: string; runtime?: string }[];
        expect(registered.map((r) => r.type)).to.include.members(["ses-mail:index:QueueWithDlq", "aws:sqs/queue:Queue", "ses-mail:index:LambdaFunction", "aws:lambda/function:Function", "aws:iam/role:Role"]);
        expect(registered.find((r) => r.type === "aws:lambda/function:Function")!.runtime).to.equal("nodejs24.x");
    });

    it("runs the installed `ses-mail` bin (never one fetched from the registry)", () => {
        const bin = path.join(app, "node_modules", ".bin", "ses-mail");
        expect(fs.existsSync(bin)).to.equal(true);
        expect(run(bin, ["--help"], app)).to.include("Usage: ses-mail");
        // `npm exec --no` never installs: it runs the project's own bin.
        expect(run("npm", ["exec", "--no", "--", "ses-mail", "--version"], app).trim()).to.equal(ROOT_MANIFEST.version);
    });

    it("installs the runtime alone, without Pulumi, esbuild or tsx, with the same API as @ses-mail/pulumi/runtime", () => {
        const installed = fs.readdirSync(path.join(alone, "node_modules"));
        expect(installed.filter((name) => ["@pulumi", "esbuild", "tsx", "@esbuild", "typescript"].includes(name))).to.deep.equal([]);
        const exportsOf = (cwd: string, specifier: string) => JSON.parse(run("node", ["-e", `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)})).sort()))`], cwd)) as string[];
        const api = exportsOf(alone, "@ses-mail/runtime");
        expect(api).to.include.members(["SuppressionClient", "normaliseEmail", "deriveSmtpPassword"]);
        expect(api).to.deep.equal(exportsOf(app, "@ses-mail/pulumi/runtime"));
        expect(run("node", ["-e", "console.log(require('@ses-mail/runtime').normaliseEmail(' Ann@Example.COM '))"], alone).trim()).to.equal("ann@example.com");
        const size = installSize(path.join(alone, "node_modules"));
        sizes.push(`@ses-mail/runtime alone: ${megabytes(size.bytes)} in ${size.packages} packages`);
    });
});
