import type { Policies } from "@pulumi/policy";
import { dlqHasAlarm } from "./alarms";
import { dynamodbPointInTimeRecovery, dynamodbTableEncrypted, logGroupKmsEncrypted, s3BucketEncrypted, snsTopicEncrypted, sqsQueueEncrypted, ssmSecretsSecureString } from "./encryption";
import { iamNoAccessKeys, iamNoWildcardActions, iamRoleTrustScoped, iamWildcardResourceExceptions } from "./iam";
import { lambdaLogGroupRetention, lambdaNoPlaintextSecrets, lambdaTimeoutWithinVisibility, lambdaXrayTracing } from "./lambda";
import { s3LifecycleExpiry, s3PublicAccessBlocked, s3TlsOnly } from "./s3";
import { configurationSetTls, receiptRuleScanningTls, smtpSendingFromAddress } from "./ses";
import { sqsDlqRetention, sqsRedriveToDlq, sqsServicePrincipalScoped, sqsTlsOnly } from "./sqs";

/** Every policy of the ses-mail pack. The pack entry (policy/index.ts) and the offline runner use this list. */
export const sesMailPolicies: Policies = [
    sqsQueueEncrypted,
    snsTopicEncrypted,
    dynamodbTableEncrypted,
    s3BucketEncrypted,
    logGroupKmsEncrypted,
    ssmSecretsSecureString,
    s3PublicAccessBlocked,
    s3TlsOnly,
    s3LifecycleExpiry,
    sqsRedriveToDlq,
    sqsDlqRetention,
    sqsTlsOnly,
    sqsServicePrincipalScoped,
    lambdaXrayTracing,
    lambdaLogGroupRetention,
    lambdaNoPlaintextSecrets,
    lambdaTimeoutWithinVisibility,
    iamNoWildcardActions,
    iamWildcardResourceExceptions,
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
export * from "./s3";
export * from "./ses";
export * from "./sqs";
