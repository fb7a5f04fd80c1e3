// The invariant of the inbound flow, checked once the system is quiet: every (mail, recipient) is
// in exactly one visible place, and it is the place the README's routing rules, the verdicts and
// the injected faults call for. Expected places come from the inputs alone (an independent reading
// of the README's "Receiving" section), observed places from what the simulation holds: Gmail
// imports per account, SendBounce calls, the bouncer's logged refusals, the routing decisions the
// bus accepted, and every queue's remaining messages.
import type { GmailImport } from "./gateways";
import type { BounceCall } from "./services";
import type { InboundSimulation, LogEntry } from "./system";
import type { MailSpec, RuleSpec, Scenario } from "./traffic";

export type Place =
    | { kind: "imported"; account: string }
    | { kind: "bounced" }
    | { kind: "not-bounced"; reason: string }
    | { kind: "stored" }
    | { kind: "dropped"; reason: string }
    | { kind: "parked"; account: string }
    | { kind: "dlq"; queue: string; reason?: string; hasLocation: boolean }
    | { kind: "queued"; queue: string };

export type Expected =
    | { kind: "imported"; account: string; labels: string[] }
    | { kind: "bounced" }
    | { kind: "not-bounced"; reasons: string[] }
    | { kind: "stored" }
    | { kind: "dropped"; reason: string }
    | { kind: "parked"; account: string }
    | { kind: "dlq"; role: string; reason: RegExp };

export interface RoutingSettings {
    defaultAction: string;
    spamAction: "drop" | "label";
    /** Configured Gmail accounts, lowercase. */
    accounts: string[];
    /** `MAILER-DAEMON@<receiving domain>`, lowercase. */
    ownMailerDaemons: string[];
}

export const placeText = (p: Place): string => {
    switch (p.kind) {
        case "imported": case "parked": return `${p.kind}:${p.account}`;
        case "not-bounced": case "dropped": return `${p.kind}:${p.reason}`;
        case "dlq": return `dlq:${p.queue}${p.reason ? ` (${p.reason.slice(0, 90)})` : " (no reason)"}${p.hasLocation ? "" : " (no S3 location)"}`;
        case "queued": return `still queued:${p.queue}`;
        default: return p.kind;
    }
};

export const expectedText = (e: Expected): string => {
    switch (e.kind) {
        case "imported": return `imported:${e.account}`;
        case "parked": return `parked:${e.account}`;
        case "not-bounced": return `not-bounced:${e.reasons.join("|")}`;
        case "dropped": return `dropped:${e.reason}`;
        case "dlq": return `dlq:${e.role} (${e.reason.source})`;
        default: return e.kind;
    }
};

// ---------------------------------------------------------------------------------------------
// Expected: the README's rules, applied to the generated inputs
// ---------------------------------------------------------------------------------------------

const ACTIONS = ["forward-to-gmail", "bounce", "store", "drop"];

/** A rule as the router may use it, or undefined when the item is malformed (skipped). */
function usable(rule: RuleSpec | undefined): RuleSpec | undefined {
    if (!rule) return undefined;
    if (!ACTIONS.includes(rule.action)) return undefined;
    if (typeof rule.enabled !== "boolean") return undefined;
    if (rule.action === "forward-to-gmail" && !rule.target?.includes("@")) return undefined;
    return rule;
}

/** README: the first enabled rule among exact address → address without +tag → *@domain → *. */
export function ruleFor(recipient: string, rules: RuleSpec[]): RuleSpec | undefined {
    const address = recipient.trim().toLowerCase();
    const at = address.lastIndexOf("@");
    const local = address.slice(0, at);
    const domain = address.slice(at + 1);
    const plus = local.indexOf("+");
    const candidates = [address, ...(plus > 0 ? [`${local.slice(0, plus)}@${domain}`] : []), `*@${domain}`, "*"];
    for (const pattern of candidates) {
        const rule = usable(rules.find((r) => r.pattern === pattern));
        if (rule?.enabled) return rule;
    }
    return undefined;
}

/** Reasons a bounce would be backscatter (README and the bouncer's documented reasons). */
export function backscatterReasons(mail: MailSpec, ownMailerDaemons: string[], suppressed: Set<string>): string[] {
    const source = mail.source.trim().replace(/^<|>$/g, "").trim();
    const header = (name: string) => mail.headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value.trim();
    const reasons: string[] = [];
    if (source === "") return ["null-sender"];
    if (mail.verdicts.spam === "FAIL" || mail.verdicts.virus === "FAIL") reasons.push("spam-or-virus");
    if (mail.verdicts.spf !== "PASS" && mail.verdicts.dkim !== "PASS") reasons.push("unauthenticated-sender");
    const autoSubmitted = header("Auto-Submitted")?.toLowerCase();
    if (autoSubmitted !== undefined && autoSubmitted !== "no") reasons.push("auto-submitted");
    if (["bulk", "list", "junk"].includes(header("Precedence")?.toLowerCase() ?? "")) reasons.push("bulk-precedence");
    if (header("List-Id") !== undefined) reasons.push("mailing-list");
    if (ownMailerDaemons.includes(source.toLowerCase())) reasons.push("own-mailer-daemon");
    if (suppressed.has(source.toLowerCase())) reasons.push("sender-suppressed");
    return reasons;
}

export interface TokenState {
    /** Accounts whose token is unusable at the end (never refreshed): their mail stays parked. */
    broken: Set<string>;
}

/** Every acceptable place of each (mail, recipient), keyed `messageId|recipient` (recipient lowercase). */
export function expectedPlaces(scenario: Scenario, settings: RoutingSettings, tokens: TokenState): Map<string, Expected[]> {
    const suppressed = new Set(scenario.suppressedSenders.map((s) => s.trim().replace(/^<|>$/g, "").toLowerCase()));
    const out = new Map<string, Expected[]>();
    for (const mail of scenario.mails) {
        const v = mail.verdicts;
        const override = v.virus === "FAIL" ? "virus"
            : v.dmarc === "FAIL" && v.dmarcPolicy?.toLowerCase() === "reject" ? "dmarc-reject"
                : v.spam === "FAIL" && settings.spamAction === "drop" ? "spam" : undefined;
        for (const written of mail.recipients) {
            const recipient = written.toLowerCase();
            const key = `${mail.messageId}|${recipient}`;
            if (override) {
                out.set(key, [{ kind: "dropped", reason: override }]);
                continue;
            }
            const rule = ruleFor(recipient, scenario.rules);
            let action = rule?.action ?? settings.defaultAction;
            let reason = rule ? `rule:${rule.pattern}` : "default";
            if (v.spam === "FAIL" && action === "bounce") {
                action = "drop";
                reason = "spam";
            }
            if (action === "drop") {
                out.set(key, [{ kind: "dropped", reason }]);
            } else if (action === "store") {
                out.set(key, [{ kind: "stored" }]);
            } else if (action === "bounce") {
                const reasons = backscatterReasons(mail, settings.ownMailerDaemons, suppressed);
                out.set(key, [reasons.length > 0 ? { kind: "not-bounced", reasons } : { kind: "bounced" }]);
            } else {
                const account = rule!.target!.trim().toLowerCase();
                const labels = [...rule!.labels, ...(v.spam === "FAIL" ? ["SPAM"] : [])];
                if (!settings.accounts.includes(account)) {
                    out.set(key, [{ kind: "dlq", role: "forward", reason: /configured|account/i }]);
                } else if (tokens.broken.has(account)) {
                    // Whether the token or the object is looked at first is the forwarder's choice.
                    out.set(key, mail.missingObject ? [{ kind: "parked", account }, { kind: "dlq", role: "forward", reason: /S3|NoSuchKey|missing|not exist/i }] : [{ kind: "parked", account }]);
                } else if (mail.missingObject) {
                    out.set(key, [{ kind: "dlq", role: "forward", reason: /S3|NoSuchKey|missing|not exist/i }]);
                } else {
                    out.set(key, [{ kind: "imported", account, labels }]);
                }
            }
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Observed: where each (mail, recipient) is
// ---------------------------------------------------------------------------------------------

interface Decision {
    messageId?: string;
    action: string;
    target?: string;
    recipients: string[];
    reason: string;
    labels: string[];
}

/** Decisions of a routing event's detail: the `decisions` list, or the older one-decision-per-event shape. */
export function decisionsOf(detail: Record<string, any>): Decision[] {
    if (Array.isArray(detail.decisions)) {
        return detail.decisions.map((d: any) => ({
            messageId: detail.messageId, action: String(d.action), target: d.target, recipients: (d.recipients ?? []).map((r: string) => String(r).toLowerCase()),
            reason: String(d.reason ?? detail.reason ?? ""), labels: d.labels ?? [],
        }));
    }
    if (typeof detail.action === "string") {
        return [{ messageId: detail.messageId, action: detail.action, target: detail.target, recipients: (detail.recipients ?? []).map((r: string) => String(r).toLowerCase()), reason: String(detail.reason ?? ""), labels: detail.labels ?? [] }];
    }
    return [];
}

/** What a queued message holds: a mail (SNS envelope / notification) or a routing event. */
function readMessage(body: string): { messageId?: string; decisions?: Decision[]; wholeMail?: boolean; s3?: unknown; reason?: string } {
    let parsed: any;
    try {
        parsed = JSON.parse(body);
    } catch {
        return {};
    }
    if (parsed?.["detail-type"] !== undefined && parsed.detail) {
        const decisions = decisionsOf(parsed.detail);
        const invalid = decisions.find((d) => d.action === "invalid");
        return { messageId: parsed.detail.messageId, decisions, s3: parsed.detail.s3, reason: invalid ? String(parsed.detail.reason ?? invalid.reason) : undefined, wholeMail: invalid !== undefined };
    }
    const notification = parsed?.Type === "Notification" && typeof parsed.Message === "string" ? (() => {
        try {
            return JSON.parse(parsed.Message);
        } catch {
            return undefined;
        }
    })() : parsed;
    if (notification?.mail?.messageId) return { messageId: notification.mail.messageId, wholeMail: true, s3: notification.receipt?.action?.objectKey ? notification.receipt.action : undefined };
    return {};
}

export interface QueueRoles {
    /** Action → the queue its bus rule targets, and the DLQs its messages can end in. */
    byAction: Map<string, { queue: string; deadLetters: string[] }>;
    /** Queues whose messages wait with no consumer (the token retry queue). */
    parking: string[];
    /** Where unreadable input and routing events end. */
    inputDeadLetters: string[];
    consumed: string[];
}

/** Reads the roles of the queues off the plan: bus rules and their targets, redrive policies, consumers. */
export function queueRoles(sim: InboundSimulation): QueueRoles {
    const plan = sim.plan;
    const redriveDlq = (arn: string) => plan.queues.find((q) => q.arn === arn)?.redrive?.deadLetterTargetArn;
    const byAction = new Map<string, { queue: string; deadLetters: string[] }>();
    const actionsOf = (pattern: any): string[] => {
        const detail = pattern?.detail ?? {};
        const values = detail.decisions?.action ?? detail.action ?? [];
        return values.filter((v: unknown): v is string => typeof v === "string");
    };
    for (const rule of plan.busRules) {
        for (const action of actionsOf(rule.pattern)) {
            for (const target of rule.targets) {
                const deadLetters = [redriveDlq(target.arn), target.deadLetterArn].filter((a): a is string => a !== undefined);
                byAction.set(action, { queue: target.arn, deadLetters: [...new Set(deadLetters)] });
            }
        }
    }
    const consumed = [...plan.mappings.map((m) => m.sourceArn), ...plan.pipes.map((p) => p.sourceArn)];
    const deadLetterArns = new Set([...plan.queues.map((q) => q.redrive?.deadLetterTargetArn), ...plan.busRules.flatMap((r) => r.targets.map((t) => t.deadLetterArn))].filter((a): a is string => a !== undefined));
    const targetArns = new Set(plan.busRules.flatMap((r) => r.targets.map((t) => t.arn)));
    const parking = plan.queues.map((q) => q.arn).filter((arn) => !consumed.includes(arn) && !deadLetterArns.has(arn) && !targetArns.has(arn));
    const inputDeadLetters = [...new Set([
        ...plan.pipes.map((p) => redriveDlq(p.sourceArn)),
        ...(byAction.get("invalid") ? [byAction.get("invalid")!.queue, ...byAction.get("invalid")!.deadLetters] : []),
        ...plan.busRules.flatMap((r) => r.targets.map((t) => t.deadLetterArn)),
    ].filter((a): a is string => a !== undefined))];
    return { byAction, parking, inputDeadLetters, consumed };
}

export interface Observation {
    places: Map<string, Place[]>;
    importsPerMailAccount: Map<string, GmailImport[]>;
    bouncesPerRecipient: Map<string, BounceCall[]>;
    /** Imports into an account no decision of the mail named. */
    strayImports: GmailImport[];
    /** Messages in the simulation's queues that belong to no generated mail. */
    unidentified: { queue: string; body: string }[];
    conflicts: string[];
    decisionsByMail: Map<string, Decision[]>;
}

const attr = (m: { messageAttributes: Record<string, { StringValue?: string }> }, name: string) => m.messageAttributes[name]?.StringValue;

export function observe(sim: InboundSimulation, scenario: Scenario): Observation {
    const roles = queueRoles(sim);
    const mailIds = new Set(scenario.mails.map((m) => m.messageId));
    const recipientsOf = new Map(scenario.mails.map((m) => [m.messageId, m.recipients.map((r) => r.toLowerCase())]));

    // Decisions the pipe put on the bus, per mail.
    const decisionsByMail = new Map<string, Decision[]>();
    for (const { event } of sim.bus.accepted) {
        for (const decision of decisionsOf(event.detail)) {
            if (!decision.messageId) continue;
            decisionsByMail.set(decision.messageId, [...(decisionsByMail.get(decision.messageId) ?? []), decision]);
        }
    }

    const importsPerMailAccount = new Map<string, GmailImport[]>();
    for (const i of sim.gmail.imports) {
        const key = `${i.mailId}|${i.account}`;
        importsPerMailAccount.set(key, [...(importsPerMailAccount.get(key) ?? []), i]);
    }
    const bouncesPerRecipient = new Map<string, BounceCall[]>();
    for (const call of sim.ses.bounces) {
        for (const r of call.recipients) {
            const key = `${call.originalMessageId}|${r.toLowerCase()}`;
            bouncesPerRecipient.set(key, [...(bouncesPerRecipient.get(key) ?? []), call]);
        }
    }
    const refusals: LogEntry[] = sim.logs.filter((l) => typeof l.line === "object" && (l.line.action === "bounce-suppressed" || /not bouncing/i.test(String(l.line.message ?? ""))));

    const places = new Map<string, Place[]>();
    const add = (key: string, place: Place) => {
        const list = places.get(key) ?? [];
        if (!list.some((p) => placeText(p) === placeText(place))) list.push(place);
        places.set(key, list);
    };
    const unidentified: { queue: string; body: string }[] = [];

    // Every message still in a queue is a place for the (mail, recipient)s it carries.
    for (const queue of sim.plan.queues) {
        for (const message of sim.sqs.messages(queue.arn)) {
            const read = readMessage(message.body);
            if (!read.messageId || !mailIds.has(read.messageId)) {
                unidentified.push({ queue: queue.name, body: message.body.slice(0, 300) });
                continue;
            }
            const reason = attr(message, "reason") ?? attr(message, "ERROR_MESSAGE") ?? read.reason;
            const isDeadLetter = sim.plan.queues.some((q) => q.redrive?.deadLetterTargetArn === queue.arn) || sim.plan.busRules.some((r) => r.targets.some((t) => t.deadLetterArn === queue.arn)) || roles.inputDeadLetters.includes(queue.arn);
            const isParking = roles.parking.includes(queue.arn);
            const account = attr(message, "account")?.trim().toLowerCase();
            // A parked copy waits for its Gmail account: only forward decisions (of that account) are in it.
            const decisions = isParking
                ? (read.decisions ?? []).filter((d) => d.action === "forward-to-gmail" && (account === undefined || (d.target ?? "").trim().toLowerCase() === account))
                : read.decisions ?? [];
            const covered: { recipient: string; decision?: Decision }[] = read.wholeMail
                ? (recipientsOf.get(read.messageId) ?? []).map((recipient) => ({ recipient }))
                : decisions.flatMap((decision) => decision.recipients.map((recipient) => ({ recipient, decision })));
            for (const { recipient, decision } of covered) {
                const key = `${read.messageId}|${recipient}`;
                if (isParking) {
                    add(key, { kind: "parked", account: account ?? `(no account attribute; decision target ${decision?.target ?? "?"})` });
                } else if (isDeadLetter) {
                    // A DLQ holding a routing event holds the decisions of the rule that put it there.
                    const role = [...roles.byAction.entries()].find(([, r]) => r.deadLetters.includes(queue.arn) || r.queue === queue.arn)?.[0];
                    if (decision && role && role !== "invalid" && decision.action !== role) continue;
                    add(key, { kind: "dlq", queue: queue.name, reason, hasLocation: read.s3 !== undefined });
                } else {
                    const role = [...roles.byAction.entries()].find(([, r]) => r.queue === queue.arn)?.[0];
                    if (decision && role && decision.action !== role) continue;
                    add(key, { kind: "queued", queue: queue.name });
                }
            }
        }
    }

    const conflicts: string[] = [];
    const strayImports: GmailImport[] = [];
    for (const mail of scenario.mails) {
        const decisions = decisionsByMail.get(mail.messageId) ?? [];
        for (const recipient of recipientsOf.get(mail.messageId) ?? []) {
            const key = `${mail.messageId}|${recipient}`;
            const mine = decisions.filter((d) => d.recipients.includes(recipient));
            const distinct = new Set(mine.map((d) => `${d.action}|${(d.target ?? "").toLowerCase()}|${d.reason}`));
            if (distinct.size > 1) conflicts.push(`${key}: ${[...distinct].join(" / ")}`);
            for (const decision of mine) {
                switch (decision.action) {
                    case "forward-to-gmail": {
                        const account = (decision.target ?? "").trim().toLowerCase();
                        if ((importsPerMailAccount.get(`${mail.messageId}|${account}`) ?? []).length > 0) add(key, { kind: "imported", account });
                        break;
                    }
                    case "bounce": {
                        if ((bouncesPerRecipient.get(key) ?? []).length > 0) add(key, { kind: "bounced" });
                        for (const refusal of refusals) {
                            const line = refusal.line as Record<string, unknown>;
                            if (line.messageId === mail.messageId && String(line.recipient ?? "").toLowerCase().split(",").includes(recipient)) add(key, { kind: "not-bounced", reason: String(line.reason) });
                        }
                        break;
                    }
                    case "store":
                        add(key, { kind: "stored" });
                        break;
                    case "drop":
                        add(key, { kind: "dropped", reason: decision.reason });
                        break;
                    default:
                        break;
                }
            }
        }
        // Imports into an account none of the mail's forward decisions named.
        const named = new Set(decisions.filter((d) => d.action === "forward-to-gmail").map((d) => (d.target ?? "").trim().toLowerCase()));
        strayImports.push(...sim.gmail.imports.filter((i) => i.mailId === mail.messageId && !named.has(i.account)));
    }
    return { places, importsPerMailAccount, bouncesPerRecipient, strayImports, unidentified, conflicts, decisionsByMail };
}

// ---------------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------------

export interface Verdict {
    mails: number;
    recipients: number;
    /** Count of (mail, recipient) per observed place kind, when it was in exactly one place. */
    byPlace: Record<string, number>;
    lost: number;
    multiplePlaces: number;
    /** Parked copies of a mail already imported into the same account (left by SQS's at-least-once delivery). */
    redundantParked: number;
    importedTwice: number;
    bouncedTwice: number;
    wrongPlace: number;
    strayImports: number;
    dlqWithoutReason: number;
    labelMismatch: number;
    conflicts: number;
    unidentified: number;
    /** Every violation, one line each. */
    violations: string[];
}

function matches(expected: Expected, place: Place, roles: QueueRoles, sim: InboundSimulation): boolean {
    switch (expected.kind) {
        case "imported": return place.kind === "imported" && place.account === expected.account;
        case "parked": return place.kind === "parked" && place.account === expected.account;
        case "bounced": return place.kind === "bounced";
        case "not-bounced": return place.kind === "not-bounced" && expected.reasons.includes(place.reason);
        case "stored": return place.kind === "stored";
        // The reason names the rule or verdict (routing-event.ts: `rule:<pattern>`, `default`, or the
        // verdict); the router may add detail after a semicolon.
        case "dropped": return place.kind === "dropped" && (place.reason === expected.reason || place.reason.startsWith(`${expected.reason};`));
        case "dlq": {
            if (place.kind !== "dlq") return false;
            const dlqs = roles.byAction.get(expected.role === "forward" ? "forward-to-gmail" : expected.role)?.deadLetters.map((arn) => sim.sqs.spec(arn).name) ?? [];
            return dlqs.includes(place.queue) && expected.reason.test(place.reason ?? "");
        }
        default: return false;
    }
}

export function checkInvariant(sim: InboundSimulation, scenario: Scenario, expected: Map<string, Expected[]>, observation: Observation): Verdict {
    const roles = queueRoles(sim);
    const verdict: Verdict = {
        mails: scenario.mails.length, recipients: expected.size, byPlace: {}, lost: 0, multiplePlaces: 0, redundantParked: 0, importedTwice: 0, bouncedTwice: 0, wrongPlace: 0,
        strayImports: observation.strayImports.length, dlqWithoutReason: 0, labelMismatch: 0, conflicts: observation.conflicts.length, unidentified: observation.unidentified.length, violations: [],
    };
    const violation = (text: string) => verdict.violations.push(text);
    for (const [key, acceptable] of expected) {
        const places = observation.places.get(key) ?? [];
        const [messageId, recipient] = key.split("|");
        const want = acceptable.map(expectedText).join(" or ");
        if (places.length === 0) {
            verdict.lost += 1;
            violation(`LOST ${key}: expected ${want}; routing decisions seen: ${JSON.stringify((observation.decisionsByMail.get(messageId) ?? []).filter((d) => d.recipients.includes(recipient)).map((d) => d.action))}`);
            continue;
        }
        // SQS is at-least-once: a copy of a parked message the drain deleted may stay behind. Drained
        // later, the forwarder's idempotency (kept as long as the mail itself) skips it: a redundant
        // copy, counted, not a second place. Anything else in two places is a violation.
        const imported = places.filter((p) => p.kind === "imported");
        if (places.length > 1 && imported.length === 1 && places.every((p) => (p.kind === "imported" || p.kind === "parked") && p.account === imported[0].account)
            && acceptable.some((e) => matches(e, imported[0], roles, sim))) {
            verdict.redundantParked += places.length - 1;
            verdict.byPlace.imported = (verdict.byPlace.imported ?? 0) + 1;
            continue;
        }
        if (places.length > 1) {
            verdict.multiplePlaces += 1;
            violation(`SEVERAL PLACES ${key}: ${places.map(placeText).join(" + ")}; expected ${want}`);
            continue;
        }
        const [place] = places;
        verdict.byPlace[place.kind] = (verdict.byPlace[place.kind] ?? 0) + 1;
        if (place.kind === "dlq" && (!place.reason || !place.hasLocation)) {
            verdict.dlqWithoutReason += 1;
            violation(`DLQ WITHOUT ${!place.reason ? "REASON" : "S3 LOCATION"} ${key}: ${placeText(place)}`);
        }
        if (!acceptable.some((e) => matches(e, place, roles, sim))) {
            verdict.wrongPlace += 1;
            violation(`WRONG PLACE ${key}: ${placeText(place)}; expected ${want}`);
        }
        if (place.kind === "imported") {
            const imports = observation.importsPerMailAccount.get(`${messageId}|${place.account}`) ?? [];
            if (imports.length > 1) verdict.importedTwice += 1;
            const wantLabels = acceptable.find((e): e is Extract<Expected, { kind: "imported" }> => e.kind === "imported")?.labels ?? [];
            const missing = imports.flatMap((i) => (i.labelIds ? wantLabels.filter((l) => !i.labelIds!.includes(l)) : []));
            if (missing.length > 0) {
                verdict.labelMismatch += 1;
                violation(`LABELS ${key}: import into ${place.account} lacks ${[...new Set(missing)].join(", ")}`);
            }
        }
        if (place.kind === "bounced" && (observation.bouncesPerRecipient.get(key) ?? []).length > 1) verdict.bouncedTwice += 1;
    }
    // Duplicates are counted per (mail, account) and (mail, recipient) once, not per recipient covered.
    const twice = [...observation.importsPerMailAccount.entries()].filter(([, list]) => list.length > 1);
    verdict.importedTwice = twice.length;
    twice.forEach(([key, list]) => violation(`IMPORTED MORE THAN ONCE ${key}: ${list.length} imports (${list.map((i) => i.uploadType).join(", ")})`));
    const bouncedTwice = [...observation.bouncesPerRecipient.entries()].filter(([, list]) => list.length > 1);
    verdict.bouncedTwice = bouncedTwice.length;
    bouncedTwice.forEach(([key, list]) => violation(`BOUNCED MORE THAN ONCE ${key}: ${list.length} SendBounce calls`));
    observation.strayImports.forEach((i) => violation(`STRAY IMPORT ${i.mailId} into ${i.account}: no decision named that account`));
    observation.conflicts.forEach((c) => violation(`CONFLICTING DECISIONS ${c}`));
    observation.unidentified.forEach((u) => violation(`UNIDENTIFIED MESSAGE in ${u.queue}: ${u.body}`));
    return verdict;
}
