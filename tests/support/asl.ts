// A small interpreter for the Amazon States Language subset the retry drain uses (Pass with
// Parameters and the States.MathAdd / States.ArrayLength intrinsics, Task, Choice with IsPresent and
// NumericGreaterThanEquals, inline Map, Succeed), so tests can run the real definition.
type Json = any;

export type TaskHandler = (resource: string, parameters: Json) => Promise<Json>;

function path(data: Json, expression: string): Json {
    if (expression === "$") return data;
    return expression.replace(/^\$\.?/, "").split(/\.|\[(\d+)\]/).filter((part) => part !== undefined && part !== "")
        .reduce((value, key) => (value === undefined || value === null ? undefined : value[key]), data);
}

function intrinsic(expression: string, data: Json): Json {
    const add = /^States\.MathAdd\((.+), (.+)\)$/.exec(expression);
    if (add) return evaluate(add[1], data) + evaluate(add[2], data);
    const length = /^States\.ArrayLength\((.+)\)$/.exec(expression);
    if (length) return evaluate(length[1], data).length;
    throw new Error(`unsupported intrinsic ${expression}`);
}

// Workflow variables are not modelled here: in JSONPath `$name` is a variable, not `$.name` ("Using
// variables in JSONPath states", https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html),
// and Assign is evaluated "at the same time as the ResultSelector". Definitions using them are refused
// rather than run with the wrong meaning (tests/support/asl-jsonata.ts models variables for JSONata).
const VARIABLE_REFERENCE = /^\$(?![.$[]|$)/;

function evaluate(expression: string, data: Json, context: Json = {}): Json {
    if (VARIABLE_REFERENCE.test(expression)) throw new Error(`workflow variables are not modelled in JSONPath states: ${expression}`);
    if (/^-?\d+(\.\d+)?$/.test(expression)) return Number(expression);
    if (expression.startsWith("States.")) return intrinsic(expression, data);
    if (expression.startsWith("$$.")) return path(context, `$.${expression.slice(3)}`);
    return path(data, expression);
}

function parameters(template: Json, data: Json, context: Json): Json {
    if (Array.isArray(template)) return template.map((t) => parameters(t, data, context));
    if (typeof template !== "object" || template === null) return template;
    return Object.fromEntries(Object.entries(template).map(([key, value]) => key.endsWith(".$")
        ? [key.slice(0, -2), evaluate(value as string, data, context)]
        : [key, parameters(value, data, context)]));
}

function setPath(data: Json, resultPath: string | null | undefined, result: Json): Json {
    if (resultPath === null) return data;
    if (resultPath === undefined || resultPath === "$") return result;
    return { ...data, [resultPath.replace(/^\$\./, "")]: result };
}

export async function runStateMachine(definition: Json, input: Json, task: TaskHandler, context: Json = {}, maxSteps = 100_000): Promise<Json> {
    let name: string = definition.StartAt;
    let data = input;
    for (let step = 0; step < maxSteps; step++) {
        const state = definition.States[name];
        if (state.Assign !== undefined || state.Catch?.some((catcher: Json) => catcher.Assign !== undefined)) throw new Error(`state "${name}": Assign (workflow variables) is not modelled in JSONPath states`);
        switch (state.Type) {
            case "Pass":
                data = setPath(data, state.ResultPath, state.Parameters ? parameters(state.Parameters, data, context) : data);
                break;
            case "Task": {
                let result = await task(state.Resource, parameters(state.Parameters, data, context));
                if (state.ResultSelector) result = parameters(state.ResultSelector, result, context);
                data = setPath(data, state.ResultPath, result);
                break;
            }
            case "Map": {
                const items: Json[] = path(data, state.ItemsPath);
                const results = await Promise.all(items.map((item) => runStateMachine(state.ItemProcessor, item, task, context)));
                data = setPath(data, state.ResultPath, results);
                break;
            }
            case "Choice": {
                const match = state.Choices.find((choice: Json) => {
                    const value = path(data, choice.Variable);
                    if ("IsPresent" in choice) return (value !== undefined) === choice.IsPresent;
                    if ("NumericGreaterThanEquals" in choice) return value >= choice.NumericGreaterThanEquals;
                    throw new Error(`unsupported choice ${JSON.stringify(choice)}`);
                });
                name = match ? match.Next : state.Default;
                continue;
            }
            case "Succeed":
                return data;
            default:
                throw new Error(`unsupported state type ${state.Type}`);
        }
        if (state.End) return data;
        name = state.Next;
    }
    throw new Error("state machine did not finish");
}
