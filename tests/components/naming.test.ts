import { expect } from "chai";
import { NAME_LIMITS, physicalName, standardTags } from "../../components/naming";

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
    });

    it("tags every resource with Environment, Service and Component; extra tags cannot drop them", () => {
        expect(standardTags("prod", "MailIngest", { Team: "mail" })).to.deep.equal({ Environment: "prod", Service: "ses-mail", Component: "MailIngest", Team: "mail" });
    });
});
