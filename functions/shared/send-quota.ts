// The account's SES send quota (SESv2 GetAccount → SendQuota) as utilisation: one computation for
// the scheduled check (functions/send-quota) and `ses-mail quota`, so the alarm and the command agree.

/** SESv2 `GetAccount` → `SendQuota` ("SendQuota", SES API v2 reference). */
export interface SendQuota {
    /** Emails per rolling 24 hours; -1 means unlimited ("A value of -1 signifies an unlimited quota"). */
    max24HourSend: number;
    sentLast24Hours: number;
    /** Emails per second. */
    maxSendRate: number;
}

export type QuotaLevel = "ok" | "warning" | "critical";

export interface QuotaThresholds {
    /** @default 70 (the runbook's "plan an increase") */
    warningPercent: number;
    /** @default 90 */
    criticalPercent: number;
}

export const DEFAULT_QUOTA_THRESHOLDS: QuotaThresholds = { warningPercent: 70, criticalPercent: 90 };

export interface QuotaUtilisation extends SendQuota {
    unlimited: boolean;
    /** 100 × SentLast24Hours / Max24HourSend, two decimals; 0 when unlimited. May exceed 100 (SES counts a burst past the quota before refusing). */
    utilisationPercent: number;
    level: QuotaLevel;
    /** Emails still allowed in the rolling window (undefined when unlimited). */
    remaining?: number;
}

/** Metric names the check publishes in `SESMail/<env>` without dimensions (the runbook's queries read them so). */
export const QUOTA_METRICS = {
    utilisation: "SendQuotaUtilization",
    max24HourSend: "Max24HourSend",
    sentLast24Hours: "SentLast24Hours",
    maxSendRate: "MaxSendRate",
} as const;

/** The quota's utilisation and level (pure). Max24HourSend -1 is unlimited; 0 (no quota at all) counts as full. */
export function quotaUtilisation(quota: SendQuota, thresholds: QuotaThresholds = DEFAULT_QUOTA_THRESHOLDS): QuotaUtilisation {
    for (const [key, value] of Object.entries(quota)) {
        if (!Number.isFinite(value)) throw new Error(`SendQuota.${key} is not a number (${value}).`);
    }
    const unlimited = quota.max24HourSend === -1;
    const raw = unlimited ? 0 : quota.max24HourSend <= 0 ? 100 : (100 * quota.sentLast24Hours) / quota.max24HourSend;
    const utilisationPercent = Math.round(raw * 100) / 100;
    const level: QuotaLevel = utilisationPercent >= thresholds.criticalPercent ? "critical" : utilisationPercent >= thresholds.warningPercent ? "warning" : "ok";
    return {
        ...quota,
        unlimited,
        utilisationPercent,
        level,
        ...(unlimited ? {} : { remaining: Math.max(0, quota.max24HourSend - quota.sentLast24Hours) }),
    };
}

/** What the runbook says to do at each level (empty when all is well). */
export function quotaAdvice(u: QuotaUtilisation, thresholds: QuotaThresholds = DEFAULT_QUOTA_THRESHOLDS): string[] {
    if (u.level === "ok") return [];
    const advice = [
        `Over ${u.level === "critical" ? thresholds.criticalPercent : thresholds.warningPercent}% of the 24-hour sending quota: request an increase now (SES console → Account dashboard → Request a sending quota increase, or Service Quotas "Sending quota"); increases take about a day.`,
        "Check that the volume is expected: a sending loop or a leaked SMTP credential looks like this (ses-mail smtp list; CloudWatch OutboundSend by hour).",
        "Defer bulk or non-urgent sending until SentLast24Hours falls: SES refuses sends past the quota (\"Daily message quota exceeded\").",
    ];
    if (u.level === "critical") advice.push("If one sender is responsible and must stop now: ses-mail sending pause --reason \"…\" (resume with ses-mail sending resume).");
    return advice;
}

/** The datapoints the scheduled check publishes (no dimensions). */
export function quotaMetricPoints(u: QuotaUtilisation): { name: string; value: number; unit: "Percent" | "Count" | "Count/Second" }[] {
    return [
        { name: "SendQuotaUtilization", value: u.utilisationPercent, unit: "Percent" },
        { name: "Max24HourSend", value: u.max24HourSend, unit: "Count" },
        { name: "SentLast24Hours", value: u.sentLast24Hours, unit: "Count" },
        { name: "MaxSendRate", value: u.maxSendRate, unit: "Count/Second" },
    ];
}
