// The `ses-mail` command (package bin): `token refresh` and `token status` for the Gmail
// forwarder's OAuth refresh tokens; `rules …` for the routing rules.
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { OAuthEndpoints } from "../functions/shared/google-client";
import { openInBrowser } from "./browser";
import { CliError, collect, usageExit } from "./errors";
// Only types at the top: the modules behind the commands (AWS SDK clients, googleapis, the zod schemas
// of stacks/config) load when a command runs, so `--help` and `--version` start fast.
import type { AddOptions, ExitCode, RulesContext, SetOptions } from "./rules";
import type { TargetOptions } from "./rules-target";
import { smtpCommands } from "./smtp";
import { suppressionCommands } from "./suppression";
import { sendingCommands } from "./sending";
import { dlqCommands } from "./dlq";
import { dnsCommands } from "./dns";
import { sendersCommands } from "./senders";
import { costCommand } from "./cost";
import { feedbackCommands } from "./feedback";
import { healthCommand } from "./health";
import { reportCommand } from "./report";
import { selftestCommand } from "./selftest";
import type { StackSettings } from "./stack-settings";

export interface CliDeps {
    stdout(text: string): void;
    stderr(text: string): void;
    openBrowser(url: string): boolean;
    /** Google's OAuth endpoints unless set (tests point them at a local fake). */
    oauthEndpoints: OAuthEndpoints;
    now(): Date;
    /** Where Pulumi.<stack>.yaml is looked for. */
    cwd: string;
    /** Asks before a destructive step; false when declined or when there is no terminal to ask. */
    confirm(question: string): Promise<boolean>;
    /** DNS lookups of `dns check`: node:dns/promises' Resolver unless set (tests use a stub). */
    resolver?: import("./dns").DnsResolver;
}

async function askOnTerminal(question: string): Promise<boolean> {
    if (!process.stdin.isTTY) return false;
    const terminal = createInterface({ input: process.stdin, output: process.stderr });
    try {
        return /^y(es)?$/i.test((await terminal.question(`${question} [y/N] `)).trim());
    } finally {
        terminal.close();
    }
}

const DEFAULT_DEPS: CliDeps = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    openBrowser: openInBrowser,
    oauthEndpoints: {},
    now: () => new Date(),
    cwd: process.cwd(),
    confirm: askOnTerminal,
};

/** The installed package's version: the package resolves itself by name (its "exports" lists
 * ./package.json), the same from cli/ under tsx and from dist/cli/ when compiled. */
export function packageVersion(): string {
    return (JSON.parse(readFileSync(require.resolve("@ses-mail/pulumi/package.json"), "utf8")) as { version: string }).version;
}

const port = (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("a port number (0-65535; 0 picks a free one).");
    return n;
};
const seconds = (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a positive number of seconds.");
    return n;
};

function program(deps: CliDeps, result: { exitCode: number }): Command {
    const print = (line: string) => deps.stdout(`${line}\n`);
    const settingsOf = async (options: { stack: string; region?: string; projectDir?: string }): Promise<StackSettings> => {
        const { stackSettings } = await import("./stack-settings");
        const settings = stackSettings(options.stack, options.projectDir ?? deps.cwd, options.region);
        if (!settings.fromFile) print(`(No Pulumi.${options.stack}.yaml in ${options.projectDir ?? deps.cwd}: assuming environment "${settings.env}" and name prefix "${settings.namePrefix}".)`);
        return settings;
    };
    const common = (command: Command) => command
        .requiredOption("--stack <name>", "Pulumi stack (reads Pulumi.<stack>.yaml for the environment, region and accounts)")
        .option("--account <gmail>", "Gmail account (default: the stack's only one)")
        .option("--region <region>", "AWS region (default: aws:region of the stack)")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)");

    const root = new Command("ses-mail")
        .description("Operate a ses-mail deployment.")
        .version(packageVersion())
        .exitOverride()
        .configureOutput({ writeOut: deps.stdout, writeErr: deps.stderr });
    const token = root.command("token").description("Gmail OAuth refresh tokens of the forwarder").exitOverride();

    common(token.command("refresh"))
        .description("Sign in to Google, store a fresh refresh token in SSM, publish its expiry and drain the retry queue")
        .addOption(new Option("--port <n>", "loopback port of the OAuth redirect").default(8080).argParser(port))
        .option("--published", "the OAuth app is published (In production): its tokens have no expiry date", false)
        .option("--no-browser", "only print the consent URL")
        .option("--no-drain", "do not start the retry-drain state machine afterwards")
        .addOption(new Option("--timeout <seconds>", "how long to wait for the browser").default(300).argParser(seconds))
        .exitOverride()
        .action(async (options) => {
            const settings = await settingsOf(options);
            const { chooseAccounts } = await import("./stack-settings");
            const [account] = chooseAccounts(settings, options.account, false);
            const region = settings.region;
            const [{ CloudWatchClient }, { SFNClient }, { SSMClient }, { refreshToken }] = await Promise.all([
                import("@aws-sdk/client-cloudwatch"), import("@aws-sdk/client-sfn"), import("@aws-sdk/client-ssm"), import("./token-refresh"),
            ]);
            const clients = { ssm: new SSMClient({ region }), cloudwatch: new CloudWatchClient({ region }), sfn: new SFNClient({ region }) };
            try {
                await refreshToken(
                    { settings, account, port: options.port, published: options.published, browser: options.browser, timeoutSeconds: options.timeout, drain: options.drain },
                    { print, openBrowser: deps.openBrowser, endpoints: deps.oauthEndpoints, now: deps.now, clients },
                );
            } finally {
                Object.values(clients).forEach((client) => client.destroy());
            }
        });

    common(token.command("status"))
        .description("Seconds until each token expires and the last probe result (exit 1 when one needs a refresh)")
        .exitOverride()
        .action(async (options) => {
            const settings = await settingsOf(options);
            const [{ SSMClient }, { chooseAccounts }, { describeStatus, readTokenStatus }] = await Promise.all([
                import("@aws-sdk/client-ssm"), import("./stack-settings"), import("./token-status"),
            ]);
            const ssm = new SSMClient({ region: settings.region });
            try {
                let healthy = true;
                for (const account of chooseAccounts(settings, options.account, true)) {
                    const described = describeStatus(await readTokenStatus(settings, account, ssm, deps.now()), settings);
                    described.lines.forEach(print);
                    healthy &&= described.healthy;
                }
                if (!healthy) result.exitCode = 1;
            } finally {
                ssm.destroy();
            }
        });
    rulesCommands(root, deps, result);
    smtpCommands(root, deps, result);
    suppressionCommands(root, deps, result);
    sendingCommands(root, deps, result);
    dlqCommands(root, deps, result);
    dnsCommands(root, deps, result);
    sendersCommands(root, deps, result);
    costCommand(root, deps, result);
    feedbackCommands(root, deps, result);
    healthCommand(root, deps, result);
    reportCommand(root, deps, result);
    selftestCommand(root, deps, result);
    return root;
}

function rulesCommands(root: Command, deps: CliDeps, result: { exitCode: number }): void {
    const print = (line: string) => deps.stdout(`${line}\n`);
    const rules = root.command("rules")
        .description("Routing rules of a deployment (exit codes: 0 ok, 1 a check found problems or the command did not finish, 2 usage or input error)")
        .exitOverride(usageExit);
    const target = (command: Command) => command
        .option("--stack <name>", "Pulumi stack: reads Pulumi.<stack>.yaml (environment, table name, region, Gmail accounts, default action)")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)")
        .option("--env <env>", "environment: the table name from the components' naming (ses-mail-email-routing-<env>)")
        .option("--name-prefix <prefix>", "name prefix with --env (default: ses-mail)")
        .option("--outputs <file>", "the stack's outputs (pulumi stack output --json > file): routingTableName")
        .option("--region <region>", "AWS region (default: aws:region of the stack, else AWS_REGION)")
        .option("--json", "machine-readable output", false);
    const actionOptions = (command: Command) => command
        .option("--forward <gmail[:labels]>", "forward to this Gmail account (repeatable; labels of this forward after a colon: you@gmail.com:Label_1,Label_2)", collect)
        .option("--bounce", "bounce to the sender (DoesNotExist)")
        .option("--store", "keep in S3 only (may go with any other action)")
        .option("--drop", "drop")
        .option("--labels <ids>", "Gmail label ids (comma-separated) for every forward that names none of its own")
        .option("--description <text>", "what the rule is for");
    const rulesApi = () => import("./rules");
    // Commander calls an action with the arguments, the options, then the command.
    const run = <A extends unknown[]>(action: (ctx: RulesContext, ...args: A) => Promise<ExitCode>) => async (...args: unknown[]) => {
        const command = args[args.length - 1] as Command;
        const options = command.opts() as TargetOptions & { json: boolean };
        const [{ rulesTarget }, { DynamoDBClient }] = await Promise.all([import("./rules-target"), import("@aws-sdk/client-dynamodb")]);
        const resolved = rulesTarget(options, deps.cwd);
        const client = new DynamoDBClient({ region: resolved.region });
        try {
            const ctx: RulesContext = { target: resolved, client, json: options.json, print, confirm: deps.confirm, now: deps.now, cwd: deps.cwd };
            if (!options.json) resolved.notes.forEach(print);
            result.exitCode = await action(ctx, ...(args.slice(0, -1) as A));
        } finally {
            client.destroy();
        }
    };

    target(rules.command("list")).description("Every rule: pattern, status (enabled, disabled, INVALID with why), actions, updated, description").action(run(async (ctx) => (await rulesApi()).listRules(ctx)));
    target(rules.command("show").argument("<pattern>")).description("One rule in full (exit 1 when it is invalid)").action(run(async (ctx, pattern: string) => (await rulesApi()).showRule(ctx, pattern)));
    actionOptions(target(rules.command("add").argument("<pattern>")))
        .description("Create a rule (refused if one exists): one action writes the single form (action/target), several the list form (actions)")
        .option("--disabled", "write it disabled")
        .option("--dry-run", "show the item, write nothing")
        .action(run(async (ctx, pattern: string, options: AddOptions) => (await rulesApi()).addRule(ctx, pattern, options)));
    actionOptions(target(rules.command("set").argument("<pattern>")))
        .description("Change a rule: actions given replace all its actions; --labels alone relabels its forwards; other attributes stay")
        .option("--dry-run", "show the item, write nothing")
        .action(run(async (ctx, pattern: string, options: SetOptions) => (await rulesApi()).setRule(ctx, pattern, options)));
    for (const [name, enabled] of [["enable", true], ["disable", false]] as const) {
        target(rules.command(name).argument("<pattern>")).description(`${enabled ? "Enable" : "Disable"} a rule${enabled ? " (refused while it is invalid)" : ""}`)
            .option("--dry-run", "write nothing")
            .action(run(async (ctx, pattern: string, options: { dryRun?: boolean }) => (await rulesApi()).setEnabled(ctx, pattern, enabled, options.dryRun)));
    }
    target(rules.command("delete").argument("<pattern>")).description("Delete a rule (shows it and asks first)")
        .option("--yes", "do not ask")
        .option("--dry-run", "show what would be deleted")
        .action(run(async (ctx, pattern: string, options: { yes?: boolean; dryRun?: boolean }) => (await rulesApi()).deleteRule(ctx, pattern, options)));
    target(rules.command("export").argument("[file]", "where to write (default: standard output)")).description("Every rule as DynamoDB JSON (like aws dynamodb scan): both forms, every attribute")
        .action(run(async (ctx, file: string | undefined) => (await rulesApi()).exportRules(ctx, file)));
    target(rules.command("import").argument("<file>", "an export, aws dynamodb scan output, or a JSON list of items"))
        .description("Write the file's rules: all checked first (a bad one writes nothing); creates only where absent; rules that differ need --overwrite")
        .option("--dry-run", "show the plan, write nothing")
        .option("--overwrite", "replace rules that differ from the file (asks unless --yes)")
        .option("--yes", "do not ask")
        .action(run(async (ctx, file: string, options: { dryRun?: boolean; overwrite?: boolean; yes?: boolean }) => (await rulesApi()).importRules(ctx, file, options)));
    target(rules.command("explain").argument("<address>", "a recipient, as mail arrives"))
        .description("Which patterns are looked up, which rule wins and why (disabled and invalid ones shown as skipped), and what happens to the mail: the router's own code")
        .option("--sender <address>", "envelope sender, to say whether a bounce would be sent")
        .action(run(async (ctx, address: string, options: { sender?: string }) => (await rulesApi()).explainAddress(ctx, address, options)));
}

/** Runs the command line; returns the exit code (errors an operator can fix print without a stack trace). */
export async function main(argv: string[], overrides: Partial<CliDeps> = {}): Promise<number> {
    const deps = { ...DEFAULT_DEPS, ...overrides };
    const result = { exitCode: 0 };
    try {
        await program(deps, result).parseAsync(argv, { from: "user" });
        return result.exitCode;
    } catch (error) {
        if (error instanceof CommanderError) return error.exitCode;
        const { StackConfigError } = await import("../stacks/config");
        if (error instanceof CliError || error instanceof StackConfigError) {
            deps.stderr(`${error.message}\n`);
            return error instanceof CliError ? error.exitCode : 1;
        }
        throw error;
    }
}
