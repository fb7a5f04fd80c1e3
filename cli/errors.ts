/** A failure the operator can act on: printed as is (no stack trace), exit code 1. */
export class CliError extends Error {
    public override readonly name = "CliError";
}
