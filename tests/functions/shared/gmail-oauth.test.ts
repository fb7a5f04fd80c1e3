import { expect } from "chai";
import fc from "fast-check";
import { InvalidInputError } from "../../../functions/shared/email";
import { accountParameterSegment, parameterNames, parseClientCredentials, parseRefreshToken, tokenRecord, TokenUnavailableError } from "../../../functions/shared/gmail-oauth";

// SSM's rule for parameter names (PutParameter): a-zA-Z0-9_.- plus '/' between levels.
const SSM_NAME = /^(\/[a-zA-Z0-9_.-]+)+$/;
const TOKEN_PARAMETER = "/ses-mail/test/gmail-forwarder/oauth/refresh-token/you_at_gmail.com";

describe("Gmail OAuth parameters", () => {
    it("names a parameter per account that SSM accepts", () => {
        expect(parameterNames("/ses-mail/test/gmail-forwarder", "You@Gmail.com")).to.deep.equal({
            clientCredentials: "/ses-mail/test/gmail-forwarder/oauth/client-credentials",
            refreshToken: "/ses-mail/test/gmail-forwarder/oauth/refresh-token/you_at_gmail.com",
        });
        expect(accountParameterSegment("first.last+mail@example.co.uk")).to.equal("first.last_2bmail_at_example.co.uk");
        fc.assert(fc.property(fc.emailAddress(), (account) => {
            expect(parameterNames("/ses-mail/test/gmail-forwarder", account).refreshToken).to.match(SSM_NAME);
        }));
    });

    it("reads Google's Desktop and Web client JSON and the plain form, and says what is wrong otherwise", () => {
        expect(parseClientCredentials(JSON.stringify({ installed: { client_id: "a", client_secret: "b", redirect_uris: ["http://localhost"] } })))
            .to.deep.equal({ clientId: "a", clientSecret: "b", kind: "installed", redirectUris: ["http://localhost"] });
        expect(parseClientCredentials(JSON.stringify({ web: { client_id: "a", client_secret: "b", redirect_uris: ["https://x/cb"] } })).kind).to.equal("web");
        expect(parseClientCredentials(JSON.stringify({ client_id: "a", client_secret: "b" }))).to.deep.equal({ clientId: "a", clientSecret: "b", kind: "plain", redirectUris: [] });
        expect(() => parseClientCredentials("client_id=a")).to.throw(InvalidInputError, /not JSON/);
        expect(() => parseClientCredentials(JSON.stringify({ installed: { client_id: "a" } }))).to.throw(InvalidInputError, /lack client_id or client_secret/);
    });

    it("reads the stored token, or a bare one; a JSON value without a token waits for a refresh", () => {
        expect(parseRefreshToken(JSON.stringify({ refresh_token: "1//x", expires_at_epoch: 1 }), TOKEN_PARAMETER)).to.equal("1//x");
        expect(parseRefreshToken(" 1//bare \n", TOKEN_PARAMETER)).to.equal("1//bare");
        expect(() => parseRefreshToken("{}", TOKEN_PARAMETER)).to.throw(TokenUnavailableError, /npx ses-mail token refresh/);
    });

    it("a value that is not JSON waits for a refresh, with a fixed message that quotes none of it", () => {
        // JSON.parse's SyntaxError quotes the text around the fault (`Unexpected token 'x', ..."sh_token":x1//0123"...`).
        const fixed = [`${TOKEN_PARAMETER} is not valid JSON; run: npx ses-mail token refresh`, `${TOKEN_PARAMETER} has no refresh_token; run: npx ses-mail token refresh`];
        // Digits only: the fixed messages have none, so no part of the secret can hide in them by chance.
        const secret = fc.stringMatching(/^[0-9]{12,40}$/).map((digits) => `1//${digits}`);
        const corrupted = fc.tuple(secret, fc.nat(), fc.constantFrom("x", "\"", "\\q", "\u0001", "}", ":", "garbage")).map(([token, at, junk]) => {
            const valid = JSON.stringify({ refresh_token: token, created_at: "2026-11-22T10:00:00.000Z" });
            // After the opening brace: a value that does not start with one is a bare token by design.
            const cut = 1 + (at % (valid.length - 1));
            return { token, value: valid.slice(0, cut) + junk + valid.slice(cut) };
        });
        const truncated = fc.tuple(secret, fc.nat()).map(([token, at]) => {
            const valid = JSON.stringify({ refresh_token: token });
            return { token, value: valid.slice(0, 1 + (at % (valid.length - 1))) };
        });
        fc.assert(fc.property(fc.oneof(corrupted, truncated), ({ value }) => {
            let parsed: string | undefined;
            try {
                parsed = parseRefreshToken(value, TOKEN_PARAMETER);
            } catch (error) {
                expect(error).to.be.instanceOf(TokenUnavailableError);
                expect((error as Error).message).to.be.oneOf(fixed);
                return;
            }
            // Junk that kept the JSON valid (inside the string, or whitespace) is read as the value says.
            expect(parsed).to.equal((JSON.parse(value.trim()) as { refresh_token: string }).refresh_token);
        }));
    });

    it("records created_at, expires_at and expires_at_epoch, as value and as tags", () => {
        const now = new Date("2026-11-22T10:00:00.500Z");
        const testing = tokenRecord("1//x", { now, lifetimeSeconds: 7 * 86400, clientId: "c", scope: "s" });
        expect(testing.value).to.deep.equal({ refresh_token: "1//x", created_at: "2026-11-22T10:00:00.500Z", expires_at: "2026-11-29T10:00:00.000Z", expires_at_epoch: 1795946400, client_id: "c", scope: "s" });
        expect(testing.tags).to.deep.equal({ created_at: "2026-11-22T10:00:00.500Z", expires_at: "2026-11-29T10:00:00.000Z", expires_at_epoch: "1795946400" });
        const published = tokenRecord("1//x", { now, lifetimeSeconds: null, clientId: "c", scope: "s" });
        expect(published.value).to.deep.include({ expires_at: null, expires_at_epoch: null });
        expect(published.tags).to.deep.include({ expires_at: "never", expires_at_epoch: "never" });
    });
});
