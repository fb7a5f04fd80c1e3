// Timers on the simulation's virtual clock. Handlers wait with `setTimeout`: the AWS SDK's retry
// strategy before it retries a throttled call (its own decision and delay, standard mode: up to
// 1 s × 2^retry for throttling errors), pacing between calls, backoff loops of their own. In real
// time those waits were most of a system test's wall time while nothing else ran. Here a timer set
// by code running inside a simulated invocation (the AsyncLocalStorage scope of tests/support/sim/
// scope.ts: the handler, the SDK it calls, the harness's own crash timer) is a virtual timer:
// - it is due at `clock.now() + ms` and fires then, as a real timer would: virtual time runs with
//   real time, so a plain real timer of the same length backs it;
// - when every running invocation is asleep (each has a timer of its own pending) and no HTTP
//   request is under way anywhere in the process (the fakes are in-process servers: a request in
//   flight is work under way), nothing can happen before the earliest due moment: the harness jumps
//   the clock there (`sleeping()`, `nextAt()`, `fireDue()`), as it jumps to visibility timeouts;
// - a timer of a crashed invocation never fires (a dead process runs nothing: no retry after death).
// Delays and the decision to retry stay the SDK's; only the wait costs no real time.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { ClientRequest } from "node:http";
import { promisify } from "node:util";
import type { VirtualClock } from "./clock";
import { type InvocationScope, invocationScope } from "./scope";

/** The timers the patch replaces (taken again when it is put in place). */
let realSetTimeout = globalThis.setTimeout;
let realClearTimeout = globalThis.clearTimeout;

interface Entry {
    at: number;
    seq: number;
    /** The invocation whose timer it is (a jump fires it from the harness: it runs in this scope). */
    owner?: InvocationScope;
    handle: NodeJS.Timeout;
    run: () => void;
}

type TimerId = NodeJS.Timeout | number | string | undefined;

/** The started simulations' timers; the global patch is in place while any is started. */
const active = new Set<VirtualTimers>();
let httpInFlight = 0;
const counted = new WeakSet<ClientRequest>();

const REQUEST_CHANNELS = ["http.client.request.created", "http.client.request.start"];
/** A real timer's longest delay (Node fires a longer one after 1 ms). */
const MAX_REAL_DELAY = 2 ** 31 - 1;

function onRequestStart(message: unknown): void {
    const request = (message as { request?: ClientRequest }).request;
    if (!request || counted.has(request)) return;
    counted.add(request);
    httpInFlight += 1;
    request.once("close", () => (httpInFlight -= 1));
}

function patchedSetTimeout(this: unknown, callback: (...args: any[]) => void, ms?: number, ...args: any[]): NodeJS.Timeout {
    const scope = typeof callback === "function" ? invocationScope.getStore() : undefined;
    if (!scope?.timers?.started) return (realSetTimeout as (...all: unknown[]) => NodeJS.Timeout).call(this, callback, ms, ...args);
    return scope.timers.setTimeout(args.length > 0 ? () => callback(...args) : callback, ms, scope);
}

function patchedClearTimeout(this: unknown, id: TimerId): void {
    if (id !== undefined && id !== null) {
        for (const timers of active) {
            if (timers.clear(id)) return;
        }
    }
    realClearTimeout.call(this, id as NodeJS.Timeout);
}
Object.assign(patchedSetTimeout, { [promisify.custom]: (globalThis.setTimeout as unknown as Record<symbol, unknown>)[promisify.custom] });

function install(timers: VirtualTimers): void {
    active.add(timers);
    if (active.size > 1) return;
    realSetTimeout = globalThis.setTimeout;
    realClearTimeout = globalThis.clearTimeout;
    globalThis.setTimeout = patchedSetTimeout as typeof setTimeout;
    globalThis.clearTimeout = patchedClearTimeout as typeof clearTimeout;
    // "created" is published in ClientRequest's constructor (Node ≥ 22.14), "start" a tick later.
    for (const channel of REQUEST_CHANNELS) subscribe(channel, onRequestStart);
}

function uninstall(timers: VirtualTimers): void {
    active.delete(timers);
    if (active.size > 0) return;
    globalThis.setTimeout = realSetTimeout;
    globalThis.clearTimeout = realClearTimeout;
    for (const channel of REQUEST_CHANNELS) unsubscribe(channel, onRequestStart);
}

export class VirtualTimers {
    public started = false;
    /** Timers fired by the harness once the clock reached them (mostly by a jump), and by their backing real timer. */
    public firedBySimulation = 0;
    public firedInRealTime = 0;
    private readonly pending = new Map<NodeJS.Timeout, Entry>();
    private readonly own = new Map<InvocationScope, number>();
    private readonly running = new Set<InvocationScope>();
    private seq = 0;

    constructor(private readonly clock: VirtualClock) {}

    /** Routes timers set inside this simulation's invocations to virtual time (until `stop`). */
    public start(): void {
        if (this.started) return;
        this.started = true;
        install(this);
    }

    /** Cancels every pending timer (a finished simulation leaves nothing to fire) and restores the real timers. */
    public stop(): void {
        if (!this.started) return;
        this.started = false;
        for (const handle of [...this.pending.keys()]) this.remove(handle);
        uninstall(this);
    }

    /** An invocation starts / ends (SimFunction.invoke). */
    public enter(scope: InvocationScope): void {
        this.running.add(scope);
    }

    public leave(scope: InvocationScope): void {
        this.running.delete(scope);
    }

    /** A virtual timer: fires `ms` virtual ms from now. `owner`: the invocation whose sleep it is. */
    public setTimeout(callback: () => void, ms: number | undefined, owner?: InvocationScope): NodeJS.Timeout {
        const delay = Math.max(1, Number.isFinite(ms) ? Math.trunc(ms as number) : 1);
        const handle = realSetTimeout(() => this.fireInRealTime(handle), Math.min(delay, MAX_REAL_DELAY));
        this.pending.set(handle, { at: this.clock.now() + delay, seq: this.seq++, owner, handle, run: callback });
        if (owner) this.own.set(owner, (this.own.get(owner) ?? 0) + 1);
        return handle;
    }

    /** clearTimeout for a virtual timer (by handle or by its numeric id); false if it is not one. */
    public clear(id: TimerId): boolean {
        // Node also clears a timer by its numeric id (`Number(handle)`, as the SDK's HTTP handler keeps some).
        // Ids are positive: the SDK clears -1 and 0 ("no timer") on every request.
        const numeric = typeof id === "number" || typeof id === "string";
        if (numeric && !(Number(id) > 0)) return false;
        const handle = numeric ? [...this.pending.keys()].find((h) => h[Symbol.toPrimitive]() === Number(id)) : id;
        if (!handle || !this.pending.has(handle)) return false;
        this.remove(handle);
        return true;
    }

    /** Whether every running invocation is waiting on a virtual timer of its own and no HTTP request is under way. */
    public sleeping(): boolean {
        if (httpInFlight > 0 || this.running.size === 0) return false;
        for (const scope of this.running) {
            if (scope.crashed || !this.own.get(scope)) return false;
        }
        return true;
    }

    /** `sleeping()`, still so once every promise chain that can run without time passing has run. */
    public async asleep(): Promise<boolean> {
        for (let i = 0; i < 2; i++) {
            if (!this.sleeping()) return false;
            await new Promise((resolve) => setImmediate(resolve));
        }
        return this.sleeping();
    }

    /** When the next live virtual timer is due. */
    public nextAt(): number | undefined {
        let next: number | undefined;
        for (const entry of this.pending.values()) {
            if (entry.owner?.crashed) continue;
            if (next === undefined || entry.at < next) next = entry.at;
        }
        return next;
    }

    /** Fires, in order, every timer due by the clock's time; returns how many fired. */
    public fireDue(): number {
        const now = this.clock.now();
        const due = [...this.pending.values()].filter((e) => e.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq);
        for (const entry of due) this.fire(entry.handle, true);
        return due.length;
    }

    /** The backing real timer ran out: the clock is at the due moment (give or take the millisecond Node may be early). */
    private fireInRealTime(handle: NodeJS.Timeout): void {
        const entry = this.pending.get(handle);
        if (!entry) return;
        const early = entry.at - this.clock.now();
        if (early > 2) {
            // Beyond a real timer's range (or a frozen clock): wait another round.
            handle.refresh();
            return;
        }
        // Never before its time on the simulated clock either.
        if (early > 0) this.clock.advanceTo(entry.at);
        this.fire(handle, false);
    }

    private fire(handle: NodeJS.Timeout, bySimulation: boolean): void {
        const entry = this.pending.get(handle);
        if (!entry) return;
        this.remove(handle);
        if (entry.owner?.crashed) return;
        if (!bySimulation) {
            this.firedInRealTime += 1;
            entry.run();
        } else {
            this.firedBySimulation += 1;
            if (entry.owner) invocationScope.run(entry.owner, entry.run);
            else entry.run();
        }
    }

    private remove(handle: NodeJS.Timeout): void {
        const entry = this.pending.get(handle);
        if (!entry) return;
        realClearTimeout(handle);
        this.pending.delete(handle);
        if (entry.owner) {
            const left = (this.own.get(entry.owner) ?? 1) - 1;
            if (left > 0) this.own.set(entry.owner, left);
            else this.own.delete(entry.owner);
        }
    }
}

/** Moves the clock to the earliest of `moments` still ahead (one already due is the caller's to handle). */
export function jumpToNext(clock: VirtualClock, moments: (number | undefined)[]): void {
    const now = clock.now();
    const ahead = moments.filter((t): t is number => t !== undefined && t > now);
    if (ahead.length > 0) clock.advanceTo(Math.min(...ahead));
}
