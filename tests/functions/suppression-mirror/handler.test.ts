import { DeleteSuppressedDestinationCommand, NotFoundException, PutSuppressedDestinationCommand, SESv2Client, TooManyRequestsException } from "@aws-sdk/client-sesv2";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from "aws-lambda";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import { streamEvent, streamRecord, suppressionImage, suppressionKeys } from "../../fixtures/dynamodb-stream";
import { captureOutput, emittedMetrics } from "../../support/output";

const context = { functionName: "ses-mail-suppression-mirror-test", awsRequestId: "req-1", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

describe("suppression-mirror handler", () => {
    let ses: AwsClientStub<SESv2Client>;
    let dynamo: AwsClientStub<DynamoDBDocumentClient>;
    let mirrorHandler: (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse>;
    let remaining: Record<string, object[]>;
    let metrics: Record<string, number>;
    let logs: Record<string, any>[];

    async function handler(event: DynamoDBStreamEvent, ctx: Context): Promise<DynamoDBBatchResponse> {
        const { result, lines } = await captureOutput(() => mirrorHandler(event, ctx));
        metrics = emittedMetrics(lines);
        logs = lines.filter((line): line is Record<string, any> => typeof line === "object" && line !== null && "level" in line);
        return result;
    }

    before(async () => {
        // Mocks patch the client classes globally: create them here and restore them after.
        ses = mockClient(SESv2Client);
        dynamo = mockClient(DynamoDBDocumentClient);
        Object.assign(process.env, {
            SUPPRESSION_TABLE_NAME: "ses-email-suppression-list",
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
        dynamo.on(QueryCommand).callsFake((input) => ({ Items: remaining[input.ExpressionAttributeValues[":email"]] ?? [] }));
        ses.on(PutSuppressedDestinationCommand).resolves({});
        ses.on(DeleteSuppressedDestinationCommand).resolves({});
    });

    it("puts a new bounce into SES's list as BOUNCE, reading the table for the address", async () => {
        remaining["a@example.edu"] = [{ email: "a@example.edu", reason: "bounce", added_at: 1 }];
        const result = await handler(streamEvent(streamRecord("INSERT", suppressionKeys("a@example.edu", "bounce"), { newImage: suppressionImage("a@example.edu", "bounce") })), context);
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(dynamo.commandCalls(QueryCommand)[0].args[0].input).to.deep.include({ TableName: "ses-email-suppression-list", KeyConditionExpression: "email = :email" });
        expect(ses.commandCalls(PutSuppressedDestinationCommand).map((c) => c.args[0].input)).to.deep.equal([{ EmailAddress: "a@example.edu", Reason: "BOUNCE" }]);
        expect(ses.commandCalls(DeleteSuppressedDestinationCommand)).to.have.length(0);
        expect(metrics).to.deep.equal({ SuppressionMirrored: 1 });
        expect(logs.find((line) => line.message === "Mirrored suppression to SES")).to.deep.include({ action: "put", recipient: "a@example.edu", eventName: "INSERT" });
    });

    it("keeps a complaint in SES when only the bounce entry was removed", async () => {
        remaining["b@example.edu"] = [{ email: "b@example.edu", reason: "complaint", added_at: 1 }];
        await handler(streamEvent(streamRecord("REMOVE", suppressionKeys("b@example.edu", "bounce"), { oldImage: suppressionImage("b@example.edu", "bounce") })), context);
        expect(ses.commandCalls(PutSuppressedDestinationCommand).map((c) => c.args[0].input)).to.deep.equal([{ EmailAddress: "b@example.edu", Reason: "COMPLAINT" }]);
        expect(ses.commandCalls(DeleteSuppressedDestinationCommand)).to.have.length(0);
    });

    it("removes the address from SES when an operator deletes the last entry or its TTL expires", async () => {
        const manual = streamRecord("REMOVE", suppressionKeys("c@example.edu", "manual"), { oldImage: suppressionImage("c@example.edu", "manual") });
        const expired = streamRecord("REMOVE", suppressionKeys("d@example.edu", "bounce"), { oldImage: suppressionImage("d@example.edu", "bounce", { expires_at: { N: "1733000000" } }), ttlExpiry: true });
        const result = await handler(streamEvent(manual, expired), context);
        expect(result.batchItemFailures).to.deep.equal([]);
        expect(ses.commandCalls(DeleteSuppressedDestinationCommand).map((c) => c.args[0].input.EmailAddress)).to.deep.equal(["c@example.edu", "d@example.edu"]);
        expect(metrics).to.deep.equal({ SuppressionUnmirrored: 2 });
    });

    it("treats an address SES no longer holds as already deleted", async () => {
        ses.on(DeleteSuppressedDestinationCommand).rejects(new NotFoundException({ message: "not found", $metadata: {} }));
        const result = await handler(streamEvent(streamRecord("REMOVE", suppressionKeys("e@example.edu", "bounce"))), context);
        expect(result.batchItemFailures).to.deep.equal([]);
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
