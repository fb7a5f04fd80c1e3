import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { expect } from "chai";
import * as z from "zod/mini";
import * as pulumi from "@pulumi/pulumi";
import { promiseOf } from "../support/mocks";
import { cachedStack } from "../support/stack";

// The Automation document format, schemaVersion 0.3 (SSM "Automation actions reference"), as far as
// these documents use it: typed parameters, aws:executeScript steps with selectors, outputs.
const parameter = z.strictObject({
    type: z.enum(["String", "StringList", "Integer", "Boolean", "MapList", "StringMap"]),
    description: z.string(),
    default: z.optional(z.union([z.string(), z.number(), z.boolean()])),
    allowedValues: z.optional(z.array(z.string()).check(z.minLength(1))),
});
const automation03 = z.strictObject({
    schemaVersion: z.literal("0.3"),
    description: z.string().check(z.minLength(1)),
    assumeRole: z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/)),
    parameters: z.record(z.string().check(z.regex(/^[A-Za-z0-9]+$/)), parameter),
    mainSteps: z.array(z.strictObject({
        name: z.string().check(z.regex(/^[A-Za-z0-9_]{1,100}$/)),
        action: z.literal("aws:executeScript"),
        inputs: z.strictObject({
            Runtime: z.enum(["python3.8", "python3.9", "python3.10", "python3.11"]),
            Handler: z.string(),
            Script: z.string().check(z.minLength(1)),
            InputPayload: z.record(z.string(), z.unknown()),
        }),
        outputs: z.array(z.strictObject({ Name: z.string(), Selector: z.string().check(z.regex(/^\$\.Payload\./)), Type: z.enum(["String", "Integer", "Boolean", "StringList", "StringMap", "MapList"]) })),
    })).check(z.minLength(1)),
    outputs: z.array(z.string().check(z.regex(/^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$/))),
});

describe("Runbooks (SSM Automation)", () => {
    it("the step scripts pass their Python unit tests (python3 -m unittest, stubbed SQS and CloudWatch)", function () {
        this.timeout(60_000);
        const run = spawnSync("python3", ["-m", "unittest", "-v", "test_runbooks"], { cwd: path.resolve(__dirname, "..", "..", "runbooks"), encoding: "utf8" });
        expect(run.status, run.stderr).to.equal(0);
        expect(run.stderr).to.match(/Ran 8 tests/).and.match(/\nOK\s*$/);
    });

    it("both documents validate against Automation schema 0.3 and embed the tested scripts", async () => {
        const { plan } = await cachedStack("test");
        for (const doc of plan.ofType("aws:ssm/document:Document")) {
            expect(doc.inputs).to.deep.include({ documentType: "Automation", documentFormat: "JSON" });
            const content = JSON.parse(doc.inputs.content);
            const result = automation03.safeParse(content);
            expect(result.success, JSON.stringify(result.error?.issues)).to.equal(true);
            for (const output of content.outputs) {
                const [step, name] = output.split(".");
                expect(content.mainSteps.find((s: any) => s.name === step).outputs.map((o: any) => o.Name), output).to.include(name);
            }
        }
    });

    it("redrive: only the stack's (DLQ, source) pairs, MaxMessages 0 = all, velocity 10/s; outputs the counts", async () => {
        const { plan } = await cachedStack("test");
        const content = JSON.parse(plan.one("aws:ssm/document:Document", "runbooks-redrive").inputs.content);
        expect(plan.one("aws:ssm/document:Document", "runbooks-redrive").inputs.name).to.equal("SESMail-DLQ-Redrive-test");
        expect(content.parameters.MaxMessages.default).to.equal(0);
        expect(content.parameters.VelocityPerSecond.default).to.equal(10);
        const pairs = JSON.parse(content.mainSteps[0].inputs.InputPayload.AllowedPairs);
        const url = (name: string) => `https://sqs.us-east-1.amazonaws.com/123456789012/${name}`;
        expect(pairs).to.deep.equal({
            [url("ses-mail-feedback-dlq-test")]: url("ses-mail-feedback-test"),
            [url("ses-mail-email-input-dlq-test")]: url("ses-mail-email-input-test"),
            [url("ses-mail-gmail-forwarder-dlq-test")]: url("ses-mail-gmail-forwarder-test"),
            [url("ses-mail-gmail-forwarder-retry-dlq-test")]: url("ses-mail-gmail-forwarder-retry-test"),
            [url("ses-mail-bouncer-dlq-test")]: url("ses-mail-bouncer-test"),
        });
        expect(content.parameters.DLQUrl.allowedValues).to.deep.equal(Object.keys(pairs));
        expect(content.outputs).to.deep.equal(["Redrive.RedrivenCount", "Redrive.FailedCount"]);
    });

    it("health check: no parameters, every queue and every DLQ the stack has (from the stack itself), HealthReport and HealthStatus", async () => {
        for (const stack of ["test", "prod"]) {
            const { plan, outputs } = await cachedStack(stack);
            const content = JSON.parse(plan.one("aws:ssm/document:Document", "runbooks-health-check").inputs.content);
            expect(content.parameters).to.deep.equal({});
            const checked = JSON.parse(content.mainSteps[0].inputs.InputPayload.Queues) as Record<string, { queue?: string; dlq: string }>;
            // Every queue something dead-letters into: SQS redrive policies, EventBridge targets, stream failure destinations.
            const arns = new Set<string>([
                ...plan.ofType("aws:sqs/queue:Queue").flatMap((q) => (q.inputs.redrivePolicy ? [JSON.parse(q.inputs.redrivePolicy).deadLetterTargetArn] : [])),
                ...plan.ofType("aws:cloudwatch/eventTarget:EventTarget").flatMap((t) => (t.inputs.deadLetterConfig?.arn ? [t.inputs.deadLetterConfig.arn] : [])),
                ...plan.ofType("aws:lambda/eventSourceMapping:EventSourceMapping").flatMap((m) => (m.inputs.destinationConfig?.onFailure?.destinationArn ? [m.inputs.destinationConfig.onFailure.destinationArn] : [])),
            ]);
            const url = (arn: string) => `https://sqs.us-east-1.amazonaws.com/123456789012/${arn.split(":").pop()}`;
            expect(Object.values(checked).map((q) => q.dlq).sort(), stack).to.deep.equal([...arns].map(url).sort());
            // …which is the stack's deadLetterQueues output, label by label.
            const output = await promiseOf(pulumi.output(outputs.deadLetterQueues as Record<string, { url: pulumi.Output<string> }>)) as Record<string, { url: string }>;
            expect(Object.fromEntries(Object.entries(checked).map(([label, q]) => [label, q.dlq])), stack).to.deep.equal(Object.fromEntries(Object.entries(output).map(([label, d]) => [label, d.url])));
            expect(content.outputs).to.deep.equal(["CheckQueues.HealthReport", "CheckQueues.HealthStatus"]);
        }
    });

    it("a least-privilege automation role: drain DLQs, send to their sources, read metrics", async () => {
        const { plan } = await cachedStack("test");
        const statements = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "runbooks-policy"), "policy").Statement;
        expect(statements.map((s: any) => s.Action)).to.deep.equal([
            ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            ["sqs:SendMessage", "sqs:GetQueueAttributes"],
            ["cloudwatch:GetMetricStatistics"],
            ["sqs:GetQueueAttributes"],
        ]);
        expect(statements[0].Resource.every((arn: string) => arn.endsWith("-dlq-test"))).to.equal(true);
        // DLQs with no source queue are only looked at: the health check reads their depth.
        expect(statements[3].Resource.every((arn: string) => arn.endsWith("-dlq-test"))).to.equal(true);
        expect(statements[3].Resource.filter((arn: string) => statements[0].Resource.includes(arn))).to.deep.equal([]);
        expect(statements[1].Resource.some((arn: string) => arn.endsWith("-dlq-test"))).to.equal(false);
        expect(plan.json(plan.one("aws:iam/role:Role", "runbooks-role"), "assumeRolePolicy").Statement[0].Principal).to.deep.equal({ Service: "ssm.amazonaws.com" });
    });
});
