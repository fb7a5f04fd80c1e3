import { expect } from "chai";
import fc from "fast-check";
import { createPacer, paceIntervalMs, systemClock, type Pacer, type PacerClock } from "../../../functions/shared/pacing";

/**
 * Virtual time for the pacer: `sleep` registers a timer; `run` lets all work that can proceed
 * proceed (one turn of the real event loop drains every pending promise), then jumps to the
 * earliest timer, and so on until the work is done. Times are exact, and no test waits for real.
 */
class VirtualTimers implements PacerClock {
    private time = 1_000_000;
    private sequence = 0;
    private readonly timers: { at: number; sequence: number; fire: () => void }[] = [];

    public now(): number {
        return this.time;
    }

    public sleep(ms: number): Promise<void> {
        return new Promise((fire) => this.timers.push({ at: this.time + Math.max(0, ms), sequence: this.sequence++, fire }));
    }

    public async run<T>(work: Promise<T>): Promise<T> {
        let done = false;
        const outcome = work.then((value) => ({ value }), (error: unknown) => ({ error }));
        void outcome.then(() => (done = true));
        for (;;) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            if (done) break;
            // Timers due at the same moment fire in the order they were set, as Node's do.
            this.timers.sort((a, b) => a.at - b.at || a.sequence - b.sequence);
            const next = this.timers.shift();
            if (!next) throw new Error("the work waits on something other than time: it would never finish");
            this.time = Math.max(this.time, next.at);
            next.fire();
        }
        const result = await outcome;
        if ("error" in result) throw result.error;
        return result.value;
    }
}

/** Most starts in any half-open window of `windowMs` (times are exact: no allowance for timer granularity). */
function mostInWindow(times: number[], windowMs: number): number {
    const sorted = [...times].sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; i < sorted.length; i++) {
        while (sorted[i] - sorted[j] >= windowMs) j++;
        most = Math.max(most, i - j + 1);
    }
    return most;
}

describe("pacing (a rate across instances without reserved concurrency)", () => {
    it("spaces calls so N concurrent instances together stay within the rate", () => {
        expect(paceIntervalMs(1, 2)).to.equal(2000); // SendBounce: 1/s, trigger maximum concurrency 2
        expect(paceIntervalMs(10, 2)).to.equal(200); // Gmail: 600 imports/min
        expect(paceIntervalMs(4, 2)).to.equal(500); // Gmail: 240 imports/min, the forwarder's default
        expect(paceIntervalMs(11 / 60, 330)).to.equal(1_800_000); // 11/min is no exact binary fraction: not 1,800,001
    });

    it("the interval is the shortest whole number of milliseconds that keeps N instances within any rate", () => {
        fc.assert(fc.property(
            fc.integer({ min: 1, max: 100_000 }).map((perMinute) => perMinute / 60),
            fc.integer({ min: 1, max: 1000 }),
            (perSecond, maxConcurrency) => {
                const interval = paceIntervalMs(perSecond, maxConcurrency);
                expect(Number.isInteger(interval)).to.equal(true);
                // N lanes of one call per interval make N × 1000 / interval calls a second: within the rate ...
                expect(maxConcurrency * 1000 / interval).to.be.at.most(perSecond * (1 + 1e-12));
                // ... and one millisecond less would exceed it.
                if (interval > 1) expect(maxConcurrency * 1000 / (interval - 1)).to.be.above(perSecond);
            },
        ));
    });

    it("by default waits in real time (the deployed clock)", async () => {
        const pacer = createPacer(30);
        const times: number[] = [];
        await Promise.all([1, 2].map(() => pacer.paced(async () => times.push(systemClock.now()))));
        await pacer.settled();
        // Timers may fire a millisecond early against Date.now's rounding.
        expect(times[1] - times[0]).to.be.at.least(29);
        expect(systemClock.now() - times[1]).to.be.at.least(29);
    });

    // One instance: requests arrive at generated moments, calls take generated times and may fail.
    it("one instance: each call starts at its request or one interval after the previous start, whichever is later; settled waits out the last", async () => {
        await fc.assert(fc.asyncProperty(
            fc.integer({ min: 0, max: 3000 }),
            fc.array(fc.record({ gap: fc.integer({ min: 0, max: 1500 }), duration: fc.integer({ min: 0, max: 1500 }), fails: fc.boolean() }), { maxLength: 12 }),
            fc.integer({ min: 0, max: 1500 }),
            async (interval, requests, settleAfter) => {
                const clock = new VirtualTimers();
                const pacer = createPacer(interval, clock);
                const requested: number[] = [];
                const started: number[] = [];
                const outcomes: Promise<unknown>[] = [];
                let settledAt = -1;
                let settleCalledAt = -1;
                await clock.run((async () => {
                    for (const [index, request] of requests.entries()) {
                        await clock.sleep(request.gap);
                        requested.push(clock.now());
                        outcomes.push(pacer.paced(async () => {
                            started.push(clock.now());
                            await clock.sleep(request.duration);
                            if (request.fails) throw new Error(`call ${index} failed`);
                            return index;
                        }).then((value) => ({ value }), (error: Error) => ({ error: error.message })));
                    }
                    await clock.sleep(settleAfter);
                    settleCalledAt = clock.now();
                    await pacer.settled();
                    settledAt = clock.now();
                    await Promise.all(outcomes);
                })());
                // Exactly as early as allowed, never earlier, never later; a failed call still takes its turn.
                const expected: number[] = [];
                for (const [i, at] of requested.entries()) expected.push(i === 0 ? at : Math.max(at, expected[i - 1] + interval));
                expect(started).to.deep.equal(expected);
                expect(settledAt).to.equal(Math.max(settleCalledAt, (expected.at(-1) ?? -Infinity) + interval));
                // Each caller gets its own call's result or error.
                expect(await Promise.all(outcomes)).to.deep.equal(requests.map((r, i) => (r.fails ? { error: `call ${i} failed` } : { value: i })));
            },
        ), { numRuns: 200 });
    });

    // The event source mapping runs at most `maxConcurrency` invocations at once; Lambda may run each
    // on a warm instance or a new one ("Using Lambda with Amazon SQS", maximum concurrency).
    it("any schedule of invocations on new or reused instances: at most maxConcurrency calls per interval", async () => {
        await fc.assert(fc.asyncProperty(
            fc.integer({ min: 1, max: 4 }),
            fc.integer({ min: 1, max: 1200 }).map((perMinute) => perMinute / 60),
            fc.array(fc.record({
                calls: fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 4 }),
                inParallel: fc.boolean(),
                newInstance: fc.boolean(),
                pauseBefore: fc.integer({ min: 0, max: 3000 }),
            }), { minLength: 1, maxLength: 12 }),
            async (maxConcurrency, perSecond, invocations) => {
                const interval = paceIntervalMs(perSecond, maxConcurrency);
                const clock = new VirtualTimers();
                const times: number[] = [];
                const idle: Pacer[] = [];
                const queue = [...invocations];
                const lane = async () => {
                    for (let next = queue.shift(); next; next = queue.shift()) {
                        await clock.sleep(next.pauseBefore);
                        const pacer = (!next.newInstance && idle.pop()) || createPacer(interval, clock);
                        const mine: number[] = [];
                        const call = (duration: number) => pacer.paced(async () => {
                            times.push(clock.now());
                            mine.push(clock.now());
                            await clock.sleep(duration);
                        });
                        if (next.inParallel) await Promise.all(next.calls.map(call));
                        else for (const duration of next.calls) await call(duration);
                        await pacer.settled(); // the handler's finally
                        // The invocation returns no sooner than one interval after its last call started.
                        if (mine.length > 0) expect(clock.now() - Math.max(...mine)).to.be.at.least(interval);
                        idle.push(pacer);
                    }
                };
                await clock.run(Promise.all(Array.from({ length: maxConcurrency }, lane)));
                expect(times).to.have.length(invocations.reduce((n, i) => n + i.calls.length, 0));
                expect(mostInWindow(times, interval)).to.be.at.most(maxConcurrency);
            },
        ), { numRuns: 200 });
    });
});
