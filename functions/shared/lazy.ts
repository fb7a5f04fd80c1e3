// A module or client loaded on first use (a cold start that does not need it does not pay for it).

/**
 * `load` run on the first call and its result kept for every later call; a failed load is not kept,
 * so the next call tries again (a rejected `import()` kept forever would fail every invocation of a
 * warm instance until Lambda retires it).
 */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
    let pending: Promise<T> | undefined;
    return () => (pending ??= new Promise<T>((resolve) => resolve(load())).catch((error: unknown) => {
        pending = undefined;
        throw error;
    }));
}
