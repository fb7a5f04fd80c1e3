// `ses-mail senders …` end to end: argument parsing to output and exit code, against dynalite with
// the events and senders tables FeedbackPipeline defines, reached through AWS_ENDPOINT_URL_DYNAMODB
// via a recording proxy (which DynamoDB operations the command issued: `list` must Query, never
// Scan); SNS and STS through aws-sdk-client-mock (`callerArn`, the CLI's STS seam, gives the
// commands their operator; stsCallerArn itself is tested against a mocked STSClient).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { DeleteItemCommand, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { stsCallerArn } from "../../cli/aws";
import { recordingConfirm, runMain } from "./run-cli";
import { FeedbackPipeline } from "../../components/feedback-pipeline";
import { SuppressionStore } from "../../components/suppression-store";
import { SenderReputation } from "../../functions/shared/sender-reputation";
import { createTableFrom, LocalDynamo, startDynalite } from "../support/dynalite";
import { MOCK_ACCOUNT, runUnderMocks } from "../support/mocks";

const NOW = new Date("2026-11-22T10:00:00.000Z");
const OPERATOR = `arn:aws:sts::${MOCK_ACCOUNT}:assumed-role/OpsAdmin/alice@example.com`;
const TOPIC = `arn:aws:sns:us-east-1:${MOCK_ACCOUNT}:ses-mail-sender-notifications-test`;
const DAY = 86_400_000;

/** A proxy in front of dynalite that records each request's operation (X-Amz-Target) and body, and can refuse the next one. */
async function recordingProxy(target: string) {
    const calls: { operation: string; body: Record<string, unknown> }[] = [];
    let refuse: string | undefined;
    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
            const body = Buffer.concat(chunks);
            const operation = String(req.headers["x-amz-target"] ?? "").split(".").pop()!;
            calls.push({ operation, body: body.length ? JSON.parse(body.toString()) : {} });
            if (refuse && operation === refuse) {
                refuse = undefined;
                res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
                res.end(JSON.stringify({ __type: "com.amazon.coral.service#AccessDeniedException", message: `User: ${OPERATOR} is not authorized to perform: dynamodb:${operation}` }));
                return;
            }
            const url = new URL(target);
            const forward = http.request({ host: url.hostname, port: url.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
                res.writeHead(up.statusCode ?? 500, up.headers);
                up.pipe(res);
            });
            forward.end(body);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    return {
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        calls,
        refuseNext: (operation: string) => { refuse = operation; },
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
}

describe("ses-mail senders (command end to end against dynalite)", () => {
    let local: LocalDynamo;
    let proxy: Awaited<ReturnType<typeof recordingProxy>>;
    let sns: AwsClientStub<SNSClient>;
    let sendersTable: string;
    let eventsTable: string;
    const saved = { ...process.env };
    const questions: string[] = [];
    let answer: boolean;
    let clock: number;
    /** The CLI's clock: NOW, unless a test moves it (audit keys are ordered by time). */
    let cliNow: Date;

    function run(...argv: string[]) {
        proxy.calls.length = 0;
        return runMain(["senders", ...argv], { now: () => cliNow, confirm: recordingConfirm(questions, () => answer), callerArn: async () => OPERATOR });
    }
    const reputation = () => new SenderReputation({ tableName: sendersTable, client: local.client, now: () => clock });
    const items = async (table: string) => ((await local.client.send(new ScanCommand({ TableName: table }))).Items ?? []).map((i) => unmarshall(i));
    const audit = async (sender: string) => (await items(sendersTable)).filter((i) => i.pk === `SENDER#${sender}` && String(i.sk).startsWith("AUDIT#"));
    const complaint = (sender: string, messageId: string, recipient: string, atMs: number) => local.client.send(new PutItemCommand({
        TableName: eventsTable,
        Item: marshall({ pk: `Complaint#${messageId}`, sk: recipient, event_type: "Complaint", message_id: messageId, recipient, complaint_sender: sender, event_at: atMs, counted: true }),
    }));

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new FeedbackPipeline("feedback", { env: "test", suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        sendersTable = await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "feedback-senders"));
        eventsTable = await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "feedback-events"));
        proxy = await recordingProxy(local.endpoint);
        Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
        sns = mockClient(SNSClient);
    });
    after(async () => {
        sns.restore();
        process.env = saved;
        await proxy.close();
        await local.close();
    });
    beforeEach(async () => {
        for (const table of [sendersTable, eventsTable]) {
            for (const item of (await local.client.send(new ScanCommand({ TableName: table }))).Items ?? []) {
                await local.client.send(new DeleteItemCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk } }));
            }
        }
        questions.length = 0;
        answer = true;
        clock = NOW.getTime() - 10 * DAY;
        cliNow = NOW;
        sns.reset();
        sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    });

    it("names the tables and topic exactly as FeedbackPipeline does (--stack test reads Pulumi.test.yaml)", async () => {
        expect([sendersTable, eventsTable]).to.deep.equal(["ses-mail-sender-reputation-test", "ses-mail-feedback-events-test"]);
        const { code, stdout } = await run("list", "--stack", "test");
        expect(code).to.equal(0);
        expect(stdout).to.equal("No flagged or restricted senders in ses-mail-sender-reputation-test.\n");
    });

    it("every command has --help with an example (exit 0)", async () => {
        for (const command of ["list", "show", "restrict", "lift"]) {
            const { code, stdout } = await run(command, "--help");
            expect(code, command).to.equal(0);
            expect(stdout, command).to.match(new RegExp(`Example:\\n  \\$ ses-mail senders ${command} `));
        }
    });

    it("list: flagged and restricted senders by Query of the state index, never a Scan", async () => {
        const senders = reputation();
        await senders.raise("flagged@example.com", "flagged", 3);
        await senders.raise("bad@example.com", "restricted", 5);
        await senders.raise("lifted@example.com", "restricted", 6);
        await senders.lift("lifted@example.com", { operator: "bob", reason: "list cleaned" });
        const all = await run("list", "--env", "test", "--json");
        expect(all.code).to.equal(0);
        expect(JSON.parse(all.stdout).map((r: { sender: string; state: string; complaints: number }) => [r.sender, r.state, r.complaints]))
            .to.deep.equal([["bad@example.com", "restricted", 5], ["flagged@example.com", "flagged", 3]]);
        expect(proxy.calls.map((c) => c.operation)).to.deep.equal(["Query", "Query"]);
        expect(proxy.calls.map((c) => c.body.IndexName)).to.deep.equal(["state-index", "state-index"]);
        const restricted = await run("list", "--state", "restricted", "--env", "test");
        expect(restricted.stdout.split("\n")[1]).to.match(/^bad@example\.com\trestricted\t5\t2026-11-12T10:00:00\.000Z\tfeedback-worker\t$/);
        expect(proxy.calls.map((c) => c.operation)).to.deep.equal(["Query"]);
        expect((await run("list", "--state", "ok", "--env", "test")).code).to.equal(2);
    });

    it("show: the complaints in the window with message ids and dates, and the state history", async () => {
        const senders = reputation();
        await senders.raise("promo@example.com", "flagged", 3);
        clock += DAY;
        await senders.raise("promo@example.com", "restricted", 5);
        await senders.settle("promo@example.com", async () => undefined);
        await complaint("promo@example.com", "msg-recent", "angry@example.org", NOW.getTime() - 2 * DAY);
        await complaint("promo@example.com", "msg-old", "old@example.org", NOW.getTime() - 40 * DAY);
        await complaint("other@example.com", "msg-other", "x@example.org", NOW.getTime() - DAY);
        const { code, stdout } = await run("show", "Promo@Example.com", "--stack", "test", "--json");
        expect(code).to.equal(0);
        const view = JSON.parse(stdout);
        expect(view).to.deep.include({ sender: "promo@example.com", state: "restricted", windowDays: 30, announced: true });
        expect(view.complaints).to.deep.equal([{ messageId: "msg-recent", recipient: "angry@example.org", at: "2026-11-20T10:00:00.000Z" }]);
        expect(view.history.map((t: { from: string; to: string }) => `${t.from}>${t.to}`)).to.deep.equal(["flagged>restricted"]);
        const days = await run("show", "promo@example.com", "--env", "test", "--days", "60");
        expect(days.stdout).to.contain("complaints in the last 60 days: 2").and.contain("msg-old");
        // The complaints come from the complaint-sender index (a Query), the state item from a consistent read.
        const get = proxy.calls.find((c) => c.operation === "GetItem")!;
        expect(get.body.ConsistentRead).to.equal(true);
        expect(proxy.calls.filter((c) => c.operation === "Query").map((c) => c.body.IndexName ?? "table")).to.have.members(["table", "table", "complaint-sender-index"]);
    });

    it("restrict: recorded with the caller's ARN, when and why, announced on the topic, audited", async () => {
        const { code, stdout } = await run("restrict", "bad@example.com", "--reason", "bought list, 40 complaints", "--yes", "--env", "test", "--json");
        expect(code).to.equal(0);
        const transition = JSON.parse(stdout);
        expect(transition).to.deep.equal({ sender: "bad@example.com", from: "ok", to: "restricted", at: NOW.toISOString(), actor: OPERATOR, reason: "bought list, 40 complaints", announced: true });
        expect((await reputation().status("bad@example.com")).state).to.equal("restricted");
        const records = await audit("bad@example.com");
        expect(records).to.deep.equal([{ pk: "SENDER#bad@example.com", sk: `AUDIT#${NOW.toISOString()}#restricted`, sender: "bad@example.com", from: "ok", to: "restricted", at: NOW.toISOString(), actor: OPERATOR, reason: "bought list, 40 complaints" }]);
        const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
        expect(published).to.have.length(1);
        // --env: the topic is this account's (from the caller's ARN) of the component's name.
        expect(published[0].TopicArn).to.equal(TOPIC);
        expect(published[0].MessageAttributes).to.deep.equal({ state: { DataType: "String", StringValue: "restricted" } });
        expect(questions).to.deep.equal([]);
        expect((await run("restrict", "bad@example.com", "--reason", "again", "--yes", "--env", "test")).code).to.equal(2);
    });

    it("lift asks first; declined changes nothing (exit 1); accepted keeps the whole history with who and why", async () => {
        await run("restrict", "bad@example.com", "--reason", "bought list", "--yes", "--env", "test");
        answer = false;
        const declined = await run("lift", "bad@example.com", "--reason", "list cleaned", "--env", "test");
        expect(declined.code).to.equal(1);
        expect(declined.stdout).to.contain("Lift bad@example.com (now restricted): complaints before now stop counting; SMTP users disabled for it stay disabled");
        expect(questions).to.deep.equal(["Lift sender bad@example.com?"]);
        // Only the status was read (state item and newest audit record): nothing written.
        expect(proxy.calls.map((c) => c.operation)).to.have.members(["GetItem", "Query"]);
        answer = true;
        cliNow = new Date(NOW.getTime() + 3_600_000);
        const lifted = await run("lift", "bad@example.com", "--reason", "list cleaned", "--env", "test");
        expect(lifted.code).to.equal(0);
        expect(lifted.stdout).to.contain("bad@example.com is now ok: restricted → ok");
        const history = (await audit("bad@example.com")).map((r) => [r.from, r.to, r.actor, r.reason]);
        expect(history).to.deep.equal([["ok", "restricted", OPERATOR, "bought list"], ["restricted", "ok", OPERATOR, "list cleaned"]]);
        expect((await reputation().status("bad@example.com")).liftedAt).to.equal(cliNow.getTime());
        expect((await run("lift", "bad@example.com", "--reason", "again", "--yes", "--env", "test")).code).to.equal(2);
    });

    it("--dry-run shows the change and writes nothing, announces nothing", async () => {
        await reputation().raise("flagged@example.com", "flagged", 3);
        const { code, stdout } = await run("restrict", "flagged@example.com", "--reason", "pattern of abuse", "--dry-run", "--env", "test");
        expect(code).to.equal(0);
        expect(stdout).to.equal("(dry run) Restrict flagged@example.com (now flagged, 3 complaints): SMTP users allowed to send as it are disabled by the SMTP credential manager; applications asking SenderCheck are refused within their cache TTL. Reason: pattern of abuse\n");
        expect(proxy.calls.map((c) => c.operation)).to.not.include.members(["UpdateItem", "PutItem"]);
        expect(sns.commandCalls(PublishCommand)).to.have.length(0);
        expect((await reputation().status("flagged@example.com")).state).to.equal("flagged");
    });

    it("a failed announcement says so (exit 1); the same command again announces and audits that change once", async () => {
        sns.on(PublishCommand).rejectsOnce(Object.assign(new Error("KMS key disabled"), { name: "KMSDisabledException" }));
        const first = await run("restrict", "bad@example.com", "--reason", "bought list", "--yes", "--env", "test");
        expect(first.code).to.equal(1);
        expect(first.stderr).to.match(/^bad@example\.com is restricted \(recorded: ok → restricted at .* by arn:aws:sts::.*\), but announcing it on .* failed: KMS key disabled\. Run the same command again/);
        expect(first.stderr.split("\n")).to.have.length(2);
        expect(await audit("bad@example.com")).to.deep.equal([]);
        const again = await run("restrict", "bad@example.com", "--reason", "bought list", "--yes", "--env", "test");
        expect(again.code).to.equal(0);
        expect((await audit("bad@example.com")).map((r) => [r.to, r.actor])).to.deep.equal([["restricted", OPERATOR]]);
        expect(sns.commandCalls(PublishCommand)).to.have.length(2);
    });

    it("usage errors exit 2; AWS denials and a missing table are one line, exit 1", async () => {
        expect((await run("restrict", "bad@example.com", "--env", "test")).code).to.equal(2); // no --reason
        expect((await run("restrict", "bad@example.com", "--reason", "x", "--env", "test")).code).to.equal(2);
        expect((await run("list")).code).to.equal(2);
        expect((await run("list", "--env", "test", "--stack", "test")).code).to.equal(2);
        expect((await run("show", " ", "--env", "test")).code).to.equal(2);
        proxy.refuseNext("Query");
        const denied = await run("list", "--state", "flagged", "--env", "test");
        expect(denied.code).to.equal(1);
        expect(denied.stderr).to.match(/^AWS denied dynamodb:Query on ses-mail-sender-reputation-test\/index\/state-index: your role needs that permission/);
        expect(denied.stderr.split("\n")).to.have.length(2);
        const missing = await run("list", "--env", "nope");
        expect(missing.code).to.equal(1);
        expect(missing.stderr).to.equal("No table ses-mail-sender-reputation-nope (or its index) in us-east-1: check --stack / --env / --outputs and --region, and that the stack was deployed with this version.\n");
    });

    it("any reason of 3+ characters is recorded verbatim (trimmed) with the operator", async () => {
        await fc.assert(fc.asyncProperty(fc.string({ minLength: 3, maxLength: 60 }).filter((s) => s.trim().length >= 3 && !s.startsWith("-")), async (reason) => {
            for (const item of (await local.client.send(new ScanCommand({ TableName: sendersTable }))).Items ?? []) {
                await local.client.send(new DeleteItemCommand({ TableName: sendersTable, Key: { pk: item.pk, sk: item.sk } }));
            }
            const { code } = await run("restrict", "p@example.com", "--reason", reason, "--yes", "--env", "test");
            expect(code).to.equal(0);
            expect((await audit("p@example.com")).map((r) => [r.reason, r.actor])).to.deep.equal([[reason.trim(), OPERATOR]]);
        }), { numRuns: 15 });
    });

    it("stsCallerArn: GetCallerIdentity's ARN; a denied call is one line naming the permission", async () => {
        const sts = mockClient(STSClient);
        try {
            sts.on(GetCallerIdentityCommand).resolves({ Arn: OPERATOR });
            expect(await stsCallerArn("eu-west-1")).to.equal(OPERATOR);
            expect(sts.commandCalls(GetCallerIdentityCommand)).to.have.length(1);
            sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error("not allowed"), { name: "AccessDenied" }));
            const message = await stsCallerArn("eu-west-1").then(() => "", (e: Error) => e.message);
            expect(message).to.equal("AWS denied sts:GetCallerIdentity on your identity: your role needs that permission (not allowed).");
        } finally {
            sts.restore();
        }
    });

});
