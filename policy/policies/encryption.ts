import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { bucketCompanions, ofType } from "../stack-resources";

export const sqsQueueEncrypted: ResourceValidationPolicy = {
    name: "sqs-queue-encrypted",
    description: "SQS queues are encrypted at rest (SSE-SQS or SSE-KMS).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set sqsManagedSseEnabled: true or kmsMasterKeyId on the queue (QueueWithDlq does this by default).",
    validateResource: validateResourceOfType(aws.sqs.Queue, (queue, _args, reportViolation) => {
        if (!queue.kmsMasterKeyId && queue.sqsManagedSseEnabled !== true) {
            reportViolation("Queue is not encrypted at rest: set sqsManagedSseEnabled: true or kmsMasterKeyId.");
        }
    }),
};

export const snsTopicEncrypted: ResourceValidationPolicy = {
    name: "sns-topic-encrypted",
    description: "SNS topics are encrypted with a KMS key.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set kmsMasterKeyId (e.g. alias/aws/sns or a customer key) on the topic.",
    validateResource: validateResourceOfType(aws.sns.Topic, (topic, _args, reportViolation) => {
        if (!topic.kmsMasterKeyId) {
            reportViolation("Topic is not encrypted: set kmsMasterKeyId.");
        }
    }),
};

export const dynamodbTableEncrypted: ResourceValidationPolicy = {
    name: "dynamodb-table-encrypted",
    description: "DynamoDB tables use KMS encryption at rest (AWS-managed or customer key).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set serverSideEncryption: { enabled: true } (optionally with kmsKeyArn).",
    validateResource: validateResourceOfType(aws.dynamodb.Table, (table, _args, reportViolation) => {
        if (table.serverSideEncryption?.enabled !== true) {
            reportViolation("Table does not use KMS encryption: set serverSideEncryption.enabled to true.");
        }
    }),
};

export const s3BucketEncrypted: StackValidationPolicy = {
    name: "s3-bucket-encrypted",
    description: "Every S3 bucket has an explicit default-encryption configuration (KMS when required by config).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Add an aws.s3.BucketServerSideEncryptionConfiguration for the bucket (sseAlgorithm aws:kms or AES256).",
    configSchema: { properties: { requireKms: { type: "boolean", default: false } } },
    validateStack: (args, reportViolation) => {
        const { requireKms } = args.getConfig<{ requireKms: boolean }>();
        for (const bucket of ofType(args.resources, "aws:s3/bucket:Bucket")) {
            const algorithms = bucketCompanions(args.resources, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket)
                .flatMap((c) => (c.props.rules ?? []).map((rule: any) => rule.applyServerSideEncryptionByDefault?.sseAlgorithm));
            const accepted = requireKms ? ["aws:kms", "aws:kms:dsse"] : ["aws:kms", "aws:kms:dsse", "AES256"];
            if (!algorithms.some((algorithm: string) => accepted.includes(algorithm))) {
                reportViolation(`Bucket ${bucket.props.bucket} has no default encryption configuration${requireKms ? " with KMS" : ""}.`, bucket.urn);
            }
        }
    },
};

export const logGroupKmsEncrypted: ResourceValidationPolicy = {
    name: "log-group-kms-encrypted",
    description: "CloudWatch log groups are encrypted with a customer KMS key when the pack's config asks for it (they hold mail metadata).",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Pass logKmsKeyArn to the component (or set kmsKeyId on the log group), or leave requireKms off.",
    configSchema: { properties: { requireKms: { type: "boolean", default: false } } },
    validateResource: validateResourceOfType(aws.cloudwatch.LogGroup, (logGroup, args, reportViolation) => {
        if (!args.getConfig<{ requireKms: boolean }>().requireKms) {
            args.notApplicable("requireKms is off");
        }
        if (!logGroup.kmsKeyId) {
            reportViolation("Log group is not encrypted with a customer KMS key: set kmsKeyId.");
        }
    }),
};

const SECRET_NAME = /(token|secret|password|passwd|credential|private[-_]?key|api[-_]?key)/i;

export const ssmSecretsSecureString: ResourceValidationPolicy = {
    name: "ssm-secret-securestring",
    description: "SSM parameters that hold secrets (tokens, passwords, keys, credentials) are SecureString.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Create the parameter with type: \"SecureString\" (and a KMS key if required).",
    validateResource: validateResourceOfType(aws.ssm.Parameter, (parameter, args, reportViolation) => {
        const name = String(parameter.name ?? args.name);
        if (SECRET_NAME.test(name) && parameter.type !== "SecureString") {
            reportViolation(`Parameter ${name} looks like a secret but is ${parameter.type}: use SecureString.`);
        }
    }),
};

export const dynamodbPointInTimeRecovery: ResourceValidationPolicy = {
    name: "dynamodb-pitr",
    description: "DynamoDB tables (routing rules, suppression entries, credentials) have point-in-time recovery on.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set pointInTimeRecovery: { enabled: true }, or list a disposable table in exemptTables.",
    configSchema: { properties: { exemptTables: { type: "array", items: { type: "string" }, default: [] } } },
    validateResource: validateResourceOfType(aws.dynamodb.Table, (table, args, reportViolation) => {
        if (args.getConfig<{ exemptTables: string[] }>().exemptTables.includes(String(table.name))) {
            args.notApplicable(`${table.name} is exempt`);
        }
        if (table.pointInTimeRecovery?.enabled !== true) {
            reportViolation("Point-in-time recovery is off: set pointInTimeRecovery.enabled to true.");
        }
    }),
};

export const kmsKeyRotation: ResourceValidationPolicy = {
    name: "kms-key-rotation",
    description: "Customer-managed symmetric KMS keys rotate their key material automatically.",
    severity: "medium",
    enforcementLevel: "mandatory",
    remediationSteps: "Set enableKeyRotation: true on the key (the KmsKey component does).",
    validateResource: validateResourceOfType(aws.kms.Key, (key, args, reportViolation) => {
        // KMS rotates only symmetric encryption keys outside custom key stores (KMS API Reference, EnableKeyRotation).
        if ((key.customerMasterKeySpec ?? "SYMMETRIC_DEFAULT") !== "SYMMETRIC_DEFAULT" || key.customKeyStoreId) {
            args.notApplicable("KMS cannot rotate this kind of key");
        }
        if (key.enableKeyRotation !== true) {
            reportViolation("Key material never rotates: set enableKeyRotation to true.");
        }
    }),
};
