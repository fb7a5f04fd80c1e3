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

const NETWORK_CODES = new Set(["ETIMEDOUT", "ECONNRESET", "ECONNREFUSED", "EAI_AGAIN", "EPIPE", "ESOCKETTIMEDOUT", "UND_ERR_SOCKET", "ECONNABORTED"]);

interface HttpLikeError {
    name?: string;
    message?: string;
    code?: string | number;
    status?: number;
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
    if (status === 429 || (status !== undefined && status >= 500)) return { kind: "retry", reason: `Gmail API ${status}: ${detail}` };
    if (status !== undefined && status >= 400) return { kind: "permanent", reason: `Gmail API ${status}: ${detail}` };
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
