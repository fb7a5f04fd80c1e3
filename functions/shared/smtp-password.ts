import { createHmac } from "node:crypto";

// Constants of the algorithm AWS documents for turning a secret access key into an SES SMTP password.
const DATE = "11111111";
const SERVICE = "ses";
const TERMINAL = "aws4_request";
const MESSAGE = "SendRawEmail";
const VERSION = 0x04;

const hmac = (key: Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest();

/**
 * The SES SMTP password for an IAM secret access key in a region (SigV4-derived; the password is
 * region-specific). Use the access key id as the SMTP user name.
 */
export function deriveSmtpPassword(secretAccessKey: string, region: string): string {
    if (!secretAccessKey || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
        throw new Error(`deriveSmtpPassword needs a secret access key and an AWS region such as us-east-1 (got region "${region}").`);
    }
    let signature = hmac(Buffer.from(`AWS4${secretAccessKey}`, "utf8"), DATE);
    for (const part of [region, SERVICE, TERMINAL, MESSAGE]) {
        signature = hmac(signature, part);
    }
    return Buffer.concat([Buffer.from([VERSION]), signature]).toString("base64");
}
