// A lock across the test processes of one checkout. Mocha runs test files in parallel worker
// processes (.mocharc.cjs); tests that build into the checkout itself (`npm run build` rewrites
// dist/, `npm pack` reads it) must not overlap, or one packs the files the other is half-way through
// writing.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

function sleep(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        return (error as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** The lock's directory: in the temporary directory, one per checkout and name. */
export function lockPath(name: string, root = ROOT): string {
    return path.join(os.tmpdir(), `ses-mail-${createHash("sha256").update(root).digest("hex").slice(0, 12)}-${name}.lock`);
}

/**
 * Runs `fn` holding the lock `name` of this checkout, waiting (synchronously: the tests that need it
 * run child processes synchronously) while another process holds it. A lock whose holder is gone is
 * taken over. Fails after `timeoutMs` of waiting, naming the holder.
 */
export function withCheckoutLock<T>(name: string, fn: () => T, { timeoutMs = 600_000, root = ROOT } = {}): T {
    const lock = lockPath(name, root);
    const owner = path.join(lock, "pid");
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        try {
            fs.mkdirSync(lock);
            fs.writeFileSync(owner, String(process.pid));
            break;
        } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        }
        let holder: number | undefined;
        let orphaned = false;
        try {
            holder = Number(fs.readFileSync(owner, "utf8"));
        } catch {
            // Just made and its pid not written yet, or its maker died in between.
            orphaned = Date.now() - (fs.statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 10_000;
        }
        if ((holder && !alive(holder)) || orphaned) {
            fs.rmSync(lock, { recursive: true, force: true });
            continue;
        }
        if (Date.now() > deadline) throw new Error(`Still waiting for ${lock} after ${timeoutMs} ms (held by process ${holder ?? "unknown"})`);
        sleep(100);
    }
    try {
        return fn();
    } finally {
        fs.rmSync(lock, { recursive: true, force: true });
    }
}
