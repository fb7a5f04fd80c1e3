import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";

/** Encryption and deletion protection of a table (`secureTableArgs`). */
export interface SecureTableOptions {
    /** Customer-managed KMS key; the AWS-managed `aws/dynamodb` key when unset. */
    kmsKeyArn?: pulumi.Input<string>;
    /**
     * DynamoDB refuses DeleteTable (and so a replacement or `pulumi destroy`) while this is on. Every
     * table of this library holds operator data or dedupe state, so it is on unless a stack turns it
     * off explicitly (a throwaway test stack). @default true
     */
    deletionProtection?: boolean;
}

/**
 * The settings every table of this library shares: on-demand billing, KMS encryption at rest,
 * point-in-time recovery, and deletion protection unless explicitly turned off.
 */
export function secureTableSettings(options: SecureTableOptions): Pick<aws.dynamodb.TableArgs, "billingMode" | "pointInTimeRecovery" | "serverSideEncryption" | "deletionProtectionEnabled"> {
    return {
        billingMode: "PAY_PER_REQUEST",
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: { enabled: true, kmsKeyArn: options.kmsKeyArn },
        deletionProtectionEnabled: options.deletionProtection ?? true,
    };
}
