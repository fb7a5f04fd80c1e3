import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";

export interface SecureTableOptions {
    env: string;
    /** Customer-managed KMS key; the AWS-managed `aws/dynamodb` key when unset. */
    kmsKeyArn?: pulumi.Input<string>;
    /** @default true when env is "prod" */
    deletionProtection?: boolean;
}

/**
 * The settings every table of this library shares: on-demand billing, KMS encryption at rest,
 * point-in-time recovery, and deletion protection in prod.
 */
export function secureTableSettings(options: SecureTableOptions): Pick<aws.dynamodb.TableArgs, "billingMode" | "pointInTimeRecovery" | "serverSideEncryption" | "deletionProtectionEnabled"> {
    return {
        billingMode: "PAY_PER_REQUEST",
        pointInTimeRecovery: { enabled: true },
        serverSideEncryption: { enabled: true, kmsKeyArn: options.kmsKeyArn },
        deletionProtectionEnabled: options.deletionProtection ?? options.env === "prod",
    };
}
