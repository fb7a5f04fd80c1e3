// allowed_senders: only exact addresses the stack's identities cover, `*@<domain>` only on an explicit
// opt-in, never anything IAM's StringLike would read as a wildcard; checked on generated addresses
// (fast-check, RFC 5322 shapes included) and the nasty cases, and the resulting policy decided by an
// IAM policy simulator.
import { expect } from "chai";
import fc from "fast-check";
import { senderValues, sendingPolicy, userBoundaryPolicy } from "../../../functions/smtp-credential-manager/logic";
import { simulate } from "../../support/iam-simulator";

const IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com";
const ADDRESS_IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/alerts@example.org";
const CONFIGURATION_SET = "arn:aws:ses:us-east-1:123456789012:configuration-set/ses-mail-outbound-test";
const IDENTITIES = [IDENTITY, ADDRESS_IDENTITY];
const check = (allowedSenders: string[], allowDomainWildcard = false) => senderValues({ allowedSenders, allowDomainWildcard }, IDENTITIES);

/** A local part as RFC 5322 allows it (atext includes * ? ! # $ % & ' + / = ^ ` { | } ~), or as people write them. */
const localPart = fc.oneof(
    fc.emailAddress().map((address) => address.slice(0, address.lastIndexOf("@"))),
    fc.stringMatching(/^[A-Za-z0-9]+(?:[._+-][A-Za-z0-9]+){0,3}$/),
    fc.constantFrom("MAILER-DAEMON", "ceo", "first.last", "bounce+tag", "no-reply"),
);
const wildcard = /[*?]/;

describe("allowed_senders", () => {
    const nasty: [string, string[], boolean, RegExp][] = [
        ["a bare *", ["*"], true, /"\*": wildcards are refused/],
        ["*@*", ["*@*"], true, /"\*@\*": wildcards are refused/],
        ["?*", ["?*"], true, /"\?\*": wildcards are refused/],
        ["*@<our domain> without the opt-in", ["*@example.com"], false, /"\*@example.com" lets the user send as every address of example.com: list exact addresses, or set allow_domain_wildcard: true on the record/],
        ["*@ another domain, opted in", ["*@other.com"], true, /"\*@other.com": wildcards are refused/],
        ["*@ a subdomain pattern, opted in", ["*@*.example.com"], true, /wildcards are refused/],
        ["? in the domain, opted in", ["*@example.co?"], true, /wildcards are refused/],
        ["a wildcard local part prefix, opted in", ["ceo*@example.com"], true, /"ceo\*@example.com": wildcards are refused/],
        ["*@ an address identity's domain (it covers one address only)", ["*@example.org"], true, /wildcards are refused/],
        ["another address of an address identity's domain", ["ceo@example.org"], false, /"ceo@example.org" is not an address the stack may send as \(this stack's SES identities cover example.com, alerts@example.org\)/],
        ["a look-alike domain", ["app@example.com.evil.org"], false, /is not an address the stack may send as/],
        ["a subdomain (an identity of its own would cover it)", ["app@mail.example.com"], false, /is not an address the stack may send as/],
        ["a quoted local part", ['"a b"@example.com'], false, /is not a plain email address/],
        ["a bare local part", ["MAILER-DAEMON"], false, /"MAILER-DAEMON" is not a plain email address/],
        ["an empty string", [""], false, /"" is not a plain email address/],
    ];
    for (const [title, senders, optIn, reason] of nasty) {
        it(`refuses ${title}`, () => {
            const result = check(senders, optIn);
            expect(result.values).to.deep.equal([]);
            expect(result.problem).to.match(reason);
        });
    }

    it("names every refused entry, with its rule, in one reason", () => {
        expect(check(["app@example.com", "*", "x@other.com"]).problem).to.equal(
            "allowed_senders: \"*\": wildcards are refused; list exact addresses (or \"*@<domain>\" of this stack's domains with allow_domain_wildcard: true); \"x@other.com\" is not an address the stack may send as (this stack's SES identities cover example.com, alerts@example.org)",
        );
    });

    it("accepts exact addresses of the identities' domains and address identities, trimmed, lowercased, sorted, once", () => {
        expect(check([" Notifications@Example.COM", "app@example.com", "app@example.com", "Alerts@example.org"])).to.deep.equal({ values: ["alerts@example.org", "app@example.com", "notifications@example.com"] });
    });

    it("accepts *@<domain> of a domain identity only with allow_domain_wildcard: true", () => {
        expect(check(["*@Example.com", "app@example.com"], true)).to.deep.equal({ values: ["*@example.com", "app@example.com"] });
    });

    it("a generated address is either refused with its reason or accepted as exactly its lowercase form at a covered domain, never with a wildcard", () => {
        const domain = fc.oneof(fc.constant("example.com"), fc.constant("EXAMPLE.com"), fc.constant("example.org"), fc.domain());
        const outcomes = { accepted: 0, refused: 0 };
        fc.assert(fc.property(localPart, domain, fc.boolean(), (local, at, optIn) => {
            const address = `${local}@${at}`;
            const { values, problem } = check([address], optIn);
            if (problem) {
                outcomes.refused += 1;
                expect(values).to.deep.equal([]);
                expect(problem).to.include(`"${address}"`);
                return;
            }
            outcomes.accepted += 1;
            expect(values).to.deep.equal([address.toLowerCase()]);
            expect(values[0]).not.to.match(wildcard);
            expect(values[0].endsWith("@example.com") || values[0] === "alerts@example.org").to.equal(true);
        }), { numRuns: 500 });
        expect(outcomes.accepted, JSON.stringify(outcomes)).to.be.greaterThan(50);
        expect(outcomes.refused, JSON.stringify(outcomes)).to.be.greaterThan(50);
    });

    it("anything with * or ? is refused, except exactly *@<domain identity> with the opt-in", () => {
        const text = fc.string({ unit: fc.constantFrom("*", "?", "@", "a", ".", "example.com", "example.org", " ") });
        fc.assert(fc.property(fc.array(text, { maxLength: 4 }), fc.boolean(), (senders, optIn) => {
            const { values } = check(senders, optIn);
            for (const value of values.filter((v) => wildcard.test(v))) {
                expect(value).to.equal("*@example.com");
                expect(optIn).to.equal(true);
            }
        }), { numRuns: 1000 });
    });
});

/** What IAM decides for an SMTP user with this inline policy (within the boundary) sending as `fromAddress` through the identity. */
const send = (policy: object, fromAddress: string) => simulate({ identity: [policy], boundary: userBoundaryPolicy([IDENTITY], [CONFIGURATION_SET]) }, {
    principal: "arn:aws:iam::123456789012:user/ses-mail/test/ses-smtp-user-app-1", action: "ses:SendRawEmail", resource: IDENTITY, context: { "ses:FromAddress": fromAddress },
});
const policyFor = (senders: string[], optIn = false) => sendingPolicy([IDENTITY], [CONFIGURATION_SET], check(senders, optIn).values);

describe("allowed_senders as IAM decides them (IAM policy simulator)", () => {
    it("an accepted address may send as itself and nobody else may: ceo@, MAILER-DAEMON@, a generated other address", async () => {
        const ours = fc.emailAddress().map((a) => `${a.slice(0, a.lastIndexOf("@"))}@example.com`.toLowerCase()).filter((a) => check([a]).problem === undefined);
        await fc.assert(fc.asyncProperty(ours, ours, async (allowed, other) => {
            const policy = policyFor([allowed]);
            expect(await send(policy, allowed)).to.equal("Allowed");
            for (const from of [other, "ceo@example.com", "MAILER-DAEMON@example.com"].filter((f) => f !== allowed)) expect(await send(policy, from), from).to.equal("ImplicitlyDenied");
        }), { numRuns: 40 });
    });

    it("the opted-in *@<domain> sends as any address of the domain, never of another", async () => {
        const policy = policyFor(["*@example.com"], true);
        expect(await send(policy, "ceo@example.com")).to.equal("Allowed");
        expect(await send(policy, "ceo@example.com.evil.org")).to.equal("ImplicitlyDenied");
    });

    it("even a user policy letting anyone send (a compromised manager's) is held to the stack's identities and domains by the boundary", async () => {
        const anyone = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "ses:SendRawEmail", Resource: "*", Condition: { StringLike: { "ses:FromAddress": "*" } } }] };
        expect(await send(anyone, "ceo@example.com")).to.equal("Allowed");
        expect(await send(anyone, "ceo@other.com")).to.equal("ImplicitlyDenied");
    });
});
