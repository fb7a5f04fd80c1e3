// lazy(): loaded once on first use; a failed load is retried on the next use (the forwarder's SQS client).
import { expect } from "chai";
import fc from "fast-check";
import { lazy } from "../../../functions/shared/lazy";

describe("lazy: a value loaded on first use", () => {
    it("whatever the sequence of failed loads, each failure is retried by the next call and the first success is kept for every later one", async () => {
        await fc.assert(fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 12 }), fc.boolean(), async (outcomes, concurrent) => {
            let loads = 0;
            const get = lazy(async () => {
                const n = loads++;
                if (!(outcomes[n] ?? true)) throw new Error(`load ${n} failed`);
                return { n };
            });
            const firstSuccess = outcomes.indexOf(true) === -1 ? outcomes.length : outcomes.indexOf(true);
            const seen: (number | string)[] = [];
            for (let call = 0; call <= firstSuccess + 2; call++) {
                // Two callers at once share one load.
                const results = await Promise.allSettled(concurrent ? [get(), get()] : [get()]);
                for (const r of results) seen.push(r.status === "fulfilled" ? r.value.n : (r.reason as Error).message);
                if (concurrent) expect(results[0].status).to.equal(results[1]!.status);
            }
            const perCall = concurrent ? 2 : 1;
            const expected = Array.from({ length: firstSuccess + 3 }, (_, call) => (call < firstSuccess ? `load ${call} failed` : firstSuccess)).flatMap((v) => Array(perCall).fill(v));
            expect(seen).to.deep.equal(expected);
            expect(loads, "loads: one per failed call, then one").to.equal(firstSuccess + 1);
        }));
    });

    it("a load that throws before returning a promise is a failed load too", async () => {
        let calls = 0;
        const get = lazy((): Promise<number> => {
            calls++;
            if (calls === 1) throw new Error("sync");
            return Promise.resolve(calls);
        });
        const first = await get().catch((e: Error) => e.message);
        expect([first, await get(), await get()]).to.deep.equal(["sync", 2, 2]);
    });
});
