import { DEFAULT_PREFIX, gmailParameterPrefix, physicalName, RETRY_DRAIN_PURPOSE } from "../components/naming";
import { stackConfigFrom } from "../stacks/config";
import { readStackFile } from "../stacks/stack-file";
import { CliError } from "./errors";

/** What the command needs of a stack, from its Pulumi.<stack>.yaml (no Pulumi CLI, no state). */
export interface StackSettings {
    stack: string;
    env: string;
    namePrefix: string;
    region?: string;
    gmailAccounts: string[];
    /** False when there is no Pulumi.<stack>.yaml and the names are assumed from the stack name. */
    fromFile: boolean;
    parameterPrefix: string;
    namespace: string;
    retryDrainName: string;
}

export function stackSettings(stack: string, dir: string, region?: string): StackSettings {
    const file = readStackFile(stack, dir);
    const config = file ? stackConfigFrom(file, stack) : undefined;
    const env = config?.environment ?? stack;
    const namePrefix = config?.namePrefix ?? DEFAULT_PREFIX;
    return {
        stack,
        env,
        namePrefix,
        region: region ?? file?.["aws:region"],
        gmailAccounts: config?.ingest.gmailAccounts ?? [],
        fromFile: file !== undefined,
        parameterPrefix: gmailParameterPrefix(env, namePrefix),
        namespace: `SESMail/${env}`,
        retryDrainName: physicalName("sfnStateMachine", { purpose: RETRY_DRAIN_PURPOSE, env, prefix: namePrefix }),
    };
}

/** `--account`; else every account of the stack (`all`), or its only one. */
export function chooseAccounts(settings: StackSettings, account: string | undefined, all: boolean): string[] {
    if (account) {
        const normalised = account.trim().toLowerCase();
        if (settings.fromFile && !settings.gmailAccounts.includes(normalised)) {
            throw new CliError(`${normalised} is not in ses-mail:ingest.gmailAccounts of Pulumi.${settings.stack}.yaml (${settings.gmailAccounts.join(", ") || "none"}): add it there and run pulumi up first, so the forwarder may use its token.`);
        }
        return [normalised];
    }
    const accounts = settings.gmailAccounts;
    if (accounts.length === 1 || (all && accounts.length > 1)) return accounts;
    if (accounts.length === 0) {
        throw new CliError(`Pass --account <gmail address>: ${settings.fromFile ? `Pulumi.${settings.stack}.yaml lists no ses-mail:ingest.gmailAccounts` : `there is no Pulumi.${settings.stack}.yaml here to read the accounts from`}.`);
    }
    throw new CliError(`Pulumi.${settings.stack}.yaml lists several Gmail accounts (${settings.gmailAccounts.join(", ")}): pass --account <one of them>.`);
}
