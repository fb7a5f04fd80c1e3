// Runs a Step Functions state machine from the plan (the retry drain) with the interpreter of its
// QueryLanguage (JSONPath: tests/support/asl.ts, JSONata: tests/support/asl-jsonata.ts). Its AWS SDK
// service integrations ("AWS SDK service integrations": arn:aws:states:::aws-sdk:sqs:<action>, with
// the API's own parameter and result names) call the SQS model; `states:startExecution` starts
// another execution of the named machine, which the harness runs too.
import { runStateMachine } from "../asl";
import { runJsonataStateMachine, TaskError } from "../asl-jsonata";
import type { VirtualClock } from "./clock";
import type { StateMachineSpec } from "./plan";
import type { SqsModel } from "./sqs";

export interface Execution {
    arn: string;
    machine: string;
    input: unknown;
    startedAt: number;
    status: "RUNNING" | "SUCCEEDED" | "FAILED";
    output?: unknown;
    error?: string;
}

const SQS_ACTIONS: Record<string, (sqs: SqsModel, args: any) => unknown> = {
    receiveMessage: (sqs, args) => sqs.receiveMessage(args),
    sendMessage: (sqs, args) => sqs.sendMessage(args),
    sendMessageBatch: (sqs, args) => sqs.sendMessageBatch(args),
    deleteMessage: (sqs, args) => sqs.deleteMessage(args),
    deleteMessageBatch: (sqs, args) => sqs.deleteMessageBatch(args),
    changeMessageVisibility: (sqs, args) => sqs.changeMessageVisibility(args),
    getQueueAttributes: (sqs, args) => sqs.getQueueAttributes(args),
};

export class StepFunctionsModel {
    public readonly executions: Execution[] = [];
    private readonly running = new Set<Promise<void>>();
    /** Executions in a Wait state (or a Retry's interval): they resume when virtual time reaches `at`. */
    private readonly sleepers: { at: number; resume: () => void }[] = [];

    constructor(private readonly machines: StateMachineSpec[], private readonly sqs: SqsModel, private readonly clock: VirtualClock) {}

    /** Executions doing work now; a waiting one is not (the harness may jump time to its wake-up). */
    public get active(): Promise<void>[] {
        return this.sleepers.length >= this.running.size ? [] : [...this.running];
    }

    /** When the next waiting execution resumes. */
    public wakeAt(): number | undefined {
        return this.sleepers.length > 0 ? Math.min(...this.sleepers.map((s) => s.at)) : undefined;
    }

    /** Resumes the executions whose wait is over. */
    public wake(): void {
        for (const sleeper of this.sleepers.filter((s) => s.at <= this.clock.now())) {
            this.sleepers.splice(this.sleepers.indexOf(sleeper), 1);
            sleeper.resume();
        }
    }

    private sleep(seconds: number): Promise<void> {
        return new Promise((resume) => this.sleepers.push({ at: this.clock.now() + seconds * 1000, resume }));
    }

    /** StartExecution: runs in the background; the harness awaits it through `active`. */
    public start(machineArn: string, input: unknown): Execution {
        const machine = this.machines.find((m) => m.arn === machineArn || m.name === machineArn || m.logicalName === machineArn);
        if (!machine) throw new Error(`No state machine ${machineArn} in the plan (have: ${this.machines.map((m) => m.name).join(", ")})`);
        const execution: Execution = { arn: `${machine.arn.replace(":stateMachine:", ":execution:")}:${this.executions.length + 1}`, machine: machine.name, input, startedAt: this.clock.now(), status: "RUNNING" };
        this.executions.push(execution);
        const run = this.run(machine, execution).then((output) => {
            execution.status = "SUCCEEDED";
            execution.output = output;
        }, (error) => {
            execution.status = "FAILED";
            execution.error = `${(error as Error).name}: ${(error as Error).message}`;
        }).finally(() => this.running.delete(run));
        this.running.add(run);
        return execution;
    }

    private task(resource: string, args: any, jsonata: boolean): unknown {
        const sdk = /^arn:aws[a-z-]*:states:::aws-sdk:sqs:(\w+)$/.exec(resource);
        if (sdk) {
            const action = SQS_ACTIONS[sdk[1]];
            if (!action) throw new Error(`The simulation does not model ${resource}`);
            try {
                return action(this.sqs, args);
            } catch (error) {
                // Step Functions names SDK errors <Service>.<Exception> ("Handling errors in Step Functions workflows").
                if (jsonata) throw new TaskError(`Sqs.${(error as Error).name}`, (error as Error).message);
                throw error;
            }
        }
        if (/^arn:aws[a-z-]*:states:::aws-sdk:sfn:listExecutions$/.test(resource)) {
            // ListExecutions (AWS SDK integration: the API's names, PascalCase; timestamps as ISO 8601).
            const machine = this.machines.find((m) => m.arn === args.StateMachineArn);
            const listed = this.executions.filter((e) => e.machine === machine?.name && (!args.StatusFilter || e.status === args.StatusFilter));
            return { Executions: listed.map((e) => ({ ExecutionArn: e.arn, StateMachineArn: args.StateMachineArn, Name: e.arn.split(":").pop(), Status: e.status, StartDate: new Date(e.startedAt).toISOString() })) };
        }
        if (/^arn:aws[a-z-]*:states:::states:startExecution$/.test(resource)) {
            const input = typeof args.Input === "string" ? JSON.parse(args.Input) : args.Input ?? {};
            const started = this.start(args.StateMachineArn, input);
            return { ExecutionArn: started.arn, StartDate: new Date(started.startedAt).toISOString() };
        }
        throw new Error(`The simulation does not model the task resource ${resource}`);
    }

    private run(machine: StateMachineSpec, execution: Execution): Promise<unknown> {
        const definition = machine.definition;
        if (definition.QueryLanguage === "JSONata") {
            return runJsonataStateMachine(definition, execution.input, async (resource, args) => this.task(resource, args, true),
                { startTime: new Date(execution.startedAt).toISOString(), executionArn: execution.arn, stateMachineArn: machine.arn },
                { wait: (seconds) => this.sleep(seconds), now: () => this.clock.now() });
        }
        const context = { StateMachine: { Id: machine.arn, Name: machine.name }, Execution: { Id: execution.arn, Input: execution.input, StartTime: new Date(execution.startedAt).toISOString() } };
        return runStateMachine(definition, execution.input, async (resource, args) => this.task(resource, args, false), context);
    }
}
