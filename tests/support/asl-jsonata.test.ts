// The ASL/JSONata evaluator reads plain variable paths (`$states.input.Body`, `$moved`) itself and
// leaves every other expression to JSONata: what it reads must be what JSONata evaluates to.
import jsonata from "jsonata";
import { expect } from "chai";
import fc from "fast-check";
import { evaluateExpression, NOT_PLAIN, readVariablePath } from "./asl-jsonata";

const NAMES = ["states", "input", "Body", "a", "length"];

// JSON values of every kind JSONata treats differently: arrays (mapped over, flattened, singletons
// unwrapped), empty arrays, null, -0, objects with and without a prototype (JSONata builds the latter).
const value = fc.letrec((tie) => ({
    any: fc.oneof({ depthSize: "small", withCrossShrink: true }, tie("leaf"), tie("object"), tie("nullProto"), tie("array")),
    leaf: fc.oneof(fc.string({ maxLength: 3 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(-0), fc.boolean(), fc.constant(null)),
    object: fc.dictionary(fc.constantFrom(...NAMES), tie("any"), { maxKeys: 3 }),
    nullProto: fc.dictionary(fc.constantFrom(...NAMES), tie("any"), { maxKeys: 3 }).map((o) => Object.assign(Object.create(null), o)),
    array: fc.array(tie("any"), { maxLength: 3 }),
}));
const bindings = fc.dictionary(fc.constantFrom(...NAMES), value.any, { maxKeys: 4 });
const path = fc.tuple(fc.constantFrom(...NAMES), fc.array(fc.constantFrom(...NAMES), { maxLength: 3 }));

describe("ASL JSONata evaluator: plain variable paths", () => {
    it("reads what JSONata evaluates to (the same object), or leaves the path to JSONata", async () => {
        let read = 0;
        let left = 0;
        await fc.assert(
            fc.asyncProperty(bindings, path, async (bound, [variable, fields]) => {
                const expression = `$${[variable, ...fields].join(".")}`;
                const expected = await jsonata(expression).evaluate({}, bound);
                const fast = readVariablePath([variable, ...fields], bound);
                if (fast === NOT_PLAIN) {
                    left += 1;
                } else {
                    read += 1;
                    expect(Object.is(fast, expected), `${expression} over ${JSON.stringify(bound)}: ${JSON.stringify(fast)} vs ${JSON.stringify(expected)}`).to.equal(true);
                }
                // Whichever way it goes, the evaluator's answer is JSONata's.
                const answer = await evaluateExpression(expression, bound);
                expect(Object.is(answer, expected) || JSON.stringify(answer) === JSON.stringify(expected), expression).to.equal(true);
            }),
            { numRuns: 400 },
        );
        // Both ways are exercised.
        expect(read).to.be.greaterThan(20);
        expect(left).to.be.greaterThan(20);
    });

    it("leaves to JSONata what only looks like a path read: arrays, singleton sequences, functions, unbound names", async () => {
        const singleton = Object.assign(["only"], { sequence: true });
        const bound = { list: { items: ["one"] }, seq: singleton, nested: { list: [{ a: 1 }, { a: 2 }] } };
        const jsonataSays = (expression: string) => jsonata(expression).evaluate({}, bound);
        for (const [expression, fields] of [
            ["$list.items", ["list", "items"]], // an array
            ["$seq", ["seq"]], // a singleton sequence, which JSONata unwraps
            ["$nested.list.a", ["nested", "list", "a"]], // a path over an array, which JSONata maps
            ["$string", ["string"]], // a JSONata function, not a binding
            ["$list.toString", ["list", "toString"]], // not an own property
        ] as const) {
            expect(readVariablePath([...fields], bound), expression).to.equal(NOT_PLAIN);
            expect(await evaluateExpression(expression, bound), expression).to.deep.equal(await jsonataSays(expression));
        }
        expect(await evaluateExpression("$seq", bound)).to.equal("only");
        expect(await evaluateExpression("$nested.list.a", bound)).to.deep.equal([1, 2]);
    });
});
