// The ASL/JSONata evaluator's workflow variables, held to "Passing data between states with variables"
// (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html), one rule a test:
// - "All variable references in Step Functions states use the values as they were on state entry";
//   "Assign and Output fields are processed in parallel. Note the implication: assigning variable
//   values will not affect state Output." The new values are "available starting with the next state".
// - Within an Assign, "all expressions are evaluated first, then assignments are made"; the order of
//   the keys "does not matter"; a variable never assigned is undefined, and the expression fails.
// - Map iterations and Parallel branches have scopes of their own: they read the outer variables, never
//   another iteration's or branch's, and theirs go out of scope when the state completes; "a variable
//   assigned in an inner scope cannot have the same name as one assigned in an outer scope"; "the
//   Assign field in a Catch can assign values to variables in the outer scope".
// - `$states.errorOutput` in a Catcher's Assign and Output; `$states.result` in a Task's, Map's or
//   Parallel's Assign and Output only; elsewhere the definition is refused.
// - No Assign in Succeed or Fail; names are Unicode identifiers of at most 80 characters.
// - 256 KiB a variable and an Assign; 10 MiB of variables an execution.
import { expect } from "chai";
import fc from "fast-check";
import { runStateMachine } from "./asl";
import { ExecutionFailed, type JsonataTask, runJsonataExecution, TaskError, validateJsonataDefinition } from "./asl-jsonata";

type Json = any;

const CONTEXT = { startTime: "2025-01-01T00:00:00.000Z" };
const RESOURCE = "arn:aws:states:::aws-sdk:test:call";

// A task that answers after other work queued behind it ran (so concurrent iterations interleave).
const yieldingTask: JsonataTask = async (_resource, args) => {
    await new Promise((resolve) => setImmediate(resolve));
    return { echoed: args };
};

const machine = (states: Record<string, Json>, startAt = Object.keys(states)[0]) => ({ QueryLanguage: "JSONata", StartAt: startAt, States: states });

async function run(definition: Json, input: Json = {}, task: JsonataTask = yieldingTask): Promise<Json> {
    return (await runJsonataExecution(definition, input, task, CONTEXT)).output;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
    try {
        await promise;
    } catch (error) {
        return error;
    }
    throw new Error("expected a failure");
}

// The states that take Assign and Output, each built to assign `x` anew and output what it sees.
const STATE_KINDS = ["Pass", "Task", "Map", "Parallel", "Wait", "Choice rule", "Choice default"] as const;
type StateKind = (typeof STATE_KINDS)[number];

function assigningState(kind: StateKind, fields: { Assign: Json; Output: Json }, next: string): Json {
    switch (kind) {
        case "Pass":
            return { Type: "Pass", ...fields, Next: next };
        case "Task":
            return { Type: "Task", Resource: RESOURCE, Arguments: { x: "{% $x %}" }, ...fields, Next: next };
        case "Map":
            return { Type: "Map", Items: "{% [1, 2] %}", ItemProcessor: machine({ Item: { Type: "Pass", End: true } }), ...fields, Next: next };
        case "Parallel":
            return { Type: "Parallel", Branches: [machine({ Branch: { Type: "Pass", End: true } })], ...fields, Next: next };
        case "Wait":
            return { Type: "Wait", Seconds: 0, ...fields, Next: next };
        case "Choice rule":
            // A rule not taken (its Assign is not applied), then the rule taken.
            return { Type: "Choice", Choices: [{ Condition: "{% false %}", Assign: { x: -1 }, Next: next }, { Condition: "{% true %}", ...fields, Next: next }], Default: "Never" };
        case "Choice default":
            return { Type: "Choice", Choices: [{ Condition: "{% false %}", Assign: { x: -1 }, Next: "Never" }], ...fields, Default: next };
    }
}

describe("ASL JSONata evaluator: workflow variables (workflow-variables.html)", () => {
    it("a state's Output (and the next state's input) sees the variables as they were on state entry, not its own Assign", async () => {
        const kinds = new Set<StateKind>();
        await fc.assert(
            fc.asyncProperty(fc.constantFrom(...STATE_KINDS), fc.integer(), fc.integer().filter((d) => d !== 0), async (kind, old, delta) => {
                kinds.add(kind);
                const definition = machine({
                    Init: { Type: "Pass", Assign: { x: old }, Next: "Assigning" },
                    Assigning: assigningState(kind, { Assign: { x: "{% $x + $states.input.delta %}" }, Output: { seen: "{% $x %}" } }, "After"),
                    After: { Type: "Succeed", Output: { input: "{% $states.input %}", x: "{% $x %}" } },
                    Never: { Type: "Fail", Error: "Never" },
                });
                expect(await run(definition, { delta }), kind).to.deep.equal({ input: { seen: old }, x: old + delta });
            }),
            { numRuns: 150 },
        );
        expect([...kinds].sort()).to.deep.equal([...STATE_KINDS].sort());
    });

    it("an Assign evaluates every expression from the old values before assigning, whatever the order of its keys", async () => {
        await fc.assert(
            fc.asyncProperty(fc.integer(), fc.integer(), fc.boolean(), async (x, a, xFirst) => {
                // The page's example: starting values $x=3, $a=6; ending values $x=6, $nextX=3.
                const assign = xFirst ? { x: "{% $a %}", nextX: "{% $x %}" } : { nextX: "{% $x %}", x: "{% $a %}" };
                const definition = machine({
                    Init: { Type: "Pass", Assign: { x, a }, Next: "Swap" },
                    Swap: { Type: "Pass", Assign: assign, Next: "After" },
                    After: { Type: "Succeed", Output: { x: "{% $x %}", nextX: "{% $nextX %}", a: "{% $a %}" } },
                });
                expect(await run(definition)).to.deep.equal({ x: a, nextX: x, a });
            }),
            { numRuns: 60 },
        );
        // "If $x had not been previously assigned, the example would fail because $x would be undefined."
        const unassigned = machine({
            Init: { Type: "Pass", Assign: { a: 6 }, Next: "Swap" },
            Swap: { Type: "Pass", Assign: { x: "{% $a %}", nextX: "{% $x %}" }, End: true },
        });
        const error = await failure(run(unassigned));
        expect(error).to.be.instanceOf(ExecutionFailed);
        expect((error as ExecutionFailed).error).to.equal("States.QueryEvaluationError");
    });

    it("a Catcher's Assign and Output see $states.errorOutput and the values on state entry; the state's own Assign is not applied", async () => {
        await fc.assert(
            fc.asyncProperty(fc.integer(), fc.integer().filter((d) => d !== 0), fc.string({ maxLength: 8 }), async (old, delta, cause) => {
                const definition = machine({
                    Init: { Type: "Pass", Assign: { x: old, y: 0 }, Next: "Call" },
                    Call: {
                        Type: "Task",
                        Resource: RESOURCE,
                        Assign: { y: 1, x: 0 },
                        Output: "{% $states.result %}",
                        Catch: [{
                            ErrorEquals: ["Boom"],
                            Assign: { x: "{% $x + $states.input.delta %}", error: "{% $states.errorOutput.Error %}" },
                            Output: { seen: "{% $x %}", cause: "{% $states.errorOutput.Cause %}", input: "{% $states.input %}" },
                            Next: "After",
                        }],
                        Next: "After",
                    },
                    After: { Type: "Succeed", Output: { input: "{% $states.input %}", x: "{% $x %}", y: "{% $y %}", error: "{% $error %}" } },
                });
                const output = await run(definition, { delta }, async () => {
                    throw new TaskError("Boom", cause);
                });
                expect(output).to.deep.equal({ input: { seen: old, cause, input: { delta } }, x: old + delta, y: 0, error: "Boom" });
            }),
            { numRuns: 60 },
        );
    });

    it("Map iterations and Parallel branches read the outer variables, keep their own apart, and lose them when the state completes", async () => {
        await fc.assert(
            fc.asyncProperty(fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 1, maxLength: 8 }), fc.integer({ min: -1000, max: 1000 }), fc.nat(3), async (items, base, concurrency) => {
                // Each iteration assigns `mine`, waits for a task (the others run meanwhile), then outputs it.
                const inner = (first: Json) => machine({
                    Mine: { Type: "Pass", Assign: { mine: first }, Next: "Call" },
                    Call: { Type: "Task", Resource: RESOURCE, Arguments: { mine: "{% $mine %}" }, Output: "{% [$mine, $base] %}", End: true },
                });
                const definition = machine({
                    Init: { Type: "Pass", Assign: { base }, Next: "Each" },
                    Each: { Type: "Map", Items: "{% $states.input.items %}", MaxConcurrency: concurrency, ItemProcessor: inner("{% $states.input + $base %}"), Assign: { each: "{% $states.result %}" }, Next: "Both" },
                    Both: {
                        Type: "Parallel",
                        Branches: [inner("{% $base + 1 %}"), inner("{% $base + 2 %}"), inner("{% $count($each) %}")],
                        Assign: { both: "{% $states.result %}" },
                        Next: "After",
                    },
                    After: { Type: "Succeed", Output: { each: "{% $each %}", both: "{% $both %}" } },
                });
                expect(await run(definition, { items })).to.deep.equal({
                    each: items.map((item) => [item + base, base]),
                    both: [[base + 1, base], [base + 2, base], [items.length, base]],
                });
                // After the Map, its iterations' variables are gone.
                const outOfScope = machine({
                    Init: { Type: "Pass", Assign: { base }, Next: "Each" },
                    Each: { Type: "Map", Items: "{% $states.input.items %}", ItemProcessor: inner("{% $states.input %}"), Next: "After" },
                    After: { Type: "Succeed", Output: "{% $mine %}" },
                });
                const error = await failure(run(outOfScope, { items }));
                expect((error as ExecutionFailed).error).to.equal("States.QueryEvaluationError");
            }),
            { numRuns: 40 },
        );
    });

    it("refuses a variable assigned both in an inner scope and an enclosing one; sibling scopes may share names", async () => {
        const pass = (assign: Json) => ({ Type: "Pass", Assign: assign, End: true });
        const cases: { what: string; definition: Json; refused: boolean }[] = [
            {
                what: "Map iteration assigns an outer variable",
                definition: machine({ Init: { Type: "Pass", Assign: { x: 1 }, Next: "Each" }, Each: { Type: "Map", Items: [1], ItemProcessor: machine({ In: pass({ x: 2 }) }), End: true } }),
                refused: true,
            },
            {
                what: "Parallel branch assigns a variable the Parallel state's Catch assigns (the outer scope)",
                definition: machine({ Both: { Type: "Parallel", Branches: [machine({ In: pass({ caught: 2 }) })], Catch: [{ ErrorEquals: ["States.ALL"], Assign: { caught: true }, Next: "Done" }], Next: "Done" }, Done: { Type: "Succeed" } }),
                refused: true,
            },
            {
                what: "nested Map assigns a variable of the top level",
                definition: machine({
                    Init: { Type: "Pass", Assign: { x: 1 }, Next: "Outer" },
                    Outer: { Type: "Map", Items: [1], ItemProcessor: machine({ Inner: { Type: "Map", Items: [1], ItemProcessor: machine({ In: pass({ x: 3 }) }), End: true } }), End: true },
                }),
                refused: true,
            },
            {
                what: "a Choice Rule's Assign in an iteration assigns an outer variable",
                definition: machine({
                    Init: { Type: "Pass", Assign: { x: 1 }, Next: "Each" },
                    Each: { Type: "Map", Items: [1], ItemProcessor: machine({ Pick: { Type: "Choice", Choices: [{ Condition: "{% true %}", Assign: { x: 2 }, Next: "End" }] }, End: { Type: "Succeed" } }), End: true },
                }),
                refused: true,
            },
            {
                what: "two Parallel branches assign the same name",
                definition: machine({ Both: { Type: "Parallel", Branches: [machine({ A: pass({ y: 1 }) }), machine({ B: pass({ y: 2 }) })], End: true } }),
                refused: false,
            },
            {
                what: "an iteration reads an outer variable and assigns its own",
                definition: machine({ Init: { Type: "Pass", Assign: { x: 1 }, Next: "Each" }, Each: { Type: "Map", Items: [1], ItemProcessor: machine({ In: pass({ z: "{% $x %}" }) }), End: true } }),
                refused: false,
            },
        ];
        for (const { what, definition, refused } of cases) {
            const outcome = await run(definition).then(() => undefined, (error: unknown) => error);
            if (refused) {
                expect(outcome, what).to.be.instanceOf(Error).and.not.instanceOf(ExecutionFailed);
                expect((outcome as Error).message, what).to.match(/outer scope assigns/);
            } else {
                expect(outcome, what).to.equal(undefined);
            }
        }
    });

    it("a Map or Parallel state's Catch assigns in the scope the state is in", async () => {
        for (const failing of [
            { Type: "Map", Items: [1, 2], ItemProcessor: machine({ Fails: { Type: "Fail", Error: "Inner", Cause: "in an iteration" } }) },
            { Type: "Parallel", Branches: [machine({ Ok: { Type: "Pass", End: true } }), machine({ Fails: { Type: "Fail", Error: "Inner", Cause: "in a branch" } })] },
        ]) {
            const definition = machine({
                Init: { Type: "Pass", Assign: { tries: 0 }, Next: "Fan out" },
                "Fan out": { ...failing, Catch: [{ ErrorEquals: ["Inner"], Assign: { caught: "{% $states.errorOutput.Error %}", tries: "{% $tries + 1 %}" }, Next: "After" }], Next: "After" },
                After: { Type: "Succeed", Output: { caught: "{% $caught %}", tries: "{% $tries %}" } },
            });
            expect(await run(definition), failing.Type).to.deep.equal({ caught: "Inner", tries: 1 });
        }
        // A failed branch stops the others at their next state, as Step Functions stops them.
        let calls = 0;
        const calls3 = machine({
            First: { Type: "Task", Resource: RESOURCE, Next: "Second" },
            Second: { Type: "Task", Resource: RESOURCE, Next: "Third" },
            Third: { Type: "Task", Resource: RESOURCE, End: true },
        });
        const stopping = machine({ Both: { Type: "Parallel", Branches: [calls3, machine({ Fails: { Type: "Fail", Error: "Inner", Cause: "at once" } })], End: true } });
        const error = await failure(run(stopping, {}, async (resource, args) => {
            calls += 1;
            return yieldingTask(resource, args);
        }));
        expect((error as ExecutionFailed).error).to.equal("Inner");
        expect(calls).to.equal(1);
    });

    it("refuses $states.result outside a Task's, Map's or Parallel's Assign and Output, and $states.errorOutput outside a Catcher's", async () => {
        const catcher = (fields: Json) => [{ ErrorEquals: ["States.ALL"], ...fields, Next: "Done" }];
        const task = (fields: Json) => ({ Type: "Task", Resource: RESOURCE, ...fields, Next: "Done" });
        const map = (fields: Json) => ({ Type: "Map", Items: [1], ItemProcessor: machine({ In: { Type: "Pass", End: true } }), ...fields, Next: "Done" });
        const placements: { where: string; state: Json; allowed: boolean }[] = [
            { where: "Task Assign", state: task({ Assign: { r: "{% $states.result %}" } }), allowed: true },
            { where: "Task Output", state: task({ Output: "{% $states.result %}" }), allowed: true },
            { where: "Map Assign", state: map({ Assign: { r: "{% $states.result %}" } }), allowed: true },
            { where: "Parallel Output", state: { Type: "Parallel", Branches: [machine({ In: { Type: "Pass", End: true } })], Output: "{% $states.result %}", Next: "Done" }, allowed: true },
            { where: "Catch Assign (errorOutput)", state: task({ Catch: catcher({ Assign: { e: "{% $states.errorOutput %}" } }) }), allowed: true },
            { where: "Catch Output (errorOutput)", state: task({ Catch: catcher({ Output: "{% $states.errorOutput.Cause %}" }) }), allowed: true },
            // `& ''` turns an undefined read into "": only the definition check can notice it.
            { where: "Task Arguments", state: task({ Arguments: { r: "{% $states.result.x & '' %}" } }), allowed: false },
            { where: "Pass Output", state: { Type: "Pass", Output: "{% $states.result & '' %}", Next: "Done" }, allowed: false },
            { where: "Pass Assign", state: { Type: "Pass", Assign: { r: "{% $states.result & '' %}" }, Next: "Done" }, allowed: false },
            { where: "Choice Condition", state: { Type: "Choice", Choices: [{ Condition: "{% $exists($states.result) %}", Next: "Done" }], Default: "Done" }, allowed: false },
            { where: "Map ItemSelector", state: map({ ItemSelector: { r: "{% $states.result & '' %}" } }), allowed: false },
            { where: "Catch Output (result)", state: task({ Catch: catcher({ Output: "{% $states.result & '' %}" }) }), allowed: false },
            { where: "Task Output (errorOutput)", state: task({ Output: "{% $states.errorOutput & '' %}" }), allowed: false },
            { where: "Task Arguments (errorOutput)", state: task({ Arguments: { e: "{% $states.errorOutput & '' %}" } }), allowed: false },
            { where: "Succeed Output (result)", state: { Type: "Succeed", Output: "{% $states.result & '' %}" }, allowed: false },
        ];
        for (const { where, state, allowed } of placements) {
            const definition = machine({ State: state, Done: { Type: "Succeed" } });
            const outcome = await run(definition, {}, async () => ({ x: 1 })).then(() => undefined, (error: unknown) => error);
            if (allowed) {
                expect(outcome, where).to.equal(undefined);
            } else {
                expect(outcome, where).to.be.instanceOf(Error).and.not.instanceOf(ExecutionFailed);
                expect((outcome as Error).message, where).to.match(/reads \$states\.(result|errorOutput), which it cannot/);
            }
        }
    });

    it("takes Assign where the page allows it, with names that are Unicode identifiers of at most 80 characters", async () => {
        const refused = (definition: Json) => {
            try {
                validateJsonataDefinition(definition);
            } catch (error) {
                return (error as Error).message;
            }
            return undefined;
        };
        const assigning = (name: string) => machine({ Set: { Type: "Pass", Assign: { [name]: 1 }, Next: "Read" }, Read: { Type: "Succeed", Output: `{% $${name} %}` } });
        for (const name of ["x", "prénom", "x_1", "émile2", "a".repeat(80)]) {
            expect(refused(assigning(name)), name).to.equal(undefined);
            expect(await run(assigning(name)), name).to.equal(1);
        }
        for (const name of ["x.y", "x[2]", "1x", "_x", "a-b", "", "a".repeat(81), "states"]) {
            expect(refused(assigning(name)), JSON.stringify(name)).to.match(/not a variable name/);
        }
        expect(refused(machine({ Done: { Type: "Succeed", Assign: { x: 1 } } }))).to.match(/Succeed states have no Assign/);
        expect(refused(machine({ Stop: { Type: "Fail", Error: "E", Assign: { x: 1 } } }))).to.match(/Fail states have no Assign/);
        expect(refused(machine({ Set: { Type: "Pass", Assign: "{% {'x': 1} %}", End: true } }))).to.match(/must be a JSON object/);
    });

    it("holds variables to 256 KiB each and per Assign, and an execution's variables to 10 MiB", async () => {
        const KIB = 1024;
        const big = (kib: number) => `{% $pad('', ${kib * KIB - 2}, 'x') %}`; // a JSON string of `kib` KiB
        const dataLimit = async (definition: Json) => ((await failure(run(definition))) as ExecutionFailed).error;
        expect(await dataLimit(machine({ Set: { Type: "Pass", Assign: { a: big(257) }, End: true } }))).to.equal("States.DataLimitExceeded");
        expect(await dataLimit(machine({ Set: { Type: "Pass", Assign: { a: big(130), b: big(130) }, End: true } }))).to.equal("States.DataLimitExceeded");
        // 41 variables of 250 KiB pass 10 MiB; reassigning one variable does not add up.
        const chain = (names: string[]) => machine(Object.fromEntries(names.map((name, i) => [`Set ${i}`, { Type: "Pass", Assign: { [name]: big(250) }, ...(i === names.length - 1 ? { End: true } : { Next: `Set ${i + 1}` }) }])));
        const many = Array.from({ length: 41 }, (_, i) => `v${i}`);
        expect(await dataLimit(chain(many))).to.equal("States.DataLimitExceeded");
        expect(await run(chain(many.slice(0, 40)))).to.deep.equal({});
        expect(await run(chain(many.map(() => "same")))).to.deep.equal({});
        // A Map iteration's variables go with it: one after another, 60 iterations of 200 KiB fit.
        const iterations = machine({
            Each: { Type: "Map", Items: "{% [1..60] %}", MaxConcurrency: 1, ItemProcessor: machine({ Set: { Type: "Pass", Assign: { mine: big(200) }, Output: 1, End: true } }), Output: "{% $count($states.result) %}", End: true },
        });
        expect(await run(iterations)).to.equal(60);
    });
});

describe("ASL JSONPath evaluator: workflow variables are refused, not misread", () => {
    it("refuses Assign and `$name` references (a variable in JSONPath, not a field of the input)", async () => {
        const task = async () => ({ ok: true });
        const refused = (definition: Json) => runStateMachine(definition, { x: "a field, not the variable" }, task).then(() => undefined, (error: Error) => error.message);
        expect(await refused({ StartAt: "Set", States: { Set: { Type: "Pass", Assign: { x: 1 }, End: true } } })).to.match(/Assign \(workflow variables\) is not modelled/);
        expect(await refused({ StartAt: "Read", States: { Read: { Type: "Pass", Parameters: { "value.$": "$x" }, End: true } } })).to.match(/workflow variables are not modelled/);
        expect(await refused({ StartAt: "Add", States: { Add: { Type: "Pass", Parameters: { "value.$": "States.MathAdd($x, 1)" }, End: true } } })).to.match(/workflow variables are not modelled/);
        // Paths into the input and the Context object still work.
        const read = { StartAt: "Read", States: { Read: { Type: "Pass", Parameters: { "input.$": "$.x", "whole.$": "$", "context.$": "$$.Execution.Id" }, End: true } } };
        expect(await runStateMachine(read, { x: 1 }, task, { Execution: { Id: "arn" } })).to.deep.equal({ input: 1, whole: { x: 1 }, context: "arn" });
    });
});
