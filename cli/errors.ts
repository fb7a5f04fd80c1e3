import { CommanderError } from "commander";

/** A failure the operator can act on: printed as is (no stack trace), exit code 1. */
export class CliError extends Error {
    public override readonly name: string = "CliError";
    public readonly exitCode: number = 1;
}

/** Wrong arguments or input (a file, a pattern, a rule that may not be written): exit code 2. */
export class UsageError extends CliError {
    public override readonly name: string = "UsageError";
    public override readonly exitCode: number = 2;
}

/** Commander's usage errors (its exit code 1) become exit code 2, as every command documents. */
export const usageExit = (error: CommanderError): never => {
    if (error.exitCode === 1) throw new CommanderError(2, error.code, error.message);
    throw error;
};

/** A repeatable option's values, in order. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
