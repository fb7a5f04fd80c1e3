import { expect } from "chai";
import {
    asksForReconcile, desiredFingerprint, needsAttention, parseSmtpRecord, recordProblem, SendingScope, sendingPolicy, SmtpRecord, validateUsername,
} from "../../../functions/smtp-credential-manager/logic";
import { sendingPolicyProblems } from "../../../policy/policies/ses";
import { simulate } from "../../support/iam-simulator";
import { CONFIGURATION_SET, IDENTITY } from "./test-scope";

const OTHER_CONFIGURATION_SET = "arn:aws:ses:us-east-1:123456789012:configuration-set/someone-elses";
const USER = "arn:aws:iam::123456789012:user/ses-mail/test/ses-smtp-user-app-sender-1737194400";

/** What IAM decides for the SMTP user's request on one resource, evaluated by an IAM policy simulator. */
const decide = (policy: object, action: string, resource: string, fromAddress?: string) =>
    simulate({ identity: [policy] }, { principal: USER, action, resource, context: fromAddress ? { "ses:FromAddress": fromAddress } : {} });

/**
 * A send through an identity whose default configuration set applies: SES authorizes the action
 * against the identity and the configuration set, each with the request's ses:FromAddress (see
 * AWS-SEMANTICS.md, SES; the Service Authorization Reference lists both resource types for
 * ses:SendRawEmail). Allowed only if both are.
 */
async function send(policy: object, fromAddress: string, configurationSet = CONFIGURATION_SET, action = "ses:SendRawEmail"): Promise<string> {
    const results = [await decide(policy, action, IDENTITY, fromAddress), await decide(policy, action, configurationSet, fromAddress)];
    return results.every((r) => r === "Allowed") ? "Allowed" : results.find((r) => r !== "Allowed")!;
}

describe("SMTP user policy (IAM policy simulator)", () => {
    const policy = sendingPolicy([IDENTITY], [CONFIGURATION_SET], ["app@example.com", "notifications@example.com"]);

    it("allows a send through our identity and its configuration set, as an allowed sender", async () => {
        expect(await send(policy, "app@example.com")).to.equal("Allowed");
        expect(await send(policy, "notifications@example.com", CONFIGURATION_SET, "ses:SendEmail")).to.equal("Allowed");
    });

    it("a policy naming only identities is refused on the configuration set (the bug on real SES)", async () => {
        expect(await send(sendingPolicy([IDENTITY], [], ["app@example.com"]), "app@example.com")).to.equal("ImplicitlyDenied");
    });

    it("denies any other From address, on the identity and on the configuration set", async () => {
        expect(await send(policy, "ceo@example.com")).to.equal("ImplicitlyDenied");
        expect(await decide(policy, "ses:SendRawEmail", CONFIGURATION_SET, "ceo@example.com")).to.equal("ImplicitlyDenied");
        expect(await decide(policy, "ses:SendRawEmail", IDENTITY, "ceo@example.com")).to.equal("ImplicitlyDenied");
    });

    it("denies another configuration set", async () => {
        expect(await send(policy, "app@example.com", OTHER_CONFIGURATION_SET)).to.equal("ImplicitlyDenied");
    });

    it("denies other SES actions and non-SES actions", async () => {
        expect(await decide(policy, "ses:SendBounce", IDENTITY, "app@example.com")).to.equal("ImplicitlyDenied");
        expect(await decide(policy, "s3:GetObject", "arn:aws:s3:::bucket/key")).to.equal("ImplicitlyDenied");
    });

    it("denies another account's identity", async () => {
        expect(await decide(policy, "ses:SendRawEmail", "arn:aws:ses:us-east-1:999999999999:identity/other.com", "app@example.com")).to.equal("ImplicitlyDenied");
    });

    it("lists exactly our identities and configuration sets, under a StringEquals ses:FromAddress condition", () => {
        expect(policy.Statement).to.deep.equal([{
            Sid: "SendAsAllowedSenders", Effect: "Allow", Action: ["ses:SendRawEmail", "ses:SendEmail"], Resource: [IDENTITY, CONFIGURATION_SET],
            Condition: { StringEquals: { "ses:FromAddress": ["app@example.com", "notifications@example.com"] } },
        }]);
    });

    it("StringEquals reads * and ? as themselves, and compares case-sensitively (IAM condition operators): the values are lowercase", async () => {
        const literal = sendingPolicy([IDENTITY], [CONFIGURATION_SET], ["*", "?*@example.com"]);
        for (const from of ["ceo@example.com", "MAILER-DAEMON@example.com", "xx@example.com"]) expect(await send(literal, from), from).to.equal("ImplicitlyDenied");
        expect(await send(policy, "App@example.com")).to.equal("ImplicitlyDenied");
    });

    it("an opted-in *@<domain> (StringLike) allows any address of that domain only", async () => {
        const domain = sendingPolicy([IDENTITY], [CONFIGURATION_SET], ["*@example.com"]);
        expect(await send(domain, "ceo@example.com")).to.equal("Allowed");
        expect(await send(domain, "ceo@example.com.evil.org")).to.equal("ImplicitlyDenied");
    });

    it("an empty allowed_senders list denies sending outright", async () => {
        expect(await send(sendingPolicy([IDENTITY], [CONFIGURATION_SET], []), "app@example.com")).to.equal("ExplicitlyDenied");
    });

    it("satisfies the policy pack's ses:FromAddress rule", () => {
        expect(sendingPolicyProblems(policy.Statement as never)).to.deep.equal([]);
    });
});

describe("SMTP record input", () => {
    it("the username comes from the key; a different username attribute is refused with the reason", () => {
        const record = parseSmtpRecord({ PK: "SMTP_USER#app-sender", SK: "CREDENTIALS#v1", username: "other", status: "pending" });
        expect(record.username).to.equal("app-sender");
        expect(recordProblem(record)).to.equal('username attribute "other" differs from the key SMTP_USER#app-sender: the username comes from the key; remove the attribute or make it equal');
        expect(recordProblem(parseSmtpRecord({ PK: "SMTP_USER#app-sender", username: "app-sender" }))).to.equal(undefined);
        expect(recordProblem(parseSmtpRecord({ PK: "SMTP_USER#app-sender" }))).to.equal(undefined);
    });

    it("refuses characters IAM refuses in user names or tag values, and names past IAM's 64 characters", () => {
        for (const bad of ["app sender", "a,b", "a/b", "a:b", "ä", "a#b", ""]) {
            expect(() => validateUsername(bad), JSON.stringify(bad)).to.throw(/may only contain letters, digits and _ \. = \+ @ - \(allowed in both IAM user names and IAM tag values\)/);
        }
        for (const good of ["app-sender", "a.b_c=d+e@f", "x".repeat(39)]) expect(() => validateUsername(good)).not.to.throw();
        expect(() => validateUsername("x".repeat(40))).to.throw(/is 40 characters; at most 39 fit the IAM user name ses-smtp-user-<username>-<timestamp> \(64 characters\)/);
        // The longest accepted name really fits: ses-smtp-user-<39>-<10-digit timestamp> is 64.
        expect(`ses-smtp-user-${"x".repeat(39)}-1737194400`).to.have.length(64);
    });
});

describe("SMTP reconcile triggers", () => {
    const record = (over: Partial<SmtpRecord>): SmtpRecord => ({ username: "u", status: "active", allowedSenders: ["a@example.com"], allowDomainWildcard: false, iamUserName: "ses-smtp-user-u-1", provisionAttempts: 0, ...over });
    const cases: [string, string, SmtpRecord | undefined, SmtpRecord | undefined, boolean][] = [
        ["insert", "INSERT", undefined, record({ status: "pending" }), true],
        ["re-set to pending", "MODIFY", record({}), record({ status: "pending" }), true],
        ["our own attempt counter", "MODIFY", record({ status: "pending" }), record({ status: "pending", provisionAttempts: 1, lastError: "x" }), false],
        ["our own pending → active", "MODIFY", record({ status: "pending" }), record({ smtpUsername: "AKIA" }), false],
        ["our own pending → failed", "MODIFY", record({ status: "pending" }), record({ status: "failed" }), false],
        ["operator disables", "MODIFY", record({}), record({ status: "disabled" }), true],
        ["the sweep asks after a failed disable", "MODIFY", record({ status: "disabled", lastError: "x" }), record({ status: "disabled", reconcileRequestedAt: "t" }), true],
        ["operator enables, senders changed too", "MODIFY", record({ status: "disabled" }), record({ allowedSenders: ["b@example.com"] }), true],
        ["rotation requested", "MODIFY", record({}), record({ rotateRequestedAt: "t1" }), true],
        ["our own rotation result", "MODIFY", record({ rotateRequestedAt: "t1" }), record({ rotateRequestedAt: "t1", rotatedAt: "t1", smtpUsername: "new" }), false],
        ["senders changed", "MODIFY", record({}), record({ allowedSenders: ["b@example.com"] }), true],
        ["senders reordered only", "MODIFY", record({ allowedSenders: ["a@x.com", "b@x.com"] }), record({ allowedSenders: ["b@x.com", "a@x.com"] }), false],
        ["the domain wildcard opt-in changed", "MODIFY", record({ allowedSenders: ["*@example.com"] }), record({ allowedSenders: ["*@example.com"], allowDomainWildcard: true }), true],
        ["the sweep asks", "MODIFY", record({}), record({ reconcileRequestedAt: "t2" }), true],
        ["removed after a user was named", "REMOVE", record({}), undefined, true],
        ["removed before a user was named", "REMOVE", record({ iamUserName: undefined, status: "pending" }), undefined, false],
    ];
    for (const [title, event, before, after, expected] of cases) {
        it(title, () => expect(asksForReconcile(event, before, after)).to.equal(expected));
    }

    it("the sweep attends to records out of sync, pending, failing, or whose overlap ended", () => {
        const now = new Date("2025-01-18T12:00:00Z");
        const scope: SendingScope = { identityArns: [IDENTITY], configurationSetArns: [CONFIGURATION_SET], permissionsBoundaryArn: "arn:aws:iam::123456789012:policy/boundary" };
        const synced = record({ smtpUsername: "AKIA" });
        synced.reconciled = desiredFingerprint(synced, scope);
        const attends = (over: Partial<SmtpRecord>, scopeOver: Partial<SendingScope> = {}) => needsAttention({ ...synced, ...over }, now, { ...scope, ...scopeOver });
        expect(attends({})).to.equal(false);
        expect(attends({ allowedSenders: ["A@Example.com "] }), "the same sender, normalised").to.equal(false);
        expect(attends({ allowedSenders: ["b@example.com"] })).to.equal(true);
        expect(attends({ allowedSenders: ["a@example.com", "*"] }), "a refused sender added").to.equal(true);
        expect(attends({ lastError: "Throttling" })).to.equal(true);
        expect(attends({ retiringKey: { accessKeyId: "old", deleteAfter: "2025-01-18T11:59:59Z" } })).to.equal(true);
        expect(attends({ retiringKey: { accessKeyId: "old", deleteAfter: "2025-01-18T12:00:01Z" } })).to.equal(false);
        expect(attends({ status: "failed", iamUserName: undefined })).to.equal(false);
        expect(attends({ status: "failed" })).to.equal(true);
        // What IAM must match beyond the record: a new boundary, identity or configuration set has every user reconciled.
        expect(attends({}, { permissionsBoundaryArn: "arn:aws:iam::123456789012:policy/other" })).to.equal(true);
        expect(attends({}, { configurationSetArns: [CONFIGURATION_SET, OTHER_CONFIGURATION_SET] })).to.equal(true);
        // A record reconciled by the manager before this version (its fingerprint was the record's own fields).
        expect(attends({ reconciled: JSON.stringify(["active", ["a@example.com"], null]) })).to.equal(true);
    });
});
