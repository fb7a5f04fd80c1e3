import { expect } from "chai";
import { InvalidInputError } from "../../../functions/shared/email";
import { backoffSeconds, classify, PermanentForwardError } from "../../../functions/gmail-forwarder/errors";
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
    for (const [title, error, kind] of cases) {
        it(`${title} → ${kind}`, () => expect(classify(error).kind).to.equal(kind));
    }

    it("backs off 30, 60, 120 … seconds, capped at 15 minutes", () => {
        expect([1, 2, 3, 4, 10].map(backoffSeconds)).to.deep.equal([30, 60, 120, 240, 900]);
    });
});
