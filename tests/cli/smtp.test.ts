// `ses-mail smtp …` end to end: argument parsing to output and exit code, against dynalite with
// the routing table MailIngest defines (where SmtpCredentials keeps its records when the stack
// receives mail), reached through AWS_ENDPOINT_URL_DYNAMODB; KMS through aws-sdk-client-mock.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AttributeValue, DeleteItemCommand, GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { DecryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { recordingConfirm, runMain } from "./run-cli";
import { MailIngest } from "../../components/mail-ingest";
import { SmtpCredentials } from "../../components/smtp-credentials";
import { SuppressionStore } from "../../components/suppression-store";
import { parseSmtpRecord, senderValues } from "../../functions/smtp-credential-manager/logic";
import { createTableFrom, LocalDynamo, startDynalite } from "../support/dynalite";
import { runUnderMocks } from "../support/mocks";

type Item = Record<string, AttributeValue>;
const NOW = new Date("2026-11-22T10:00:00.000Z");
const TABLE = "ses-mail-email-routing-test";
const DOMAIN = "mail-test.example.com"; // feedback.domains of Pulumi.test.yaml
const KEY = { PK: { S: "SMTP_USER#app-sender" }, SK: { S: "CREDENTIALS#v1" } };
/** docs/SENDING.md's put-item (## SMTP users), as the manager left it once provisioned. */
const ACTIVE: Item = {
    ...KEY, entity_type: { S: "SMTP_CREDENTIALS" }, allowed_senders: { L: [{ S: `app@${DOMAIN}` }] }, status: { S: "active" },
    created_at: { S: "2026-11-01T10:00:00.000Z" }, description: { S: "SMTP credentials for application" },
    iam_user_name: { S: "ses-smtp-user-app-sender-1761991200" }, iam_user_arn: { S: "arn:aws:iam::123456789012:user/ses-mail/test/ses-smtp-user-app-sender-1761991200" },
    smtp_username: { S: "AKIAEXAMPLE" }, encrypted_credentials: { S: Buffer.from("ciphertext").toString("base64") },
};

describe("ses-mail smtp (command end to end against dynalite)", () => {
    let local: LocalDynamo;
    let dir: string;
    let kms: AwsClientStub<KMSClient>;
    const saved = { ...process.env };
    const questions: string[] = [];
    let answer: boolean;

    const run = (...argv: string[]) => runMain(["smtp", ...argv], { now: () => NOW, confirm: recordingConfirm(questions, () => answer) });
    const put = (item: Item) => local.client.send(new PutItemCommand({ TableName: TABLE, Item: item }));
    const get = async (user = "app-sender") => {
        const { Item: item } = await local.client.send(new GetItemCommand({ TableName: TABLE, Key: { PK: { S: `SMTP_USER#${user}` }, SK: { S: "CREDENTIALS#v1" } } }));
        return item ? unmarshall(item) : undefined;
    };
    const all = async () => (await local.client.send(new ScanCommand({ TableName: TABLE }))).Items ?? [];
    /** What the manager does to a pending record, after a while. */
    const manager = (fields: Record<string, unknown>, afterMs: number) => new Promise<void>((resolve) => setTimeout(() => {
        void local.client.send(new UpdateItemCommand({
            TableName: TABLE, Key: KEY, UpdateExpression: `SET ${Object.keys(fields).map((_, i) => `#k${i} = :v${i}`).join(", ")}`,
            ExpressionAttributeNames: Object.fromEntries(Object.keys(fields).map((k, i) => [`#k${i}`, k])),
            ExpressionAttributeValues: marshall(Object.fromEntries(Object.values(fields).map((v, i) => [`:v${i}`, v]))),
        })).then(() => resolve());
    }, afterMs));

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new MailIngest("ingest", { env: "test", domains: [DOMAIN], suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        expect(await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "ingest-routing"))).to.equal(TABLE);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-smtp-"));
        Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
        kms = mockClient(KMSClient);
    });
    after(async () => {
        kms.restore();
        process.env = saved;
        fs.rmSync(dir, { recursive: true, force: true });
        await local.close();
    });
    beforeEach(async () => {
        for (const item of await all()) await local.client.send(new DeleteItemCommand({ TableName: TABLE, Key: { PK: item.PK, SK: item.SK } }));
        questions.length = 0;
        answer = true;
        kms.reset();
    });

    describe("which deployment", () => {
        it("--stack (routing table: the stack receives mail), --env, --outputs smtpCredentialsTableName all reach the same records", async () => {
            await put(ACTIVE);
            const outputs = path.join(dir, "outputs.json");
            fs.writeFileSync(outputs, JSON.stringify({ smtpCredentialsTableName: TABLE, smtpCredentialsKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/k" }));
            for (const target of [["--stack", "test"], ["--env", "test"], ["--outputs", outputs]]) {
                const { code, stdout } = await run("list", ...target, "--json");
                expect(code, target.join(" ")).to.equal(0);
                expect(JSON.parse(stdout).map((u: { username: string; status: string }) => [u.username, u.status])).to.deep.equal([["app-sender", "active"]]);
            }
        });

        it("--own-table names SmtpCredentials' own table exactly as the component does", async () => {
            const { plan } = await runUnderMocks(() => new SmtpCredentials("smtp", { env: "qa", namePrefix: "acme", identityArns: [] }));
            const { code, stderr } = await run("list", "--env", "qa", "--name-prefix", "acme", "--own-table");
            // dynalite has no such table: the CLI names the one it looked for.
            expect([code, stderr]).to.deep.equal([1, `No table ${plan.one("aws:dynamodb/table:Table", "smtp-table").inputs.name} in us-east-1: check --stack / --env (--own-table when the stack receives no mail) / --outputs and --region.\n`]);
        });

        it("usage errors exit 2: no deployment, two of them, a bad username, an unknown option", async () => {
            const cases: [string[], RegExp][] = [
                [["list"], /^Say which deployment/],
                [["list", "--stack", "test", "--env", "test"], /^Give one of --stack, --env and --outputs/],
                [["show", "bad user", "--env", "test"], /may only contain letters, digits/],
                [["show", "a".repeat(40), "--env", "test"], /at most 39 fit/],
                [["list", "--env", "test", "--colour"], /unknown option '--colour'/],
                [["list", "--stack", "test", "--own-table"], /--own-table goes with --env/],
            ];
            for (const [argv, message] of cases) {
                const { code, stderr } = await run(...argv);
                expect(code, argv.join(" ")).to.equal(2);
                expect(stderr, argv.join(" ")).to.match(message);
            }
        });

        it("every command's --help shows an example", async () => {
            for (const name of ["list", "show", "create", "credentials", "enable", "disable", "rotate", "delete"]) {
                const { stdout } = await run(name, "--help");
                expect(stdout, name).to.match(new RegExp(`Example:\\n  \\$ ses-mail smtp ${name}`));
            }
        });
    });

    describe("create", () => {
        it("writes docs/SENDING.md's record, conditional on absence, and reports the manager's active outcome", async () => {
            const provisioned = manager({ status: "active", smtp_username: "AKIAEXAMPLE", iam_user_name: "ses-smtp-user-app-sender-1" }, 60);
            const { code, stdout } = await run("create", "app-sender", "--sender", `App@${DOMAIN}`, "--sender", `notifications@${DOMAIN}`, "--description", "SMTP credentials for application", "--stack", "test", "--poll-ms", "20");
            await provisioned;
            expect(code).to.equal(0);
            expect(stdout).to.match(/app-sender is active \(SMTP username AKIAEXAMPLE, IAM user ses-smtp-user-app-sender-1\)/);
            const item = (await local.client.send(new GetItemCommand({ TableName: TABLE, Key: KEY }))).Item!;
            // docs/SENDING.md's item: the senders as the manager normalises them (trimmed, lowercased, sorted).
            expect(item.entity_type).to.deep.equal({ S: "SMTP_CREDENTIALS" });
            expect(item.allowed_senders).to.deep.equal({ L: [{ S: `app@${DOMAIN}` }, { S: `notifications@${DOMAIN}` }] });
            expect(item.created_at).to.deep.equal({ S: NOW.toISOString() });
            expect(item.description).to.deep.equal({ S: "SMTP credentials for application" });
            expect(item).to.not.have.property("allow_domain_wildcard");

            const again = await run("create", "app-sender", "--sender", `app@${DOMAIN}`, "--stack", "test", "--no-wait");
            expect(again.code).to.equal(2);
            expect(again.stderr).to.match(/already exists/);
            expect((await get())!.status).to.equal("active");
        });

        it("reports failed (exit 1, the manager's error) and a timeout (exit 1); --no-wait returns at once", async () => {
            const failed = manager({ status: "failed", error: "AccessDenied" }, 40);
            const a = await run("create", "app-sender", "--sender", `app@${DOMAIN}`, "--env", "test", "--poll-ms", "10");
            await failed;
            expect([a.code, a.stdout]).to.deep.equal([1, "(Stack domains unknown without --stack: the manager refuses senders outside its SES identities.)\napp-sender is failed: AccessDenied\n"]);
            await local.client.send(new DeleteItemCommand({ TableName: TABLE, Key: KEY }));
            const b = await run("create", "app-sender", "--sender", `app@${DOMAIN}`, "--stack", "test", "--timeout", "0.1", "--poll-ms", "20");
            expect([b.code, b.stdout]).to.deep.equal([1, "app-sender is still pending after 0.1 s: is the manager deployed? See ses-mail smtp show app-sender.\n"]);
            await local.client.send(new DeleteItemCommand({ TableName: TABLE, Key: KEY }));
            const c = await run("create", "app-sender", "--sender", `app@${DOMAIN}`, "--stack", "test", "--no-wait", "--json");
            expect([c.code, JSON.parse(c.stdout)]).to.deep.equal([0, { username: "app-sender", status: "pending" }]);
        });

        it("*@<domain> only with --allow-domain-wildcard, written as docs/SENDING.md's allow_domain_wildcard BOOL", async () => {
            const refused = await run("create", "app-sender", "--sender", `*@${DOMAIN}`, "--stack", "test", "--no-wait");
            expect(refused.code).to.equal(2);
            expect(await get()).to.equal(undefined);
            const ok = await run("create", "app-sender", "--sender", `*@${DOMAIN}`, "--allow-domain-wildcard", "--stack", "test", "--no-wait");
            expect(ok.code).to.equal(0);
            const item = (await local.client.send(new GetItemCommand({ TableName: TABLE, Key: KEY }))).Item!;
            expect(item.allow_domain_wildcard).to.deep.equal({ BOOL: true });
        });

        it("refuses (exit 2, nothing written) exactly what the manager would refuse for the stack's identities", async () => {
            const identity = `arn:aws:ses:us-east-1:123456789012:identity/${DOMAIN}`;
            const sender = fc.oneof(
                fc.constantFrom("*", "*@*", "?*", `ceo*@${DOMAIN}`, `*@${DOMAIN}`, "app@other.example.org", `app@sub.${DOMAIN}`, "not an address"),
                fc.emailAddress(),
                fc.emailAddress().map((a) => `${a.split("@")[0]}@${DOMAIN}`),
            );
            await fc.assert(fc.asyncProperty(fc.array(sender, { minLength: 1, maxLength: 3 }), async (senders) => {
                await local.client.send(new DeleteItemCommand({ TableName: TABLE, Key: KEY }));
                const { code } = await run("create", "app-sender", ...senders.flatMap((s) => ["--sender", s]), "--stack", "test", "--no-wait");
                const manager = senderValues({ allowedSenders: senders, allowDomainWildcard: false }, [identity]);
                expect(code, senders.join(" ")).to.equal(manager.problem ? 2 : 0);
                expect(await get() !== undefined).to.equal(!manager.problem);
            }), { numRuns: 25 });
        });
    });

    describe("show, list, credentials", () => {
        it("show: status, senders, IAM user, key age, last error (exit 1 while out of sync)", async () => {
            await put({ ...ACTIVE, last_error: { S: "Throttling" }, out_of_sync_since: { S: "2026-11-22T09:00:00.000Z" } });
            const { code, stdout } = await run("show", "app-sender", "--stack", "test");
            expect(code).to.equal(1);
            expect(stdout).to.equal([
                "app-sender: active",
                `  senders: app@${DOMAIN}`,
                "  description: SMTP credentials for application",
                "  iam user: ses-smtp-user-app-sender-1761991200 (arn:aws:iam::123456789012:user/ses-mail/test/ses-smtp-user-app-sender-1761991200)",
                "  smtp username: AKIAEXAMPLE; key age: 21 days (since 2026-11-01T10:00:00.000Z)",
                "  last error: Throttling (out of sync since 2026-11-22T09:00:00.000Z)",
                "",
            ].join("\n"));
            const missing = await run("show", "nobody", "--stack", "test");
            expect([missing.code, missing.stderr]).to.deep.equal([1, `No SMTP user "nobody" in ${TABLE}.\n`]);
        });

        it("list skips other items of the routing table (rules, IAM_USER# registry items)", async () => {
            await put(ACTIVE);
            await put({ PK: { S: "SMTP_USER#app-sender" }, SK: { S: "IAM_USER#ses-smtp-user-app-sender-1" } });
            await put({ PK: { S: "ROUTE#a@example.com" }, SK: { S: "RULE#v1" }, action: { S: "store" } });
            const { stdout } = await run("list", "--stack", "test");
            expect(stdout).to.equal(`app-sender\tactive\tapp@${DOMAIN}\tSMTP credentials for application\n`);
        });

        it("credentials: KMS Decrypt with the context username=<user>; host, ports, username, password; a warning on stderr", async () => {
            await put(ACTIVE);
            kms.on(DecryptCommand).resolves({ Plaintext: Buffer.from(JSON.stringify({ access_key_id: "AKIAEXAMPLE", smtp_password: "BPa55w0rd" })) });
            const { code, stdout, stderr } = await run("credentials", "app-sender", "--stack", "test", "--json");
            expect(code).to.equal(0);
            // https://docs.aws.amazon.com/ses/latest/dg/smtp-connect.html: email-smtp.<region>.amazonaws.com, STARTTLS 587, TLS wrapper 465.
            expect(JSON.parse(stdout)).to.deep.equal({ host: "email-smtp.us-east-1.amazonaws.com", ports: [587, 465], username: "AKIAEXAMPLE", password: "BPa55w0rd" });
            expect(stderr).to.match(/^Warning: the SMTP password of app-sender follows: a secret/);
            const input = kms.commandCalls(DecryptCommand)[0].args[0].input;
            expect(input.EncryptionContext).to.deep.equal({ username: "app-sender" });
            expect(Buffer.from(input.CiphertextBlob!).toString()).to.equal("ciphertext");

            await put({ ...ACTIVE, status: { S: "pending" }, encrypted_credentials: { NULL: true } });
            const pending = await run("credentials", "app-sender", "--stack", "test");
            expect([pending.code, pending.stderr]).to.deep.equal([1, "app-sender has no credentials yet (status pending): see ses-mail smtp show app-sender.\n"]);
        });
    });

    describe("disable, enable, rotate, delete", () => {
        it("disable and enable flip status between active and disabled only", async () => {
            await put(ACTIVE);
            expect((await run("disable", "app-sender", "--stack", "test")).code).to.equal(0);
            expect(parseSmtpRecord((await get())!).status).to.equal("disabled");
            expect((await run("enable", "app-sender", "--stack", "test")).code).to.equal(0);
            expect((await get())!.status).to.equal("active");
            // A user disabled for a restricted sender: enabling clears why it was disabled.
            await put({ ...ACTIVE, status: { S: "disabled" }, disabled_reason: { S: "sender restricted" }, disabled_by_restriction: { S: "app@mail.example.com" }, disabled_at: { S: "2026-12-01T00:00:00.000Z" } });
            expect((await run("enable", "app-sender", "--stack", "test")).code).to.equal(0);
            expect(Object.keys((await get())!)).to.not.include.members(["disabled_reason", "disabled_by_restriction", "disabled_at"]);
            await put({ ...ACTIVE, status: { S: "failed" } });
            const refused = await run("enable", "app-sender", "--stack", "test");
            expect([refused.code, refused.stderr]).to.deep.equal([1, "app-sender is failed: only active and disabled users are enabled.\n"]);
            expect((await get())!.status).to.equal("failed");
            const missing = await run("disable", "nobody", "--stack", "test");
            expect([missing.code, missing.stderr]).to.deep.equal([1, `No SMTP user "nobody" in ${TABLE}.\n`]);
            expect(await get("nobody")).to.equal(undefined);
        });

        it("rotate sets rotate_requested_at", async () => {
            await put(ACTIVE);
            expect((await run("rotate", "app-sender", "--stack", "test")).code).to.equal(0);
            expect((await get())!.rotate_requested_at).to.equal(NOW.toISOString());
        });

        it("delete asks unless --yes; declined keeps the record (exit 1)", async () => {
            await put(ACTIVE);
            answer = false;
            expect((await run("delete", "app-sender", "--stack", "test")).code).to.equal(1);
            expect(questions).to.have.length(1);
            expect(await get()).to.not.equal(undefined);
            answer = true;
            expect((await run("delete", "app-sender", "--stack", "test")).code).to.equal(0);
            expect(await get()).to.equal(undefined);
            await put(ACTIVE);
            expect((await run("delete", "app-sender", "--stack", "test", "--yes")).code).to.equal(0);
            expect(questions).to.have.length(2);
            expect(await get()).to.equal(undefined);
        });
    });
});
