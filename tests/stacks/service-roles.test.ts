import { expect } from "chai";
import { simulate } from "../support/iam-simulator";
import { MOCK_ACCOUNT, MOCK_REGION, ResourcePlan, type RecordedResource } from "../support/mocks";
import { cachedStack } from "../support/stack";

const OTHER_ACCOUNT = "210987654321";

/** What IAM decides when `service` asks STS for the role on behalf of a source (a resource-policy request). */
const assume = (trust: object, roleArn: string, service: string, source: Record<string, string>) => simulate({ resource: trust }, { principal: service, action: "sts:AssumeRole", resource: roleArn, context: source });

const serviceOf = (plan: ResourcePlan, role: RecordedResource): string | undefined => plan.json(role, "assumeRolePolicy").Statement[0].Principal?.Service;

/**
 * The aws:SourceArn each service presents when it assumes a role of this stack, by the documentation
 * (confused deputy prevention): Step Functions the state machine ("Creating an IAM role for your state
 * machine"), Pipes the pipe ("Amazon EventBridge Pipes permissions"), Scheduler the schedule group
 * ("Set up the execution role"), Systems Manager Automation the execution. Lambda: none is set here
 * (see components/lambda-function.ts), so its role trusts on aws:SourceAccount alone.
 */
function ourSource(plan: ResourcePlan, role: RecordedResource, service: string): string | undefined {
    const roleArn = role.state.arn;
    switch (service) {
        case "states.amazonaws.com": return plan.ofType("aws:sfn/stateMachine:StateMachine").find((m) => m.inputs.roleArn === roleArn)!.state.arn;
        case "pipes.amazonaws.com": return plan.ofType("aws:pipes/pipe:Pipe").find((p) => p.inputs.roleArn === roleArn)!.state.arn;
        case "scheduler.amazonaws.com": return `arn:aws:scheduler:${MOCK_REGION}:${MOCK_ACCOUNT}:schedule-group/default`;
        case "ssm.amazonaws.com": return `arn:aws:ssm:${MOCK_REGION}:${MOCK_ACCOUNT}:automation-execution/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;
        default: return undefined;
    }
}

describe("service roles trust their service only on behalf of this account's resources (aws:SourceAccount, aws:SourceArn)", () => {
    it("test stack: every service role's trust allows our sources and denies another account's, or a foreign source", async () => {
        const { plan } = await cachedStack("test");
        const roles = plan.ofType("aws:iam/role:Role").filter((r) => serviceOf(plan, r) !== undefined);
        const services = roles.map((r) => serviceOf(plan, r));
        expect([...new Set(services)].sort()).to.deep.equal(["lambda.amazonaws.com", "pipes.amazonaws.com", "scheduler.amazonaws.com", "ssm.amazonaws.com", "states.amazonaws.com"]);
        for (const role of roles) {
            const service = serviceOf(plan, role)!;
            const trust = plan.json(role, "assumeRolePolicy");
            const source = ourSource(plan, role, service);
            const ours = { "aws:SourceAccount": MOCK_ACCOUNT, ...(source ? { "aws:SourceArn": source } : {}) };
            const label = `${role.name} (${service})`;
            expect(await assume(trust, role.state.arn, service, ours), label).to.equal("Allowed");
            // Another account's resource of the same service (the confused deputy).
            const theirs = { "aws:SourceAccount": OTHER_ACCOUNT, ...(source ? { "aws:SourceArn": source.replace(MOCK_ACCOUNT, OTHER_ACCOUNT) } : {}) };
            expect(await assume(trust, role.state.arn, service, theirs), label).to.equal("ImplicitlyDenied");
            // A request without the keys, and another service.
            expect(await assume(trust, role.state.arn, service, {}), label).to.equal("ImplicitlyDenied");
            expect(await assume(trust, role.state.arn, "ec2.amazonaws.com", ours), label).to.equal("ImplicitlyDenied");
            if (source) {
                // Another resource of our own account (another state machine, pipe, schedule group) neither.
                const sibling = source.includes("automation-execution/") ? source.replace(`:${MOCK_REGION}:`, ":eu-west-1:") : `${source}-other`;
                expect(await assume(trust, role.state.arn, service, { ...ours, "aws:SourceArn": sibling }), label).to.equal("ImplicitlyDenied");
            }
            // The same request against a bare service trust is allowed: the conditions above are what deny it.
            const bare = { ...trust, Statement: trust.Statement.map(({ Condition: _, ...statement }: Record<string, unknown>) => statement) };
            expect(await assume(bare, role.state.arn, service, theirs), label).to.equal("Allowed");
        }
    });
});
