// Which deployment `ses-mail health`, `report` and `selftest` look at: every name they need, from the
// stack file (`--stack`) or the components' own naming (`--env`), through the resolvers the other
// commands use (dlqTarget, sendingTarget, suppressionTarget, sendersTarget), so they cannot disagree.
import { DEFAULT_RATE_ALARMS, ROUTER_SERVICE } from "../components/alarm-specs";
import { dlqSourceQueueName, STACK_DLQS } from "../components/dlq-catalog";
import * as naming from "../components/naming";
import * as config from "../stacks/config";
import * as stackFile from "../stacks/stack-file";
import { UsageError } from "./errors";
import type { TargetOptions } from "./rules-target";
import * as senders from "./senders";
import { SendingTarget, sendingTarget } from "./sending-target";
import type { StackSettings } from "./stack-settings";
import * as target from "./target";

const { DEFAULT_PREFIX, gmailParameterPrefix, physicalName, RETRY_DRAIN_PURPOSE } = naming;
type StackConfig = config.StackConfig;
/** The forwarder's function purpose (components/mail-ingest-gmail.ts). */
const FORWARDER_PURPOSE = "gmail-forwarder";

/** The runbooks' daily check: more suppression additions than this in 24 h → investigate. */
export const SUPPRESSIONS_PER_DAY_INVESTIGATE = 10;
/** The mailbox simulator's domain (SES Developer Guide, "Using the mailbox simulator manually"). */
export const SIMULATOR_DOMAIN = "simulator.amazonses.com";

export interface OpsTargetOptions extends TargetOptions {
    /** With --env (or a stack without its file): Gmail accounts whose tokens to check. */
    account?: string[];
}

export interface OpsTarget {
    env: string;
    namePrefix: string;
    region?: string;
    /** How to name this deployment on a command line. */
    selector: string;
    /** The stack file's config; undefined with --env (or no file): parts of the stack are then unknown. */
    config?: StackConfig;
    dlq: target.DlqTarget;
    sending: SendingTarget;
    suppression: target.SuppressionTarget;
    senders: senders.SendersTarget;
    /** What `token status` reads (parameter prefix), with the accounts to check. */
    tokens: StackSettings;
    /** The main queues: the sources SQS redrives each DLQ of the catalog from. */
    queues: { label: string; name: string }[];
    /** The receipt rule this stack adds, and the set it should be in (undefined: whichever is active); undefined when the stack receives no mail. */
    receiving?: { ruleName: string; ruleSetName?: string };
    /** SES identities (domains) the stack sends or receives with. */
    identities: string[];
    eventsTableName: string;
    /** Metrics namespace of the stack's functions, the feedback worker's `service` dimension, and where applications publish send outcomes. */
    namespace: string;
    feedbackService: string;
    applicationNamespace: string;
    queueAgeSeconds: number;
    /** Log groups of the router and the Gmail forwarder (LambdaFunction names its group /aws/lambda/<function name>). */
    logGroups: { router: string; forwarder: string };
    /** The message tag that names the sender, when the stack uses one. */
    senderTag?: string;
    notes: string[];
}

function named(service: Parameters<typeof physicalName>[0], purpose: string, env: string, prefix: string): string {
    try {
        return physicalName(service, { purpose, env, prefix });
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
}

/** The function LambdaFunction creates for `purpose`, and its log group (components/lambda-function.ts). */
export function functionLogGroup(purpose: string, env: string, prefix: string): string {
    return `/aws/lambda/${named("lambda", purpose, env, prefix)}`;
}

export function opsTarget(options: OpsTargetOptions, cwd: string): OpsTarget {
    const kind = target.checkTargetOptions(options);
    if (kind === "outputs") {
        throw new UsageError("This command reads several parts of the stack (alarms, queues, tables, log groups): give --stack <name> (Pulumi.<name>.yaml) or --env <env> [--name-prefix <p>], not --outputs.");
    }
    const file = kind === "stack" ? stackFile.readStackFile(options.stack!, options.projectDir ?? cwd) : undefined;
    let stackConfig: StackConfig | undefined;
    if (file) {
        try {
            stackConfig = config.stackConfigFrom(file, options.stack!);
        } catch (error) {
            if (error instanceof config.StackConfigError) throw new UsageError(error.message);
            throw error;
        }
    }
    const env = stackConfig?.environment ?? (kind === "env" ? options.env! : options.stack!);
    const namePrefix = stackConfig?.namePrefix ?? options.namePrefix ?? DEFAULT_PREFIX;
    const region = options.region ?? file?.["aws:region"];
    const notes: string[] = [];
    if (kind === "stack" && !file) notes.push(`(No Pulumi.${options.stack}.yaml in ${options.projectDir ?? cwd}: assuming environment "${env}" and name prefix "${namePrefix}"; parts of the stack only its file describes are not checked.)`);
    // Without the file, the other resolvers take the same names from --env.
    const byEnv: TargetOptions = file ? options : { env, namePrefix: namePrefix === DEFAULT_PREFIX ? undefined : namePrefix, region };
    const dlq = target.dlqTarget(byEnv, cwd);
    const sending = sendingTarget(byEnv, cwd);
    const suppression = target.suppressionTarget(byEnv, cwd);
    const senderTables = senders.sendersTarget({ target, naming, stackFile, config } as unknown as Parameters<typeof senders.sendersTarget>[0], byEnv, cwd);
    notes.push(...suppression.notes);
    const queues = dlq.dlqs.flatMap((ref) => (ref.source ? [{ label: ref.spec.label, name: ref.source.name }] : []));
    const ingest = stackConfig?.ingest;
    const receives = ingest ? ingest.domains.length > 0 : true;
    const accounts = options.account?.map((a) => a.trim().toLowerCase()) ?? ingest?.gmailAccounts ?? [];
    return {
        env, namePrefix, region, config: stackConfig,
        selector: file ? `--stack ${options.stack}` : `--env ${env}${namePrefix === DEFAULT_PREFIX ? "" : ` --name-prefix ${namePrefix}`}`,
        dlq, sending, suppression, senders: senderTables,
        tokens: {
            stack: options.stack ?? env, env, namePrefix, region, gmailAccounts: accounts, fromFile: file !== undefined,
            parameterPrefix: gmailParameterPrefix(env, namePrefix), namespace: `SESMail/${env}`,
            retryDrainName: named("sfnStateMachine", RETRY_DRAIN_PURPOSE, env, namePrefix),
        },
        // With --env every queue of the catalog is a candidate (those that do not exist are skipped).
        queues: queues.length > 0 || !dlq.guessed ? queues : STACK_DLQS.flatMap((spec) => {
            const source = dlqSourceQueueName(spec, env, namePrefix);
            return source ? [{ label: spec.label, name: source }] : [];
        }),
        receiving: receives ? {
            ruleName: named("sesReceiptRule", "inbound", env, namePrefix),
            // join: the set named, else whichever is active; own/takeover: the set named, else the stack's own.
            ruleSetName: ingest?.ruleSetName ?? (ingest && (ingest.ruleSetMode ?? "join") !== "join" ? named("sesReceiptRule", "receipt-rules", env, namePrefix) : undefined),
        } : undefined,
        identities: [...new Set([...(stackConfig?.feedback.domains ?? []), ...(ingest?.domains ?? [])])],
        eventsTableName: senderTables.eventsTableName,
        namespace: `SESMail/${env}`,
        feedbackService: DEFAULT_RATE_ALARMS.feedbackService,
        applicationNamespace: stackConfig?.alarms.applicationNamespace ?? `SESMail/${env}/Application`,
        queueAgeSeconds: stackConfig?.alarms.queueAgeSeconds ?? 300,
        logGroups: { router: functionLogGroup(ROUTER_SERVICE, env, namePrefix), forwarder: functionLogGroup(FORWARDER_PURPOSE, env, namePrefix) },
        senderTag: stackConfig?.feedback.senderTag,
        notes,
    };
}
