// Which SMTP credentials table `ses-mail smtp` works on: a stack (Pulumi.<stack>.yaml), an
// environment (the components' own naming), or the stack's outputs (`pulumi stack output --json`).
// SmtpCredentials keeps its records in MailIngest's routing table when the stack receives mail
// (stacks/program.ts passes `table: ingest?.routingTable`), else in its own table.
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_PREFIX, physicalName } from "../components/naming";
import { StackConfigError, stackConfigFrom } from "../stacks/config";
import { readStackFile } from "../stacks/stack-file";
import { UsageError } from "./errors";
import { ROUTING_TABLE_PURPOSE, TargetOptions } from "./rules-target";

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

/** Exactly one of --stack, --env and --outputs, with their companions only (the same rules as `ses-mail rules`). */
export function checkTargetOptions(options: TargetOptions): "stack" | "env" | "outputs" {
    const given = (["stack", "env", "outputs"] as const).filter((key) => options[key] !== undefined);
    if (given.length !== 1) {
        throw new UsageError(given.length === 0
            ? "Say which deployment: --stack <name> (reads Pulumi.<name>.yaml), --env <env> [--name-prefix <p>], or --outputs <file> (pulumi stack output --json)."
            : `Give one of --stack, --env and --outputs, not ${given.map((g) => `--${g}`).join(" and ")}.`);
    }
    if (options.namePrefix !== undefined && options.env === undefined) throw new UsageError("--name-prefix goes with --env.");
    if (options.projectDir !== undefined && options.stack === undefined) throw new UsageError("--project-dir goes with --stack.");
    return given[0];
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
    let config;
    try {
        config = stackConfigFrom(file, stack);
    } catch (error) {
        if (error instanceof StackConfigError) throw new UsageError(error.message);
        throw error;
    }
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
