// Stack traces while a program runs under Pulumi mocks. The Pulumi SDK captures a stack trace for
// every promise it makes (`debuggablePromise`, for its leak report at exit) and a full one for every
// resource (`Resource.callsites`, the source position it sends the engine); with tsx's source maps on,
// each is also mapped frame by frame. That was three quarters of a synthesis's time (about 1.8 s of
// 2.3 s for the test stack), and a fifth of the whole suite's. Neither is read under mocks: the leak
// report needs the real engine, and the mock monitor ignores source positions.
import * as pulumi from "@pulumi/pulumi";

type Debuggable = { debuggablePromise<T>(promise: Promise<T>, ctx: unknown): Promise<T> };
type Callsites = { callsites(): unknown[] };

// Both are called through their module or class at every use (`debuggable_1.debuggablePromise(...)`,
// `Resource.callsites()` in the SDK's compiled code), so replacing them here reaches every caller.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as Debuggable;
const resource = pulumi.Resource as unknown as Callsites;

let active = 0;
let originals: { debuggablePromise: Debuggable["debuggablePromise"]; callsites: Callsites["callsites"] } | undefined;

/**
 * Runs `fn` with the Pulumi SDK's bookkeeping stacks left out: its promises carry a bare "Error"
 * (captured with no frames) and its resources no source position. Every other error's stack is
 * captured and printed as usual. The SDK is as it was once `fn` settles (calls may nest).
 */
export async function withoutPulumiStackTraces<T>(fn: () => Promise<T>): Promise<T> {
    if (active++ === 0) {
        const saved = { debuggablePromise: debuggable.debuggablePromise, callsites: resource.callsites };
        originals = saved;
        debuggable.debuggablePromise = <P>(promise: Promise<P>, ctx: unknown): Promise<P> => {
            const limit = Error.stackTraceLimit;
            Error.stackTraceLimit = 0;
            try {
                return saved.debuggablePromise(promise, ctx);
            } finally {
                Error.stackTraceLimit = limit;
            }
        };
        resource.callsites = () => [];
    }
    try {
        return await fn();
    } finally {
        if (--active === 0 && originals) {
            debuggable.debuggablePromise = originals.debuggablePromise;
            resource.callsites = originals.callsites;
            originals = undefined;
        }
    }
}
