import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { standardTags } from "./naming";
import { resolveEnv } from "./stack-env";
import { applyTransform, Transform } from "./transform";

/** A DNS record to publish for a domain (and, with a hosted zone, created in Route 53). */
export interface DnsRecord {
    /** Fully qualified record name. */
    name: string;
    /** Record type. */
    type: "CNAME" | "MX" | "TXT";
    /** Record value (MX: `<priority> <host>`; TXT: unquoted). */
    value: string;
    /** TTL in seconds. */
    ttl: number;
}

/**
 * A record the domain may already have, so MailDomain does not create it (Route 53 refuses a second
 * record of a name and type, and a domain has at most one SPF and one DMARC record): publish `value`
 * if the domain has none, otherwise do what `merge` says.
 */
export interface MailDomainMerge {
    /** Fully qualified record name. */
    name: string;
    /** Record type. */
    type: "TXT";
    /** The record to publish when the domain has none. */
    value: string;
    /** What to change in an existing record, e.g. add `include:amazonses.com`. */
    merge: string;
}

/** Arguments of {@link MailDomain}. */
export interface MailDomainArgs {
    /** The domain, e.g. `example.com`. */
    domain: string;
    /** Environment name, for the `Environment` tag. @default the stack name (`pulumi.getStack()`) */
    env?: string;
    /** Configuration set every message from this identity uses unless the sender names another. @default none */
    configurationSetName?: pulumi.Input<string>;
    /** Custom MAIL FROM subdomain. @default "bounce" (bounce.<domain>) */
    mailFromSubdomain?: string;
    /** SPF qualifier for unlisted senders. @default "~all" */
    spfAll?: "~all" | "-all";
    /**
     * Publish SPF for the domain itself (`v=spf1 include:amazonses.com <spfAll>`). SES does not need
     * it: with a custom MAIL FROM, receivers check SPF on the MAIL FROM domain, whose record is always
     * published. Most domains already have one (another mail provider's), so by default `dnsMerges`
     * says what to add to it instead. @default false
     */
    publishDomainSpf?: boolean;
    /**
     * Publish a `_dmarc` record with this policy. Unset: none is published (the domain may have one
     * already) and `dnsMerges` suggests `p=none` (monitor first; tighten once reports show all senders
     * aligned). @default none published
     */
    dmarcPolicy?: "none" | "quarantine" | "reject";
    /** Address for aggregate DMARC reports (rua). @default none */
    dmarcReportAddress?: string;
    /** Route 53 zone to create the records in. @default none: the records are only outputs (`dnsRecords`) */
    hostedZoneId?: pulumi.Input<string>;
    /** TTL of the records created in `hostedZoneId`, in seconds. @default 600 */
    recordTtl?: number;
    /** Tags added to the standard ones on the identity. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
    /**
     * Changes to the identity's `aws.sesv2.EmailIdentity` arguments before it is created (see `Transform`).
     * @default none
     * @example { identity: { dkimSigningAttributes: { nextSigningKeyLength: "RSA_1024_BIT" } } }
     */
    transform?: {
        /** The SESv2 email identity. */
        identity?: Transform<aws.sesv2.EmailIdentityArgs>;
    };
}

/** Easy DKIM publishes three CNAME records per domain. */
export const DKIM_TOKEN_COUNT = 3;

/** Validates a domain name and the options (pure, table-tested). */
export function validateMailDomainArgs(args: Pick<MailDomainArgs, "domain" | "mailFromSubdomain" | "dmarcReportAddress">): void {
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(args.domain)) {
        throw new Error(`MailDomain: "${args.domain}" is not a lowercase domain name such as example.com.`);
    }
    if (args.mailFromSubdomain !== undefined && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(args.mailFromSubdomain)) {
        throw new Error(`MailDomain ${args.domain}: mailFromSubdomain "${args.mailFromSubdomain}" must be one DNS label, e.g. bounce.`);
    }
    if (args.dmarcReportAddress !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(args.dmarcReportAddress)) {
        throw new Error(`MailDomain ${args.domain}: dmarcReportAddress "${args.dmarcReportAddress}" is not an email address.`);
    }
}

/**
 * An SES sending identity for a domain: Easy DKIM (RSA 2048), custom MAIL FROM, a default
 * configuration set, and the DNS records that make it work (created in Route 53 when a zone is given).
 */
export class MailDomain extends pulumi.ComponentResource {
    /** The domain. */
    public readonly domain: string;
    /** The SESv2 domain identity. */
    public readonly identity: aws.sesv2.EmailIdentity;
    /** The identity's ARN. */
    public readonly identityArn: pulumi.Output<string>;
    /** The custom MAIL FROM domain, e.g. `mail.example.com`. */
    public readonly mailFromDomain: string;
    /** Every record to publish: DKIM CNAMEs, MAIL FROM MX and SPF, and the domain's SPF and DMARC when opted in. */
    public readonly dnsRecords: pulumi.Output<DnsRecord[]>;
    /** The domain's SPF and DMARC when not published here: what to merge into the records it has. */
    public readonly dnsMerges: pulumi.Output<MailDomainMerge[]>;

    constructor(name: string, args: MailDomainArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:MailDomain", name, {}, opts);
        validateMailDomainArgs(args);
        this.domain = args.domain;
        this.mailFromDomain = `${args.mailFromSubdomain ?? "bounce"}.${args.domain}`;
        const ttl = args.recordTtl ?? 600;
        const region = aws.getRegionOutput({}, { parent: this }).region;

        this.identity = new aws.sesv2.EmailIdentity(name, ...applyTransform(args.transform?.identity, name, {
            emailIdentity: args.domain,
            configurationSetName: args.configurationSetName,
            dkimSigningAttributes: { nextSigningKeyLength: "RSA_2048_BIT" },
            tags: standardTags(resolveEnv("MailDomain", args.env), "MailDomain", args.tags),
        }, { parent: this }));
        new aws.sesv2.EmailIdentityMailFromAttributes(`${name}-mail-from`, {
            emailIdentity: this.identity.emailIdentity,
            mailFromDomain: this.mailFromDomain,
            behaviorOnMxFailure: "USE_DEFAULT_VALUE",
        }, { parent: this });
        this.identityArn = this.identity.arn;

        const spf = `v=spf1 include:amazonses.com ${args.spfAll ?? "~all"}`;
        const dmarc = `v=DMARC1; p=${args.dmarcPolicy ?? "none"}${args.dmarcReportAddress ? `; rua=mailto:${args.dmarcReportAddress}` : ""}`;
        const publishSpf = args.publishDomainSpf ?? false;
        const publishDmarc = args.dmarcPolicy !== undefined;
        const tokens = this.identity.dkimSigningAttributes.apply((attributes) => attributes?.tokens ?? []);
        const record = (name: pulumi.Input<string>, type: DnsRecord["type"], value: pulumi.Input<string>) =>
            pulumi.all([name, value]).apply(([n, v]): DnsRecord => ({ name: n, type, value: v, ttl }));
        // Labels are static, so the set of Route 53 resources never depends on values known only after deploy.
        const records: { label: string; record: pulumi.Output<DnsRecord> }[] = [
            ...Array.from({ length: DKIM_TOKEN_COUNT }, (_, i) => ({
                label: `dkim-${i}`,
                record: record(tokens.apply((t) => `${t[i]}._domainkey.${args.domain}`), "CNAME", tokens.apply((t) => `${t[i]}.dkim.amazonses.com`)),
            })),
            { label: "mail-from-mx", record: record(this.mailFromDomain, "MX", pulumi.interpolate`10 feedback-smtp.${region}.amazonses.com`) },
            { label: "mail-from-spf", record: record(this.mailFromDomain, "TXT", spf) },
            ...(publishSpf ? [{ label: "spf", record: record(args.domain, "TXT", spf) }] : []),
            ...(publishDmarc ? [{ label: "dmarc", record: record(`_dmarc.${args.domain}`, "TXT", dmarc) }] : []),
        ];
        this.dnsRecords = pulumi.all(records.map((r) => r.record));
        this.dnsMerges = pulumi.output([
            ...(publishSpf ? [] : [{
                name: args.domain, type: "TXT" as const, value: spf,
                merge: `add "include:amazonses.com" to the domain's existing "v=spf1" record (before its "all" term); a domain may have only one SPF record`,
            }]),
            ...(publishDmarc ? [] : [{
                name: `_dmarc.${args.domain}`, type: "TXT" as const, value: dmarc,
                merge: "keep the domain's existing DMARC record if it has one (one per domain); it covers SES mail too, which is DKIM-signed and aligned through the MAIL FROM subdomain",
            }]),
        ]);

        if (args.hostedZoneId) {
            for (const { label, record: r } of records) {
                new aws.route53.Record(`${name}-${label}`, {
                    zoneId: args.hostedZoneId,
                    name: r.name,
                    type: r.type,
                    ttl: r.ttl,
                    records: [r.value],
                }, { parent: this });
            }
        }
        this.registerOutputs({ identityArn: this.identityArn, dnsRecords: this.dnsRecords, dnsMerges: this.dnsMerges });
    }
}
