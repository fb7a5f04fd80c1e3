import type { StackValidationPolicy } from "@pulumi/policy";
import { deniesInsecureTransport, statementsOf } from "../documents";
import { bucketCompanions, ofType } from "../stack-resources";

export const s3PublicAccessBlocked: StackValidationPolicy = {
    name: "s3-public-access-blocked",
    description: "Every S3 bucket blocks all public access (all four settings).",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Add an aws.s3.BucketPublicAccessBlock with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets true.",
    validateStack: (args, reportViolation) => {
        for (const bucket of ofType(args.resources, "aws:s3/bucket:Bucket")) {
            const blocked = bucketCompanions(args.resources, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", bucket).some((block) =>
                ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"].every((key) => block.props[key] === true));
            if (!blocked) {
                reportViolation(`Bucket ${bucket.props.bucket} does not block all public access.`, bucket.urn);
            }
        }
    },
};

export const s3TlsOnly: StackValidationPolicy = {
    name: "s3-tls-only",
    description: "Every S3 bucket policy denies everyone every S3 action on the bucket and all its objects when the request is not made over TLS.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Add a bucket policy statement: Deny, Principal *, Action s3:*, Resource the bucket ARN and ARN/*, Condition Bool aws:SecureTransport false (and no other condition).",
    validateStack: (args, reportViolation) => {
        for (const bucket of ofType(args.resources, "aws:s3/bucket:Bucket")) {
            // A deny narrowed to some actions, some keys or some principals leaves the rest open.
            const denies = bucketCompanions(args.resources, "aws:s3/bucketPolicy:BucketPolicy", bucket)
                .flatMap((policy) => statementsOf(policy.props.policy))
                .some((statement) => deniesInsecureTransport(statement, "s3", [bucket.props.arn, `${bucket.props.arn}/*`]));
            if (!denies) {
                reportViolation(`Bucket ${bucket.props.bucket} has no policy denying every non-TLS request (s3:* on the bucket and ${bucket.props.arn}/*, Principal *).`, bucket.urn);
            }
        }
    },
};

export const s3LifecycleExpiry: StackValidationPolicy = {
    name: "s3-lifecycle-expiry",
    description: "Mail buckets expire objects through a lifecycle rule, so raw mail is not kept forever.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Add an aws.s3.BucketLifecycleConfiguration with an enabled rule that has expiration.days.",
    validateStack: (args, reportViolation) => {
        for (const bucket of ofType(args.resources, "aws:s3/bucket:Bucket")) {
            const expires = bucketCompanions(args.resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket)
                .flatMap((config) => config.props.rules ?? [])
                .some((rule: any) => rule.status === "Enabled" && (rule.expiration?.days > 0 || rule.expiration?.date));
            if (!expires) {
                reportViolation(`Bucket ${bucket.props.bucket} has no enabled lifecycle expiration rule.`, bucket.urn);
            }
        }
    },
};
