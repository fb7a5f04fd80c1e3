import { CliError } from "./errors";

/** Runs an AWS call, turning the failures an operator can fix into a CliError that says how. */
export async function awsCall<T>(action: string, resource: string, call: () => Promise<T>): Promise<T> {
    try {
        return await call();
    } catch (error) {
        const e = error as { name?: string; message?: string };
        if (e.name === "CredentialsProviderError" || /Could not load credentials/i.test(e.message ?? "")) {
            throw new CliError("No AWS credentials: sign in first (e.g. aws sso login, or set AWS_PROFILE) and run this again.");
        }
        if (/Region is missing/i.test(e.message ?? "")) {
            throw new CliError("No AWS region: set aws:region in Pulumi.<stack>.yaml, pass --region, or set AWS_REGION.");
        }
        if (e.name === "AccessDeniedException" || e.name === "AccessDenied" || e.name === "UnauthorizedOperation") {
            throw new CliError(`AWS denied ${action} on ${resource}: your role needs that permission (${e.message ?? e.name}).`);
        }
        throw error;
    }
}

/** Who is acting, as STS says (GetCallerIdentity's ARN): recorded with operator actions. */
export async function stsCallerArn(region: string | undefined): Promise<string> {
    const { STSClient, GetCallerIdentityCommand } = await import("@aws-sdk/client-sts");
    const client = new STSClient({ region });
    try {
        const { Arn: arn } = await awsCall("sts:GetCallerIdentity", "your identity", () => client.send(new GetCallerIdentityCommand({})));
        if (!arn) throw new CliError("STS returned no caller ARN: cannot record who acted.");
        return arn;
    } finally {
        client.destroy();
    }
}
