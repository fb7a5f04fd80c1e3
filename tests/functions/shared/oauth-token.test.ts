import { createServer, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import fc from "fast-check";
import { exchangeRefreshToken, GOOGLE_TOKEN_URL, TOKEN_RETRY, TokenEndpointError } from "../../../functions/shared/oauth-token";
import { classifyExchangeError } from "../../../functions/token-probe/probe";

/** One answer of the token endpoint, or no answer at all. */
type Answer = { kind: "status"; status: number; body: unknown } | { kind: "network"; code: string };

const CLIENT = { clientId: "cid.apps.googleusercontent.com", clientSecret: "csecret-0123456789" };
const REFUSALS = ["invalid_grant", "invalid_client", "unauthorized_client", "access_denied"];

const answer: fc.Arbitrary<Answer> = fc.oneof(
    fc.record({ kind: fc.constant("status" as const), status: fc.constant(200), body: fc.constant({ access_token: "ya29.ok", expires_in: 3599, scope: "https://www.googleapis.com/auth/gmail.insert", token_type: "Bearer" }) }),
    fc.record({ kind: fc.constant("status" as const), status: fc.constantFrom(400, 401), body: fc.constantFrom(...REFUSALS, "invalid_request").map((error) => ({ error, error_description: "Token has been expired or revoked." })) }),
    fc.record({ kind: fc.constant("status" as const), status: fc.constantFrom(403, 404), body: fc.constant("<html>not here</html>") }),
    fc.record({ kind: fc.constant("status" as const), status: fc.constantFrom(408, 429, 500, 502, 503, 504), body: fc.constant({ error: "backend_error" }) }),
    fc.record({ kind: fc.constant("network" as const), code: fc.constantFrom("ECONNRESET", "ECONNREFUSED", "EAI_AGAIN", "UND_ERR_SOCKET") }),
);

/**
 * What google-auth-library 10 (gaxios 7) does with a token POST, stated over a script of answers:
 * 408/429/5xx are retried up to 3 times, no answer up to 2 times (counting every retry made so far),
 * anything else ends the exchange. Returns how many requests are made and whether the last succeeded.
 */
function expected(script: Answer[]): { attempts: number; succeeded: boolean } {
    for (let i = 0; ; i++) {
        const a = script[i];
        if (a.kind === "status" && a.status === 200) return { attempts: i + 1, succeeded: true };
        const retries = a.kind === "network" ? 2 : [408, 429].includes(a.status) || a.status >= 500 ? 3 : 0;
        if (i >= retries) return { attempts: i + 1, succeeded: false };
    }
}

/** A fetch that answers from the script and records what it was asked. */
function scriptedFetch(script: Answer[]) {
    const requests: { url: string; init: RequestInit }[] = [];
    const fetch = (async (url: string, init: RequestInit) => {
        requests.push({ url, init });
        const a = script[requests.length - 1];
        if (a.kind === "network") throw new TypeError("fetch failed", { cause: Object.assign(new Error("socket"), { code: a.code }) });
        return new Response(typeof a.body === "string" ? a.body : JSON.stringify(a.body), { status: a.status, headers: { "content-type": typeof a.body === "string" ? "text/html" : "application/json" } });
    }) as unknown as typeof globalThis.fetch;
    return { fetch, requests };
}

describe("exchangeRefreshToken (OAuth refresh-token grant with Node's fetch)", () => {
    it("any answers: retries as google-auth-library does, and a failure is classified as the probe needs", async () => {
        await fc.assert(fc.asyncProperty(fc.array(answer, { minLength: 4, maxLength: 4 }), async (script) => {
            const { fetch, requests } = scriptedFetch(script);
            const waits: number[] = [];
            const want = expected(script);
            const outcome = await exchangeRefreshToken(CLIENT, "1//refresh", { fetch, sleep: async (ms) => void waits.push(ms) }).then((token) => ({ token }), (error: unknown) => ({ error }));
            expect(requests).to.have.length(want.attempts);
            expect(waits).to.deep.equal(TOKEN_RETRY.delaysMs.slice(0, want.attempts - 1));
            if (want.succeeded) {
                expect(outcome).to.deep.equal({ token: { accessToken: "ya29.ok", expiresIn: 3599, scope: "https://www.googleapis.com/auth/gmail.insert" } });
                return;
            }
            expect(outcome).to.have.property("error").that.is.instanceOf(TokenEndpointError);
            const last = script[want.attempts - 1];
            const verdict = classifyExchangeError((outcome as { error: unknown }).error);
            if (last.kind === "network") {
                expect(verdict).to.deep.equal({ outcome: "unreachable", reason: `network: ${last.code}` });
            } else {
                const error = (last.body as { error?: string }).error;
                // Refused (the token or client will never work again) vs not known (Google not reached).
                expect(verdict.outcome).to.equal(last.status === 400 || last.status === 401 ? "invalid" : "unreachable");
                if (REFUSALS.includes(error ?? "")) expect(verdict.reason).to.equal(`${error}: Token has been expired or revoked.`);
            }
        }));
    });

    it("any client and token: one form-encoded POST carrying exactly the four fields of the grant", async () => {
        await fc.assert(fc.asyncProperty(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.option(fc.constant("http://127.0.0.1:9/token"), { nil: undefined }),
            async (clientId, clientSecret, refreshToken, tokenUrl) => {
                const { fetch, requests } = scriptedFetch([{ kind: "status", status: 200, body: { access_token: "a" } }]);
                expect(await exchangeRefreshToken({ clientId, clientSecret }, refreshToken, { fetch, tokenUrl })).to.deep.equal({ accessToken: "a" });
                const [{ url, init }] = requests;
                expect(url).to.equal(tokenUrl ?? GOOGLE_TOKEN_URL);
                expect(init.method).to.equal("POST");
                expect(init.headers).to.deep.include({ "Content-Type": "application/x-www-form-urlencoded" });
                expect([...new URLSearchParams(init.body as string)]).to.deep.equal([["refresh_token", refreshToken], ["client_id", clientId], ["client_secret", clientSecret], ["grant_type", "refresh_token"]]);
                expect(init.signal).to.equal(undefined);
            }));
    });

    it("never repeats the refresh token or the client secret in what it throws", async () => {
        await fc.assert(fc.asyncProperty(fc.array(answer.filter((a) => a.kind === "network" || a.status !== 200), { minLength: 4, maxLength: 4 }), fc.stringMatching(/^1\/\/[A-Za-z0-9_-]{12,40}$/),
            async (script, refreshToken) => {
                const { fetch } = scriptedFetch(script);
                const error = await exchangeRefreshToken(CLIENT, refreshToken, { fetch, sleep: async () => undefined }).then(() => undefined, (e: unknown) => e);
                const printed = `${String(error)} ${JSON.stringify(error)} ${(error as Error).stack}`;
                expect(printed).to.not.include(refreshToken).and.not.include(CLIENT.clientSecret);
            }));
    });

    it("a 200 without an access token is not a valid token: the probe says unknown, not valid", async () => {
        const { fetch } = scriptedFetch([{ kind: "status", status: 200, body: { token_type: "Bearer" } }]);
        const error = await exchangeRefreshToken(CLIENT, "1//r", { fetch }).then(() => undefined, (e: unknown) => e);
        expect(classifyExchangeError(error)).to.deep.equal({ outcome: "unreachable", reason: "token endpoint 200" });
    });

    describe("over a real socket (Node's fetch)", () => {
        let server: Server;
        let url: string;
        let behaviour: "hang" | "reset";
        let requests = 0;
        before(async () => {
            server = createServer((request) => {
                requests += 1;
                if (behaviour === "reset") request.socket.destroy();
                // "hang": never answer
            });
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
        });
        after(async () => {
            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
        });
        beforeEach(() => {
            requests = 0;
        });

        it("no answer within timeoutMs: TimeoutError, retried twice, unreachable", async () => {
            behaviour = "hang";
            const error = await exchangeRefreshToken(CLIENT, "1//r", { tokenUrl: url, timeoutMs: 50, sleep: async () => undefined }).then(() => undefined, (e: unknown) => e);
            expect(error).to.be.instanceOf(TokenEndpointError).and.deep.include({ code: "TimeoutError" });
            expect(requests).to.equal(1 + TOKEN_RETRY.networkRetries);
            expect(classifyExchangeError(error)).to.deep.equal({ outcome: "unreachable", reason: "network: TimeoutError" });
        });

        it("a dropped connection: the socket's error code, retried twice, unreachable", async () => {
            behaviour = "reset";
            const error = await exchangeRefreshToken(CLIENT, "1//r", { tokenUrl: url, sleep: async () => undefined }).then(() => undefined, (e: unknown) => e);
            expect((error as TokenEndpointError).code).to.match(/^(ECONNRESET|UND_ERR_SOCKET|EPIPE)$/);
            expect(requests).to.equal(1 + TOKEN_RETRY.networkRetries);
            expect(classifyExchangeError(error).outcome).to.equal("unreachable");
        });
    });
});
