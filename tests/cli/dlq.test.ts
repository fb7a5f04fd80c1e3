// `ses-mail dlq …` end to end: argument parsing to output and exit code, SQS and CloudWatch through
// aws-sdk-client-mock. The DLQs come from components/dlq-catalog.ts, which is checked here against
// the synthesized prod stack (every dead-letter queue, its redrive source, EventBridge DLQ and
// stream on-failure destination) and against the stack's deadLetterQueues output.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import {
    ChangeMessageVisibilityBatchCommand, DeleteMessageCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ListMessageMoveTasksCommand, Message,
    QueueDoesNotExist, ReceiveMessageCommand, SendMessageCommand, SQSClient, StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import * as pulumi from "@pulumi/pulumi";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { decodeDlqMessage } from "../../cli/dlq-decode";
import { recordingConfirm, runMain } from "./run-cli";
import { dlqQueueName, dlqSourceQueueName, STACK_DLQS } from "../../components/dlq-catalog";
import { readRecord } from "../../functions/router/record";
import type { RoutingEvent } from "../../functions/shared/routing-event";
import { bounce, hardRecipient, sns } from "../fixtures/ses-feedback";
import { eventBridgeSqsBody, receiptNotification } from "../fixtures/ses-receipt";
import { promiseOf } from "../support/mocks";
import { cachedStack } from "../support/stack";

const NOW = new Date("2026-11-22T10:00:00.000Z");
const ACCOUNT = "123456789012";
const url = (name: string) => `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/${name}`;
const arn = (name: string) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${name}`;

describe("ses-mail dlq", function () {
    this.timeout(120_000);
    let sqs: AwsClientStub<SQSClient>;
    let cloudwatch: AwsClientStub<CloudWatchClient>;
    let dir: string;
    let outputsFile: string;
    let prodOutputs: Record<string, any>;
    let prodPlan: Awaited<ReturnType<typeof cachedStack>>["plan"];
    const saved = { ...process.env };
    const questions: string[] = [];
    let answer: boolean;

    const run = (...argv: string[]) => runMain(["dlq", ...argv], { now: () => NOW, confirm: recordingConfirm(questions, () => answer) });

    /** Queue depths by name; every queue of `names` exists (GetQueueUrl, QueueArn, redrive policy of main queues). */
    function queues(depths: Record<string, number>, names: string[], redrive: Record<string, string> = {}) {
        sqs.on(GetQueueUrlCommand).callsFake((input: { QueueName: string }) => {
            if (!names.includes(input.QueueName)) throw new QueueDoesNotExist({ message: "The specified queue does not exist.", $metadata: {} });
            return { QueueUrl: url(input.QueueName) };
        });
        sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => {
            const name = input.QueueUrl.split("/").pop()!;
            return {
                Attributes: {
                    QueueArn: arn(name), ApproximateNumberOfMessages: String(depths[name] ?? 0), ApproximateNumberOfMessagesNotVisible: "0", ApproximateNumberOfMessagesDelayed: "0",
                    ...(redrive[name] ? { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn(redrive[name]), maxReceiveCount: 3 }) } : {}),
                },
            };
        });
    }

    before(async () => {
        Object.assign(process.env, { AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
        const { plan, outputs } = await cachedStack("prod");
        prodPlan = plan;
        prodOutputs = await promiseOf(pulumi.output(outputs) as unknown as pulumi.Output<Record<string, any>>);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-dlq-"));
        outputsFile = path.join(dir, "outputs.json");
        fs.writeFileSync(outputsFile, JSON.stringify(prodOutputs));
        sqs = mockClient(SQSClient);
        cloudwatch = mockClient(CloudWatchClient);
    });
    after(() => {
        sqs.restore();
        cloudwatch.restore();
        process.env = saved;
        fs.rmSync(dir, { recursive: true, force: true });
    });
    beforeEach(() => {
        sqs.reset();
        cloudwatch.reset();
        questions.length = 0;
        answer = true;
    });

    describe("the catalog is the stack's (so the CLI cannot drift from the components)", () => {
        it("prod: exactly the dead-letter queues the components create, each wired to the source the catalog names", () => {
            const dlqs = prodPlan.ofType("aws:sqs/queue:Queue").filter((q) => q.inputs.tags?.QueueRole === "dead-letter");
            const byName = new Map(prodPlan.ofType("aws:sqs/queue:Queue").map((q) => [q.inputs.name as string, q]));
            expect(dlqs.map((q) => q.inputs.name).sort()).to.deep.equal(STACK_DLQS.map((spec) => dlqQueueName(spec, "prod")).sort());
            for (const spec of STACK_DLQS) {
                const dlqArn = byName.get(dlqQueueName(spec, "prod"))!.state.arn;
                if (spec.redrive.kind === "sqs-source") {
                    const source = byName.get(dlqSourceQueueName(spec, "prod")!)!;
                    expect(JSON.parse(source.inputs.redrivePolicy).deadLetterTargetArn, spec.label).to.equal(dlqArn);
                } else if (spec.redrive.kind === "eventbridge-target") {
                    const targetArn = byName.get(dlqQueueName(STACK_DLQS.find((s) => s.label === "input")!, "prod"))!.state.arn;
                    const targets = prodPlan.ofType("aws:cloudwatch/eventTarget:EventTarget").filter((t) => t.inputs.deadLetterConfig?.arn === dlqArn);
                    expect(targets.map((t) => t.inputs.arn), spec.label).to.deep.equal([targetArn]);
                } else if (spec.redrive.kind === "stale-events") {
                    // Events the rule could not deliver to the function, and the function's failed async invocations.
                    const targets = prodPlan.ofType("aws:cloudwatch/eventTarget:EventTarget").filter((t) => t.inputs.deadLetterConfig?.arn === dlqArn);
                    expect(targets.map((t) => t.inputs.arn), spec.label).to.have.length(1);
                    expect(targets[0].inputs.arn).to.include(`function:ses-mail-${spec.redrive.functionPurpose}-prod`);
                    const invokeConfigs = prodPlan.ofType("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").filter((c) => c.inputs.destinationConfig?.onFailure?.destination === dlqArn);
                    expect(invokeConfigs.map((c) => c.inputs.functionName), spec.label).to.deep.equal([`ses-mail-${spec.redrive.functionPurpose}-prod`]);
                } else {
                    const mappings = prodPlan.ofType("aws:lambda/eventSourceMapping:EventSourceMapping").filter((m) => m.inputs.destinationConfig?.onFailure?.destinationArn === dlqArn);
                    expect(mappings.map((m) => m.inputs.functionName), spec.label).to.have.length(1);
                    expect(mappings[0].inputs.functionName).to.include(`ses-mail-${spec.redrive.functionPurpose}-prod`);
                    expect(mappings[0].inputs.eventSourceArn).to.include(":dynamodb:");
                }
            }
        });

        it("the deadLetterQueues output names every DLQ by the alarms' labels, with the source queue of those SQS redrives into", () => {
            const out = prodOutputs.deadLetterQueues as Record<string, { name: string; url: string; arn: string; sourceQueueUrl?: string }>;
            expect(Object.keys(out).sort()).to.deep.equal(STACK_DLQS.map((s) => s.label).sort());
            for (const spec of STACK_DLQS) {
                expect(out[spec.label].name).to.equal(dlqQueueName(spec, "prod"));
                expect(out[spec.label].url).to.equal(url(dlqQueueName(spec, "prod")));
                expect(out[spec.label].sourceQueueUrl).to.equal(spec.redrive.kind === "sqs-source" ? url(dlqSourceQueueName(spec, "prod")!) : undefined);
            }
        });
    });

    describe("list", () => {
        const all = STACK_DLQS.map((s) => dlqQueueName(s, "prod"));

        it("--outputs: every DLQ with its count and CloudWatch's oldest age; exit 1 when any holds messages", async () => {
            queues({ "ses-mail-gmail-forwarder-dlq-prod": 3 }, all);
            cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: "q0", Values: [7300, 7200], Timestamps: [NOW, NOW] }] });
            const { code, stdout } = await run("list", "--outputs", outputsFile, "--json");
            expect(code).to.equal(1);
            const rows = JSON.parse(stdout) as { label: string; messages: number; oldestAgeSeconds: number | null; exists: boolean }[];
            expect(rows.map((r) => r.label)).to.deep.equal(Object.keys(prodOutputs.deadLetterQueues));
            expect(rows.filter((r) => r.messages > 0).map((r) => [r.label, r.messages, r.oldestAgeSeconds])).to.deep.equal([["forwarder", 3, 7300]]);
            // Only queues with messages are asked about, and for the newest datapoint first.
            const query = cloudwatch.commandCalls(GetMetricDataCommand)[0].args[0].input;
            expect(query.ScanBy).to.equal("TimestampDescending");
            expect(query.MetricDataQueries!.map((q) => q.MetricStat!.Metric!.Dimensions)).to.deep.equal([[{ Name: "QueueName", Value: "ses-mail-gmail-forwarder-dlq-prod" }]]);
            // The outputs carry the URLs: no name lookups.
            expect(sqs.commandCalls(GetQueueUrlCommand)).to.have.length(0);
        });

        it("table output says what to do next; all empty is exit 0 with no CloudWatch call", async () => {
            queues({ "ses-mail-bouncer-dlq-prod": 1 }, all);
            cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: "q0", Values: [] }] });
            const table = await run("list", "--stack", "prod");
            expect(table.code).to.equal(1);
            expect(table.stdout).to.match(/^bouncer\s+ses-mail-bouncer-dlq-prod\s+1 message, oldest unknown$/m);
            expect(table.stdout).to.include("Next: ses-mail dlq peek bouncer");
            cloudwatch.reset();
            queues({}, all);
            const empty = await run("list", "--stack", "prod");
            expect(empty.code).to.equal(0);
            expect(empty.stdout.match(/ empty$/gm)).to.have.length(STACK_DLQS.length);
            expect(cloudwatch.commandCalls(GetMetricDataCommand)).to.have.length(0);
        });

        it("--stack test lists only its parts (no suppression mirror); a DLQ the stack should have but AWS lacks is NOT FOUND (exit 1)", async () => {
            const test = STACK_DLQS.filter((s) => s.label !== "suppression-mirror").map((s) => dlqQueueName(s, "test"));
            queues({}, test.filter((n) => n !== "ses-mail-bouncer-dlq-test"));
            const { code, stdout } = await run("list", "--stack", "test", "--json");
            expect(code).to.equal(1);
            const rows = JSON.parse(stdout) as { label: string; exists: boolean }[];
            expect(rows.map((r) => r.label)).to.not.include("suppression-mirror");
            expect(rows.filter((r) => !r.exists).map((r) => r.label)).to.deep.equal(["bouncer"]);
        });

        it("--env: every possible DLQ is tried and those that do not exist are skipped", async () => {
            queues({}, [dlqQueueName(STACK_DLQS[0], "qa", "acme")]);
            const { code, stdout } = await run("list", "--env", "qa", "--name-prefix", "acme", "--json");
            expect(code).to.equal(0);
            expect(JSON.parse(stdout).map((r: { queue: string }) => r.queue)).to.deep.equal(["acme-feedback-dlq-qa"]);
            expect(sqs.commandCalls(GetQueueUrlCommand)).to.have.length(STACK_DLQS.length);
        });

        it("outputs of a stack deployed before deadLetterQueues: the DLQs they name, and a note on the rest", async () => {
            const legacy = path.join(dir, "legacy.json");
            const older = Object.fromEntries(Object.entries(prodOutputs).filter(([key]) => key !== "deadLetterQueues"));
            fs.writeFileSync(legacy, JSON.stringify(older));
            queues({}, all);
            const { code, stdout } = await run("list", "--outputs", legacy);
            expect(code).to.equal(0);
            expect(stdout.split("\n")[0]).to.match(/has no deadLetterQueues output: only the DLQs it names are shown/);
            expect(stdout.match(/ empty$/gm)).to.have.length(5);
        });

        it("missing credentials and denied calls are one line, not a stack trace", async () => {
            sqs.on(GetQueueAttributesCommand).rejects(Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }));
            const { code, stderr } = await run("list", "--outputs", outputsFile);
            expect([code, stderr]).to.deep.equal([1, "No AWS credentials: sign in first (e.g. aws sso login, or set AWS_PROFILE) and run this again.\n"]);
        });
    });

    describe("peek", () => {
        const forwarderDlq = "ses-mail-gmail-forwarder-dlq-prod";
        const event: RoutingEvent = {
            messageId: "mail-1", source: "sender@example.net", recipients: ["support@mail.example.com"], receivedAt: "2026-11-22T09:00:00Z",
            s3: { bucket: "ses-mail-email-prod-123456789012", key: "inbound/mail-1" },
            verdicts: { spam: "PASS", virus: "PASS", spf: "PASS", dkim: "PASS", dmarc: "PASS" }, headers: {},
            decisions: [{ action: "forward-to-gmail", target: "support-team@gmail.com", recipients: ["support@mail.example.com"], reason: "rule:support@mail.example.com", labels: [] }],
        };
        const message = (id: string, body: string, extra: Partial<Message> = {}): Message => ({
            MessageId: id, ReceiptHandle: `handle-${id}`, Body: body,
            Attributes: { SentTimestamp: String(Date.parse("2026-11-22T09:00:05Z")), ApproximateReceiveCount: "9", ...extra.Attributes }, ...(extra.MessageAttributes ? { MessageAttributes: extra.MessageAttributes } : {}),
        });

        it("decodes without deleting, and releases every received message at once (visibility 0)", async () => {
            queues({ [forwarderDlq]: 3 }, [forwarderDlq]);
            const messages = [
                // SQS redrive after the forwarder's receives ran out.
                message("m1", eventBridgeSqsBody(event), { Attributes: { DeadLetterQueueSourceArn: arn("ses-mail-gmail-forwarder-prod") } }),
                // The forwarder's own send on a permanent error, with its reason.
                message("m2", eventBridgeSqsBody(event), { MessageAttributes: { reason: { DataType: "String", StringValue: "Message too large for Gmail import" } } }),
                // EventBridge could not deliver the forward event to the forwarder queue ("Event retry policy and using dead-letter queues").
                message("m3", eventBridgeSqsBody(event), {
                    MessageAttributes: {
                        RULE_ARN: { DataType: "String", StringValue: "arn:aws:events:us-east-1:123456789012:rule/ses-mail-email-routing-prod/ses-mail-route-forward-prod" },
                        TARGET_ARN: { DataType: "String", StringValue: arn("ses-mail-gmail-forwarder-prod") },
                        ERROR_CODE: { DataType: "String", StringValue: "SDK_CLIENT_ERROR" },
                        ERROR_MESSAGE: { DataType: "String", StringValue: "Unable to invoke target: KMS access denied" },
                        EXHAUSTED_RETRY_CONDITION: { DataType: "String", StringValue: "MaximumEventAgeInSeconds" },
                    },
                }),
            ];
            // SQS hands out two, then (the first two held) the third, then nothing new.
            sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: messages.slice(0, 2) }).resolvesOnce({ Messages: messages.slice(2) }).resolves({});
            const { code, stdout } = await run("peek", "forwarder", "-n", "5", "--outputs", outputsFile, "--json");
            expect(code).to.equal(0);
            const decoded = JSON.parse(stdout);
            expect(decoded.map((d: { sesMessageId: string; recipients: string[]; s3: string }) => [d.sesMessageId, d.recipients, d.s3])).to.deep.equal(
                Array(3).fill(["mail-1", ["support@mail.example.com"], "s3://ses-mail-email-prod-123456789012/inbound/mail-1"]));
            expect(decoded[0].routing).to.deep.equal(["forward-to-gmail → support-team@gmail.com: support@mail.example.com (rule:support@mail.example.com)"]);
            expect(decoded.map((d: { via: string }) => d.via)).to.deep.equal(["SQS redrive from ses-mail-gmail-forwarder-prod after its receives ran out", "sent directly by the consumer", "EventBridge target DLQ"]);
            expect(decoded[1].failure).to.equal("the function: Message too large for Gmail import");
            expect(decoded[2].failure).to.equal(`EventBridge could not deliver it to ${arn("ses-mail-gmail-forwarder-prod")}: SDK_CLIENT_ERROR Unable to invoke target: KMS access denied (MaximumEventAgeInSeconds)`);
            const receives = sqs.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input);
            expect(receives[0]).to.deep.include({ MaxNumberOfMessages: 5, VisibilityTimeout: 30, WaitTimeSeconds: 1 });
            expect(sqs.commandCalls(DeleteMessageCommand)).to.have.length(0);
            const released = sqs.commandCalls(ChangeMessageVisibilityBatchCommand).flatMap((c) => c.args[0].input.Entries!);
            expect(released.map((e) => [e.ReceiptHandle, e.VisibilityTimeout])).to.deep.equal([["handle-m1", 0], ["handle-m2", 0], ["handle-m3", 0]]);
        });

        it("the input DLQ: a receipt notification and the router's own invalid event; the stream DLQ: the batch's shard and sequence numbers", async () => {
            const receipt = sns(receiptNotification({ messageId: "mail-2", recipients: ["info@mail.example.com"], bucket: "b" }));
            // The router's real output for a notification it cannot read (no timestamp).
            const broken = receiptNotification({ messageId: "mail-3", recipients: ["x@mail.example.com"], bucket: "b" }) as Record<string, any>;
            delete broken.receipt.timestamp;
            delete broken.mail.timestamp;
            const read = readRecord({ messageId: "sqs-9", body: JSON.stringify(sns(broken)) });
            expect(read).to.have.property("invalid");
            const invalid = eventBridgeSqsBody((read as { invalid: unknown }).invalid);
            const a = decodeDlqMessage(message("r1", JSON.stringify(receipt), { Attributes: { DeadLetterQueueSourceArn: arn("ses-mail-email-input-prod") } }));
            expect(a).to.deep.include({ format: "ses-receipt", sesMessageId: "mail-2", recipients: ["info@mail.example.com"], s3: "s3://b/inbound/mail-2" });
            const b = decodeDlqMessage(message("r2", invalid));
            expect(b).to.deep.include({ format: "invalid-routing-event", sesMessageId: "mail-3", recipients: ["x@mail.example.com"], s3: "s3://b/inbound/mail-3", via: "the bus's invalid rule" });
            expect(b.failure).to.match(/^the router: Invalid SES receipt notification: receipt.timestamp/);
            // Lambda's on-failure record of a DynamoDB stream batch ("Using Lambda with DynamoDB", invocation record).
            const failure = decodeDlqMessage(message("s1", JSON.stringify({
                requestContext: { requestId: "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81", functionArn: "arn:aws:lambda:us-east-1:123456789012:function:ses-mail-suppression-mirror-prod", condition: "RetryAttemptsExhausted", approximateInvokeCount: 6 },
                responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
                version: "1.0", timestamp: "2026-11-22T09:13:49.717Z",
                DDBStreamBatchInfo: {
                    shardId: "shardId-00000001573689847184-864758bb", startSequenceNumber: "800000000003126276362", endSequenceNumber: "800000000003126276363",
                    approximateArrivalOfFirstRecord: "2026-11-22T09:13:19Z", approximateArrivalOfLastRecord: "2026-11-22T09:13:19Z", batchSize: 2,
                    streamArn: "arn:aws:dynamodb:us-east-1:123456789012:table/ses-email-suppression-list/stream/2026-01-01T00:00:00.000",
                },
            })));
            expect(failure).to.deep.include({ format: "stream-failure", via: "Lambda stream on-failure destination", failure: "RetryAttemptsExhausted after 6 invocations of ses-mail-suppression-mirror-prod (Unhandled, status 200)" });
            expect(failure.stream).to.deep.include({ shardId: "shardId-00000001573689847184-864758bb", startSequenceNumber: "800000000003126276362", batchSize: 2 });
            // The brake's DLQ: Lambda's on-failure record of an async invocation ("Capturing records of Lambda asynchronous invocations").
            const alarmEvent = { version: "0", id: "c4c1c1c9", "detail-type": "CloudWatch Alarm State Change", source: "aws.cloudwatch", time: "2026-11-22T09:00:00Z", resources: [], detail: { alarmName: "ses-mail-brake-bounce-rate-prod", state: { value: "ALARM", reason: "Threshold Crossed" } } };
            const brakeFailure = decodeDlqMessage(message("b1", JSON.stringify({
                version: "1.0", timestamp: "2026-11-22T09:01:00Z",
                requestContext: { requestId: "e4b46cbf", functionArn: "arn:aws:lambda:us-east-1:123456789012:function:ses-mail-sending-brake-prod:$LATEST", condition: "RetriesExhausted", approximateInvokeCount: 3 },
                requestPayload: alarmEvent, responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
                responsePayload: { errorType: "AccessDeniedException", errorMessage: "not authorized to perform ses:PutConfigurationSetSendingOptions" },
            })));
            expect(brakeFailure).to.deep.include({
                format: "lambda-failure", routing: ["alarm ses-mail-brake-bounce-rate-prod → ALARM"],
                failure: "RetriesExhausted after 3 invocations of ses-mail-sending-brake-prod: AccessDeniedException: not authorized to perform ses:PutConfigurationSetSendingOptions",
            });
            expect(decodeDlqMessage(message("b2", JSON.stringify(alarmEvent)))).to.deep.include({ format: "alarm-event", routing: ["alarm ses-mail-brake-bounce-rate-prod → ALARM at 2026-11-22T09:00:00Z"] });
            const feedback = decodeDlqMessage(message("f1", JSON.stringify(sns(bounce("event", "Permanent", "General", [hardRecipient("gone@example.org")])))));
            expect(feedback).to.deep.include({ format: "ses-event", recipients: ["gone@example.org"], routing: ["Bounce (Permanent/General)"] });
        });

        it("table output: one block per message, and what the peek did to the queue", async () => {
            const input = "ses-mail-email-input-dlq-prod";
            queues({ [input]: 1 }, [input]);
            const body = JSON.stringify(sns(receiptNotification({ messageId: "mail-7", recipients: ["a@mail.example.com", "b@mail.example.com"], bucket: "mails" })));
            sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: [message("x1", body, { Attributes: { DeadLetterQueueSourceArn: arn("ses-mail-email-input-prod") } })] }).resolves({});
            const { code, stdout } = await run("peek", "input", "--stack", "prod");
            expect(code).to.equal(0);
            expect(stdout.split("\n")).to.deep.equal([
                "x1  (ses-receipt, sent 2026-11-22T09:00:05.000Z, received 9 times)",
                "  SES message id: mail-7",
                "  recipients: a@mail.example.com, b@mail.example.com",
                "  via: SQS redrive from ses-mail-email-input-prod after its receives ran out",
                "  failure: processing failed on every receive: see the consumer's logs (errors by message id)",
                "  mail: s3://mails/inbound/mail-7",
                "(Peeking received 1 message(s) and released them: each one's receive count went up by one; nothing was deleted.)",
                "",
            ]);
        });

        it("the recipients and decisions of any routing event survive decoding (generated)", () => {
            const address = fc.emailAddress();
            fc.assert(fc.property(fc.uniqueArray(address, { minLength: 1, maxLength: 5 }), fc.constantFrom("forward-to-gmail", "bounce"), (recipients, action) => {
                const decoded = decodeDlqMessage(message("g", eventBridgeSqsBody({ ...event, recipients, decisions: [{ action, recipients, reason: "default", labels: [] }] })));
                expect(decoded.recipients).to.deep.equal(recipients);
                expect(decoded.routing).to.deep.equal([`${action}: ${recipients.join(", ")} (default)`]);
            }), { numRuns: 100 });
        });

        it("an unknown queue is a usage error listing the stack's DLQs", async () => {
            const { code, stderr } = await run("peek", "nope", "--outputs", outputsFile);
            expect(code).to.equal(2);
            expect(stderr).to.equal(`No DLQ "nope" in this stack: one of ${STACK_DLQS.map((s) => s.label).join(", ")} (or its queue name).\n`);
        });
    });

    describe("redrive", () => {
        const dlq = "ses-mail-gmail-forwarder-dlq-prod";
        const source = "ses-mail-gmail-forwarder-prod";
        const task = (status: string, moved: number, extra: Record<string, unknown> = {}) => ({ Results: [{ Status: status, SourceArn: arn(dlq), ApproximateNumberOfMessagesMoved: moved, ApproximateNumberOfMessagesToMove: 10, ...extra }] });

        it("an SQS-sourced DLQ: a message-move task to its source queue, followed over several polls to COMPLETED", async () => {
            queues({ [dlq]: 10 }, [dlq, source], { [source]: dlq });
            sqs.on(ListMessageMoveTasksCommand)
                .resolvesOnce({ Results: [] })
                .resolvesOnce(task("RUNNING", 0, { TaskHandle: "h" })).resolvesOnce(task("RUNNING", 4, { TaskHandle: "h" })).resolvesOnce(task("RUNNING", 4, { TaskHandle: "h" }))
                .resolvesOnce(task("RUNNING", 9, { TaskHandle: "h" })).resolves(task("COMPLETED", 10));
            sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: "h" });
            const { code, stdout, stderr } = await run("redrive", "forwarder", "--rate", "50", "--stack", "prod", "--poll-ms", "0");
            expect(code).to.equal(0);
            // StartMessageMoveTask: DLQ → the queue whose redrive policy names it, at the asked rate (≤ 500/s, "StartMessageMoveTask").
            expect(sqs.commandCalls(StartMessageMoveTaskCommand).map((c) => c.args[0].input)).to.deep.equal([{ SourceArn: arn(dlq), DestinationArn: arn(source), MaxNumberOfMessagesPerSecond: 50 }]);
            expect(questions).to.have.length(1);
            expect(stdout).to.include(`Move about 10 message(s) from ${dlq} to ${source} (SQS message-move task, at most 50/s).`);
            // Progress on stderr, once per change.
            expect(stderr.trim().split("\n")).to.deep.equal(["RUNNING: moved 0 of 10", "RUNNING: moved 4 of 10", "RUNNING: moved 9 of 10", "COMPLETED: moved 10 of 10"]);
            expect(stdout.trim().split("\n").pop()).to.equal("COMPLETED: moved 10, failed 0.");
        });

        it("a failed task: moved and failed counts and SQS's reason, exit 1", async () => {
            queues({ [dlq]: 10 }, [dlq, source], { [source]: dlq });
            sqs.on(ListMessageMoveTasksCommand).resolvesOnce({ Results: [{ Status: "COMPLETED" }] }).resolvesOnce(task("RUNNING", 2))
                .resolves(task("FAILED", 4, { FailureReason: "AWS.SimpleQueueService.KmsAccessDenied" }));
            sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: "h" });
            const { code, stdout } = await run("redrive", "forwarder", "--outputs", outputsFile, "--yes", "--json", "--poll-ms", "0");
            expect(code).to.equal(1);
            expect(JSON.parse(stdout)).to.deep.equal({
                queue: dlq, destination: source, method: "message-move-task", status: "FAILED", moved: 4, failed: 6, taskHandle: "h", failureReason: "AWS.SimpleQueueService.KmsAccessDenied",
            });
            expect(sqs.commandCalls(StartMessageMoveTaskCommand)[0].args[0].input).to.not.have.property("MaxNumberOfMessagesPerSecond");
        });

        it("refuses while a task runs, when the source's redrive policy names another queue, when declined; --dry-run moves nothing", async () => {
            queues({ [dlq]: 10 }, [dlq, source], { [source]: dlq });
            sqs.on(ListMessageMoveTasksCommand).resolves(task("RUNNING", 3, { TaskHandle: "busy" }));
            const busy = await run("redrive", "forwarder", "--stack", "prod", "--yes");
            expect(busy.code).to.equal(1);
            expect(busy.stderr).to.include("aws sqs cancel-message-move-task --task-handle busy");
            sqs.reset();
            queues({ [dlq]: 10 }, [dlq, source], { [source]: "someone-else" });
            const wrong = await run("redrive", "forwarder", "--stack", "prod", "--yes");
            expect([wrong.code, wrong.stderr]).to.deep.equal([1, `The redrive policy of ${source} does not name ${dlq} (${arn("someone-else")}): not redriving.\n`]);
            sqs.reset();
            queues({ [dlq]: 10 }, [dlq, source], { [source]: dlq });
            answer = false;
            const declined = await run("redrive", "forwarder", "--stack", "prod");
            expect(declined.code).to.equal(1);
            const dry = await run("redrive", "forwarder", "--stack", "prod", "--dry-run", "--json");
            expect([dry.code, JSON.parse(dry.stdout).dryRun]).to.deep.equal([0, true]);
            expect(sqs.commandCalls(StartMessageMoveTaskCommand)).to.have.length(0);
            expect(sqs.commandCalls(ReceiveMessageCommand)).to.have.length(0);
        });

        it("--max: message by message (like the runbook): deleted only once sent, attributes kept, failures counted and left", async () => {
            await fc.assert(fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 30 }), async (sendOk, max) => {
                sqs.reset();
                queues({ [dlq]: sendOk.length }, [dlq, source], { [source]: dlq });
                const pending = sendOk.map((ok, i) => ({ ok, message: { MessageId: `m${i}`, ReceiptHandle: `h${i}`, Body: `{"n":${i}}`, MessageAttributes: { reason: { DataType: "String", StringValue: `r${i}`, StringListValues: [] } } } }));
                sqs.on(ReceiveMessageCommand).callsFake((input: { MaxNumberOfMessages: number }) => ({ Messages: pending.splice(0, input.MaxNumberOfMessages).map((p) => p.message) }));
                sqs.on(SendMessageCommand).callsFake((input: { MessageBody: string }) => {
                    if (!sendOk[JSON.parse(input.MessageBody).n]) throw new Error("throttled");
                    return { MessageId: "x" };
                });
                const { code, stdout } = await run("redrive", "forwarder", "--max", String(max), "--rate", "500", "--stack", "prod", "--yes", "--json");
                const handled = sendOk.slice(0, Math.min(max, sendOk.length));
                const result = JSON.parse(stdout);
                expect([result.method, result.moved, result.failed]).to.deep.equal(["resend", handled.filter(Boolean).length, handled.filter((ok) => !ok).length]);
                expect(code).to.equal(result.failed === 0 ? 0 : 1);
                // The first send error says why messages were left (a denied SendMessage fails them all).
                expect(result.failureReason).to.equal(result.failed > 0 ? "sending failed (left in the DLQ): Error: throttled" : undefined);
                expect(sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).to.deep.equal(handled.flatMap((ok, i) => (ok ? [`h${i}`] : [])));
                const sent = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
                expect(sent.every((s) => s.QueueUrl === url(source))).to.equal(true);
                expect(sent[0].MessageAttributes).to.deep.equal({ reason: { DataType: "String", StringValue: "r0", BinaryValue: undefined } });
            }), { numRuns: 25 });
        });

        it("the EventBridge DLQ: its events go to the rule's target, the input DLQ, message by message", async () => {
            const from = "ses-mail-email-routing-events-dlq-prod";
            queues({ [from]: 1 }, [from, "ses-mail-email-input-dlq-prod"]);
            sqs.on(ReceiveMessageCommand).resolvesOnce({ Messages: [{ MessageId: "e1", ReceiptHandle: "h", Body: "{}" }] }).resolves({});
            sqs.on(SendMessageCommand).resolves({ MessageId: "x" });
            const { code, stdout } = await run("redrive", "routing-events", "--outputs", outputsFile, "--yes", "--json", "--rate", "500");
            expect(code).to.equal(0);
            expect(JSON.parse(stdout)).to.deep.include({ destination: "ses-mail-email-input-dlq-prod", method: "resend", moved: 1, failed: 0 });
            expect(sqs.commandCalls(SendMessageCommand)[0].args[0].input.QueueUrl).to.equal(url("ses-mail-email-input-dlq-prod"));
            expect(sqs.commandCalls(StartMessageMoveTaskCommand)).to.have.length(0);
        });

        it("a stream DLQ cannot be redriven: exit 2 with the procedure, nothing touched", async () => {
            for (const label of ["suppression-mirror", "smtp-credential-manager"]) {
                const { code, stderr } = await run("redrive", label, "--outputs", outputsFile, "--yes");
                expect(code, label).to.equal(2);
                expect(stderr).to.include("get-shard-iterator --shard-iterator-type AT_SEQUENCE_NUMBER");
            }
            const brake = await run("redrive", "sending-brake", "--outputs", outputsFile, "--yes");
            expect(brake.code).to.equal(2);
            expect(brake.stderr).to.include("ses-mail sending status");
            expect(sqs.calls()).to.have.length(0);
        });

        it("usage errors exit 2: a rate above SQS's 500/s, no deployment", async () => {
            expect((await run("redrive", "forwarder", "--rate", "501", "--stack", "prod")).code).to.equal(2);
            expect((await run("redrive", "forwarder")).code).to.equal(2);
            expect((await run("list", "--stack", "prod", "--env", "prod")).code).to.equal(2);
        });
    });

    it("--help of every dlq command has an example", async () => {
        for (const command of ["list", "peek", "redrive"]) {
            const { code, stdout } = await run(command, "--help");
            expect(code, command).to.equal(0);
            expect(stdout).to.match(/Example:\n {2}\$ ses-mail dlq /);
        }
    });
});
