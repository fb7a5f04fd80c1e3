import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { runPreview } from "../../scripts/preview-cli";

const ROOT = path.resolve(__dirname, "..", "..");

function git(...args: string[]): string {
    return execFileSync("git", ["-C", ROOT, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

function inGitCheckout(): boolean {
    try {
        return git("rev-parse", "--is-inside-work-tree") === "true";
    } catch {
        return false;
    }
}

const leftovers = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith("ses-mail-compare-"));

// End to end: HEAD synthesized in a temporary worktree and the working tree, each in a child
// process. On a fresh clone the two are the same commit; on a working copy this is the check that
// what is being changed loses no data (a restructuring that changes a table's URN fails here).
describe("npm run preview -- --compare HEAD (git worktree, child processes)", function () {
    this.timeout(120000);

    it("working tree against HEAD: no data-bearing resource deleted or replaced, worktree removed", async function () {
        if (!inGitCheckout()) this.skip(); // an installed package has no git history
        const worktreesBefore = git("worktree", "list", "--porcelain");
        const tempBefore = leftovers();
        const out: string[] = [];
        const err: string[] = [];
        const code = await runPreview(["--compare", "HEAD", "--json"], { out: (text) => out.push(text), err: (text) => err.push(text) });
        expect(err, "stderr").to.deep.equal([]);
        const diff = JSON.parse(out.join("\n"));
        expect(diff).to.deep.include({ format: "ses-mail-plan-diff/1", before: `HEAD (${git("rev-parse", "--short=7", "HEAD")})`, after: "working tree", stack: "test" });
        expect(diff.dataLoss.map((c: { urn: string; reasons: string[] }) => `${c.urn}: ${c.reasons.join("; ")}`), "data loss against HEAD").to.deep.equal([]);
        expect(code).to.equal(0);
        expect(diff.exitCode).to.equal(0);
        expect(diff.counts.same + diff.counts.update + diff.counts.move + diff.counts.replace + diff.counts.create).to.be.greaterThan(200);
        expect(git("worktree", "list", "--porcelain"), "the temporary worktree is gone").to.equal(worktreesBefore);
        expect(leftovers().filter((name) => !tempBefore.includes(name)), "the temporary directory is gone").to.deep.equal([]);
    });

    it("an unknown ref fails with exit 1 and says what to do", async function () {
        if (!inGitCheckout()) this.skip();
        const err: string[] = [];
        const code = await runPreview(["--compare", "no-such-ref-xyz"], { out: () => undefined, err: (text) => err.push(text) });
        expect(code).to.equal(1);
        expect(err.join("\n")).to.match(/^"no-such-ref-xyz" is not a commit in .* \(a shallow CI checkout needs the base fetched: git fetch origin <branch>\)\.$/);
    });
});
