import { expect } from "chai";
import { InvalidInputError } from "../../../functions/shared/email";
import { backoffSeconds, classify, GmailHttpError, PermanentForwardError } from "../../../functions/gmail-forwarder/errors";
import { TokenUnavailableError } from "../../../functions/shared/gmail-oauth";

describe("forwarder error classification", () => {
    const gaxios = (status: number, data: unknown) => Object.assign(new Error(`Request failed with status code ${status}`), { response: { status, data } });
    const cases: [string, unknown, string][] = [
        ["token endpoint invalid_grant", gaxios(400, { error: "invalid_grant", error_description: "Token has been expired or revoked." }), "park"],
        ["Gmail 401", gaxios(401, { error: { code: 401, message: "Request had invalid authentication credentials." } }), "park"],
        ["no token parameter", new TokenUnavailableError("No refresh token"), "park"],
        ["429", gaxios(429, { error: { message: "Too many concurrent requests for user." } }), "retry"],
        ["500", gaxios(500, { error: { message: "Backend Error" } }), "retry"],
        ["503", gaxios(503, {}), "retry"],
        ["timeout", Object.assign(new Error("timeout"), { code: "ETIMEDOUT" }), "retry"],
        ["connection reset", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), "retry"],
        ["idempotency in progress", Object.assign(new Error("busy"), { name: "IdempotencyAlreadyInProgressError" }), "retry"],
        ["400 bad request", gaxios(400, { error: { message: "Invalid raw message" } }), "permanent"],
        ["403", gaxios(403, { error: { message: "Insufficient Permission" } }), "permanent"],
        ["S3 NoSuchKey", Object.assign(new Error("The specified key does not exist."), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } }), "permanent"],
        ["unknown account", new PermanentForwardError("No Gmail account"), "permanent"],
        ["bad event", new InvalidInputError("Invalid routing event"), "permanent"],
        ["S3 throttling", Object.assign(new Error("Slow Down"), { name: "SlowDown", $metadata: { httpStatusCode: 503 } }), "retry"],
        ["S3 access denied", Object.assign(new Error("Access Denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } }), "permanent"],
    ];
    // Gmail's error body ("Resolve errors"): the reason is in error.errors[].reason.
    const body = (code: number, reason: string, message: string) => ({ error: { code, message, errors: [{ domain: "usageLimits", reason, message }] } });
    // gaxios 7 puts the body's `error` (with `errors`) on `cause`; older googleapis put `errors` on the error itself.
    const gaxios7 = (status: number, data: ReturnType<typeof body>) => Object.assign(gaxios(status, data), { status, code: status, cause: data.error });
    const legacy = (status: number, data: ReturnType<typeof body>) => Object.assign(new Error(data.error.message), { code: status, errors: data.error.errors });
    cases.push(
        ["403 userRateLimitExceeded (response body)", gaxios(403, body(403, "userRateLimitExceeded", "User-rate limit exceeded.")), "retry"],
        ["403 rateLimitExceeded (gaxios 7 cause)", gaxios7(403, body(403, "rateLimitExceeded", "Rate Limit Exceeded")), "retry"],
        ["403 userRateLimitExceeded (legacy error.errors)", legacy(403, body(403, "userRateLimitExceeded", "User Rate Limit Exceeded")), "retry"],
        ["403 rateLimitExceeded on the resumable PUT", new GmailHttpError(403, body(403, "rateLimitExceeded", "Rate Limit Exceeded"), "upload"), "retry"],
        ["403 quotaExceeded (window unknown: bounded retries)", gaxios(403, body(403, "quotaExceeded", "Quota exceeded")), "retry"],
        ["403 AIP-193 RATE_LIMIT_EXCEEDED", gaxios(403, { error: { code: 403, message: "Quota exceeded", details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "RATE_LIMIT_EXCEEDED" }] } } as never), "retry"],
        ["429 rateLimitExceeded", gaxios(429, body(429, "rateLimitExceeded", "Rate Limit Exceeded")), "retry"],
        ["403 dailyLimitExceeded (a day away)", gaxios(403, body(403, "dailyLimitExceeded", "Daily Limit Exceeded")), "permanent"],
        ["403 domainPolicy", gaxios(403, body(403, "domainPolicy", "The domain administrators have disabled Gmail apps.")), "permanent"],
        ["403 insufficientPermissions", gaxios7(403, body(403, "insufficientPermissions", "Insufficient Permission")), "permanent"],
        ["resumable PUT 503", new GmailHttpError(503, "", "upload"), "retry"],
        ["resumable PUT 404 (session expired: start again)", new GmailHttpError(404, body(404, "notFound", "Not Found"), "upload"), "retry"],
        ["resumable PUT 400", new GmailHttpError(400, body(400, "badRequest", "Bad Request"), "upload"), "permanent"],
        ["body length mismatch", Object.assign(new Error("Request body length does not match content-length header"), { code: "ERR_HTTP_CONTENT_LENGTH_MISMATCH" }), "retry"],
    );
    for (const [title, error, kind] of cases) {
        it(`${title} → ${kind}`, () => expect(classify(error).kind).to.equal(kind));
    }

    it("names the Gmail reason", () => {
        expect(classify(gaxios(403, body(403, "userRateLimitExceeded", "User-rate limit exceeded."))).reason).to.equal("Gmail API 403 userRateLimitExceeded: User-rate limit exceeded.");
        expect(classify(gaxios(403, body(403, "dailyLimitExceeded", "Daily Limit Exceeded"))).reason).to.match(/^Gmail API 403 dailyLimitExceeded: Daily Limit Exceeded \(.*redrive.*midnight Pacific time\)$/);
    });

    it("backs off 30, 60, 120 … seconds, capped at 15 minutes", () => {
        expect([1, 2, 3, 4, 10].map(backoffSeconds)).to.deep.equal([30, 60, 120, 240, 900]);
    });
});
