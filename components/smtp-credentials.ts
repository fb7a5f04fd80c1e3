import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { userBoundaryPolicy } from "../functions/smtp-credential-manager/logic";
import { SMTP_USER_PREFIX } from "../functions/smtp-credential-manager/logic";
import { DeadLetterQueue, queueSenderStatements } from "./dead-letter-queue";
import { GrantOptions, GrantRole, grantRolePolicy, tableKeyStatements, withStatements } from "./grants";
import { allow, policyDocument, PolicyStatement } from "./iam";
import { SENDER_STATE_INDEX } from "../functions/shared/sender-reputation";
import { componentKey, KmsKey, SMTP_CREDENTIALS_CONTEXT_KEY } from "./kms-key";
import { LambdaFunction } from "./lambda-function";
import { globalEnv, physicalName, standardTags } from "./naming";
import { resolveEnv } from "./stack-env";
import { secureTableSettings } from "./table-settings";
import { applyTransform, Transform } from "./transform";

/** SES SMTP ports: 587 (STARTTLS) and 465 (TLS). */
export const SMTP_PORTS = [587, 465];
/** The SPF record that lets SES send for a domain. */
export const SPF_RECORD = "v=spf1 include:amazonses.com ~all";

/** FeedbackPipeline's sender reputation, read by the manager to disable SMTP users of restricted senders. */
export interface SmtpSenderReputationArgs {
    /** FeedbackPipeline's `sendersTable.name`. */
    tableName: pulumi.Input<string>;
    /** FeedbackPipeline's `sendersTable.arn`. */
    tableArn: pulumi.Input<string>;
    /** FeedbackPipeline's `notificationsTopic.arn`: restrictions reach the manager at once through it. */
    notificationsTopicArn: pulumi.Input<string>;
}

/** The children of an SmtpCredentials a `transform` can change. */
export interface SmtpCredentialsTransform {
    /** The table created when no `table` is given (`aws.dynamodb.Table`). */
    table?: Transform<aws.dynamodb.TableArgs>;
    /** The manager's `aws.lambda.Function`. */
    managerFunction?: Transform<aws.lambda.FunctionArgs>;
    /** The manager's execution role. */
    managerRole?: Transform<aws.iam.RoleArgs>;
    /** The manager's on-failure `aws.sqs.Queue`. */
    failures?: Transform<aws.sqs.QueueArgs>;
}

/** Arguments of {@link SmtpCredentials}. */
export interface SmtpCredentialsArgs {
    /**
     * Environment name: the last part of physical names (`ses-mail-smtp-credentials-<env>`), the IAM
     * path of the SMTP users (`/ses-mail/<env>/`) and the `Environment` tag.
     * @default the stack name (`pulumi.getStack()`)
     */
    env?: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /**
     * The table operators write SMTP_USER# records to: MailIngest's routing table when present (it
     * must stream NEW_AND_OLD_IMAGES). Without one, the component creates its own.
     * @default a table of its own, `<namePrefix>-smtp-credentials-<env>`
     * @example ingest.routingTable
     */
    table?: aws.dynamodb.Table;
    /**
     * This stack's SES identities: the only ones SMTP users may send through, and (their domains and
     * addresses, from the ARNs) the only senders `allowed_senders` may name.
     */
    identityArns: pulumi.Input<string>[];
    /**
     * The configuration sets the users' mail goes through (FeedbackPipeline's, the identities'
     * default). SES authorizes a send against the configuration set's ARN too, so the sending
     * policy lists them. @default FeedbackPipeline's default configuration set, `<namePrefix>-outbound-<env>` in this account and region
     */
    configurationSetArns?: pulumi.Input<string>[];
    /**
     * Principals allowed to decrypt stored credentials: everyone else is denied kms:Decrypt,
     * kms:ReEncryptFrom and kms:CreateGrant on the key, whatever their IAM policies. @default none
     */
    adminPrincipalArns?: pulumi.Input<string>[];
    /**
     * Principals that may replace the key's policy (kms:PutKeyPolicy), as aws:PrincipalArn names
     * them: an IAM role's ARN, never an sts assumed-role ARN. @default the deploying principal; the account root user may too (see KmsKey)
     */
    deployerPrincipalArns?: pulumi.Input<string>[];
    /**
     * Disable the SMTP users allowed to send as a sender once it is restricted (by complaints or by an
     * operator): at once through the notifications topic, and by the hourly sweep. Lifting a
     * restriction enables nobody. @default no enforcement
     */
    senderReputation?: SmtpSenderReputationArgs;
    /**
     * ARN of the KMS key the credentials are encrypted with, instead of a key of its own ($1 a
     * key-month): one key per stack shared by its components. Only `adminPrincipalArns` must decrypt
     * what is encrypted under the `username` context, so its policy must deny that to everyone else
     * (as `stackKmsKey` with `credentialAdminArns` does): this component cannot change a given key's policy.
     * @default a key of its own, `<name>-key` (`alias/<namePrefix>-smtp-credentials-<env>`), whose policy denies decrypting to everyone but `adminPrincipalArns`
     * @example stackKey.arn
     */
    kmsKeyArn?: pulumi.Input<string>;
    /**
     * With `kmsKeyArn`, while moving a deployed stack onto it: still declare the key this component
     * created before (same URN, same policy), retained on delete and unused for new credentials, so
     * that the deploy without this flag leaves it in AWS: credentials encrypted before stay under it
     * until re-encrypted (docs/OPERATIONS.md, "One KMS key per stack").
     * @default false
     */
    retainOwnKey?: boolean;
    /** Attempts before a record is marked failed. @default 3 */
    maxAttempts?: number;
    /** How long a rotated-out key stays Active next to the new one; the sweep then deactivates and deletes it. @default 24 */
    rotationOverlapHours?: number;
    /** A record out of sync with IAM for longer than this raises SMTPCredentialsStuck. @default 2 */
    stuckAfterHours?: number;
    /** Deletion protection of the table created here (SMTP users). @default true */
    deletionProtection?: boolean;
    /** @default 30 */
    logRetentionDays?: number;
    /**
     * Log mail addresses as keyed hashes instead of in the clear (see docs/DATA.md). @default false
     */
    hashAddressesInLogs?: boolean;
    /**
     * The region whose global names (IAM roles, the SMTP users' IAM path) carry no region suffix;
     * elsewhere they gain `-<region>`, so one env in two regions never shares (or sweeps) users.
     * @default unset: every region's names carry the region
     */
    homeRegion?: string;
    /** Tags added to the standard ones on every taggable child. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
    /**
     * Changes to a child's arguments before it is created: a partial object merged over them, or a
     * function editing them (see `Transform`). The policy pack still checks the result.
     * @default none
     * @example { managerFunction: { memorySize: 512 }, table: { deletionProtectionEnabled: false } }
     */
    transform?: SmtpCredentialsTransform;
}

/**
 * What the manager reads of the sender reputation: a sender's state item (consistently), and the
 * state index to list restricted senders. Nothing else of that table, and no write.
 */
export function restrictionReadStatements(reputation: Pick<SmtpSenderReputationArgs, "tableArn">): PolicyStatement[] {
    return [
        allow(["dynamodb:GetItem"], [reputation.tableArn], { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["SENDER#*"] } }),
        allow(["dynamodb:Query"], [pulumi.interpolate`${reputation.tableArn}/index/${SENDER_STATE_INDEX}`]),
    ];
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
    /** The table SMTP user records are written to (MailIngest's routing table when given, else its own). */
    public readonly table: aws.dynamodb.Table;
    /** That table's name. */
    public readonly tableName: pulumi.Output<string>;
    /** The component's own key: absent when it was given one (`kmsKeyArn`), unless `retainOwnKey` keeps it declared. */
    public readonly key?: KmsKey;
    /** The permissions boundary every SMTP user carries. */
    public readonly userBoundary: aws.iam.Policy;
    /** The key new credentials are encrypted with: the one given, or its own. */
    public readonly kmsKeyArn: pulumi.Output<string>;
    /** Every key credentials may be under: `kmsKeyArn`, and the retained own key while moving off it. */
    public readonly credentialKeyArns: pulumi.Output<string>[];
    /** The credential manager (stream and hourly sweep). */
    public readonly manager: LambdaFunction;
    /** The manager's DLQ (stream records that failed every retry). */
    public readonly failures: DeadLetterQueue;
    /** The manager's function name. */
    public readonly functionName: pulumi.Output<string>;
    /** `email-smtp.<region>.amazonaws.com`. */
    public readonly smtpEndpoint: pulumi.Output<string>;
    /** {@link SMTP_PORTS}. */
    public readonly smtpPorts = SMTP_PORTS;
    /** {@link SPF_RECORD}. */
    public readonly spfRecord = SPF_RECORD;

    constructor(name: string, args: SmtpCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:SmtpCredentials", name, {}, opts);
        const env = resolveEnv("SmtpCredentials", args.env);
        const transform = args.transform ?? {};
        const prefix = args.namePrefix;
        const tags = standardTags(env, "SmtpCredentials", args.tags);
        const child = { parent: this };
        const common = { env, namePrefix: prefix, homeRegion: args.homeRegion, component: "SmtpCredentials", tags: args.tags };
        const accountId = aws.getCallerIdentityOutput({}, child).accountId;
        const region = aws.getRegionOutput({}, child).region;
        // IAM is global: a second region of the same env gets its own path, or its sweep would
        // take the first region's users for orphans.
        const iamPath = region.apply((r) => smtpIamPath(globalEnv(env, r, args.homeRegion), prefix));
        const maxAttempts = args.maxAttempts ?? 3;
        const reputation = args.senderReputation;
        const partition = aws.getPartitionOutput({}, child).partition;
        const configurationSetArns = args.configurationSetArns
            ?? [pulumi.interpolate`arn:${partition}:ses:${region}:${accountId}:configuration-set/${physicalName("sesConfigurationSet", { purpose: "outbound", env, prefix })}`];

        this.table = args.table ?? new aws.dynamodb.Table(`${name}-table`, ...applyTransform(transform.table, `${name}-table`, {
            name: physicalName("dynamodbTable", { purpose: "smtp-credentials", env, prefix }),
            hashKey: "PK",
            rangeKey: "SK",
            attributes: [{ name: "PK", type: "S" }, { name: "SK", type: "S" }],
            streamEnabled: true,
            streamViewType: "NEW_AND_OLD_IMAGES",
            ...secureTableSettings({ deletionProtection: args.deletionProtection }),
            tags,
        }, child));
        this.tableName = this.table.name;

        this.failures = new DeadLetterQueue(`${name}-failures`, { ...common, purpose: "smtp-credential-manager-dlq", transform: { queue: transform.failures } }, child);
        const keyAlias = `alias/${physicalName("kmsAlias", { purpose: "smtp-credentials", env, prefix })}`;
        const usersArn = pulumi.interpolate`arn:${partition}:iam::${accountId}:user${iamPath}*`;
        // Every SMTP user carries this boundary, so whatever policy the manager gives a user (or
        // anything running as its role), the user can at most send through this stack.
        this.userBoundary = new aws.iam.Policy(`${name}-user-boundary`, {
            namePrefix: `${physicalName("iamRole", { purpose: "smtp-user-boundary", env, prefix })}-`,
            path: iamPath,
            description: `Permissions boundary of the ses-mail SMTP users (${env}): send through this stack's identities only`,
            policy: pulumi.all([args.identityArns, configurationSetArns]).apply(([identities, sets]) => JSON.stringify(userBoundaryPolicy(identities, sets))),
            tags,
        }, child);
        this.manager = new LambdaFunction(`${name}-manager`, {
            ...common, code: "smtp-credential-manager", purpose: "smtp-credential-manager", timeout: 60,
            metricsNamespace: `SESMail/${env}`, logRetentionDays: args.logRetentionDays, hashAddressesInLogs: args.hashAddressesInLogs,
            description: "Creates, disables, rotates and deletes SES SMTP users from SMTP_USER# records",
            environment: {
                TABLE_NAME: this.table.name,
                KMS_KEY_ID: args.kmsKeyArn ?? keyAlias,
                IAM_PATH: iamPath,
                IDENTITY_ARNS: pulumi.output(args.identityArns).apply((arns) => arns.join(",")),
                CONFIGURATION_SET_ARNS: pulumi.output(configurationSetArns).apply((arns) => arns.join(",")),
                PERMISSIONS_BOUNDARY_ARN: this.userBoundary.arn,
                STUCK_AFTER_SECONDS: String((args.stuckAfterHours ?? 2) * 3600),
                MAX_ATTEMPTS: String(maxAttempts),
                ROTATION_OVERLAP_SECONDS: String((args.rotationOverlapHours ?? 24) * 3600),
                ENVIRONMENT: env,
                ...(reputation ? { SENDERS_TABLE_NAME: reputation.tableName } : {}),
            },
            policyStatements: [
                allow([
                    "iam:DeleteUser", "iam:GetUser", "iam:TagUser", "iam:GetUserPolicy", "iam:DeleteUserPolicy", "iam:ListUserPolicies",
                    "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys",
                ], [usersArn]),
                // Users come into being with the boundary and their policy changes only while they
                // carry it (iam:PermissionsBoundary is the request's for CreateUser and
                // PutUserPermissionsBoundary, the user's for PutUserPolicy).
                allow(["iam:CreateUser", "iam:PutUserPolicy", "iam:PutUserPermissionsBoundary"], [usersArn], { StringEquals: { "iam:PermissionsBoundary": this.userBoundary.arn } }),
                // The same as explicit denies, so that nothing granted to the role later can undo them;
                // and never a managed policy, nor a user rid of its boundary.
                {
                    Sid: "NoUserWithoutTheBoundary", Effect: "Deny", Action: ["iam:CreateUser", "iam:PutUserPolicy", "iam:PutUserPermissionsBoundary"], Resource: "*",
                    Condition: { StringNotEquals: { "iam:PermissionsBoundary": this.userBoundary.arn } },
                },
                { Sid: "NoManagedPoliciesNorBoundaryRemoval", Effect: "Deny", Action: ["iam:AttachUserPolicy", "iam:DeleteUserPermissionsBoundary"], Resource: "*" },
                allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"], [this.table.arn]),
                allow(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"], [this.table.streamArn]),
                ...queueSenderStatements(this.failures.arn),
                ...(reputation ? restrictionReadStatements(reputation) : []),
            ],
            transform: { function: transform.managerFunction, role: transform.managerRole },
        }, child);
        this.functionName = this.manager.functionName;
        if (reputation) {
            // Only restrictions wake the manager (announceTransition sets the `state` attribute). SNS
            // decrypts an encrypted topic's messages before delivering them, so the role needs no key.
            const permission = new aws.lambda.Permission(`${name}-restricted-senders-permission`, {
                action: "lambda:InvokeFunction", function: this.manager.functionName, principal: "sns.amazonaws.com", sourceArn: reputation.notificationsTopicArn,
            }, child);
            new aws.sns.TopicSubscription(`${name}-restricted-senders`, {
                topic: reputation.notificationsTopicArn, protocol: "lambda", endpoint: this.manager.arn,
                filterPolicyScope: "MessageAttributes", filterPolicy: JSON.stringify({ state: ["restricted"] }),
            }, { parent: this, dependsOn: [permission] });
        }

        const key = componentKey(`${name}-key`, args.kmsKeyArn, args.retainOwnKey, {
            ...common, purpose: "smtp-credentials", description: `ses-mail SMTP credentials (${env})`,
            statements: [{ Sid: "ManagerEncrypts", Effect: "Allow", Principal: { AWS: this.manager.role.arn }, Action: ["kms:Encrypt"], Resource: "*" }],
            decryptPrincipalArns: args.adminPrincipalArns ?? [],
            deployerPrincipalArns: args.deployerPrincipalArns,
        }, { parent: this, dependsOn: [this.manager.role] });
        this.key = key.own;
        this.kmsKeyArn = pulumi.output(key.arn);
        // Credentials encrypted before a move onto a given key stay under the retained own key: admins decrypt both.
        this.credentialKeyArns = [this.kmsKeyArn, ...(args.kmsKeyArn !== undefined && key.own ? [key.own.arn] : [])];
        const kmsPolicy = new aws.iam.RolePolicy(`${name}-manager-kms`, {
            role: this.manager.role.id,
            policy: policyDocument([allow(["kms:Encrypt"], [this.kmsKeyArn])]),
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
        }, { parent: this, dependsOn: [kmsPolicy, ...(this.key ? [this.key] : [])] });

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

    /**
     * What `ses-mail smtp` (list, show, create, credentials, enable, disable, rotate, delete) calls:
     * GetItem, PutItem, UpdateItem and DeleteItem of `SMTP_USER#` items only (`dynamodb:LeadingKeys`:
     * never the routing rules sharing MailIngest's table), Scan (the listing filters them), and
     * kms:Decrypt of the credentials key for `credentials`. The key's policy still denies that
     * decrypt to anyone not in `adminPrincipalArns`: list the role there too to read passwords.
     */
    public adminStatements(): pulumi.Output<PolicyStatement[]> {
        return withStatements([
            allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], [this.table.arn], {
                "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${SMTP_USER_PREFIX}*`] },
            }),
            allow(["dynamodb:Scan"], [this.table.arn]),
            // The manager encrypts each record's credentials under the context username=<user>; requiring
            // that key keeps the grant to these credentials ("kms:EncryptionContextKeys", AWS KMS Developer Guide).
            allow(["kms:Decrypt"], this.credentialKeyArns, { "ForAnyValue:StringEquals": { "kms:EncryptionContextKeys": [SMTP_CREDENTIALS_CONTEXT_KEY] } }),
        ], tableKeyStatements(this.table, ["kms:Decrypt", "kms:GenerateDataKey"]));
    }

    /**
     * Lets `role` run `ses-mail smtp` against this stack: one inline policy `<name>-admin-<role>`
     * with {@link adminStatements}.
     * @example smtp.grantAdmin(operatorRole)
     */
    public grantAdmin(role: GrantRole, options?: GrantOptions): aws.iam.RolePolicy {
        return grantRolePolicy(this, "admin", role, this.adminStatements(), options);
    }
}
