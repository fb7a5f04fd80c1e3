import { GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import { OAuthClientCredentials, parameterNames, parseClientCredentials, parseRefreshToken, TokenUnavailableError } from "../shared/gmail-oauth";
import { PermanentForwardError } from "./errors";

/** Reads OAuth secrets from SSM SecureString, caching them briefly; only for configured accounts. */
export class CredentialStore {
    private readonly cache = new Map<string, { value: string; until: number }>();

    constructor(private readonly options: { ssm: SSMClient; prefix: string; accounts: string[]; cacheTtlMs?: number; now?: () => number }) {}

    public async forAccount(account: string): Promise<{ client: OAuthClientCredentials; refreshToken: string }> {
        if (!this.options.accounts.includes(account)) {
            throw new PermanentForwardError(`No Gmail account "${account}" is configured for forwarding (have: ${this.options.accounts.join(", ") || "none"}); mail is never imported into a different account.`);
        }
        const names = parameterNames(this.options.prefix, account);
        const [client, token] = await Promise.all([this.read(names.clientCredentials, false), this.read(names.refreshToken, true)]);
        return { client: parseClientCredentials(client), refreshToken: parseRefreshToken(token, names.refreshToken) };
    }

    /** Forgets an account's token (after it was rejected), so a refreshed one is read next time. */
    public forget(account: string): void {
        this.cache.delete(parameterNames(this.options.prefix, account).refreshToken);
    }

    private async read(name: string, isToken: boolean): Promise<string> {
        const now = (this.options.now ?? Date.now)();
        const cached = this.cache.get(name);
        if (cached && cached.until > now) return cached.value;
        try {
            const { Parameter } = await this.options.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
            const value = Parameter?.Value ?? "";
            this.cache.set(name, { value, until: now + (this.options.cacheTtlMs ?? 300_000) });
            return value;
        } catch (error) {
            if (error instanceof ParameterNotFound) {
                // A missing token waits for `token refresh`; missing client credentials are a setup error.
                if (isToken) throw new TokenUnavailableError(`No refresh token at ${name}; run: npx ses-mail token refresh`);
                throw new PermanentForwardError(`No OAuth client credentials at ${name}; store them with aws ssm put-parameter --type SecureString.`);
            }
            throw error;
        }
    }
}
