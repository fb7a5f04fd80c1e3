// `npm run cost` and the bench's cost suite: the fixed monthly cost of the test and prod stacks
// (their plans), the variable cost per 1,000 inbound mails and per 1,000 feedback notifications
// (counted requests of the simulations), printed as tables with the goals beside the figures.
import { loadStackConfig, runStack } from "../../tests/support/stack";
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

/**
 * A stack's config at the end of its move onto one KMS key (docs/OPERATIONS.md, "One KMS key per
 * stack"): `ses-mail:kms.mode` migrating becomes shared; undefined when the stack is not migrating.
 */
export function afterKmsMigration(config: Record<string, string>): Record<string, string> | undefined {
    const kms = config["ses-mail:kms"] === undefined ? undefined : JSON.parse(config["ses-mail:kms"]);
    return kms?.mode === "migrating" ? { ...config, "ses-mail:kms": JSON.stringify({ ...kms, mode: "shared" }) } : undefined;
}

/** The stacks whose fixed cost is reported: each as configured, and at the end of its KMS migration. */
export type FixedStack = "test" | "prod" | "testShared" | "prodShared";

export interface CostReport {
    /**
     * Fixed monthly cost: `test` and `prod` as configured (Pulumi.<stack>.yaml), `testShared` and
     * `prodShared` with `kms.mode` shared (the same as configured when a stack is not migrating).
     */
    fixed: Record<FixedStack, CostLine[]>;
    /** Whether each stack is configured with `kms.mode` migrating (its shared figure then differs). */
    kmsMigrating: Record<"test" | "prod", boolean>;
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
    const after = { test: afterKmsMigration(loadStackConfig("test")), prod: afterKmsMigration(loadStackConfig("prod")) };
    const shared = async (stack: "test" | "prod", configured: CostLine[]) => {
        const config = after[stack];
        return config === undefined ? configured : fixedCost((await runStack(stack, config)).plan.resources);
    };
    const fixed = { test: fixedCost(test.plan.resources), prod: fixedCost(prod.plan.resources) };
    return {
        fixed: { ...fixed, testShared: await shared("test", fixed.test), prodShared: await shared("prod", fixed.prod) },
        kmsMigrating: { test: after.test !== undefined, prod: after.prod !== undefined },
        inbound: await measureInbound(test, DEFAULT_INBOUND),
        feedback: await measureFeedback(test),
    };
}

/** The numbers bench-results.json carries. */
export function costResults(report: CostReport): Record<string, number> {
    const results: Record<string, number> = {
        // The goal's figure: test at the end of its KMS migration (kms.mode shared), where a new stack starts.
        cost_fixed_usd_month_test: total(report.fixed.testShared),
        // As configured (kms.mode migrating: the components' old keys still declared, retained).
        cost_fixed_usd_month_test_migrating: total(report.fixed.test),
        cost_fixed_usd_month_prod: total(report.fixed.prod),
        cost_fixed_usd_month_prod_shared: total(report.fixed.prodShared),
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

/** Keys retained while a stack migrates onto one KMS key: the configured plan's keys beyond the shared plan's. */
const keysRetained = (configured: CostLine[], shared: CostLine[]) => {
    const keys = (lines: CostLine[]) => lines.find((l) => l.item.startsWith("KMS keys"))?.quantity ?? 0;
    return keys(configured) - keys(shared);
};

/** The titles of the fixed-cost tables: a migrating stack's configured figure is transitional. */
export function fixedTitle(stack: FixedStack, report: CostReport): string | undefined {
    const base = stack === "test" || stack === "testShared" ? "test" : "prod";
    const migrating = report.kmsMigrating[base];
    if (stack === base) return `${base}, as configured${migrating ? ` (kms.mode migrating: ${keysRetained(report.fixed[base], report.fixed[`${base}Shared`])} old keys still declared, retained; transitional)` : ""}`;
    return migrating ? `${base}, after the KMS migration (kms.mode shared)` : undefined;
}

export function renderReport(report: CostReport): string {
    const out: string[] = [];
    const results = costResults(report);
    for (const stack of ["test", "testShared", "prod", "prodShared"] as const) {
        const title = fixedTitle(stack, report);
        if (title === undefined) continue;
        const lines = report.fixed[stack];
        if (stack === "prodShared") {
            out.push(`Fixed monthly cost, ${title}: ${usd(total(lines))} (${usd(total(report.fixed.prod) - total(lines))} less than as configured).`);
            out.push("");
            continue;
        }
        out.push(`Fixed monthly cost, ${title} (no mail at all):`);
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
    const testMigrating = report.kmsMigrating.test;
    const rows = [
        [`idle fixed, test stack${testMigrating ? " after the KMS migration (kms.mode shared)" : ""}`, usd(results.cost_fixed_usd_month_test), `≤ ${usd(GOALS.fixedTestUsdMonth)}`, verdict(results.cost_fixed_usd_month_test, GOALS.fixedTestUsdMonth), dominant(report.fixed.testShared)],
        ...(testMigrating ? [["  as configured (kms.mode migrating, transitional)", usd(results.cost_fixed_usd_month_test_migrating), "", "", `${keysRetained(report.fixed.test, report.fixed.testShared)} old KMS keys retained ≥ 23 days, then scheduled for deletion`]] : []),
        [`per 1,000 inbound (${HEADLINE_PATH})`, usd(results.cost_per_1000_inbound_usd), `≤ ${usd(GOALS.per1000InboundUsd)}`, verdict(results.cost_per_1000_inbound_usd, GOALS.per1000InboundUsd), dominant(report.inbound[HEADLINE_PATH].lines, 1000)],
        ["per 1,000 feedback (mix)", usd(results.cost_per_1000_feedback_usd), `≤ ${usd(GOALS.per1000FeedbackUsd)}`, verdict(results.cost_per_1000_feedback_usd, GOALS.per1000FeedbackUsd), dominant(mixLines(report.feedback, FEEDBACK_MIX), 1000)],
    ];
    out.push(table([["figure", "measured", "goal", "", "dominated by"], ...rows]));
    if (testMigrating) {
        out.push("The goal is checked at the end of the test stack's KMS migration: while it runs kms.mode migrating, the components' old keys"
            + " stay declared (retained on delete) and cost $1 a key-month until, 23 days (SNS's longest retry) after the flip to shared, their"
            + " deletion is scheduled (docs/OPERATIONS.md, \"One KMS key per stack\"). A new stack starts with kms.mode shared directly.");
    }
    out.push("");
    out.push(`Custom metrics the functions emit while mail flows (each $0.30/month for every hour it is published): ${results.custom_metrics_while_mail_flows}.`);
    out.push(`Prices: US East, list prices read ${PRICES_READ}, free tiers not subtracted (except the 3 free dashboards); sources in scripts/cost/prices.ts.`);
    return out.join("\n");
}
