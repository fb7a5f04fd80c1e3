// Generated inbound traffic (fast-check): routing rules of every kind (single and list form, valid
// and invalid, mixed in one table), mails with real-world envelope senders, many recipients,
// verdict mixes, backscatter headers and sizes, and the faults each mail meets. Everything is
// data; the harness turns it into S3 objects, SES receipt notifications and rule items.
import fc from "fast-check";
import { receiptNotification } from "../../fixtures/ses-receipt";
import { GmailFault, MAIL_MARKER_HEADER } from "./gateways";

export const ROUTE_ACTIONS = ["forward-to-gmail", "bounce", "store", "drop"] as const;
export type Verdict = "PASS" | "FAIL" | "GRAY" | "PROCESSING_FAILED" | "DISABLED";

/** Gmail faults a retry (or a token refresh and the drain, for 401) must get past. */
export const TRANSIENT_GMAIL_FAULTS: GmailFault[] = ["401", "403-rate", "403-user-rate", "429", "500", "503", "reset"];

/** One element of a list-form rule's `actions` (docs/RECEIVING.md "Several actions in one rule"). */
export interface ActionSpec {
    type: string;
    target?: string;
    labels?: string[];
}

export interface RuleSpec {
    pattern: string;
    /** Single form (`action`/`target`/`labels`); also written beside `actions` for an item with both forms. */
    action?: string;
    target?: string;
    enabled: boolean | string;
    labels: string[];
    /** List form: `actions`, a DynamoDB `L` of `M` {type, target?, labels?}; when present it is what the item says. */
    actions?: ActionSpec[];
    /**
     * How the item is broken, if it is (docs/RECEIVING.md: an invalid rule is skipped as if absent, visibly).
     * Single form: an unknown action, a forward without target, `enabled` not a boolean. List form:
     * contradictory actions, an unsupported type (`deliver-to-jmap`), an empty list.
     */
    malformed?: "bad-action" | "no-target" | "enabled-string" | "contradictory" | "unsupported-type" | "empty-actions";
}

export interface MailSpec {
    messageId: string;
    /** `mail.source` as SES reports it. */
    source: string;
    /** `receipt.recipients` as SES reports them (case as written by the sender). */
    recipients: string[];
    verdicts: { spam: Verdict; virus: Verdict; spf: Verdict; dkim: Verdict; dmarc: Verdict; dmarcPolicy?: string };
    headers: { name: string; value: string }[];
    subject: string;
    size: number;
    /** SNS/SQS deliver at least once: 2 = the notification arrives twice. */
    deliveries: number;
    arrivalMs: number;
    /** The raw object is gone from S3 by the time anything reads it. */
    missingObject: boolean;
    /** Faults for this mail's first Gmail import attempts, in order. */
    gmailFaults: GmailFault[];
}

export interface TokenTrouble {
    /** Revoked while mail arrives, then refreshed (new token + drain) once the system is quiet. */
    revokedMidRun?: { account: string; atMs: number };
    /** Unusable for the whole run and never refreshed: its mail stays parked. */
    brokenThroughout?: { account: string; how: "revoked" | "missing" };
    /**
     * Once the system is quiet the operator refreshes every account but the broken one (`npx ses-mail
     * token refresh`: new token, then a drain for the account), this long apart (0: all at once).
     */
    refreshGapMs: number;
}

export interface Scenario {
    seed: number;
    rules: RuleSpec[];
    mails: MailSpec[];
    tokens: TokenTrouble;
    /** Senders on the suppression list (the bouncer must not bounce to them). */
    suppressedSenders: string[];
}

export interface TrafficContext {
    domains: string[];
    accounts: string[];
    /** A Gmail address rules may name by mistake: not configured, never imported into. */
    unconfiguredAccount: string;
    mailerDaemonLocalPart: string;
    mails: { min: number; max: number };
    arrivalSpreadMs: number;
    /** Share (0–1) and range of large mails (resumable uploads start above 5 MB). */
    large: { rate: number; minBytes: number; maxBytes: number };
    /** Gmail faults to draw from. @default TRANSIENT_GMAIL_FAULTS */
    gmailFaults?: GmailFault[];
}

const weighted = <T>(pairs: [T, number][]) => fc.oneof(...pairs.map(([value, weight]) => ({ weight, arbitrary: fc.constant(value) })));
const LOCALS = ["support", "sales", "info", "billing", "jane", "john.doe", "team", "hr", "ops", "noreply"];
const TAGS = ["news", "x", "2024", "shop"];

const randomCase = (text: string) => fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length })
    .map((flags) => [...text].map((c, i) => (flags[i] ? c.toUpperCase() : c)).join(""));

const hex = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${min},${max}}$`));
const word = fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/);
const domainName = fc.tuple(word, fc.constantFrom("com", "net", "org", "io", "de")).map(([name, tld]) => `${name}.${tld}`);

/** Envelope senders as they really arrive ("AWS-SEMANTICS.md": mail as it really arrives). */
export function senderArbitrary(ctx: TrafficContext): fc.Arbitrary<string> {
    return fc.oneof(
        { weight: 6, arbitrary: fc.tuple(word, fc.option(word, { nil: undefined }), domainName).map(([a, b, domain]) => `${a}${b ? `.${b}` : ""}@${domain}`) },
        { weight: 3, arbitrary: fc.emailAddress() },
        // VERP (bulk senders' bounce addresses)
        { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 1, max: 99999 }), hex(3, 8), word, domainName).map(([n, h, user, domain]) => `bounces+${n}-${h}-${user}=${domain}@sendgrid.net`) },
        // SRS (forwarders)
        { weight: 2, arbitrary: fc.tuple(hex(4, 4), fc.stringMatching(/^[A-Z0-9]{2}$/), domainName, word, domainName).map(([hash, tt, domain, user, fwd]) => `SRS0=${hash}=${tt}=${domain}=${user}@${fwd}`) },
        // BATV
        { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 9999 }), hex(8, 8), word, domainName).map(([n, h, user, domain]) => `prvs=${n}${h}=${user}@${domain}`) },
        { weight: 1, arbitrary: fc.emailAddress().map((a) => a.toUpperCase()) },
        { weight: 1, arbitrary: fc.tuple(word, word, domainName).map(([a, b, domain]) => `"${a} ${b}"@${domain}`) },
        { weight: 1, arbitrary: fc.constantFrom("", "<>") },
        { weight: 1, arbitrary: fc.constantFrom(...ctx.domains).map((domain) => `${ctx.mailerDaemonLocalPart}@${domain}`) },
    );
}

function recipientArbitrary(ctx: TrafficContext): fc.Arbitrary<string> {
    return fc.tuple(
        fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...LOCALS) }, { weight: 1, arbitrary: fc.stringMatching(/^[a-z][a-z0-9._-]{0,11}[a-z0-9]$/) }),
        fc.option(fc.oneof(fc.constantFrom(...TAGS), word), { freq: 4 }),
        fc.constantFrom(...ctx.domains),
    ).chain(([local, tag, domain]) => fc.oneof({ weight: 5, arbitrary: fc.constant(`${local}${tag ? `+${tag}` : ""}@${domain}`) }, { weight: 1, arbitrary: randomCase(`${local}${tag ? `+${tag}` : ""}@${domain}`) }));
}

function singleRuleArbitrary(ctx: TrafficContext, pattern: string): fc.Arbitrary<RuleSpec> {
    return fc.record({
        action: weighted<string>([["forward-to-gmail", 6], ["bounce", 4], ["store", 1], ["drop", 1]]),
        target: targetArbitrary(ctx),
        enabled: weighted([[true, 9], [false, 1]]),
        labels: fc.subarray(["Label_1", "Label_7"]),
        malformed: weighted<RuleSpec["malformed"]>([[undefined, 24], ["bad-action", 1], ["no-target", 1], ["enabled-string", 1]]),
    }).map((r): RuleSpec => {
        const rule: RuleSpec = { pattern, action: r.action, target: r.action === "forward-to-gmail" ? r.target : undefined, enabled: r.enabled, labels: r.action === "forward-to-gmail" ? r.labels : [] };
        if (r.malformed === "bad-action") return { ...rule, action: "forward", malformed: r.malformed };
        if (r.malformed === "no-target") return { ...rule, action: "forward-to-gmail", target: undefined, malformed: r.malformed };
        if (r.malformed === "enabled-string") return { ...rule, enabled: "yes", malformed: r.malformed };
        return rule;
    });
}

/** A rule's Gmail account: mostly a configured one (sometimes in upper case), now and then one the stack does not configure. */
function targetArbitrary(ctx: TrafficContext): fc.Arbitrary<string> {
    return fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...ctx.accounts) }, { weight: 1, arbitrary: fc.constantFrom(...ctx.accounts).map((a) => a.toUpperCase()) }, { weight: 1, arbitrary: fc.constant(ctx.unconfiguredAccount) });
}

const forwardTo = (ctx: TrafficContext) => fc.record({ target: targetArbitrary(ctx), labels: fc.subarray(["Label_1", "Label_7"]) })
    .map(({ target, labels }): ActionSpec => ({ type: "forward-to-gmail", target, ...(labels.length > 0 ? { labels } : {}) }));

/** Several forwards: every configured account (so a mail fans out), in any order, now and then the same one twice or an unconfigured one. */
function multiForward(ctx: TrafficContext): fc.Arbitrary<ActionSpec[]> {
    return fc.tuple(
        fc.shuffledSubarray(ctx.accounts, { minLength: Math.min(2, ctx.accounts.length) }),
        fc.array(fc.subarray(["Label_1", "Label_7"]), { minLength: ctx.accounts.length, maxLength: ctx.accounts.length }),
        weighted<"none" | "duplicate" | "unconfigured" | "upper">([["none", 6], ["duplicate", 2], ["unconfigured", 1], ["upper", 1]]),
    ).map(([targets, labels, extra]) => {
        const actions: ActionSpec[] = targets.map((target, i) => ({ type: "forward-to-gmail", target, ...(labels[i].length > 0 ? { labels: labels[i] } : {}) }));
        if (extra === "duplicate") actions.push({ type: "forward-to-gmail", target: targets[0], labels: ["Label_9"] });
        if (extra === "upper") actions.push({ type: "forward-to-gmail", target: targets[0].toUpperCase(), labels: ["Label_9"] });
        if (extra === "unconfigured") actions.push({ type: "forward-to-gmail", target: ctx.unconfiguredAccount });
        return actions;
    });
}

const store: ActionSpec = { type: "store" };

/** Valid list-form actions: multi-target forwards, forward+store, bounce+store, silent-drop, and one-element lists. */
function validActions(ctx: TrafficContext): fc.Arbitrary<ActionSpec[]> {
    return fc.oneof(
        { weight: 5, arbitrary: fc.tuple(multiForward(ctx), fc.boolean()).map(([forwards, withStore]) => (withStore ? [...forwards, store] : forwards)) },
        { weight: 3, arbitrary: forwardTo(ctx).chain((forward) => fc.constantFrom<ActionSpec[]>([forward, store], [store, forward])) },
        { weight: 3, arbitrary: fc.constantFrom<ActionSpec[]>([{ type: "bounce" }, store], [store, { type: "bounce" }]) },
        { weight: 2, arbitrary: fc.constantFrom<ActionSpec[]>([{ type: "silent-drop" }], [{ type: "silent-drop" }, store], [{ type: "drop" }, { type: "silent-drop" }]) },
        { weight: 2, arbitrary: fc.oneof(forwardTo(ctx).map((f) => [f]), fc.constantFrom<ActionSpec[]>([{ type: "bounce" }], [store], [{ type: "drop" }], [store, store])) },
    );
}

/** List-form actions the router must refuse (docs/RECEIVING.md "Invalid rules"). */
function invalidActions(ctx: TrafficContext): fc.Arbitrary<{ actions: ActionSpec[]; malformed: RuleSpec["malformed"] }> {
    type Invalid = { actions: ActionSpec[]; malformed: RuleSpec["malformed"] };
    const contradictory = fc.tuple(forwardTo(ctx), fc.constantFrom<ActionSpec[]>([{ type: "bounce" }], [{ type: "drop" }], [{ type: "silent-drop" }], [{ type: "bounce" }, store]), fc.boolean())
        .map(([forward, others, forwardFirst]) => (forwardFirst ? [forward, ...others] : [...others, forward]));
    return fc.oneof(
        { weight: 4, arbitrary: fc.oneof(contradictory, fc.constantFrom<ActionSpec[]>([{ type: "bounce" }, { type: "drop" }], [{ type: "silent-drop" }, { type: "bounce" }, store])).map((actions): Invalid => ({ actions, malformed: "contradictory" })) },
        { weight: 3, arbitrary: fc.tuple(fc.oneof(multiForward(ctx), forwardTo(ctx).map((f) => [f]), fc.constant([store])), fc.boolean()).map(([valid, first]): Invalid => ({ actions: first ? [{ type: "deliver-to-jmap", target: "jmap://mail.example.org" }, ...valid] : [...valid, { type: "deliver-to-jmap", target: "jmap://mail.example.org" }], malformed: "unsupported-type" })) },
        { weight: 1, arbitrary: fc.constant<Invalid>({ actions: [], malformed: "empty-actions" }) },
    );
}

/** A list-form rule; now and then the item also carries a (different) single form, which the list overrides. */
function listRuleArbitrary(ctx: TrafficContext, pattern: string): fc.Arbitrary<RuleSpec> {
    return fc.record({
        body: fc.oneof({ weight: 3, arbitrary: validActions(ctx).map((actions) => ({ actions, malformed: undefined as RuleSpec["malformed"] })) }, { weight: 1, arbitrary: invalidActions(ctx) }),
        enabled: weighted([[true, 9], [false, 1]]),
        // One list-form item in four also says `action` (the list wins).
        single: fc.oneof(
            { weight: 3, arbitrary: fc.constant(undefined) },
            { weight: 1, arbitrary: fc.oneof(
                fc.constantFrom<{ action: string; target?: string; labels?: string[] }>({ action: "bounce" }, { action: "drop" }),
                targetArbitrary(ctx).map((target) => ({ action: "forward-to-gmail", target, labels: ["Label_1"] })),
            ) },
        ),
    }).map(({ body, enabled, single }): RuleSpec => ({ pattern, enabled, labels: single?.labels ?? [], ...(single ? { action: single.action, target: single.target } : {}), actions: body.actions, ...(body.malformed ? { malformed: body.malformed } : {}) }));
}

function ruleArbitrary(ctx: TrafficContext, pattern: string): fc.Arbitrary<RuleSpec> {
    return fc.oneof({ weight: 1, arbitrary: singleRuleArbitrary(ctx, pattern) }, { weight: 1, arbitrary: listRuleArbitrary(ctx, pattern) });
}

function rulesArbitrary(ctx: TrafficContext): fc.Arbitrary<RuleSpec[]> {
    const domain = ctx.domains[0];
    const patterns = [
        ...LOCALS.map((local) => `${local}@${domain}`),
        ...TAGS.map((tag) => `jane+${tag}@${domain}`),
        ...ctx.domains.map((d) => `*@${d}`),
        "*",
    ];
    return fc.tuple(...patterns.map((pattern) => fc.option(ruleArbitrary(ctx, pattern), { freq: 4 }))).map((rules) => rules.filter((r): r is RuleSpec => r !== null));
}

function mailArbitrary(ctx: TrafficContext): fc.Arbitrary<Omit<MailSpec, "messageId">> {
    const verdict = weighted<Verdict>([["PASS", 17], ["FAIL", 2], ["GRAY", 1], ["PROCESSING_FAILED", 1], ["DISABLED", 1]]);
    const large = Math.round(1000 * ctx.large.rate);
    return fc.record({
        source: senderArbitrary(ctx),
        recipients: fc.oneof(
            { weight: 8, arbitrary: fc.uniqueArray(recipientArbitrary(ctx), { minLength: 1, maxLength: 4, selector: (r) => r.toLowerCase() }) },
            { weight: 1, arbitrary: fc.uniqueArray(recipientArbitrary(ctx), { minLength: 5, maxLength: 60, selector: (r) => r.toLowerCase() }) },
        ),
        verdicts: fc.record({
            spam: weighted<Verdict>([["PASS", 12], ["FAIL", 1], ["GRAY", 1]]),
            virus: weighted<Verdict>([["PASS", 20], ["FAIL", 1]]),
            spf: verdict,
            dkim: verdict,
            dmarc: verdict,
            dmarcPolicy: fc.option(fc.constantFrom("reject", "REJECT", "quarantine", "none"), { nil: undefined }),
        }),
        headers: fc.oneof(
            { weight: 6, arbitrary: fc.constant<{ name: string; value: string }[]>([]) },
            { weight: 1, arbitrary: fc.constantFrom<{ name: string; value: string }[]>([{ name: "Auto-Submitted", value: "auto-replied" }], [{ name: "Auto-Submitted", value: "no" }], [{ name: "Precedence", value: "bulk" }], [{ name: "Precedence", value: "List" }], [{ name: "Precedence", value: "normal" }], [{ name: "List-Id", value: "<news.example.net>" }]) },
        ),
        subject: fc.constantFrom("Hello", "Invoice 42", "Re: your order", "Grüße aus Köln", "[list] weekly digest"),
        size: fc.oneof(
            { weight: 900, arbitrary: fc.integer({ min: 600, max: 30_000 }) },
            { weight: 100, arbitrary: fc.integer({ min: 30_000, max: 400_000 }) },
            ...(large > 0 ? [{ weight: large, arbitrary: fc.integer({ min: ctx.large.minBytes, max: ctx.large.maxBytes }) }] : []),
        ),
        deliveries: weighted([[1, 12], [2, 1]]),
        arrivalMs: fc.integer({ min: 0, max: ctx.arrivalSpreadMs }),
        missingObject: weighted([[false, 30], [true, 1]]),
        gmailFaults: fc.oneof({ weight: 5, arbitrary: fc.constant<GmailFault[]>([]) }, { weight: 2, arbitrary: fc.array(fc.constantFrom(...(ctx.gmailFaults ?? TRANSIENT_GMAIL_FAULTS)), { minLength: 1, maxLength: 2 }) }),
    });
}

export function scenarioArbitrary(ctx: TrafficContext): fc.Arbitrary<Scenario> {
    const accounts = fc.constantFrom(...ctx.accounts);
    return fc.record({
        seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        rules: rulesArbitrary(ctx),
        mails: fc.array(mailArbitrary(ctx), { minLength: ctx.mails.min, maxLength: ctx.mails.max }),
        revokedMidRun: fc.option(fc.record({ account: accounts, atMs: fc.integer({ min: 0, max: ctx.arrivalSpreadMs }) }), { nil: undefined }),
        brokenThroughout: fc.option(fc.record({ account: accounts, how: fc.constantFrom<"revoked" | "missing">("revoked", "missing") }), { nil: undefined }),
        suppressedShare: fc.double({ min: 0, max: 0.3, noNaN: true }),
        refreshGapMs: fc.oneof(fc.constant(0), fc.integer({ min: 60_000, max: 3_600_000 })),
    }).map((s): Scenario => {
        const mails = s.mails.map((m, i) => ({ ...m, messageId: `${String(i).padStart(4, "0")}${s.seed.toString(36)}`.padEnd(40, "0").slice(0, 40).toLowerCase() }));
        const broken = s.brokenThroughout && s.brokenThroughout.account !== s.revokedMidRun?.account ? s.brokenThroughout : undefined;
        const senders = [...new Set(mails.map((m) => m.source).filter((x) => x !== "" && x !== "<>"))];
        return {
            seed: s.seed,
            rules: s.rules,
            mails,
            tokens: { revokedMidRun: s.revokedMidRun, brokenThroughout: broken, refreshGapMs: s.refreshGapMs },
            suppressedSenders: senders.filter((_, i) => (i * 7919) % 100 < 100 * s.suppressedShare),
        };
    });
}

// ---- what the harness stores ----

/** The raw message SES stored in S3 (RFC 5322), padded to its size; carries the harness's marker header. */
export function rawMail(mail: MailSpec): Buffer {
    const from = mail.source === "" || mail.source === "<>" ? "mailer-daemon@example.net" : mail.source;
    const head = [
        `Return-Path: <${mail.source === "<>" ? "" : mail.source}>`,
        `From: Sender <${from}>`,
        `To: ${mail.recipients.join(", ")}`,
        `Subject: ${mail.subject}`,
        "Date: Fri, 11 Sep 2015 20:32:32 +0000",
        `Message-ID: <${mail.messageId}@mail.example.net>`,
        `${MAIL_MARKER_HEADER}: ${mail.messageId}`,
        ...mail.headers.map((h) => `${h.name}: ${h.value}`),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "",
        "",
    ].join("\r\n");
    const line = "The quick brown fox jumps over the lazy dog. 0123456789\r\n";
    const bodyBytes = Math.max(0, mail.size - Buffer.byteLength(head));
    const body = line.repeat(Math.ceil(bodyBytes / line.length) + 1).slice(0, bodyBytes);
    return Buffer.from(head + body, "utf8");
}

/** SES's receipt notification for an S3 action (the fixture's real shape), placed as the plan's receipt rule places it. */
export function notificationFor(mail: MailSpec, where: { bucket: string; objectKeyPrefix: string; topicArn?: string; timestamp: string }) {
    const notification = receiptNotification({
        messageId: mail.messageId, source: mail.source, recipients: mail.recipients,
        spam: mail.verdicts.spam, virus: mail.verdicts.virus, spf: mail.verdicts.spf, dkim: mail.verdicts.dkim, dmarc: mail.verdicts.dmarc,
        dmarcPolicy: mail.verdicts.dmarcPolicy, extraHeaders: mail.headers, timestamp: where.timestamp, bucket: where.bucket,
    });
    notification.mail.commonHeaders.subject = mail.subject;
    notification.receipt.action = { ...notification.receipt.action, objectKeyPrefix: where.objectKeyPrefix, objectKey: `${where.objectKeyPrefix}${mail.messageId}`, ...(where.topicArn ? { topicArn: where.topicArn } : {}) };
    return notification;
}

/** The item operators write (docs/RECEIVING.md "Receiving"), single or list form or both, broken as the spec says. */
export function ruleItem(rule: RuleSpec, at: string): Record<string, unknown> {
    const domainPart = rule.pattern.includes("@") ? rule.pattern : "*";
    const labelList = (labels: string[]) => ({ L: labels.map((l) => ({ S: l })) });
    return {
        PK: { S: `ROUTE#${rule.pattern}` }, SK: { S: "RULE#v1" }, entity_type: { S: "ROUTE" },
        recipient: { S: domainPart },
        ...(rule.action !== undefined ? { action: { S: rule.action } } : {}),
        ...(rule.target !== undefined ? { target: { S: rule.target } } : {}),
        ...(rule.actions !== undefined ? {
            actions: {
                L: rule.actions.map((a) => ({ M: { type: { S: a.type }, ...(a.target !== undefined ? { target: { S: a.target } } : {}), ...(a.labels?.length ? { labels: labelList(a.labels) } : {}) } })),
            },
        } : {}),
        enabled: typeof rule.enabled === "boolean" ? { BOOL: rule.enabled } : { S: rule.enabled },
        ...(rule.labels.length > 0 ? { labels: labelList(rule.labels) } : {}),
        created_at: { S: at }, updated_at: { S: at }, description: { S: `generated ${rule.malformed ?? "rule"}${rule.actions ? ` (list form${rule.action !== undefined ? ", both forms" : ""})` : ""}` },
    };
}
