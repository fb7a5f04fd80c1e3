// fast-check generators for the router: envelope addresses as they really arrive, receipt
// notifications (real-shaped, from the fixture builder) with their structure intact or broken, and
// an in-memory rule store for properties (the DynamoDB-backed store is tested against dynalite).
import * as fc from "fast-check";
import { candidatePatterns, StoredRule } from "../../../functions/router/rules";
import type { RuleStore } from "../../../functions/router/rule-store";
import { sns } from "../../fixtures/ses-feedback";
import { receiptNotification, ReceiptOptions } from "../../fixtures/ses-receipt";

/** An address as generated: its parts, how it was written, and what the router must make of it. */
export interface GeneratedAddress {
    /** As it appears in the notification. */
    written: string;
    /** Trimmed, `<>` removed, domain lowercased, local part as delivered; "" for the null sender. */
    expected: string;
}

const flipCase = (text: string, flips: boolean[]) => [...text].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c.toLowerCase())).join("");
const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
const word = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,11}$/);

/** Local parts real senders use: plain (fast-check's RFC 5322 atoms), VERP, SRS0/SRS1, BATV, quoted. */
export const localPart: fc.Arbitrary<string> = fc.oneof(
    fc.emailAddress().map((a) => a.slice(0, a.lastIndexOf("@"))),
    // VERP (SendGrid, Mailchimp and co.): the recipient encoded into the bounce address.
    fc.tuple(fc.integer({ min: 1, max: 99_999_999 }), hex(8), word, fc.domain()).map(([id, h, user, domain]) => `bounces+${id}-${h}-${user}=${domain}`),
    // SRS (forwarders rewriting the sender so SPF passes): SRS0=hash=timestamp=domain=local, SRS1 adds a hop.
    fc.tuple(hex(4), fc.stringMatching(/^[A-Z0-9]{2}$/), fc.domain(), word).map(([h, tt, domain, user]) => `SRS0=${h}=${tt}=${domain}=${user}`),
    fc.tuple(hex(4), fc.domain(), hex(4), fc.stringMatching(/^[A-Z0-9]{2}$/), fc.domain(), word).map(([h1, hop, h2, tt, domain, user]) => `SRS1=${h1}=${hop}==${h2}=${tt}=${domain}=${user}`),
    // BATV (prvs=tddddssssss=local).
    fc.tuple(fc.integer({ min: 0, max: 9 }), hex(9), word).map(([k, h, user]) => `prvs=${k}${h}=${user}`),
    // Quoted local parts (RFC 5321 §4.1.2): spaces, '@', and other specials inside quotes.
    fc.stringMatching(/^[A-Za-z0-9 .@,:;!#%&'*+/=?^_`{|}~-]{1,16}$/).map((inner) => `"${inner}"`),
);

/** Any envelope address SES accepts: generated parts, random case, optionally `<>`-wrapped and padded. */
export const address: fc.Arbitrary<GeneratedAddress> = fc
    .record({ local: localPart, domain: fc.domain(), flips: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), wrapped: fc.boolean(), padded: fc.boolean() })
    .map(({ local, domain, flips, wrapped, padded }) => {
        const cased = local.startsWith('"') ? local : flipCase(local, flips);
        const plain = `${cased}@${flipCase(domain, [...flips].reverse())}`;
        const written = wrapped ? `<${plain}>` : plain;
        return { written: padded ? ` ${written}\t` : written, expected: `${cased}@${domain.toLowerCase()}` };
    });

/** An envelope sender: any address, or the null sender (`<>`, or empty). */
export const sender: fc.Arbitrary<GeneratedAddress> = fc.oneof(
    { weight: 5, arbitrary: address },
    { weight: 1, arbitrary: fc.constantFrom<GeneratedAddress>({ written: "<>", expected: "" }, { written: "", expected: "" }, { written: " <> ", expected: "" }) },
);

/** Ways a notification's structure can be broken; only these may make a record invalid. */
export const BREAKAGES = ["none", "no-s3-action", "sns-action", "no-bucket", "no-key", "no-recipients", "no-message-id", "not-received", "not-json", "sns-not-notification"] as const;
export type Breakage = (typeof BREAKAGES)[number];

/** An SQS body carrying the notification, with its structure broken as asked. */
export function receiptBody(options: ReceiptOptions, breakage: Breakage, cut = 0.5): string {
    const n = receiptNotification(options) as ReturnType<typeof receiptNotification> & Record<string, any>;
    const action = n.receipt.action as Partial<typeof n.receipt.action> & Record<string, unknown>;
    switch (breakage) {
        case "no-s3-action": delete (n.receipt as Record<string, unknown>).action; break;
        case "sns-action": (n.receipt as Record<string, unknown>).action = { type: "SNS", topicArn: action.topicArn, encoding: "UTF8" }; break;
        case "no-bucket": delete action.bucketName; break;
        case "no-key": delete action.objectKey; break;
        case "no-recipients": n.receipt.recipients = []; break;
        case "no-message-id": delete (n.mail as Record<string, unknown>).messageId; break;
        case "not-received": n.notificationType = "Bounce"; break;
        case "not-json": {
            const whole = JSON.stringify(sns(n));
            return whole.slice(0, Math.max(1, Math.floor(whole.length * cut)));
        }
        case "sns-not-notification": return JSON.stringify({ ...sns(n), Type: "SubscriptionConfirmation", Message: "You have chosen to subscribe to the topic", SubscribeURL: "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription" });
        case "none": break;
    }
    return JSON.stringify(sns(n));
}

/** What a broken notification still lets the router read, for the invalid event. */
export function readableAfter(breakage: Breakage): { messageId: boolean; s3: boolean } {
    const unreadable = breakage === "not-json" || breakage === "sns-not-notification";
    return {
        messageId: !unreadable && breakage !== "no-message-id",
        s3: !unreadable && !["no-s3-action", "sns-action", "no-bucket", "no-key"].includes(breakage),
    };
}

/** The rule store's answer for a fixed rule set, as RuleStore answers it (every candidate pattern). */
export function memoryRules(rules: StoredRule[]): Pick<RuleStore, "rulesFor"> & { requests: string[][] } {
    const byPattern = new Map(rules.map((rule) => [rule.pattern, rule]));
    const requests: string[][] = [];
    return {
        requests,
        rulesFor: async (addresses: string[]) => {
            requests.push(addresses);
            return new Map([...new Set(addresses.flatMap(candidatePatterns))].map((pattern) => [pattern, byPattern.get(pattern)]));
        },
    };
}
