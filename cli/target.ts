// Which SMTP credentials table `ses-mail smtp` works on: a stack (Pulumi.<stack>.yaml), an
// environment (the components' own naming), or the stack's outputs (`pulumi stack output --json`).
// SmtpCredentials keeps its records in MailIngest's routing table when the stack receives mail
// (stacks/program.ts passes `table: ingest?.routingTable`), else in its own table.
import * as fs from "node:fs";
import * as path from "node:path";
import { dlqQueueName, dlqSourceQueueName, DlqSpec, dlqSpec, STACK_DLQS, stackDlqs } from "../components/dlq-catalog";
import { DEFAULT_PREFIX, physicalName } from "../components/naming";
import type { StackConfig } from "../stacks/config";
import { readStackFile } from "../stacks/stack-file";
import { UsageError } from "./errors";
import { checkTargetOptions, ROUTING_TABLE_PURPOSE, stackConfigForCli, TargetOptions } from "./rules-target";

export { checkTargetOptions };

/** SmtpCredentials' own table purpose (components/smtp-credentials.ts). */
export const SMTP_TABLE_PURPOSE = "smtp-credentials";

export interface SmtpTargetOptions extends TargetOptions {
    /** With --env: the stack has no ingest domains, so the records are in SmtpCredentials' own table. */
    ownTable?: boolean;
}

export interface SmtpTarget {
    tableName: string;
    /** undefined: the SDK's own (AWS_REGION, profile). */
    region?: string;
    /** Domains of the stack's SES identities (feedback.domains) when the stack file says; else unknown. */
    senderDomains?: string[];
    notes: string[];
}

export function smtpTarget(options: SmtpTargetOptions, cwd: string): SmtpTarget {
    const kind = checkTargetOptions(options);
    if (options.ownTable && kind !== "env") throw new UsageError("--own-table goes with --env.");
    if (kind === "stack") return fromStack(options.stack!, options.projectDir ?? cwd, options.region);
    if (kind === "env") {
        const purpose = options.ownTable ? SMTP_TABLE_PURPOSE : ROUTING_TABLE_PURPOSE;
        return { tableName: tableName(purpose, options.env!, options.namePrefix ?? DEFAULT_PREFIX), region: options.region, notes: [] };
    }
    return fromOutputs(options.outputs!, cwd, options.region);
}

function tableName(purpose: string, env: string, prefix: string): string {
    try {
        return physicalName("dynamodbTable", { purpose, env, prefix });
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
}

function fromStack(stack: string, dir: string, region: string | undefined): SmtpTarget {
    const file = readStackFile(stack, dir);
    // Without the file it is unknown whether the stack receives mail, hence which table holds the records.
    if (!file) throw new UsageError(`No Pulumi.${stack}.yaml in ${dir}: give --project-dir, or --env ${stack} [--own-table], or --outputs <file>.`);
    const config = stackConfigForCli(file, stack);
    if (!config.smtp.enabled) throw new UsageError(`Pulumi.${stack}.yaml does not set ses-mail:smtp.enabled: this stack has no SMTP users.`);
    const ingest = config.ingest;
    return {
        tableName: ingest.domains.length > 0
            ? ingest.routingTableName ?? tableName(ROUTING_TABLE_PURPOSE, config.environment, config.namePrefix)
            : tableName(SMTP_TABLE_PURPOSE, config.environment, config.namePrefix),
        region: region ?? file["aws:region"],
        senderDomains: config.feedback.domains,
        notes: [],
    };
}

function fromOutputs(file: string, cwd: string, region: string | undefined): SmtpTarget {
    const full = path.resolve(cwd, file);
    let outputs: Record<string, unknown> | undefined;
    try {
        outputs = JSON.parse(fs.readFileSync(full, "utf8"));
    } catch (error) {
        throw new UsageError(`Cannot read ${file} as the stack's outputs (${(error as Error).message}): write it with pulumi stack output --json > ${file}.`);
    }
    const name = outputs?.smtpCredentialsTableName;
    if (typeof name !== "string" || name === "") {
        throw new UsageError(`${file} has no smtpCredentialsTableName: the stack has no SmtpCredentials (ses-mail:smtp.enabled), or the file is not pulumi stack output --json.`);
    }
    // The stack's ARNs carry its region (arn:<partition>:<service>:<region>:…).
    const arn = Object.values(outputs!).find((v): v is string => typeof v === "string" && /^arn:[^:]+:[^:]+:[a-z0-9-]+:/.test(v));
    return { tableName: name, region: region ?? arn?.split(":")[3], notes: [] };
}

// ---- `ses-mail dlq` and `ses-mail dns`: the stack's DLQs and the records its domains need ----

/** The JSON of `pulumi stack output --json`, and the region its ARNs carry (arn:<partition>:<service>:<region>:…). */
export function readOutputs(file: string, cwd: string): { outputs: Record<string, unknown>; region?: string } {
    let outputs: unknown;
    try {
        outputs = JSON.parse(fs.readFileSync(path.resolve(cwd, file), "utf8"));
    } catch (error) {
        throw new UsageError(`Cannot read ${file} as the stack's outputs (${(error as Error).message}): write it with pulumi stack output --json > ${file}.`);
    }
    if (typeof outputs !== "object" || outputs === null || Array.isArray(outputs)) throw new UsageError(`${file} is not pulumi stack output --json (not a JSON object).`);
    const strings = (value: unknown): string[] => typeof value === "string" ? [value] : typeof value === "object" && value !== null ? Object.values(value).flatMap(strings) : [];
    const arn = strings(outputs).find((v) => /^arn:[^:]+:[^:]+:[a-z0-9-]+:/.test(v));
    return { outputs: outputs as Record<string, unknown>, region: arn?.split(":")[3] };
}

function stackConfigOf(stack: string, dir: string) {
    const file = readStackFile(stack, dir);
    if (!file) return undefined;
    return { file, config: stackConfigForCli(file, stack) };
}

/** One DLQ of the deployment; url and arn when the outputs say (else looked up by name). */
export interface DlqRef {
    spec: DlqSpec;
    name: string;
    url?: string;
    arn?: string;
    /** The queue SQS redrives into it (sqs-source DLQs). */
    source?: { name: string; url?: string; arn?: string };
}

export interface DlqTarget {
    region?: string;
    dlqs: DlqRef[];
    /** With --env the stack's parts are unknown: every possible DLQ is listed, and those that do not exist are skipped. */
    guessed: boolean;
    notes: string[];
}

const queueNameOf = (url: string) => url.replace(/\/+$/, "").split("/").pop()!;

/** The DLQs from the components' own catalog and naming (--stack, --env) or from the deadLetterQueues output (--outputs). */
export function dlqTarget(options: TargetOptions, cwd: string): DlqTarget {
    const kind = checkTargetOptions(options);
    const named = (specs: readonly DlqSpec[], env: string, prefix: string): DlqRef[] => specs.map((spec) => {
        try {
            const source = dlqSourceQueueName(spec, env, prefix);
            return { spec, name: dlqQueueName(spec, env, prefix), ...(source ? { source: { name: source } } : {}) };
        } catch (error) {
            throw new UsageError((error as Error).message);
        }
    });
    if (kind === "env") return { region: options.region, dlqs: named(STACK_DLQS, options.env!, options.namePrefix ?? DEFAULT_PREFIX), guessed: true, notes: [] };
    if (kind === "stack") {
        const dir = options.projectDir ?? cwd;
        const read = stackConfigOf(options.stack!, dir);
        if (!read) {
            return {
                region: options.region, dlqs: named(STACK_DLQS, options.stack!, DEFAULT_PREFIX), guessed: true,
                notes: [`(No Pulumi.${options.stack}.yaml in ${dir}: assuming environment "${options.stack}" and name prefix "${DEFAULT_PREFIX}"; DLQs that do not exist are skipped.)`],
            };
        }
        const { file, config } = read;
        const brake = (config as { sending?: { brake?: boolean } }).sending?.brake !== false;
        const specs = stackDlqs({ feedback: true, ingest: config.ingest.domains.length > 0, smtp: config.smtp.enabled, "suppression-mirror": config.suppression.mirrorToSes === true, "sending-brake": brake });
        return { region: options.region ?? file["aws:region"], dlqs: named(specs, config.environment, config.namePrefix), guessed: false, notes: [] };
    }
    const { outputs, region } = readOutputs(options.outputs!, cwd);
    const ref = (label: string, q: { url?: unknown; arn?: unknown; sourceQueueUrl?: unknown; sourceQueueArn?: unknown }): DlqRef | undefined => {
        if (typeof q.url !== "string") return undefined;
        const spec = dlqSpec(label) ?? { label, purpose: queueNameOf(q.url), origin: "feedback", redrive: { kind: "sqs-source", sourcePurpose: "" }, holds: "(not a DLQ this version knows)" };
        const source = typeof q.sourceQueueUrl === "string"
            ? { name: queueNameOf(q.sourceQueueUrl), url: q.sourceQueueUrl, ...(typeof q.sourceQueueArn === "string" ? { arn: q.sourceQueueArn } : {}) }
            : undefined;
        return { spec, name: queueNameOf(q.url), url: q.url, ...(typeof q.arn === "string" ? { arn: q.arn } : {}), ...(source ? { source } : {}) };
    };
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
    if (isObject(outputs.deadLetterQueues)) {
        const dlqs = Object.entries(outputs.deadLetterQueues).flatMap(([label, q]) => (isObject(q) ? [ref(label, q)] : [])).filter((d): d is DlqRef => d !== undefined);
        return { region: options.region ?? region, dlqs, guessed: false, notes: [] };
    }
    // Outputs of a stack deployed before deadLetterQueues existed: the queues it did output.
    const legacy: [string, unknown][] = [
        ["feedback", { url: outputs.feedbackDlqUrl, sourceQueueUrl: outputs.feedbackQueueUrl }],
        ...([["input", "inputQueue"], ["forwarder", "gmailForwarderQueue"], ["forwarder-retry", "gmailForwarderRetryQueue"], ["bouncer", "bouncerQueue"]] as const)
            .map(([label, key]): [string, unknown] => [label, isObject(outputs[key]) ? { url: outputs[key].dlqUrl, arn: outputs[key].dlqArn, sourceQueueUrl: outputs[key].url, sourceQueueArn: outputs[key].arn } : {}]),
    ];
    const dlqs = legacy.map(([label, q]) => ref(label, q as Record<string, unknown>)).filter((d): d is DlqRef => d !== undefined);
    if (dlqs.length === 0) throw new UsageError(`${options.outputs} has no deadLetterQueues (nor feedbackDlqUrl): is it pulumi stack output --json of a ses-mail stack?`);
    return {
        region: options.region ?? region, dlqs, guessed: false,
        notes: [`(${options.outputs} has no deadLetterQueues output: only the DLQs it names are shown; pulumi up with this version adds the routing-events, SMTP manager and suppression mirror DLQs.)`],
    };
}

/** Where `ses-mail dns check` takes the expected records from: the outputs, or the stack file (no DKIM tokens). */
export type DnsTarget =
    | { kind: "outputs"; outputs: Record<string, unknown>; region?: string; notes: string[] }
    | { kind: "stack"; config: StackConfig; region?: string; notes: string[] };

export function dnsTarget(options: TargetOptions, cwd: string): DnsTarget {
    const kind = checkTargetOptions(options);
    if (kind === "env") throw new UsageError("dns check needs the stack's domains: give --stack <name> (Pulumi.<name>.yaml) or --outputs <file> (pulumi stack output --json), not --env.");
    if (kind === "outputs") {
        const { outputs, region } = readOutputs(options.outputs!, cwd);
        return { kind: "outputs", outputs, region: options.region ?? region, notes: [] };
    }
    const dir = options.projectDir ?? cwd;
    const read = stackConfigOf(options.stack!, dir);
    if (!read) throw new UsageError(`No Pulumi.${options.stack}.yaml in ${dir}: give --project-dir, or --outputs <file> (pulumi stack output --json).`);
    return { kind: "stack", config: read.config, region: options.region ?? read.file["aws:region"], notes: [] };
}

// ---- `ses-mail suppression`: SuppressionStore's table, and whether the stack mirrors it into SES ----

/** SuppressionStore's default table name: env-independent, the runbooks' name (components/suppression-store.ts; a test keeps them equal). */
export const DEFAULT_SUPPRESSION_TABLE = "ses-email-suppression-list";
/** The purpose SuppressionStore names its mirror's claims table with (a test keeps them equal). */
export const SUPPRESSION_CLAIMS_PURPOSE = "suppression-mirror-claims";

export interface SuppressionTargetOptions extends TargetOptions {
    /** With --env: the table name a program gave SuppressionStore (its default does not depend on the environment). */
    table?: string;
}

export interface SuppressionTarget {
    tableName: string;
    region?: string;
    /** suppression.mirrorToSes when the stack file or outputs say; undefined with --env (the claims table tells). */
    mirrorToSes?: boolean;
    /** The mirror's claims table (which SES entries the stack put); undefined when the stack does not mirror. */
    claimsTableName?: string;
    notes: string[];
}

export function suppressionTarget(options: SuppressionTargetOptions, cwd: string): SuppressionTarget {
    const kind = checkTargetOptions(options);
    if (options.table !== undefined && kind !== "env") throw new UsageError("--table goes with --env.");
    const claims = (env: string, prefix: string) => {
        try {
            return physicalName("dynamodbTable", { purpose: SUPPRESSION_CLAIMS_PURPOSE, env, prefix });
        } catch (error) {
            throw new UsageError((error as Error).message);
        }
    };
    if (kind === "env") {
        return {
            tableName: options.table ?? DEFAULT_SUPPRESSION_TABLE, region: options.region, claimsTableName: claims(options.env!, options.namePrefix ?? DEFAULT_PREFIX),
            // The default name is the same for every environment: say which table this is, so --env test never edits prod's list unnoticed.
            notes: options.table ? [] : [`(--env: SuppressionStore's default table ${DEFAULT_SUPPRESSION_TABLE}, the same for every environment; --table <name> when the program sets tableName.)`],
        };
    }
    if (kind === "stack") {
        const dir = options.projectDir ?? cwd;
        const read = stackConfigOf(options.stack!, dir);
        // Without the file the table name (suppression.tableName) is unknown, and the default may be another stack's list.
        if (!read) throw new UsageError(`No Pulumi.${options.stack}.yaml in ${dir}: give --project-dir, or --env <env> [--table <name>], or --outputs <file>.`);
        const { file, config } = read;
        const mirrorToSes = config.suppression.mirrorToSes === true;
        return {
            tableName: config.suppression.tableName ?? DEFAULT_SUPPRESSION_TABLE, region: options.region ?? file["aws:region"], mirrorToSes,
            claimsTableName: mirrorToSes ? claims(config.environment, config.namePrefix) : undefined, notes: [],
        };
    }
    const { outputs, region } = readOutputs(options.outputs!, cwd);
    const name = outputs.suppressionTableName;
    if (typeof name !== "string" || name === "") throw new UsageError(`${options.outputs} has no suppressionTableName: is it pulumi stack output --json of a ses-mail stack?`);
    const claimsTable = outputs.suppressionMirrorClaimsTableName;
    const mirrorToSes = typeof outputs.suppressionMirrorFunction === "string";
    return { tableName: name, region: options.region ?? region, mirrorToSes, claimsTableName: mirrorToSes && typeof claimsTable === "string" ? claimsTable : undefined, notes: [] };
}
