import type { StackValidationPolicy } from "@pulumi/policy";
import { deniesInsecureTransport, statementsOf } from "../documents";
import { ofType } from "../stack-resources";

export const snsTlsOnly: StackValidationPolicy = {
    name: "sns-tls-only",
    description: "Every SNS topic has a policy denying everyone every SNS action on it when the request is not made over TLS.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Give the topic a TopicPolicy with Deny, Principal *, Action sns:*, Resource the topic ARN, Condition Bool aws:SecureTransport false (EncryptedTopic does).",
    validateStack: (args, reportViolation) => {
        const policies = ofType(args.resources, "aws:sns/topicPolicy:TopicPolicy");
        for (const topic of ofType(args.resources, "aws:sns/topic:Topic")) {
            // A TopicPolicy names its topic by ARN (its `arn` input comes from the topic when both are in the stack).
            const attached = policies.filter((p) => p.props.arn === topic.props.arn || (p.propertyDependencies.arn ?? []).includes(topic));
            const statements = [topic.props.policy, ...attached.map((p) => p.props.policy)].flatMap(statementsOf);
            if (!statements.some((statement) => deniesInsecureTransport(statement, "sns", [topic.props.arn]))) {
                reportViolation(`Topic ${topic.props.name} accepts requests without TLS: add a deny of sns:* on aws:SecureTransport false.`, topic.urn);
            }
        }
    },
};
