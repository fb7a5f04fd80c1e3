// The pack's mutation suite (issue #23, point 6): the test stack's plan, synthesized once under
// mocks, passes the pack; each weakening a reviewer expects it to refuse (tests/policy/mutations.ts)
// is reported by exactly the policies named for it.
import { expect } from "chai";
import { sesMailPolicies } from "../../policy/policies";
import { readPackConfig, runPolicies } from "../../policy/runner";
import type { RecordedResource } from "../support/mocks";
import { cachedStack } from "../support/stack";
import { MUTATIONS } from "./mutations";

const policyNames = async (plan: RecordedResource[]) =>
    [...new Set((await runPolicies(plan, sesMailPolicies, { config: readPackConfig() })).map((v) => v.policyName))].sort();

describe("policy pack: mutation suite over the test stack's plan", () => {
    let plan: RecordedResource[];
    const caught: string[] = [];

    before(async () => {
        plan = (await cachedStack("test")).plan.resources;
    });

    after(() => {
        console.log(`      mutations caught: ${caught.length} of ${MUTATIONS.length}`);
    });

    it("the unmutated plan has no violations", async () => {
        expect(await runPolicies(plan, sesMailPolicies, { config: readPackConfig() })).to.deep.equal([]);
    });

    it("every mutation is distinct and names policies of the pack", () => {
        const names = new Set(sesMailPolicies.map((p) => p.name));
        expect(new Set(MUTATIONS.map((m) => m.what)).size).to.equal(MUTATIONS.length);
        for (const mutation of MUTATIONS) {
            expect(mutation.expected.filter((name) => !names.has(name)), mutation.what).to.deep.equal([]);
        }
    });

    for (const mutation of MUTATIONS) {
        it(`${mutation.what} → ${mutation.expected.join(", ")}`, async () => {
            const found = await policyNames(mutation.mutate(plan));
            expect(found).to.deep.equal([...mutation.expected].sort());
            caught.push(mutation.what);
        });
    }
});
