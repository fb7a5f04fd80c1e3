// One KMS key per stack (issue #20): what the key encrypts, what its policy lets and denies, and the
// move from a key per component that loses no data (docs/OPERATIONS.md, "One KMS key per stack").
import { expect } from "chai";
import fc from "fast-check";
import { stackKmsKey } from "../../components/kms-key";
import { adoptedKeyOwner, stackKeyAlias } from "../../stacks/program";
import { parseStackConfig } from "../../stacks/config";
import { simulate } from "../support/iam-simulator";
import { MOCK_ACCOUNT, promiseOf, runUnderMocks, type RecordedResource, type ResourcePlan } from "../support/mocks";
import { cachedStack, loadStackConfig } from "../support/stack";

const KEY = "aws:kms/key:Key";
const keyArnOf = (plan: ResourcePlan, name: string): string => plan.one(KEY, name).state.arn;

/** The stack's config with `ses-mail:kms` replaced. */
const withKms = (stack: string, mode: string) => ({ ...loadStackConfig(stack), "ses-mail:kms": JSON.stringify({ mode }) });
/** The stack's config with `ses-mail:smtp.enabled` false (its other SMTP settings kept). */
const withoutSmtp = (stack: string) => {
    const config = loadStackConfig(stack);
    return { ...config, "ses-mail:smtp": JSON.stringify({ ...JSON.parse(config["ses-mail:smtp"]), enabled: false }) };
};

/**
 * The URN the engine gives a resource: every ancestor's type in its qualified type (the mock monitor
 * keeps only the parent's, so a grandchild's mock URN is not what state holds).
 */
function engineUrn(stack: string, plan: ResourcePlan, resource: RecordedResource): string {
    const types = [resource.type];
    for (let parent = plan.resources.find((r) => r.urn === resource.parentUrn); parent && parent.type !== "pulumi:pulumi:Stack"; parent = plan.resources.find((r) => r.urn === parent!.parentUrn)) {
        types.unshift(parent.type);
    }
    return `urn:pulumi:${stack}::ses-mail::${types.join("$")}::${resource.name}`;
}

/** Every place a key ARN is used: topics, the SMTP manager, the role policies. */
function keyUses(plan: ResourcePlan): string[] {
    return [
        ...plan.ofType("aws:sns/topic:Topic").map((t) => String(t.inputs.kmsMasterKeyId)),
        ...plan.ofType("aws:lambda/function:Function").map((f) => f.inputs.environment?.variables?.KMS_KEY_ID).filter((id): id is string => id !== undefined),
    ];
}

describe("one KMS key per stack", () => {
    const runs = new Map<string, Promise<Awaited<ReturnType<typeof cachedStack>>>>();
    const run = (stack: string, mode?: string) => {
        const key = `${stack}:${mode ?? "file"}`;
        if (!runs.has(key)) runs.set(key, mode === undefined ? cachedStack(stack) : cachedStack(stack, withKms(stack, mode)));
        return runs.get(key)!;
    };

    it("both deployed stacks ship mode migrating (never straight to shared: the old keys' retainOnDelete must reach state first)", () => {
        for (const stack of ["test", "prod"]) expect(JSON.parse(loadStackConfig(stack)["ses-mail:kms"]), stack).to.deep.equal({ mode: "migrating" });
    });

    it("test at the end of its migration (mode shared): one key, and every topic and the SMTP credentials use it", async () => {
        const { plan, outputs } = await run("test", "shared");
        const keys = plan.ofType(KEY);
        expect(keys.map((k) => k.name)).to.deep.equal(["stack-key"]);
        const arn = keyArnOf(plan, "stack-key");
        expect(await promiseOf(outputs.stackKmsKeyArn as never)).to.equal(arn);
        const uses = keyUses(plan);
        // feedback, 3 identity notifications, sender notifications, inbound, alarms, token alerts; the SMTP manager.
        expect(uses.length).to.equal(9);
        expect(new Set(uses), "every topic and the manager encrypt with the stack key").to.deep.equal(new Set([arn]));
        expect(plan.ofType("aws:kms/alias:Alias").map((a) => a.inputs.name)).to.deep.equal(["alias/ses-mail-stack-test"]);
    });

    it("its policy: SES and CloudWatch for this account only; SMTP credentials (the username context) decrypted by the admins alone, re-encrypt and grants by them alone, the policy changed by deployers", async () => {
        const { plan } = await run("test");
        const policy = plan.json(plan.one(KEY, "stack-key"), "policy");
        const bySid = Object.fromEntries(policy.Statement.map((s: any) => [s.Sid, s]));
        expect(Object.keys(bySid)).to.deep.equal(["AccountAdministersKeyThroughIam", "sesUsesKey", "cloudwatchUsesKey", "DecryptOnlyByAdmins", "ReEncryptAndGrantOnlyByAdmins", "KeyPolicyOnlyByDeployers"]);
        for (const service of ["ses", "cloudwatch"]) {
            expect(bySid[`${service}UsesKey`]).to.deep.include({ Principal: { Service: `${service}.amazonaws.com` }, Action: ["kms:GenerateDataKey", "kms:Decrypt"], Condition: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT } } });
        }
        const admins = JSON.parse(loadStackConfig("test")["ses-mail:smtp"]).adminPrincipalArns as string[];
        expect(bySid.DecryptOnlyByAdmins).to.deep.include({ Effect: "Deny", Action: ["kms:Decrypt"], Condition: { ArnNotEquals: { "aws:PrincipalArn": admins }, Null: { "kms:EncryptionContext:username": "false" } } });
        expect(bySid.ReEncryptAndGrantOnlyByAdmins).to.deep.include({ Effect: "Deny", Action: ["kms:ReEncryptFrom", "kms:CreateGrant"], Condition: { ArnNotEquals: { "aws:PrincipalArn": admins } } });
    });

    // The simulator (@cloud-copilot/iam-simulate) ignores kms:EncryptionContext:<key> request keys (a Deny
    // on them never matched in a probe), so the context-scoped decrypt deny is checked as written above;
    // here what it evaluates: the outright denies, and that IAM-granted use of the key still works.
    it("evaluated (IAM policy simulator): any principal but an admin is denied re-encrypting and grants, whatever its IAM policy; the topics' users are not", async () => {
        const { plan } = await run("test");
        const resource = plan.json(plan.one(KEY, "stack-key"), "policy");
        const keyArn = keyArnOf(plan, "stack-key");
        const admin = (JSON.parse(loadStackConfig("test")["ses-mail:smtp"]).adminPrincipalArns as string[])[0];
        const role = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,20}$/).map((name) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${name}`);
        const everything = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:CreateGrant"], Resource: keyArn }] };
        const decide = (principalArn: string, action: string, context: Record<string, string> = {}) => simulate({ identity: [everything], resource }, {
            principal: principalArn, action, resource: keyArn, context: { "aws:PrincipalArn": principalArn, ...context },
        });
        await fc.assert(fc.asyncProperty(role, fc.emailAddress(), async (principal, user) => {
            fc.pre(principal !== admin);
            const smtp = { "kms:EncryptionContext:username": user, "kms:EncryptionContextKeys": "username" };
            expect(await decide(principal, "kms:ReEncryptFrom", smtp), `${principal} re-encrypts ${user}'s password to a key of its own`).to.equal("ExplicitlyDenied");
            expect(await decide(principal, "kms:CreateGrant")).to.equal("ExplicitlyDenied");
            // A consumer of the topics (a role with kms:Decrypt in its IAM policy) still decrypts what is not an SMTP password.
            expect(await decide(principal, "kms:Decrypt", { "kms:EncryptionContext:aws:sns:topicArn": "arn:aws:sns:us-east-1:1:t" })).to.equal("Allowed");
            expect(await decide(principal, "kms:GenerateDataKey")).to.equal("Allowed");
        }), { numRuns: 15 });
        expect(await decide(admin, "kms:Decrypt", { "kms:EncryptionContext:username": "app", "kms:EncryptionContextKeys": "username" })).to.equal("Allowed");
        expect(await decide(admin, "kms:ReEncryptFrom")).to.equal("Allowed");
    });

    for (const stack of ["test", "prod"]) it(`${stack} (mode migrating): the stack key takes over the SMTP key's URN; the other keys stay, unchanged, retained on delete and unused`, async () => {
        const before = (await run(stack, "per-component")).plan;
        const { plan } = await run(stack);
        const stackKey = plan.one(KEY, "stack-key");
        const retained = plan.ofType(KEY).filter((k) => k.name !== "stack-key");
        expect(retained.map((k) => k.name).sort()).to.deep.equal(["alarms-key", "feedback-key", "ingest-key", "ingest-token-alerts-key"]);
        for (const key of retained) {
            expect(key.retainOnDelete, key.name).to.equal(true);
            // Same inputs as before the move: declaring them again changes nothing in AWS.
            expect(key.inputs, key.name).to.deep.equal(before.one(KEY, key.name).inputs);
            expect(plan.one("aws:kms/alias:Alias", `${key.name}-alias`).retainOnDelete).to.equal(true);
        }
        // The stack key holds every SMTP password: a config slip back to per-component must not delete it.
        expect(stackKey.retainOnDelete).to.equal(true);
        expect(plan.one("aws:kms/alias:Alias", "stack-key-alias").retainOnDelete).to.equal(false);
        // Nothing is encrypted with a retained key any more.
        const arn = keyArnOf(plan, "stack-key");
        expect(new Set(keyUses(plan).map((use) => use.replace(/^alias\/.*/, "alias")))).to.deep.equal(new Set([arn]));
        // No smtp-key is declared: the stack key answers to its URN (stackKeyAlias, below).
        expect(plan.resources.filter((r) => r.name.startsWith("smtp-key"))).to.deep.equal([]);
        expect(before.resources.filter((r) => r.name.startsWith("smtp-key")).map((r) => [r.type, r.parentType])).to.have.deep.members([
            ["ses-mail:index:KmsKey", "ses-mail:index:SmtpCredentials"], ["aws:kms/key:Key", "ses-mail:index:KmsKey"], ["aws:kms/alias:Alias", "ses-mail:index:KmsKey"],
        ]);
    });

    // An `up` interrupted after the component's step but before the key's finds `stack-key` by its own URN
    // next time; the children must still answer to the old key's URNs by aliases of their own.
    for (const [stack, smtp] of [["test", true], ["prod", true], ["prod", false]] as const) {
        it(`${stack}${smtp ? "" : " without SMTP credentials"}: the stack key component, its key and its alias each carry an alias to the old key's URN`, async () => {
            const config = smtp ? loadStackConfig(stack) : withoutSmtp(stack);
            const before = (await cachedStack(stack, { ...config, "ses-mail:kms": JSON.stringify({ mode: "per-component" }) })).plan;
            const { plan } = smtp ? await run(stack) : await cachedStack(stack, config);
            const owner = smtp ? "smtp" : "feedback";
            for (const [type, name, old] of [["ses-mail:index:KmsKey", "stack-key", `${owner}-key`], [KEY, "stack-key", `${owner}-key`], ["aws:kms/alias:Alias", "stack-key-alias", `${owner}-key-alias`]]) {
                expect(plan.one(type, name).aliases, `${type} ${name}`).to.deep.equal([engineUrn(stack, before, before.one(type, old))]);
            }
            expect(plan.one(KEY, "stack-key").aliases).to.deep.equal([`urn:pulumi:${stack}::ses-mail::ses-mail:index:${smtp ? "SmtpCredentials" : "FeedbackPipeline"}$ses-mail:index:KmsKey$aws:kms/key:Key::${owner}-key`]);
            // No other resource gains an alias with the stack key.
            const aliased = (p: ResourcePlan) => p.resources.filter((r) => (r.aliases ?? []).length > 0).map((r) => r.name);
            expect(aliased(plan).filter((name) => !aliased(before).includes(name)).sort()).to.deep.equal(["stack-key", "stack-key", "stack-key-alias"]);
        });
    }

    it("without SMTP credentials (smtp.enabled false): the stack key still denies decrypting under the username context, re-encrypting and granting to all but smtp.adminPrincipalArns", async () => {
        const config = withoutSmtp("prod");
        const { plan } = await cachedStack("prod", config);
        expect(plan.ofType("aws:lambda/function:Function").filter((f) => f.name.startsWith("smtp"))).to.deep.equal([]);
        const bySid = Object.fromEntries(plan.json(plan.one(KEY, "stack-key"), "policy").Statement.map((st: any) => [st.Sid, st]));
        const admins = JSON.parse(config["ses-mail:smtp"]).adminPrincipalArns as string[];
        expect(admins.length).to.be.greaterThan(0);
        expect(bySid.DecryptOnlyByAdmins).to.deep.include({ Effect: "Deny", Action: ["kms:Decrypt"], Condition: { ArnNotEquals: { "aws:PrincipalArn": admins }, Null: { "kms:EncryptionContext:username": "false" } } });
        expect(bySid.ReEncryptAndGrantOnlyByAdmins).to.deep.include({ Effect: "Deny", Action: ["kms:ReEncryptFrom", "kms:CreateGrant"], Condition: { ArnNotEquals: { "aws:PrincipalArn": admins } } });
        expect(bySid.KeyPolicyOnlyByDeployers.Action).to.deep.equal(["kms:PutKeyPolicy"]);
    });

    it("stackKmsKey: whatever the admins (none given: nobody), its policy denies the username context's decrypt, re-encrypt and grants to all others, and keeps the policy to the deployers", async () => {
        const arn = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,12}$/).map((name) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${name}`);
        await fc.assert(fc.asyncProperty(fc.option(fc.uniqueArray(arn, { maxLength: 3 }), { nil: undefined }), fc.uniqueArray(arn, { minLength: 1, maxLength: 2 }), async (admins, deployers) => {
            const { plan } = await runUnderMocks(() => stackKmsKey("k", { env: "x", credentialAdminArns: admins, deployerPrincipalArns: deployers }));
            const key = plan.one(KEY, "k");
            expect(key.retainOnDelete).to.equal(true);
            const bySid = Object.fromEntries(plan.json(key, "policy").Statement.map((st: any) => [st.Sid, st]));
            // No admins: the deny has no exemption (everyone is denied).
            const exempt = admins?.length ? { ArnNotEquals: { "aws:PrincipalArn": admins } } : {};
            expect(bySid.DecryptOnlyByAdmins).to.deep.include({ Effect: "Deny", Action: ["kms:Decrypt"], Condition: { ...exempt, Null: { "kms:EncryptionContext:username": "false" } } });
            expect(bySid.ReEncryptAndGrantOnlyByAdmins).to.deep.include({ Effect: "Deny", Action: ["kms:ReEncryptFrom", "kms:CreateGrant"] });
            expect(bySid.ReEncryptAndGrantOnlyByAdmins.Condition).to.deep.equal(admins?.length ? exempt : undefined);
            expect(bySid.KeyPolicyOnlyByDeployers.Condition.ArnNotEquals["aws:PrincipalArn"]).to.deep.equal([...deployers, "arn:aws:iam::123456789012:root"]);
            // Not adopting a key: nothing carries an alias.
            expect(plan.resources.flatMap((r) => r.aliases ?? [])).to.deep.equal([]);
        }), { numRuns: 8 });
    });

    it("per-component (the default): a key of its own in each component, as before, none retained", async () => {
        const { plan } = await run("prod", "per-component");
        expect(plan.ofType(KEY).map((k) => [k.name, k.retainOnDelete])).to.have.deep.members(
            ["feedback-key", "ingest-key", "ingest-token-alerts-key", "alarms-key", "smtp-key"].map((name) => [name, false]));
        expect(parseStackConfig({ environment: "x" }, "x").kms.mode).to.equal("per-component");
    });

    it("the key taken over is the SMTP credentials' whenever the stack has them (their data lives for years), else the feedback pipeline's", () => {
        fc.assert(fc.property(fc.boolean(), fc.constantFrom("per-component", "migrating", "shared"), (smtp, mode) => {
            const config = parseStackConfig({ environment: "x", smtp: { enabled: smtp }, kms: { mode } }, "x");
            expect(adoptedKeyOwner(config)).to.equal(smtp ? "smtp" : "feedback");
            // The URN it answers to is that component's own key's (createStack names the components "smtp" and "feedback").
            expect(stackKeyAlias(config)).to.deep.equal(smtp
                ? { name: "smtp-key", parentName: "smtp", parentType: "ses-mail:index:SmtpCredentials" }
                : { name: "feedback-key", parentName: "feedback", parentType: "ses-mail:index:FeedbackPipeline" });
        }));
        expect(() => parseStackConfig({ environment: "x", kms: { mode: "one" } }, "x")).to.throw(/ses-mail:kms.mode: invalid value "one". Fix: use per-component/);
    });
});
