// `ses-mail dns check` end to end: argument parsing to output and exit code, the expected records
// from the synthesized stacks' outputs (or their Pulumi.<stack>.yaml), DNS answered by a stub
// resolver shaped like node:dns/promises (ENODATA / ENOTFOUND errors, TXT strings in chunks).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import fc from "fast-check";
import { DnsResolver, expectedFromConfig, expectedFromOutputs, ExpectedRecord } from "../../cli/dns";
import { main } from "../../cli/main";
import { stackConfigFrom } from "../../stacks/config";
import { promiseOf } from "../support/mocks";
import { cachedStack, loadStackConfig } from "../support/stack";

const ROOT = path.resolve(__dirname, "..", "..");

interface Zone { mx?: { exchange: string; priority: number }[]; txt?: string[][]; cname?: string[]; fail?: string }

/** node:dns/promises answers a name without records of the type with ENODATA, an unknown name with ENOTFOUND. */
function stubResolver(zone: Record<string, Zone>): DnsResolver & { asked: string[] } {
    const asked: string[] = [];
    const answer = <T>(name: string, pick: (z: Zone) => T[] | undefined, syscall: string): Promise<T[]> => {
        asked.push(`${syscall} ${name}`);
        const entry = zone[name];
        if (entry?.fail) return Promise.reject(Object.assign(new Error(`${syscall} ${entry.fail} ${name}`), { code: entry.fail }));
        if (!entry) return Promise.reject(Object.assign(new Error(`${syscall} ENOTFOUND ${name}`), { code: "ENOTFOUND" }));
        const records = pick(entry);
        if (!records || records.length === 0) return Promise.reject(Object.assign(new Error(`${syscall} ENODATA ${name}`), { code: "ENODATA" }));
        return Promise.resolve(records);
    };
    return {
        asked,
        resolveMx: (name) => answer(name, (z) => z.mx, "queryMx"),
        resolveTxt: (name) => answer(name, (z) => z.txt, "queryTxt"),
        resolveCname: (name) => answer(name, (z) => z.cname, "queryCname"),
    };
}

/** A zone that publishes exactly the expected records (merges: the value itself). */
function zoneFor(records: ExpectedRecord[]): Record<string, Zone> {
    const zone: Record<string, Zone> = {};
    for (const r of records) {
        const entry = (zone[r.name] ??= {});
        if (r.type === "MX") {
            const [priority, exchange] = r.value!.split(" ");
            (entry.mx ??= []).push({ exchange, priority: Number(priority) });
        } else if (r.type === "TXT") (entry.txt ??= []).push([r.value!]);
        else (entry.cname ??= []).push(r.value!);
    }
    return zone;
}

describe("ses-mail dns check", function () {
    this.timeout(120_000);
    let dir: string;
    const outputs: Record<string, Record<string, unknown>> = {};
    const files: Record<string, string> = {};

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-dns-"));
        for (const stack of ["prod", "test"]) {
            const run = await cachedStack(stack);
            outputs[stack] = await promiseOf(pulumi.output(run.outputs) as unknown as pulumi.Output<Record<string, unknown>>);
            files[stack] = path.join(dir, `${stack}.json`);
            fs.writeFileSync(files[stack], JSON.stringify(outputs[stack]));
        }
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    async function run(resolver: DnsResolver, ...argv: string[]) {
        const out: string[] = [];
        const err: string[] = [];
        const code = await main(["dns", "check", ...argv], { stdout: (text) => out.push(text), stderr: (text) => err.push(text), cwd: ROOT, resolver });
        return { code, stdout: out.join(""), stderr: err.join("") };
    }
    const statuses = (stdout: string) => (JSON.parse(stdout) as { check: string; name: string; status: string; fix?: string }[]).map((r) => `${r.status} ${r.check} ${r.name}`);

    it("the records the stack outputs: MX, MAIL FROM MX and SPF, three DKIM CNAMEs, DMARC (published) and apex SPF (to merge)", () => {
        const records = expectedFromOutputs(outputs.prod);
        const dkim = (outputs.prod.sendingDnsRecords as { name: string; value: string; type: string }[]).filter((r) => r.type === "CNAME");
        expect(dkim).to.have.length(3);
        expect(records.map((r) => [r.check, r.name, r.type, r.value, r.merge ?? false])).to.have.deep.members([
            ["MX", "mail.example.com", "MX", "10 inbound-smtp.us-east-1.amazonaws.com", false],
            ...dkim.map((d) => ["DKIM", d.name, "CNAME", d.value, false]),
            ["MAIL FROM MX", "bounce.mail.example.com", "MX", "10 feedback-smtp.us-east-1.amazonses.com", false],
            ["MAIL FROM SPF", "bounce.mail.example.com", "TXT", "v=spf1 include:amazonses.com ~all", false],
            ["DMARC", "_dmarc.mail.example.com", "TXT", "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.com", false],
            ["SPF", "mail.example.com", "TXT", "v=spf1 include:amazonses.com ~all", true],
        ]);
        expect(new Set(records.map((r) => r.domain))).to.deep.equal(new Set(["mail.example.com"]));
    });

    it("computed from Pulumi.<stack>.yaml, the records equal the outputs' (all but the DKIM tokens), for every stack", () => {
        for (const stack of ["prod", "test"]) {
            const key = (r: ExpectedRecord) => `${r.check} ${r.name} ${r.type} ${r.value} ${r.merge ?? false}`;
            const config = stackConfigFrom(loadStackConfig(stack), stack);
            const fromConfig = expectedFromConfig(config, "us-east-1");
            expect(fromConfig.filter((r) => r.check !== "DKIM").map(key).sort(), stack).to.deep.equal(expectedFromOutputs(outputs[stack]).filter((r) => r.check !== "DKIM").map(key).sort());
            expect(fromConfig.filter((r) => r.check === "DKIM").map((r) => r.value), stack).to.deep.equal([undefined, undefined, undefined]);
        }
    });

    it("--outputs, every record in place (the apex SPF merged into the domain's own): all ok, exit 0, no AWS needed", async () => {
        const zone = zoneFor(expectedFromOutputs(outputs.prod));
        // The domain's own SPF with SES included, and DMARC written without spaces: both fine.
        zone["mail.example.com"].txt = [["v=spf1 include:_spf.google.com include:amazonses.com ~all"], ["google-site-verification=abc"]];
        zone["_dmarc.mail.example.com"].txt = [["v=DMARC1;p=quarantine;rua=mailto:dmarc-reports@example.com"]];
        const env = { ...process.env };
        delete process.env.AWS_ACCESS_KEY_ID;
        try {
            const { code, stdout } = await run(stubResolver(zone), "--outputs", files.prod, "--json");
            expect(code).to.equal(0);
            expect(statuses(stdout).every((s) => s.startsWith("ok "))).to.equal(true);
            expect(statuses(stdout)).to.have.length(8);
        } finally {
            process.env = env;
        }
    });

    it("missing and different records, each with the record to add or the change to make; exit 1", async () => {
        const expected = expectedFromOutputs(outputs.prod);
        const zone = zoneFor(expected);
        const dkim = expected.filter((r) => r.check === "DKIM");
        delete zone[dkim[0].name];
        zone[dkim[1].name].cname = ["someone-else.dkim.amazonses.com."];
        zone["mail.example.com"] = { mx: [{ exchange: "aspmx.l.google.com.", priority: 1 }, { exchange: "inbound-smtp.us-east-1.amazonaws.com", priority: 10 }], txt: [["v=spf1 include:_spf.google.com ~all"]] };
        zone["_dmarc.mail.example.com"].txt = [["v=DMARC1; p=none"]];
        delete zone["bounce.mail.example.com"].mx;
        const { code, stdout } = await run(stubResolver(zone), "--outputs", files.prod);
        expect(code).to.equal(1);
        const lines = stdout.split("\n");
        const after = (text: string) => lines[lines.findIndex((l) => l.includes(text)) + 1].trim();
        expect(stdout).to.match(new RegExp(`MISSING\\s+DKIM\\s+${dkim[0].name.replace(/\./g, "\\.")} CNAME`));
        expect(after(`${dkim[0].name} CNAME`)).to.equal(`→ add ${dkim[0].name} CNAME "${dkim[0].value}"`);
        expect(stdout).to.include(`DIFFERENT DKIM          ${dkim[1].name} CNAME (found: someone-else.dkim.amazonses.com)`);
        expect(after("MX            mail.example.com MX")).to.equal("→ remove or lower aspmx.l.google.com (preference ≤ SES's 10): mail goes there first");
        expect(after("SPF           mail.example.com TXT")).to.equal(`→ add "include:amazonses.com" to mail.example.com's SPF record, before its "all" term`);
        expect(after("DMARC         _dmarc.mail.example.com TXT")).to.equal('→ replace with _dmarc.mail.example.com TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.com"');
        expect(after("MAIL FROM MX  bounce.mail.example.com MX")).to.equal('→ add bounce.mail.example.com MX "10 feedback-smtp.us-east-1.amazonses.com"');
        expect(lines).to.include("DNS: 6 record(s) need attention.");
    });

    it("two SPF records are a permerror; a resolver failure is an error, not 'missing'", async () => {
        const zone = zoneFor(expectedFromOutputs(outputs.prod));
        zone["bounce.mail.example.com"].txt = [["v=spf1 include:amazonses.com ~all"], ["v=spf1 -all"]];
        zone["_dmarc.mail.example.com"] = { fail: "ESERVFAIL" };
        const { code, stdout } = await run(stubResolver(zone), "--outputs", files.prod, "--json");
        expect(code).to.equal(1);
        const rows = JSON.parse(stdout) as { check: string; status: string; fix?: string }[];
        expect(rows.find((r) => r.check === "MAIL FROM SPF")).to.deep.include({ status: "different", fix: "keep one SPF record: several are an SPF permerror (RFC 7208 §4.5)" });
        expect(rows.find((r) => r.check === "DMARC")).to.deep.include({ status: "error" });
        expect(rows.find((r) => r.check === "DMARC")!.fix).to.match(/^ESERVFAIL/);
    });

    it("a TXT value split into any chunks (RFC 7208 §3.3: strings of at most 255 characters) is one value (generated)", async () => {
        const expected = expectedFromOutputs(outputs.test);
        await fc.assert(fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 6 }), async (cuts) => {
            const zone = zoneFor(expected);
            const value = "v=spf1 include:amazonses.com ~all";
            const chunks: string[] = [];
            let at = 0;
            for (const cut of cuts) if (at < value.length) chunks.push(value.slice(at, (at += cut)));
            if (at < value.length) chunks.push(value.slice(at));
            zone["bounce.mail-test.example.com"].txt = [chunks];
            const { code } = await run(stubResolver(zone), "--outputs", files.test, "--json");
            expect(code).to.equal(0);
        }), { numRuns: 30 });
    });

    it("--stack: no DKIM tokens before deploy, so DKIM is UNCHECKED (not a failure) and the note says why", async () => {
        const zone = zoneFor(expectedFromOutputs(outputs.test));
        const resolver = stubResolver(zone);
        const { code, stdout } = await run(resolver, "--stack", "test");
        expect(code).to.equal(0);
        expect(stdout).to.include("DKIM CNAMEs are not checked, their tokens are known only after deploy; --outputs <file> checks them.");
        expect(stdout.match(/UNCHECKED DKIM/g)).to.have.length(3);
        expect(resolver.asked.filter((q) => q.startsWith("queryCname"))).to.deep.equal([]);
    });

    it("--domain narrows the check; a domain not of the stack, --env, or no deployment exit 2", async () => {
        const resolver = stubResolver(zoneFor(expectedFromOutputs(outputs.prod)));
        const one = await run(resolver, "--outputs", files.prod, "--domain", "MAIL.example.com.", "--json");
        expect(one.code).to.equal(0);
        const other = await run(resolver, "--outputs", files.prod, "--domain", "other.example.org");
        expect([other.code, other.stderr]).to.deep.equal([2, "Not a domain of this stack: other.example.org (its domains: mail.example.com).\n"]);
        expect((await run(resolver, "--env", "prod")).code).to.equal(2);
        expect((await run(resolver)).code).to.equal(2);
    });

    it("--help has an example", async () => {
        const { code, stdout } = await run(stubResolver({}), "--help");
        expect(code).to.equal(0);
        expect(stdout).to.match(/Example:\n {2}\$ pulumi stack output --json > outputs.json && ses-mail dns check --outputs outputs.json/);
    });
});
