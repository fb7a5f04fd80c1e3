import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "chai";
import { bundleFunction, packageRoot } from "../../components/bundle";

const ROOT = path.resolve(__dirname, "..", "..");
const FUNCTIONS = fs.readdirSync(path.join(ROOT, "functions")).filter((name) => fs.existsSync(path.join(ROOT, "functions", name, "handler.ts")));
const TSX = pathToFileURL(path.join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;

/** Bundles every function in a fresh Node process started in `cwd`, returning name → sha256. */
function hashesFrom(cwd: string, moduleUrl: string, loader?: string): Record<string, string> {
    const script = `const { bundleFunction } = require(${JSON.stringify(moduleUrl)});
        const names = ${JSON.stringify(FUNCTIONS)};
        console.log(JSON.stringify(Object.fromEntries(names.map((n) => [n, bundleFunction(n).sha256]))));`;
    const args = [...(loader ? ["--import", loader] : []), "--no-warnings", "-e", script];
    return JSON.parse(execFileSync(process.execPath, args, { cwd, encoding: "utf8" }));
}

describe("bundleFunction", () => {
    const inProcess = () => Object.fromEntries(FUNCTIONS.map((name) => [name, bundleFunction(name).sha256]));

    it("finds at least one function to bundle", () => {
        expect(FUNCTIONS).to.include("suppression-mirror");
    });

    it("produces the same bytes across rebuilds and working directories", function () {
        this.timeout(120_000);
        const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-cwd-"));
        try {
            const source = path.join(ROOT, "components", "bundle.ts");
            const fromRoot = hashesFrom(ROOT, source, TSX);
            const fromTmp = hashesFrom(elsewhere, source, TSX);
            const fromFunctionsDir = hashesFrom(path.join(ROOT, "functions"), source, TSX);
            expect(fromTmp).to.deep.equal(fromRoot);
            expect(fromFunctionsDir).to.deep.equal(fromRoot);
            expect(inProcess()).to.deep.equal(fromRoot);
        } finally {
            fs.rmSync(elsewhere, { recursive: true, force: true });
        }
    });

    it("bundles minified CommonJS with the AWS SDK left to the runtime and no source map", () => {
        const { code } = bundleFunction("suppression-mirror");
        expect(code).to.match(/require\("@aws-sdk\/client-sesv2"\)/);
        expect(code).to.match(/require\("@aws-sdk\/client-dynamodb"\)/);
        expect(code).not.to.include("sourceMappingURL");
        expect(code).not.to.include(ROOT);
        expect(code.split("\n").length).to.be.lessThan(20);
    });

    it("works from the packed npm tarball, with identical output", function () {
        this.timeout(180_000);
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-pack-"));
        try {
            execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "pipe" });
            const [packed] = JSON.parse(execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
            const installed = path.join(work, "node_modules", "@ses-mail", "pulumi");
            fs.mkdirSync(installed, { recursive: true });
            execFileSync("tar", ["-xzf", path.join(work, packed.filename), "-C", installed, "--strip-components=1"]);
            // The package's dependencies, as npm would install them beside it.
            for (const dependency of fs.readdirSync(path.join(ROOT, "node_modules"))) {
                if (dependency !== ".bin" && dependency !== "@ses-mail") {
                    fs.symlinkSync(path.join(ROOT, "node_modules", dependency), path.join(work, "node_modules", dependency));
                }
            }
            expect(packed.files.map((f: { path: string }) => f.path)).to.include.members(["dist/index.js", "functions/suppression-mirror/handler.ts", "functions/shared/email.ts", "policy/index.ts", "policy/PulumiPolicy.yaml", "components/iam.ts"]);
            expect(packed.files.some((f: { path: string }) => f.path.startsWith("tests/"))).to.equal(false);

            const viaPackage = path.join(installed, "dist", "index.js");
            expect(packageRoot(path.dirname(viaPackage))).to.equal(installed);
            expect(hashesFrom(work, viaPackage)).to.deep.equal(inProcess());

            // The `ses-mail` bin runs from the installed package (what `npx ses-mail` starts).
            const bin = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8")).bin["ses-mail"];
            const help = execFileSync(process.execPath, ["--no-warnings", path.join(installed, bin), "token", "refresh", "--help"], { cwd: work, encoding: "utf8" });
            expect(help).to.include("Usage: ses-mail token refresh [options]").and.include("--port <n>");
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
