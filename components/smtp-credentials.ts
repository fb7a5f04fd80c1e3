import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DeadLetterQueue, queueSenderStatements } from "./dead-letter-queue";
import { allow, policyDocument, PolicyStatement } from "./iam";
import { KmsKey } from "./kms-key";
import { LambdaFunction } from "./lambda-function";
import { physicalName, standardTags } from "./naming";
import { secureTableSettings } from "./table-settings";

export const SMTP_PORTS = [587, 465];
export const SPF_RECORD = "v=spf1 include:amazonses.com ~all";

export interface SmtpCredentialsArgs {
    env: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /**
     * The table operators write SMTP_USER# records to: MailIngest's routing table when present (it
     * must stream NEW_AND_OLD_IMAGES). Without one, the component creates its own.
     */
    table?: aws.dynamodb.Table;
    /** This stack's SES identities: the only ones SMTP users may send through. */
    identityArns: pulumi.Input<string>[];
    /**
     * The configuration sets the users' mail goes through (FeedbackPipeline's, the identities'
     * default). SES authorizes a send against the configuration set's ARN too, so the sending
     * policy lists them. @default FeedbackPipeline's default configuration set, `<namePrefix>-outbound-<env>` in this account and region
     */
    configurationSetArns?: pulumi.Input<string>[];
    /** Principals allowed to decrypt stored credentials (everyone else is denied). @default none */
    adminPrincipalArns?: pulumi.Input<string>[];
    /** Attempts before a record is marked failed. @default 3 */
    maxAttempts?: number;
    /** How long a rotated-out key stays Active next to the new one; the sweep then deactivates and deletes it. @default 24 */
    rotationOverlapHours?: number;
    /** A record out of sync with IAM for longer than this raises SMTPCredentialsStuck. @default 2 */
    stuckAfterHours?: number;
    /** @default 30 */
    logRetentionDays?: number;
    tags?: Record<string, string>;
}

/** The IAM path every SMTP user of an environment lives under; the manager may touch nothing else. */
export function smtpIamPath(env: string, prefix = "ses-mail"): string {
    return `/${prefix}/${env}/`;
}

/**
 * Self-service SES SMTP users: operators write an SMTP_USER# record, the stream-driven manager
 * creates the IAM user, policy, key and SMTP password (KMS-encrypted), and follows the record
 * through disable, enable, rotation and deletion.
 */
export class SmtpCredentials extends pulumi.ComponentResource {
    public readonly table: aws.dynamodb.Table;
    public readonly tableName: pulumi.Output<string>;
    public readonly key: KmsKey;
    public readonly kmsKeyArn: pulumi.Output<string>;
    public readonly manager: LambdaFunction;
    public readonly failures: DeadLetterQueue;
    public readonly functionName: pulumi.Output<string>;
    public readonly smtpEndpoint: pulumi.Output<string>;
    public readonly smtpPorts = SMTP_PORTS;
    public readonly spfRecord = SPF_RECORD;

    constructor(name: string, args: SmtpCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:SmtpCredentials", name, {}, opts);
        const env = args.env;
        const prefix = args.namePrefix;
        const tags = standardTags(env, "SmtpCredentials", args.tags);
        const child = { parent: this };
        const common = { env, namePrefix: prefix, component: "SmtpCredentials", tags: args.tags };
        const accountId = aws.getCallerIdentityOutput({}, child).accountId;
        const region = aws.getRegionOutput({}, child).region;
        const iamPath = smtpIamPath(env, prefix);
        const maxAttempts = args.maxAttempts ?? 3;
        const partition = aws.getPartitionOutput({}, child).partition;
        const configurationSetArns = args.configurationSetArns
            ?? [pulumi.interpolate`arn:${partition}:ses:${region}:${accountId}:configuration-set/${physicalName("sesConfigurationSet", { purpose: "outbound", env, prefix })}`];

        this.table = args.table ?? new aws.dynamodb.Table(`${name}-table`, {
            name: physicalName("dynamodbTable", { purpose: "smtp-credentials", env, prefix }),
            hashKey: "PK",
            rangeKey: "SK",
            attributes: [{ name: "PK", type: "S" }, { name: "SK", type: "S" }],
            streamEnabled: true,
            streamViewType: "NEW_AND_OLD_IMAGES",
            ...secureTableSettings({ env }),
            tags,
        }, child);
        this.tableName = this.table.name;

        this.failures = new DeadLetterQueue(`${name}-failures`, { ...common, purpose: "smtp-credential-manager-dlq" }, child);
        const keyAlias = `alias/${physicalName("kmsAlias", { purpose: "smtp-credentials", env, prefix })}`;
        const usersArn = pulumi.interpolate`arn:${partition}:iam::${accountId}:user${iamPath}*`;
        this.manager = new LambdaFunction(`${name}-manager`, {
            ...common, code: "smtp-credential-manager", purpose: "smtp-credential-manager", timeout: 60,
            metricsNamespace: `SESMail/${env}`, logRetentionDays: args.logRetentionDays,
            description: "Creates, disables, rotates and deletes SES SMTP users from SMTP_USER# records",
            environment: {
                TABLE_NAME: this.table.name,
                KMS_KEY_ID: keyAlias,
                IAM_PATH: iamPath,
                IDENTITY_ARNS: pulumi.output(args.identityArns).apply((arns) => arns.join(",")),
                CONFIGURATION_SET_ARNS: pulumi.output(configurationSetArns).apply((arns) => arns.join(",")),
                STUCK_AFTER_SECONDS: String((args.stuckAfterHours ?? 2) * 3600),
                MAX_ATTEMPTS: String(maxAttempts),
                ROTATION_OVERLAP_SECONDS: String((args.rotationOverlapHours ?? 24) * 3600),
                ENVIRONMENT: env,
            },
            policyStatements: [
                allow([
                    "iam:CreateUser", "iam:DeleteUser", "iam:GetUser", "iam:TagUser",
                    "iam:GetUserPolicy", "iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:ListUserPolicies",
                    "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys",
                ], [usersArn]),
                allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"], [this.table.arn]),
                allow(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"], [this.table.streamArn]),
                ...queueSenderStatements(this.failures.arn),
            ],
        }, child);
        this.functionName = this.manager.functionName;

        const decryptOnlyByAdmins: PolicyStatement = {
            Sid: "DecryptOnlyByAdmins",
            Effect: "Deny",
            Principal: "*",
            Action: ["kms:Decrypt"],
            Resource: "*",
            ...(args.adminPrincipalArns?.length ? { Condition: { ArnNotEquals: { "aws:PrincipalArn": args.adminPrincipalArns } } } : {}),
        };
        this.key = new KmsKey(`${name}-key`, {
            ...common, purpose: "smtp-credentials", description: `ses-mail SMTP credentials (${env})`,
            statements: [
                { Sid: "ManagerEncrypts", Effect: "Allow", Principal: { AWS: this.manager.role.arn }, Action: ["kms:Encrypt"], Resource: "*" },
                decryptOnlyByAdmins,
            ],
        }, { parent: this, dependsOn: [this.manager.role] });
        this.kmsKeyArn = this.key.arn;
        const kmsPolicy = new aws.iam.RolePolicy(`${name}-manager-kms`, {
            role: this.manager.role.id,
            policy: policyDocument([allow(["kms:Encrypt"], [this.key.arn])]),
        }, child);

        new aws.lambda.EventSourceMapping(`${name}-manager-stream`, {
            eventSourceArn: this.table.streamArn,
            functionName: this.manager.arn,
            startingPosition: "TRIM_HORIZON",
            batchSize: 10,
            // A failed reconcile is retried by the stream (records of one item stay in order), then
            // by the hourly sweep; the on-failure queue records what ran out of stream retries.
            maximumRetryAttempts: maxAttempts + 2,
            bisectBatchOnFunctionError: true,
            functionResponseTypes: ["ReportBatchItemFailures"],
            // Only the credentials items: the manager's IAM_USER# registry items ask for nothing.
            filterCriteria: { filters: [{ pattern: JSON.stringify({ dynamodb: { Keys: { PK: { S: [{ prefix: "SMTP_USER#" }] }, SK: { S: ["CREDENTIALS#v1"] } } } }) }] },
            destinationConfig: { onFailure: { destinationArn: this.failures.arn } },
            tags,
        }, { parent: this, dependsOn: [kmsPolicy, this.key] });

        // The sweep: orphaned users, records out of sync, rotated-out keys whose overlap ended.
        const sweep = new aws.cloudwatch.EventRule(`${name}-sweep`, {
            name: physicalName("eventRule", { purpose: "smtp-key-sweep", env, prefix }),
            description: "Reconciles SMTP users out of sync with their records and retires rotated-out keys after their overlap",
            scheduleExpression: "rate(1 hour)",
            tags,
        }, child);
        new aws.lambda.Permission(`${name}-sweep-permission`, {
            action: "lambda:InvokeFunction", function: this.manager.functionName, principal: "events.amazonaws.com", sourceArn: sweep.arn,
        }, child);
        new aws.cloudwatch.EventTarget(`${name}-sweep-target`, { rule: sweep.name, arn: this.manager.arn }, child);

        this.smtpEndpoint = pulumi.interpolate`email-smtp.${region}.amazonaws.com`;
        this.registerOutputs({ smtpEndpoint: this.smtpEndpoint, tableName: this.tableName, kmsKeyArn: this.kmsKeyArn, functionName: this.functionName });
    }
}
