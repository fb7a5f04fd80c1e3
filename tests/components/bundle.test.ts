import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "chai";
import { bundleFunction } from "../../components/bundle";
import { FUNCTIONS, hashesFrom, hashesInProcess as inProcess } from "../support/bundle-hashes";

const ROOT = path.resolve(__dirname, "..", "..");
const TSX = pathToFileURL(path.join(ROOT, "node_modules", "tsx", "dist", "loader.mjs")).href;

describe("bundleFunction", () => {
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

});
