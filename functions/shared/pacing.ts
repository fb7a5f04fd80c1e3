// Keeps a rate limit across all instances of a function without reserved concurrency (which makes
// an SQS trigger's pollers throttle, raising receive counts until messages reach the DLQ: "Using
// Lambda with Amazon SQS"). The event source mapping caps concurrent invocations at N; each
// instance spaces its calls N / rate apart and, before its invocation returns, waits out the
// interval after its last call. Invocations that never overlap then form at most N lanes, each at
// most rate / N calls per second, so the whole function stays within the rate.

/** Milliseconds between calls of one instance so that `maxConcurrency` instances stay within `perSecond`. */
export function paceIntervalMs(perSecond: number, maxConcurrency: number): number {
    // Rates come as per-minute quotas / 60, which binary floating point cannot hold exactly: without
    // the relative 1e-12 an exact 1,800,000 ms (11/min, 330 instances) came out 1,800,000.0000000002
    // and was rounded up a whole millisecond.
    return Math.ceil(((1000 * maxConcurrency) / perSecond) * (1 - 1e-12));
}

export interface Pacer {
    /** Runs `call` once the interval since the previous call (of this instance) has passed. */
    paced<T>(call: () => Promise<T>): Promise<T>;
    /** Resolves once the interval after the last call has passed (await before the invocation returns). */
    settled(): Promise<void>;
}

/** What a pacer reads the time from and waits with: real time unless given (tests pass a virtual one). */
export interface PacerClock {
    now(): number;
    sleep(ms: number): Promise<void>;
}

/** Wall-clock time and timers. */
export const systemClock: PacerClock = {
    now: () => Date.now(),
    sleep: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};

export function createPacer(intervalMs: number, clock: PacerClock = systemClock): Pacer {
    // Calls take turns: each slot starts no earlier than the previous slot plus the interval.
    let lastSlot: Promise<number> = Promise.resolve(-Infinity);
    return {
        paced<T>(call: () => Promise<T>): Promise<T> {
            const slot = lastSlot.then(async (previous) => {
                const wait = previous + intervalMs - clock.now();
                if (wait > 0) await clock.sleep(wait);
                return clock.now();
            });
            lastSlot = slot;
            return slot.then(call);
        },
        async settled(): Promise<void> {
            const wait = (await lastSlot) + intervalMs - clock.now();
            if (wait > 0) await clock.sleep(wait);
        },
    };
}
