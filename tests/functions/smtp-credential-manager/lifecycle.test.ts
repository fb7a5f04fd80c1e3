import { GetItemCommand, PutItemCommand, DeleteItemCommand } from "@aws-sdk/client-dynamodb";
import { EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { SmtpCredentials } from "../../../components/smtp-credentials";
import { deriveSmtpPassword } from "../../../functions/shared/smtp-password";
import { iamPort, kmsEncrypt, storePort } from "../../../functions/smtp-credential-manager/adapters";
import { parseSmtpRecord } from "../../../functions/smtp-credential-manager/logic";
import { handleChange, ManagerContext, sweepRetiringKeys } from "../../../functions/smtp-credential-manager/manager";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { FakeIam } from "../../support/fake-iam";
import { runUnderMocks } from "../../support/mocks";

const IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com";

describe("SMTP credential lifecycle (fake IAM, mocked KMS, dynalite table from SmtpCredentials)", () => {
    let local: LocalDynamo;
    let table: string;
    let iam: FakeIam;
    let kms: AwsClientStub<KMSClient>;
    let context: ManagerContext;
    let metrics: string[];
    let sequence: bigint;
    let clock: number;
    let kmsFailures: number;
    const store = () => storePort(DynamoDBDocumentClient.from(local.client, { marshallOptions: { removeUndefinedValues: true } }), table);

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new SmtpCredentials("smtp", { env: "test", identityArns: [IDENTITY] }));
        table = await createTableFrom(local, plan.one("aws:dynamodb/table:Table"));
    });
    after(() => local.close());

    beforeEach(() => {
        iam?.stub.restore();
        kms?.restore();
        iam = new FakeIam();
        const kmsClient = new KMSClient({ region: "us-east-1" });
        kms = mockClient(kmsClient);
        kmsFailures = 0;
        kms.on(EncryptCommand).callsFake(async (input) => {
            if (kmsFailures > 0) {
                kmsFailures -= 1;
                throw new Error("KMS throttled");
            }
            return { CiphertextBlob: Buffer.concat([Buffer.from(`kms(${input.EncryptionContext.username}):`), Buffer.from(input.Plaintext)]) };
        });
        metrics = [];
        sequence = 1000n;
        clock = Date.parse("2025-01-18T10:00:00Z");
        context = {
            iam: iamPort(iam.client), store: store(), encrypt: kmsEncrypt(kmsClient, "alias/ses-mail-smtp-credentials-test"),
            region: "us-east-1", identityArns: [IDENTITY], iamPath: "/ses-mail/test/", tags: { Service: "ses-mail" },
            maxAttempts: 3, rotationOverlapSeconds: 3600, now: () => new Date(clock), metric: (m) => metrics.push(m), log: () => undefined,
        };
    });
    after(() => {
        iam.stub.restore();
        kms.restore();
    });

    const key = (username: string) => ({ PK: { S: `SMTP_USER#${username}` }, SK: { S: "CREDENTIALS#v1" } });
    const read = async (username: string) => {
        const { Item } = await local.client.send(new GetItemCommand({ TableName: table, Key: key(username), ConsistentRead: true }));
        return Item ? unmarshall(Item) : undefined;
    };

    /** Writes an item as an operator would, then delivers the stream record DynamoDB would emit. */
    async function operator(username: string, change: Record<string, unknown> | "delete", deliveries = 1) {
        const before = await read(username);
        if (change === "delete") {
            await local.client.send(new DeleteItemCommand({ TableName: table, Key: key(username) }));
        } else {
            await local.client.send(new PutItemCommand({ TableName: table, Item: marshall({ ...before, ...change }, { removeUndefinedValues: true }) }));
        }
        const after = change === "delete" ? undefined : await read(username);
        sequence += 10n;
        const eventName = change === "delete" ? "REMOVE" : before ? "MODIFY" : "INSERT";
        const results = [];
        for (let i = 0; i < deliveries; i++) {
            results.push(await handleChange(eventName, String(sequence), before && parseSmtpRecord(before), after && parseSmtpRecord(after), context));
        }
        // The manager's own write comes back on the stream too, and must ask for nothing.
        const settled = await read(username);
        if (after && settled) expect(await handleChange("MODIFY", String(sequence + 1n), parseSmtpRecord(after), parseSmtpRecord(settled), context)).to.equal("none");
        return results;
    }
    const pending = (username: string, allowed = ["app@example.com", "notifications@example.com"]) => ({
        PK: `SMTP_USER#${username}`, SK: "CREDENTIALS#v1", entity_type: "SMTP_CREDENTIALS", username,
        allowed_senders: allowed, status: "pending", created_at: "2025-01-18T10:00:00Z", description: "SMTP credentials for application",
    });
    const decrypt = (encrypted: string) => JSON.parse(Buffer.from(encrypted, "base64").toString("utf8").replace(/^kms\([^)]*\):/, ""));

    it("creates the IAM user under the stack's path, its sending policy, a key and the encrypted SMTP password", async () => {
        expect(await operator("app-sender", pending("app-sender"))).to.deep.equal(["provision"]);
        const [name, user] = [...iam.users.entries()][0];
        expect(name).to.equal(`ses-smtp-user-app-sender-${clock / 1000}`);
        expect(user.path).to.equal("/ses-mail/test/");
        expect(user.tags).to.deep.include({ Service: "ses-mail", SmtpUsername: "app-sender" });
        expect(JSON.parse(user.policies["ses-smtp-send"]).Statement[0]).to.deep.equal({
            Sid: "SendAsAllowedSenders", Effect: "Allow", Action: ["ses:SendRawEmail", "ses:SendEmail"], Resource: [IDENTITY],
            Condition: { StringLike: { "ses:FromAddress": ["app@example.com", "notifications@example.com"] } },
        });
        expect(user.keys.map((k) => k.status)).to.deep.equal(["Active"]);
        const item = (await read("app-sender"))!;
        expect(item).to.deep.include({ status: "active", smtp_username: user.keys[0].id, iam_user_name: name, iam_user_arn: `arn:aws:iam::123456789012:user/ses-mail/test/${name}` });
        expect(decrypt(item.encrypted_credentials)).to.deep.equal({ access_key_id: user.keys[0].id, smtp_password: deriveSmtpPassword(user.keys[0].secret, "us-east-1") });
        expect(kms.commandCalls(EncryptCommand)[0].args[0].input.EncryptionContext).to.deep.equal({ username: "app-sender" });
        expect(metrics).to.deep.equal(["SMTPCredentialCreated"]);
    });

    for (const step of ["CreateUser", "PutUserPolicy", "CreateAccessKey", "Encrypt"]) {
        it(`a failure at ${step} rolls back what was created and retries; the retry succeeds`, async () => {
            if (step === "Encrypt") kmsFailures = 1;
            else iam.failNext.set(step, new Error(`${step} failed`));
            let error: unknown;
            const username = `retry-${step.toLowerCase()}`;
            await operator(username, pending(username)).catch((e) => (error = e));
            expect((error as Error).message).to.match(/failed|throttled/);
            expect(iam.users.size).to.equal(0);
            expect(await read(username)).to.deep.include({ status: "pending", provision_attempts: 1 });
            // The stream delivers the same record again.
            const record = parseSmtpRecord((await read(username))!);
            expect(await handleChange("INSERT", String(sequence), undefined, record, context)).to.equal("provision");
            expect(iam.users.size).to.equal(1);
            expect((await read(username))!.status).to.equal("active");
        });
    }

    it("after the last attempt the record is failed with the error, and nothing is left in IAM", async () => {
        iam.failNext.set("CreateUser", new Error("AccessDenied: not allowed"));
        await operator("doomed", pending("doomed")).catch(() => undefined);
        for (let attempt = 2; attempt <= 3; attempt++) {
            iam.failNext.set("CreateUser", new Error("AccessDenied: not allowed"));
            await handleChange("INSERT", String(sequence), undefined, parseSmtpRecord(pending("doomed")), context).catch(() => undefined);
        }
        expect(await read("doomed")).to.deep.include({ status: "failed", error: "AccessDenied: not allowed" });
        expect([...iam.users.keys()].filter((n) => n.includes("doomed"))).to.deep.equal([]);
        expect(metrics).to.include("SMTPCredentialFailed");
    });

    it("a too-long username fails at once with a clear error and no IAM call", async () => {
        const long = "a".repeat(40);
        expect(await operator(long, pending(long))).to.deep.equal(["provision"]);
        const item = (await read(long))!;
        expect(item.status).to.equal("failed");
        expect(item.error).to.equal(`username "${long}" is 40 characters; at most 39 fit the IAM user name ses-smtp-user-<username>-<timestamp> (64 characters)`);
        expect(iam.stub.calls()).to.have.length(0);
    });

    it("disable makes the keys Inactive (SMTP auth stops); enable reactivates them", async () => {
        await operator("toggle", pending("toggle"));
        expect(await operator("toggle", { status: "disabled" })).to.deep.equal(["disable"]);
        expect([...iam.users.values()][0].keys.map((k) => k.status)).to.deep.equal(["Inactive"]);
        expect(await operator("toggle", { status: "active" })).to.deep.equal(["enable"]);
        expect([...iam.users.values()][0].keys.map((k) => k.status)).to.deep.equal(["Active"]);
        expect(metrics).to.deep.equal(["SMTPCredentialCreated", "SMTPCredentialDisabled", "SMTPCredentialEnabled"]);
    });

    it("rotation issues a new key, keeps the old one inactive for the overlap, then deletes it", async () => {
        await operator("rot", pending("rot"));
        const oldKey = (await read("rot"))!.smtp_username;
        expect(await operator("rot", { rotate_requested_at: "2025-02-01T00:00:00Z" })).to.deep.equal(["rotate"]);
        const item = (await read("rot"))!;
        const user = [...iam.users.values()][0];
        expect(item.smtp_username).not.to.equal(oldKey);
        expect(user.keys.map((k) => [k.id === oldKey ? "old" : "new", k.status])).to.deep.equal([["old", "Inactive"], ["new", "Active"]]);
        expect(decrypt(item.encrypted_credentials).access_key_id).to.equal(item.smtp_username);
        expect(item.retiring_key).to.deep.equal({ access_key_id: oldKey, delete_after: new Date(clock + 3600_000).toISOString() });
        const sweep = { ...context, clearRetiring: store().clearRetiring };
        expect(await sweepRetiringKeys(await store().retiring(), sweep)).to.equal(0);
        clock += 3600_000;
        expect(await sweepRetiringKeys(await store().retiring(), sweep)).to.equal(1);
        expect(user.keys.map((k) => k.id)).to.deep.equal([item.smtp_username]);
        expect((await read("rot"))!).not.to.have.property("retiring_key");
    });

    it("a change of allowed senders updates the policy", async () => {
        await operator("senders", pending("senders"));
        expect(await operator("senders", { allowed_senders: ["billing@example.com"] })).to.deep.equal(["update-policy"]);
        const policy = JSON.parse([...iam.users.values()][0].policies["ses-smtp-send"]);
        expect(policy.Statement[0].Condition.StringLike["ses:FromAddress"]).to.deep.equal(["billing@example.com"]);
    });

    it("delete removes keys, policies and the user; deleting an already deleted user succeeds", async () => {
        await operator("bye", pending("bye"));
        expect(await operator("bye", "delete")).to.deep.equal(["delete"]);
        expect(iam.users.size).to.equal(0);
        const gone = parseSmtpRecord({ ...pending("bye"), iam_user_name: `ses-smtp-user-bye-${clock / 1000}` });
        expect(await handleChange("REMOVE", "99999", gone, undefined, context)).to.equal("delete");
        expect(metrics.filter((m) => m === "SMTPCredentialDeleted")).to.have.length(2);
    });

    it("a stream record delivered twice changes nothing the second time", async () => {
        const results = await operator("twice", pending("twice"), 2);
        expect(results).to.deep.equal(["provision", "none"]);
        expect(iam.users.size).to.equal(1);
        expect([...iam.users.values()][0].keys).to.have.length(1);
        expect(metrics).to.deep.equal(["SMTPCredentialCreated"]);
    });

    it("a re-submitted pending record reuses the IAM user with a fresh key, leaving no orphan", async () => {
        await operator("again", pending("again"));
        const first = (await read("again"))!;
        clock += 60_000;
        expect(await operator("again", { status: "pending" })).to.deep.equal(["provision"]);
        const second = (await read("again"))!;
        expect(iam.users.size).to.equal(1);
        expect(second.iam_user_name).to.equal(first.iam_user_name);
        expect(second.smtp_username).not.to.equal(first.smtp_username);
        expect([...iam.users.values()][0].keys.map((k) => k.id)).to.deep.equal([second.smtp_username]);
    });

    it("a record deleted while it was being provisioned is not resurrected, and its user is rolled back", async () => {
        await local.client.send(new PutItemCommand({ TableName: table, Item: marshall(pending("ghost")) }));
        const record = parseSmtpRecord(pending("ghost"));
        const realStore = context.store;
        context.store = { ...realStore, current: async (u) => {
            const current = await realStore.current(u);
            await local.client.send(new DeleteItemCommand({ TableName: table, Key: key("ghost") }));
            return current;
        } };
        await handleChange("INSERT", "5", undefined, record, context);
        expect(await read("ghost")).to.equal(undefined);
        expect(iam.users.size).to.equal(0);
    });
});
