// Runs a JSONata-language state machine (Task, Pass, Choice, inline Map, Parallel, Wait, Fail, Succeed
// with Arguments, Assign, Output, Condition, Items, ItemSelector, Branches, Retry, Catch) with the real
// `jsonata` evaluator, as Step Functions does: `{% … %}` strings are expressions over `$states` (input, result, errorOutput,
// context) and the variables earlier states assigned. Task calls go to a handler the test provides.
//
// What it holds a definition to, as Step Functions does ("Transforming data with JSONata", "Step
// Functions service quotas"): JSONPath fields are refused in JSONata states; `$eval` and the 2.1
// operators `??` / `?:` are refused (Step Functions implements JSONata 2.0.6 without `$eval`); an
// expression that evaluates to nothing fails the execution; state data over 256 KiB fails it
// (States.DataLimitExceeded); so does a history of more than 25,000 events (counted per state the way
// the execution history lists them: a Task is entered, scheduled, started, succeeded, exited).
//
// Variables follow "Passing data between states with variables"
// (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html):
// - "All variable references in Step Functions states use the values as they were on state entry. […]
//   First, new values are calculated, then Step Functions assigns the new values to the variables. The
//   new variable values will be available starting with the next state." Within one Assign, "all
//   expressions are evaluated first, then assignments are made"; "The order in which the variables
//   occur in the Assign field does not matter."
// - "Assign and Output fields are processed in parallel. Note the implication: assigning variable
//   values will not affect state Output." ("Transforming data with JSONata": "If you choose to
//   transform data during variable assignment, that transformed data will not be available in the
//   Output step.") So a state's Output (and a Catcher's, and a Choice Rule's) sees the old values.
// - Scope: "Workflow-local scope includes all states inside a state machine's States field, but not
//   states inside Parallel or Map states. States inside Parallel or Map states can refer to outer scope
//   variables, but they create and maintain their own separate workflow-local variables and values."
//   Branches and iterations "do not have access to variable values from other concurrent branches or
//   iterations. When handling errors, the Assign field in a Catch can assign values to variables in the
//   outer scope, that is, the scope in which the Parallel/Map state exists." "A variable exists in a
//   scope if any state in the scope assigns a value to it. […] a variable assigned in an inner scope
//   cannot have the same name as one assigned in an outer scope." "When a Parallel or Map state
//   completes, all of their variables will go out of scope." (Distributed Map: refused below.)
// - "The Assign field is available at the top level of each state (except Succeed and Fail), inside
//   Choice state rules, and inside Catch fields." Names: Unicode ID_Start then ID_Continue characters,
//   at most 80; "You cannot assign a value to a part of a variable" (`x.y`).
// - `$states.result` exists in Task, Parallel and Map states (their Assign and Output), and
//   `$states.errorOutput` "can be used in the Catch field's Assign or Output"; "Attempting to access
//   $states.result or $states.errorOutput in fields and states where they are not accessible will be
//   caught at creation, update, or validation of the state machine." A Catch does not apply the
//   state's own Assign (the state did not succeed): only the Catcher's.
// - Limits: 256 KiB a variable and per Assign field; "The total size of all stored variables cannot
//   exceed 10MiB per execution" (the page names no error: States.DataLimitExceeded here, as for the
//   payload limit).
// Definitions breaking these rules are refused before running (Error), as CreateStateMachine would.
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

interface Compiled {
    expression: jsonata.Expression;
    /** For a plain variable path (`$name` or `$name.field.field`): the variable, then the fields. */
    path?: string[];
}

const compiled = new Map<string, Compiled>();

// A variable path JSONata evaluates as a plain property read: `$` and a name, then `.name`s that are
// not operators or literals.
const VARIABLE_PATH = /^\$[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const RESERVED_NAMES = new Set(["and", "or", "in", "true", "false", "null", "function"]);

function compile(expression: string): Compiled {
    let result = compiled.get(expression);
    if (!result) {
        if (/\$eval\s*\(/.test(expression)) throw new Error(`Step Functions does not support $eval: ${expression}`);
        if (/\?\?|\?:/.test(expression)) throw new Error(`Step Functions implements JSONata 2.0.6, without ?? and ?: — ${expression}`);
        const names = VARIABLE_PATH.test(expression) ? expression.slice(1).split(".") : undefined;
        result = { expression: jsonata(expression), path: names && !names.slice(1).some((name) => RESERVED_NAMES.has(name)) ? names : undefined };
        compiled.set(expression, result);
    }
    return result;
}

/** Marks a variable path {@link readVariablePath} leaves to JSONata. */
export const NOT_PLAIN = Symbol("not a plain read");

// Objects of JSON.parse and object literals, and those JSONata builds (without a prototype).
const isPlainObject = (value: unknown): value is Record<string, Json> => {
    if (value === null || typeof value !== "object") return false;
    const prototype = Object.getPrototypeOf(value);
    return (prototype === Object.prototype || prototype === null) && !(value as Json)._jsonata_lambda && !(value as Json)._jsonata_function;
};

/**
 * A variable path's value when JSONata's is the plain property read: the variable is bound, each
 * step reads an own property of a plain object, and the value is a string, a finite number, a
 * boolean, null or a plain object (JSONata returns that same object). Anything else (arrays, which
 * JSONata maps over and flattens, singleton sequences, functions, missing values) is NOT_PLAIN:
 * JSONata evaluates those. Exported for the property that holds it to JSONata.
 */
export function readVariablePath(path: string[], bindings: Record<string, Json>): Json | typeof NOT_PLAIN {
    if (!Object.prototype.hasOwnProperty.call(bindings, path[0])) return NOT_PLAIN;
    let value = bindings[path[0]];
    for (let i = 1; i < path.length; i++) {
        if (!isPlainObject(value) || !Object.prototype.hasOwnProperty.call(value, path[i])) return NOT_PLAIN;
        value = value[path[i]];
    }
    const plain = typeof value === "string" || typeof value === "boolean" || value === null || (typeof value === "number" && Number.isFinite(value)) || isPlainObject(value);
    return plain ? value : NOT_PLAIN;
}

/** Evaluates one JSONata expression (the text between `{%` and `%}`) with the bindings. */
export async function evaluateExpression(expression: string, bindings: Record<string, Json>): Promise<Json> {
    const { expression: compiledExpression, path } = compile(expression);
    const read = path ? readVariablePath(path, bindings) : NOT_PLAIN;
    return read === NOT_PLAIN ? compiledExpression.evaluate({}, bindings) : read;
}

// Whether a template (an Arguments, Output, Assign… value of the definition) holds an expression
// anywhere: those that don't evaluate to a copy of themselves.
const holdsExpression = new WeakMap<object, boolean>();

function hasExpression(template: Json): boolean {
    if (typeof template === "string") return EXPRESSION.test(template);
    if (typeof template !== "object" || template === null) return false;
    let found = holdsExpression.get(template);
    if (found === undefined) {
        found = (Array.isArray(template) ? template : Object.values(template)).some(hasExpression);
        holdsExpression.set(template, found);
    }
    return found;
}

function copy(template: Json): Json {
    if (Array.isArray(template)) return template.map(copy);
    if (typeof template === "object" && template !== null) return Object.fromEntries(Object.entries(template).map(([key, value]) => [key, copy(value)]));
    return template;
}

async function evaluate(template: Json, bindings: Record<string, Json>): Promise<Json> {
    if (!hasExpression(template)) return copy(template);
    if (typeof template === "string") {
        const match = EXPRESSION.exec(template)!;
        const value = await evaluateExpression(match[1].trim(), bindings);
        if (value === undefined) throw new ExecutionFailed("States.QueryEvaluationError", `${template} evaluated to undefined`);
        return value;
    }
    if (Array.isArray(template)) return Promise.all(template.map((item) => evaluate(item, bindings)));
    const entries = await Promise.all(Object.entries(template).map(async ([key, value]) => [key, await evaluate(value, bindings)]));
    return Object.fromEntries(entries);
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

// Variable rules of workflow-variables.html (see the top of this file) checked on the definition.
const VARIABLE_NAME = /^\p{ID_Start}\p{ID_Continue}*$/u;
const MAX_VARIABLE_NAME = 80;
const VARIABLE_LIMIT_BYTES = 256 * 1024;
const ALL_VARIABLES_LIMIT_BYTES = 10 * 1024 * 1024;
const RESULT_STATES = new Set(["Task", "Map", "Parallel"]);
const REFERS_TO_RESULT = /\$states\s*\.\s*result\b/;
const REFERS_TO_ERROR_OUTPUT = /\$states\s*\.\s*errorOutput\b/;
const validated = new WeakSet<object>();

function expressionsOf(template: Json): string[] {
    if (typeof template === "string") return EXPRESSION.test(template) ? [template] : [];
    if (typeof template !== "object" || template === null) return [];
    return (Array.isArray(template) ? template : Object.values(template)).flatMap(expressionsOf);
}

// The sub-machines of a state: its own variable scopes (inline Map iterations, Parallel branches).
const innerMachines = (state: Json): Json[] => [...(state.ItemProcessor ? [state.ItemProcessor] : []), ...(state.Branches ?? [])];

// Every Assign block of a state, with where it is: the state's own, its Choice Rules', its Catchers'.
function assignBlocks(state: Json): { where: string; block: Json }[] {
    return [
        ...(state.Assign !== undefined ? [{ where: "Assign", block: state.Assign }] : []),
        ...(state.Choices ?? []).flatMap((rule: Json, i: number) => rule.Assign !== undefined ? [{ where: `Choices[${i}].Assign`, block: rule.Assign }] : []),
        ...(state.Catch ?? []).flatMap((catcher: Json, i: number) => catcher.Assign !== undefined ? [{ where: `Catch[${i}].Assign`, block: catcher.Assign }] : []),
    ];
}

/**
 * Refuses (throws) a definition that breaks the documented variable rules: Assign in Succeed or Fail,
 * a name that is not a Unicode identifier of at most 80 characters (or is the reserved `states`), a
 * variable assigned both in an inner scope (Map iteration, Parallel branch) and an enclosing one,
 * `$states.result` outside a Task's, Map's or Parallel's Assign and Output, `$states.errorOutput`
 * outside a Catcher's Assign and Output.
 */
export function validateJsonataDefinition(definition: Json): void {
    if (validated.has(definition)) return;
    const check = (machine: Json, enclosing: Set<string>, path: string) => {
        const own = new Set<string>();
        for (const [name, state] of Object.entries<Json>(machine.States ?? {})) {
            const at = `${path}state "${name}"`;
            if ((state.Type === "Succeed" || state.Type === "Fail") && state.Assign !== undefined) throw new Error(`${at}: ${state.Type} states have no Assign`);
            for (const { where, block } of assignBlocks(state)) {
                if (typeof block !== "object" || block === null || Array.isArray(block)) throw new Error(`${at}: ${where} must be a JSON object`);
                for (const variable of Object.keys(block)) {
                    if (!VARIABLE_NAME.test(variable) || variable.length > MAX_VARIABLE_NAME || variable === "states") {
                        throw new Error(`${at}: ${where} assigns "${variable}", not a variable name (Unicode identifier, at most ${MAX_VARIABLE_NAME} characters, not the reserved "states")`);
                    }
                    if (enclosing.has(variable)) throw new Error(`${at}: ${where} assigns "${variable}", which an outer scope assigns too`);
                    own.add(variable);
                }
            }
            // Where $states.result and $states.errorOutput may be read.
            for (const [field, value] of Object.entries<Json>(state)) {
                if (field === "ItemProcessor" || field === "Branches") continue;
                const parts: { where: string; value: Json; result: boolean; errorOutput: boolean }[] = field === "Catch"
                    ? (value as Json[]).flatMap((catcher, i) => Object.entries<Json>(catcher).map(([key, v]) => ({ where: `Catch[${i}].${key}`, value: v, result: false, errorOutput: key === "Assign" || key === "Output" })))
                    : [{ where: field, value, result: RESULT_STATES.has(state.Type) && (field === "Assign" || field === "Output"), errorOutput: false }];
                for (const part of parts) {
                    for (const expression of expressionsOf(part.value)) {
                        if (!part.result && REFERS_TO_RESULT.test(expression)) throw new Error(`${at}: ${part.where} reads $states.result, which it cannot: ${expression}`);
                        if (!part.errorOutput && REFERS_TO_ERROR_OUTPUT.test(expression)) throw new Error(`${at}: ${part.where} reads $states.errorOutput, which it cannot: ${expression}`);
                    }
                }
            }
        }
        const visible = new Set([...enclosing, ...own]);
        for (const [name, state] of Object.entries<Json>(machine.States ?? {})) {
            innerMachines(state).forEach((inner, i) => check(inner, visible, `${path}state "${name}" (${state.ItemProcessor ? "ItemProcessor" : `Branches[${i}]`}) > `));
        }
    };
    check(definition, new Set(), "");
    validated.add(definition);
}

interface Run {
    task: JsonataTask;
    options: JsonataRunOptions;
    context: Json;
    events: number;
    steps: number;
    /** Bytes of every variable stored now, in every scope (10 MiB an execution). */
    variableBytes: number;
}

/** Thrown into a Parallel branch still running when another branch failed (Step Functions stops it). */
class BranchStopped extends Error {}

/**
 * Runs a (sub-)machine's states from StartAt in a scope of its own: `variables` (reads see `outer`,
 * the enclosing scopes' values when the Map or Parallel state was entered). `stopped` ends it early.
 */
async function runStates(machine: Json, input: Json, run: Run, outer: Record<string, Json>, extraContext: Json = {}, stopped: () => boolean = () => false): Promise<Json> {
    const variables: Record<string, Json> = {};
    const sizes = new Map<string, number>();
    let name: string = machine.StartAt;
    let data = input;
    // The state being run and when it was entered, for the helpers below (made once per machine run).
    let state: Json;
    let entered: string;
    // Every expression of a state sees the variables as they were on state entry: they change only in
    // `finish`, once the state's Assign and Output are both evaluated.
    const states = (extra: Record<string, Json> = {}) => ({ ...outer, ...variables, states: { input: data, context: { ...run.context, ...extraContext, State: { Name: name, EnteredTime: entered } }, ...extra } });
    const store = (assigned: Record<string, Json>) => {
        let block = 0;
        const bytes = Object.entries(assigned).map(([variable, value]) => {
            const size = Buffer.byteLength(JSON.stringify(value));
            block += size;
            if (size > VARIABLE_LIMIT_BYTES) throw new ExecutionFailed("States.DataLimitExceeded", `variable "${variable}" assigned in "${name}" is larger than 256 KiB`);
            return [variable, size] as const;
        });
        if (block > VARIABLE_LIMIT_BYTES) throw new ExecutionFailed("States.DataLimitExceeded", `Assign of "${name}" is larger than 256 KiB`);
        for (const [variable, size] of bytes) {
            run.variableBytes += size - (sizes.get(variable) ?? 0);
            sizes.set(variable, size);
        }
        Object.assign(variables, assigned);
        if (run.variableBytes > ALL_VARIABLES_LIMIT_BYTES) throw new ExecutionFailed("States.DataLimitExceeded", `the execution's variables passed 10 MiB in state "${name}"`);
    };
    /**
     * The Assign and Output of a state (or of the Catcher or Choice Rule taken), evaluated in parallel
     * from the same bindings, then the assignment: the Output never sees what the Assign sets.
     * Returns the state's output (`otherwise` without an Output).
     */
    const finish = async (fields: { Assign?: Json; Output?: Json }, extra: Record<string, Json>, otherwise: Json): Promise<Json> => {
        const bindings = states(extra);
        const [assigned, output] = await Promise.all([
            fields.Assign !== undefined ? evaluate(fields.Assign, bindings) : undefined,
            fields.Output !== undefined ? evaluate(fields.Output, bindings) : otherwise,
        ]);
        if (assigned !== undefined) store(assigned);
        return output;
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
            // The Catcher's Assign (in this scope: for a Map or Parallel state, the outer one) and Output
            // see $states.errorOutput and the variables as they were on state entry; the state's own
            // Assign is not applied.
            const errorOutput = { Error: error.error, Cause: error.cause };
            data = await finish(catcher, { errorOutput }, errorOutput);
            addEvents(1);
            return { next: catcher.Next };
        }
    };
    /**
     * A Task, Map or Parallel state: `attempt` under Retry and Catch, then the state's Assign and
     * Output over its result (`data` becomes the output). Returns the Catcher's Next if one was taken.
     */
    const settle = async (attempt: () => Promise<Json>, eventsPerFailure: number): Promise<string | undefined> => {
        const outcome = await withRetryAndCatch(attempt, eventsPerFailure);
        if ("next" in outcome) return outcome.next;
        data = await finish(state, { result: outcome.result }, outcome.result);
        return undefined;
    };
    try {
        for (;;) {
            if ((run.steps += 1) > (run.options.maxSteps ?? 100_000)) throw new Error("too many steps");
            if (stopped()) throw new BranchStopped();
            state = machine.States[name];
            if (!state) throw new Error(`no state "${name}"`);
            const misplaced = JSONPATH_FIELDS.filter((field) => field in state);
            if (misplaced.length > 0) throw new Error(`state "${name}": ${misplaced.join(", ")} are JSONPath fields, not allowed in a JSONata state`);
            entered = new Date(run.options.now?.() ?? Date.now()).toISOString();
            switch (state.Type) {
                case "Task": {
                    addEvents(5);
                    const caught = await settle(async () => {
                        const args = limitSize(`arguments of "${name}"`, await evaluate(state.Arguments ?? {}, states()));
                        return limitSize(`result of "${name}"`, await run.task(state.Resource, args));
                    }, 3);
                    if (caught !== undefined) {
                        name = caught;
                        continue;
                    }
                    break;
                }
                case "Map": {
                    if (state.ItemProcessor?.ProcessorConfig?.Mode === "DISTRIBUTED") throw new Error("only inline Map states are supported");
                    addEvents(4);
                    const caught = await settle(async () => {
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
                    if (caught !== undefined) {
                        name = caught;
                        continue;
                    }
                    break;
                }
                case "Parallel": {
                    // ParallelStateEntered, Started, Succeeded, Exited.
                    addEvents(4);
                    const caught = await settle(async () => {
                        const branchInput = state.Arguments !== undefined ? limitSize(`arguments of "${name}"`, await evaluate(state.Arguments, states())) : data;
                        const scope = { ...outer, ...variables };
                        // The first branch to fail fails the state; the others are stopped at their next state.
                        const failed: { error?: unknown; any: boolean } = { any: false };
                        const results = await Promise.all((state.Branches as Json[]).map((branch) => runStates(branch, branchInput, run, scope, {}, () => failed.any)
                            .catch((error) => {
                                if (failed.any || error instanceof BranchStopped) return;
                                failed.any = true;
                                failed.error = error;
                            })));
                        if (failed.any) throw failed.error;
                        return limitSize(`result of "${name}"`, results);
                    }, 1);
                    if (caught !== undefined) {
                        name = caught;
                        continue;
                    }
                    break;
                }
                case "Pass":
                    addEvents(2);
                    data = await finish(state, {}, data);
                    break;
                case "Choice": {
                    addEvents(2);
                    let taken: Json;
                    for (const rule of state.Choices) {
                        if (await evaluate(rule.Condition, states()) === true) {
                            taken = rule;
                            break;
                        }
                    }
                    const next = taken ? taken.Next : state.Default;
                    if (!next) throw new ExecutionFailed("States.NoChoiceMatched", name);
                    // The Choice Rule taken brings its Assign and Output; the state's own apply when
                    // Default is taken. (The developer guide allows Assign "inside Choice state rules" and
                    // at the state's top level without saying which wins; this is LocalStack's reading,
                    // localstack-core/…/state_choice/state_choice.py and choice_rule.py.)
                    data = limitSize(`output of "${name}"`, await finish(taken ?? state, {}, data));
                    name = next;
                    continue;
                }
                case "Wait": {
                    addEvents(2);
                    const seconds = await evaluate(state.Seconds, states());
                    await run.options.wait?.(seconds);
                    data = await finish(state, {}, data);
                    break;
                }
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
    } finally {
        // The scope ends with its Map iteration or Parallel branch: its variables are gone.
        for (const size of sizes.values()) run.variableBytes -= size;
    }
}

/** Runs the definition to its end; returns the final output and the history size, or throws ExecutionFailed. */
export async function runJsonataExecution(definition: Json, input: Json, task: JsonataTask, context: JsonataContext, options: JsonataRunOptions = {}): Promise<JsonataExecution> {
    if (definition.QueryLanguage !== "JSONata") throw new Error("not a JSONata state machine");
    validateJsonataDefinition(definition);
    const stateMachineArn = context.stateMachineArn ?? "arn:aws:states:us-east-1:123456789012:stateMachine:machine";
    const executionArn = context.executionArn ?? `${stateMachineArn.replace(":stateMachine:", ":execution:")}:execution`;
    const run: Run = {
        task,
        options,
        events: 2, // ExecutionStarted, and ExecutionSucceeded or ExecutionFailed
        steps: 0,
        variableBytes: 0,
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
