import { expect } from "chai";
import { MailDomain, validateMailDomainArgs } from "../../components/mail-domain";
import { promiseOf, runUnderMocks } from "../support/mocks";

describe("MailDomain", () => {
    it("creates an Easy DKIM (RSA 2048) identity with the configuration set as default and a custom MAIL FROM", async () => {
        const { plan } = await runUnderMocks(() => new MailDomain("example", { domain: "example.com", env: "test", configurationSetName: "ses-mail-outbound-test" }));
        expect(plan.one("aws:sesv2/emailIdentity:EmailIdentity").inputs).to.deep.include({
            emailIdentity: "example.com",
            configurationSetName: "ses-mail-outbound-test",
            dkimSigningAttributes: { nextSigningKeyLength: "RSA_2048_BIT" },
        });
        expect(plan.one("aws:sesv2/emailIdentityMailFromAttributes:EmailIdentityMailFromAttributes").inputs).to.deep.equal({
            emailIdentity: "example.com",
            mailFromDomain: "bounce.example.com",
            behaviorOnMxFailure: "USE_DEFAULT_VALUE",
        });
        expect(plan.ofType("aws:route53/record:Record")).to.deep.equal([]);
    });

    it("outputs every DNS record to publish, the domain's own SPF and DMARC only when opted in", async () => {
        const { result } = await runUnderMocks(() => new MailDomain("example", { domain: "example.com", env: "test", dmarcPolicy: "quarantine", dmarcReportAddress: "dmarc@example.com", spfAll: "-all", publishDomainSpf: true }));
        expect(await promiseOf(result.dnsRecords)).to.deep.equal([
            ...[1, 2, 3].map((i) => ({ name: `examplecomtoken${i}._domainkey.example.com`, type: "CNAME", value: `examplecomtoken${i}.dkim.amazonses.com`, ttl: 600 })),
            { name: "bounce.example.com", type: "MX", value: "10 feedback-smtp.us-east-1.amazonses.com", ttl: 600 },
            { name: "bounce.example.com", type: "TXT", value: "v=spf1 include:amazonses.com -all", ttl: 600 },
            { name: "example.com", type: "TXT", value: "v=spf1 include:amazonses.com -all", ttl: 600 },
            { name: "_dmarc.example.com", type: "TXT", value: "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com", ttl: 600 },
        ]);
        expect(await promiseOf(result.dnsMerges)).to.deep.equal([]);
    });

    // Route 53 refuses to create a record whose name and type exist ("ChangeResourceRecordSets":
    // InvalidChangeBatch, "it already exists"), and most domains have SPF and DMARC records already.
    it("in a zone, creates only what SES needs by default (DKIM, MAIL FROM MX and SPF), and says what to merge into the domain's SPF and DMARC", async () => {
        const { plan, result } = await runUnderMocks(() => new MailDomain("example", { domain: "example.com", env: "test", hostedZoneId: "Z123", mailFromSubdomain: "mail" }));
        const order = ["example-dkim-0", "example-dkim-1", "example-dkim-2", "example-mail-from-mx", "example-mail-from-spf"];
        // Registration order follows output resolution; compare in a fixed order.
        const records = plan.ofType("aws:route53/record:Record").sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
        expect(records.map((r) => r.name)).to.deep.equal(order);
        expect(records.map((r) => [r.inputs.zoneId, r.inputs.name, r.inputs.type, r.inputs.records])).to.deep.equal([
            ...[1, 2, 3].map((i) => ["Z123", `examplecomtoken${i}._domainkey.example.com`, "CNAME", [`examplecomtoken${i}.dkim.amazonses.com`]]),
            ["Z123", "mail.example.com", "MX", ["10 feedback-smtp.us-east-1.amazonses.com"]],
            ["Z123", "mail.example.com", "TXT", ["v=spf1 include:amazonses.com ~all"]],
        ]);
        expect(records.map((r) => r.inputs.name)).not.to.include.members(["example.com", "_dmarc.example.com"]);
        const merges = await promiseOf(result.dnsMerges);
        expect(merges.map(({ name, type, value }) => ({ name, type, value }))).to.deep.equal([
            { name: "example.com", type: "TXT", value: "v=spf1 include:amazonses.com ~all" },
            { name: "_dmarc.example.com", type: "TXT", value: "v=DMARC1; p=none" },
        ]);
        expect(merges[0].merge).to.match(/add "include:amazonses.com" to the domain's existing "v=spf1" record/);
        expect(merges[1].merge).to.match(/keep the domain's existing DMARC record/);
    });

    it("creates the domain's SPF and DMARC records in the zone when opted in", async () => {
        const { plan } = await runUnderMocks(() => new MailDomain("example", { domain: "example.com", env: "test", hostedZoneId: "Z123", publishDomainSpf: true, dmarcPolicy: "reject" }));
        expect(plan.one("aws:route53/record:Record", "example-spf").inputs).to.deep.include({ name: "example.com", type: "TXT", records: ["v=spf1 include:amazonses.com ~all"] });
        expect(plan.one("aws:route53/record:Record", "example-dmarc").inputs).to.deep.include({ name: "_dmarc.example.com", type: "TXT", records: ["v=DMARC1; p=reject"] });
    });

    it("rejects invalid domains and options with the fix", () => {
        expect(() => validateMailDomainArgs({ domain: "Example.com" })).to.throw(/not a lowercase domain name/);
        expect(() => validateMailDomainArgs({ domain: "example" })).to.throw(/not a lowercase domain name/);
        expect(() => validateMailDomainArgs({ domain: "example.com", mailFromSubdomain: "a.b" })).to.throw(/must be one DNS label/);
        expect(() => validateMailDomainArgs({ domain: "example.com", dmarcReportAddress: "nobody" })).to.throw(/not an email address/);
        expect(() => validateMailDomainArgs({ domain: "mail.example.co.uk", mailFromSubdomain: "bounce", dmarcReportAddress: "d@example.co.uk" })).not.to.throw();
    });
});
