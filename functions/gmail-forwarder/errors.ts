// Every forwarding failure is classified here, once: park it until the token is refreshed, retry
// it with backoff, or send it to the DLQ with the reason.
import { InvalidInputError } from "../shared/email";
import { TokenUnavailableError } from "../shared/gmail-oauth";

export type FailureKind = "park" | "retry" | "permanent";

export interface Classified {
    kind: FailureKind;
    reason: string;
}

/** A problem no retry can fix (no such account configured, object gone, message rejected). */
export class PermanentForwardError extends Error {
    public override readonly name = "PermanentForwardError";
}

/** An HTTP answer of Gmail outside googleapis (a resumable upload's PUT), shaped like a GaxiosError. */
export class GmailHttpError extends Error {
    public override readonly name = "GmailHttpError";
    public readonly status: number;
    public readonly response: { status: number; data: unknown };

    constructor(status: number, data: unknown, what: string, public readonly stage: "session" | "upload" = "upload") {
        super(`${what}: HTTP ${status}`);
        this.status = status;
        this.response = { status, data };
    }
}

const NETWORK_CODES = new Set(["ETIMEDOUT", "ECONNRESET", "ECONNREFUSED", "EAI_AGAIN", "EPIPE", "ESOCKETTIMEDOUT", "UND_ERR_SOCKET", "ECONNABORTED", "ERR_HTTP_CONTENT_LENGTH_MISMATCH"]);

/**
 * Gmail's rate limits ("Resolve errors", Gmail API): 429, and 403 with reason
 * `userRateLimitExceeded` (the per-user limit) or `rateLimitExceeded` (the maximum request rate);
 * both are to be retried with exponential backoff. `quotaExceeded` is not a reason Gmail documents;
 * other Google APIs use it for a quota of unknown window, so it gets the bounded retries too (at
 * most maxReceiveCount attempts, then the DLQ). AIP-193 errors carry `RATE_LIMIT_EXCEEDED` in an
 * ErrorInfo detail.
 */
const RATE_LIMIT_REASONS = new Set(["userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded", "RATE_LIMIT_EXCEEDED"]);

/**
 * `dailyLimitExceeded`: the project's daily courtesy limit is used up ("Resolve errors"). Backoff of
 * at most 15 minutes over a handful of attempts cannot outlast a day, so the message goes to the DLQ
 * at once, with a reason that says when to redrive it.
 */
const DAILY_LIMIT_REASONS = new Set(["dailyLimitExceeded"]);

interface HttpLikeError {
    name?: string;
    message?: string;
    code?: string | number;
    status?: number;
    errors?: unknown;
    cause?: unknown;
    response?: { status?: number; data?: unknown };
    $metadata?: { httpStatusCode?: number };
}

function googleReason(data: unknown): string | undefined {
    if (typeof data !== "object" || data === null) return typeof data === "string" ? data.slice(0, 300) : undefined;
    const record = data as { error?: unknown; error_description?: unknown };
    if (typeof record.error === "string") return [record.error, record.error_description].filter(Boolean).join(": ");
    const nested = record.error as { message?: unknown } | undefined;
    return typeof nested?.message === "string" ? nested.message : undefined;
}

function reasonsOf(list: unknown): string[] {
    if (!Array.isArray(list)) return [];
    return list.map((item) => (item as { reason?: unknown } | null)?.reason).filter((r): r is string => typeof r === "string");
}

/**
 * The machine-readable reasons of a Google API error, wherever the client put them: `errors[]` on
 * the error (older googleapis), on `cause` (gaxios 7 copies `response.data.error` there), in the
 * response body `error.errors[]`, or AIP-193 `error.details[].reason`.
 */
export function googleErrorReasons(error: unknown): string[] {
    const e = (error ?? {}) as HttpLikeError;
    const body = (e.response?.data as { error?: { errors?: unknown; details?: unknown } } | undefined)?.error;
    const cause = e.cause as { errors?: unknown; details?: unknown } | undefined;
    const all = [
        ...reasonsOf(e.errors),
        ...reasonsOf(cause?.errors), ...reasonsOf(cause?.details),
        ...(typeof body === "object" && body !== null ? [...reasonsOf(body.errors), ...reasonsOf(body.details)] : []),
    ];
    return [...new Set(all)];
}

export function classify(error: unknown): Classified {
    const e = (error ?? {}) as HttpLikeError;
    const message = e.message ?? String(error);
    if (error instanceof TokenUnavailableError) return { kind: "park", reason: message };
    if (error instanceof PermanentForwardError || error instanceof InvalidInputError) return { kind: "permanent", reason: message };
    if (e.name === "NoSuchKey" || e.name === "NotFound") return { kind: "permanent", reason: `S3 object missing: ${message}` };
    if (e.name === "IdempotencyAlreadyInProgressError") return { kind: "retry", reason: "another invocation is importing this message" };

    const status = e.response?.status ?? e.status ?? (typeof e.code === "number" ? e.code : undefined);
    const data = e.response?.data;
    const detail = googleReason(data) ?? message;
    if (googleReason(data)?.startsWith("invalid_grant") || status === 401) {
        return { kind: "park", reason: `Gmail token invalid or expired (${detail})` };
    }
    // A resumable session that is gone ("Upload media": 404 or 410 means start the upload again).
    if (error instanceof GmailHttpError && error.stage === "upload" && (status === 404 || status === 410)) {
        return { kind: "retry", reason: `Gmail upload session gone (${status}): ${detail}` };
    }
    const reasons = status === 403 || status === 429 ? googleErrorReasons(error) : [];
    const labelled = reasons.length > 0 ? `Gmail API ${status} ${reasons.join(",")}: ${detail}` : `Gmail API ${status}: ${detail}`;
    if (reasons.some((r) => DAILY_LIMIT_REASONS.has(r))) {
        return { kind: "permanent", reason: `${labelled} (the project's daily Gmail API quota is used up: redrive from the DLQ once it resets, at midnight Pacific time)` };
    }
    if (status === 429 || (status === 403 && reasons.some((r) => RATE_LIMIT_REASONS.has(r)))) return { kind: "retry", reason: labelled };
    if (status !== undefined && status >= 500) return { kind: "retry", reason: labelled };
    if (status !== undefined && status >= 400) return { kind: "permanent", reason: labelled };
    if ((typeof e.code === "string" && NETWORK_CODES.has(e.code)) || e.name === "AbortError" || e.name === "TimeoutError") {
        return { kind: "retry", reason: `network: ${e.code ?? e.name}` };
    }
    const awsStatus = e.$metadata?.httpStatusCode;
    if (awsStatus !== undefined && awsStatus < 500 && awsStatus !== 429) return { kind: "permanent", reason: `${e.name}: ${message}` };
    return { kind: "retry", reason: message };
}

/** Seconds to hide a message before its next attempt: 30, 60, 120, … up to 15 minutes. */
export function backoffSeconds(receiveCount: number): number {
    return Math.min(900, 30 * 2 ** Math.max(0, receiveCount - 1));
}
