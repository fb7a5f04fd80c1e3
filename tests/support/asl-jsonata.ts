// Runs a JSONata-language state machine (Task, Pass, Choice, Fail, Succeed with Arguments, Assign,
// Output, Condition, Retry-free Catch) with the real `jsonata` evaluator, as Step Functions does:
// `{% … %}` strings are expressions over `$states` (input, result, errorOutput, context) and the
// variables earlier states assigned. Task calls go to a handler the test provides.
import jsonata from "jsonata";

type Json = any;

/** A Task's error, named as Step Functions names AWS SDK errors (e.g. `Ssm.InvalidResourceIdException`). */
export class TaskError extends Error {
    constructor(public readonly error: string, cause: string) {
        super(cause);
    }
}

export class ExecutionFailed extends Error {
    constructor(public readonly error: string, public readonly cause: string) {
        super(`${error}: ${cause}`);
    }
}

export type JsonataTask = (resource: string, args: Json) => Promise<Json>;

const EXPRESSION = /^\{%([\s\S]*)%\}$/;

async function evaluate(template: Json, bindings: Record<string, Json>): Promise<Json> {
    if (typeof template === "string") {
        const match = EXPRESSION.exec(template);
        if (!match) return template;
        const value = await jsonata(match[1].trim()).evaluate({}, bindings);
        if (value === undefined) throw new ExecutionFailed("States.QueryEvaluationError", `${template} evaluated to undefined`);
        return value;
    }
    if (Array.isArray(template)) return Promise.all(template.map((item) => evaluate(item, bindings)));
    if (typeof template === "object" && template !== null) {
        const entries = await Promise.all(Object.entries(template).map(async ([key, value]) => [key, await evaluate(value, bindings)]));
        return Object.fromEntries(entries);
    }
    return template;
}

/** Runs the definition to its end; returns the final output, or throws ExecutionFailed. */
export async function runJsonataStateMachine(definition: Json, input: Json, task: JsonataTask, context: { startTime: string }): Promise<Json> {
    if (definition.QueryLanguage !== "JSONata") throw new Error("not a JSONata state machine");
    const variables: Record<string, Json> = {};
    const contextObject = { Execution: { StartTime: context.startTime, Input: input } };
    let name: string = definition.StartAt;
    let data = input;
    for (let steps = 0; steps < 100; steps += 1) {
        const state = definition.States[name];
        if (!state) throw new Error(`no state "${name}"`);
        const states = (extra: Record<string, Json> = {}) => ({ ...variables, states: { input: data, context: contextObject, ...extra } });
        const assign = async (block: Json, extra: Record<string, Json>) => {
            if (!block) return;
            // Every assignment in a block sees the variables as they were before it.
            Object.assign(variables, await evaluate(block, states(extra)));
        };
        switch (state.Type) {
            case "Task": {
                const args = await evaluate(state.Arguments ?? {}, states());
                let result: Json;
                try {
                    result = await task(state.Resource, args);
                } catch (error) {
                    if (!(error instanceof TaskError)) throw error;
                    const catcher = (state.Catch ?? []).find((c: Json) => c.ErrorEquals.includes(error.error) || c.ErrorEquals.includes("States.ALL"));
                    if (!catcher) throw new ExecutionFailed(error.error, error.message);
                    const errorOutput = { Error: error.error, Cause: error.message };
                    await assign(catcher.Assign, { errorOutput });
                    data = catcher.Output ? await evaluate(catcher.Output, states({ errorOutput })) : errorOutput;
                    name = catcher.Next;
                    continue;
                }
                await assign(state.Assign, { result });
                data = state.Output ? await evaluate(state.Output, states({ result })) : result;
                break;
            }
            case "Pass":
                await assign(state.Assign, {});
                data = state.Output ? await evaluate(state.Output, states()) : data;
                break;
            case "Choice": {
                let next = state.Default;
                for (const choice of state.Choices) {
                    if (await evaluate(choice.Condition, states()) === true) {
                        next = choice.Next;
                        break;
                    }
                }
                if (!next) throw new ExecutionFailed("States.NoChoiceMatched", name);
                name = next;
                continue;
            }
            case "Fail":
                throw new ExecutionFailed(state.Error, state.Cause);
            case "Succeed":
                return data;
            default:
                throw new Error(`unsupported state type ${state.Type}`);
        }
        if (state.End) return data;
        name = state.Next;
    }
    throw new Error("too many steps");
}
