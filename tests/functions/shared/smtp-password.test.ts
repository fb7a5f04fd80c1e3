import { execFileSync } from "node:child_process";
import { expect } from "chai";
import * as fc from "fast-check";
import { deriveSmtpPassword } from "../../../functions/shared/smtp-password";

// An independent implementation: the Python script from the SES documentation, run with python3's hmac.
const PYTHON = `
import hmac, hashlib, base64, sys
def sign(key, msg): return hmac.new(key, msg.encode('utf-8'), hashlib.sha256).digest()
secret, region = sys.argv[1], sys.argv[2]
signature = sign(('AWS4' + secret).encode('utf-8'), '11111111')
for part in (region, 'ses', 'aws4_request', 'SendRawEmail'): signature = sign(signature, part)
print(base64.b64encode(bytes([0x04]) + signature).decode('utf-8'))
`;
const python = (secret: string, region: string) => execFileSync("python3", ["-c", PYTHON, secret, region], { encoding: "utf8" }).trim();

describe("deriveSmtpPassword", () => {
    it("matches the documented algorithm (python3 hmac) for AWS's example secret", () => {
        const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        expect(deriveSmtpPassword(secret, "us-east-1")).to.equal(python(secret, "us-east-1"));
        expect(deriveSmtpPassword(secret, "eu-west-1")).to.equal(python(secret, "eu-west-1"));
        expect(deriveSmtpPassword(secret, "us-east-1")).not.to.equal(deriveSmtpPassword(secret, "eu-west-1"));
    });

    it("agrees with the independent implementation on random secrets (fast-check, fixed seed)", () => {
        fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9/+]{40}$/), fc.constantFrom("us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2"), (secret, region) => {
            expect(deriveSmtpPassword(secret, region)).to.equal(python(secret, region));
        }), { seed: 20261122, numRuns: 10 });
    });

    it("is a 44-character base64 string starting with the version byte", () => {
        const password = deriveSmtpPassword("x".repeat(40), "us-east-1");
        expect(password).to.have.length(44);
        expect(Buffer.from(password, "base64")[0]).to.equal(4);
    });

    it("rejects a missing secret or a malformed region", () => {
        expect(() => deriveSmtpPassword("", "us-east-1")).to.throw(/needs a secret access key/);
        expect(() => deriveSmtpPassword("secret", "US_EAST")).to.throw(/region such as us-east-1/);
    });
});
