import { runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { expect } from "chai";
import { planAction, sendingPolicy, SmtpRecord, validateUsername } from "../../../functions/smtp-credential-manager/logic";
import { sendingPolicyProblems } from "../../../policy/policies/ses";

const IDENTITY = "arn:aws:ses:us-east-1:123456789012:identity/example.com";
const USER = "arn:aws:iam::123456789012:user/ses-mail/test/ses-smtp-user-app-sender-1737194400";

/** What IAM decides for the SMTP user's request, evaluated by an IAM policy simulator. */
async function decide(policy: object, action: string, resource: string, fromAddress?: string): Promise<string> {
    const simulation: Simulation = {
        identityPolicies: [{ name: "ses-smtp-send", policy }],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: undefined,
        request: {
            action,
            principal: USER,
            resource: { resource, accountId: "123456789012" },
            contextVariables: fromAddress ? { "ses:FromAddress": fromAddress } : {},
        },
    } as unknown as Simulation;
    const response = await runSimulation(simulation, {});
    if (response.resultType === "error") throw new Error(JSON.stringify(response.errors));
    return response.overallResult;
}

describe("SMTP user policy (IAM policy simulator)", () => {
    const policy = sendingPolicy([IDENTITY], ["app@example.com", "notifications@example.com"]);

    it("allows sending as an allowed sender through our identity", async () => {
        expect(await decide(policy, "ses:SendRawEmail", IDENTITY, "app@example.com")).to.equal("Allowed");
        expect(await decide(policy, "ses:SendEmail", IDENTITY, "notifications@example.com")).to.equal("Allowed");
    });

    it("denies any other From address", async () => {
        expect(await decide(policy, "ses:SendRawEmail", IDENTITY, "ceo@example.com")).to.equal("ImplicitlyDenied");
    });

    it("denies other SES actions and non-SES actions", async () => {
        expect(await decide(policy, "ses:SendBounce", IDENTITY, "app@example.com")).to.equal("ImplicitlyDenied");
        expect(await decide(policy, "s3:GetObject", "arn:aws:s3:::bucket/key")).to.equal("ImplicitlyDenied");
    });

    it("denies another account's identity", async () => {
        expect(await decide(policy, "ses:SendRawEmail", "arn:aws:ses:us-east-1:999999999999:identity/other.com", "app@example.com")).to.equal("ImplicitlyDenied");
    });

    it("an empty allowed_senders list denies sending outright", async () => {
        expect(await decide(sendingPolicy([IDENTITY], []), "ses:SendRawEmail", IDENTITY, "app@example.com")).to.equal("ExplicitlyDenied");
    });

    it("satisfies the policy pack's ses:FromAddress rule", () => {
        expect(sendingPolicyProblems(policy.Statement as never)).to.deep.equal([]);
    });
});

describe("SMTP record planning", () => {
    const record = (over: Partial<SmtpRecord>): SmtpRecord => ({ username: "u", status: "active", allowedSenders: ["a@example.com"], iamUserName: "ses-smtp-user-u-1", ...over });
    const cases: [string, string, SmtpRecord | undefined, SmtpRecord | undefined, string][] = [
        ["insert pending", "INSERT", undefined, record({ status: "pending" }), "provision"],
        ["re-set to pending", "MODIFY", record({}), record({ status: "pending" }), "provision"],
        ["our own attempt counter", "MODIFY", record({ status: "pending" }), record({ status: "pending" }), "none"],
        ["our own pending → active", "MODIFY", record({ status: "pending" }), record({}), "none"],
        ["operator disables", "MODIFY", record({}), record({ status: "disabled" }), "disable"],
        ["operator enables", "MODIFY", record({ status: "disabled" }), record({}), "enable"],
        ["rotation requested", "MODIFY", record({}), record({ rotateRequestedAt: "t1" }), "rotate"],
        ["our own rotation result", "MODIFY", record({ rotateRequestedAt: "t1" }), record({ rotateRequestedAt: "t1", rotatedAt: "t1" }), "none"],
        ["senders changed", "MODIFY", record({}), record({ allowedSenders: ["b@example.com"] }), "update-policy"],
        ["senders reordered only", "MODIFY", record({ allowedSenders: ["a@x.com", "b@x.com"] }), record({ allowedSenders: ["b@x.com", "a@x.com"] }), "none"],
        ["removed after provisioning", "REMOVE", record({}), undefined, "delete"],
        ["removed before provisioning", "REMOVE", record({ iamUserName: undefined, status: "pending" }), undefined, "none"],
    ];
    for (const [title, event, before, after, expected] of cases) {
        it(title, () => expect(planAction(event, before, after)).to.equal(expected));
    }

    it("validates usernames against IAM's rules and the 64-character limit", () => {
        expect(() => validateUsername("app sender")).to.throw(/may only contain/);
        expect(() => validateUsername("x".repeat(39))).not.to.throw();
        expect(() => validateUsername("x".repeat(40))).to.throw(/at most 39 fit/);
    });
});
