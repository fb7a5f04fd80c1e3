import { createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import { ADDRESS_LOG_KEYS, createLogger, hashAddress } from "../../../functions/shared/logging";
import { captureOutput } from "../../support/output";

const SALT = "123456789012:test";

/** The JSON line a logger built from `env` writes for one INFO call. */
async function logged(env: Record<string, string>, fields: Record<string, unknown>): Promise<Record<string, any>> {
    const logger = createLogger({ POWERTOOLS_SERVICE_NAME: "logging-test", ...env });
    const { lines } = await captureOutput(async () => logger.info("line", fields));
    return lines[0] as Record<string, any>;
}

/** Addresses as SES delivers them: RFC 5321 shapes, not only "nice" ones (AWS-SEMANTICS.md). */
const address = fc.oneof(
    fc.emailAddress(),
    fc.constantFrom(
        "bounces+SRS=k1=ab=example.org=alice@forwarder.example",
        "msprvs1=19XXXXXXX=bounces-12345@bounce.example.net",
        "prvs=1234abcdef=alice@example.com",
        "\"john..doe\"@example.com",
        "Alice.Smith@Example.COM",
    ),
);

describe("shared logging", () => {
    it("logs addresses as they are by default", async () => {
        expect(await logged({}, { recipient: "a@example.com", target: "me@gmail.com" })).to.deep.include({ recipient: "a@example.com", target: "me@gmail.com" });
    });

    it("hashed: an HMAC-SHA256 of the lowercased address under the deployment's salt, 64 bits, marked h:", () => {
        const expected = `h:${createHmac("sha256", SALT).update("alice@example.com").digest("hex").slice(0, 16)}`;
        expect(hashAddress("Alice@Example.com ", SALT)).to.equal(expected);
        expect(hashAddress("alice@example.com", "other-deployment")).to.not.equal(expected);
    });

    it("hashed: every address under an address key, at any depth, and nothing else; the same address, the same hash", async () => {
        await fc.assert(fc.asyncProperty(fc.uniqueArray(address, { minLength: 2, maxLength: 4, selector: (a) => a.toLowerCase() }), fc.constantFrom(...[...ADDRESS_LOG_KEYS].filter((k) => k !== "recipients")), async (addresses, key) => {
            const [first, second] = addresses;
            const line = await logged({ LOG_ADDRESSES: "hashed", LOG_ADDRESS_SALT: SALT }, {
                [key]: addresses.join(","),
                recipients: addresses,
                nested: { email: first.toUpperCase(), from: "healthy", source: "<>" },
                messageId: "m-1",
                action: "bounce",
                bounceSender: "MAILER-DAEMON@example.com",
            });
            const hashes = addresses.map((a) => hashAddress(a, SALT));
            expect(line[key]).to.equal(hashes.join(","));
            expect(line.recipients).to.deep.equal(hashes);
            // Case does not split an address in two; a state under `from` and the null sender are not addresses.
            expect(line.nested).to.deep.equal({ email: hashAddress(first, SALT), from: "healthy", source: "<>" });
            expect(line).to.deep.include({ messageId: "m-1", action: "bounce", bounceSender: "MAILER-DAEMON@example.com" });
            const text = JSON.stringify(line);
            for (const a of [first, second]) expect(text.toLowerCase()).to.not.include(JSON.stringify(a).slice(1, -1).toLowerCase());
        }), { numRuns: 50 });
    });

    it("is the logger of every function (so LOG_ADDRESSES applies to all of them)", () => {
        const root = path.resolve(__dirname, "..", "..", "..", "functions");
        const handlers = fs.readdirSync(root).filter((name) => fs.existsSync(path.join(root, name, "handler.ts")));
        expect(handlers).to.include.members(["bouncer", "gmail-forwarder", "router", "feedback-worker", "token-probe"]);
        const own = handlers.filter((name) => /new Logger\(/.test(fs.readFileSync(path.join(root, name, "handler.ts"), "utf8")));
        expect(own, "handlers that build their own Logger instead of createLogger()").to.deep.equal([]);
    });

    it("refuses a mode it does not know, and hashing without a salt, naming the variable", () => {
        expect(() => createLogger({ LOG_ADDRESSES: "hash" })).to.throw(/LOG_ADDRESSES is "hash"; it must be one of plain, hashed/);
        expect(() => createLogger({ LOG_ADDRESSES: "hashed" })).to.throw(/LOG_ADDRESS_SALT is not set/);
    });
});
