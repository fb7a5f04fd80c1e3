import type { Policies } from "@pulumi/policy";
import { dlqHasAlarm } from "./alarms";
import {
    dynamodbPointInTimeRecovery,
    dynamodbTableEncrypted,
    kmsKeyRotation,
    logGroupKmsEncrypted,
    s3BucketEncrypted,
    snsTopicEncrypted,
    sqsQueueEncrypted,
    ssmSecretsSecureString,
} from "./encryption";
import { iamEscalationBounded, iamManagedPolicyAttachments, iamNoAccessKeys, iamNoWildcardActions, iamRoleTrustScoped, iamWildcardResourceExceptions } from "./iam";
import { lambdaLogGroupRetention, lambdaNoPlaintextSecrets, lambdaPermissionScoped, lambdaTimeoutWithinVisibility, lambdaXrayTracing } from "./lambda";
import { lambdaRuntimeSupported } from "./lambda-runtime";
import { resourcePolicyNotPublic, resourcePolicyServiceScoped } from "./resource-policies";
import { s3LifecycleExpiry, s3PublicAccessBlocked, s3TlsOnly } from "./s3";
import { configurationSetTls, receiptRuleScanningTls, smtpSendingFromAddress } from "./ses";
import { sfnLogGroupRetention, sfnNoExecutionData } from "./sfn";
import { snsTlsOnly } from "./sns";
import { sqsDlqRetention, sqsRedriveToDlq, sqsTlsOnly } from "./sqs";

/** Every policy of the ses-mail pack. The pack entry (policy/index.ts) and the offline runner use this list. */
export const sesMailPolicies: Policies = [
    sqsQueueEncrypted,
    snsTopicEncrypted,
    dynamodbTableEncrypted,
    s3BucketEncrypted,
    logGroupKmsEncrypted,
    kmsKeyRotation,
    ssmSecretsSecureString,
    s3PublicAccessBlocked,
    s3TlsOnly,
    s3LifecycleExpiry,
    sqsRedriveToDlq,
    sqsDlqRetention,
    sqsTlsOnly,
    snsTlsOnly,
    resourcePolicyNotPublic,
    resourcePolicyServiceScoped,
    lambdaXrayTracing,
    lambdaLogGroupRetention,
    lambdaNoPlaintextSecrets,
    lambdaTimeoutWithinVisibility,
    lambdaPermissionScoped,
    lambdaRuntimeSupported,
    sfnLogGroupRetention,
    sfnNoExecutionData,
    iamNoWildcardActions,
    iamWildcardResourceExceptions,
    iamEscalationBounded,
    iamManagedPolicyAttachments,
    iamNoAccessKeys,
    iamRoleTrustScoped,
    receiptRuleScanningTls,
    smtpSendingFromAddress,
    configurationSetTls,
    dlqHasAlarm,
    dynamodbPointInTimeRecovery,
];

export * from "./alarms";
export * from "./encryption";
export * from "./iam";
export * from "./lambda";
export * from "./lambda-runtime";
export * from "./resource-policies";
export * from "./s3";
export * from "./ses";
export * from "./sfn";
export * from "./sns";
export * from "./sqs";
