// The token probe's endpoint settings from its environment: an empty variable is unset (as the
// forwarder's config treats it), so an empty OAUTH_TOKEN_URL still reaches Google's endpoint.
import { expect } from "chai";
import fc from "fast-check";
import { exchangeRefreshToken, GOOGLE_TOKEN_URL } from "../../../functions/shared/oauth-token";
import { probeEndpoints } from "../../../functions/token-probe/probe";

const CLIENT = { clientId: "cid.apps.googleusercontent.com", clientSecret: "csecret" };

describe("token-probe endpoints from the environment", () => {
    it("an empty or unset OAUTH_TOKEN_URL is Google's endpoint; any other value is used as given", async () => {
        await fc.assert(fc.asyncProperty(fc.option(fc.oneof(fc.constant(""), fc.webUrl()), { nil: undefined }), async (url) => {
            const endpoints = probeEndpoints(url === undefined ? {} : { OAUTH_TOKEN_URL: url });
            expect(endpoints.tokenUrl).to.equal(url || undefined);
            // Where the exchange actually goes.
            const asked: string[] = [];
            const fetch = (async (input: string | URL) => {
                asked.push(String(input));
                return new Response(JSON.stringify({ access_token: "a", expires_in: 3599 }), { status: 200, headers: { "content-type": "application/json" } });
            }) as typeof globalThis.fetch;
            await exchangeRefreshToken(CLIENT, "1//r", { ...endpoints, fetch });
            expect(asked).to.deep.equal([url || GOOGLE_TOKEN_URL]);
        }), { numRuns: 30 });
    });

    it("an empty or unset OAUTH_TIMEOUT_MS is the default 10 s, not 0; a value is used as given", () => {
        fc.assert(fc.property(fc.option(fc.oneof(fc.constant(""), fc.integer({ min: 1, max: 120_000 }).map(String)), { nil: undefined }), (ms) => {
            expect(probeEndpoints(ms === undefined ? {} : { OAUTH_TIMEOUT_MS: ms }).timeoutMs).to.equal(ms ? Number(ms) : 10_000);
        }));
    });
});
