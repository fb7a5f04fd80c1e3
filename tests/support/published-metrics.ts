import * as fs from "node:fs";
import * as path from "node:path";
import { TOKEN_METRICS } from "../../functions/shared/gmail-oauth";
import { resolveTokenMonitorSettings, tokenMonitorDefinition } from "../../components/token-monitor";

/**
 * Metric names the system publishes: read from the functions' source (addMetric, metric points,
 * metric maps, TOKEN_METRICS references) and from the state machines that call PutMetricData.
 */
export function publishedMetrics(): Set<string> {
    const root = path.resolve(__dirname, "..", "..", "functions");
    const names = new Set<string>();
    const walk = (dir: string) => fs.readdirSync(dir, { withFileTypes: true }).forEach((entry) => {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) return walk(file);
        const source = fs.readFileSync(file, "utf8");
        for (const pattern of [/addMetric\(\s*"(\w+)"/g, /countMetric\(\s*\w+,\s*"(\w+)"/g, /metric\(\s*"(\w+)"/g, /name: "(\w+)", value/g, /\b\w+: "(Outbound\w+)"/g, /\? "(\w+)" : "(\w+)"/g]) {
            for (const match of source.matchAll(pattern)) match.slice(1).filter(Boolean).forEach((name) => names.add(name));
        }
        for (const match of source.matchAll(/addMetric\(\s*TOKEN_METRICS\.(\w+)/g)) names.add(TOKEN_METRICS[match[1] as keyof typeof TOKEN_METRICS]);
    });
    walk(root);
    const monitor = tokenMonitorDefinition(resolveTokenMonitorSettings({ env: "test", account: "you@gmail.com" }), "aws") as { States: Record<string, { Arguments?: { MetricData?: { MetricName: string }[] } }> };
    Object.values(monitor.States).forEach((state) => state.Arguments?.MetricData?.forEach((datum) => names.add(datum.MetricName)));
    return names;
}
