import { createServer, Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { ListStateMachinesCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { AddTagsToResourceCommand, GetParameterCommand, ListTagsForResourceCommand, ParameterNotFound, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { escapeHtml, startLoopback } from "../../cli/loopback";
import { main } from "../../cli/main";
import { describeStatus, probeJudgesStoredToken } from "../../cli/token-status";
import { NO_EXPIRY_SECONDS } from "../../functions/shared/gmail-oauth";
import { FakeGoogle, startFakeGoogle } from "../support/fake-google";

const ROOT = path.resolve(__dirname, "..", "..");
const CLIENT = "/ses-mail/test/gmail-forwarder/oauth/client-credentials";
const TOKEN = "/ses-mail/test/gmail-forwarder/oauth/refresh-token/you_at_gmail.com";
const DRAIN_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:ses-mail-gmail-forwarder-retry-drain-test";
const NOW = new Date("2026-11-22T10:00:00.000Z");
const NOW_EPOCH = NOW.getTime() / 1000;
const DESKTOP_CLIENT = { installed: { client_id: "cid.apps.googleusercontent.com", client_secret: "csecret", redirect_uris: ["http://localhost"] } };

describe("ses-mail token (command end to end: fake Google OAuth on loopback, AWS SDK mocks)", () => {
    let google: FakeGoogle;
    let ssm: AwsClientStub<SSMClient>;
    let cloudwatch: AwsClientStub<CloudWatchClient>;
    let sfn: AwsClientStub<SFNClient>;
    const saved = { ...process.env };

    /** Runs the command as the bin does; the "browser" follows the consent URL like a user who clicks Allow. */
    async function run(...argv: string[]) {
        const out: string[] = [];
        const err: string[] = [];
        const browsed: Promise<unknown>[] = [];
        const code = await main(argv, {
            stdout: (text) => out.push(text),
            stderr: (text) => err.push(text),
            cwd: ROOT,
            now: () => NOW,
            oauthEndpoints: { authUrl: google.authUrl, tokenUrl: google.tokenUrl },
            openBrowser: (url) => {
                browsed.push(fetch(url, { redirect: "follow" }).then((r) => r.text()));
                return true;
            },
        });
        const pages = await Promise.all(browsed.map((page) => page.catch((e: Error) => `fetch failed: ${e.message}`)));
        return { code, stdout: out.join(""), stderr: err.join(""), pages };
    }
    const stored = () => ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);

    before(async () => {
        google = await startFakeGoogle();
        Object.assign(process.env, { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" });
        ssm = mockClient(SSMClient);
        cloudwatch = mockClient(CloudWatchClient);
        sfn = mockClient(SFNClient);
    });

    after(async () => {
        ssm.restore();
        cloudwatch.restore();
        sfn.restore();
        process.env = saved;
        await google.close();
    });

    beforeEach(() => {
        for (const stub of [ssm, cloudwatch, sfn]) stub.reset();
        google.consent = {};
        google.consentRequests.length = 0;
        google.tokenRequests.length = 0;
        ssm.on(GetParameterCommand, { Name: CLIENT, WithDecryption: true }).resolves({ Parameter: { Value: JSON.stringify(DESKTOP_CLIENT) } });
        ssm.on(PutParameterCommand).resolves({ Version: 2 });
        ssm.on(AddTagsToResourceCommand).resolves({});
        cloudwatch.on(PutMetricDataCommand).resolves({});
        // Two pages: the drain is found wherever ListStateMachines puts it.
        sfn.on(ListStateMachinesCommand).resolvesOnce({ stateMachines: [{ name: "other", stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:other", type: "STANDARD", creationDate: NOW }], nextToken: "page-2" })
            .resolves({ stateMachines: [{ name: "ses-mail-gmail-forwarder-retry-drain-test", stateMachineArn: DRAIN_ARN, type: "STANDARD", creationDate: NOW }] });
        sfn.on(StartExecutionCommand).resolves({ executionArn: `${DRAIN_ARN.replace(":stateMachine:", ":execution:")}:token-refresh`, startDate: NOW });
    });

    describe("refresh", () => {
        it("runs the loopback consent flow, stores the token with its expiry, publishes the metric and starts the drain", async () => {
            const { code, stdout, stderr, pages } = await run("token", "refresh", "--stack", "test", "--port", "0");
            expect(stderr).to.equal("");
            expect(code).to.equal(0);
            // The consent request: offline access with consent (a refresh token every time), PKCE, the account as hint.
            const [consent] = google.consentRequests;
            expect(Object.fromEntries(consent)).to.deep.include({
                client_id: "cid.apps.googleusercontent.com", response_type: "code", access_type: "offline", prompt: "consent",
                scope: "https://www.googleapis.com/auth/gmail.insert openid email", login_hint: "you@gmail.com", code_challenge_method: "S256",
            });
            expect(consent.get("redirect_uri")).to.match(/^http:\/\/127\.0\.0\.1:\d+\/oauth2callback$/);
            expect(stdout).to.include(`${google.authUrl}?`);
            expect(pages[0]).to.include("You can close this tab");
            // Stored in SSM: SecureString, overwritten, the token with created_at / expires_at / expires_at_epoch (7 days: Testing app).
            const [put] = stored();
            expect(put).to.deep.include({ Name: TOKEN, Type: "SecureString", Overwrite: true });
            expect(JSON.parse(put.Value!)).to.deep.equal({
                refresh_token: google.issuedRefreshTokens[0], created_at: "2026-11-22T10:00:00.000Z", expires_at: "2026-11-29T10:00:00.000Z",
                expires_at_epoch: NOW_EPOCH + 7 * 86400, client_id: "cid.apps.googleusercontent.com", scope: "https://www.googleapis.com/auth/gmail.insert openid email",
            });
            expect(ssm.commandCalls(AddTagsToResourceCommand)[0].args[0].input).to.deep.equal({
                ResourceType: "Parameter", ResourceId: TOKEN,
                Tags: [{ Key: "created_at", Value: "2026-11-22T10:00:00.000Z" }, { Key: "expires_at", Value: "2026-11-29T10:00:00.000Z" }, { Key: "expires_at_epoch", Value: String(NOW_EPOCH + 7 * 86400) }],
            });
            expect(cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input).to.deep.equal({
                Namespace: "SESMail/test",
                MetricData: [
                    { MetricName: "TokenSecondsUntilExpiration", Dimensions: [{ Name: "account", Value: "you@gmail.com" }], Unit: "Seconds", Value: 604800 },
                    { MetricName: "TokenValid", Dimensions: [{ Name: "account", Value: "you@gmail.com" }], Unit: "Count", Value: 1 },
                ],
            });
            const [start] = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
            // The drain moves only this account's parked mail (RetryDrainInput).
            expect(start).to.deep.equal({ stateMachineArn: DRAIN_ARN, name: "token-refresh-you-gmail-com-20261122100000", input: JSON.stringify({ account: "you@gmail.com" }) });
            expect(stdout).to.include("Started ses-mail-gmail-forwarder-retry-drain-test: mail for you@gmail.com parked");
        });

        it("listens on port 8080 unless told otherwise", async function () {
            const probe = await listen(8080).catch(() => undefined);
            // Something else holds 8080 on this machine: reported as pending, not passed.
            if (!probe) this.skip();
            await close(probe);
            const { code } = await run("token", "refresh", "--stack", "test", "--no-drain");
            expect(code).to.equal(0);
            expect(google.consentRequests[0].get("redirect_uri")).to.equal("http://127.0.0.1:8080/oauth2callback");
            expect(sfn.commandCalls(StartExecutionCommand)).to.deep.equal([]);
        });

        it("starts the drain for the account as normalised, however --account was typed", async () => {
            const { code } = await run("token", "refresh", "--stack", "test", "--account", " You@Gmail.com ", "--port", "0");
            expect(code).to.equal(0);
            expect(sfn.commandCalls(StartExecutionCommand).map((c) => JSON.parse(c.args[0].input.input!))).to.deep.equal([{ account: "you@gmail.com" }]);
        });

        it("--published: no expiry date, and the monitor's no-expiry value", async () => {
            const { code, stdout } = await run("token", "refresh", "--stack", "test", "--port", "0", "--published");
            expect(code).to.equal(0);
            expect(JSON.parse(stored()[0].Value!)).to.deep.include({ expires_at: null, expires_at_epoch: null });
            expect(ssm.commandCalls(AddTagsToResourceCommand)[0].args[0].input.Tags).to.deep.include({ Key: "expires_at_epoch", Value: "never" });
            expect(cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input.MetricData![0].Value).to.equal(NO_EXPIRY_SECONDS);
            expect(stdout).to.include("no expiry date");
        });

        it("client credentials not in SSM: says the exact aws ssm put-parameter to run, and starts nothing", async () => {
            ssm.on(GetParameterCommand, { Name: CLIENT, WithDecryption: true }).rejects(new ParameterNotFound({ message: "not found", $metadata: {} }));
            const { code, stderr } = await run("token", "refresh", "--stack", "test", "--port", "0");
            expect(code).to.equal(1);
            expect(stderr).to.include(`No OAuth client credentials at ${CLIENT}.`);
            expect(stderr).to.include(`aws ssm put-parameter --name ${CLIENT} --type SecureString --value file://client_secret.json --region us-east-1`);
            expect(google.consentRequests).to.have.length(0);
            expect(stored()).to.deep.equal([]);
        });

        it("port in use: names the port and the --port option", async () => {
            const busy = await listen(0);
            const port = (busy.address() as AddressInfo).port;
            try {
                const { code, stderr } = await run("token", "refresh", "--stack", "test", "--port", String(port));
                expect(code).to.equal(1);
                expect(stderr).to.include(`Port ${port} on 127.0.0.1 is in use`).and.include("--port <n>");
                expect(google.consentRequests).to.have.length(0);
            } finally {
                await close(busy);
            }
        });

        it("no refresh token returned: explains removing the app's access and retrying; stores nothing", async () => {
            google.consent = { withoutRefreshToken: true };
            const { code, stderr } = await run("token", "refresh", "--stack", "test", "--port", "0");
            expect(code).to.equal(1);
            expect(stderr).to.include("Google returned no refresh token for you@gmail.com").and.include("https://myaccount.google.com/permissions").and.include("run this command again");
            expect(stored()).to.deep.equal([]);
            expect(cloudwatch.commandCalls(PutMetricDataCommand)).to.deep.equal([]);
        });

        it("redirect URI mismatch at the token endpoint: says which URI to add", async () => {
            google.consent = { exchangeError: "redirect_uri_mismatch" };
            const { code, stderr } = await run("token", "refresh", "--stack", "test", "--port", "0");
            const redirectUri = google.consentRequests[0].get("redirect_uri");
            expect(code).to.equal(1);
            expect(stderr).to.include(`Redirect URI mismatch: OAuth client cid.apps.googleusercontent.com does not allow ${redirectUri}. Add ${redirectUri} to its Authorized redirect URIs`);
            expect(stored()).to.deep.equal([]);
        });

        it("a Web client without our redirect URI: says which URI to add before sending anyone to Google", async () => {
            const web = { web: { client_id: "web.apps.googleusercontent.com", client_secret: "s", redirect_uris: ["https://example.com/callback"] } };
            ssm.on(GetParameterCommand, { Name: CLIENT, WithDecryption: true }).resolves({ Parameter: { Value: JSON.stringify(web) } });
            const free = await listen(0);
            const port = (free.address() as AddressInfo).port;
            await close(free);
            const { code, stderr } = await run("token", "refresh", "--stack", "test", "--port", String(port));
            expect(code).to.equal(1);
            expect(stderr).to.include(`Add http://127.0.0.1:${port}/oauth2callback to its Authorized redirect URIs`);
            expect(google.consentRequests).to.have.length(0);
        });

        it("refuses a token of another Google account than --account", async () => {
            google.consent = { signInAs: "someone.else@gmail.com" };
            const { code, stderr } = await run("token", "refresh", "--stack", "test", "--account", "you@gmail.com", "--port", "0");
            expect(code).to.equal(1);
            expect(stderr).to.include("You signed in as someone.else@gmail.com, not you@gmail.com; nothing was stored.");
            expect(stored()).to.deep.equal([]);
        });

        it("refuses a grant that does not say who signed in (no ID token): the account cannot be checked", async () => {
            // With the openid scope, Google's code exchange returns an ID token carrying the email
            // ("OpenID Connect", Google Identity: "Exchange code for access token and ID token").
            // Without one, a token of any mailbox could be stored under --account.
            google.consent = { withoutIdToken: true, signInAs: "someone.else@gmail.com" };
            const { code, stderr } = await run("token", "refresh", "--stack", "test", "--account", "you@gmail.com", "--port", "0");
            expect(code).to.equal(1);
            expect(stderr).to.include("Google did not say which account signed in").and.include("nothing was stored");
            expect(stored()).to.deep.equal([]);
            expect(cloudwatch.commandCalls(PutMetricDataCommand)).to.deep.equal([]);
        });

        it("refuses a grant without Gmail access (unticked on the consent screen)", async () => {
            google.consent = { grantedScope: "openid email" };
            const { code, stderr } = await run("token", "refresh", "--stack", "test", "--port", "0");
            expect(code).to.equal(1);
            expect(stderr).to.include("Google granted no Gmail access");
            expect(stored()).to.deep.equal([]);
        });

        it("declined consent: says so and stores nothing", async () => {
            google.consent = { deny: true };
            const { code, stderr, pages } = await run("token", "refresh", "--stack", "test", "--port", "0");
            expect(code).to.equal(1);
            expect(stderr).to.include("Access was declined on Google's consent screen");
            expect(pages[0]).to.include("no access");
            expect(stored()).to.deep.equal([]);
        });

        it("a metrics failure only warns: the token is stored and the monitor republishes within 5 minutes", async () => {
            cloudwatch.on(PutMetricDataCommand).rejects(Object.assign(new Error("not authorized"), { name: "AccessDenied" }));
            const { code, stdout } = await run("token", "refresh", "--stack", "test", "--port", "0");
            expect(code).to.equal(0);
            expect(stored()).to.have.length(1);
            expect(stdout).to.include("Warning: could not publish the token metrics (AWS denied cloudwatch:PutMetricData on SESMail/test");
            expect(sfn.commandCalls(StartExecutionCommand)).to.have.length(1);
        });

        it("rejects bad options with commander's usage error", async () => {
            const noStack = await run("token", "refresh");
            expect(noStack.code).to.equal(1);
            expect(noStack.stderr).to.include("required option '--stack <name>' not specified");
            const badPort = await run("token", "refresh", "--stack", "test", "--port", "70000");
            expect(badPort.code).to.equal(1);
            expect(badPort.stderr).to.include("a port number (0-65535; 0 picks a free one)");
        });

        it("an account the stack does not forward to is refused with the config key", async () => {
            const { code, stderr } = await run("token", "refresh", "--stack", "test", "--account", "stranger@gmail.com", "--port", "0");
            expect(code).to.equal(1);
            expect(stderr).to.include("stranger@gmail.com is not in ses-mail:ingest.gmailAccounts of Pulumi.test.yaml");
        });
    });

    describe("loopback page", () => {
        /** A request any web page can make the browser send while the command waits. */
        async function callback(query: Record<string, string>) {
            const loopback = await startLoopback(0);
            try {
                const url = new URL(loopback.redirectUri);
                for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
                const response = await fetch(url);
                return { status: response.status, csp: response.headers.get("content-security-policy"), html: await response.text() };
            } finally {
                await loopback.close();
            }
        }

        it("writes the error parameter as text, never as markup, on a page that runs no script", async () => {
            const { status, csp, html } = await callback({ error: "<script>alert(document.domain)</script>", state: "forged" });
            expect(status).to.equal(400);
            expect(html).to.not.include("<script");
            expect(html).to.include("Google answered: &lt;script&gt;alert(document.domain)&lt;/script&gt;. See the terminal.");
            expect(csp).to.equal("default-src 'none'; style-src 'unsafe-inline'");
        });

        it("escapes any text so that only the page's own tags remain", () => {
            fc.assert(fc.property(fc.string({ unit: "binary" }), (text) => {
                const escaped = escapeHtml(text);
                expect(escaped).to.not.match(/[<>"']/);
                // Every & starts one of the five entities, so the browser shows exactly the text.
                expect(escaped.replace(/&(amp|lt|gt|quot|#39);/g, "")).to.not.include("&");
                expect(escaped.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"").replace(/&#39;/g, "'").replace(/&amp;/g, "&")).to.equal(text);
            }));
        });
    });

    describe("status", () => {
        it("prints seconds until expiry and the last probe result", async () => {
            ssm.on(ListTagsForResourceCommand, { ResourceType: "Parameter", ResourceId: TOKEN }).resolves({ TagList: [
                { Key: "expires_at_epoch", Value: String(NOW_EPOCH + 2 * 86400 + 3 * 3600) }, { Key: "expires_at", Value: "2026-11-24T13:00:00.000Z" },
                { Key: "last_probe_result", Value: "valid" }, { Key: "last_probe_at", Value: "2026-11-22T09:00:00.000Z" },
            ] });
            const { code, stdout } = await run("token", "status", "--stack", "test");
            expect(code).to.equal(0);
            expect(stdout).to.equal([
                "you@gmail.com",
                "  seconds until expiry: 183600 (2 d 3 h, at 2026-11-24T13:00:00.000Z)",
                "  last probe: valid at 2026-11-22T09:00:00.000Z",
                "",
            ].join("\n"));
        });

        it("exits 1 for an expired, refused or missing token, with the command that fixes it", async () => {
            ssm.on(ListTagsForResourceCommand).resolves({ TagList: [{ Key: "expires_at_epoch", Value: String(NOW_EPOCH - 3600) }, { Key: "last_probe_result", Value: "invalid" }, { Key: "last_probe_at", Value: "2026-11-22T09:00:00.000Z" }] });
            const expired = await run("token", "status", "--stack", "test");
            expect(expired.code).to.equal(1);
            expect(expired.stdout).to.include("seconds until expiry: -3600 (EXPIRED 0 d 1 h ago)").and.include("Google refused the token: run npx ses-mail token refresh --stack test --account you@gmail.com");
            ssm.on(ListTagsForResourceCommand).rejects(Object.assign(new Error("not found"), { name: "InvalidResourceId" }));
            const missing = await run("token", "status", "--stack", "test");
            expect(missing.code).to.equal(1);
            expect(missing.stdout).to.include("no refresh token stored: run npx ses-mail token refresh --stack test --account you@gmail.com");
            // A token stored by hand (no tags): stored, but its expiry is unknown.
            ssm.on(ListTagsForResourceCommand).resolves({ TagList: [] });
            const untagged = await run("token", "status", "--stack", "test");
            expect(untagged.code).to.equal(1);
            expect(untagged.stdout).to.include("seconds until expiry: unknown (no expires_at_epoch tag)").and.include("last probe: none yet");
        });

        it("right after a refresh, the last probe's \"invalid\" (about the previous token) is not a verdict on the new one", async () => {
            ssm.on(ListTagsForResourceCommand).resolves({ TagList: [
                { Key: "created_at", Value: "2026-11-22T09:30:00.000Z" }, { Key: "expires_at_epoch", Value: String(NOW_EPOCH + 6 * 86400) },
                { Key: "last_probe_result", Value: "invalid" }, { Key: "last_probe_at", Value: "2026-11-22T09:00:00.000Z" },
            ] });
            const { code, stdout } = await run("token", "status", "--stack", "test");
            expect(code).to.equal(0);
            expect(stdout).to.include("  last probe: invalid at 2026-11-22T09:00:00.000Z, before this token was stored (2026-11-22T09:30:00.000Z): not a verdict on it").and.not.include("Google refused");
        });

        it("a probe result counts only when the probe ran at or after the token was stored", () => {
            const settings = { stack: "test" } as Parameters<typeof describeStatus>[1];
            const time = fc.integer({ min: Date.parse("2026-01-01"), max: Date.parse("2027-01-01") }).map((ms) => new Date(ms).toISOString());
            fc.assert(fc.property(time, time, fc.constantFrom("valid", "invalid", "unreachable"), (storedAt, probeAt, result) => {
                const { healthy, lines } = describeStatus({ account: "you@gmail.com", stored: true, secondsUntilExpiry: 86400, storedAt, lastProbe: { result, at: probeAt } }, settings);
                const current = Date.parse(probeAt) >= Date.parse(storedAt);
                expect(probeJudgesStoredToken(probeAt, storedAt)).to.equal(current);
                expect(healthy).to.equal(!(current && result === "invalid"));
                expect(lines.some((line) => line.includes("before this token was stored"))).to.equal(!current);
            }));
            // No stored time (a token stored before created_at existed) or an unreadable one: the result counts.
            expect([probeJudgesStoredToken("2026-11-22T09:00:00.000Z", undefined), probeJudgesStoredToken("2026-11-22T09:00:00.000Z", "?"), probeJudgesStoredToken("?", "2026-11-22T09:00:00.000Z")]).to.deep.equal([true, true, true]);
        });
    });
});

function listen(port: number): Promise<Server> {
    const server = createServer((_, response) => response.end());
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve(server));
    });
}

function close(server: Server): Promise<void> {
    return new Promise((resolve) => server.close(() => resolve()));
}
