import { Metrics } from "@aws-lambda-powertools/metrics";
import { AddTagsToResourceCommand, GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import { requireEnv } from "../shared/env";
import { parameterNames, parseClientCredentials, parseRefreshToken, TOKEN_TAGS, TokenUnavailableError } from "../shared/gmail-oauth";
import { createLogger } from "../shared/logging";
import { tokenValidityMetric } from "../shared/metrics";
import { exchangeRefreshToken } from "../shared/oauth-token";
import { probeEndpoints, probeToken } from "./probe";

const logger = createLogger();
const metrics = new Metrics();
const ssm = new SSMClient({});

const account = requireEnv("ACCOUNT");
const names = parameterNames(requireEnv("SSM_PREFIX"), account);
const endpoints = probeEndpoints(process.env);

async function read(name: string): Promise<string | undefined> {
    try {
        return (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value;
    } catch (error) {
        if (error instanceof ParameterNotFound) return undefined;
        throw error;
    }
}

/**
 * Hourly: exchanges the account's refresh token for an access token, publishes TokenValid (1/0)
 * and records the result on the parameter's tags for `ses-mail token status`. When Google cannot
 * be reached the token's state is unknown: no TokenValid, and the invocation fails (Errors alarm).
 */
export const handler = async (): Promise<{ account: string; outcome: string }> => {
    const result = await probeToken({
        readSecrets: async () => {
            const [client, token] = await Promise.all([read(names.clientCredentials), read(names.refreshToken)]);
            if (client === undefined) return { missing: `no OAuth client credentials at ${names.clientCredentials}` };
            if (token === undefined) return { missing: `no refresh token at ${names.refreshToken}; run: npx ses-mail token refresh` };
            try {
                return { client: parseClientCredentials(client), refreshToken: parseRefreshToken(token, names.refreshToken) };
            } catch (error) {
                if (error instanceof TokenUnavailableError) return { missing: error.message };
                throw error;
            }
        },
        // Only the token exchange: Node's fetch, not google-auth-library (functions/shared/oauth-token.ts).
        exchange: async (client, refreshToken) => {
            await exchangeRefreshToken(client, refreshToken, endpoints);
        },
    });
    const fields = { account, outcome: result.outcome, reason: result.reason };
    if (result.outcome !== "missing") {
        await ssm.send(new AddTagsToResourceCommand({
            ResourceType: "Parameter",
            ResourceId: names.refreshToken,
            Tags: [{ Key: TOKEN_TAGS.lastProbeAt, Value: new Date().toISOString() }, { Key: TOKEN_TAGS.lastProbeResult, Value: result.outcome }],
        }));
    }
    if (result.outcome === "unreachable") {
        logger.error("Token probe could not reach Google's token endpoint", fields);
        throw new Error(`Token probe for ${account}: ${result.reason}`);
    }
    tokenValidityMetric(metrics, account, result.outcome === "valid");
    if (result.outcome === "valid") logger.info("Gmail refresh token is valid", fields);
    else logger.error("Gmail refresh token is not usable: run npx ses-mail token refresh", fields);
    return { account, outcome: result.outcome };
};
