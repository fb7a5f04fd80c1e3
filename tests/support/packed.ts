// The checkout built and packed as `npm publish` would ship it, made once per test run: the tests
// of the published package (tests/components/bundle.test.ts, tests/package/install.test.ts) each
// needed `npm run build` (a full tsc build, some 30 s of CPU) and `npm pack`. The first test to ask
// builds and packs into the run's directory (tests/support/run-dir.ts) holding the checkout's build
// lock; the others, in any worker, find the tarball there. The checkout does not change during a run.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { withCheckoutLock } from "./checkout-lock";
import { runSubdir } from "./run-dir";

const ROOT = path.resolve(__dirname, "..", "..");

/** A packed tarball: its path, and the files npm put in it (`npm pack --json`). */
export interface Packed {
    tarball: string;
    files: { path: string }[];
}

/** Where this process keeps tarballs when there is no run directory (a file run on its own). */
let privateDir: string | undefined;

function packDir(): string {
    const shared = runSubdir("packed");
    if (shared) return shared;
    if (!privateDir) {
        privateDir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-packed-"));
        const dir = privateDir;
        process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    }
    return privateDir;
}

function run(args: string[], env: NodeJS.ProcessEnv): string {
    try {
        return execFileSync("npm", args, { cwd: ROOT, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
        const { stdout, stderr } = error as { stdout?: string; stderr?: string };
        throw new Error(`npm ${args.join(" ")} in ${ROOT} failed:\n${stdout ?? ""}${stderr ?? ""}`, { cause: error });
    }
}

/**
 * The tarball of `which` (the root package `.` or `packages/runtime`), built by its npm script and
 * packed with `--ignore-scripts` (the build just ran), once per run. `env` is the environment npm
 * runs in (the install test puts Node 22 first on PATH).
 */
export function packed(which: "." | "packages/runtime", env: NodeJS.ProcessEnv = process.env): Packed {
    const dir = packDir();
    const record = path.join(dir, `${which === "." ? "root" : "runtime"}.json`);
    return withCheckoutLock("build", () => {
        if (fs.existsSync(record)) return JSON.parse(fs.readFileSync(record, "utf8")) as Packed;
        run(["run", "--silent", which === "." ? "build" : "build:runtime"], env);
        const [pack] = JSON.parse(run(["pack", which === "." ? "." : "./packages/runtime", "--ignore-scripts", "--json", "--pack-destination", dir], env)) as { filename: string; files: { path: string }[] }[];
        const result: Packed = { tarball: path.join(dir, pack.filename), files: pack.files };
        fs.writeFileSync(record, JSON.stringify(result));
        return result;
    });
}
