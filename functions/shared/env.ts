/** Reads a required environment variable at cold start, failing loudly when the stack did not set it. */
export function requireEnv(name: string): string {
    const value = process.env[name];
    if (!value) {
        throw new Error(`Environment variable ${name} is not set; the component that creates this function sets it.`);
    }
    return value;
}
