// Lambda functions as deployed: each function's `index.js` from the plan (the esbuild bundle,
// `@aws-sdk/*` external) is evaluated as a fresh CommonJS module per execution environment, with
// the environment Lambda would give it. Concurrent invocations run in different environments (a
// module instance each, so per-instance state such as pacing or caches is per instance, as in
// Lambda); an environment is reused only when idle, and replaced after a crash or timeout.
import { randomUUID } from "node:crypto";
import { Console } from "node:console";
import { createRequire } from "node:module";
import * as path from "node:path";
import { Writable } from "node:stream";
import type { VirtualClock } from "./clock";
import type { FunctionSpec } from "./plan";
import { InvocationScope, invocationScope } from "./scope";
import type { VirtualTimers } from "./timers";

const ROOT = path.resolve(__dirname, "..", "..", "..");
/** Resolves `@aws-sdk/*` to this repository's node_modules, so aws-sdk-client-mock's stubs intercept it. */
const repoRequire = createRequire(path.join(ROOT, "package.json"));

export type LogLine = Record<string, unknown> | string;

export interface RuntimeSettings {
    clock: VirtualClock;
    region: string;
    /** Added to (and overriding) the function's synthesized variables. */
    envOverrides?: Record<string, string>;
    onLog?: (functionName: string, line: LogLine) => void;
    /**
     * Virtual timers (sim/timers.ts): the handlers' `setTimeout` and the function's timeout run on
     * the simulated clock. Without them both are real timers.
     */
    timers?: VirtualTimers;
}

export type InvokeOutcome =
    | { kind: "ok"; value: unknown }
    | { kind: "error"; error: unknown }
    | { kind: "crash" }
    | { kind: "timeout" }
    | { kind: "throttled" };

/** A writable that hands over complete lines. */
function lineSink(onLine: (line: string) => void): Writable {
    let pending = "";
    return new Writable({
        write(chunk, _encoding, callback) {
            pending += chunk.toString();
            const lines = pending.split("\n");
            pending = lines.pop() ?? "";
            lines.filter(Boolean).forEach(onLine);
            callback();
        },
    });
}

/** Node's http/https for the function's own HTTP clients: a crashed invocation's requests never reach the network. */
function gatedHttp(module: typeof import("node:http")): typeof import("node:http") {
    const gate = <F extends (...args: any[]) => any>(original: F): F => (function (this: unknown, ...args: unknown[]) {
        const scope = invocationScope.getStore();
        const request = original.apply(this, args);
        if (scope && !scope.admit()) request.destroy(new Error("execution environment crashed"));
        return request;
    }) as F;
    return Object.assign(Object.create(Object.getPrototypeOf(module)), module, { request: gate(module.request), get: gate(module.get) });
}

type ModuleFunction = (...shims: unknown[]) => void;
/**
 * Each bundle compiled once per process: every execution environment still runs the module's code
 * afresh (its own module scope, as a new Lambda environment does); only V8's parse is shared.
 */
const compiled = new Map<string, ModuleFunction>();

interface Instance {
    id: number;
    exports: { handler: (event: unknown, context: unknown) => Promise<unknown> };
    busy: boolean;
    retired: boolean;
}

export class SimFunction {
    public concurrent = 0;
    public peakConcurrency = 0;
    public invocations = 0;
    public coldStarts = 0;
    public crashes = 0;
    public throttles = 0;
    private readonly instances: Instance[] = [];
    public readonly environment: Record<string, string>;

    constructor(public readonly spec: FunctionSpec, private readonly settings: RuntimeSettings) {
        // What Lambda sets for every function ("Defined runtime environment variables"), then the
        // function's own variables, then the harness's overrides (endpoints, scaled pacing).
        this.environment = {
            AWS_LAMBDA_FUNCTION_NAME: spec.name,
            AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize),
            AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
            AWS_LAMBDA_LOG_STREAM_NAME: "2026/01/01/[$LATEST]sim",
            AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
            AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
            AWS_REGION: settings.region,
            AWS_DEFAULT_REGION: settings.region,
            LAMBDA_TASK_ROOT: "/var/task",
            LAMBDA_RUNTIME_DIR: "/var/runtime",
            _HANDLER: "index.handler",
            TZ: ":UTC",
            LANG: "en_US.UTF-8",
            NODE_OPTIONS: "",
            // X-Ray is not modelled: no daemon to send segments to.
            POWERTOOLS_TRACE_ENABLED: "false",
            ...spec.environment,
            ...(settings.envOverrides ?? {}),
        };
    }

    public get name(): string {
        return this.spec.name;
    }

    private load(): Instance {
        const name = this.spec.name;
        const onLine = (raw: string) => {
            let line: LogLine = raw;
            try {
                line = JSON.parse(raw);
            } catch {
                // plain text stays text
            }
            this.settings.onLog?.(name, line);
        };
        const stdout = lineSink(onLine);
        const stderr = lineSink(onLine);
        const env = { ...this.environment };
        const processShim = Object.create(process, {
            env: { value: env, enumerable: true, writable: true },
            stdout: { value: stdout },
            stderr: { value: stderr },
        });
        const consoleShim = new Console({ stdout, stderr });
        const requireShim = Object.assign((id: string) => {
            if (id === "http" || id === "node:http" || id === "https" || id === "node:https") return gatedHttp(repoRequire(id));
            return repoRequire(id);
        }, { resolve: repoRequire.resolve, cache: repoRequire.cache });
        const module = { exports: {} as Instance["exports"] };
        let evaluate = compiled.get(this.spec.code);
        if (!evaluate) {
            evaluate = new Function("require", "module", "exports", "process", "console", "Date", "__filename", "__dirname", this.spec.code) as ModuleFunction;
            if (compiled.size >= 64) compiled.clear();
            compiled.set(this.spec.code, evaluate);
        }
        evaluate(requireShim, module, module.exports, processShim, consoleShim, this.settings.clock.dateClass(), "/var/task/index.js", "/var/task");
        if (typeof module.exports.handler !== "function") throw new Error(`${name}: index.js exports no handler`);
        this.coldStarts += 1;
        const instance: Instance = { id: this.coldStarts, exports: module.exports, busy: false, retired: false };
        this.instances.push(instance);
        return instance;
    }

    /** Instances currently alive (for checks of per-instance behaviour). */
    public get liveInstances(): number {
        return this.instances.filter((i) => !i.retired).length;
    }

    /**
     * Invokes the handler as Lambda does: a throttle when reserved concurrency is used up (if the
     * plan reserves any); otherwise an idle environment or a new one. `crashAtCall` kills the
     * environment when the invocation starts its n-th external call (as an out-of-memory kill
     * would): that call and all later ones never happen.
     */
    public async invoke(event: unknown, options: { crashAtCall?: number } = {}): Promise<InvokeOutcome> {
        if (this.spec.reservedConcurrency !== undefined && this.concurrent >= this.spec.reservedConcurrency) {
            this.throttles += 1;
            return { kind: "throttled" };
        }
        this.concurrent += 1;
        this.peakConcurrency = Math.max(this.peakConcurrency, this.concurrent);
        this.invocations += 1;
        let instance: Instance | undefined;
        let timer: NodeJS.Timeout | undefined;
        let scope: InvocationScope | undefined;
        const timers = this.settings.timers;
        try {
            instance = this.instances.find((i) => !i.busy && !i.retired);
            if (!instance) {
                try {
                    instance = this.load();
                } catch (error) {
                    return { kind: "error", error };
                }
            }
            instance.busy = true;
            let crashed!: () => void;
            const crash = new Promise<InvokeOutcome>((resolve) => (crashed = () => resolve({ kind: "crash" })));
            scope = new InvocationScope(this.name, options.crashAtCall, () => crashed());
            scope.timers = timers;
            timers?.enter(scope);
            const deadline = this.settings.clock.now() + 1000 * this.spec.timeoutSeconds;
            const context = {
                functionName: this.spec.name,
                functionVersion: "$LATEST",
                invokedFunctionArn: this.spec.arn,
                memoryLimitInMB: String(this.spec.memorySize),
                awsRequestId: randomUUID(),
                logGroupName: `/aws/lambda/${this.spec.name}`,
                logStreamName: "2026/01/01/[$LATEST]sim",
                callbackWaitsForEmptyEventLoop: true,
                getRemainingTimeInMillis: () => Math.max(0, deadline - this.settings.clock.now()),
            };
            const handler = instance.exports.handler;
            const run = invocationScope.run(scope, () => Promise.resolve().then(() => handler(event, context)))
                .then((value): InvokeOutcome => ({ kind: "ok", value }), (error): InvokeOutcome => ({ kind: "error", error }));
            // On virtual timers the timeout is a time of the simulated clock, as the deadline above is.
            const timeout = new Promise<InvokeOutcome>((resolve) => {
                const expire = () => resolve({ kind: "timeout" });
                timer = timers ? timers.setTimeout(expire, 1000 * this.spec.timeoutSeconds) : setTimeout(expire, 1000 * this.spec.timeoutSeconds);
            });
            const outcome = await Promise.race([run, crash, timeout]);
            if (outcome.kind === "crash" || outcome.kind === "timeout") {
                // The environment is gone: nothing it still had under way may reach a service.
                scope.crashed = true;
                instance.retired = true;
                this.crashes += 1;
            }
            return outcome;
        } finally {
            if (!timers?.clear(timer)) clearTimeout(timer);
            if (scope) timers?.leave(scope);
            if (instance) instance.busy = false;
            this.concurrent -= 1;
        }
    }
}
