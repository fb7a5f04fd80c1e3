// `ses-mail token status`: seconds until each token expires and what the last probe found, from
// the refresh-token parameters' tags (never their values).
import { ListTagsForResourceCommand, SSMClient } from "@aws-sdk/client-ssm";
import { NO_EXPIRY, parameterNames, TOKEN_TAGS } from "../functions/shared/gmail-oauth";
import { awsCall } from "./aws";
import type { StackSettings } from "./stack-settings";

export interface TokenStatus {
    account: string;
    /** False when the parameter does not exist. */
    stored: boolean;
    /** undefined: no token stored; null: no expiry date. */
    secondsUntilExpiry?: number | null;
    expiresAt?: string;
    /** When `token refresh` stored this token (its created_at tag). */
    storedAt?: string;
    lastProbe?: { result: string; at: string };
}

/**
 * Whether a probe result speaks about the token stored now: a probe that ran before the token was
 * stored (an "invalid" just before `token refresh`) judged the previous token. When either time is
 * missing or unreadable the result is taken as current, as before the stored time was recorded.
 */
export function probeJudgesStoredToken(probeAt: string, storedAt: string | undefined): boolean {
    const probe = Date.parse(probeAt);
    const stored = storedAt === undefined ? Number.NaN : Date.parse(storedAt);
    return Number.isNaN(probe) || Number.isNaN(stored) || probe >= stored;
}

export async function readTokenStatus(settings: StackSettings, account: string, ssm: SSMClient, now: Date): Promise<TokenStatus> {
    const name = parameterNames(settings.parameterPrefix, account).refreshToken;
    let tags: Record<string, string>;
    try {
        const { TagList } = await awsCall("ssm:ListTagsForResource", name, () => ssm.send(new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: name })));
        tags = Object.fromEntries((TagList ?? []).map((tag) => [tag.Key ?? "", tag.Value ?? ""]));
    } catch (error) {
        if ((error as Error).name === "InvalidResourceId") return { account, stored: false };
        throw error;
    }
    const epoch = tags[TOKEN_TAGS.expiresAtEpoch];
    const lastProbe = tags[TOKEN_TAGS.lastProbeResult] ? { result: tags[TOKEN_TAGS.lastProbeResult], at: tags[TOKEN_TAGS.lastProbeAt] ?? "?" } : undefined;
    const stored = { account, stored: true, lastProbe, ...(tags[TOKEN_TAGS.createdAt] ? { storedAt: tags[TOKEN_TAGS.createdAt] } : {}) };
    if (epoch === NO_EXPIRY) return { ...stored, secondsUntilExpiry: null };
    if (!/^\d+$/.test(epoch ?? "")) return stored;
    return { ...stored, secondsUntilExpiry: Number(epoch) - Math.floor(now.getTime() / 1000), expiresAt: tags[TOKEN_TAGS.expiresAt] };
}

const duration = (seconds: number) => `${Math.floor(Math.abs(seconds) / 86400)} d ${Math.floor((Math.abs(seconds) % 86400) / 3600)} h`;

/** Lines to print, and whether the token needs attention (missing, expired, refused). */
export function describeStatus(status: TokenStatus, settings: StackSettings): { lines: string[]; healthy: boolean } {
    const refresh = `npx ses-mail token refresh --stack ${settings.stack} --account ${status.account}`;
    const lines = [status.account];
    let healthy = true;
    if (!status.stored) {
        return { lines: [...lines, `  no refresh token stored: run ${refresh}`], healthy: false };
    }
    if (status.secondsUntilExpiry === null) {
        lines.push("  seconds until expiry: none (published app: no expiry date)");
    } else if (status.secondsUntilExpiry === undefined) {
        lines.push(`  seconds until expiry: unknown (no ${TOKEN_TAGS.expiresAtEpoch} tag): run ${refresh}`);
        healthy = false;
    } else if (status.secondsUntilExpiry < 0) {
        lines.push(`  seconds until expiry: ${status.secondsUntilExpiry} (EXPIRED ${duration(status.secondsUntilExpiry)} ago): run ${refresh}`);
        healthy = false;
    } else {
        lines.push(`  seconds until expiry: ${status.secondsUntilExpiry} (${duration(status.secondsUntilExpiry)}, at ${status.expiresAt ?? "?"})`);
    }
    if (!status.lastProbe) {
        lines.push("  last probe: none yet (the probe runs hourly)");
    } else if (!probeJudgesStoredToken(status.lastProbe.at, status.storedAt)) {
        lines.push(`  last probe: ${status.lastProbe.result} at ${status.lastProbe.at}, before this token was stored (${status.storedAt}): not a verdict on it; the next hourly probe checks it`);
    } else {
        lines.push(`  last probe: ${status.lastProbe.result} at ${status.lastProbe.at}`);
        if (status.lastProbe.result === "invalid") {
            lines.push(`  Google refused the token: run ${refresh}`);
            healthy = false;
        }
    }
    return { lines, healthy };
}
