/** Every JSON log line any test captured, for checks across handlers (saved-query fields). */
export const capturedLogLines: Record<string, unknown>[] = [];

/**
 * Runs `fn` while capturing what it writes to stdout and stderr (Powertools writes logs and EMF
 * metrics there; errors to stderr), returning the JSON lines parsed. Non-JSON lines stay strings.
 */
export async function captureOutput<T>(fn: () => Promise<T>): Promise<{ result: T; lines: unknown[] }> {
    const chunks: string[] = [];
    const streams = [process.stdout, process.stderr];
    const originals = streams.map((stream) => stream.write);
    for (const stream of streams) {
        stream.write = ((chunk: string | Uint8Array) => {
            chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
            return true;
        }) as typeof stream.write;
    }
    try {
        const result = await fn();
        const lines = chunks.join("").split("\n").filter(Boolean).map((line) => {
            try {
                return JSON.parse(line);
            } catch {
                return line;
            }
        });
        capturedLogLines.push(...lines.filter((line): line is Record<string, unknown> => typeof line === "object" && line !== null && "level" in line));
        return { result, lines };
    } finally {
        streams.forEach((stream, i) => (stream.write = originals[i]));
    }
}

/** Metric names and values from EMF lines (`_aws.CloudWatchMetrics`), summed per name. */
export function emittedMetrics(lines: unknown[]): Record<string, number> {
    const totals: Record<string, number> = {};
    for (const line of lines) {
        const emf = line as { _aws?: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } } & Record<string, unknown>;
        for (const directive of emf._aws?.CloudWatchMetrics ?? []) {
            for (const { Name } of directive.Metrics) {
                const value = emf[Name];
                totals[Name] = (totals[Name] ?? 0) + (Array.isArray(value) ? value.reduce((a: number, b: number) => a + b, 0) : Number(value));
            }
        }
    }
    return totals;
}

export interface MetricPoint {
    name: string;
    value: number;
    dimensions: Record<string, string>;
}

/** Each EMF metric value with exactly the dimensions CloudWatch files it under. */
export function metricPoints(lines: unknown[]): MetricPoint[] {
    return lines.flatMap((line) => {
        const emf = line as { _aws?: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Record<string, unknown>;
        return (emf._aws?.CloudWatchMetrics ?? []).flatMap((directive) => directive.Metrics.map(({ Name }) => ({
            name: Name,
            value: Number(emf[Name]),
            dimensions: Object.fromEntries((directive.Dimensions[0] ?? []).map((key) => [key, String(emf[key])])),
        })));
    });
}
