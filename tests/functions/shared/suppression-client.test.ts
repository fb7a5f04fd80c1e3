import { DeleteItemCommand, DynamoDBClient, QueryCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { expect } from "chai";
import { SuppressionStore } from "../../../components/suppression-store";
import { InvalidInputError } from "../../../functions/shared/email";
import { SuppressionClient } from "../../../functions/shared/suppression-client";
import { createTableFrom, LocalDynamo, startDynalite } from "../../support/dynalite";
import { runUnderMocks } from "../../support/mocks";

/** Counts requests a client sends, to prove round-trip budgets. */
function countRequests(client: DynamoDBClient): { count: number } {
    const counter = { count: 0 };
    client.middlewareStack.add((next) => (args) => {
        counter.count += 1;
        return next(args);
    }, { step: "initialize", name: `count-${Math.random()}` });
    return counter;
}

describe("SuppressionClient against dynalite (table from the component's definition)", () => {
    let local: LocalDynamo;
    let tableName: string;
    let clock: number;
    let client: SuppressionClient;

    before(async () => {
        local = await startDynalite();
    });
    after(() => local.close());

    beforeEach(async () => {
        const { plan } = await runUnderMocks(() => new SuppressionStore("suppression", { env: "test", tableName: `suppression-${Math.random().toString(36).slice(2)}` }));
        tableName = await createTableFrom(local, plan.one("aws:dynamodb/table:Table"));
        clock = 1_733_000_000;
        client = new SuppressionClient({ tableName, client: local.client, now: () => clock });
    });

    async function seedRunbookData(): Promise<void> {
        clock = 1_731_000_000; // before the runbook's timestamp
        await client.suppress({ email: "old@example.edu", reason: "bounce", bounceType: "Permanent", details: "550 5.1.1 old" });
        clock = 1_733_000_000; // after it
        await client.suppress({ email: "user@example.edu", reason: "bounce", bounceType: "Permanent", bounceSubType: "General", details: "550 5.1.1 user unknown" });
        await client.suppress({ email: "angry@example.edu", reason: "complaint", details: "abuse" });
    }

    describe("operators' runbook commands work unchanged", () => {
        it("scan --select COUNT", async () => {
            await seedRunbookData();
            const result = await local.client.send(new ScanCommand({ TableName: tableName, Select: "COUNT" }));
            expect(result.Count).to.equal(3);
        });

        it("scan --filter-expression reason = :reason AND added_at > :timestamp", async () => {
            await seedRunbookData();
            const result = await local.client.send(new ScanCommand({
                TableName: tableName,
                FilterExpression: "reason = :reason AND added_at > :timestamp",
                ExpressionAttributeValues: { ":reason": { S: "bounce" }, ":timestamp": { N: "1732000000" } },
            }));
            expect(result.Items?.map((i) => i.email.S)).to.deep.equal(["user@example.edu"]);
        });

        it("query --index-name reason-index --key-condition-expression reason = :r", async () => {
            await seedRunbookData();
            const result = await local.client.send(new QueryCommand({
                TableName: tableName,
                IndexName: "reason-index",
                KeyConditionExpression: "reason = :r",
                ExpressionAttributeValues: { ":r": { S: "bounce" } },
            }));
            expect(result.Items?.map((i) => [i.email.S, i.added_at.N])).to.deep.equal([
                ["old@example.edu", "1731000000"],
                ["user@example.edu", "1733000000"],
            ]);
        });

        it("delete-item --key {email, reason}", async () => {
            await seedRunbookData();
            await local.client.send(new DeleteItemCommand({
                TableName: tableName,
                Key: { email: { S: "user@example.edu" }, reason: { S: "bounce" } },
            }));
            expect(await client.isSuppressed("user@example.edu")).to.equal(false);
            expect(await client.isSuppressed("angry@example.edu")).to.equal(true);
        });

        it("scan --projection-expression email, reason, bounce_type, details", async () => {
            await seedRunbookData();
            const result = await local.client.send(new ScanCommand({ TableName: tableName, ProjectionExpression: "email, reason, bounce_type, details" }));
            const user = result.Items?.find((i) => i.email.S === "user@example.edu");
            expect(user).to.deep.equal({
                email: { S: "user@example.edu" },
                reason: { S: "bounce" },
                bounce_type: { S: "Permanent" },
                details: { S: "550 5.1.1 user unknown" },
            });
        });
    });

    describe("isSuppressed", () => {
        it("normalises the address and answers in one round trip", async () => {
            await client.suppress({ email: "User@Example.EDU", reason: "manual" });
            const counting = new DynamoDBClient({ endpoint: local.endpoint, region: "us-east-1", credentials: { accessKeyId: "l", secretAccessKey: "l" } });
            const counter = countRequests(counting);
            const reader = new SuppressionClient({ tableName, client: counting, now: () => clock });
            expect(await reader.isSuppressed("  user@EXAMPLE.edu ")).to.equal(true);
            expect(counter.count).to.equal(1);
            expect(await reader.isSuppressed("other@example.edu")).to.equal(false);
            counting.destroy();
        });

        it("looks up any address SES delivers (VERP, SRS, BATV, quoted), and refuses only what is no address", async () => {
            for (const sender of ["bounces+12345-abcd-user=example.com@sendgrid.net", "SRS0=HHH=TT=example.com=user@forwarder.org", "prvs=1234abcd=user@example.com", '"john doe"@example.com']) {
                expect(await client.isSuppressed(sender), sender).to.equal(false);
            }
            await client.isSuppressed("no-at-sign").then(() => expect.fail("accepted"), (error) => expect(error).to.be.instanceOf(InvalidInputError));
        });

        it("ignores entries whose TTL has passed but that DynamoDB has not deleted yet", async () => {
            await client.suppress({ email: "soft@example.edu", reason: "bounce", expiresAt: clock + 60 });
            expect(await client.isSuppressed("soft@example.edu")).to.equal(true);
            clock += 61;
            expect(await client.isSuppressed("soft@example.edu")).to.equal(false);
        });
    });

    describe("suppress", () => {
        it("is idempotent and keeps the first added_at", async () => {
            expect(await client.suppress({ email: "a@example.edu", reason: "bounce", details: "first" })).to.equal("created");
            const first = await client.entries("a@example.edu");
            clock += 1000;
            expect(await client.suppress({ email: "A@example.edu", reason: "bounce", details: "second" })).to.equal("updated");
            const [entry] = await client.entries("a@example.edu");
            expect(entry.addedAt).to.equal(first[0].addedAt);
            expect(entry.details).to.equal("second");
            const count = await local.client.send(new ScanCommand({ TableName: tableName, Select: "COUNT" }));
            expect(count.Count).to.equal(1);
        });

        it("never turns a permanent entry into a transient one", async () => {
            await client.suppress({ email: "p@example.edu", reason: "bounce", bounceType: "Permanent" });
            expect(await client.suppress({ email: "p@example.edu", reason: "bounce", bounceType: "Transient", expiresAt: clock + 3600 })).to.equal("unchanged");
            const [entry] = await client.entries("p@example.edu");
            expect(entry.expiresAt).to.equal(undefined);
            expect(entry.bounceType).to.equal("Permanent");
        });

        it("extends a transient entry but never shortens it", async () => {
            await client.suppress({ email: "t@example.edu", reason: "bounce", expiresAt: clock + 100 });
            expect(await client.suppress({ email: "t@example.edu", reason: "bounce", expiresAt: clock + 500 })).to.equal("updated");
            expect(await client.suppress({ email: "t@example.edu", reason: "bounce", expiresAt: clock + 200 })).to.equal("unchanged");
            expect((await client.entries("t@example.edu"))[0].expiresAt).to.equal(clock + 500);
        });

        it("a permanent entry clears an earlier expiry", async () => {
            await client.suppress({ email: "u@example.edu", reason: "bounce", expiresAt: clock + 100 });
            await client.suppress({ email: "u@example.edu", reason: "bounce" });
            const [entry] = await client.entries("u@example.edu");
            expect(entry.expiresAt).to.equal(undefined);
        });

        it("two concurrent calls for one address leave one entry with one added_at", async () => {
            const early = new SuppressionClient({ tableName, client: local.client, now: () => 1_000 });
            const late = new SuppressionClient({ tableName, client: local.client, now: () => 2_000 });
            const outcomes = await Promise.all([
                early.suppress({ email: "race@example.edu", reason: "complaint" }),
                late.suppress({ email: "RACE@example.edu", reason: "complaint" }),
            ]);
            expect([...outcomes].sort()).to.deep.equal(["created", "updated"]);
            const entries = await client.entries("race@example.edu");
            expect(entries).to.have.length(1);
            expect(entries[0].addedAt).to.equal(outcomes[0] === "created" ? 1_000 : 2_000);
        });

        it("rejects invalid input with a clear error and writes nothing", async () => {
            const bad: [unknown, RegExp][] = [
                [{ email: "not-an-address", reason: "bounce" }, /email: "not-an-address" is not a valid email address/],
                [{ email: "x@example.edu", reason: "spam" }, /reason: reason must be one of bounce, complaint, manual \(got "spam"\)/],
                [{ email: "x@example.edu", reason: "bounce", expiresAt: -5 }, /expiresAt/],
            ];
            for (const [input, message] of bad) {
                let caught: unknown;
                try {
                    await client.suppress(input as never);
                } catch (error) {
                    caught = error;
                }
                expect(caught, JSON.stringify(input)).to.be.instanceOf(InvalidInputError);
                expect((caught as Error).message).to.match(message);
            }
            const count = await local.client.send(new ScanCommand({ TableName: tableName, Select: "COUNT" }));
            expect(count.Count).to.equal(0);
        });
    });

    describe("remove and list", () => {
        it("remove deletes one reason only and reports whether it existed", async () => {
            await client.suppress({ email: "r@example.edu", reason: "bounce" });
            await client.suppress({ email: "r@example.edu", reason: "complaint" });
            expect(await client.remove("R@example.edu", "bounce")).to.equal(true);
            expect(await client.remove("r@example.edu", "bounce")).to.equal(false);
            expect((await client.entries("r@example.edu")).map((e) => e.reason)).to.deep.equal(["complaint"]);
        });

        it("list returns a reason's entries since a time, oldest first", async () => {
            for (let i = 0; i < 30; i++) {
                clock = 1_700_000_000 + i;
                await client.suppress({ email: `n${i}@example.edu`, reason: "bounce" });
            }
            await client.suppress({ email: "c@example.edu", reason: "complaint" });
            const listed = await client.list("bounce", 1_700_000_010);
            expect(listed.map((e) => e.addedAt)).to.deep.equal(Array.from({ length: 20 }, (_, i) => 1_700_000_010 + i));
            expect(listed.every((e) => e.reason === "bounce")).to.equal(true);
        });
    });
});
