import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DeadLetterQueue, queueSenderStatements } from "./dead-letter-queue";
import { GrantOptions, GrantRole, grantRolePolicy } from "./grants";
import { allow, allowOnAnyResource, PolicyStatement } from "./iam";
import { LambdaFunction } from "./lambda-function";
import { physicalName, standardTags } from "./naming";
import { resolveEnv } from "./stack-env";
import { secureTableSettings } from "./table-settings";
import { applyTransform, Transform } from "./transform";

/** The name operators' runbooks use (`aws dynamodb scan --table-name ses-email-suppression-list`). */
export const DEFAULT_SUPPRESSION_TABLE_NAME = "ses-email-suppression-list";
/** The suppression table's GSI by `reason` (runbooks query it). */
export const SUPPRESSION_REASON_INDEX = "reason-index";

/** Arguments of {@link SuppressionStore}. */
export interface SuppressionStoreArgs {
    /**
     * Environment name: the last part of physical names (`ses-mail-suppression-mirror-<env>`), the
     * `Environment` tag and the metrics namespace (`SESMail/<env>`).
     * @default the stack name (`pulumi.getStack()`)
     */
    env?: string;
    /**
     * Physical name of the table. Not derived from env: operators' runbooks use this name.
     * @default "ses-email-suppression-list"
     */
    tableName?: string;
    /** First part of every physical name. @default "ses-mail" */
    namePrefix?: string;
    /** The region whose global names (the mirror's IAM role) keep their region-free form (`globalPhysicalName`). @default none: they end with the region */
    homeRegion?: string;
    /**
     * Customer-managed KMS key for the tables; grants then include kms:Decrypt (and
     * kms:GenerateDataKey for writers) on it. @default the AWS-managed `aws/dynamodb` key
     * @example key.arn
     */
    kmsKeyArn?: pulumi.Input<string>;
    /** Deletion protection of the table (and the mirror's claims table): operator data. @default true */
    deletionProtection?: boolean;
    /**
     * Mirror every entry into the SES account-level suppression list (SESv2), so SES itself refuses
     * suppressed addresses. That list is shared by everything in the account and region: a removal
     * deletes only entries this stack put (recorded in a claims table) and nobody wrote since, and
     * only one stack per account and region should mirror. @default false
     */
    mirrorToSes?: boolean;
    /** Stream attempts before a failed batch goes to the mirror's DLQ. @default 5 */
    mirrorMaxRetryAttempts?: number;
    /** Turn the table stream on without the mirror (for your own consumers). @default mirrorToSes */
    streamEnabled?: boolean;
    /** Log retention of the mirror function, in days. @default 30 */
    logRetentionDays?: number;
    /**
     * Log mail addresses as keyed hashes instead of in the clear (see docs/DATA.md). @default false
     */
    hashAddressesInLogs?: boolean;
    /**
     * Tags added to the standard ones (`Environment`, `Service`, `Component`) on every taggable child.
     * @default none
     * @example { CostCentre: "mail" }
     */
    tags?: Record<string, string>;
    /**
     * Changes to a child's arguments before it is created: a partial object merged over them, or a
     * function editing them (see `Transform`). Encryption, PITR and TLS stay checked by the policy pack.
     * @default none
     * @example { table: { tableClass: "STANDARD_INFREQUENT_ACCESS" }, mirrorFunction: { memorySize: 512 } }
     */
    transform?: SuppressionStoreTransform;
}

/** The children of a SuppressionStore a `transform` can change. */
export interface SuppressionStoreTransform {
    /** The suppression table (`aws.dynamodb.Table`). */
    table?: Transform<aws.dynamodb.TableArgs>;
    /** The mirror's claims table (with `mirrorToSes`). */
    claimsTable?: Transform<aws.dynamodb.TableArgs>;
    /** The mirror's `aws.lambda.Function` (with `mirrorToSes`). */
    mirrorFunction?: Transform<aws.lambda.FunctionArgs>;
    /** The mirror's execution role (with `mirrorToSes`). */
    mirrorRole?: Transform<aws.iam.RoleArgs>;
    /** The mirror's dead-letter `aws.sqs.Queue` (with `mirrorToSes`). */
    mirrorDlq?: Transform<aws.sqs.QueueArgs>;
}

/**
 * The list of addresses senders must never mail again: a DynamoDB table keyed (email, reason)
 * with a `reason-index` GSI, TTL on `expires_at` and PITR, plus an optional mirror to SES's own
 * account-level suppression list.
 */
export class SuppressionStore extends pulumi.ComponentResource {
    /** The suppression table. */
    public readonly table: aws.dynamodb.Table;
    /** The table's name. */
    public readonly tableName: pulumi.Output<string>;
    /** The table's ARN. */
    public readonly tableArn: pulumi.Output<string>;
    /** Stream ARN when the stream is on, else undefined. */
    public readonly streamArn?: pulumi.Output<string>;
    /** The function that mirrors into SES's account-level list; absent unless `mirrorToSes`. */
    public readonly mirror?: LambdaFunction;
    /** The mirror's DLQ; absent unless `mirrorToSes`. */
    public readonly mirrorDlq?: DeadLetterQueue;
    /** Which entries of SES's list this stack put (the mirror removes only those). */
    public readonly mirrorClaims?: aws.dynamodb.Table;
    private readonly kmsKeyArn?: pulumi.Input<string>;

    constructor(name: string, args: SuppressionStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:SuppressionStore", name, {}, opts);
        const env = resolveEnv("SuppressionStore", args.env);
        const transform = args.transform ?? {};
        const tags = standardTags(env, "SuppressionStore", args.tags);
        const mirrorToSes = args.mirrorToSes ?? false;
        const streamEnabled = args.streamEnabled ?? mirrorToSes;
        if (mirrorToSes && args.streamEnabled === false) {
            throw new Error("SuppressionStore: mirrorToSes needs the table stream; remove streamEnabled: false.");
        }
        this.kmsKeyArn = args.kmsKeyArn;

        this.table = new aws.dynamodb.Table(name, ...applyTransform(transform.table, name, {
            name: args.tableName ?? DEFAULT_SUPPRESSION_TABLE_NAME,
            hashKey: "email",
            rangeKey: "reason",
            attributes: [
                { name: "email", type: "S" },
                { name: "reason", type: "S" },
                { name: "added_at", type: "N" },
            ],
            globalSecondaryIndexes: [
                {
                    name: SUPPRESSION_REASON_INDEX,
                    keySchemas: [{ attributeName: "reason", keyType: "HASH" }, { attributeName: "added_at", keyType: "RANGE" }],
                    projectionType: "ALL",
                },
            ],
            ttl: { attributeName: "expires_at", enabled: true },
            ...secureTableSettings({ kmsKeyArn: args.kmsKeyArn, deletionProtection: args.deletionProtection }),
            streamEnabled,
            streamViewType: streamEnabled ? "NEW_AND_OLD_IMAGES" : undefined,
            tags,
        }, { parent: this }));
        this.tableName = this.table.name;
        this.tableArn = this.table.arn;
        this.streamArn = streamEnabled ? this.table.streamArn : undefined;

        if (mirrorToSes) {
            this.mirrorDlq = new DeadLetterQueue(`${name}-mirror-dlq`, {
                env,
                purpose: "suppression-mirror-dlq",
                namePrefix: args.namePrefix,
                component: "SuppressionStore",
                tags: args.tags,
                transform: { queue: transform.mirrorDlq },
            }, { parent: this });
            const streamArn = this.table.streamArn;
            this.mirrorClaims = new aws.dynamodb.Table(`${name}-mirror-claims`, ...applyTransform(transform.claimsTable, `${name}-mirror-claims`, {
                name: physicalName("dynamodbTable", { purpose: "suppression-mirror-claims", env, prefix: args.namePrefix }),
                hashKey: "email",
                attributes: [{ name: "email", type: "S" }],
                ...secureTableSettings({ kmsKeyArn: args.kmsKeyArn, deletionProtection: args.deletionProtection }),
                tags,
            }, { parent: this }));
            this.mirror = new LambdaFunction(`${name}-mirror`, {
                code: "suppression-mirror",
                env,
                namePrefix: args.namePrefix,
                homeRegion: args.homeRegion,
                component: "SuppressionStore",
                description: "Mirrors the suppression table into the SES account-level suppression list",
                metricsNamespace: `SESMail/${env}`,
                logRetentionDays: args.logRetentionDays,
                hashAddressesInLogs: args.hashAddressesInLogs,
                environment: { SUPPRESSION_TABLE_NAME: this.table.name, CLAIMS_TABLE_NAME: this.mirrorClaims.name },
                policyStatements: [
                    allow(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"], [streamArn]),
                    // For every record the mirror reads what is left for the address.
                    allow(["dynamodb:Query"], [this.table.arn]),
                    allow(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"], [this.mirrorClaims.arn]),
                    ...this.kmsStatements(["kms:Decrypt", "kms:GenerateDataKey"]),
                    allowOnAnyResource(["ses:GetSuppressedDestination", "ses:PutSuppressedDestination", "ses:DeleteSuppressedDestination"]),
                    // The stream's on-failure destination is written with the function's own role.
                    ...queueSenderStatements(this.mirrorDlq.arn),
                ],
                tags: args.tags,
                transform: { function: transform.mirrorFunction, role: transform.mirrorRole },
            }, { parent: this });
            new aws.lambda.EventSourceMapping(`${name}-mirror-stream`, {
                eventSourceArn: streamArn,
                functionName: this.mirror.function.arn,
                startingPosition: "TRIM_HORIZON",
                batchSize: 100,
                maximumBatchingWindowInSeconds: 1,
                maximumRetryAttempts: args.mirrorMaxRetryAttempts ?? 5,
                bisectBatchOnFunctionError: true,
                functionResponseTypes: ["ReportBatchItemFailures"],
                destinationConfig: { onFailure: { destinationArn: this.mirrorDlq.arn } },
                tags,
            }, { parent: this });
        }

        this.registerOutputs({ tableName: this.tableName, tableArn: this.tableArn, streamArn: this.streamArn });
    }

    /** Least-privilege statements for code that only checks and lists suppressions. */
    public readStatements(): PolicyStatement[] {
        return [
            allow(["dynamodb:GetItem", "dynamodb:Query"], [this.table.arn, pulumi.interpolate`${this.table.arn}/index/${SUPPRESSION_REASON_INDEX}`]),
            ...this.kmsStatements(["kms:Decrypt"]),
        ];
    }

    /** Least-privilege statements for code that adds and removes suppressions (and reads them). */
    public writeStatements(): PolicyStatement[] {
        return [
            allow(
                ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                [this.table.arn, pulumi.interpolate`${this.table.arn}/index/${SUPPRESSION_REASON_INDEX}`],
            ),
            ...this.kmsStatements(["kms:Decrypt", "kms:GenerateDataKey"]),
        ];
    }

    /**
     * What `SuppressionClient.isSuppressed` and `entries` call: a Query of the address's partition
     * (and the key, if the table has a customer key). Nothing else: no GetItem, no index, no write.
     */
    public checkStatements(): PolicyStatement[] {
        return [allow(["dynamodb:Query"], [this.table.arn]), ...this.kmsStatements(["kms:Decrypt"])];
    }

    /**
     * What every method of `SuppressionClient` calls: Query (isSuppressed, entries), UpdateItem
     * (suppress), DeleteItem (remove), and Query of `reason-index` (list).
     */
    public clientStatements(): PolicyStatement[] {
        return [
            allow(["dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], [this.table.arn]),
            allow(["dynamodb:Query"], [pulumi.interpolate`${this.table.arn}/index/${SUPPRESSION_REASON_INDEX}`]),
            ...this.kmsStatements(["kms:Decrypt", "kms:GenerateDataKey"]),
        ];
    }

    /**
     * Lets `role` check addresses with `SuppressionClient.isSuppressed` / `entries`: one inline
     * policy `<name>-check-<role>` with {@link checkStatements}. Granting the same role twice
     * returns the first policy.
     * @example store.grantCheck(appRole) // or store.grantCheck("existing-role-name")
     */
    public grantCheck(role: GrantRole, options?: GrantOptions): aws.iam.RolePolicy {
        return grantRolePolicy(this, "check", role, this.checkStatements(), options);
    }

    /**
     * Lets `role` use all of `SuppressionClient` (check, list, suppress, remove): one inline policy
     * `<name>-write-<role>` with {@link clientStatements}.
     * @example store.grantWrite(adminRole)
     */
    public grantWrite(role: GrantRole, options?: GrantOptions): aws.iam.RolePolicy {
        return grantRolePolicy(this, "write", role, this.clientStatements(), options);
    }

    /** Only what `SuppressionClient.suppress` needs (one conditional UpdateItem). */
    public suppressStatements(): PolicyStatement[] {
        return [allow(["dynamodb:UpdateItem"], [this.table.arn]), ...this.kmsStatements(["kms:Decrypt", "kms:GenerateDataKey"])];
    }

    private kmsStatements(actions: string[]): PolicyStatement[] {
        return this.kmsKeyArn ? [allow(actions, [this.kmsKeyArn])] : [];
    }
}
