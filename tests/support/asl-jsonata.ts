// Runs a JSONata-language state machine (Task, Pass, Choice, inline Map, Fail, Succeed with Arguments,
// Assign, Output, Condition, Items, ItemSelector, Retry, Catch) with the real `jsonata` evaluator, as
// Step Functions does: `{% … %}` strings are expressions over `$states` (input, result, errorOutput,
// context) and the variables earlier states assigned. Task calls go to a handler the test provides.
//
// What it holds a definition to, as Step Functions does ("Transforming data with JSONata", "Step
// Functions service quotas"): JSONPath fields are refused in JSONata states; `$eval` and the 2.1
// operators `??` / `?:` are refused (Step Functions implements JSONata 2.0.6 without `$eval`); an
// expression that evaluates to nothing fails the execution; state data over 256 KiB fails it
// (States.DataLimitExceeded); so does a history of more than 25,000 events (counted per state the way
// the execution history lists them: a Task is entered, scheduled, started, succeeded, exited).
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

export interface JsonataContext {
    /** `$states.context.Execution.StartTime` (ISO 8601). */
    startTime: string;
    /** `$states.context.Execution.Id`. @default "arn:aws:states:us-east-1:123456789012:execution:machine:execution" */
    executionArn?: string;
    /** `$states.context.StateMachine.Id`. @default "arn:aws:states:us-east-1:123456789012:stateMachine:machine" */
    stateMachineArn?: string;
}

export interface JsonataRunOptions {
    /** State transitions before the run is declared stuck. @default 100000 */
    maxSteps?: number;
    /** Called with the seconds a Retry waits before the next attempt (advance a model clock here). */
    wait?: (seconds: number) => void | Promise<void>;
    /** The model's clock, for `$states.context.State.EnteredTime`. @default Date.now */
    now?: () => number;
}

export interface JsonataExecution {
    output: Json;
    /** History events the execution wrote (approximately as Step Functions counts them). */
    historyEvents: number;
}

export const HISTORY_EVENT_LIMIT = 25_000;
const PAYLOAD_LIMIT_BYTES = 256 * 1024;
const EXPRESSION = /^\{%([\s\S]*)%\}$/;
const JSONPATH_FIELDS = ["InputPath", "Parameters", "ResultSelector", "ResultPath", "OutputPath", "ItemsPath", "Iterator"];

const compiled = new Map<string, jsonata.Expression>();

function compile(expression: string): jsonata.Expression {
    let result = compiled.get(expression);
    if (!result) {
        if (/\$eval\s*\(/.test(expression)) throw new Error(`Step Functions does not support $eval: ${expression}`);
        if (/\?\?|\?:/.test(expression)) throw new Error(`Step Functions implements JSONata 2.0.6, without ?? and ?: — ${expression}`);
        result = jsonata(expression);
        compiled.set(expression, result);
    }
    return result;
}

async function evaluate(template: Json, bindings: Record<string, Json>): Promise<Json> {
    if (typeof template === "string") {
        const match = EXPRESSION.exec(template);
        if (!match) return template;
        const value = await compile(match[1].trim()).evaluate({}, bindings);
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

function limitSize(what: string, value: Json): Json {
    if (value !== undefined && Buffer.byteLength(JSON.stringify(value)) > PAYLOAD_LIMIT_BYTES) {
        throw new ExecutionFailed("States.DataLimitExceeded", `${what} is larger than 256 KiB`);
    }
    return value;
}

// States.ALL matches every error but these two, which no Retry or Catch can handle.
const matches = (errorEquals: string[], error: string) =>
    errorEquals.includes(error) || (errorEquals.includes("States.ALL") && error !== "States.Runtime" && error !== "States.DataLimitExceeded");

interface Run {
    task: JsonataTask;
    options: JsonataRunOptions;
    context: Json;
    events: number;
    steps: number;
}

/** Runs a (sub-)machine's states from StartAt; `variables` is its scope (reads see outer scopes). */
async function runStates(machine: Json, input: Json, run: Run, outer: Record<string, Json>, extraContext: Json = {}): Promise<Json> {
    const variables: Record<string, Json> = {};
    let name: string = machine.StartAt;
    let data = input;
    for (;;) {
        if ((run.steps += 1) > (run.options.maxSteps ?? 100_000)) throw new Error("too many steps");
        const state = machine.States[name];
        if (!state) throw new Error(`no state "${name}"`);
        const misplaced = JSONPATH_FIELDS.filter((field) => field in state);
        if (misplaced.length > 0) throw new Error(`state "${name}": ${misplaced.join(", ")} are JSONPath fields, not allowed in a JSONata state`);
        const entered = new Date(run.options.now?.() ?? Date.now()).toISOString();
        const states = (extra: Record<string, Json> = {}) => ({ ...outer, ...variables, states: { input: data, context: { ...run.context, ...extraContext, State: { Name: name, EnteredTime: entered } }, ...extra } });
        const assign = async (block: Json, extra: Record<string, Json>) => {
            if (!block) return;
            // Every assignment in a block sees the variables as they were before it.
            Object.assign(variables, limitSize(`Assign of "${name}"`, await evaluate(block, states(extra))));
        };
        const addEvents = (count: number) => {
            run.events += count;
            if (run.events > HISTORY_EVENT_LIMIT) throw new ExecutionFailed("States.Runtime", `the execution history passed ${HISTORY_EVENT_LIMIT} events in state "${name}"`);
        };
        /** Runs `attempt` under the state's Retry; on final failure follows its Catch, or fails. */
        const withRetryAndCatch = async (attempt: () => Promise<Json>, eventsPerFailure: number): Promise<{ result: Json } | { next: string }> => {
            const attempts = new Map<Json, number>();
            for (;;) {
                let error: { error: string; cause: string };
                try {
                    return { result: await attempt() };
                } catch (e) {
                    if (e instanceof TaskError) error = { error: e.error, cause: e.message };
                    else if (e instanceof ExecutionFailed) error = { error: e.error, cause: e.cause };
                    else throw e;
                }
                addEvents(eventsPerFailure);
                const retrier = (state.Retry ?? []).find((r: Json) => matches(r.ErrorEquals, error.error));
                const made = attempts.get(retrier) ?? 0;
                if (retrier && made < (retrier.MaxAttempts ?? 3)) {
                    attempts.set(retrier, made + 1);
                    await run.options.wait?.((retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** made);
                    continue;
                }
                const catcher = (state.Catch ?? []).find((c: Json) => matches(c.ErrorEquals, error.error));
                if (!catcher) throw new ExecutionFailed(error.error, error.cause);
                const errorOutput = { Error: error.error, Cause: error.cause };
                await assign(catcher.Assign, { errorOutput });
                data = catcher.Output ? await evaluate(catcher.Output, states({ errorOutput })) : errorOutput;
                addEvents(1);
                return { next: catcher.Next };
            }
        };
        switch (state.Type) {
            case "Task": {
                addEvents(5);
                const outcome = await withRetryAndCatch(async () => {
                    const args = limitSize(`arguments of "${name}"`, await evaluate(state.Arguments ?? {}, states()));
                    return limitSize(`result of "${name}"`, await run.task(state.Resource, args));
                }, 3);
                if ("next" in outcome) {
                    name = outcome.next;
                    continue;
                }
                await assign(state.Assign, { result: outcome.result });
                data = state.Output !== undefined ? await evaluate(state.Output, states({ result: outcome.result })) : outcome.result;
                break;
            }
            case "Map": {
                if (state.ItemProcessor?.ProcessorConfig?.Mode === "DISTRIBUTED") throw new Error("only inline Map states are supported");
                addEvents(4);
                const outcome = await withRetryAndCatch(async () => {
                    const items = state.Items !== undefined ? await evaluate(state.Items, states()) : data;
                    if (!Array.isArray(items)) throw new ExecutionFailed("States.QueryEvaluationError", `Items of "${name}" is not an array`);
                    addEvents(2 * items.length);
                    const scope = { ...outer, ...variables };
                    const results: Json[] = new Array(items.length);
                    const limit = state.MaxConcurrency > 0 ? state.MaxConcurrency : items.length;
                    let next = 0;
                    let failure: unknown;
                    const worker = async () => {
                        while (failure === undefined && next < items.length) {
                            const index = next++;
                            const mapContext = { Map: { Item: { Index: index, Value: items[index] } } };
                            try {
                                const itemInput = state.ItemSelector !== undefined
                                    ? await evaluate(state.ItemSelector, { ...scope, states: { input: data, context: { ...run.context, ...mapContext } } })
                                    : items[index];
                                results[index] = await runStates(state.ItemProcessor, itemInput, run, scope, mapContext);
                            } catch (error) {
                                failure ??= error;
                            }
                        }
                    };
                    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
                    if (failure !== undefined) throw failure;
                    return limitSize(`result of "${name}"`, results);
                }, 1);
                if ("next" in outcome) {
                    name = outcome.next;
                    continue;
                }
                await assign(state.Assign, { result: outcome.result });
                data = state.Output !== undefined ? await evaluate(state.Output, states({ result: outcome.result })) : outcome.result;
                break;
            }
            case "Pass":
                addEvents(2);
                await assign(state.Assign, {});
                data = state.Output !== undefined ? await evaluate(state.Output, states()) : data;
                break;
            case "Choice": {
                addEvents(2);
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
            case "Wait":
                addEvents(2);
                await assign(state.Assign, {});
                await run.options.wait?.(state.Seconds);
                data = state.Output !== undefined ? await evaluate(state.Output, states()) : data;
                break;
            case "Fail":
                addEvents(1);
                throw new ExecutionFailed(state.Error, state.Cause);
            case "Succeed":
                addEvents(2);
                return limitSize(`output of "${name}"`, state.Output !== undefined ? await evaluate(state.Output, states()) : data);
            default:
                throw new Error(`unsupported state type ${state.Type}`);
        }
        limitSize(`output of "${name}"`, data);
        if (state.End) return data;
        name = state.Next;
    }
}

/** Runs the definition to its end; returns the final output and the history size, or throws ExecutionFailed. */
export async function runJsonataExecution(definition: Json, input: Json, task: JsonataTask, context: JsonataContext, options: JsonataRunOptions = {}): Promise<JsonataExecution> {
    if (definition.QueryLanguage !== "JSONata") throw new Error("not a JSONata state machine");
    const stateMachineArn = context.stateMachineArn ?? "arn:aws:states:us-east-1:123456789012:stateMachine:machine";
    const executionArn = context.executionArn ?? `${stateMachineArn.replace(":stateMachine:", ":execution:")}:execution`;
    const run: Run = {
        task,
        options,
        events: 2, // ExecutionStarted, and ExecutionSucceeded or ExecutionFailed
        steps: 0,
        context: {
            Execution: { Id: executionArn, Name: executionArn.split(":").pop(), StartTime: context.startTime, Input: input },
            StateMachine: { Id: stateMachineArn, Name: stateMachineArn.split(":").pop() },
        },
    };
    const output = await runStates(definition, input, run, {});
    return { output, historyEvents: run.events };
}

/** Runs the definition to its end; returns the final output, or throws ExecutionFailed. */
export async function runJsonataStateMachine(definition: Json, input: Json, task: JsonataTask, context: JsonataContext, options: JsonataRunOptions = {}): Promise<Json> {
    return (await runJsonataExecution(definition, input, task, context, options)).output;
}
