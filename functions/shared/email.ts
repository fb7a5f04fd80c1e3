// zod/mini imported as a namespace tree-shakes to a few KB in Lambda bundles (classic zod: ~450 KB).
import * as z from "zod/mini";

/** An address trimmed and lowercased; SES and mailbox providers treat addresses case-insensitively. */
export const normalisedEmail = z.pipe(
    z.string({ error: "email must be a string" }).check(z.trim(), z.toLowerCase()),
    z.email({ error: (issue) => `"${String(issue.input)}" is not a valid email address` }),
);

/** Thrown for input that can never succeed, so callers and batch handlers can treat it as permanent. */
export class InvalidInputError extends Error {
    /** Always `InvalidInputError`. */
    public override readonly name = "InvalidInputError";
}

/** Parses with a schema and turns the failure into one readable {@link InvalidInputError}. */
export function parseOrThrow<S extends z.ZodMiniType>(schema: S, value: unknown, what: string): z.output<S> {
    const result = schema.safeParse(value);
    if (!result.success) {
        const reasons = result.error.issues.map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message));
        throw new InvalidInputError(`Invalid ${what}: ${reasons.join("; ")}`);
    }
    return result.data as z.output<S>;
}

/** An address trimmed and lowercased, as every table of this library keys it; throws {@link InvalidInputError} for anything that is not an address. */
export function normaliseEmail(email: unknown): string {
    return parseOrThrow(normalisedEmail, email, "email address");
}

/**
 * Any address SES may have delivered (RFC 5321 allows VERP, SRS, BATV and quoted local parts that
 * `normalisedEmail` refuses), trimmed and lowercased: for looking an address up, never for storing one.
 */
export function lookupAddress(email: unknown): string {
    const address = typeof email === "string" ? email.trim().toLowerCase() : "";
    const at = address.lastIndexOf("@");
    if (at <= 0 || at === address.length - 1) {
        throw new InvalidInputError(`"${String(email)}" is not an email address`);
    }
    return address;
}
