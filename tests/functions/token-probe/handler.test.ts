import { AddTagsToResourceCommand, GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { bundleFunction } from "../../../components/bundle";
import { TokenMonitor } from "../../../components/token-monitor";
import { hashAddress } from "../../../functions/shared/logging";
import { classifyExchangeError } from "../../../functions/token-probe/probe";
import { FakeGoogle, startFakeGoogle } from "../../support/fake-google";
import { runUnderMocks } from "../../support/mocks";
import { captureOutput, metricPoints } from "../../support/output";
import { VirtualClock } from "../../support/sim/clock";
import { LogLine, SimFunction } from "../../support/sim/lambda";

const CLIENT = "/ses-mail/test/gmail-forwarder/oauth/client-credentials";
const TOKEN = "/ses-mail/test/gmail-forwarder/oauth/refresh-token/you_at_gmail.com";

describe("token-probe handler (fake OAuth token endpoint on loopback)", () => {
    let google: FakeGoogle;
    let ssm: AwsClientStub<SSMClient>;
    let handler: () => Promise<{ account: string; outcome: string }>;
    const saved = { ...process.env };

    async function run() {
        let error: Error | undefined;
        const { result, lines } = await captureOutput(() => handler().catch((e: Error) => {
            error = e;
            return undefined;
        }));
        const logs = lines.filter((l): l is Record<string, any> => typeof l === "object" && l !== null && "level" in l);
        return { result, error, points: metricPoints(lines), logs };
    }
    const tagged = () => ssm.commandCalls(AddTagsToResourceCommand).map((c) => c.args[0].input);

    before(async () => {
        google = await startFakeGoogle();
        const { plan } = await runUnderMocks(() => new TokenMonitor("token", { env: "test", account: "you@gmail.com", alertTopicArn: "arn:aws:sns:us-east-1:1:t" }));
        // The function's environment exactly as the component sets it, plus the fake endpoint.
        Object.assign(process.env, plan.one("aws:lambda/function:Function").inputs.environment.variables, {
            OAUTH_TOKEN_URL: google.tokenUrl, OAUTH_TIMEOUT_MS: "2000",
            AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local",
        });
        ssm = mockClient(SSMClient);
        ({ handler } = await import("../../../functions/token-probe/handler"));
    });

    after(async () => {
        ssm.restore();
        process.env = saved;
        await google.close();
    });

    beforeEach(() => {
        ssm.reset();
        google.tokenRequests.length = 0;
        google.tokenBehaviour = "ok";
        ssm.on(GetParameterCommand, { Name: CLIENT, WithDecryption: true }).resolves({ Parameter: { Value: JSON.stringify({ installed: { client_id: "cid.apps.googleusercontent.com", client_secret: "csecret" } }) } });
        ssm.on(GetParameterCommand, { Name: TOKEN, WithDecryption: true }).resolves({ Parameter: { Value: JSON.stringify({ refresh_token: "1//refresh-you", expires_at_epoch: 1900000000 }) } });
        ssm.on(AddTagsToResourceCommand).resolves({});
    });

    it("valid: exchanges the stored refresh token, publishes TokenValid 1 for the account, records the result", async () => {
        const { result, points } = await run();
        expect(result).to.deep.equal({ account: "you@gmail.com", outcome: "valid" });
        expect(google.tokenRequests.map((r) => Object.fromEntries(r))).to.deep.equal([{ refresh_token: "1//refresh-you", client_id: "cid.apps.googleusercontent.com", client_secret: "csecret", grant_type: "refresh_token" }]);
        expect(points).to.deep.equal([{ name: "TokenValid", value: 1, dimensions: { account: "you@gmail.com" } }]);
        const [tags] = tagged();
        expect(tags).to.deep.include({ ResourceType: "Parameter", ResourceId: TOKEN });
        expect(tags.Tags?.find((t) => t.Key === "last_probe_result")?.Value).to.equal("valid");
        expect(Date.now() - Date.parse(tags.Tags!.find((t) => t.Key === "last_probe_at")!.Value!)).to.be.within(0, 60_000);
    });

    it("invalid_grant (revoked, expired, password changed): TokenValid 0 and an error log naming the fix", async () => {
        google.tokenBehaviour = "invalid_grant";
        const { result, points, logs } = await run();
        expect(result).to.deep.equal({ account: "you@gmail.com", outcome: "invalid" });
        expect(points).to.deep.equal([{ name: "TokenValid", value: 0, dimensions: { account: "you@gmail.com" } }]);
        expect(tagged()[0].Tags?.find((t) => t.Key === "last_probe_result")?.Value).to.equal("invalid");
        const error = logs.find((l) => l.level === "ERROR");
        expect(error).to.deep.include({ account: "you@gmail.com", outcome: "invalid", reason: "invalid_grant: Token has been expired or revoked." });
        expect(error?.message).to.include("npx ses-mail token refresh");
    });

    it("network failure: says nothing about the token (no TokenValid), records unreachable, and fails the invocation", async () => {
        google.tokenBehaviour = "network";
        const { error, points } = await run();
        expect(error?.message).to.match(/^Token probe for you@gmail.com: network: /);
        expect(points).to.deep.equal([]);
        expect(tagged()[0].Tags?.find((t) => t.Key === "last_probe_result")?.Value).to.equal("unreachable");
        // google-auth-library retried the dropped connection before giving up.
        expect(google.tokenRequests.length).to.be.greaterThan(1);
    });

    it("no token stored yet: TokenValid 0 without calling Google", async () => {
        ssm.on(GetParameterCommand, { Name: TOKEN, WithDecryption: true }).rejects(new ParameterNotFound({ message: "not found", $metadata: {} }));
        const { result, points, logs } = await run();
        expect(result?.outcome).to.equal("missing");
        expect(google.tokenRequests).to.have.length(0);
        expect(points).to.deep.equal([{ name: "TokenValid", value: 0, dimensions: { account: "you@gmail.com" } }]);
        expect(logs.find((l) => l.level === "ERROR")?.reason).to.equal(`no refresh token at ${TOKEN}; run: npx ses-mail token refresh`);
        expect(tagged()).to.deep.equal([]);
    });

    it("a token parameter that is not JSON: TokenValid 0 and a fixed reason, never a piece of the value", async () => {
        const secret = "1//0Zq7Xw9Vb3Kp5Jd8Hs2Lf";
        ssm.on(GetParameterCommand, { Name: TOKEN, WithDecryption: true }).resolves({ Parameter: { Value: `{"refresh_token":x${secret}"}` } });
        const { result, error, points, logs } = await run();
        expect(error).to.equal(undefined);
        expect(result?.outcome).to.equal("missing");
        expect(google.tokenRequests).to.have.length(0);
        expect(points).to.deep.equal([{ name: "TokenValid", value: 0, dimensions: { account: "you@gmail.com" } }]);
        expect(logs.find((l) => l.level === "ERROR")?.reason).to.equal(`${TOKEN} is not valid JSON; run: npx ses-mail token refresh`);
        // JSON.parse's own message would quote about ten characters around the fault.
        const printed = JSON.stringify(logs);
        for (let i = 0; i + 6 <= secret.length; i++) expect(printed).to.not.include(secret.slice(i, i + 6));
    });

    it("LOG_ADDRESSES=hashed (the bundle as deployed): the account is hashed in its logs, kept as the alarm's metric dimension", async () => {
        const plan = (await runUnderMocks(() => new TokenMonitor("token", { env: "test", account: "you@gmail.com", alertTopicArn: "arn:aws:sns:us-east-1:1:t" }))).plan;
        const fn = plan.one("aws:lambda/function:Function").inputs;
        const lines: LogLine[] = [];
        const sim = new SimFunction({
            logicalName: "probe", name: fn.name, arn: `arn:aws:lambda:us-east-1:123456789012:function:${fn.name}`, timeoutSeconds: 30, memorySize: 256,
            environment: { ...fn.environment.variables, OAUTH_TOKEN_URL: google.tokenUrl, OAUTH_TIMEOUT_MS: "2000" }, code: bundleFunction("token-probe").code,
        }, { clock: new VirtualClock(), region: "us-east-1", envOverrides: { LOG_ADDRESSES: "hashed", LOG_ADDRESS_SALT: "salt" }, onLog: (_fn, line) => lines.push(line) });
        expect(await sim.invoke({})).to.deep.equal({ kind: "ok", value: { account: "you@gmail.com", outcome: "valid" } });
        const logs = lines.filter((l): l is Record<string, any> => typeof l === "object" && "level" in l);
        expect(logs.find((l) => l.message === "Gmail refresh token is valid")).to.deep.include({ account: hashAddress("you@gmail.com", "salt"), outcome: "valid" });
        expect(JSON.stringify(logs)).to.not.include("you@gmail.com");
        // CloudWatch matches dimensions exactly: the TokenValid alarm is per account (AWS-SEMANTICS.md).
        expect(metricPoints(lines)).to.deep.equal([{ name: "TokenValid", value: 1, dimensions: { account: "you@gmail.com" } }]);
    });
});

describe("token exchange classification", () => {
    const gaxios = (status: number | undefined, data?: unknown, code?: string) => Object.assign(new Error("request failed"), { status, code, response: status ? { status, data } : undefined });
    const cases: [string, unknown, string][] = [
        ["invalid_grant", gaxios(400, { error: "invalid_grant", error_description: "Bad Request" }), "invalid"],
        ["deleted OAuth client", gaxios(401, { error: "invalid_client", error_description: "The OAuth client was not found." }), "invalid"],
        ["other 400", gaxios(400, { error: "invalid_request" }), "invalid"],
        ["Google 503", gaxios(503, { error: "backend" }), "unreachable"],
        ["rate limited", gaxios(429, {}), "unreachable"],
        ["DNS failure", gaxios(undefined, undefined, "EAI_AGAIN"), "unreachable"],
    ];
    for (const [label, error, outcome] of cases) {
        it(`${label} → ${outcome}`, () => expect(classifyExchangeError(error).outcome).to.equal(outcome));
    }
});
