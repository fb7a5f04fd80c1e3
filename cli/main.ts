// The `ses-mail` command (package bin). Today: `token refresh` and `token status` for the Gmail
// forwarder's OAuth refresh tokens.
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SSMClient } from "@aws-sdk/client-ssm";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { OAuthEndpoints } from "../functions/shared/google-client";
import { StackConfigError } from "../stacks/config";
import { openInBrowser } from "./browser";
import { CliError } from "./errors";
import { chooseAccounts, stackSettings, StackSettings } from "./stack-settings";
import { refreshToken } from "./token-refresh";
import { describeStatus, readTokenStatus } from "./token-status";

export interface CliDeps {
    stdout(text: string): void;
    stderr(text: string): void;
    openBrowser(url: string): boolean;
    /** Google's OAuth endpoints unless set (tests point them at a local fake). */
    oauthEndpoints: OAuthEndpoints;
    now(): Date;
    /** Where Pulumi.<stack>.yaml is looked for. */
    cwd: string;
}

const DEFAULT_DEPS: CliDeps = {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    openBrowser: openInBrowser,
    oauthEndpoints: {},
    now: () => new Date(),
    cwd: process.cwd(),
};

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
    const settingsOf = (options: { stack: string; region?: string; projectDir?: string }): StackSettings => {
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
            const settings = settingsOf(options);
            const [account] = chooseAccounts(settings, options.account, false);
            const region = settings.region;
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
            const settings = settingsOf(options);
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
    return root;
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
        if (error instanceof CliError || error instanceof StackConfigError) {
            deps.stderr(`${error.message}\n`);
            return 1;
        }
        throw error;
    }
}
