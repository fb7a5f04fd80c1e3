import { expect } from "chai";
import { MOCK_REGION, type ResourcePlan } from "../support/mocks";
import { cachedStack, loadStackConfig } from "../support/stack";

/** The stack, as `pulumi up` would deploy it in `region` (its Pulumi.<stack>.yaml copied with another aws:region). */
async function stackIn(stack: string, region: string): Promise<ResourcePlan> {
    const own = loadStackConfig(stack);
    if (region === own["aws:region"] && region === MOCK_REGION) {
        // The stack as its file has it, where the mocks deploy by default: the synthesis other files use.
        return (await cachedStack(stack)).plan;
    }
    return (await cachedStack(stack, { ...own, "aws:region": region }, { region })).plan;
}

/**
 * Names that are unique in the whole account (IAM roles, users and managed policies) or partition (S3
 * buckets), whatever the region, and the SMTP users' IAM path: the manager deletes every user under
 * it that its own table does not know.
 */
function globalNames(plan: ResourcePlan): string[] {
    const iam = plan.resources.filter((r) => ["aws:iam/role:Role", "aws:iam/user:User", "aws:iam/policy:Policy"].includes(r.type) && r.inputs.name).map((r) => `${r.type} ${r.inputs.name}`);
    const buckets = plan.ofType("aws:s3/bucket:Bucket").map((b) => `bucket ${b.inputs.bucket}`);
    const paths = plan.ofType("aws:lambda/function:Function").flatMap((f) => f.inputs.environment?.variables?.IAM_PATH ?? []).map((p: string) => `IAM path ${p}`);
    return [...iam, ...buckets, ...paths].sort();
}

const role = (name: string) => `aws:iam/role:Role ${name}`;

describe("stacks in a second region", () => {
    it("keep today's global names in their home region (ses-mail:homeRegion: us-east-1)", async () => {
        const today = (env: string, account: string) => [
            `IAM path /ses-mail/${env}/`,
            `bucket ses-mail-email-${env}-123456789012`,
            ...[
                "bouncer-fn", "email-router-pipe", "feedback-worker-fn", "gmail-forwarder-fn", "gmail-forwarder-retry-drain-sfn",
                `gmail-token-${account}-scheduler`, `gmail-token-monitor-${account}-sfn`, `gmail-token-probe-${account}-fn`,
                // The send-quota check only in prod: test shares its account (sending.quotaCheck false).
                "router-fn", "runbooks", ...(env === "prod" ? ["send-quota-fn", "send-quota-scheduler"] : []), "sending-brake-fn",
                "smtp-credential-manager-fn", ...(env === "prod" ? ["suppression-mirror-fn"] : []),
            ].map((purpose) => role(`ses-mail-${purpose}-${env}`)),
        ].sort();
        expect(globalNames(await stackIn("test", "us-east-1"))).to.deep.equal(today("test", "you-gmail-com"));
        expect(globalNames(await stackIn("prod", "us-east-1"))).to.deep.equal(today("prod", "support-team-gmail-com"));
    });

    for (const stack of ["test", "prod"]) {
        it(`${stack} deployed again in another region shares no global name with its home region`, async () => {
            const home = globalNames(await stackIn(stack, "us-east-1"));
            for (const region of ["eu-west-1", "ap-southeast-2"]) {
                const second = globalNames(await stackIn(stack, region));
                expect(second, region).to.have.length(home.length);
                expect(second.filter((name) => home.includes(name)), region).to.deep.equal([]);
                expect(second.every((name) => name.includes(region)), region).to.equal(true);
            }
        });
    }
});
