// Root hooks (loaded by .mocharc.json). After the whole run: every field a saved Logs Insights query
// relies on must appear in log lines the handlers really wrote during their tests.
import { savedQueries } from "../../components/saved-queries";
import { capturedLogLines } from "./output";

export const mochaHooks = {
    afterAll(): void {
        const partialRun = process.argv.some((arg) => arg === "--grep" || arg === "-g" || arg.startsWith("--grep="));
        const byService = new Map<string, Record<string, unknown>[]>();
        for (const line of capturedLogLines) {
            const service = String(line.service);
            byService.set(service, [...(byService.get(service) ?? []), line]);
        }
        const problems: string[] = [];
        for (const query of savedQueries()) {
            const sources = query.sources.filter((source) => source !== "pipe");
            const lines = sources.flatMap((source) => byService.get(source) ?? []);
            const missingSources = sources.filter((source) => !byService.has(source));
            if (missingSources.length > 0) {
                if (!partialRun) problems.push(`${query.id}: no handler test captured logs of ${missingSources.join(", ")}`);
                continue;
            }
            for (const field of query.fields) {
                if (!lines.some((line) => line[field] !== undefined)) {
                    problems.push(`${query.id}: no log line of ${sources.join("/")} has the field "${field}"`);
                }
            }
        }
        if (problems.length > 0) {
            throw new Error(`Saved queries use fields the functions do not log:\n  ${problems.join("\n  ")}`);
        }
    },
};
