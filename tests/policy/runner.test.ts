import * as aws from "@pulumi/aws";
import { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { expect } from "chai";
import { LambdaFunction } from "../../components/lambda-function";
import { sesMailPolicies } from "../../policy/policies";
import { readPackConfig, runPolicies } from "../../policy/runner";
import { runUnderMocks } from "../support/mocks";
import { cachedStack } from "../support/stack";

describe("offline policy runner", () => {
    // The test stack has no suppression mirror, hence one DLQ less (Pulumi.test.yaml); both have the sending brake's.
    for (const [stack, dlqs] of [["test", 8], ["prod", 9]] as const) {
        it(`the ${stack} stack has no mandatory violations (with CI's policy/config.json)`, async () => {
            const { plan } = await cachedStack(stack);
            const violations = await runPolicies(plan.resources, sesMailPolicies, { config: readPackConfig() });
            expect(violations).to.deep.equal([]);
            // Every DLQ of the stack is alarmed (dlq-has-alarm is mandatory now that Alarms exists).
            expect(plan.ofType("aws:sqs/queue:Queue").filter((q) => q.inputs.tags?.QueueRole === "dead-letter").length).to.equal(dlqs);
        });
    }

    it("builds the analyzer's resource arguments", async () => {
        const { plan } = await runUnderMocks(() => new LambdaFunction("fn", { code: "suppression-mirror", env: "test", metricsNamespace: "m", policyStatements: [] }));
        const seen: ResourceValidationArgs[] = [];
        const probe: ResourceValidationPolicy = {
            name: "probe",
            description: "records its arguments",
            configSchema: { properties: { limit: { type: "number", default: 5 }, label: { type: "string", default: "x" } } },
            validateResource: (args) => {
                seen.push(args);
            },
        };
        await runPolicies(plan.resources, [probe], { config: { probe: { label: "configured" } } });
        const fn = seen.find((args) => args.type === "aws:lambda/function:Function")!;
        expect(seen.map((args) => args.type)).not.to.include("ses-mail:index:LambdaFunction");
        expect(fn.name).to.equal("fn");
        expect(fn.urn).to.equal("urn:pulumi:test::ses-mail::ses-mail:index:LambdaFunction$aws:lambda/function:Function::fn");
        expect(fn.opts.parent).to.equal("urn:pulumi:test::ses-mail::ses-mail:index:LambdaFunction::fn");
        expect(fn.props.runtime).to.equal("nodejs24.x");
        expect(fn.isType(aws.lambda.Function)).to.equal(true);
        expect(fn.isType(aws.sqs.Queue)).to.equal(false);
        expect(fn.asType(aws.lambda.Function)?.handler).to.equal("index.handler");
        expect(fn.asType(aws.sqs.Queue)).to.equal(undefined);
        expect(fn.getConfig()).to.deep.equal({ limit: 5, label: "configured" });
    });

    it("links parents and dependencies for stack validations", async () => {
        const { plan } = await runUnderMocks(() => new LambdaFunction("fn", { code: "suppression-mirror", env: "test", metricsNamespace: "m", policyStatements: [] }));
        let fn: PolicyResource | undefined;
        const probe: StackValidationPolicy = {
            name: "probe",
            description: "finds the function",
            validateStack: (args) => {
                fn = args.resources.find((r) => r.type === "aws:lambda/function:Function");
            },
        };
        await runPolicies(plan.resources, [probe]);
        expect(fn!.parent?.type).to.equal("ses-mail:index:LambdaFunction");
        expect(fn!.dependencies.map((d) => d.type)).to.include.members(["aws:cloudwatch/logGroup:LogGroup", "aws:iam/rolePolicy:RolePolicy", "aws:iam/role:Role"]);
        expect(fn!.propertyDependencies.role.map((d) => d.type)).to.deep.equal(["aws:iam/role:Role"]);
        expect(fn!.props.arn).to.equal("arn:aws:lambda:us-east-1:123456789012:function:ses-mail-suppression-mirror-test");
    });

    it("awaits async validations, honours notApplicable and enforcement levels", async () => {
        const { plan } = await runUnderMocks(() => new aws.sqs.Queue("q", { name: "q" }));
        const later: ResourceValidationPolicy = {
            name: "later",
            description: "reports after a delay",
            validateResource: async (args, report) => {
                await new Promise((resolve) => setTimeout(resolve, 10));
                report(`late ${args.name}`);
            },
        };
        const skipped: ResourceValidationPolicy = {
            name: "skipped",
            description: "never applies",
            validateResource: (args, report) => {
                args.notApplicable("not for this test");
                report("unreachable");
            },
        };
        const stackLater: StackValidationPolicy = {
            name: "stack-later",
            description: "async stack check",
            enforcementLevel: "advisory",
            validateStack: async (args, report) => {
                await new Promise((resolve) => setTimeout(resolve, 10));
                report(`${args.resources.length} resources`);
            },
        };
        const found = await runPolicies(plan.resources, [later, skipped, stackLater]);
        expect(found.map((v) => [v.policyName, v.enforcementLevel, v.message])).to.deep.equal([
            ["later", "mandatory", "late q"],
            ["stack-later", "advisory", "1 resources"],
        ]);
        const configured = await runPolicies(plan.resources, [later, stackLater], { config: { later: "disabled", "stack-later": { enforcementLevel: "mandatory" } } });
        expect(configured.map((v) => [v.policyName, v.enforcementLevel])).to.deep.equal([["stack-later", "mandatory"]]);
    });

    it("runs a typed validation (validateResourceOfType) on resources of its type only, every validation of a list", async () => {
        const { plan } = await runUnderMocks(() => {
            new aws.sqs.Queue("q1", { name: "q1" });
            new aws.sns.Topic("t", { name: "t" });
            new aws.sqs.Queue("q2", { name: "q2" });
        });
        const called: string[] = [];
        const typed: ResourceValidationPolicy = {
            name: "typed",
            description: "queues only",
            validateResource: validateResourceOfType(aws.sqs.Queue, (queue, args, report) => {
                called.push(`queue ${args.name}`);
                report(`queue ${queue.name}`);
            }),
        };
        const list: ResourceValidationPolicy = {
            name: "list",
            description: "topics, then anything, then queues",
            validateResource: [
                validateResourceOfType(aws.sns.Topic, (_topic, args, report) => report(`topic ${args.name}`)),
                (args, report) => report(`any ${args.name}`),
                validateResourceOfType(aws.sqs.Queue, (_queue, args, report) => report(`queue ${args.name}`)),
            ],
        };
        const found = await runPolicies(plan.resources, [typed, list]);
        expect(called.sort()).to.deep.equal(["queue q1", "queue q2"]);
        const reported = found.map((v) => `${v.policyName}: ${v.message} @${v.urn!.split("::").pop()}`);
        // Resource by resource in the plan's order, each resource's validations in the list's order.
        const order = plan.resources.map((r) => r.name).filter((name) => ["q1", "q2", "t"].includes(name));
        expect(reported).to.deep.equal([
            ...order.filter((name) => name !== "t").map((name) => `typed: queue ${name} @${name}`),
            ...order.flatMap((name) => (name === "t" ? ["list: topic t @t", "list: any t @t"] : [`list: any ${name} @${name}`, `list: queue ${name} @${name}`])),
        ]);
    });

    it("gives each stack policy its own array of the resources", async () => {
        const { plan } = await runUnderMocks(() => {
            new aws.sqs.Queue("q1", { name: "q1" });
            new aws.sqs.Queue("q2", { name: "q2" });
        });
        const seen: string[][] = [];
        const emptying: StackValidationPolicy = {
            name: "emptying",
            description: "empties the array it gets",
            validateStack: (args) => {
                seen.push(args.resources.map((r) => r.name));
                args.resources.splice(0);
            },
        };
        await runPolicies(plan.resources, [emptying, { ...emptying, name: "after" }]);
        expect(seen).to.deep.equal([["q1", "q2"], ["q1", "q2"]]);
    });

    it("a stack policy that writes to the resources it shares with the next one fails, naming itself", async () => {
        const { plan } = await runUnderMocks(() => {
            const parent = new aws.sqs.Queue("p", { name: "p" });
            new aws.sqs.Queue("c", { name: "c" }, { parent, dependsOn: [parent] });
        });
        const writes: [string, (r: PolicyResource) => void][] = [
            ["a new field", (r) => Object.assign(r, { visited: true })],
            ["its dependencies", (r) => r.dependencies.splice(0)],
            ["its parent", (r) => delete r.parent],
            ["its options", (r) => Object.assign(r.opts, { protect: true })],
            ["its property dependencies", (r) => Object.assign(r.propertyDependencies, { x: [] })],
        ];
        for (const [what, write] of writes) {
            const writer: StackValidationPolicy = { name: "writer", description: `writes ${what}`, validateStack: (args) => args.resources.forEach(write) };
            const error = await runPolicies(plan.resources, [writer]).then(() => undefined, (e: Error) => e);
            expect(error?.message, what).to.match(/^Stack policy writer failed: /);
        }
    });

    it("every policy has a name, description, severity and remediation text, and names are unique", () => {
        const names = sesMailPolicies.map((p) => p.name);
        expect(new Set(names).size).to.equal(names.length);
        for (const policy of sesMailPolicies) {
            expect(policy.description, policy.name).to.have.length.greaterThan(20);
            expect(policy.severity, policy.name).to.be.oneOf(["low", "medium", "high", "critical"]);
            expect(policy.remediationSteps, policy.name).to.have.length.greaterThan(20);
            expect(policy.enforcementLevel, policy.name).to.be.oneOf(["mandatory", "advisory"]);
        }
    });
});
