// `ses-mail token refresh`: the loopback OAuth flow for one Gmail account, then the refresh token
// into SSM (value and expiry tags), the metric the monitor publishes, and the retry-queue drain.
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { paginateListStateMachines, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { AddTagsToResourceCommand, GetParameterCommand, ParameterNotFound, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { randomBytes } from "node:crypto";
import { CodeChallengeMethod } from "google-auth-library";
import { accountSlug } from "../components/naming";
import type { RetryDrainInput } from "../components/retry-drain";
import { GMAIL_SCOPES, NO_EXPIRY_SECONDS, OAuthClientCredentials, parameterNames, parseClientCredentials, TESTING_TOKEN_LIFETIME_SECONDS, TOKEN_METRICS, tokenRecord } from "../functions/shared/gmail-oauth";
import { googleOAuthClient, OAuthEndpoints } from "../functions/shared/google-client";
import { awsCall } from "./aws";
import { CliError } from "./errors";
import { startLoopback } from "./loopback";
import type { StackSettings } from "./stack-settings";

export interface RefreshOptions {
    settings: StackSettings;
    account: string;
    port: number;
    /** The OAuth app is published ("In production"): its tokens have no expiry date. */
    published: boolean;
    browser: boolean;
    timeoutSeconds: number;
    drain: boolean;
}

export interface RefreshDeps {
    print(line: string): void;
    openBrowser(url: string): boolean;
    endpoints: OAuthEndpoints;
    now(): Date;
    clients: { ssm: SSMClient; cloudwatch: CloudWatchClient; sfn: SFNClient };
}

export async function refreshToken(options: RefreshOptions, deps: RefreshDeps): Promise<void> {
    const { settings, account } = options;
    const names = parameterNames(settings.parameterPrefix, account);
    const client = await readClientCredentials(names.clientCredentials, settings, deps.clients.ssm);

    const loopback = await startLoopback(options.port);
    let tokens: { refresh_token?: string | null; id_token?: string | null; scope?: string; refresh_token_expires_in?: number };
    try {
        const redirectUri = loopback.redirectUri;
        if (client.kind === "web" && !client.redirectUris.includes(redirectUri)) {
            throw new CliError(redirectMismatch(redirectUri, client.clientId));
        }
        const oauth = googleOAuthClient(client, deps.endpoints, redirectUri);
        const { codeVerifier, codeChallenge } = await oauth.generateCodeVerifierAsync();
        const state = randomBytes(16).toString("hex");
        const url = oauth.generateAuthUrl({
            access_type: "offline",
            // Consent every time: Google returns a refresh token only on consent.
            prompt: "consent",
            scope: GMAIL_SCOPES,
            login_hint: account,
            state,
            code_challenge_method: CodeChallengeMethod.S256,
            code_challenge: codeChallenge,
        });
        deps.print(`Sign in as ${account} and allow access:\n\n  ${url}\n`);
        if (client.kind === "plain") deps.print(`(For a Web OAuth client, ${redirectUri} must be an authorized redirect URI.)`);
        if (options.browser && deps.openBrowser(url)) deps.print("Opened your browser; waiting for Google's answer…");
        else deps.print(`Open the URL in a browser on this machine; waiting up to ${options.timeoutSeconds} s for Google's answer…`);
        const code = await loopback.waitForCode(state, options.timeoutSeconds * 1000);
        tokens = await exchange(() => oauth.getToken({ code, codeVerifier, redirect_uri: redirectUri }), redirectUri, client.clientId, names.clientCredentials);
    } finally {
        await loopback.close();
    }

    checkGrant(tokens, account);
    const lifetimeSeconds = options.published ? null : tokens.refresh_token_expires_in ?? TESTING_TOKEN_LIFETIME_SECONDS;
    const record = tokenRecord(tokens.refresh_token!, { now: deps.now(), lifetimeSeconds, clientId: client.clientId, scope: tokens.scope ?? GMAIL_SCOPES.join(" ") });
    await awsCall("ssm:PutParameter", names.refreshToken, () => deps.clients.ssm.send(new PutParameterCommand({
        Name: names.refreshToken,
        Value: JSON.stringify(record.value),
        Type: "SecureString",
        Overwrite: true,
        Description: `Gmail OAuth refresh token of ${account} (ses-mail token refresh)`,
    })));
    // Tags carry the metadata the monitor reads, so it never reads the token itself.
    await awsCall("ssm:AddTagsToResource", names.refreshToken, () => deps.clients.ssm.send(new AddTagsToResourceCommand({
        ResourceType: "Parameter",
        ResourceId: names.refreshToken,
        Tags: Object.entries(record.tags).map(([Key, Value]) => ({ Key, Value })),
    })));
    deps.print(`Stored the refresh token of ${account} in ${names.refreshToken} (SecureString).`);
    deps.print(lifetimeSeconds === null
        ? "It has no expiry date (published app); the hourly probe checks it still works."
        : `It expires at ${record.value.expires_at} (in ${lifetimeSeconds} s${options.published ? "" : "; apps in Testing get 7 days, pass --published for a published app"}).`);

    try {
        await awsCall("cloudwatch:PutMetricData", settings.namespace, () => deps.clients.cloudwatch.send(new PutMetricDataCommand({
            Namespace: settings.namespace,
            MetricData: [
                { MetricName: TOKEN_METRICS.secondsUntilExpiration, Dimensions: [{ Name: "account", Value: account }], Unit: "Seconds", Value: lifetimeSeconds ?? NO_EXPIRY_SECONDS },
                { MetricName: TOKEN_METRICS.valid, Dimensions: [{ Name: "account", Value: account }], Unit: "Count", Value: 1 },
            ],
        })));
        deps.print(`Published ${TOKEN_METRICS.secondsUntilExpiration}=${lifetimeSeconds ?? NO_EXPIRY_SECONDS} and ${TOKEN_METRICS.valid}=1 to ${settings.namespace}.`);
    } catch (error) {
        // The token is stored; the monitor publishes the same figure within 5 minutes.
        deps.print(`Warning: could not publish the token metrics (${(error as Error).message}); the token monitor publishes them within 5 minutes.`);
    }

    if (options.drain) await startDrain(settings, account, deps);
}

async function readClientCredentials(name: string, settings: StackSettings, ssm: SSMClient): Promise<OAuthClientCredentials> {
    let value: string | undefined;
    try {
        value = (await awsCall("ssm:GetParameter", name, () => ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })))).Parameter?.Value;
    } catch (error) {
        if (!(error instanceof ParameterNotFound)) throw error;
    }
    if (value === undefined) {
        throw new CliError([
            `No OAuth client credentials at ${name}.`,
            "Create an OAuth client of type Desktop app (Google Cloud Console → APIs & Services → Credentials), download its JSON, then store it:",
            "",
            `  aws ssm put-parameter --name ${name} --type SecureString --value file://client_secret.json${settings.region ? ` --region ${settings.region}` : ""}`,
            "",
            "and run this command again.",
        ].join("\n"));
    }
    try {
        return parseClientCredentials(value);
    } catch (error) {
        throw new CliError(`${name}: ${(error as Error).message}`);
    }
}

function redirectMismatch(redirectUri: string, clientId: string): string {
    return `Redirect URI mismatch: OAuth client ${clientId} does not allow ${redirectUri}. Add ${redirectUri} to its Authorized redirect URIs (Google Cloud Console → APIs & Services → Credentials), or use a Desktop app client, then run this again.`;
}

async function exchange<T extends { tokens: object }>(call: () => Promise<T>, redirectUri: string, clientId: string, credentialsName: string): Promise<T["tokens"]> {
    try {
        return (await call()).tokens;
    } catch (error) {
        const data = (error as { response?: { data?: { error?: string; error_description?: string } } }).response?.data;
        if (data?.error === undefined) {
            throw new CliError(`Could not exchange the authorization code with Google: ${(error as Error).message}`);
        }
        switch (data.error) {
            case "redirect_uri_mismatch":
                throw new CliError(redirectMismatch(redirectUri, clientId));
            case "invalid_client":
                throw new CliError(`Google does not know OAuth client ${clientId} or its secret (${data.error_description ?? "invalid_client"}): store the current client JSON in ${credentialsName}.`);
            case "invalid_grant":
                throw new CliError(`Google refused the authorization code (${data.error_description ?? "invalid_grant"}): it is single-use and short-lived; run the command again.`);
            default:
                throw new CliError(`Google refused the code exchange: ${data.error}${data.error_description ? ` (${data.error_description})` : ""}.`);
        }
    }
}

/** The email in the ID token (OpenID Connect); it came straight from the token endpoint over TLS. */
function signedInAs(idToken: string | null | undefined): string | undefined {
    if (!idToken) return undefined;
    try {
        const payload = JSON.parse(Buffer.from(idToken.split(".")[1] ?? "", "base64url").toString("utf8")) as { email?: unknown };
        return typeof payload.email === "string" ? payload.email.toLowerCase() : undefined;
    } catch {
        return undefined;
    }
}

function checkGrant(tokens: { refresh_token?: string | null; id_token?: string | null; scope?: string }, account: string): void {
    const email = signedInAs(tokens.id_token);
    // Storing another mailbox's token under this account would import its mail into the wrong inbox,
    // so a grant that does not say whose it is is refused too.
    if (email === undefined) {
        throw new CliError(`Google did not say which account signed in (no ID token with an email; the openid and email scopes were requested), so it cannot be checked to be ${account}; nothing was stored. Run the command again.`);
    }
    if (email !== account) {
        throw new CliError(`You signed in as ${email}, not ${account}; nothing was stored. Run again and choose ${account} in Google's account chooser.`);
    }
    if (!tokens.refresh_token) {
        throw new CliError([
            `Google returned no refresh token for ${account}: it sends one only when the app is granted access anew.`,
            `Remove the app's access at https://myaccount.google.com/permissions (signed in as ${account}), then run this command again.`,
        ].join("\n"));
    }
    if (tokens.scope !== undefined && !tokens.scope.split(" ").includes(GMAIL_SCOPES[0])) {
        throw new CliError(`Google granted no Gmail access (${GMAIL_SCOPES[0]} was unticked on the consent screen); nothing was stored. Run again and allow adding emails to your mailbox.`);
    }
}

async function startDrain(settings: StackSettings, account: string, deps: RefreshDeps): Promise<void> {
    let stateMachineArn: string | undefined;
    await awsCall("states:ListStateMachines", "*", async () => {
        for await (const page of paginateListStateMachines({ client: deps.clients.sfn }, {})) {
            stateMachineArn ??= page.stateMachines?.find((machine) => machine.name === settings.retryDrainName)?.stateMachineArn;
        }
    });
    if (!stateMachineArn) {
        deps.print(`Warning: no state machine ${settings.retryDrainName} in this account and region, so parked mail stays in the retry queue. Start it once MailIngest is deployed.`);
        return;
    }
    const name = `token-refresh-${accountSlug(account)}-${deps.now().toISOString().replace(/\D/g, "").slice(0, 14)}`.slice(0, 80);
    // Only this account's parked mail: another account's, still unusable, would only be parked again.
    const input = JSON.stringify({ account } satisfies RetryDrainInput);
    const { executionArn } = await awsCall("states:StartExecution", stateMachineArn, () => deps.clients.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input })));
    deps.print(`Started ${settings.retryDrainName}: mail for ${account} parked while the token was unusable goes back to the forwarder (${executionArn}).`);
}
