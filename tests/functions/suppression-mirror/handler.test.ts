import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { DeleteSuppressedDestinationCommand, GetSuppressedDestinationCommand, NotFoundException, PutSuppressedDestinationCommand, SESv2Client, TooManyRequestsException } from "@aws-sdk/client-sesv2";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { streamEvent, streamRecord, suppressionImage, suppressionKeys } from "../../fixtures/dynamodb-stream";
import { captureOutput, emittedMetrics } from "../../support/output";

const context = { functionName: "ses-mail-suppression-mirror-test", awsRequestId: "req-1", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
const CLAIMS = "ses-mail-suppression-mirror-claims-test";

describe("suppression-mirror handler", () => {
    let ses: AwsClientStub<SESv2Client>;
    let dynamo: AwsClientStub<DynamoDBDocumentClient>;
    let mirrorHandler: (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;
    let remaining: Record<string, object[]>;
    /** SES's account-level list: address → reason and LastUpdateTime. */
    let listed: Map<string, { Reason: string; LastUpdateTime: Date; Attributes?: { MessageId?: string; FeedbackId?: string } }>;
    let claims: Map<string, string>;
    let clock: number;
    let metrics: Record<string, number>;
    let logs: Record<string, any>[];

    async function handler(event: DynamoDBStreamEvent, ctx: Context): Promise<DynamoDBBatchResponse> {
        const { result, lines } = await captureOutput(() => mirrorHandler(event, ctx));
        metrics = emittedMetrics(lines);
        logs = lines.filter((line): line is Record<string, any> => typeof line === "object" && line !== null && "level" in line);
        return result;
    }

    /** An entry this stack put earlier: listed, with the claim recorded right after. */
    function ours(email: string, reason = "BOUNCE") {
        const at = new Date(clock++);
        listed.set(email, { Reason: reason, LastUpdateTime: at });
        claims.set(email, at.toISOString());
    }

    before(async () => {
        // Mocks patch the client classes globally: create them here and restore them after.
        ses = mockClient(SESv2Client);
        dynamo = mockClient(DynamoDBDocumentClient);
        Object.assign(process.env, {
            SUPPRESSION_TABLE_NAME: "ses-email-suppression-list",
            CLAIMS_TABLE_NAME: CLAIMS,
            POWERTOOLS_SERVICE_NAME: "suppression-mirror",
            POWERTOOLS_METRICS_NAMESPACE: "SESMail/test",
        });
        ({ handler: mirrorHandler } = await import("../../../functions/suppression-mirror/handler"));
    });

    after(() => {
        ses.restore();
        dynamo.restore();
    });

    beforeEach(() => {
        ses.reset();
        dynamo.reset();
        remaining = {};
        listed = new Map();
        claims = new Map();
        clock = Date.UTC(2026, 0, 1);
        dynamo.on(QueryCommand).callsFake((input) => ({ Items: remaining[input.ExpressionAttributeValues[":email"]] ?? [] }));
        dynamo.on(GetCommand).callsFake((input) => ({ Item: claims.has(input.Key.email) ? { email: input.Key.email, last_updated: claims.get(input.Key.email) } : undefined }));
        dynamo.on(PutCommand).callsFake((input) => {
            const current = claims.get(input.Item.email);
            if (current !== undefined && !(current < input.ExpressionAttributeValues[":at"])) {
                throw new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });
            }
            claims.set(input.Item.email, input.Item.last_updated);
            return {};
        });
        dynamo.on(DeleteCommand).callsFake((input) => {
            claims.delete(input.Key.email);
            return {};
        });
        ses.on(GetSuppressedDestinationCommand).callsFake((input) => {
            const entry = listed.get(input.EmailAddress);
            if (!entry) throw new NotFoundException({ message: "Email address is not on the suppression list", $metadata: {} });
            return { SuppressedDestination: { EmailAddress: input.EmailAddress, ...entry } };
        });
        ses.on(PutSuppressedDestinationCommand).callsFake((input) => {
            listed.set(input.EmailAddress, { Reason: input.Reason, LastUpdateTime: new Date(clock++) });
            return {};
        });
        ses.on(DeleteSuppressedDestinationCommand).callsFake((input) => {
            listed.delete(input.EmailAddress);
            return {};
        });
    });

    it("puts a new bounce into SES's list as BOUNCE, reading the table consistently, and claims it", async () => {
        remaining["a@example.edu"] = [{ email: "a@example.edu", reason: "bounce", added_at: 1 }];
        const result = await handler(streamEvent(streamRecord("INSERT", suppressionKeys("a@example.edu", "bounce"), { newImage: suppressionImage("a@example.edu", "bounce") })), context);
        expect(result.batchItemFailures).to.deep.equal([]);
        // Stream records of other writes run in parallel: an eventually consistent read may miss a write
        // made a moment ago (DynamoDB developer guide, "Read consistency").
        expect(dynamo.commandCalls(QueryCommand)[0].args[0].input).to.deep.include({ TableName: "ses-email-suppression-list", KeyConditionExpression: "email = :email", ConsistentRead: true });
        expect(ses.commandCalls(PutSuppressedDestinationCommand).map((c) => c.args[0].input)).to.deep.equal([{ EmailAddress: "a@example.edu", Reason: "BOUNCE" }]);
        expect(ses.commandCalls(DeleteSuppressedDestinationCommand)).to.have.length(0);
        expect(claims.get("a@example.edu")).to.equal(listed.get("a@example.edu")!.LastUpdateTime.toISOString());
        expect(dynamo.commandCalls(GetCommand)[0].args[0].input).to.deep.equal({ TableName: CLAIMS, Key: { email: "a@example.edu" }, ConsistentRead: true });
        expect(metrics).to.deep.equal({ SuppressionMirrored: 1 });
        expect(logs.find((line) => line.message === "Mirrored suppression to SES")).to.deep.include({ action: "put", recipient: "a@example.edu", eventName: "INSERT" });
    });

    it("turns its own BOUNCE into COMPLAINT when the bounce entry goes and a complaint is left", async () => {
        ours("b@example.edu", "BOUNCE");
        remaining["b@example.edu"] = [{ email: "b@example.edu", reason: "complaint", added_at: 1 }];
        await handler(streamEvent(streamRecord("REMOVE", suppressionKeys("b@example.edu", "bounce"), { oldImage: suppressionImage("b@example.edu", "bounce") })), context);
        expect(ses.commandCalls(PutSuppressedDestinationCommand).map((c) => c.args[0].input)).to.deep.equal([{ EmailAddress: "b@example.edu", Reason: "COMPLAINT" }]);
        expect(ses.commandCalls(DeleteSuppressedDestinationCommand)).to.have.length(0);
        expect(claims.get("b@example.edu")).to.equal(listed.get("b@example.edu")!.LastUpdateTime.toISOString());
    });

    it("removes its own entries when an operator deletes the last entry or its TTL expires", async () => {
        ours("c@example.edu");
        ours("d@example.edu");
        const manual = streamRecord("REMOVE", suppressionKeys("c@example.edu", "manual"), { oldImage: suppressionImage("c@example.edu", "manual") });
        const expired = streamRecord("REMOVE", suppressionKeys("d@example.edu", "bounce"), { oldImage: suppressionImage("d@example.edu", "bounce", { expires_at: { N: "1733000000" } }), ttlExpiry: true });
        const result = await handler(streamEvent(manual, expired), context);
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(ses.commandCalls(DeleteSuppressedDestinationCommand).map((c) => c.args[0].input.EmailAddress).sort()).to.deep.equal(["c@example.edu", "d@example.edu"]);
        expect([...claims.keys()]).to.deep.equal([]);
        expect(metrics).to.deep.equal({ SuppressionUnmirrored: 2 });
    });

    it("never removes an entry it did not put (SES's own, the console's, another stack's) and says so", async () => {
        listed.set("e@example.edu", { Reason: "BOUNCE", LastUpdateTime: new Date(clock++) });
        const result = await handler(streamEvent(streamRecord("REMOVE", suppressionKeys("e@example.edu", "bounce"))), context);
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(ses.commandCalls(DeleteSuppressedDestinationCommand)).to.have.length(0);
        expect(listed.has("e@example.edu")).to.equal(true);
        expect(metrics).to.deep.equal({ SuppressionLeftInSes: 1 });
        expect(logs.find((line) => line.level === "WARN")).to.deep.include({ message: "Left an SES suppression this stack did not put", action: "left", wanted: "delete", recipient: "e@example.edu" });
    });

    it("nor an entry of its own that someone wrote again since its claim", async () => {
        ours("f@example.edu");
        listed.set("f@example.edu", { Reason: "BOUNCE", LastUpdateTime: new Date(clock++) });
        await handler(streamEvent(streamRecord("REMOVE", suppressionKeys("f@example.edu", "bounce"))), context);
        expect(ses.commandCalls(DeleteSuppressedDestinationCommand)).to.have.length(0);
        expect(claims.has("f@example.edu")).to.equal(false);
    });

    it("nor an entry SES itself added after a bounce (Attributes name its MessageId), even at its claimed time", async () => {
        ours("m@example.edu");
        listed.get("m@example.edu")!.Attributes = { MessageId: "0100018f-bounce", FeedbackId: "0100018f-feedback" };
        await handler(streamEvent(streamRecord("REMOVE", suppressionKeys("m@example.edu", "bounce"))), context);
        expect(ses.commandCalls(DeleteSuppressedDestinationCommand)).to.have.length(0);
        expect(metrics).to.deep.equal({ SuppressionLeftInSes: 1 });
    });

    it("reads the entry again right before deleting it", async () => {
        ours("n@example.edu");
        await handler(streamEvent(streamRecord("REMOVE", suppressionKeys("n@example.edu", "bounce"))), context);
        expect(ses.commandCalls(GetSuppressedDestinationCommand)).to.have.length(2);
        expect(ses.commandCalls(DeleteSuppressedDestinationCommand)).to.have.length(1);
    });

    it("leaves an address SES already lists for someone else as it is, without claiming it", async () => {
        listed.set("g@example.edu", { Reason: "BOUNCE", LastUpdateTime: new Date(clock++) });
        remaining["g@example.edu"] = [{ email: "g@example.edu", reason: "complaint", added_at: 1 }];
        await handler(streamEvent(streamRecord("INSERT", suppressionKeys("g@example.edu", "complaint"))), context);
        expect(ses.commandCalls(PutSuppressedDestinationCommand)).to.have.length(0);
        expect(claims.has("g@example.edu")).to.equal(false);
        expect(metrics).to.deep.equal({ SuppressionLeftInSes: 1 });
    });

    it("treats an address SES no longer holds as already deleted, dropping its claim", async () => {
        claims.set("h@example.edu", new Date(clock++).toISOString());
        const result = await handler(streamEvent(streamRecord("REMOVE", suppressionKeys("h@example.edu", "bounce"))), context);
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(ses.commandCalls(DeleteSuppressedDestinationCommand)).to.have.length(0);
        expect(claims.has("h@example.edu")).to.equal(false);
        expect(metrics).to.deep.equal({ SuppressionMirrorUnchanged: 1 });
    });

    it("two records of one address in one batch (run in parallel) leave one claim, the latest", async () => {
        remaining["i@example.edu"] = [{ email: "i@example.edu", reason: "bounce", added_at: 1 }, { email: "i@example.edu", reason: "manual", added_at: 2 }];
        await handler(streamEvent(streamRecord("INSERT", suppressionKeys("i@example.edu", "bounce")), streamRecord("INSERT", suppressionKeys("i@example.edu", "manual"))), context);
        expect(claims.get("i@example.edu")).to.equal(listed.get("i@example.edu")!.LastUpdateTime.toISOString());
    });

    it("reports only the failed records: a malformed one and a throttled one; the rest succeed", async () => {
        remaining["ok@example.edu"] = [{ email: "ok@example.edu", reason: "bounce", added_at: 1 }];
        remaining["slow@example.edu"] = [{ email: "slow@example.edu", reason: "bounce", added_at: 1 }];
        ses.on(PutSuppressedDestinationCommand, { EmailAddress: "slow@example.edu" }).rejects(new TooManyRequestsException({ message: "rate", $metadata: {} }));
        const malformed = streamRecord("INSERT", { PK: { S: "ROUTE#x" } });
        const throttled = streamRecord("INSERT", suppressionKeys("slow@example.edu", "bounce"));
        const fine = streamRecord("INSERT", suppressionKeys("ok@example.edu", "bounce"));
        const result = await handler(streamEvent(malformed, throttled, fine), context);
        expect(result.batchItemFailures).to.deep.equal([
            { itemIdentifier: malformed.dynamodb!.SequenceNumber },
            { itemIdentifier: throttled.dynamodb!.SequenceNumber },
        ]);
        expect(ses.commandCalls(PutSuppressedDestinationCommand).map((c) => c.args[0].input.EmailAddress)).to.deep.equal(["slow@example.edu", "ok@example.edu"]);
        expect(metrics).to.deep.equal({ SuppressionMirrorFailure: 2, SuppressionMirrored: 1 });
        const errors = logs.filter((line) => line.level === "ERROR");
        expect(errors.map((line) => [line.eventId, line.error.name])).to.deep.equal([
            [malformed.eventID, "InvalidInputError"],
            [throttled.eventID, "TooManyRequestsException"],
        ]);
        expect(errors[0].error.message).to.match(/has no email key/);
    });
});
