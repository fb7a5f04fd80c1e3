// `ses-mail dns check`: resolves each domain's MX, SPF (apex and MAIL FROM), DKIM CNAMEs, DMARC and
// MAIL FROM MX and compares them with the records the stack outputs (sendingDnsRecords,
// receivingDnsRecords, dnsRecordsToMerge: components/mail-domain.ts) or, from Pulumi.<stack>.yaml,
// the records MailDomain would output (all but the DKIM tokens, which SES picks at deploy time).
import { Command } from "commander";
import { UsageError, usageExit } from "./errors";
import type { CliDeps } from "./main";
import type { TargetOptions } from "./rules-target";
import type { DnsTarget } from "./target";

/** The lookups the check makes: node:dns/promises' Resolver, or a stub in tests. */
export interface DnsResolver {
    resolveMx(name: string): Promise<{ exchange: string; priority: number }[]>;
    resolveTxt(name: string): Promise<string[][]>;
    resolveCname(name: string): Promise<string[]>;
}

export type DnsCheckName = "MX" | "SPF" | "MAIL FROM MX" | "MAIL FROM SPF" | "DKIM" | "DMARC";

/** One record the domain needs. `merge`: the domain may have its own record; it must contain what `value` adds. */
export interface ExpectedRecord {
    domain: string;
    check: DnsCheckName;
    name: string;
    type: "MX" | "TXT" | "CNAME";
    /** undefined: not known before deploy (DKIM tokens). */
    value?: string;
    merge?: boolean;
}

export interface RecordStatus extends ExpectedRecord {
    status: "ok" | "missing" | "different" | "unchecked" | "error";
    found: string[];
    /** What to do, when not ok. */
    fix?: string;
}

const bare = (name: string) => name.toLowerCase().replace(/\.$/, "");
const spaces = (value: string) => value.trim().replace(/\s+/g, " ");
/** DMARC tags compared without their spacing ("v=DMARC1;p=none" equals "v=DMARC1; p=none"). */
const dmarcTags = (value: string) => value.split(";").map((t) => t.trim().toLowerCase()).filter(Boolean).join(";");

interface OutputRecord { name?: unknown; type?: unknown; value?: unknown; merge?: unknown }
const recordsOf = (value: unknown): OutputRecord[] => (Array.isArray(value) ? value.filter((r): r is OutputRecord => typeof r === "object" && r !== null) : []);

/** The stack outputs' records, each with the check it belongs to and its domain. */
export function expectedFromOutputs(outputs: Record<string, unknown>): ExpectedRecord[] {
    const exact = [...recordsOf(outputs.sendingDnsRecords), ...recordsOf(outputs.receivingDnsRecords)];
    const merges = recordsOf(outputs.dnsRecordsToMerge);
    const mailFrom = new Set(exact.filter((r) => r.type === "MX" && /feedback-smtp\./.test(String(r.value))).map((r) => bare(String(r.name))));
    const parent = (name: string) => name.split(".").slice(1).join(".");
    const all = [...exact.map((r) => ({ r, merge: false })), ...merges.map((r) => ({ r, merge: true }))];
    const seen = new Set<string>();
    return all.flatMap(({ r, merge }): ExpectedRecord[] => {
        const name = bare(String(r.name));
        const type = r.type as ExpectedRecord["type"];
        const value = String(r.value);
        const key = `${name} ${type} ${value}`;
        if (seen.has(key) || !["MX", "TXT", "CNAME"].includes(type)) return [];
        seen.add(key);
        if (type === "CNAME") return [{ domain: name.split("._domainkey.")[1] ?? name, check: "DKIM", name, type, value }];
        if (type === "MX") return [mailFrom.has(name) ? { domain: parent(name), check: "MAIL FROM MX", name, type, value } : { domain: name, check: "MX", name, type, value }];
        if (name.startsWith("_dmarc.")) return [{ domain: name.slice("_dmarc.".length), check: "DMARC", name, type, value, merge }];
        return [mailFrom.has(name) ? { domain: parent(name), check: "MAIL FROM SPF", name, type, value, merge } : { domain: name, check: "SPF", name, type, value, merge }];
    });
}

interface DomainSettings { spfAll?: string; publishDomainSpf?: boolean; dmarcPolicy?: string; dmarcReportAddress?: string }

/** What MailDomain and MailIngest output for this config (their defaults: MAIL FROM `bounce.<domain>`, SPF ~all, DMARC p=none to merge). */
export function expectedFromConfig(config: { feedback: DomainSettings & { domains: string[] }; ingest: { domains: string[] } }, region: string): ExpectedRecord[] {
    const domainRecords = (domain: string, settings: DomainSettings): ExpectedRecord[] => {
        const spf = `v=spf1 include:amazonses.com ${settings.spfAll ?? "~all"}`;
        const dmarc = `v=DMARC1; p=${settings.dmarcPolicy ?? "none"}${settings.dmarcReportAddress ? `; rua=mailto:${settings.dmarcReportAddress}` : ""}`;
        const mailFrom = `bounce.${domain}`;
        return [
            ...[1, 2, 3].map((i): ExpectedRecord => ({ domain, check: "DKIM", name: `(token ${i})._domainkey.${domain}`, type: "CNAME" })),
            { domain, check: "MAIL FROM MX", name: mailFrom, type: "MX", value: `10 feedback-smtp.${region}.amazonses.com` },
            { domain, check: "MAIL FROM SPF", name: mailFrom, type: "TXT", value: spf },
            { domain, check: "SPF", name: domain, type: "TXT", value: spf, merge: settings.publishDomainSpf !== true },
            { domain, check: "DMARC", name: `_dmarc.${domain}`, type: "TXT", value: dmarc, merge: settings.dmarcPolicy === undefined },
        ];
    };
    const sending = config.feedback.domains;
    return [
        ...config.ingest.domains.map((domain): ExpectedRecord => ({ domain, check: "MX", name: domain, type: "MX", value: `10 inbound-smtp.${region}.amazonaws.com` })),
        ...sending.flatMap((domain) => domainRecords(domain, config.feedback)),
        // Receiving-only domains get an identity with MailDomain's defaults (components/mail-ingest-receiving.ts).
        ...config.ingest.domains.filter((d) => !sending.includes(d)).flatMap((domain) => domainRecords(domain, {})),
    ];
}

const notFound = (error: unknown) => ["ENODATA", "ENOTFOUND", "NXDOMAIN"].includes((error as { code?: string }).code ?? "");

async function lookup<T>(call: () => Promise<T[]>): Promise<T[] | { error: string }> {
    try {
        return await call();
    } catch (error) {
        if (notFound(error)) return [];
        return { error: `${(error as { code?: string }).code ?? "error"}: ${(error as Error).message}` };
    }
}

/** Compares one expected record with what DNS answers. */
export async function checkRecord(expected: ExpectedRecord, resolver: DnsResolver): Promise<RecordStatus> {
    const add = `add ${expected.name} ${expected.type} "${expected.value}"`;
    const result = (status: RecordStatus["status"], found: string[], fix?: string): RecordStatus => ({ ...expected, status, found, ...(fix ? { fix } : {}) });
    if (expected.value === undefined) {
        return result("unchecked", [], "DKIM tokens are known only after deploy (SES picks them): check with --outputs <file> of the deployed stack");
    }
    if (expected.type === "CNAME") {
        const answer = await lookup(() => resolver.resolveCname(expected.name));
        if ("error" in answer) return result("error", [], answer.error);
        const found = answer.map(bare);
        if (found.includes(bare(expected.value))) return result("ok", found);
        return found.length === 0 ? result("missing", found, add) : result("different", found, `replace with ${expected.name} CNAME "${expected.value}"`);
    }
    if (expected.type === "MX") {
        const answer = await lookup(() => resolver.resolveMx(expected.name));
        if ("error" in answer) return result("error", [], answer.error);
        const found = answer.map((mx) => `${mx.priority} ${bare(mx.exchange)}`);
        const [priority, host] = expected.value.split(/\s+/);
        const ours = answer.filter((mx) => bare(mx.exchange) === bare(host));
        if (ours.length === 0) return result(found.length === 0 ? "missing" : "different", found, found.length === 0 ? add : `${add}; mail for ${expected.name} goes to ${found.join(", ")} now`);
        // Senders try the lowest preference first: another host ahead of SES's gets the mail.
        const ahead = answer.filter((mx) => bare(mx.exchange) !== bare(host) && mx.priority <= Math.min(...ours.map((o) => o.priority)));
        if (ahead.length > 0) return result("different", found, `remove or lower ${ahead.map((mx) => bare(mx.exchange)).join(", ")} (preference ≤ SES's ${priority}): mail goes there first`);
        return result("ok", found);
    }
    const answer = await lookup(() => resolver.resolveTxt(expected.name));
    if ("error" in answer) return result("error", [], answer.error);
    // A TXT record's strings are one value, split in 255-character chunks.
    const texts = answer.map((chunks) => chunks.join(""));
    const dmarc = expected.check === "DMARC";
    const relevant = texts.filter((t) => (dmarc ? /^v=DMARC1\b/i.test(t.trim()) : /^v=spf1\b/i.test(t.trim())));
    if (relevant.length === 0) return result("missing", texts, add);
    if (relevant.length > 1) return result("different", relevant, `keep one ${dmarc ? "DMARC" : "SPF"} record: several ${dmarc ? "make receivers ignore DMARC" : "are an SPF permerror (RFC 7208 §4.5)"}`);
    const [record] = relevant;
    if (expected.merge) {
        if (dmarc) return result("ok", relevant);
        if (/(^|\s)include:amazonses\.com(\s|$)/i.test(record)) return result("ok", relevant);
        return result("different", relevant, `add "include:amazonses.com" to ${expected.name}'s SPF record, before its "all" term`);
    }
    const same = dmarc ? dmarcTags(record) === dmarcTags(expected.value) : spaces(record).toLowerCase() === spaces(expected.value).toLowerCase();
    return same ? result("ok", relevant) : result("different", relevant, `replace with ${expected.name} TXT "${expected.value}"`);
}

const collect = (value: string, previous: string[] = []) => [...previous, value.trim().toLowerCase().replace(/\.$/, "")];

interface CheckOptions extends TargetOptions { domain?: string[]; server?: string[]; json: boolean }

async function check(target: DnsTarget, options: CheckOptions, resolver: DnsResolver, print: (line: string) => void): Promise<number> {
    let expected: ExpectedRecord[];
    const notes = [...target.notes];
    if (target.kind === "outputs") {
        expected = expectedFromOutputs(target.outputs);
        if (expected.length === 0) throw new UsageError("The outputs have no sendingDnsRecords, receivingDnsRecords or dnsRecordsToMerge: is the file pulumi stack output --json of a ses-mail stack?");
    } else {
        if (!target.region) throw new UsageError("The MX records name the region: give --region (the stack file has no aws:region).");
        expected = expectedFromConfig(target.config, target.region);
        notes.push("(From Pulumi.<stack>.yaml: DKIM CNAMEs are not checked, their tokens are known only after deploy; --outputs <file> checks them.)");
    }
    const domains = [...new Set(expected.map((e) => e.domain))];
    const unknown = (options.domain ?? []).filter((d) => !domains.includes(d));
    if (unknown.length > 0) throw new UsageError(`Not a domain of this stack: ${unknown.join(", ")} (its domains: ${domains.join(", ") || "none"}).`);
    if (options.domain) expected = expected.filter((e) => options.domain!.includes(e.domain));
    const results: RecordStatus[] = [];
    for (const record of expected) results.push(await checkRecord(record, resolver));
    const bad = results.filter((r) => ["missing", "different", "error"].includes(r.status));
    if (options.json) {
        print(JSON.stringify(results, null, 2));
    } else {
        notes.forEach(print);
        for (const domain of [...new Set(results.map((r) => r.domain))]) {
            print(domain);
            for (const r of results.filter((x) => x.domain === domain)) {
                print(`  ${r.status.toUpperCase().padEnd(9)} ${r.check.padEnd(13)} ${r.name} ${r.type}${r.found.length > 0 && r.status !== "ok" ? ` (found: ${r.found.join(" | ")})` : ""}`);
                if (r.fix && r.status !== "unchecked") print(`            → ${r.fix}`);
            }
        }
        print(bad.length === 0 ? "DNS: every checked record is in place." : `DNS: ${bad.length} record(s) need attention.`);
    }
    return bad.length > 0 ? 1 : 0;
}

export function dnsCommands(root: Command, deps: CliDeps, result: { exitCode: number }): void {
    const print = (line: string) => deps.stdout(`${line}\n`);
    const dns = root.command("dns").description("DNS records of the stack's domains (exit codes: 0 all in place, 1 missing or different, 2 usage error)").exitOverride(usageExit);
    dns.command("check")
        .description("Resolve MX, SPF (apex and MAIL FROM), DKIM CNAMEs, DMARC and MAIL FROM MX of each domain and compare them with the stack's records: ok / missing / different, with the record to add (no AWS credentials needed)")
        .option("--stack <name>", "Pulumi stack: expected records from Pulumi.<stack>.yaml (no DKIM tokens)")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)")
        .option("--outputs <file>", "the stack's outputs (pulumi stack output --json > file): sendingDnsRecords, receivingDnsRecords, dnsRecordsToMerge")
        .option("--region <region>", "AWS region of the MX targets (default: aws:region of the stack)")
        .option("--domain <domain>", "check only this domain (repeatable)", collect)
        .option("--server <ip>", "ask this DNS server (repeatable; default: the system's resolvers)", (value: string, previous: string[] = []) => [...previous, value])
        .option("--json", "machine-readable output", false)
        .addHelpText("after", "\nExample:\n  $ pulumi stack output --json > outputs.json && ses-mail dns check --outputs outputs.json --domain mail.example.com\n")
        .exitOverride(usageExit)
        .action(async (options: CheckOptions) => {
            const { dnsTarget } = await import("./target");
            const target = dnsTarget(options, deps.cwd);
            let resolver: DnsResolver | undefined = deps.resolver;
            if (!resolver) {
                const { Resolver } = await import("node:dns/promises");
                const real = new Resolver({ timeout: 5000, tries: 2 });
                if (options.server) real.setServers(options.server);
                resolver = real;
            }
            result.exitCode = await check(target, options, resolver, print);
        });
}
