import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { SuppressionStore } from "../../components/suppression-store";
import { MOCK_ACCOUNT, promiseOf, runUnderMocks } from "../support/mocks";

const TABLE_ARN = `arn:aws:dynamodb:us-east-1:${MOCK_ACCOUNT}:table/ses-email-suppression-list`;
const STREAM_ARN = `${TABLE_ARN}/stream/2026-01-01T00:00:00.000`;
const CLAIMS_ARN = `arn:aws:dynamodb:us-east-1:${MOCK_ACCOUNT}:table/ses-mail-suppression-mirror-claims-test`;
const DLQ_ARN = `arn:aws:sqs:us-east-1:${MOCK_ACCOUNT}:ses-mail-suppression-mirror-dlq-test`;

describe("SuppressionStore", () => {
    describe("table", () => {
        it("has exactly the schema operators' runbooks rely on", async () => {
            const { plan } = await runUnderMocks(() => new SuppressionStore("suppression", { env: "test" }));
            const table = plan.one("aws:dynamodb/table:Table");
            expect(table.parentType).to.equal("ses-mail:index:SuppressionStore");
            expect(table.inputs).to.deep.include({
                name: "ses-email-suppression-list",
                billingMode: "PAY_PER_REQUEST",
                hashKey: "email",
                rangeKey: "reason",
                ttl: { attributeName: "expires_at", enabled: true },
                pointInTimeRecovery: { enabled: true },
                serverSideEncryption: { enabled: true },
                deletionProtectionEnabled: true,
                streamEnabled: false,
            });
            expect(table.inputs.attributes).to.deep.equal([
                { name: "email", type: "S" },
                { name: "reason", type: "S" },
                { name: "added_at", type: "N" },
            ]);
            expect(table.inputs.globalSecondaryIndexes).to.deep.equal([{
                name: "reason-index",
                keySchemas: [{ attributeName: "reason", keyType: "HASH" }, { attributeName: "added_at", keyType: "RANGE" }],
                projectionType: "ALL",
            }]);
            expect(table.inputs).not.to.have.property("streamViewType");
            expect(table.inputs.tags).to.deep.equal({ Environment: "test", Service: "ses-mail", Component: "SuppressionStore" });
        });

        it("creates nothing but the table when the mirror is off", async () => {
            const { plan } = await runUnderMocks(() => new SuppressionStore("suppression", { env: "test" }));
            expect(plan.resources.filter((r) => r.custom).map((r) => r.type)).to.deep.equal(["aws:dynamodb/table:Table"]);
        });

        it("protects the table from deletion whatever the env is called, and turns it off only when asked", async () => {
            for (const env of ["prod", "production", "live", "test"]) {
                const { plan } = await runUnderMocks(() => new SuppressionStore("suppression", { env, mirrorToSes: true }));
                expect(plan.ofType("aws:dynamodb/table:Table").map((t) => [t.name, t.inputs.deletionProtectionEnabled]).sort(), env)
                    .to.deep.equal([["suppression", true], ["suppression-mirror-claims", true]]);
            }
            const off = await runUnderMocks(() => new SuppressionStore("suppression", { env: "prod", deletionProtection: false, mirrorToSes: true }));
            expect(off.plan.ofType("aws:dynamodb/table:Table").map((t) => t.inputs.deletionProtectionEnabled)).to.deep.equal([false, false]);
        });

        it("uses a customer KMS key when given, and the grants include it", async () => {
            const key = `arn:aws:kms:us-east-1:${MOCK_ACCOUNT}:key/abc`;
            const { result, plan } = await runUnderMocks(() => new SuppressionStore("suppression", { env: "test", kmsKeyArn: key, tableName: "custom-name" }));
            const table = plan.one("aws:dynamodb/table:Table");
            expect(table.inputs.name).to.equal("custom-name");
            expect(table.inputs.serverSideEncryption).to.deep.equal({ enabled: true, kmsKeyArn: key });
            const write = await promiseOf(pulumi.output(result.writeStatements()));
            expect(write[1]).to.deep.equal({ Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [key] });
        });
    });

    describe("grant helpers", () => {
        it("readers get GetItem and Query on the table and reason-index only", async () => {
            const { result } = await runUnderMocks(() => new SuppressionStore("suppression", { env: "test" }));
            expect(await promiseOf(pulumi.output(result.readStatements()))).to.deep.equal([{
                Effect: "Allow",
                Action: ["dynamodb:GetItem", "dynamodb:Query"],
                Resource: [TABLE_ARN, `${TABLE_ARN}/index/reason-index`],
            }]);
        });

        it("writers add UpdateItem and DeleteItem, never Scan or PutItem", async () => {
            const { result } = await runUnderMocks(() => new SuppressionStore("suppression", { env: "test" }));
            const [statement] = await promiseOf(pulumi.output(result.writeStatements()));
            expect(statement.Action).to.deep.equal(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]);
            expect(statement.Action).not.to.include.members(["dynamodb:Scan", "dynamodb:PutItem"]);
        });
    });

    describe("mirror to the SES account-level suppression list", () => {
        async function mirrored() {
            return runUnderMocks(() => new SuppressionStore("suppression", { env: "test", mirrorToSes: true }));
        }

        it("creates the stream, function, event source mapping and DLQ", async () => {
            const { plan, result } = await mirrored();
            expect(plan.resources.filter((r) => r.custom).map((r) => r.type).sort()).to.deep.equal([
                "aws:cloudwatch/logGroup:LogGroup",
                "aws:dynamodb/table:Table",
                "aws:dynamodb/table:Table",
                "aws:iam/role:Role",
                "aws:iam/rolePolicy:RolePolicy",
                "aws:lambda/eventSourceMapping:EventSourceMapping",
                "aws:lambda/function:Function",
                "aws:sqs/queue:Queue",
                "aws:sqs/queuePolicy:QueuePolicy",
            ]);
            const table = plan.one("aws:dynamodb/table:Table", "suppression");
            expect(table.inputs).to.deep.include({ streamEnabled: true, streamViewType: "NEW_AND_OLD_IMAGES" });
            expect(await promiseOf(result.streamArn!)).to.equal(STREAM_ARN);
        });

        it("keeps its claims (which SES entries this stack put) in a table of its own, encrypted with the table's key", async () => {
            const key = `arn:aws:kms:us-east-1:${MOCK_ACCOUNT}:key/abc`;
            const { plan } = await runUnderMocks(() => new SuppressionStore("suppression", { env: "test", mirrorToSes: true, kmsKeyArn: key }));
            const claims = plan.one("aws:dynamodb/table:Table", "suppression-mirror-claims");
            expect(claims.parentType).to.equal("ses-mail:index:SuppressionStore");
            expect(claims.inputs).to.deep.include({
                name: "ses-mail-suppression-mirror-claims-test", hashKey: "email", attributes: [{ name: "email", type: "S" }],
                billingMode: "PAY_PER_REQUEST", pointInTimeRecovery: { enabled: true }, serverSideEncryption: { enabled: true, kmsKeyArn: key },
            });
            const statements = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy"), "policy").Statement;
            expect(statements).to.deep.include({ Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [key] });
        });

        it("consumes the stream with retries, bisection, partial failures and an on-failure DLQ", async () => {
            const { plan } = await mirrored();
            const mapping = plan.one("aws:lambda/eventSourceMapping:EventSourceMapping");
            expect(mapping.parentType).to.equal("ses-mail:index:SuppressionStore");
            expect(mapping.inputs).to.deep.include({
                eventSourceArn: STREAM_ARN,
                functionName: `arn:aws:lambda:us-east-1:${MOCK_ACCOUNT}:function:ses-mail-suppression-mirror-test`,
                startingPosition: "TRIM_HORIZON",
                maximumRetryAttempts: 5,
                bisectBatchOnFunctionError: true,
                functionResponseTypes: ["ReportBatchItemFailures"],
                destinationConfig: { onFailure: { destinationArn: DLQ_ARN } },
            });
            const dlq = plan.one("aws:sqs/queue:Queue");
            expect(dlq.inputs).to.deep.include({ messageRetentionSeconds: 1209600, sqsManagedSseEnabled: true });
            expect(dlq.inputs.tags.QueueRole).to.equal("dead-letter");
        });

        it("gives the function exactly the permissions it needs", async () => {
            const { plan } = await mirrored();
            const policy = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy"), "policy");
            expect(policy.Statement).to.deep.equal([
                {
                    Effect: "Allow",
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                    Resource: [`arn:aws:logs:us-east-1:${MOCK_ACCOUNT}:log-group:/aws/lambda/ses-mail-suppression-mirror-test:*`],
                },
                { Effect: "Allow", Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], Resource: "*" },
                {
                    Effect: "Allow",
                    Action: ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"],
                    Resource: [STREAM_ARN],
                },
                { Effect: "Allow", Action: ["dynamodb:Query"], Resource: [TABLE_ARN] },
                { Effect: "Allow", Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], Resource: [CLAIMS_ARN] },
                { Effect: "Allow", Action: ["ses:GetSuppressedDestination", "ses:PutSuppressedDestination", "ses:DeleteSuppressedDestination"], Resource: "*" },
                { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [DLQ_ARN] },
            ]);
            const trust = plan.json(plan.one("aws:iam/role:Role"), "assumeRolePolicy");
            expect(trust.Statement).to.deep.equal([{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: ["sts:AssumeRole"], Condition: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT } } }]);
        });

        it("points the function at the table", async () => {
            const { plan } = await mirrored();
            const fn = plan.one("aws:lambda/function:Function");
            expect(fn.inputs.environment.variables).to.deep.include({
                SUPPRESSION_TABLE_NAME: "ses-email-suppression-list", CLAIMS_TABLE_NAME: "ses-mail-suppression-mirror-claims-test", POWERTOOLS_SERVICE_NAME: "suppression-mirror",
            });
        });

        it("refuses a mirror without a stream", () => {
            expect(() => new SuppressionStore("bad", { env: "test", mirrorToSes: true, streamEnabled: false })).to.throw(/mirrorToSes needs the table stream/);
        });
    });
});
