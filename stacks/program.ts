import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Alarms } from "../components/alarms";
import { OperationsDashboard } from "../components/dashboard";
import { Runbooks } from "../components/runbooks";
import { SavedQueries } from "../components/saved-queries";
import { resolveSendingGuardSettings, SendingGuard, sendingGuardAlarmNames } from "../components/sending-guard";
import { FeedbackPipeline } from "../components/feedback-pipeline";
import { MailIngest } from "../components/mail-ingest";
import { SmtpCredentials } from "../components/smtp-credentials";
import { SuppressionStore } from "../components/suppression-store";
import { KmsKey, stackKmsKey } from "../components/kms-key";
import { sharedAccountProblems, StackConfig, StackConfigError, stackSettingsFrom } from "./config";
import { listStacks, readStackFile } from "./stack-file";

/** Where Pulumi.yaml and the Pulumi.<stack>.yaml files live. */
const PROJECT_DIR = path.resolve(__dirname, "..");

/**
 * Reads and validates this stack's `ses-mail:*` config, and refuses it when it would fight another
 * stack of this project over what their account shares (see `sharedAccountProblems`).
 */
export function readStackConfig(): StackConfig {
    const stack = pulumi.getStack();
    const settings = stackSettingsFrom(pulumi.runtime.allConfig(), stack);
    const others = listStacks(PROJECT_DIR).filter((other) => other !== stack).map((other) => stackSettingsFrom(readStackFile(other, PROJECT_DIR)!, other));
    const problems = sharedAccountProblems(settings, others);
    if (problems.length > 0) {
        throw new StackConfigError(problems, stack);
    }
    return settings.config;
}

/** A component that encrypts with a KMS key of its own when the stack has none to give it. */
type KeyOwner = "feedback" | "ingest" | "alarms" | "smtp";

/**
 * Whose old key the stack key takes over (its URN, through an alias: one key fewer to retire). The
 * SMTP credentials' when the stack has them: theirs is the only key with long-lived data under it
 * (every SMTP password), which then stays readable with no re-encryption; else the feedback
 * pipeline's, which every stack has. The others' keys hold SNS messages awaiting delivery only.
 */
export function adoptedKeyOwner(config: StackConfig): KeyOwner {
    return config.smtp.enabled ? "smtp" : "feedback";
}

const KEY_OWNER_TYPES: Record<KeyOwner, string> = {
    feedback: "ses-mail:index:FeedbackPipeline", ingest: "ses-mail:index:MailIngest", alarms: "ses-mail:index:Alarms", smtp: "ses-mail:index:SmtpCredentials",
};

/**
 * The old URN the stack key answers to: the adopted owner's `<owner>-key` KmsKey, child of the
 * component named `<owner>` (the names createStack gives them). Pure.
 */
export function stackKeyAlias(config: StackConfig): { name: string; parentName: string; parentType: string } {
    const owner = adoptedKeyOwner(config);
    return { name: `${owner}-key`, parentName: owner, parentType: KEY_OWNER_TYPES[owner] };
}

/** The stack's one key (`ses-mail:kms.mode` migrating or shared), taking over the adopted component's key. */
function createStackKey(config: StackConfig): KmsKey | undefined {
    if (config.kms.mode === "per-component") return undefined;
    const alias = stackKeyAlias(config);
    return stackKmsKey("stack-key", {
        env: config.environment,
        namePrefix: config.namePrefix,
        // Always: SMTP_USER# ciphertexts (and IAM users) outlive `smtp.enabled: false`.
        credentialAdminArns: config.smtp.adminPrincipalArns ?? [],
        deployerPrincipalArns: config.smtp.deployerPrincipalArns,
        // The component and each child answer to their old URNs by aliases of their own (not only the
        // child aliases Pulumi derives from the component's): an `up` interrupted between the
        // component's step and the key's leaves the next `up` still updating the old key in place.
        adopts: { name: alias.name, parentUrn: pulumi.createUrn(alias.parentName, alias.parentType) },
    });
}

/** What a key-owning component gets: the stack key, and while migrating, whether to keep its old key declared. */
function keyArgs(config: StackConfig, stackKey: KmsKey | undefined, owner: KeyOwner): { kmsKeyArn?: pulumi.Output<string>; retainOwnKey?: boolean } {
    if (stackKey === undefined) return {};
    return { kmsKeyArn: stackKey.arn, retainOwnKey: config.kms.mode === "migrating" && owner !== adoptedKeyOwner(config) };
}

/** The whole system for one environment. Each component joins here as it lands. */
export function createStack(config: StackConfig) {
    // What every component that keeps data or runs functions takes from the stack's top-level settings.
    const shared = {
        env: config.environment,
        namePrefix: config.namePrefix,
        homeRegion: config.homeRegion,
        logRetentionDays: config.logRetentionDays,
        deletionProtection: config.deletionProtection,
        hashAddressesInLogs: config.hashAddressesInLogs,
    };
    const stackKey = createStackKey(config);
    const suppression = new SuppressionStore("suppression", {
        ...shared,
        ...config.suppression,
    });
    const feedback = new FeedbackPipeline("feedback", {
        ...shared,
        suppressionStore: suppression,
        ...config.feedback,
        ...keyArgs(config, stackKey, "feedback"),
    });
    const ingest = config.ingest.domains.length > 0
        ? new MailIngest("ingest", {
            ...shared,
            suppressionStore: suppression,
            // Sending and receiving share identities: one per domain, whoever creates it.
            mailDomains: feedback.mailDomains,
            // SMTP_USER# records live in the routing table; the credential manager reads its stream.
            routingTableStream: config.smtp.enabled,
            // Token alerts reach the operators by default.
            tokenAlertTopicArn: config.alarms.topicArn,
            tokenAlertEmails: config.alarms.emails,
            tokenAlertHttpsEndpoints: config.alarms.httpsEndpoints,
            tokenWarningAlarms: config.alarms.warnings,
            ...config.ingest,
            ...keyArgs(config, stackKey, "ingest"),
        })
        : undefined;
    const { enabled: smtpEnabled, ...smtpArgs } = config.smtp;
    const smtp = smtpEnabled
        ? new SmtpCredentials("smtp", {
            ...shared,
            table: ingest?.routingTable,
            identityArns: feedback.mailDomains.map((domain) => domain.identityArn),
            // The identities' default configuration set: SES authorizes a send against it too.
            configurationSetArns: [feedback.configurationSet.arn],
            // A restricted sender's SMTP users are disabled (issue #15 point 6).
            senderReputation: { tableName: feedback.sendersTable.name, tableArn: feedback.sendersTable.arn, notificationsTopicArn: feedback.notificationsTopic.arn },
            ...smtpArgs,
            ...keyArgs(config, stackKey, "smtp"),
        })
        : undefined;
    // Every queue, DLQ, function, pipe and state machine of the stack is watched.
    const queues = { feedback: feedback.queue, ...(ingest ? { input: ingest.inputQueue, forwarder: ingest.forwarderQueue, "forwarder-retry": ingest.retryQueue, bouncer: ingest.bouncerQueue } : {}) };
    const deadLetterQueues = {
        ...Object.fromEntries(Object.entries(queues).map(([label, queue]) => [label, queue.dlq.name])),
        ...(suppression.mirrorDlq ? { "suppression-mirror": suppression.mirrorDlq.name } : {}),
        ...(ingest ? { "routing-events": ingest.routingEventsDlq.name } : {}),
        ...(smtp ? { "smtp-credential-manager": smtp.failures.name } : {}),
    };
    const functions = [suppression.mirror, feedback.worker, ingest?.router, ingest?.forwarder, ingest?.bouncer, ...(ingest?.tokenMonitors.map((m) => m.probe) ?? []), smtp?.manager].filter((fn) => fn !== undefined);
    const { emails, httpsEndpoints, topicArn, nameSuffix, ...alarmSettings } = config.alarms;
    // The emergency brake and the send-quota check; their alarms publish to the alarm topic too.
    const guardArgs = { env: config.environment, namePrefix: config.namePrefix, resumeCommand: `npx ses-mail sending resume --stack ${pulumi.getStack()} --reason "<why it is safe again>"`, warnings: config.alarms.warnings, ...config.sending };
    const alarms = new Alarms("alarms", {
        otherPublishingAlarmNames: sendingGuardAlarmNames(resolveSendingGuardSettings(guardArgs)),
        env: config.environment,
        namePrefix: config.namePrefix,
        alarmTopicArn: topicArn,
        alarmEmails: emails,
        alarmHttpsEndpoints: httpsEndpoints,
        alarmNameSuffix: nameSuffix,
        queues: Object.fromEntries(Object.entries(queues).map(([label, queue]) => [label, queue.name])),
        queuePurposes: Object.fromEntries(Object.entries(queues).map(([label, queue]) => [label, queue.purpose])),
        deadLetterQueues,
        functions: Object.fromEntries(functions.map((fn) => [fn.label, fn.functionName])),
        pipes: ingest ? { router: ingest.pipe.name } : {},
        stateMachines: ingest ? { "retry-drain": ingest.retryDrain.arn } : {},
        ...alarmSettings,
        ...keyArgs(config, stackKey, "alarms"),
    });
    const sendingGuard = new SendingGuard("sending", {
        ...shared,
        ...guardArgs,
        configurationSetName: feedback.configurationSetName,
        sendersTableName: feedback.sendersTable.name,
        sendersTableArn: feedback.sendersTable.arn,
        alarmTopicArn: alarms.topicArn,
        alarmTopicKmsKeyArn: alarms.topicKmsKeyArn,
    });
    const dashboard = new OperationsDashboard("dashboard", {
        env: config.environment,
        namePrefix: config.namePrefix,
        functions: Object.fromEntries(functions.map((fn) => [fn.label, fn.functionName])),
        queues: Object.fromEntries(Object.entries(queues).map(([label, queue]) => [label, queue.name])),
        deadLetterQueues,
        gmailAccounts: config.ingest.gmailAccounts,
    });
    new SavedQueries("queries", {
        env: config.environment,
        namePrefix: config.namePrefix,
        logGroups: {
            ...Object.fromEntries(functions.map((fn) => [fn.label, fn.logGroup.name])),
            ...(ingest ? { pipe: ingest.pipeLogGroup.name } : {}),
        },
    });
    // Every DLQ SQS does not redrive into a source queue of `queues`.
    const otherDlqs = { "suppression-mirror": suppression.mirrorDlq, "routing-events": ingest?.routingEventsDlq, "smtp-credential-manager": smtp?.failures, "sending-brake": sendingGuard.brakeDlq };
    const runbooks = new Runbooks("runbooks", {
        env: config.environment,
        namePrefix: config.namePrefix,
        homeRegion: config.homeRegion,
        queues: {
            ...Object.fromEntries(Object.entries(queues).map(([label, q]) => [label, { queueUrl: q.url, queueArn: q.arn, dlqUrl: q.dlq.url, dlqArn: q.dlq.arn }])),
            // The DLQs without a source queue (stream, EventBridge and brake failures): checked, never redriven.
            // The same list as the stack's deadLetterQueues output, so the health check covers every DLQ.
            ...Object.fromEntries(Object.entries(deadLetterQueueOutputs({}, otherDlqs)).map(([label, d]) => [label, { dlqUrl: d.url, dlqArn: d.arn }])),
        },
    });
    return {
        dlqRedriveRunbook: runbooks.redrive.name,
        queueHealthRunbook: runbooks.healthCheck.name,
        // Every DLQ by label, with the queue SQS redrives into it (none for EventBridge and stream DLQs): `ses-mail dlq --outputs` reads it.
        deadLetterQueues: deadLetterQueueOutputs(queues, otherDlqs),
        alarmTopicArn: alarms.topicArn,
        // The stack's one KMS key (ses-mail:kms.mode migrating or shared).
        stackKmsKeyArn: stackKey?.arn,
        dashboardUrl: dashboard.url,
        ...(ingest ? ingestOutputs(ingest) : {}),
        ...(smtp ? {
            smtpEndpoint: smtp.smtpEndpoint,
            smtpPorts: smtp.smtpPorts,
            spfRecord: smtp.spfRecord,
            smtpCredentialsTableName: smtp.tableName,
            smtpCredentialsKmsKeyArn: smtp.kmsKeyArn,
            smtpCredentialManagerFunction: smtp.functionName,
        } : {}),
        configurationSetName: feedback.configurationSetName,
        feedbackQueueUrl: feedback.queue.url,
        feedbackDlqUrl: feedback.queue.dlq.url,
        feedbackEventsTableName: feedback.eventsTable.name,
        senderReputationTableName: feedback.sendersTable.name,
        senderNotificationsTopicArn: feedback.notificationsTopic.arn,
        feedbackWorkerFunction: feedback.worker?.functionName,
        sendingBrakeFunction: sendingGuard.brake?.functionName,
        sendQuotaFunction: sendingGuard.quota?.functionName,
        externalConsumerRoleArn: feedback.externalConsumerRole?.arn,
        // What `ses-mail feedback manifests` needs for the ServiceAccount and Deployment of an external consumer.
        externalConsumer: config.feedback.externalConsumer && feedback.externalConsumerRole ? {
            roleArn: feedback.externalConsumerRole.arn,
            namespace: config.feedback.externalConsumer.namespace,
            serviceAccount: config.feedback.externalConsumer.serviceAccount,
            environment: feedback.externalConsumerEnvironment,
        } : undefined,
        sendingDnsRecords: pulumi.all(feedback.mailDomains.map((domain) => domain.dnsRecords)).apply((records) => records.flat()),
        // Apex SPF and DMARC are not created (the domains may have them): what to merge into them.
        dnsRecordsToMerge: pulumi.all([...feedback.mailDomains.map((domain) => domain.dnsMerges), ...(ingest ? [ingest.dnsMerges] : [])]).apply((merges) => merges.flat()),
        suppressionTableName: suppression.tableName,
        suppressionTableArn: suppression.tableArn,
        suppressionStreamArn: suppression.streamArn,
        suppressionMirrorFunction: suppression.mirror?.functionName,
        suppressionMirrorClaimsTableName: suppression.mirrorClaims?.name,
    };
}

type DlqLike = { name: pulumi.Output<string>; url: pulumi.Output<string>; arn: pulumi.Output<string> };
function deadLetterQueueOutputs(queues: Record<string, DlqLike & { dlq: DlqLike }>, others: Record<string, DlqLike | undefined>) {
    const dlq = (q: DlqLike) => ({ name: q.name, url: q.url, arn: q.arn });
    return {
        ...Object.fromEntries(Object.entries(queues).map(([label, q]) => [label, { ...dlq(q.dlq), sourceQueueUrl: q.url, sourceQueueArn: q.arn }])),
        ...Object.fromEntries(Object.entries(others).filter((entry): entry is [string, DlqLike] => entry[1] !== undefined).map(([label, q]) => [label, dlq(q)])),
    };
}

function ingestOutputs(ingest: MailIngest) {
    const queue = (q: MailIngest["inputQueue"]) => ({ url: q.url, arn: q.arn, dlqUrl: q.dlq.url, dlqArn: q.dlq.arn });
    return {
        mailBucketName: ingest.bucket.bucket,
        inboundTopicArn: ingest.topic.arn,
        inputQueue: queue(ingest.inputQueue),
        gmailForwarderQueue: queue(ingest.forwarderQueue),
        gmailForwarderRetryQueue: queue(ingest.retryQueue),
        bouncerQueue: queue(ingest.bouncerQueue),
        routingEventBusName: ingest.eventBus.name,
        routingPipeArn: ingest.pipe.arn,
        routingTableName: ingest.routingTable.name,
        routerFunction: ingest.router.functionName,
        gmailForwarderFunction: ingest.forwarder.functionName,
        bouncerFunction: ingest.bouncer.functionName,
        retryDrainStateMachineArn: ingest.retryDrain.arn,
        tokenAlertTopicArn: ingest.tokenAlertTopicArn,
        tokenMonitorStateMachineArns: pulumi.all(Object.fromEntries(ingest.tokenMonitors.map((m) => [m.account, m.stateMachine.arn]))),
        receivingDnsRecords: ingest.dnsRecords,
    };
}
