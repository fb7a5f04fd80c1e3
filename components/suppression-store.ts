import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DeadLetterQueue, queueSenderStatements } from "./dead-letter-queue";
import { allow, allowOnAnyResource, PolicyStatement } from "./iam";
import { LambdaFunction } from "./lambda-function";
import { physicalName, standardTags } from "./naming";
import { secureTableSettings } from "./table-settings";

/** The name operators' runbooks use (`aws dynamodb scan --table-name ses-email-suppression-list`). */
export const DEFAULT_SUPPRESSION_TABLE_NAME = "ses-email-suppression-list";
export const SUPPRESSION_REASON_INDEX = "reason-index";

export interface SuppressionStoreArgs {
    /** Environment name (tags, function names, prod defaults). */
    env: string;
    /** @default "ses-email-suppression-list" */
    tableName?: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** The region whose global names (the mirror's IAM role) keep their region-free form (`globalPhysicalName`). @default none: they end with the region */
    homeRegion?: string;
    /** Customer-managed KMS key for the table; the AWS-managed `aws/dynamodb` key when unset. */
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
    /** Log retention of the mirror function. @default 30 */
    logRetentionDays?: number;
    /**
     * Log mail addresses as keyed hashes instead of in the clear (see docs/DATA.md). @default false
     */
    hashAddressesInLogs?: boolean;
    tags?: Record<string, string>;
}

/**
 * The list of addresses senders must never mail again: a DynamoDB table keyed (email, reason)
 * with a `reason-index` GSI, TTL on `expires_at` and PITR, plus an optional mirror to SES's own
 * account-level suppression list.
 */
export class SuppressionStore extends pulumi.ComponentResource {
    public readonly table: aws.dynamodb.Table;
    public readonly tableName: pulumi.Output<string>;
    public readonly tableArn: pulumi.Output<string>;
    /** Stream ARN when the stream is on, else undefined. */
    public readonly streamArn?: pulumi.Output<string>;
    public readonly mirror?: LambdaFunction;
    public readonly mirrorDlq?: DeadLetterQueue;
    /** Which entries of SES's list this stack put (the mirror removes only those). */
    public readonly mirrorClaims?: aws.dynamodb.Table;
    private readonly kmsKeyArn?: pulumi.Input<string>;

    constructor(name: string, args: SuppressionStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:SuppressionStore", name, {}, opts);
        const tags = standardTags(args.env, "SuppressionStore", args.tags);
        const mirrorToSes = args.mirrorToSes ?? false;
        const streamEnabled = args.streamEnabled ?? mirrorToSes;
        if (mirrorToSes && args.streamEnabled === false) {
            throw new Error("SuppressionStore: mirrorToSes needs the table stream; remove streamEnabled: false.");
        }
        this.kmsKeyArn = args.kmsKeyArn;

        this.table = new aws.dynamodb.Table(name, {
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
        }, { parent: this });
        this.tableName = this.table.name;
        this.tableArn = this.table.arn;
        this.streamArn = streamEnabled ? this.table.streamArn : undefined;

        if (mirrorToSes) {
            this.mirrorDlq = new DeadLetterQueue(`${name}-mirror-dlq`, {
                env: args.env,
                purpose: "suppression-mirror-dlq",
                namePrefix: args.namePrefix,
                component: "SuppressionStore",
                tags: args.tags,
            }, { parent: this });
            const streamArn = this.table.streamArn;
            this.mirrorClaims = new aws.dynamodb.Table(`${name}-mirror-claims`, {
                name: physicalName("dynamodbTable", { purpose: "suppression-mirror-claims", env: args.env, prefix: args.namePrefix }),
                hashKey: "email",
                attributes: [{ name: "email", type: "S" }],
                ...secureTableSettings({ kmsKeyArn: args.kmsKeyArn, deletionProtection: args.deletionProtection }),
                tags,
            }, { parent: this });
            this.mirror = new LambdaFunction(`${name}-mirror`, {
                code: "suppression-mirror",
                env: args.env,
                namePrefix: args.namePrefix,
                homeRegion: args.homeRegion,
                component: "SuppressionStore",
                description: "Mirrors the suppression table into the SES account-level suppression list",
                metricsNamespace: `SESMail/${args.env}`,
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

    /** Only what `SuppressionClient.suppress` needs (one conditional UpdateItem). */
    public suppressStatements(): PolicyStatement[] {
        return [allow(["dynamodb:UpdateItem"], [this.table.arn]), ...this.kmsStatements(["kms:Decrypt", "kms:GenerateDataKey"])];
    }

    private kmsStatements(actions: string[]): PolicyStatement[] {
        return this.kmsKeyArn ? [allow(actions, [this.kmsKeyArn])] : [];
    }
}
