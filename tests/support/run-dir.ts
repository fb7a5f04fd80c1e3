// A directory for the whole test run, shared by mocha's main process and its workers (.mocharc.cjs
// runs files in parallel worker processes): the main process makes it in its global setup
// (tests/support/hooks.ts) before the workers start, and they inherit its path in the environment.
// Workers write what the cross-handler checks need into it; tests share what is costly to make
// once per run (the packed checkout, tests/support/packed.ts).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const RUN_DIR_ENV = "SES_MAIL_TEST_RUN_DIR";

// Kept on globalThis: this file may be loaded twice in one process (once by mocha's --require, once
// by a test's import), and tests may replace process.env after the setup has run.
const SLOT = Symbol.for("ses-mail.test-run-dir");
const shared = globalThis as unknown as Record<symbol, { dir?: string; own: boolean } | undefined>;
shared[SLOT] ??= { dir: process.env[RUN_DIR_ENV] || undefined, own: false };
const state = shared[SLOT]!;

/** This run's directory; undefined when no global setup made one (a file run without the hooks). */
export function runDir(): string | undefined {
    return state.dir;
}

/** Makes the run's directory (in the main process), unless this process inherited one. */
export function createRunDir(): string {
    if (!state.dir) {
        state.dir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-test-run-"));
        state.own = true;
        process.env[RUN_DIR_ENV] = state.dir;
    }
    return state.dir;
}

/** Removes the run's directory if this process made it. */
export function removeRunDir(): void {
    if (state.own && state.dir) {
        fs.rmSync(state.dir, { recursive: true, force: true });
        delete process.env[RUN_DIR_ENV];
        state.dir = undefined;
        state.own = false;
    }
}

/** A subdirectory of the run's directory (made if missing); undefined without a run directory. */
export function runSubdir(name: string): string | undefined {
    const dir = runDir();
    if (!dir) return undefined;
    const sub = path.join(dir, name);
    fs.mkdirSync(sub, { recursive: true });
    return sub;
}
