// What the policies SmtpCredentials synthesizes let principals do, decided by an IAM policy
// simulator: the manager's role cannot make a way to admin, a user it creates can only send, and only
// admins decrypt the stored credentials. Policies are taken from the mocked component's resources.
import { expect } from "chai";
import { SmtpCredentials } from "../../components/smtp-credentials";
import { simulate } from "../support/iam-simulator";
import { MOCK_ACCOUNT as ACCOUNT, ResourcePlan, runUnderMocks } from "../support/mocks";

const IDENTITY = `arn:aws:ses:us-east-1:${ACCOUNT}:identity/example.com`;
const CONFIGURATION_SET = `arn:aws:ses:us-east-1:${ACCOUNT}:configuration-set/ses-mail-outbound-test`;
const ADMIN_ROLE = `arn:aws:iam::${ACCOUNT}:role/mail-admins`;
const USER = `arn:aws:iam::${ACCOUNT}:user/ses-mail/test/ses-smtp-user-app-1737194400`;
const ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess";
const allowEverything = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };

describe("SmtpCredentials security (IAM policy simulator)", () => {
    let plan: ResourcePlan;
    let rolePolicy: object;
    let boundary: object;
    let boundaryArn: string;
    let managerSession: string;
    before(async () => {
        ({ plan } = await runUnderMocks(() => new SmtpCredentials("smtp", { env: "test", homeRegion: "us-east-1", identityArns: [IDENTITY], adminPrincipalArns: [ADMIN_ROLE] })));
        rolePolicy = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "smtp-manager-policy"), "policy");
        boundary = plan.json(plan.one("aws:iam/policy:Policy", "smtp-user-boundary"), "policy");
        boundaryArn = plan.one("aws:iam/policy:Policy", "smtp-user-boundary").state.arn;
        const roleName = plan.one("aws:iam/role:Role", "smtp-manager-role").state.name;
        managerSession = `arn:aws:sts::${ACCOUNT}:assumed-role/${roleName}/ses-mail-smtp-credential-manager`;
    });

    describe("the manager's role: no way to admin", () => {
        // iam:PermissionsBoundary is the boundary in the request for CreateUser and
        // PutUserPermissionsBoundary, and the one the user carries for PutUserPolicy and
        // AttachUserPolicy ("IAM and AWS STS condition context keys"; Service Authorization Reference, IAM).
        const manager = (action: string, boundaryInContext?: string, resource = USER, extra: object[] = []) => simulate({ identity: [rolePolicy, ...extra] }, {
            principal: managerSession, action, resource, context: boundaryInContext ? { "iam:PermissionsBoundary": boundaryInContext } : {},
        });

        it("creates users and puts their policy only with this stack's boundary", async () => {
            expect(await manager("iam:CreateUser")).to.equal("ExplicitlyDenied");
            expect(await manager("iam:CreateUser", boundaryArn)).to.equal("Allowed");
            expect(await manager("iam:CreateUser", ADMINISTRATOR_ACCESS)).to.equal("ExplicitlyDenied");
            expect(await manager("iam:PutUserPolicy")).to.equal("ExplicitlyDenied");
            expect(await manager("iam:PutUserPolicy", boundaryArn)).to.equal("Allowed");
            expect(await manager("iam:PutUserPermissionsBoundary", boundaryArn)).to.equal("Allowed");
            expect(await manager("iam:PutUserPermissionsBoundary", ADMINISTRATOR_ACCESS)).to.equal("ExplicitlyDenied");
        });

        it("never attaches a managed policy nor removes a boundary", async () => {
            expect(await manager("iam:AttachUserPolicy", boundaryArn)).to.equal("ExplicitlyDenied");
            expect(await manager("iam:DeleteUserPermissionsBoundary", boundaryArn)).to.equal("ExplicitlyDenied");
        });

        it("touches no user outside its path, no role and no managed policy", async () => {
            expect(await manager("iam:CreateUser", boundaryArn, `arn:aws:iam::${ACCOUNT}:user/admin`)).to.equal("ImplicitlyDenied");
            expect(await manager("iam:CreateAccessKey", undefined, `arn:aws:iam::${ACCOUNT}:user/admin`)).to.equal("ImplicitlyDenied");
            expect(await manager("iam:PutRolePolicy", undefined, `arn:aws:iam::${ACCOUNT}:role/any`)).to.equal("ImplicitlyDenied");
            // Not even a new version of the boundary (under the users' path, like every managed policy of the stack).
            expect(await manager("iam:CreatePolicyVersion", undefined, `arn:aws:iam::${ACCOUNT}:policy/ses-mail/test/ses-mail-smtp-user-boundary-test-20250118`)).to.equal("ImplicitlyDenied");
        });

        it("the denies hold even if the role is later granted everything", async () => {
            expect(await manager("iam:CreateUser", undefined, USER, [allowEverything])).to.equal("ExplicitlyDenied");
            expect(await manager("iam:PutUserPolicy", undefined, USER, [allowEverything])).to.equal("ExplicitlyDenied");
            expect(await manager("iam:AttachUserPolicy", boundaryArn, USER, [allowEverything])).to.equal("ExplicitlyDenied");
        });
    });

    describe("a user the manager creates: its inline policy within the boundary", () => {
        // The worst inline policy the role could put: effective permissions are the intersection
        // with the boundary ("Permissions boundaries for IAM entities").
        const asUser = (action: string, resource: string, fromAddress?: string) => simulate({ identity: [allowEverything], boundary }, {
            principal: USER, action, resource, context: fromAddress ? { "ses:FromAddress": fromAddress } : {},
        });
        const escalations: [string, string][] = [
            ["iam:CreateUser", `arn:aws:iam::${ACCOUNT}:user/backdoor`],
            ["iam:CreateAccessKey", `arn:aws:iam::${ACCOUNT}:user/admin`],
            ["iam:AttachUserPolicy", USER],
            ["iam:PutUserPolicy", USER],
            ["iam:DeleteUserPermissionsBoundary", USER],
            ["iam:CreateLoginProfile", USER],
            ["iam:AttachRolePolicy", `arn:aws:iam::${ACCOUNT}:role/any`],
            ["iam:UpdateAssumeRolePolicy", `arn:aws:iam::${ACCOUNT}:role/any`],
            ["iam:PassRole", `arn:aws:iam::${ACCOUNT}:role/any`],
            ["iam:CreatePolicyVersion", `arn:aws:iam::${ACCOUNT}:policy/any`],
            ["s3:GetObject", "arn:aws:s3:::ses-mail-inbound-test/mail"],
            ["s3:PutObject", "arn:aws:s3:::ses-mail-inbound-test/mail"],
            ["s3:ListBucket", "arn:aws:s3:::ses-mail-inbound-test"],
            ["s3:PutBucketPolicy", "arn:aws:s3:::ses-mail-inbound-test"],
            ["kms:Decrypt", `arn:aws:kms:us-east-1:${ACCOUNT}:key/any`],
            ["sts:AssumeRole", `arn:aws:iam::${ACCOUNT}:role/any`],
            ["ses:SendBounce", IDENTITY],
            ["ses:CreateEmailIdentityPolicy", IDENTITY],
        ];
        for (const [action, resource] of escalations) {
            it(`cannot ${action}`, async () => expect(await asUser(action, resource)).to.equal("ImplicitlyDenied"));
        }

        it("can send through the stack's identity and configuration set, as its domain's addresses only", async () => {
            for (const resource of [IDENTITY, CONFIGURATION_SET]) {
                expect(await asUser("ses:SendRawEmail", resource, "app@example.com")).to.equal("Allowed");
                expect(await asUser("ses:SendRawEmail", resource, "ceo@other.com")).to.equal("ImplicitlyDenied");
            }
            expect(await asUser("ses:SendRawEmail", `arn:aws:ses:us-east-1:${ACCOUNT}:identity/other.com`, "app@other.com")).to.equal("ImplicitlyDenied");
        });
    });

    describe("the credentials key: only admins decrypt, only the deployer re-policies", () => {
        const KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/smtp-key-physical`;
        const DEPLOYER = `arn:aws:iam::${ACCOUNT}:user/mock`; // the mocks' caller identity
        const ROOT = `arn:aws:iam::${ACCOUNT}:root`;
        const kmsEverything = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:*", Resource: "*" }] };
        const keyPolicy = () => plan.json(plan.one("aws:kms/key:Key"), "policy");
        /** aws:PrincipalArn of a role session is the role's ARN, not the session's ("AWS global condition context keys"). */
        const withKms = (principal: string, principalArn: string, action: string, policy = keyPolicy()) => simulate({ identity: [kmsEverything], resource: policy }, {
            principal, action, resource: KEY, context: { "aws:PrincipalArn": principalArn },
        });
        const powerUser = (action: string, policy?: object) => withKms(`arn:aws:sts::${ACCOUNT}:assumed-role/PowerUser/mallory`, `arn:aws:iam::${ACCOUNT}:role/PowerUser`, action, policy);
        const admin = (action: string) => withKms(`arn:aws:sts::${ACCOUNT}:assumed-role/mail-admins/alice`, ADMIN_ROLE, action);

        it("a non-admin with kms:* in its IAM policies can neither decrypt, re-encrypt to its own key, grant itself nor re-policy", async () => {
            for (const action of ["kms:Decrypt", "kms:ReEncryptFrom", "kms:CreateGrant", "kms:PutKeyPolicy"]) expect(await powerUser(action), action).to.equal("ExplicitlyDenied");
        });

        it("a Deny on kms:Decrypt alone (the key policy before) left re-encryption and grants open", async () => {
            const before = keyPolicy();
            before.Statement = before.Statement.filter((s: { Sid?: string }) => s.Sid !== "KeyPolicyOnlyByDeployers")
                .map((s: { Sid?: string }) => (s.Sid === "DecryptOnlyByAdmins" ? { ...s, Action: ["kms:Decrypt"] } : s));
            expect(await powerUser("kms:Decrypt", before)).to.equal("ExplicitlyDenied");
            for (const action of ["kms:ReEncryptFrom", "kms:CreateGrant", "kms:PutKeyPolicy"]) expect(await powerUser(action, before), action).to.equal("Allowed");
        });

        it("an admin decrypts, but does not re-policy", async () => {
            expect(await admin("kms:Decrypt")).to.equal("Allowed");
            expect(await admin("kms:PutKeyPolicy")).to.equal("ExplicitlyDenied");
        });

        it("the deployer (and the root user, break-glass) re-policy, but do not decrypt", async () => {
            expect(await withKms(DEPLOYER, DEPLOYER, "kms:PutKeyPolicy")).to.equal("Allowed");
            expect(await withKms(DEPLOYER, DEPLOYER, "kms:Decrypt")).to.equal("ExplicitlyDenied");
            expect(await withKms(ROOT, ROOT, "kms:PutKeyPolicy")).to.equal("Allowed");
            expect(await withKms(ROOT, ROOT, "kms:Decrypt")).to.equal("ExplicitlyDenied");
        });

        it("the manager encrypts, and cannot decrypt what it encrypted", async () => {
            const role = plan.one("aws:iam/role:Role", "smtp-manager-role").state.arn;
            const managerPolicies = [rolePolicy, plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "smtp-manager-kms"), "policy")];
            const asManager = (action: string) => simulate({ identity: managerPolicies, resource: keyPolicy() }, { principal: managerSession, action, resource: KEY, context: { "aws:PrincipalArn": role } });
            expect(await asManager("kms:Encrypt")).to.equal("Allowed");
            expect(await asManager("kms:Decrypt")).to.equal("ExplicitlyDenied");
        });
    });
});
