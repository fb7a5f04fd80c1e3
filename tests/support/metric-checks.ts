// Alarms and runbook queries against the metrics the functions really publish. CloudWatch matches a
// metric by namespace, name and the exact set of dimensions ("Dimensions", CloudWatch User Guide:
// "you must specify the same dimensions that were used when the metrics were created"), so an alarm
// or a `get-metric-statistics` call with other dimensions than the publisher's finds nothing.
import { alarmSpecs } from "../../components/alarms";
import type { AlarmSpec, MetricRef } from "../../components/alarm-specs";
import { resolveTokenMonitorSettings, tokenAlarmSpecs, tokenMonitorDefinition } from "../../components/token-monitor";
import type { MetricSeries } from "./output";

/** Dimensions whose values are deployment data (which Gmail account), not code: matched by name only. */
const DATA_DIMENSIONS = new Set(["account"]);

/**
 * Metrics read per Gmail account only (`--dimensions Name=account,Value=<gmail>`, docs/OPERATIONS.md
 * "Runbook names"): the token monitor publishes no dimensionless copy, which would be one more custom
 * metric ($0.30 a month) published every 5 minutes whether mail flows or not (issue #20).
 */
const PER_ACCOUNT_ONLY = new Set(["TokenSecondsUntilExpiration"]);

/** Every alarm of a stack with every function, over our functions' namespace (AWS/* and applications' metrics left out). */
export function ownMetricAlarms(env = "test"): AlarmSpec[] {
    const functions = Object.fromEntries(["router", "gmail-forwarder", "bouncer", "feedback-worker", "suppression-mirror", "smtp-credential-manager"].map((label) => [label, `fn-${label}`]));
    const token = resolveTokenMonitorSettings({ env, account: "you@gmail.com" });
    return [...alarmSpecs({ env, functions }), ...tokenAlarmSpecs(token, "arn:aws:states:us-east-1:123456789012:stateMachine:m")]
        .filter((spec) => [spec.metric, ...(spec.metrics ?? [])].some((m) => m?.namespace === `SESMail/${env}`));
}

/** What the token monitors' state machines publish with PutMetricData (not seen by handler tests). */
export function stateMachineSeries(env = "test"): MetricSeries[] {
    const definition = tokenMonitorDefinition(resolveTokenMonitorSettings({ env, account: "you@gmail.com" }), "aws") as { States: Record<string, { Arguments?: { Namespace?: string; MetricData?: { MetricName: string; Dimensions?: { Name: string; Value: string }[] }[] } }> };
    return Object.values(definition.States).flatMap((state) => (state.Arguments?.MetricData ?? []).map((datum) => ({
        namespace: state.Arguments!.Namespace!, name: datum.MetricName, value: Number.NaN,
        dimensions: Object.fromEntries((datum.Dimensions ?? []).map((d) => [d.Name, d.Value])),
    })));
}

export function matches(metric: Pick<MetricRef, "metricName" | "dimensions">, series: Pick<MetricSeries, "name" | "dimensions">): boolean {
    const want = Object.entries(metric.dimensions).map(([key, value]) => [key, String(value)]);
    return series.name === metric.metricName
        && Object.keys(series.dimensions).length === want.length
        && want.every(([key, value]) => key in series.dimensions && (DATA_DIMENSIONS.has(key) || series.dimensions[key] === value));
}

const isEmpty = (dimensions: Record<string, string>) => Object.keys(dimensions).length === 0;
const total = (series: MetricSeries[]) => series.reduce((sum, s) => sum + s.value, 0);

/**
 * Problems, empty when:
 * - every metric of every alarm on our namespace is a series some handler test published, with
 *   exactly the alarm's dimensions (or a state machine publishes it);
 * - every metric name published can be read without dimensions, as the runbooks query it
 *   (`aws cloudwatch get-metric-statistics --namespace SESMail/<env> --metric-name <name>`), and that
 *   dimensionless series counts each event once: its total equals the `service`-only series' total
 *   when there is one, else the total of the per-dimension series.
 */
export function metricProblems(captured: MetricSeries[], env = "test"): string[] {
    const problems: string[] = [];
    const published = [...captured, ...stateMachineSeries(env)];
    for (const spec of ownMetricAlarms(env)) {
        for (const metric of [spec.metric, ...(spec.metrics ?? [])].filter((m): m is MetricRef => m?.namespace === `SESMail/${env}`)) {
            if (!published.some((series) => matches(metric, series))) {
                const seen = [...new Set(published.filter((s) => s.name === metric.metricName).map((s) => JSON.stringify(s.dimensions)))];
                problems.push(`alarm ${spec.name}: ${metric.metricName} ${JSON.stringify(metric.dimensions)} was never published (seen: ${seen.join(" ") || "nothing"})`);
            }
        }
    }
    for (const name of [...new Set(published.map((s) => s.name))].sort()) {
        const all = published.filter((s) => s.name === name);
        if (PER_ACCOUNT_ONLY.has(name)) {
            if (!all.every((s) => Object.keys(s.dimensions).join() === "account")) problems.push(`${name}: published with other dimensions than account alone`);
            continue;
        }
        if (!all.some((s) => isEmpty(s.dimensions))) {
            problems.push(`runbook query get-metric-statistics --metric-name ${name} (no dimensions): never published without dimensions`);
            continue;
        }
        const observed = captured.filter((s) => s.name === name);
        const aggregate = observed.filter((s) => isEmpty(s.dimensions));
        const serviceOnly = observed.filter((s) => Object.keys(s.dimensions).join() === "service");
        const baseline = serviceOnly.length > 0 ? serviceOnly : observed.filter((s) => !isEmpty(s.dimensions));
        if (baseline.length > 0 && total(aggregate) !== total(baseline)) {
            problems.push(`${name}: the dimensionless series totals ${total(aggregate)}, the per-dimension series ${total(baseline)}: an event counted twice or not at all`);
        }
    }
    return problems;
}
