// Which deployment `ses-mail rules` works on: a stack (Pulumi.<stack>.yaml), an environment (the
// components' own naming), or the stack's outputs (`pulumi stack output --json`). No Pulumi CLI or state.
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_PREFIX, physicalName } from "../components/naming";
import { DEFAULT_ROUTER_SETTINGS, RouterSettings } from "../functions/router/decide";
import { StackConfigError, stackConfigFrom } from "../stacks/config";
import { readStackFile } from "../stacks/stack-file";
import { UsageError } from "./errors";
import type { KnownAccounts } from "./rules-items";

/** MailIngest's routing table purpose (components/mail-ingest-routing.ts names it so; a test keeps them equal). */
export const ROUTING_TABLE_PURPOSE = "email-routing";

export interface TargetOptions {
    stack?: string;
    projectDir?: string;
    env?: string;
    namePrefix?: string;
    outputs?: string;
    region?: string;
}

export interface RulesTarget {
    tableName: string;
    /** undefined: the SDK's own (AWS_REGION, profile). */
    region?: string;
    /** Gmail accounts rules may forward to, when the stack file says. */
    accounts?: KnownAccounts;
    /** The router's settings for explain, and whether they were read or assumed. */
    settings: RouterSettings;
    settingsFrom?: string;
    /** Bounce senders of the stack (lowercase), when known: a bounce to them would be backscatter. */
    ownMailerDaemons: string[];
    /** Printed before output when names are assumed. */
    notes: string[];
}

/** Exactly one of --stack, --env and --outputs, with their companions only (every command's rule). */
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

/** The stack file's config; invalid config is a usage error (exit 2) naming the key and the fix. */
export function stackConfigForCli(file: Parameters<typeof stackConfigFrom>[0], stack: string): ReturnType<typeof stackConfigFrom> {
    try {
        return stackConfigFrom(file, stack);
    } catch (error) {
        if (error instanceof StackConfigError) throw new UsageError(error.message);
        throw error;
    }
}

export function rulesTarget(options: TargetOptions, cwd: string): RulesTarget {
    checkTargetOptions(options);
    if (options.stack !== undefined) return fromStack(options.stack, options.projectDir ?? cwd, options.region);
    if (options.env !== undefined) {
        return { tableName: tableName(options.env, options.namePrefix ?? DEFAULT_PREFIX), region: options.region, settings: DEFAULT_ROUTER_SETTINGS, ownMailerDaemons: [], notes: [] };
    }
    return fromOutputs(options.outputs!, cwd, options.region);
}

function tableName(env: string, prefix: string): string {
    try {
        return physicalName("dynamodbTable", { purpose: ROUTING_TABLE_PURPOSE, env, prefix });
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
}

function fromStack(stack: string, dir: string, region: string | undefined): RulesTarget {
    const file = readStackFile(stack, dir);
    if (!file) {
        return {
            tableName: tableName(stack, DEFAULT_PREFIX), region, settings: DEFAULT_ROUTER_SETTINGS, ownMailerDaemons: [],
            notes: [`(No Pulumi.${stack}.yaml in ${dir}: assuming environment "${stack}" and name prefix "${DEFAULT_PREFIX}".)`],
        };
    }
    const config = stackConfigForCli(file, stack);
    const ingest = config.ingest;
    if (ingest.domains.length === 0) {
        throw new UsageError(`Pulumi.${stack}.yaml has no ses-mail:ingest.domains: this stack receives no mail and has no routing table.`);
    }
    const source = `Pulumi.${stack}.yaml`;
    return {
        tableName: ingest.routingTableName ?? tableName(config.environment, config.namePrefix),
        region: region ?? file["aws:region"],
        accounts: { accounts: ingest.gmailAccounts ?? [], source: `ses-mail:ingest.gmailAccounts of ${source}` },
        settings: { defaultAction: ingest.defaultAction ?? DEFAULT_ROUTER_SETTINGS.defaultAction, spamAction: ingest.spamAction ?? DEFAULT_ROUTER_SETTINGS.spamAction },
        settingsFrom: source,
        ownMailerDaemons: ingest.domains.map((domain) => `${ingest.bounceSenderLocalPart ?? "MAILER-DAEMON"}@${domain}`.toLowerCase()),
        notes: [],
    };
}

function fromOutputs(file: string, cwd: string, region: string | undefined): RulesTarget {
    const full = path.resolve(cwd, file);
    let outputs: unknown;
    try {
        outputs = JSON.parse(fs.readFileSync(full, "utf8"));
    } catch (error) {
        throw new UsageError(`Cannot read ${file} as the stack's outputs (${(error as Error).message}): write it with pulumi stack output --json > ${file}.`);
    }
    const name = (outputs as { routingTableName?: unknown })?.routingTableName;
    if (typeof name !== "string" || name === "") {
        throw new UsageError(`${file} has no routingTableName: the stack has no MailIngest (no ses-mail:ingest.domains), or the file is not pulumi stack output --json.`);
    }
    // The stack's ARNs carry its region (arn:<partition>:<service>:<region>:…).
    const arn = Object.values(outputs as Record<string, unknown>).find((v): v is string => typeof v === "string" && /^arn:[^:]+:[^:]+:[a-z0-9-]+:/.test(v));
    return { tableName: name, region: region ?? arn?.split(":")[3], settings: DEFAULT_ROUTER_SETTINGS, ownMailerDaemons: [], notes: [] };
}
