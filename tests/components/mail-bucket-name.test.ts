// The raw-mail bucket's name: `<global name>-<account id>`. S3 User Guide, "General purpose bucket
// naming rules": 3-63 characters; lowercase letters, digits, '.' and '-'; start and end with a letter
// or digit; no '..'; not an IP address; not starting with xn--, sthree- or amzn-s3-demo-; not ending
// with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3.
import { expect } from "chai";
import fc from "fast-check";
import { accountBucketName, reservedBucketPrefix } from "../../components/naming";
import { parseStackConfig, StackConfigError } from "../../stacks/config";

const ACCOUNT = "123456789012";

function s3Problems(name: string): string[] {
    return [
        [name.length < 3 || name.length > 63, `length ${name.length}`],
        [!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name), "characters or ends"],
        [name.includes(".."), "adjacent periods"],
        [/^\d+\.\d+\.\d+\.\d+$/.test(name), "IP address"],
        [/^(xn--|sthree-|amzn-s3-demo-)/.test(name), "reserved prefix"],
        [/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name), "reserved suffix"],
    ].filter(([bad]) => bad).map(([, why]) => why as string);
}

// A name segment as stack config and physicalName accept it: lowercase, digits, inner hyphens, 1-16 characters.
const segment = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$/);
const region = fc.tuple(fc.stringMatching(/^[a-z]{2}$/), fc.array(fc.stringMatching(/^[a-z]{1,9}$/), { minLength: 1, maxLength: 2 }), fc.integer({ min: 1, max: 9 }))
    .map(([area, parts, n]) => [area, ...parts, n].join("-"));

describe("mail bucket name", () => {
    it("keeps today's names", () => {
        expect(accountBucketName({ purpose: "email", env: "test", prefix: "ses-mail", region: "us-east-1", homeRegion: "us-east-1" }, ACCOUNT)).to.equal("ses-mail-email-test-123456789012");
        expect(accountBucketName({ purpose: "email", env: "prod", region: "us-east-1", homeRegion: "us-east-1" }, ACCOUNT)).to.equal("ses-mail-email-prod-123456789012");
        expect(accountBucketName({ purpose: "email", env: "test", region: "eu-west-1", homeRegion: "us-east-1" }, ACCOUNT)).to.equal("ses-mail-email-test-eu-west-1-123456789012");
    });

    it("is a name S3 accepts for every prefix, env and region config allows, the account id included", () => {
        fc.assert(fc.property(segment.filter((p) => reservedBucketPrefix(p) === undefined), segment, region, fc.option(region, { nil: undefined }), (prefix, env, r, homeRegion) => {
            const name = accountBucketName({ purpose: "email", env, prefix, region: r, homeRegion }, ACCOUNT);
            expect(s3Problems(name), name).to.deep.equal([]);
            expect(name.endsWith(`-${ACCOUNT}`), name).to.equal(true);
        }), { numRuns: 500 });
    });

    it("the longest case: a 16-character prefix and env outside the home region", () => {
        const name = accountBucketName({ purpose: "email", env: "e".repeat(16), prefix: "p".repeat(16), region: "ap-southeast-2" }, ACCOUNT);
        expect(name).to.have.length.at.most(63);
        expect(name).to.match(/-eeeeeeeeeeeeeeee-ap-southeast-2-123456789012$/);
    });

    it("stack config refuses a namePrefix that would start the bucket name with a prefix S3 reserves", () => {
        for (const namePrefix of ["xn--mail", "sthree", "sthree-mail", "amzn-s3-demo"]) {
            let error: unknown;
            try {
                parseStackConfig({ environment: "test", namePrefix }, "test");
            } catch (caught) {
                error = caught;
            }
            expect(error, namePrefix).to.be.instanceOf(StackConfigError);
            expect((error as StackConfigError).problems, namePrefix).to.deep.equal([
                `ses-mail:namePrefix: invalid value "${namePrefix}". Fix: use lowercase letters, digits and hyphens (at most 16 characters), e.g. ses-mail; "<namePrefix>-" must not start with xn--, sthree-, amzn-s3-demo- (S3 refuses bucket names starting so, and the mail bucket's name starts with it).`,
            ]);
        }
        for (const namePrefix of ["xn-mail", "sthreex", "amzn-s3", "ses-mail"]) {
            expect(() => parseStackConfig({ environment: "test", namePrefix }, "test"), namePrefix).not.to.throw();
        }
    });
});
