// SenderCheck (ses-mail/runtime): "may this sender send?" with one strongly consistent read per
// sender and TTL, and the IAM statements it needs — evaluated by an IAM policy simulator.
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { FeedbackPipeline } from "../../../components/feedback-pipeline";
import { SuppressionStore } from "../../../components/suppression-store";
import { SenderCheck, senderCheckPolicyStatements } from "../../../functions/shared/sender-check";
import { SenderReputation } from "../../../functions/shared/sender-reputation";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { simulate } from "../../support/iam-simulator";
import { MOCK_ACCOUNT, promiseOf, runUnderMocks } from "../../support/mocks";

const TABLE_ARN = `arn:aws:dynamodb:us-east-1:${MOCK_ACCOUNT}:table/ses-mail-sender-reputation-test`;
const APP = `arn:aws:iam::${MOCK_ACCOUNT}:role/app`;

describe("SenderCheck against the senders table FeedbackPipeline defines (dynalite)", () => {
    let local: LocalDynamo;
    let table: string;
    let clock: number;
    let reads: number;
    let client: DynamoDBClient;

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new FeedbackPipeline("feedback", { env: "test", suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        table = await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "feedback-senders"));
        // The check's own client, counting the reads it sends (the test's writes go through local.client).
        client = new DynamoDBClient({ endpoint: local.endpoint, region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" }, maxAttempts: 1 });
        client.middlewareStack.add((next, context) => async (args) => {
            if (context.commandName === "GetItemCommand") reads += 1;
            return next(args);
        }, { step: "initialize", name: "countReads" });
    });
    after(async () => {
        client.destroy();
        await local.close();
    });
    beforeEach(async () => {
        for (const item of (await local.client.send(new ScanCommand({ TableName: table }))).Items ?? []) {
            await local.client.send(new DeleteItemCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk } }));
        }
        clock = Date.parse("2026-11-22T10:00:00Z");
        reads = 0;
    });
    const reputation = () => new SenderReputation({ tableName: table, client: local.client, now: () => clock });

    it("a restricted sender may not send; flagged and unknown senders may", async () => {
        await reputation().raise("flagged@example.com", "flagged", 3);
        await reputation().restrict("bad@example.com", { operator: "alice", reason: "bought list" });
        const check = new SenderCheck({ tableName: table, client, now: () => clock });
        expect(await check.maySend(" Bad@Example.com ")).to.deep.equal({ sender: "bad@example.com", allowed: false, state: "restricted", checkedAt: clock });
        expect(await check.maySend("flagged@example.com")).to.deep.include({ allowed: true, state: "flagged" });
        expect(await check.maySend("new@example.com")).to.deep.include({ allowed: true, state: "ok" });
    });

    it("answers from the cache within the TTL (one read), reads again once it ends, and sees a restriction made meanwhile", async () => {
        const check = new SenderCheck({ tableName: table, client, now: () => clock, cacheTtlMs: 30_000 });
        expect((await check.maySend("app@example.com")).allowed).to.equal(true);
        await reputation().restrict("app@example.com", { operator: "alice", reason: "bought list" });
        clock += 29_999;
        expect((await check.maySend("app@example.com")).allowed).to.equal(true);
        expect(reads).to.equal(1);
        clock += 1;
        expect(await check.maySend("app@example.com")).to.deep.include({ allowed: false, checkedAt: clock });
        expect(reads).to.equal(2);
    });

    it("no answer is ever older than the TTL: any TTL, any question times, any moment of the restriction", async () => {
        await fc.assert(fc.asyncProperty(
            fc.integer({ min: 0, max: 120_000 }), fc.array(fc.integer({ min: 0, max: 50_000 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 11 }),
            async (ttl, gaps, restrictAt) => {
                await local.client.send(new DeleteItemCommand({ TableName: table, Key: { pk: { S: "SENDER#p@example.com" }, sk: { S: "STATE" } } }));
                const start = clock;
                const check = new SenderCheck({ tableName: table, client, now: () => clock, cacheTtlMs: ttl });
                let restrictedSince: number | undefined;
                for (const [i, gap] of gaps.entries()) {
                    clock += gap;
                    if (i === restrictAt && restrictedSince === undefined) {
                        await reputation().restrict("p@example.com", { operator: "alice", reason: "test run" });
                        restrictedSince = clock;
                    }
                    const answer = await check.maySend("p@example.com");
                    expect(clock - answer.checkedAt).to.be.lessThan(Math.max(ttl, 1));
                    // Restricted for a whole TTL already: every application refuses it.
                    if (restrictedSince !== undefined && clock - restrictedSince >= ttl) expect(answer.allowed).to.equal(false);
                }
                clock = start + 10 * 86_400_000;
            }), { numRuns: 40 });
    });

    it("concurrent questions about one sender share one read; a failed read is not cached", async () => {
        const check = new SenderCheck({ tableName: table, client, now: () => clock });
        await Promise.all(Array.from({ length: 20 }, () => check.maySend("busy@example.com")));
        expect(reads).to.equal(1);
        const broken = new SenderCheck({ tableName: "no-such-table", client, now: () => clock });
        let failures = 0;
        for (let i = 0; i < 2; i++) await broken.maySend("x@example.com").catch(() => { failures += 1; });
        expect(failures).to.equal(2);
        expect(reads).to.equal(3);
    });
});

describe("SenderCheck's request and IAM statements", () => {
    it("reads the state item with ConsistentRead and only the state attribute", async () => {
        const ddb = mockClient(DynamoDBClient);
        try {
            ddb.on(GetItemCommand).resolves({ Item: { state: { S: "restricted" } } });
            const answer = await new SenderCheck({ tableName: "t", client: new DynamoDBClient({ region: "us-east-1" }), cacheTtlMs: 0 }).maySend("a@example.com");
            expect(answer.allowed).to.equal(false);
            expect(ddb.commandCalls(GetItemCommand).map((c) => c.args[0].input)).to.deep.equal([{
                TableName: "t", Key: { pk: { S: "SENDER#a@example.com" }, sk: { S: "STATE" } }, ConsistentRead: true,
                ProjectionExpression: "#state", ExpressionAttributeNames: { "#state": "state" },
            }]);
        } finally {
            ddb.restore();
        }
    });

    it("FeedbackPipeline.senderCheckStatements are the exported statements for its table", async () => {
        const { result } = await runUnderMocks(() => new FeedbackPipeline("feedback", { env: "test", suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        const [statement] = result.senderCheckStatements();
        expect({ ...statement, Resource: await promiseOf(result.sendersTable.arn).then((arn) => [arn]) }).to.deep.equal(senderCheckPolicyStatements(await promiseOf(result.sendersTable.arn))[0]);
    });

    // Pattern of the IAM User Guide, "Amazon DynamoDB: Allows access to specific attributes"
    // (dynamodb:Attributes with ForAllValues, dynamodb:Select = SPECIFIC_ATTRIBUTES), plus dynamodb:LeadingKeys.
    const policy = { Version: "2012-10-17", Statement: senderCheckPolicyStatements(TABLE_ARN) };
    const decide = (action: string, context: Record<string, string | string[]>) => simulate({ identity: [policy] }, { principal: APP, action, resource: TABLE_ARN, context });

    it("allow exactly the check's GetItem: the state of a SENDER# item", async () => {
        expect(await decide("dynamodb:GetItem", { "dynamodb:LeadingKeys": ["SENDER#a@example.com"], "dynamodb:Attributes": ["state"], "dynamodb:Select": "SPECIFIC_ATTRIBUTES" })).to.equal("Allowed");
    });

    it("deny reading other attributes, whole items, other items, and any write", async () => {
        const sender = { "dynamodb:LeadingKeys": ["SENDER#a@example.com"] };
        expect(await decide("dynamodb:GetItem", { ...sender, "dynamodb:Attributes": ["state", "last_transition"], "dynamodb:Select": "SPECIFIC_ATTRIBUTES" })).to.equal("ImplicitlyDenied");
        expect(await decide("dynamodb:GetItem", { ...sender, "dynamodb:Attributes": ["state"], "dynamodb:Select": "ALL_ATTRIBUTES" })).to.equal("ImplicitlyDenied");
        expect(await decide("dynamodb:GetItem", { "dynamodb:LeadingKeys": ["SENDING#config"], "dynamodb:Attributes": ["state"], "dynamodb:Select": "SPECIFIC_ATTRIBUTES" })).to.equal("ImplicitlyDenied");
        for (const action of ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:Scan"]) {
            expect(await decide(action, { ...sender, "dynamodb:Attributes": ["state"], "dynamodb:Select": "SPECIFIC_ATTRIBUTES" }), action).to.equal("ImplicitlyDenied");
        }
    });
});
