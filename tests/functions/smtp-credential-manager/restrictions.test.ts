// A restricted sender is really restricted (issue #15 point 6): the SMTP users allowed to send as it
// are disabled through the manager's ordinary disable path (status → disabled, then the stream run
// sets every key Inactive), users of other senders are untouched, and a lift enables nobody.
// Fake IAM, mocked KMS, dynalite tables from SmtpCredentials and FeedbackPipeline themselves.
import { AttributeValue, DeleteItemCommand, GetItemCommand, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { EncryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { FeedbackPipeline } from "../../../components/feedback-pipeline";
import { SmtpCredentials } from "../../../components/smtp-credentials";
import { SuppressionStore } from "../../../components/suppression-store";
import { SenderReputation, SenderTransition } from "../../../functions/shared/sender-reputation";
import { iamPort, kmsEncrypt, restrictionsPort, storePort } from "../../../functions/smtp-credential-manager/adapters";
import { parseSmtpRecord } from "../../../functions/smtp-credential-manager/logic";
import { handleChange, ManagerContext, sweep } from "../../../functions/smtp-credential-manager/manager";
import { coversSender, enforceRestrictions, restrictedSenderOf } from "../../../functions/smtp-credential-manager/restrictions";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { FakeIam } from "../../support/fake-iam";
import { IDENTITY, TEST_SCOPE } from "./test-scope";
import { runUnderMocks } from "../../support/mocks";

const OPERATOR = "arn:aws:sts::123456789012:assumed-role/OpsAdmin/alice";

describe("coversSender (which SMTP users a restricted sender disables)", () => {
    const local = fc.stringMatching(/^[a-z0-9._+-]{1,20}$/);
    const domain = fc.stringMatching(/^[a-z0-9-]{1,12}(\.[a-z0-9-]{1,8}){1,2}$/);

    it("covers the exact address and *@<its domain>, in any case and spacing; nothing else", () => {
        fc.assert(fc.property(local, domain, domain, local, (user, dom, other, otherUser) => {
            const sender = `${user}@${dom}`;
            expect(coversSender([sender], sender)).to.equal(true);
            expect(coversSender([` ${sender.toUpperCase()} `], sender)).to.equal(true);
            expect(coversSender([`*@${dom}`], sender.toUpperCase())).to.equal(true);
            expect(coversSender([`*@sub.${dom}`], sender)).to.equal(false);
            if (other !== dom) expect(coversSender([`*@${other}`, `${user}@${other}`], sender)).to.equal(false);
            if (otherUser !== user) expect(coversSender([`${otherUser}@${dom}`], sender)).to.equal(false);
        }));
    });

    it("a sender that is not an address (a senderTag value) covers no SMTP user", () => {
        expect(coversSender(["*@example.com", "account-7@example.com"], "account-7")).to.equal(false);
        expect(coversSender(["*@"], "x@")).to.equal(false);
    });

    it("reads the sender of a restriction announcement, and of nothing else", () => {
        const t: SenderTransition = { sender: "bad@example.com", from: "flagged", to: "restricted", at: "2026-11-22T10:00:00.000Z", actor: "feedback-worker", complaints: 5 };
        expect(restrictedSenderOf(JSON.stringify(t))).to.equal("bad@example.com");
        expect(restrictedSenderOf(JSON.stringify({ ...t, to: "ok" }))).to.equal(undefined);
        expect(restrictedSenderOf("not json")).to.equal(undefined);
    });
});

describe("restricted senders disable their SMTP users (fake IAM, dynalite tables from the components)", () => {
    let local: LocalDynamo;
    let smtpTable: string;
    let sendersTable: string;
    let iam: FakeIam;
    let kms: AwsClientStub<KMSClient>;
    let context: ManagerContext;
    let metrics: string[];
    const clock = Date.parse("2026-11-22T10:00:00Z");
    const key = (username: string) => ({ PK: { S: `SMTP_USER#${username}` }, SK: { S: "CREDENTIALS#v1" } });
    const read = async (username: string) => {
        const { Item } = await local.client.send(new GetItemCommand({ TableName: smtpTable, Key: key(username), ConsistentRead: true }));
        return unmarshall(Item!);
    };
    const keysOf = (username: string) => [...iam.users.entries()].filter(([name]) => name.startsWith(`ses-smtp-user-${username}-`)).flatMap(([, u]) => u.keys.map((k) => k.status));
    const reputation = () => new SenderReputation({ tableName: sendersTable, client: local.client, now: () => clock });

    /** Writes a record as an operator would and delivers its stream record, then every stream record the manager's writes cause. */
    async function put(username: string, item: Record<string, unknown>) {
        await local.client.send(new PutItemCommand({ TableName: smtpTable, Item: marshall({ PK: `SMTP_USER#${username}`, SK: "CREDENTIALS#v1", ...item }) }));
        await handleChange("INSERT", undefined, parseSmtpRecord(await read(username)), context);
    }
    /** What the stream delivers after an update: the change, reconciled by the manager. */
    async function stream(username: string, before: Record<string, unknown>) {
        return handleChange("MODIFY", parseSmtpRecord(before), parseSmtpRecord(await read(username)), context);
    }

    before(async () => {
        local = await startDynalite();
        const smtp = await runUnderMocks(() => new SmtpCredentials("smtp", { env: "test", homeRegion: "us-east-1", identityArns: [IDENTITY] }));
        smtpTable = await createTableFrom(local, smtp.plan.one("aws:dynamodb/table:Table"));
        const feedback = await runUnderMocks(() => new FeedbackPipeline("feedback", { env: "test", suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        sendersTable = await createTableFrom(local, feedback.plan.one("aws:dynamodb/table:Table", "feedback-senders"));
    });
    after(async () => {
        iam.stub.restore();
        kms.restore();
        await local.close();
    });
    beforeEach(async () => {
        iam?.stub.restore();
        kms?.restore();
        iam = new FakeIam();
        const kmsClient = new KMSClient({ region: "us-east-1" });
        kms = mockClient(kmsClient);
        kms.on(EncryptCommand).callsFake(async (input) => ({ CiphertextBlob: Buffer.from(input.Plaintext) }));
        metrics = [];
        context = {
            iam: iamPort(iam.client), store: storePort(DynamoDBDocumentClient.from(local.client, { marshallOptions: { removeUndefinedValues: true } }), smtpTable),
            ...TEST_SCOPE, encrypt: kmsEncrypt(kmsClient, "alias/ses-mail-smtp-credentials-test"), now: () => new Date(clock), metric: (m) => metrics.push(m), log: () => undefined,
            restrictions: restrictionsPort(local.client, sendersTable),
        };
        for (const table of [smtpTable, sendersTable]) {
            const { Items } = await local.client.send(new ScanCommand({ TableName: table }));
            for (const item of Items ?? []) {
                const k: Record<string, AttributeValue> = table === smtpTable ? { PK: item.PK, SK: item.SK } : { pk: item.pk, sk: item.sk };
                await local.client.send(new DeleteItemCommand({ TableName: table, Key: k }));
            }
        }
        await put("exact", { allowed_senders: ["bad@example.com", "ok@example.com"], status: "pending" });
        await put("wildcard", { allowed_senders: ["*@example.com"], allow_domain_wildcard: true, status: "pending" });
        await put("other", { allowed_senders: ["good@example.com"], status: "pending" });
        for (const user of ["exact", "wildcard", "other"]) expect(keysOf(user), user).to.deep.equal(["Active"]);
    });

    it("an announced restriction disables the users allowed to send as the sender (exact and *@domain); the stream run makes their keys Inactive; others untouched", async () => {
        const before = { exact: await read("exact"), wildcard: await read("wildcard"), other: await read("other") };
        const announcements: string[] = [];
        await reputation().restrict("Bad@Example.com", { operator: OPERATOR, reason: "bought list" });
        await reputation().settle("bad@example.com", async (t) => void announcements.push(JSON.stringify(t)));
        // The notification the manager receives (announceTransition's message body).
        const senders = announcements.map(restrictedSenderOf).filter((s): s is string => s !== undefined);
        const outcome = await enforceRestrictions(senders, context.restrictions!, context);
        expect(outcome.notRestricted).to.deep.equal([]);
        expect(outcome.disabled).to.have.deep.members([{ username: "exact", sender: "bad@example.com" }, { username: "wildcard", sender: "bad@example.com" }]);
        for (const user of ["exact", "wildcard"] as const) {
            const item = await read(user);
            expect(item).to.deep.include({ status: "disabled", disabled_by_restriction: "bad@example.com", disabled_at: "2026-11-22T10:00:00.000Z" });
            expect(item.disabled_reason).to.equal(`sender bad@example.com is restricted since 2026-11-22T10:00:00.000Z by ${OPERATOR} (bought list); enable the user again once the restriction is lifted or the sender removed from allowed_senders`);
            expect(await stream(user, before[user])).to.deep.equal(["disable"]);
            expect(keysOf(user), user).to.deep.equal(["Inactive"]);
        }
        expect(await read("other")).to.deep.equal(before.other);
        expect(keysOf("other")).to.deep.equal(["Active"]);
        expect(metrics.filter((m) => m === "SMTPCredentialDisabledForRestrictedSender")).to.have.length(2);
    });

    it("a stale notification (the sender was lifted meanwhile) disables nobody: the state is read consistently first", async () => {
        await reputation().restrict("bad@example.com", { operator: OPERATOR, reason: "bought list" });
        await reputation().lift("bad@example.com", { operator: OPERATOR, reason: "mistake" });
        const outcome = await enforceRestrictions(["bad@example.com"], context.restrictions!, context);
        expect(outcome).to.deep.equal({ disabled: [], notRestricted: ["bad@example.com"] });
        for (const user of ["exact", "wildcard", "other"]) expect((await read(user)).status).to.equal("active");
    });

    it("lifting enables nobody; the sweep re-disables a user enabled while its sender is still restricted", async () => {
        await reputation().raise("bad@example.com", "restricted", 5);
        // The notification was lost: the hourly sweep finds the restriction by the state index.
        const first = await sweep(context);
        expect(first.disabledForRestrictedSenders).to.equal(2);
        expect((await read("exact")).status).to.equal("disabled");
        // An operator enables it too early.
        const disabled = await read("exact");
        await local.client.send(new PutItemCommand({ TableName: smtpTable, Item: marshall({ ...disabled, status: "active" }) }));
        expect((await sweep(context)).disabledForRestrictedSenders).to.equal(1);
        expect((await read("exact")).status).to.equal("disabled");
        // Lifted: nobody is enabled by it, and the sweep leaves the users disabled.
        await reputation().lift("bad@example.com", { operator: OPERATOR, reason: "list cleaned" });
        expect((await sweep(context)).disabledForRestrictedSenders).to.equal(0);
        for (const user of ["exact", "wildcard"]) expect((await read(user)).status).to.equal("disabled");
        expect((await read("other")).status).to.equal("active");
    });

    it("without the sender reputation the sweep reports nothing about it (SmtpCredentials without senderReputation)", async () => {
        const result = await sweep({ ...context, restrictions: undefined });
        expect(result).to.not.have.property("disabledForRestrictedSenders");
    });
});
