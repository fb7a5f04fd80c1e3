/**
 * What the JSON log lines any test captured hold, for checks across handlers (saved-query fields):
 * per `service` (as String() gives it), every field path in them as Logs Insights names fields
 * (`error.message`, array items by index). Paths rather than lines: the system tests log hundreds
 * of thousands of lines, and the check only asks whether some line of a service has a field.
 */
export const capturedLogFields = new Map<string, Set<string>>();

/** Every metric series any test's EMF output published (aggregates included), for checks across handlers (alarms, runbook queries). */
export const capturedMetricSeries: MetricSeries[] = [];

/** Adds every field path of a JSON value to `into`: exactly the fields `fieldValue` (hooks.ts) finds defined. */
export function addFieldPaths(value: unknown, into: Set<string>, prefix?: string): void {
    if (value === null || typeof value !== "object") return;
    for (const [key, item] of Object.entries(value)) {
        // A key with a dot in it cannot be named in a query (`a.b` is the b of a).
        if (item === undefined || key.includes(".")) continue;
        const path = prefix === undefined ? key : `${prefix}.${key}`;
        into.add(path);
        addFieldPaths(item, into, path);
    }
}

/** Records JSON log lines (objects with a `level`, as Powertools writes them) for {@link capturedLogFields}. */
export function recordLogLines(lines: unknown[]): void {
    for (const line of lines) {
        if (typeof line !== "object" || line === null || !("level" in line)) continue;
        const service = String((line as Record<string, unknown>).service);
        let paths = capturedLogFields.get(service);
        if (!paths) capturedLogFields.set(service, (paths = new Set()));
        addFieldPaths(line, paths);
    }
}

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
        recordLogLines(lines);
        capturedMetricSeries.push(...metricSeries(lines));
        return { result, lines };
    } finally {
        streams.forEach((stream, i) => (stream.write = originals[i]));
    }
}

type EmfLine = { _aws?: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] } } & Record<string, unknown>;

/**
 * The dimensionless copy functions/shared/metrics.ts publishes next to each series (one empty
 * dimension set, nothing else): left out of `emittedMetrics` and `metricPoints`, which count what
 * happened once; `metricSeries` has it.
 */
function isAggregate(directive: { Dimensions: string[][] }): boolean {
    return directive.Dimensions.length > 0 && directive.Dimensions.every((set) => set.length === 0);
}

/** An EMF line that only carries dimensionless copies (see `isAggregate`). */
export function isAggregateLine(line: unknown): boolean {
    const directives = (line as EmfLine)._aws?.CloudWatchMetrics ?? [];
    return directives.length > 0 && directives.every(isAggregate);
}

/** Metric names and values from EMF lines (`_aws.CloudWatchMetrics`), summed per name (dimensionless copies left out). */
export function emittedMetrics(lines: unknown[]): Record<string, number> {
    const totals: Record<string, number> = {};
    for (const line of lines) {
        const emf = line as EmfLine;
        for (const directive of (emf._aws?.CloudWatchMetrics ?? []).filter((d) => !isAggregate(d))) {
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

export interface MetricSeries extends MetricPoint {
    namespace: string;
}

/**
 * Every series each EMF value lands in: one per dimension set of its directive, with exactly those
 * dimensions (CloudWatch matches dimensions exactly; an empty set is the dimensionless metric).
 */
export function metricSeries(lines: unknown[]): MetricSeries[] {
    return lines.flatMap((line) => {
        const emf = line as EmfLine;
        return (emf._aws?.CloudWatchMetrics ?? []).flatMap((directive) => directive.Metrics.flatMap(({ Name }) => (directive.Dimensions.length > 0 ? directive.Dimensions : [[]]).map((set) => ({
            namespace: directive.Namespace,
            name: Name,
            // Powertools writes a metric added several times before a flush as an array of values.
            value: ([] as unknown[]).concat(emf[Name]).reduce((sum: number, v) => sum + Number(v), 0),
            dimensions: Object.fromEntries(set.map((key) => [key, String(emf[key])])),
        }))));
    });
}

/** Each EMF metric value with exactly the dimensions CloudWatch files it under (dimensionless copies left out). */
export function metricPoints(lines: unknown[]): MetricPoint[] {
    return lines.flatMap((line) => {
        const emf = line as EmfLine;
        return (emf._aws?.CloudWatchMetrics ?? []).filter((d) => !isAggregate(d)).flatMap((directive) => directive.Metrics.map(({ Name }) => ({
            name: Name,
            value: Number(emf[Name]),
            dimensions: Object.fromEntries((directive.Dimensions[0] ?? []).map((key) => [key, String(emf[key])])),
        })));
    });
}
