// What CI makes of `npm audit --omit=dev --json`: the advisories of what ships (bundled into the
// Lambdas, or loaded by the components), failing on high or critical ones. An advisory endpoint that
// cannot be reached (CI without internet, a registry mirror without the audit API) is said in one
// line and tolerated; anything else npm could not do (no lockfile, output that is not its report)
// fails. Pure: scripts/audit.ts runs npm.

/** Severities that fail CI; moderate and below are listed only. */
export const FAILING_SEVERITIES = ["high", "critical"] as const;
const SEVERITIES = ["info", "low", "moderate", "high", "critical"] as const;
type Severity = (typeof SEVERITIES)[number];

export interface AuditVerdict {
    /** 0: nothing high or critical, or the endpoint could not be asked. 1: fail CI. */
    exitCode: 0 | 1;
    lines: string[];
}

interface Advisory {
    title?: string;
    url?: string;
}

interface Vulnerability {
    name: string;
    severity: Severity;
    range?: string;
    /** Advisories (objects) or the names of the dependencies they come through (strings). */
    via?: (Advisory | string)[];
    fixAvailable?: boolean | { name: string; version: string };
}

interface AuditReport {
    vulnerabilities?: Record<string, Vulnerability>;
    metadata?: { vulnerabilities?: Partial<Record<Severity | "total", number>> };
    /** npm's own failure: `code` set when it could not build a report (ENOLOCK, …). */
    error?: { code?: string; summary?: string; detail?: string };
    /** Set when the advisory endpoint failed (connection refused, DNS, an HTTP error). */
    message?: string;
}

function describe(vulnerability: Vulnerability): string {
    const advisories = (vulnerability.via ?? []).filter((via): via is Advisory => typeof via === "object");
    const what = advisories.length > 0
        ? advisories.map((a) => [a.title, a.url].filter(Boolean).join(" ")).join("; ")
        : `through ${(vulnerability.via ?? []).join(", ")}`;
    const fix = vulnerability.fixAvailable === false ? "no fix available" : "fix available (npm audit fix)";
    return `  ${vulnerability.severity} ${vulnerability.name}${vulnerability.range ? ` ${vulnerability.range}` : ""}: ${what} (${fix})`;
}

/** The verdict on npm's stdout (`--json`). */
export function auditVerdict(stdout: string): AuditVerdict {
    let report: AuditReport;
    try {
        report = JSON.parse(stdout) as AuditReport;
    } catch {
        return { exitCode: 1, lines: [`::error::npm audit: no JSON report (${stdout.trim().slice(0, 200) || "empty output"})`] };
    }
    const counts = report.metadata?.vulnerabilities;
    if (counts) {
        const vulnerabilities = Object.values(report.vulnerabilities ?? {}).sort((a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity));
        const failing = vulnerabilities.filter((v) => (FAILING_SEVERITIES as readonly string[]).includes(v.severity));
        const summary = `npm audit --omit=dev: ${counts.total ?? vulnerabilities.length} vulnerable packages (${SEVERITIES.map((s) => `${counts[s] ?? 0} ${s}`).join(", ")})`;
        return {
            exitCode: failing.length > 0 ? 1 : 0,
            lines: [
                failing.length > 0 ? `::error::${summary}; ${FAILING_SEVERITIES.join(" and ")} fail CI` : summary,
                ...vulnerabilities.map(describe),
            ],
        };
    }
    if (report.error?.code) {
        return { exitCode: 1, lines: [`::error::npm audit failed: ${report.error.code} ${report.error.summary ?? ""}`.trim()] };
    }
    const reason = report.message ?? report.error?.summary ?? "no report";
    return { exitCode: 0, lines: [`::warning::npm audit: the advisory endpoint is unreachable or gave no report (${reason}); dependencies were not checked, CI continues.`] };
}
