import { DeleteItemCommand, GetItemCommand, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { SmtpCredentials } from "../../../components/smtp-credentials";
import { deriveSmtpPassword } from "../../../functions/shared/smtp-password";
import { iamPort, kmsEncrypt, storePort } from "../../../functions/smtp-credential-manager/adapters";
import { parseSmtpRecord } from "../../../functions/smtp-credential-manager/logic";
import { handleChange, ManagerContext, sweep } from "../../../functions/smtp-credential-manager/manager";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { FakeIam, FakeUser, SMTP_USER_BOUNDARY } from "../../support/fake-iam";
import { CONFIGURATION_SET, IDENTITY, TEST_SCOPE } from "./test-scope";
import { runUnderMocks } from "../../support/mocks";

const throttled = () => Object.assign(new Error("Rate exceeded"), { name: "Throttling", $metadata: { httpStatusCode: 400 } });

describe("SMTP credential lifecycle (fake IAM, mocked KMS, dynalite table from SmtpCredentials)", () => {
    let local: LocalDynamo;
    let table: string;
    let iam: FakeIam;
    let kms: AwsClientStub<KMSClient>;
    let context: ManagerContext;
    let metrics: string[];
    let clock: number;
    let kmsFailures: number;
    const store = () => storePort(DynamoDBDocumentClient.from(local.client, { marshallOptions: { removeUndefinedValues: true } }), table);

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new SmtpCredentials("smtp", { env: "test", homeRegion: "us-east-1", identityArns: [IDENTITY] }));
        table = await createTableFrom(local, plan.one("aws:dynamodb/table:Table"));
    });
    after(() => local.close());

    beforeEach(async () => {
        iam?.stub.restore();
        kms?.restore();
        iam = new FakeIam();
        const kmsClient = new KMSClient({ region: "us-east-1" });
        kms = mockClient(kmsClient);
        kmsFailures = 0;
        kms.on(EncryptCommand).callsFake(async (input) => {
            if (kmsFailures > 0) {
                kmsFailures -= 1;
                throw Object.assign(new Error("KMS throttled"), { name: "ThrottlingException" });
            }
            return { CiphertextBlob: Buffer.concat([Buffer.from(`kms(${input.EncryptionContext.username}):`), Buffer.from(input.Plaintext)]) };
        });
        metrics = [];
        clock = Date.parse("2025-01-18T10:00:00Z");
        context = {
            ...TEST_SCOPE, iam: iamPort(iam.client), store: store(), encrypt: kmsEncrypt(kmsClient, "alias/ses-mail-smtp-credentials-test"),
            now: () => new Date(clock), metric: (m) => metrics.push(m), log: () => undefined,
        };
        // Each test starts from an empty table.
        const { Items } = await local.client.send(new ScanCommand({ TableName: table }));
        for (const item of Items ?? []) await local.client.send(new DeleteItemCommand({ TableName: table, Key: { PK: item.PK, SK: item.SK } }));
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
    const users = () => [...iam.users.entries()];
    const only = (): FakeUser => {
        expect(iam.users.size).to.equal(1);
        return [...iam.users.values()][0];
    };
    /** Whether SES SMTP would accept this access key id and password: the key exists, is Active, and the password derives from its secret. */
    const accepts = (credentials: { access_key_id: string; smtp_password: string }) => [...iam.users.values()].some((u) => u.keys.some((k) =>
        k.id === credentials.access_key_id && k.status === "Active" && deriveSmtpPassword(k.secret, "us-east-1") === credentials.smtp_password));

    /** Delivers the stream record of a change, then the manager's own write, which must ask for nothing. */
    async function deliver(eventName: string, before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined, username: string) {
        const steps = await handleChange(eventName, before && parseSmtpRecord(before), after && parseSmtpRecord(after), context);
        const settled = await read(username);
        if (after && settled) expect(await handleChange("MODIFY", parseSmtpRecord(after), parseSmtpRecord(settled), context)).to.deep.equal([]);
        return steps;
    }

    /** Writes an item as an operator would (put-item), then delivers the stream record DynamoDB would emit. */
    async function operator(username: string, change: Record<string, unknown> | "delete") {
        const before = await read(username);
        if (change === "delete") {
            await local.client.send(new DeleteItemCommand({ TableName: table, Key: key(username) }));
        } else {
            await local.client.send(new PutItemCommand({ TableName: table, Item: marshall({ ...before, ...change }, { removeUndefinedValues: true }) }));
        }
        const after = change === "delete" ? undefined : await read(username);
        return deliver(change === "delete" ? "REMOVE" : before ? "MODIFY" : "INSERT", before, after, username);
    }
    /** The hourly sweep, and the stream records its touches produce. */
    async function sweepAndDeliver() {
        const before = new Map<string, Record<string, unknown>>();
        for (const record of await store().all()) before.set(record.username, (await read(record.username))!);
        const result = await sweep(context);
        const steps: Record<string, string[]> = {};
        for (const [username, old] of before) {
            const now = await read(username);
            if (now && JSON.stringify(now) !== JSON.stringify(old)) steps[username] = await deliver("MODIFY", old, now, username);
        }
        return { ...result, steps };
    }
    const pending = (username: string, allowed = ["app@example.com", "notifications@example.com"]) => ({
        PK: `SMTP_USER#${username}`, SK: "CREDENTIALS#v1", entity_type: "SMTP_CREDENTIALS", username,
        allowed_senders: allowed, status: "pending", created_at: "2025-01-18T10:00:00Z", description: "SMTP credentials for application",
    });
    const decrypt = (encrypted: string) => JSON.parse(Buffer.from(encrypted, "base64").toString("utf8").replace(/^kms\([^)]*\):/, ""));
    const senders = (user: FakeUser) => JSON.parse(user.policies["ses-smtp-send"]).Statement[0].Condition.StringEquals["ses:FromAddress"];

    it("creates the IAM user under the stack's path with the boundary, its sending policy (identities and configuration set), a key and the encrypted SMTP password", async () => {
        expect(await operator("app-sender", pending("app-sender"))).to.deep.equal(["create-user", "update-policy", "provision"]);
        const [name, user] = users()[0];
        expect(name).to.equal(`ses-smtp-user-app-sender-${clock / 1000}`);
        expect(user.path).to.equal("/ses-mail/test/");
        expect(user.permissionsBoundary).to.equal(SMTP_USER_BOUNDARY);
        expect(user.tags).to.deep.include({ Service: "ses-mail", SmtpUsername: "app-sender" });
        expect(JSON.parse(user.policies["ses-smtp-send"]).Statement).to.deep.equal([{
            Sid: "SendAsAllowedSenders", Effect: "Allow", Action: ["ses:SendRawEmail", "ses:SendEmail"], Resource: [IDENTITY, CONFIGURATION_SET],
            Condition: { StringEquals: { "ses:FromAddress": ["app@example.com", "notifications@example.com"] } },
        }]);
        expect(user.keys.map((k) => k.status)).to.deep.equal(["Active"]);
        const item = (await read("app-sender"))!;
        expect(item).to.deep.include({ status: "active", smtp_username: user.keys[0].id, iam_user_name: name, iam_user_arn: `arn:aws:iam::123456789012:user/ses-mail/test/${name}` });
        expect(item).not.to.have.property("last_error");
        expect(decrypt(item.encrypted_credentials)).to.deep.equal({ access_key_id: user.keys[0].id, smtp_password: deriveSmtpPassword(user.keys[0].secret, "us-east-1") });
        expect(kms.commandCalls(EncryptCommand)[0].args[0].input.EncryptionContext).to.deep.equal({ username: "app-sender" });
        expect(metrics).to.deep.equal(["SMTPCredentialCreated"]);
        expect(await store().registeredUsers()).to.deep.equal([{ username: "app-sender", iamUser: name, registeredAt: new Date(clock).toISOString() }]);
    });

    for (const step of ["CreateUser", "PutUserPolicy", "CreateAccessKey", "Encrypt"]) {
        it(`a throttled ${step} keeps the record pending with last_error; the retry finishes with one user and one key`, async () => {
            if (step === "Encrypt") kmsFailures = 1;
            else iam.failNext.set(step, throttled());
            const username = `retry-${step.toLowerCase()}`;
            const error = await operator(username, pending(username)).then(() => undefined, (e: Error) => e);
            expect(error?.message).to.match(/Rate exceeded|throttled/);
            expect(await read(username)).to.deep.include({ status: "pending", provision_attempts: 0 });
            expect((await read(username))!.last_error).to.match(/Rate exceeded|throttled/);
            expect(metrics).to.deep.equal(["SMTPCredentialReconcileFailed"]);
            // The stream delivers the same record again.
            await handleChange("INSERT", undefined, parseSmtpRecord(pending(username)), context);
            const item = (await read(username))!;
            expect(item.status).to.equal("active");
            expect(item).not.to.have.property("last_error");
            expect(only().keys.map((k) => [k.id, k.status])).to.deep.equal([[item.smtp_username, "Active"]]);
        });
    }

    it("PutUserPolicy denied right after CreateUser (IAM not consistent yet) is retried without counting an attempt", async () => {
        iam.failNext.set("PutUserPolicy", Object.assign(new Error("User is not authorized to perform: iam:PutUserPolicy"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } }));
        const error = await operator("fresh", pending("fresh")).then(() => undefined, (e: Error) => e);
        expect(error?.name).to.equal("BoundaryNotVisibleYet");
        expect(await read("fresh")).to.deep.include({ status: "pending", provision_attempts: 0 });
        await handleChange("INSERT", undefined, parseSmtpRecord(pending("fresh")), context);
        expect((await read("fresh"))!.status).to.equal("active");
        expect(iam.users.size).to.equal(1);
    });

    it("a crash right after CreateUser (the call took effect) is finished by the retry, with no second user", async () => {
        iam.fault = (command) => (command === "CreateUser" ? { error: new Error("Lambda timed out"), after: true } : undefined);
        await operator("crash", pending("crash")).catch(() => undefined);
        iam.fault = undefined;
        expect(iam.users.size).to.equal(1);
        clock += 60_000; // a later second: a new name would differ
        await handleChange("INSERT", undefined, parseSmtpRecord(pending("crash")), context);
        expect(users().map(([name]) => name)).to.deep.equal([(await read("crash"))!.iam_user_name]);
        expect(only().keys).to.have.length(1);
    });

    it("a crash after CreateAccessKey leaves a key the record does not name: the retry deletes it and issues one", async () => {
        iam.fault = (command) => (command === "CreateAccessKey" ? { error: new Error("Lambda timed out"), after: true } : undefined);
        await operator("crashkey", pending("crashkey")).catch(() => undefined);
        iam.fault = undefined;
        expect(only().keys).to.have.length(1);
        const orphan = only().keys[0].id;
        expect(await handleChange("INSERT", undefined, parseSmtpRecord(pending("crashkey")), context)).to.deep.equal(["delete-unknown-key", "provision"]);
        expect(only().keys.map((k) => k.id)).to.deep.equal([(await read("crashkey"))!.smtp_username]).and.not.to.include(orphan);
    });

    it("non-retryable failures of a user never provisioned end in failed with the reason and nothing in IAM; re-submitting as pending starts over", async () => {
        const denied = () => Object.assign(new Error("User is not authorized to perform: iam:CreateAccessKey"), { name: "AccessDenied" });
        iam.failNext.set("CreateAccessKey", denied());
        await operator("doomed", pending("doomed")).catch(() => undefined);
        expect(await read("doomed")).to.deep.include({ status: "pending", provision_attempts: 1 });
        for (let attempt = 2; attempt <= 3; attempt++) {
            iam.failNext.set("CreateAccessKey", denied());
            await handleChange("INSERT", undefined, parseSmtpRecord(pending("doomed")), context).catch(() => undefined);
        }
        const failed = (await read("doomed"))!;
        expect(failed).to.deep.include({ status: "failed", error: "User is not authorized to perform: iam:CreateAccessKey", provision_attempts: 3 });
        expect(failed).not.to.have.property("iam_user_name");
        expect(iam.users.size).to.equal(0);
        expect(metrics.filter((m) => m === "SMTPCredentialFailed")).to.have.length(1);
        // Re-submitted: attempts reset, provisioned.
        expect(await operator("doomed", { status: "pending" })).to.include("provision");
        const item = (await read("doomed"))!;
        expect(item).to.deep.include({ status: "active" });
        expect(item).not.to.have.property("provision_attempts");
        expect(only().keys).to.have.length(1);
    });

    const refusals: [string, Record<string, unknown>, RegExp][] = [
        ["a username too long for IAM's 64 characters", pending("a".repeat(40)), /is 40 characters; at most 39 fit the IAM user name ses-smtp-user-<username>-<timestamp> \(64 characters\)/],
        ["a comma (refused in IAM tag values)", pending("app,sender"), /may only contain letters, digits and _ \. = \+ @ -/],
        ["a username attribute that differs from the key", { ...pending("keyname"), username: "attribute-name" }, /username attribute "attribute-name" differs from the key SMTP_USER#keyname/],
    ];
    // allowed_senders: exact addresses of the stack's identities only; `*@<domain>` only with the opt-in.
    const senderRefusals: [string, unknown[], RegExp][] = [
        ["a bare *", ["*"], /"\*": wildcards are refused/],
        ["*@*", ["app@example.com", "*@*"], /"\*@\*": wildcards are refused/],
        ["?*", ["?*"], /"\?\*": wildcards are refused/],
        ["a wildcard inside an address", ["app*@example.com"], /"app\*@example.com": wildcards are refused/],
        ["*@<our domain> without the opt-in", ["*@example.com"], /"\*@example.com" lets the user send as every address of example.com: list exact addresses, or set allow_domain_wildcard: true/],
        ["another domain", ["ceo@other.com"], /"ceo@other.com" is not an address the stack may send as \(this stack's SES identities cover example.com\)/],
        ["a subdomain of ours", ["app@mail.example.com"], /"app@mail.example.com" is not an address/],
        ["something that is no address", ["MAILER-DAEMON"], /"MAILER-DAEMON" is not a plain email address/],
    ];
    for (const [title, allowed, rule] of senderRefusals) refusals.push([`allowed_senders with ${title}`, pending("senders", allowed as string[]), rule]);

    for (const [title, item, rule] of refusals) {
        it(`refuses ${title} at once, with the rule, and no IAM call`, async () => {
            const username = String(item.PK).slice("SMTP_USER#".length);
            expect(await operator(username, item)).to.deep.equal(["refuse"]);
            const stored = (await read(username))!;
            expect(stored.status).to.equal("failed");
            expect(stored.error).to.match(rule);
            expect(iam.stub.calls()).to.have.length(0);
            expect(metrics).to.deep.equal(["SMTPCredentialFailed"]);
        });
    }

    it("*@<our domain> with allow_domain_wildcard: true is allowed under StringLike; the exact addresses stay under StringEquals", async () => {
        expect(await operator("wild", { ...pending("wild", ["*@Example.com", "app@example.com"]), allow_domain_wildcard: true })).to.include("provision");
        expect(JSON.parse(only().policies["ses-smtp-send"]).Statement.map((s: { Sid: string; Condition: unknown }) => [s.Sid, s.Condition])).to.deep.equal([
            ["SendAsAllowedSenders", { StringEquals: { "ses:FromAddress": ["app@example.com"] } }],
            ["SendAsAnyAddressOfOptedInDomains", { StringLike: { "ses:FromAddress": ["*@example.com"] } }],
        ]);
        // Withdrawing the opt-in makes the record unacceptable: the user stops sending at once.
        await operator("wild", { allow_domain_wildcard: false }).then(() => expect.fail("accepted"), (e: Error) => expect(e.message).to.match(/lets the user send as every address of example.com/));
        expect(only().policies).to.deep.equal({});
        expect(only().keys.map((k) => k.status)).to.deep.equal(["Active"]);
        expect((await read("wild"))!.last_error).to.match(/allow_domain_wildcard/);
        expect(await operator("wild", { allowed_senders: ["app@example.com"] })).to.deep.equal(["update-policy"]);
        expect(senders(only())).to.deep.equal(["app@example.com"]);
    });

    it("a user provisioned before the boundary gets it, then its policy (the role may put one only on a user that carries it)", async () => {
        await operator("legacy", pending("legacy"));
        const user = only();
        // As the manager left users before this version: no boundary, a StringLike wildcard policy.
        delete user.permissionsBoundary;
        user.policies["ses-smtp-send"] = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["ses:SendRawEmail"], Resource: [IDENTITY], Condition: { StringLike: { "ses:FromAddress": ["*"] } } }] });
        await local.client.send(new PutItemCommand({ TableName: table, Item: marshall({ ...(await read("legacy")), reconciled: JSON.stringify(["active", ["app@example.com", "notifications@example.com"], null]) }) }));
        expect(await sweepAndDeliver()).to.deep.include({ touched: 1, steps: { legacy: ["set-boundary", "update-policy"] } });
        expect(only().permissionsBoundary).to.equal(SMTP_USER_BOUNDARY);
        expect(senders(only())).to.deep.equal(["app@example.com", "notifications@example.com"]);
        expect(await sweepAndDeliver()).to.deep.include({ touched: 0, steps: {} });
    });

    it("disable makes every key Inactive (SMTP auth stops); enable reactivates them", async () => {
        await operator("toggle", pending("toggle"));
        expect(await operator("toggle", { status: "disabled" })).to.deep.equal(["disable"]);
        expect(only().keys.map((k) => k.status)).to.deep.equal(["Inactive"]);
        expect(await operator("toggle", { status: "active" })).to.deep.equal(["enable"]);
        expect(only().keys.map((k) => k.status)).to.deep.equal(["Active"]);
        expect(metrics).to.deep.equal(["SMTPCredentialCreated", "SMTPCredentialDisabled", "SMTPCredentialEnabled"]);
    });

    it("every difference is applied: senders changed and a rotation requested in one edit do both", async () => {
        await operator("both", pending("both"));
        const oldKey = (await read("both"))!.smtp_username;
        expect(await operator("both", { allowed_senders: ["billing@example.com"], rotate_requested_at: "2025-01-18T11:00:00Z" })).to.deep.equal(["update-policy", "rotate"]);
        expect(senders(only())).to.deep.equal(["billing@example.com"]);
        expect((await read("both"))!.smtp_username).not.to.equal(oldKey);
    });

    it("disabled → active with new senders enables and updates the policy (the removed sender is no longer allowed)", async () => {
        await operator("back", pending("back"));
        await operator("back", { status: "disabled" });
        expect(await operator("back", { status: "active", allowed_senders: ["app@example.com"] })).to.deep.equal(["update-policy", "enable"]);
        expect(senders(only())).to.deep.equal(["app@example.com"]);
        expect(only().keys.map((k) => k.status)).to.deep.equal(["Active"]);
    });

    it("a failed disable keeps status disabled with last_error; the sweep has it retried until every key is Inactive", async () => {
        await operator("stubborn", pending("stubborn"));
        iam.failNext.set("UpdateAccessKey", throttled());
        await operator("stubborn", { status: "disabled" }).catch(() => undefined);
        expect(only().keys.map((k) => k.status)).to.deep.equal(["Active"]);
        expect(await read("stubborn")).to.deep.include({ status: "disabled", last_error: "Rate exceeded" });
        clock += 3 * 3600_000;
        const swept = await sweepAndDeliver();
        expect(swept).to.deep.include({ touched: 1, stuck: 1 });
        expect(swept.steps).to.deep.equal({ stubborn: ["disable"] });
        expect(only().keys.map((k) => k.status)).to.deep.equal(["Inactive"]);
        const item = (await read("stubborn"))!;
        expect(item).not.to.have.property("last_error");
        expect(item).not.to.have.property("out_of_sync_since");
        expect(await sweepAndDeliver()).to.deep.include({ touched: 0, stuck: 0, steps: {} });
    });

    it("rotation keeps both keys Active for the overlap (both passwords work); after it the sweep deactivates and deletes the old key", async () => {
        await operator("rot", pending("rot"));
        const old = decrypt((await read("rot"))!.encrypted_credentials);
        expect(await operator("rot", { rotate_requested_at: "2025-01-18T11:00:00Z" })).to.deep.equal(["rotate"]);
        const item = (await read("rot"))!;
        const fresh = decrypt(item.encrypted_credentials);
        expect(fresh.access_key_id).to.equal(item.smtp_username).and.not.to.equal(old.access_key_id);
        expect(only().keys.map((k) => [k.id === old.access_key_id ? "old" : "new", k.status])).to.deep.equal([["old", "Active"], ["new", "Active"]]);
        expect([accepts(old), accepts(fresh)]).to.deep.equal([true, true]);
        expect(item.retiring_key).to.deep.equal({ access_key_id: old.access_key_id, delete_after: new Date(clock + 3600_000).toISOString() });
        expect(item.rotated_at).to.equal("2025-01-18T11:00:00Z");
        clock += 3599_000;
        expect(await sweepAndDeliver()).to.deep.include({ touched: 0, steps: {} });
        expect([accepts(old), accepts(fresh)]).to.deep.equal([true, true]);
        clock += 1000;
        const deactivated: string[] = [];
        expect((await sweepAndDeliver()).steps).to.deep.equal({ rot: ["retire-old-key"] });
        for (const call of iam.stub.calls()) {
            const input = call.args[0].input as { AccessKeyId?: string; Status?: string };
            if (input.AccessKeyId === old.access_key_id) deactivated.push(`${call.args[0].constructor.name}:${input.Status ?? ""}`);
        }
        expect(deactivated.slice(-2)).to.deep.equal(["UpdateAccessKeyCommand:Inactive", "DeleteAccessKeyCommand:"]);
        expect([accepts(old), accepts(fresh)]).to.deep.equal([false, true]);
        expect(only().keys.map((k) => k.id)).to.deep.equal([fresh.access_key_id]);
        expect((await read("rot"))!).not.to.have.property("retiring_key");
    });

    it("disabling during the overlap makes both keys Inactive; a second rotation cuts the first overlap short (IAM's two keys)", async () => {
        await operator("ov", pending("ov"));
        await operator("ov", { rotate_requested_at: "r1" });
        await operator("ov", { status: "disabled" });
        expect(only().keys.map((k) => k.status)).to.deep.equal(["Inactive", "Inactive"]);
        await operator("ov", { status: "active" });
        expect(only().keys.map((k) => k.status)).to.deep.equal(["Active", "Active"]);
        const second = (await read("ov"))!.smtp_username;
        expect(await operator("ov", { rotate_requested_at: "r2" })).to.deep.equal(["retire-old-key", "rotate"]);
        expect(only().keys.map((k) => k.id)).to.deep.equal([second, (await read("ov"))!.smtp_username]);
    });

    it("delete removes keys, policies and the user; deleting an already deleted user succeeds", async () => {
        await operator("bye", pending("bye"));
        const name = (await read("bye"))!.iam_user_name;
        expect(await operator("bye", "delete")).to.deep.equal(["delete"]);
        expect(iam.users.size).to.equal(0);
        const gone = parseSmtpRecord({ ...pending("bye"), iam_user_name: name });
        expect(await handleChange("REMOVE", gone, undefined, context)).to.deep.equal(["delete"]);
        expect(metrics.filter((m) => m === "SMTPCredentialDeleted")).to.have.length(2);
        expect(await store().registeredUsers()).to.deep.equal([]);
    });

    it("a deletion whose clean-up ran out of retries is finished by the sweep (registered user, no record)", async () => {
        await operator("lost", pending("lost"));
        iam.failNext.set("ListAccessKeys", throttled());
        await operator("lost", "delete").catch(() => undefined);
        expect(iam.users.size).to.equal(1);
        clock += 900_000;
        expect(await sweepAndDeliver()).to.deep.include({ orphansDeleted: 1 });
        expect(iam.users.size).to.equal(0);
        expect(await store().registeredUsers()).to.deep.equal([]);
    });

    it("an orphan that cannot be deleted does not stop the sweep: it is counted as a failure and tried again", async () => {
        await operator("lost", pending("lost"));
        iam.failNext.set("ListAccessKeys", throttled());
        await operator("lost", "delete").catch(() => undefined);
        clock += 900_000;
        metrics.length = 0;
        iam.failNext.set("ListAccessKeys", Object.assign(new Error("denied"), { name: "AccessDenied" }));
        expect(await sweepAndDeliver()).to.deep.include({ orphansDeleted: 0 });
        expect(metrics).to.include.members(["SMTPCredentialsStuck", "SMTPCredentialReconcileFailed"]);
        expect(await sweepAndDeliver()).to.deep.include({ orphansDeleted: 1 });
        expect(iam.users.size).to.equal(0);
    });

    it("a stream record delivered twice changes nothing the second time", async () => {
        await operator("twice", pending("twice"));
        expect(await handleChange("INSERT", undefined, parseSmtpRecord(pending("twice")), context)).to.deep.equal([]);
        expect(only().keys).to.have.length(1);
        expect(metrics).to.deep.equal(["SMTPCredentialCreated"]);
    });

    it("a re-submitted pending record reuses the IAM user with a fresh key, leaving no orphan", async () => {
        await operator("again", pending("again"));
        const first = (await read("again"))!;
        clock += 60_000;
        expect(await operator("again", { status: "pending" })).to.deep.equal(["provision"]);
        const second = (await read("again"))!;
        expect(second.iam_user_name).to.equal(first.iam_user_name);
        expect(second.smtp_username).not.to.equal(first.smtp_username);
        expect(only().keys.map((k) => k.id)).to.deep.equal([second.smtp_username]);
    });

    it("docs/SENDING.md's decrypt command passes the encryption context the manager encrypts with, and the JSON holds what it says", async () => {
        await operator("app-sender", pending("app-sender"));
        const readme = readFileSync(path.join(__dirname, "..", "..", "..", "docs", "SENDING.md"), "utf8");
        const section = readme.slice(readme.indexOf("## SMTP users"), readme.indexOf("## Feedback: what happens"));
        const command = section.slice(section.indexOf("aws kms decrypt"), section.indexOf("```", section.indexOf("aws kms decrypt")));
        // KMS decrypts only with exactly the encryption context used to encrypt ("Encryption context", AWS KMS guide).
        const kmsDecrypt = (ciphertext: string, context: Record<string, string>) => {
            const text = Buffer.from(ciphertext, "base64").toString("utf8");
            const used = { username: /^kms\(([^)]*)\):/.exec(text)![1] };
            if (JSON.stringify(used) !== JSON.stringify(context)) throw Object.assign(new Error("InvalidCiphertextException"), { name: "InvalidCiphertextException" });
            return JSON.parse(text.replace(/^kms\([^)]*\):/, ""));
        };
        const documented = Object.fromEntries([...command.matchAll(/--encryption-context ((?:[\w-]+=[^\s,]+,?)+)/g)].flatMap((m) => m[1].split(",").map((pair) => pair.split("="))));
        expect(documented).to.deep.equal({ username: "app-sender" });
        expect(kms.commandCalls(EncryptCommand)[0].args[0].input.EncryptionContext).to.deep.equal(documented);
        const encrypted = (await read("app-sender"))!.encrypted_credentials;
        expect(() => kmsDecrypt(encrypted, {})).to.throw("InvalidCiphertextException");
        const plaintext = kmsDecrypt(encrypted, documented);
        expect(Object.keys(plaintext)).to.deep.equal(["access_key_id", "smtp_password"]);
        expect(section).to.include('`{"access_key_id": "AKIA…", "smtp_password": "…"}`');
        expect(accepts(plaintext)).to.equal(true);
    });

    it("a record deleted while it was being provisioned is not resurrected, and its user is deleted", async () => {
        await local.client.send(new PutItemCommand({ TableName: table, Item: marshall(pending("ghost")) }));
        const realStore = context.store;
        context.store = { ...realStore, registerUser: async (u, name, at) => {
            await realStore.registerUser(u, name, at);
            await local.client.send(new DeleteItemCommand({ TableName: table, Key: key("ghost") }));
        } };
        expect(await handleChange("INSERT", undefined, parseSmtpRecord(pending("ghost")), context)).to.deep.equal([]);
        context.store = realStore;
        expect(await read("ghost")).to.equal(undefined);
        expect(iam.users.size).to.equal(0);
        clock += 900_000;
        expect(await sweepAndDeliver()).to.deep.include({ orphansDeleted: 1 });
        expect(await store().registeredUsers()).to.deep.equal([]);
    });
});
