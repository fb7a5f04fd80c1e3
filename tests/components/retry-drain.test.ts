import { expect } from "chai";
import { RetryDrain, retryDrainDefinition, DRAIN_ITERATIONS_PER_EXECUTION } from "../../components/retry-drain";
import { runStateMachine } from "../support/asl";
import { MOCK_ACCOUNT, runUnderMocks } from "../support/mocks";

const SOURCE = "https://sqs.us-east-1.amazonaws.com/1/retry";
const TARGET = "https://sqs.us-east-1.amazonaws.com/1/forwarder";

/** An in-memory SQS: receive hides messages (visibility), delete removes them. */
function fakeSqs(count: number, failSendFor: Set<string> = new Set()) {
    const source = new Map(Array.from({ length: count }, (_, i) => [`m${i}`, { MessageId: `m${i}`, Body: `body-${i}`, ReceiptHandle: `rh-m${i}`, hidden: false }]));
    const target: string[] = [];
    const calls: string[] = [];
    const task = async (resource: string, p: any) => {
        calls.push(resource.split(":").pop()!);
        switch (resource) {
            case "arn:aws:states:::aws-sdk:sqs:receiveMessage": {
                expect(p.QueueUrl).to.equal(SOURCE);
                const visible = [...source.values()].filter((m) => !m.hidden).slice(0, p.MaxNumberOfMessages);
                visible.forEach((m) => (m.hidden = true));
                return visible.length ? { Messages: visible.map(({ hidden: _h, ...m }) => m) } : {};
            }
            case "arn:aws:states:::aws-sdk:sqs:sendMessage":
                expect(p.QueueUrl).to.equal(TARGET);
                if (failSendFor.has(p.MessageBody)) throw new Error("send failed");
                target.push(p.MessageBody);
                return { MessageId: "new" };
            case "arn:aws:states:::aws-sdk:sqs:deleteMessage":
                expect(p.QueueUrl).to.equal(SOURCE);
                source.delete(p.ReceiptHandle.slice(3));
                return {};
            case "arn:aws:states:::states:startExecution":
                return { ExecutionArn: `${p.StateMachineArn}:continued` };
        }
        throw new Error(`unexpected ${resource}`);
    };
    return { source, target, calls, task };
}

describe("RetryDrain", () => {
    const definition = retryDrainDefinition(SOURCE, TARGET);

    it("moves every message, not just the first ten, then stops when the queue is empty", async () => {
        const sqs = fakeSqs(37);
        const output = await runStateMachine(definition, {}, sqs.task);
        expect(output).to.deep.equal({ moved: 37 });
        expect(sqs.target).to.have.length(37);
        expect(new Set(sqs.target).size).to.equal(37);
        expect(sqs.source.size).to.equal(0);
    });

    it("deletes a message only after its send succeeded", async () => {
        const sqs = fakeSqs(3, new Set(["body-1"]));
        let error: unknown;
        await runStateMachine(definition, {}, sqs.task).catch((e) => (error = e));
        expect((error as Error).message).to.equal("send failed");
        expect(sqs.source.has("m1")).to.equal(true); // still in the retry queue, visible again after its timeout
        expect(sqs.target).to.not.include("body-1");
    });

    it("hands over to a new execution before the history limit", async () => {
        const sqs = fakeSqs(10 * DRAIN_ITERATIONS_PER_EXECUTION + 5);
        const output = await runStateMachine(definition, {}, sqs.task, { StateMachine: { Id: "arn:aws:states:us-east-1:1:stateMachine:drain" } });
        expect(output.continuedIn).to.equal("arn:aws:states:us-east-1:1:stateMachine:drain:continued");
        expect(sqs.source.size).to.equal(5);
    });

    it("creates the state machine with tracing, logging and a role limited to the two queues and itself", async () => {
        const { plan } = await runUnderMocks(() => new RetryDrain("drain", {
            env: "test", purpose: "gmail-forwarder-retry-drain",
            sourceQueueArn: "arn:aws:sqs:us-east-1:1:retry", sourceQueueUrl: SOURCE, targetQueueArn: "arn:aws:sqs:us-east-1:1:forwarder", targetQueueUrl: TARGET,
        }));
        const machine = plan.one("aws:sfn/stateMachine:StateMachine");
        expect(machine.inputs).to.deep.include({ name: "ses-mail-gmail-forwarder-retry-drain-test", tracingConfiguration: { enabled: true } });
        expect(machine.inputs.loggingConfiguration.logDestination).to.equal(`arn:aws:logs:us-east-1:${MOCK_ACCOUNT}:log-group:/aws/vendedlogs/states/ses-mail-gmail-forwarder-retry-drain-test:*`);
        expect(JSON.parse(machine.inputs.definition)).to.deep.equal(JSON.parse(JSON.stringify(definition)));
        const tasks = Object.values(definition.States as Record<string, any>).concat(Object.values((definition.States as any).MoveEach.ItemProcessor.States))
            .filter((s: any) => s.Type === "Task").map((s: any) => s.Resource);
        expect(tasks.sort()).to.deep.equal(["arn:aws:states:::aws-sdk:sqs:deleteMessage", "arn:aws:states:::aws-sdk:sqs:receiveMessage", "arn:aws:states:::aws-sdk:sqs:sendMessage", "arn:aws:states:::states:startExecution"]);
        const statements = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy"), "policy").Statement;
        expect(statements.slice(0, 3)).to.deep.equal([
            { Effect: "Allow", Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage"], Resource: ["arn:aws:sqs:us-east-1:1:retry"] },
            { Effect: "Allow", Action: ["sqs:SendMessage"], Resource: ["arn:aws:sqs:us-east-1:1:forwarder"] },
            { Effect: "Allow", Action: ["states:StartExecution"], Resource: [`arn:aws:states:us-east-1:${MOCK_ACCOUNT}:stateMachine:ses-mail-gmail-forwarder-retry-drain-test`] },
        ]);
        expect(plan.json(plan.one("aws:iam/role:Role"), "assumeRolePolicy").Statement[0].Principal).to.deep.equal({ Service: "states.amazonaws.com" });
    });
});
