// Which simulated Lambda invocation a call comes from (AsyncLocalStorage follows the handler's
// promises into the SDK mocks), so an injected crash can stop that invocation's later calls.
import { AsyncLocalStorage } from "node:async_hooks";
import type { VirtualTimers } from "./timers";

export class InvocationScope {
    /** External calls (AWS SDK, HTTP) this invocation has made. */
    public calls = 0;
    public crashed = false;
    /** The simulation's virtual timers: `setTimeout` inside this invocation runs on them (sim/timers.ts). */
    public timers?: VirtualTimers;

    constructor(
        public readonly functionName: string,
        /** The invocation dies when it starts this call (1-based); never if undefined. */
        private readonly crashAtCall: number | undefined,
        private readonly onCrash: () => void,
    ) {}

    /** Counts a call; false once the invocation has crashed (the call must never happen). */
    public admit(): boolean {
        if (this.crashed) return false;
        this.calls += 1;
        if (this.crashAtCall !== undefined && this.calls >= this.crashAtCall) {
            this.crashed = true;
            this.onCrash();
            return false;
        }
        return true;
    }
}

export const invocationScope = new AsyncLocalStorage<InvocationScope>();

/** Runs a modelled service call unless the calling invocation crashed (then it never settles, as in a dead process). */
export function gated<T>(call: () => T | Promise<T>): Promise<T> {
    const scope = invocationScope.getStore();
    if (scope && !scope.admit()) return new Promise<T>(() => undefined);
    return Promise.resolve().then(call);
}
