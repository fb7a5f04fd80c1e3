// Raw mail is readable by the forwarder (and a break-glass role) only: a principal with s3:GetObject on
// `*` (ReadOnlyAccess, PowerUserAccess) is denied by the bucket policy. Decided by an IAM policy
// simulator from the synthesized bucket policy and the roles' identity policies.
import { expect } from "chai";
import { MailIngest, MAIL_READ_ACTIONS } from "../../components/mail-ingest";
import { SuppressionStore } from "../../components/suppression-store";
import { simulate } from "../support/iam-simulator";
import { MOCK_ACCOUNT, ResourcePlan, runUnderMocks } from "../support/mocks";

const BREAK_GLASS = `arn:aws:iam::${MOCK_ACCOUNT}:role/mail-break-glass`;
const ADMIN = `arn:aws:iam::${MOCK_ACCOUNT}:role/platform-admin`;
const everything = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:*"], Resource: "*" }] };
const readAnyObject = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["s3:GetObject"], Resource: "*" }] };

/**
 * IAM's decision for a role session's request. A role session's aws:PrincipalArn is the role's ARN,
 * not the session's (IAM User Guide, "AWS global condition context keys": aws:PrincipalArn).
 */
function decide(plan: ResourcePlan, roleArn: string, identityPolicy: object, action: string, resource: string, secure = true) {
    return simulate({ identity: [identityPolicy], resource: plan.json(plan.one("aws:s3/bucketPolicy:BucketPolicy"), "policy") }, {
        principal: roleArn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/session",
        action, resource, context: { "aws:PrincipalArn": roleArn, "aws:SecureTransport": String(secure) },
    });
}

describe("MailIngest mail bucket policy (IAM policy simulator)", () => {
    let plan: ResourcePlan;
    let bucketArn: string;
    let forwarderRole: string;
    let forwarderPolicy: object;

    before(async () => {
        ({ plan } = await runUnderMocks(() => new MailIngest("ingest", {
            env: "test", domains: ["example.com"], gmailAccounts: ["me@gmail.com"], tokenMonitoring: false, mailReaderRoleArns: [BREAK_GLASS],
            suppressionStore: new SuppressionStore("suppression", { env: "test" }),
        })));
        bucketArn = plan.one("aws:s3/bucket:Bucket").state.arn;
        forwarderRole = plan.one("aws:iam/role:Role", "ingest-forwarder-role").state.arn;
        forwarderPolicy = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "ingest-forwarder-policy"), "policy");
    });

    it("the forwarder reads inbound mail", async () => {
        expect(await decide(plan, forwarderRole, forwarderPolicy, "s3:GetObject", `${bucketArn}/inbound/abc123`)).to.equal("Allowed");
    });

    it("a principal allowed s3:* on * reads no mail, in any form, yet still manages the bucket", async () => {
        for (const action of MAIL_READ_ACTIONS) {
            expect(await decide(plan, ADMIN, everything, action, `${bucketArn}/inbound/abc123`), action).to.equal("ExplicitlyDenied");
        }
        for (const action of ["s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:PutLifecycleConfiguration", "s3:ListBucket"]) {
            expect(await decide(plan, ADMIN, everything, action, bucketArn), action).to.equal("Allowed");
        }
        expect(await decide(plan, ADMIN, everything, "s3:DeleteObject", `${bucketArn}/inbound/abc123`)).to.equal("Allowed");
    });

    it("ReadOnlyAccess-style s3:GetObject on * is denied", async () => {
        expect(await decide(plan, ADMIN, readAnyObject, "s3:GetObject", `${bucketArn}/inbound/abc123`)).to.equal("ExplicitlyDenied");
    });

    it("the documented break-glass role reads mail with its own s3:GetObject grant", async () => {
        expect(await decide(plan, BREAK_GLASS, readAnyObject, "s3:GetObject", `${bucketArn}/inbound/abc123`)).to.equal("Allowed");
        expect(await decide(plan, BREAK_GLASS, { Version: "2012-10-17", Statement: [] }, "s3:GetObject", `${bucketArn}/inbound/abc123`), "the bucket policy grants nothing itself").to.equal("ImplicitlyDenied");
    });

    it("the forwarder too is refused without TLS", async () => {
        expect(await decide(plan, forwarderRole, forwarderPolicy, "s3:GetObject", `${bucketArn}/inbound/abc123`, false)).to.equal("ExplicitlyDenied");
    });

    it("names the readers by role ARN and denies only object reads", () => {
        const statement = plan.json(plan.one("aws:s3/bucketPolicy:BucketPolicy"), "policy").Statement.find((s: any) => s.Sid === "OnlyMailReadersReadMail");
        expect(statement).to.deep.equal({
            Sid: "OnlyMailReadersReadMail", Effect: "Deny", Principal: "*", Action: MAIL_READ_ACTIONS, Resource: [`${bucketArn}/*`],
            Condition: { ArnNotEquals: { "aws:PrincipalArn": [forwarderRole, BREAK_GLASS] } },
        });
    });
});
