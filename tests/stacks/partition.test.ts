import { expect } from "chai";
import { MOCK_ACCOUNT, type ResourcePlan } from "../support/mocks";
import { cachedStack, loadStackConfig } from "../support/stack";

const GOV_REGION = "us-gov-west-1";

/** Every string in a resource's inputs, JSON documents (policies, ASL) included as they are sent. */
function strings(value: unknown): string[] {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(strings);
    if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).flatMap(strings);
    return [];
}

/**
 * A sample stack synthesized in AWS GovCloud (US): the provider answers `aws-us-gov` for the
 * partition and the config's own ARNs (admins) are GovCloud ARNs, as an operator would write them.
 */
async function govCloudStack(stack: string): Promise<{ plan: ResourcePlan; outputs: Record<string, unknown> }> {
    const config = Object.fromEntries(Object.entries(loadStackConfig(stack)).map(([key, value]) => [key, value.replaceAll("arn:aws:", "arn:aws-us-gov:")]));
    config["aws:region"] = GOV_REGION;
    return cachedStack(stack, config, { partition: "aws-us-gov", region: GOV_REGION });
}

// ARNs carry the partition ("Amazon Resource Names (ARNs)", IAM User Guide): arn:aws-us-gov:… in
// GovCloud, arn:aws-cn:… in China. A hard-coded arn:aws: there is a policy that matches nothing, or an
// ASL task Step Functions refuses.
describe("stacks in the aws-us-gov partition", () => {
    for (const stack of ["test", "prod"]) {
        it(`${stack}: no input anywhere names the aws partition; every ARN is a GovCloud ARN`, async () => {
            const { plan } = await govCloudStack(stack);
            const offenders = plan.resources.flatMap((r) => strings(r.inputs).filter((s) => s.includes("arn:aws:")).map((s) => `${r.type} ${r.name}: ${s.slice(Math.max(0, s.indexOf("arn:aws:") - 40), s.indexOf("arn:aws:") + 80)}`));
            expect(offenders).to.deep.equal([]);
            const arns = plan.resources.flatMap((r) => strings(r.inputs).flatMap((s) => [...s.matchAll(/arn:([a-z0-9-]*):/g)].map((m) => m[1])));
            expect(arns.length).to.be.greaterThan(100);
            expect([...new Set(arns)]).to.deep.equal(["aws-us-gov"]);
        });
    }

    it("test: the ARNs the stack builds itself carry the partition (ASL tasks, own state machine, alarm and SES sources, trust)", async () => {
        const { plan, outputs } = await govCloudStack("test");
        const prefix = `arn:aws-us-gov:`;
        for (const machine of plan.ofType("aws:sfn/stateMachine:StateMachine")) {
            const tasks = Object.values(JSON.parse(machine.inputs.definition).States as Record<string, { Type: string; Resource?: string }>).filter((s) => s.Type === "Task");
            expect(tasks.length, machine.name).to.be.greaterThan(0);
            for (const task of tasks) expect(task.Resource, machine.name).to.match(/^arn:aws-us-gov:states:::(aws-sdk:)?[a-z]+:[A-Za-z]+$/);
        }
        const drainPolicy = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "ingest-retry-drain-policy"), "policy");
        expect(drainPolicy.Statement.flatMap((s: { Resource: string[] | string }) => s.Resource)).to.include(`${prefix}states:${GOV_REGION}:${MOCK_ACCOUNT}:stateMachine:ses-mail-gmail-forwarder-retry-drain-test`);
        const sources = plan.ofType("aws:sns/topicPolicy:TopicPolicy").flatMap((p) => plan.json(p, "policy").Statement)
            .flatMap((s: { Condition?: Record<string, Record<string, string[]>> }) => Object.values(s.Condition ?? {}).flatMap((c) => c["aws:SourceArn"] ?? []));
        expect(sources).to.include(`${prefix}ses:${GOV_REGION}:${MOCK_ACCOUNT}:configuration-set/ses-mail-outbound-test`);
        expect(sources.filter((s: string) => s.startsWith(`${prefix}cloudwatch:${GOV_REGION}:${MOCK_ACCOUNT}:alarm:`)).length).to.be.greaterThan(10);
        const trustSources = plan.ofType("aws:iam/role:Role").map((r) => plan.json(r, "assumeRolePolicy").Statement[0].Condition?.ArnLike?.["aws:SourceArn"]).filter(Boolean);
        expect(trustSources).to.include(`${prefix}scheduler:${GOV_REGION}:${MOCK_ACCOUNT}:schedule-group/default`);
        expect(trustSources).to.include(`${prefix}pipes:${GOV_REGION}:${MOCK_ACCOUNT}:pipe/ses-mail-email-router-test`);
        // GovCloud has a console of its own.
        expect(await new Promise((resolve) => (outputs.dashboardUrl as { apply: (f: (v: unknown) => void) => void }).apply(resolve)))
            .to.equal(`https://console.amazonaws-us-gov.com/cloudwatch/home?region=${GOV_REGION}#dashboards:name=ses-mail-dashboard-test`);
    });
});
