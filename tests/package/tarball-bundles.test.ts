// The packed npm tarball bundles every function byte for byte as the checkout does, and its bin runs
// (`npm run test:package`, with tests/package/install.test.ts).
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { packageRoot } from "../../components/bundle";
import { hashesFrom, hashesInProcess as inProcess } from "../support/bundle-hashes";
import { packed } from "../support/packed";

const ROOT = path.resolve(__dirname, "..", "..");

describe("bundleFunction from the packed tarball", () => {
    it("works from the packed npm tarball, with identical output", function () {
        this.timeout(180_000);
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-pack-"));
        try {
            // `npm run build`, then `npm pack`: once per test run, shared with the install test (tests/support/packed.ts).
            const pack = packed(".");
            const installed = path.join(work, "node_modules", "@ses-mail", "pulumi");
            fs.mkdirSync(installed, { recursive: true });
            execFileSync("tar", ["-xzf", pack.tarball, "-C", installed, "--strip-components=1"]);
            // The package's dependencies, as npm would install them beside it.
            for (const dependency of fs.readdirSync(path.join(ROOT, "node_modules"))) {
                if (dependency !== ".bin" && dependency !== "@ses-mail") {
                    fs.symlinkSync(path.join(ROOT, "node_modules", dependency), path.join(work, "node_modules", dependency));
                }
            }
            expect(pack.files.map((f: { path: string }) => f.path)).to.include.members(["dist/index.js", "functions/suppression-mirror/handler.ts", "functions/shared/email.ts", "policy/index.ts", "policy/PulumiPolicy.yaml", "components/iam.ts"]);
            expect(pack.files.some((f: { path: string }) => f.path.startsWith("tests/"))).to.equal(false);

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
