import { expect } from "chai";
import { simulate } from "../support/iam-simulator";
import { MOCK_ACCOUNT, MOCK_REGION, ResourcePlan } from "../support/mocks";
import { cachedStack } from "../support/stack";

/** Whether CloudWatch may publish to the topic for the alarm (SNS topic policy, cross-service). */
async function mayPublish(policy: object, topicArn: string, alarmName: string): Promise<boolean> {
    const decision = await simulate({ resource: policy }, {
        principal: "cloudwatch.amazonaws.com", action: "sns:Publish", resource: topicArn,
        context: { "aws:SourceArn": `arn:aws:cloudwatch:${MOCK_REGION}:${MOCK_ACCOUNT}:alarm:${alarmName}`, "aws:SourceAccount": MOCK_ACCOUNT, "aws:SecureTransport": "true" },
    });
    return decision === "Allowed";
}

/** The stack's topics CloudWatch publishes to (with their policies), and its alarms by the topic they notify. */
function alarmTopics(plan: ResourcePlan) {
    const policies = plan.ofType("aws:sns/topicPolicy:TopicPolicy").map((p) => ({ arn: p.inputs.arn as string, policy: plan.json(p, "policy") }))
        .filter((t) => t.policy.Statement.some((s: { Principal?: { Service?: string } }) => s.Principal?.Service === "cloudwatch.amazonaws.com"));
    const alarms = plan.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").map((a) => ({ name: a.inputs.name as string, topic: a.inputs.alarmActions[0] as string }));
    return policies.map((t) => ({ ...t, alarms: alarms.filter((a) => a.topic === t.arn).map((a) => a.name) }));
}

// test and prod share an account and region (Pulumi.test.yaml): a test alarm must not page prod's
// operators, nor the reverse. CloudWatch alarm names are unique per account and region, so a topic
// that lets exactly its own alarms publish (ArnEquals on their ARNs) cannot be reached by the other's.
describe("alarm topics of the sample stacks (one account)", () => {
    it("each topic takes exactly its own stack's alarms that notify it, never the other stack's", async () => {
        // One after the other: the mocks are one Pulumi runtime.
        const test = alarmTopics((await cachedStack("test")).plan);
        const prod = alarmTopics((await cachedStack("prod")).plan);
        for (const [own, other, label] of [[test, prod, "test"], [prod, test, "prod"]] as const) {
            expect(own.length, label).to.equal(2); // the alarms topic and the Gmail token-alerts topic
            const otherAlarms = other.flatMap((t) => t.alarms);
            expect(otherAlarms.length).to.be.greaterThan(20);
            for (const topic of own) {
                expect(topic.alarms.length, topic.arn).to.be.greaterThan(0);
                for (const alarm of topic.alarms) expect(await mayPublish(topic.policy, topic.arn, alarm), `${alarm} → ${topic.arn}`).to.equal(true);
                for (const alarm of otherAlarms) expect(await mayPublish(topic.policy, topic.arn, alarm), `${alarm} → ${topic.arn}`).to.equal(false);
                // Nor the other topic's alarms of the same stack, nor any other alarm of the account.
                for (const alarm of own.filter((t) => t !== topic).flatMap((t) => t.alarms)) expect(await mayPublish(topic.policy, topic.arn, alarm), `${alarm} → ${topic.arn}`).to.equal(false);
                expect(await mayPublish(topic.policy, topic.arn, "someone-elses-alarm")).to.equal(false);
            }
        }
    });
});
