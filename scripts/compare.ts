// `--compare <git-ref>`: the stack synthesized at another commit (in a temporary git worktree that
// borrows this checkout's node_modules) and at the working tree, each in its own child process, so
// the two versions' modules never mix.
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { PlanSnapshot } from "./plan-snapshot";

const SYNTH = path.join(__dirname, "plan-synth.ts");

export class CompareError extends Error {}

function git(root: string, args: string[]): string {
    return execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** Runs plan-synth.ts with `cwd` as the version's checkout; resolves with its plan. */
export function synthesizeIn(cwd: string, stack: string, out: string): Promise<PlanSnapshot> {
    const args = ["--import", "tsx", "--no-warnings=NodeVersionSupportWarning", SYNTH, "--stack", stack, "--out", out];
    return new Promise((resolve, reject) => {
        execFile(process.execPath, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) => {
            if (error) {
                const detail = stderr.trim().split("\n").slice(-15).join("\n");
                reject(new CompareError(`Synthesizing stack "${stack}" in ${cwd} failed:\n${detail}`));
                return;
            }
            resolve(JSON.parse(fs.readFileSync(out, "utf8")));
        });
    });
}

export interface Versions {
    before: PlanSnapshot;
    after: PlanSnapshot;
    /** `HEAD (d409484)`. */
    label: string;
    /** Things the reader should know (a different lock file). */
    notes: string[];
}

/** The stack at `ref` and in the working tree of the repository at `root`. */
export async function synthesizeVersions(root: string, ref: string, stack: string): Promise<Versions> {
    let commit: string;
    try {
        commit = git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
    } catch {
        throw new CompareError(`"${ref}" is not a commit in ${root} (a shallow CI checkout needs the base fetched: git fetch origin <branch>).`);
    }
    const short = commit.slice(0, 7);
    const temp = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-compare-"));
    const tree = path.join(temp, "tree");
    const notes: string[] = [];
    let added = false;
    const cleanUp = () => {
        if (added) {
            try {
                git(root, ["worktree", "remove", "--force", tree]);
            } catch {
                // removed below with the temp directory; prune forgets it
            }
            added = false;
        }
        fs.rmSync(temp, { recursive: true, force: true });
        try {
            git(root, ["worktree", "prune"]);
        } catch {
            // nothing to prune
        }
    };
    const onSignal = () => {
        cleanUp();
        process.exit(130);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
        git(root, ["worktree", "add", "--detach", "--quiet", tree, commit]);
        added = true;
        fs.symlinkSync(path.join(root, "node_modules"), path.join(tree, "node_modules"), "dir");
        const lock = (dir: string) => (fs.existsSync(path.join(dir, "package-lock.json")) ? fs.readFileSync(path.join(dir, "package-lock.json"), "utf8") : "");
        if (lock(tree) !== lock(root)) {
            notes.push(`package-lock.json differs between ${ref} (${short}) and the working tree: ${ref} was synthesized with the working tree's node_modules.`);
        }
        const [before, after] = await Promise.all([
            synthesizeIn(tree, stack, path.join(temp, "before.json")),
            synthesizeIn(root, stack, path.join(temp, "after.json")),
        ]);
        return { before, after, label: `${ref} (${short})`, notes };
    } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        cleanUp();
    }
}
