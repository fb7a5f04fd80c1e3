import { expect } from "chai";
import fc from "fast-check";
import { createPacer, paceIntervalMs, type Pacer } from "../../../functions/shared/pacing";

/** Most calls in any window of `windowMs` (half-open), allowing 2 ms of timer and clock granularity. */
function mostInWindow(times: number[], windowMs: number): number {
    const sorted = [...times].sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; i < sorted.length; i++) {
        while (sorted[i] - sorted[j] >= windowMs - 2) j++;
        most = Math.max(most, i - j + 1);
    }
    return most;
}

describe("pacing (a rate across instances without reserved concurrency)", () => {
    it("spaces calls so N concurrent instances together stay within the rate", () => {
        expect(paceIntervalMs(1, 2)).to.equal(2000); // SendBounce: 1/s, trigger maximum concurrency 2
        expect(paceIntervalMs(10, 2)).to.equal(200); // Gmail: 600 imports/min
    });

    it("one instance: calls take turns, each at least the interval after the previous", async () => {
        const pacer = createPacer(30);
        const times: number[] = [];
        await Promise.all([1, 2, 3, 4].map(() => pacer.paced(async () => times.push(Date.now()))));
        expect(mostInWindow(times, 30)).to.equal(1);
    });

    // The event source mapping runs at most `maxConcurrency` invocations at once; Lambda may run each
    // on a warm instance or a new one ("Using Lambda with Amazon SQS", maximum concurrency).
    it("any schedule of invocations on new or reused instances: at most maxConcurrency calls per interval", async () => {
        const interval = 25;
        const maxConcurrency = 2;
        await fc.assert(fc.asyncProperty(
            fc.array(fc.record({ calls: fc.integer({ min: 0, max: 3 }), newInstance: fc.boolean() }), { minLength: 1, maxLength: 8 }),
            async (invocations) => {
                const times: number[] = [];
                const idle: Pacer[] = [];
                const queue = [...invocations];
                const lane = async () => {
                    for (let next = queue.shift(); next; next = queue.shift()) {
                        const pacer = (!next.newInstance && idle.pop()) || createPacer(interval);
                        await Promise.all(Array.from({ length: next.calls }, () => pacer.paced(async () => times.push(Date.now()))));
                        await pacer.settled(); // the handler's finally
                        idle.push(pacer);
                    }
                };
                await Promise.all(Array.from({ length: maxConcurrency }, lane));
                expect(mostInWindow(times, interval)).to.be.at.most(maxConcurrency);
            },
        ), { numRuns: 15 });
    });
});
