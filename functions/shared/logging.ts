// The Powertools Logger every function uses. With LOG_ADDRESSES=hashed, the structured keys that
// carry mail addresses are written as keyed hashes: the same address gives the same hash in every
// function of a deployment, so Logs Insights queries still group and join by address, while a log
// reader no longer sees who wrote to whom (see docs/DATA.md).
import { createHmac } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";

/** Log keys whose values are (lists of) mail addresses, at any depth of a log line. */
export const ADDRESS_LOG_KEYS: ReadonlySet<string> = new Set([
    "recipient", "recipients", "source", "sender", "from", "to", "address", "account", "destination", "target", "email",
]);

export const LOG_ADDRESS_MODES = ["plain", "hashed"] as const;

/** Hex characters of the HMAC kept: 64 bits, collision-free in practice for any mailbox count. */
const HASH_HEX_LENGTH = 16;

/**
 * `h:` and the first 64 bits of HMAC-SHA256(salt, address lowercased). The salt is per deployment
 * and not a secret: an operator computes the hash of an address to find its log lines (docs/DATA.md).
 * It is pseudonymisation, not anonymisation: whoever knows the salt can test a guessed address.
 */
export function hashAddress(address: string, salt: string): string {
    return `h:${createHmac("sha256", salt).update(address.trim().toLowerCase()).digest("hex").slice(0, HASH_HEX_LENGTH)}`;
}

/**
 * A JSON replacer hashing each address under an address key: comma-separated lists element by
 * element (so a recipient's hash is the same alone or in a list), arrays item by item. Parts
 * without an `@` stay (the null sender, states such as `from: "healthy"`).
 */
export function addressReplacer(salt: string): (key: string, value: unknown) => unknown {
    const hashPart = (part: string) => (part.includes("@") ? hashAddress(part, salt) : part);
    const hashValue = (value: unknown): unknown => (typeof value === "string" ? value.split(",").map(hashPart).join(",") : value);
    return (key, value) => {
        if (!ADDRESS_LOG_KEYS.has(key)) return value;
        return Array.isArray(value) ? value.map(hashValue) : hashValue(value);
    };
}

/**
 * The function's logger. `LOG_ADDRESSES`: `plain` (default) or `hashed`; `hashed` needs
 * `LOG_ADDRESS_SALT`, the same for every function of the deployment. A wrong value fails the cold
 * start with the variable's name rather than logging addresses in the clear.
 */
export function createLogger(env: NodeJS.ProcessEnv = process.env): Logger {
    const mode = env.LOG_ADDRESSES || "plain";
    if (!(LOG_ADDRESS_MODES as readonly string[]).includes(mode)) {
        throw new Error(`Environment variable LOG_ADDRESSES is "${mode}"; it must be one of ${LOG_ADDRESS_MODES.join(", ")}.`);
    }
    if (mode === "plain") return new Logger();
    const salt = env.LOG_ADDRESS_SALT;
    if (!salt) throw new Error("Environment variable LOG_ADDRESS_SALT is not set; LOG_ADDRESSES=hashed needs it (the same value for every function of the deployment).");
    return new Logger({ jsonReplacerFn: addressReplacer(salt) });
}
