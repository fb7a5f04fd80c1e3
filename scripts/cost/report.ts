// `npm run cost` and the bench's cost suite: the fixed monthly cost of the test and prod stacks
// (their plans), the variable cost per 1,000 inbound mails and per 1,000 feedback notifications
// (counted requests of the simulations), printed as tables with the goals beside the figures.
import { runStack } from "../../tests/support/stack";
import { fixedCost, total, type CostLine } from "./fixed";
import { PRICES, PRICES_READ } from "./prices";
import { DEFAULT_INBOUND, FEEDBACK_MIX, INBOUND_PATHS, measureFeedback, measureInbound, mixCost, type FeedbackKind, type InboundPath, type Measured } from "./variable";

/** Issue #20's goals. */
export const GOALS = {
    /** 30% of SES's receiving price ($0.10 per 1,000). */
    per1000InboundUsd: 0.3 * PRICES.sesReceiving.usd * 1000,
    per1000FeedbackUsd: 0.01,
    fixedTestUsdMonth: 8,
} as const;

/** The inbound figure quoted against the goal: a forwarded mail (the system's main path; SendBounce is SES's own outbound price). */
export const HEADLINE_PATH: InboundPath = "forward";

export interface CostReport {
    fixed: Record<"test" | "prod", CostLine[]>;
    inbound: Record<InboundPath, Measured>;
    feedback: Record<FeedbackKind, Measured>;
}

/** A mix's lines: each kind's lines weighted by its share. */
export function mixLines<K extends string>(measured: Record<K, Measured>, weights: Record<K, number>): CostLine[] {
    const share = Object.values<number>(weights).reduce((a, b) => a + b, 0);
    const byItem = new Map<string, CostLine>();
    for (const kind of Object.keys(weights) as K[]) {
        for (const l of measured[kind].lines) {
            const w = weights[kind] / share;
            const seen = byItem.get(l.item);
            byItem.set(l.item, seen ? { ...seen, quantity: seen.quantity + l.quantity * w, monthlyUsd: seen.monthlyUsd + l.monthlyUsd * w } : { ...l, quantity: l.quantity * w, monthlyUsd: l.monthlyUsd * w });
        }
    }
    return [...byItem.values()];
}

export async function costReport(): Promise<CostReport> {
    const test = await runStack("test");
    const prod = await runStack("prod");
    return {
        fixed: { test: fixedCost(test.plan.resources), prod: fixedCost(prod.plan.resources) },
        inbound: await measureInbound(test, DEFAULT_INBOUND),
        feedback: await measureFeedback(test),
    };
}

/** The numbers bench-results.json carries. */
export function costResults(report: CostReport): Record<string, number> {
    const results: Record<string, number> = {
        cost_fixed_usd_month_test: total(report.fixed.test),
        cost_fixed_usd_month_prod: total(report.fixed.prod),
        cost_per_1000_inbound_usd: report.inbound[HEADLINE_PATH].usd * 1000,
        cost_per_1000_feedback_usd: mixCost(report.feedback, FEEDBACK_MIX) * 1000,
    };
    for (const [path, m] of Object.entries(report.inbound)) {
        results[`cost_per_1000_inbound_usd.${path}`] = m.usd * 1000;
        for (const [service, n] of Object.entries(m.services)) results[`requests_per_mail.${path}.${service}`] = n;
        for (const [fn, n] of Object.entries(m.ddbRoundTrips)) results[`ddb_sequential_round_trips.${path}.${fn}`] = n;
    }
    for (const [kind, m] of Object.entries(report.feedback)) {
        results[`cost_per_1000_feedback_usd.${kind}`] = m.usd * 1000;
        for (const [service, n] of Object.entries(m.services)) results[`requests_per_notification.${kind}.${service}`] = n;
        for (const [fn, n] of Object.entries(m.ddbRoundTrips)) results[`ddb_sequential_round_trips.feedback_${kind}.${fn}`] = n;
    }
    results.forwarder_ssm_calls_per_mail = report.inbound.forward.requests["SSM GetParameter"] ?? 0;
    results.custom_metrics_while_mail_flows = new Set([...Object.values(report.inbound), ...Object.values(report.feedback)].flatMap((m) => m.customMetrics)).size;
    return results;
}

const usd = (n: number) => (n >= 1 ? `$${n.toFixed(2)}` : `$${n.toFixed(4)}`);
const qty = (n: number) => (Number.isInteger(n) ? String(n) : n >= 100 ? n.toFixed(0) : n.toPrecision(3));

function table(rows: string[][]): string {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")).join("\n");
}

/** The biggest lines, for "what dominates". */
function dominant(lines: CostLine[], scale = 1): string {
    const sorted = [...lines].sort((a, b) => b.monthlyUsd - a.monthlyUsd).slice(0, 3);
    const sum = lines.reduce((s, l) => s + l.monthlyUsd, 0);
    return sorted.map((l) => `${l.item} ${usd(l.monthlyUsd * scale)} (${Math.round((100 * l.monthlyUsd) / sum)}%)`).join("; ");
}

const verdict = (figure: number, goal: number) => (figure <= goal ? "met" : "MISSED");

export function renderReport(report: CostReport): string {
    const out: string[] = [];
    const results = costResults(report);
    for (const stack of ["test", "prod"] as const) {
        const lines = report.fixed[stack];
        out.push(`Fixed monthly cost, ${stack} stack (no mail at all):`);
        out.push(table([["line", "quantity", "unit price", "per month", "assumption"],
            ...lines.map((l) => [l.item, `${qty(l.quantity)} ${l.unit}`, `$${l.unitUsd.toPrecision(3)}`, usd(l.monthlyUsd), l.assumption ?? ""]),
            ["total", "", "", usd(total(lines)), ""]]));
        out.push("");
    }
    const feedbackMix = mixCost(report.feedback, FEEDBACK_MIX);
    out.push("Variable cost per 1,000 (counted requests of the simulations; SES's own receiving price is $0.10/1,000):");
    const trips = (m: Measured) => Object.entries(m.ddbRoundTrips).map(([fn, n]) => `${fn} ${n}`).join(", ");
    out.push(table([["flow", "per 1,000", "invocations", "GB-s", "log bytes", "DynamoDB round trips in a row", "requests per item by service"],
        ...INBOUND_PATHS.map((p) => { const m = report.inbound[p]; return [`inbound ${p}`, usd(m.usd * 1000), qty(m.invocations), m.gbSeconds.toFixed(4), qty(m.logBytes), trips(m), Object.entries(m.services).map(([s, n]) => `${s} ${qty(n)}`).join(", ")]; }),
        ...Object.entries(report.feedback).map(([k, m]) => [`feedback ${k}`, usd(m.usd * 1000), qty(m.invocations), m.gbSeconds.toFixed(4), qty(m.logBytes), trips(m), Object.entries(m.services).map(([s, n]) => `${s} ${qty(n)}`).join(", ")]),
        ["feedback mix (bench)", usd(feedbackMix * 1000), "", "", "", "", Object.entries(FEEDBACK_MIX).map(([k, w]) => `${k} ${w}/20`).join(", ")]]));
    out.push("");
    out.push(`Lines of a forwarded mail (per 1,000):`);
    out.push(table([["line", "quantity per mail", "per 1,000"], ...report.inbound.forward.lines.map((l) => [l.item, `${qty(l.quantity)} ${l.unit}`, usd(l.monthlyUsd * 1000)])]));
    out.push("");
    out.push("Goals (issue #20):");
    const rows = [
        ["idle fixed, test stack", usd(results.cost_fixed_usd_month_test), `≤ ${usd(GOALS.fixedTestUsdMonth)}`, verdict(results.cost_fixed_usd_month_test, GOALS.fixedTestUsdMonth), dominant(report.fixed.test)],
        [`per 1,000 inbound (${HEADLINE_PATH})`, usd(results.cost_per_1000_inbound_usd), `≤ ${usd(GOALS.per1000InboundUsd)}`, verdict(results.cost_per_1000_inbound_usd, GOALS.per1000InboundUsd), dominant(report.inbound[HEADLINE_PATH].lines, 1000)],
        ["per 1,000 feedback (mix)", usd(results.cost_per_1000_feedback_usd), `≤ ${usd(GOALS.per1000FeedbackUsd)}`, verdict(results.cost_per_1000_feedback_usd, GOALS.per1000FeedbackUsd), dominant(mixLines(report.feedback, FEEDBACK_MIX), 1000)],
    ];
    out.push(table([["figure", "measured", "goal", "", "dominated by"], ...rows]));
    out.push("");
    out.push(`Custom metrics the functions emit while mail flows (each $0.30/month for every hour it is published): ${results.custom_metrics_while_mail_flows}.`);
    out.push(`Prices: US East, list prices read ${PRICES_READ}, free tiers not subtracted (except the 3 free dashboards); sources in scripts/cost/prices.ts.`);
    return out.join("\n");
}
