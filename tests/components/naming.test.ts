import { expect } from "chai";
import fc from "fast-check";
import { globalEnv, globalPhysicalName, NAME_LIMITS, type NamedService, physicalName, standardTags } from "../../components/naming";

/** Regions of every partition, with the longest names AWS has ("Regions and Availability Zones"). */
const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "ap-northeast-3", "ca-central-1", "il-central-1", "me-central-1", "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1"];
/** Name segments physicalName accepts (namePrefix and environment: at most 16 in stacks/config.ts). */
const segment = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/);
const region = fc.oneof(fc.constantFrom(...REGIONS), fc.stringMatching(/^[a-z]{2}(-[a-z]{3,10}){1,2}-[1-9]$/));
const services = Object.keys(NAME_LIMITS) as NamedService[];
/** IAM role and user names: `[\w+=,.@-]`; S3 bucket names: lowercase, digits, hyphens, start and end alphanumeric. */
const VALID_NAME = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;

describe("naming", () => {
    it("builds <prefix>-<purpose>-<env> with the default prefix", () => {
        expect(physicalName("sqsQueue", { purpose: "email-input", env: "test" })).to.equal("ses-mail-email-input-test");
        expect(physicalName("sqsQueue", { purpose: "email-input", env: "prod", prefix: "acme" })).to.equal("acme-email-input-prod");
    });

    it("keeps every service's length limit, the environment and uniqueness when shortening", () => {
        const long = "gmail-forwarder-retry-drain-state-machine-with-a-very-long-purpose";
        for (const service of Object.keys(NAME_LIMITS) as (keyof typeof NAME_LIMITS)[]) {
            const name = physicalName(service, { purpose: `${long}-${"x".repeat(NAME_LIMITS[service])}`, env: "prod" });
            expect(name.length, service).to.be.at.most(NAME_LIMITS[service]);
            expect(name.endsWith("-prod"), service).to.equal(true);
        }
        const a = physicalName("lambda", { purpose: `${long}-a`, env: "test" });
        const b = physicalName("lambda", { purpose: `${long}-b`, env: "test" });
        expect(a).to.have.length.at.most(64);
        expect(a).not.to.equal(b);
        expect(physicalName("lambda", { purpose: `${long}-a`, env: "test" })).to.equal(a);
    });

    it("rejects characters AWS names cannot hold", () => {
        expect(() => physicalName("sqsQueue", { purpose: "Email Input", env: "test" })).to.throw(/Invalid purpose "Email Input"/);
        expect(() => physicalName("sqsQueue", { purpose: "input", env: "Prod" })).to.throw(/Invalid env "Prod"/);
        // A bucket name must end with a letter or digit, and names end with the env.
        expect(() => physicalName("s3Bucket", { purpose: "email", env: "prod-" })).to.throw(/Invalid env "prod-"/);
        expect(() => physicalName("s3Bucket", { purpose: "email", env: "prod", prefix: "-acme" })).to.throw(/Invalid prefix "-acme"/);
    });

    describe("global names (IAM roles, buckets): unique per prefix, env and region", () => {
        it("keep today's form in the home region", () => {
            // The sample stacks' role names before names carried a region: these must not change.
            const home = { env: "test", region: "us-east-1", homeRegion: "us-east-1" };
            expect(globalPhysicalName("iamRole", { ...home, purpose: "router-fn" })).to.equal("ses-mail-router-fn-test");
            expect(globalPhysicalName("iamRole", { ...home, purpose: "email-router-pipe" })).to.equal("ses-mail-email-router-pipe-test");
            expect(globalPhysicalName("iamRole", { ...home, purpose: "gmail-forwarder-retry-drain-sfn", env: "prod" })).to.equal("ses-mail-gmail-forwarder-retry-drain-sfn-prod");
            expect(globalPhysicalName("iamRole", { ...home, purpose: "gmail-token-support-team-gmail-com-scheduler", env: "prod" }))
                .to.equal(physicalName("iamRole", { purpose: "gmail-token-support-team-gmail-com-scheduler", env: "prod" }));
            fc.assert(fc.property(fc.constantFrom(...services), segment, segment, segment, region, (service, prefix, purpose, env, r) =>
                globalPhysicalName(service, { prefix, purpose, env, region: r, homeRegion: r }) === physicalName(service, { prefix, purpose, env })));
        });

        it("end with the region elsewhere, or everywhere when no home region is set", () => {
            expect(globalPhysicalName("iamRole", { purpose: "router-fn", env: "test", region: "eu-west-1", homeRegion: "us-east-1" })).to.equal("ses-mail-router-fn-test-eu-west-1");
            expect(globalPhysicalName("iamRole", { purpose: "router-fn", env: "test", region: "us-east-1" })).to.equal("ses-mail-router-fn-test-us-east-1");
            expect(globalEnv("prod", "us-gov-west-1", "us-east-1")).to.equal("prod-us-gov-west-1");
            expect(globalEnv("prod", "us-east-1", "us-east-1")).to.equal("prod");
        });

        it("two regions of one env never share a name, within every service's limit and valid (generated)", () => {
            fc.assert(fc.property(
                fc.constantFrom(...services), segment, fc.string({ minLength: 1, maxLength: 120 }).map((p) => p.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "x"),
                segment, fc.uniqueArray(region, { minLength: 2, maxLength: 2 }), fc.option(region, { nil: undefined }),
                (service, prefix, purpose, env, [a, b], homeRegion) => {
                    const nameIn = (r: string) => globalPhysicalName(service, { prefix, purpose, env, region: r, homeRegion });
                    for (const name of [nameIn(a), nameIn(b)]) {
                        expect(name.length, name).to.be.at.most(NAME_LIMITS[service]);
                        expect(name, name).to.match(VALID_NAME);
                    }
                    expect(nameIn(a)).not.to.equal(nameIn(b));
                    expect(nameIn(a)).to.equal(nameIn(a));
                }));
        });
    });

    it("tags every resource with Environment, Service and Component; extra tags cannot drop them", () => {
        expect(standardTags("prod", "MailIngest", { Team: "mail" })).to.deep.equal({ Environment: "prod", Service: "ses-mail", Component: "MailIngest", Team: "mail" });
    });
});
