// The invariant of the inbound flow, checked once the system is quiet: every (mail, recipient,
// destination) is in exactly one visible place, and it is the place docs/RECEIVING.md's routing rules, the
// verdicts and the injected faults call for. A recipient has one destination per action of the rule
// that applies to it (docs/RECEIVING.md "Several actions in one rule"): each forward target's Gmail account
// (`gmail:<account>`), `bounce`, `store`, `drop`; a single-action rule, the default and a verdict
// give one. Expected places come from the inputs alone (an independent reading of docs/RECEIVING.md's
// "Receiving" section), observed places from what the simulation holds: Gmail imports per account,
// SendBounce calls, the bouncer's logged refusals, the routing decisions the bus accepted, and
// every queue's remaining messages. Decisions' reasons and the router's "Invalid routing rule
// skipped" errors are checked against the rules docs/RECEIVING.md says were skipped.
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
// Expected: docs/RECEIVING.md's rules, applied to the generated inputs
// ---------------------------------------------------------------------------------------------

const ACTIONS = ["forward-to-gmail", "bounce", "store", "drop"];
/** docs/RECEIVING.md "Action types": names of the predecessor system read as ours. */
const ALIASES: Record<string, string> = { "silent-drop": "drop" };
/** docs/RECEIVING.md "Combinations": forward-to-gmail, bounce and drop exclude each other; store goes with anything. */
const EXCLUSIVE = ["forward-to-gmail", "bounce", "drop"];

/** One thing a usable rule does (types mapped, targets lowercase, duplicates merged). */
export interface ReadAction {
    type: string;
    target?: string;
    labels: string[];
}

/** A rule item as docs/RECEIVING.md says the router reads it: what it does, or why it cannot be used. */
export type ReadRule = { rule: RuleSpec; actions: ReadAction[] } | { rule: RuleSpec; invalid: RegExp };

/**
 * docs/RECEIVING.md "Receiving": an item with `actions` is read in the list form only (a malformed list is
 * never rescued by `action`); an unknown type, contradictory actions, a forward without a target,
 * an empty list or `enabled` not a boolean make the rule invalid. `invalid` is what the reason must
 * say (docs/RECEIVING.md's example: `actions[1].type "deliver-to-jmap" is not an action …`).
 */
export function readRule(rule: RuleSpec): ReadRule {
    if (typeof rule.enabled !== "boolean") return { rule, invalid: /enabled/ };
    const read = (type: string, target: string | undefined, labels: string[] | undefined, where: string): ReadAction | RegExp => {
        const mapped = ALIASES[type] ?? type;
        if (!ACTIONS.includes(mapped)) return new RegExp(`${escapeRe(where)}.*"${escapeRe(type)}" is not an action`);
        if (mapped !== "forward-to-gmail") return { type: mapped, labels: [] };
        if (!target?.includes("@")) return /target/;
        return { type: mapped, target: target.trim().toLowerCase(), labels: labels ?? [] };
    };
    if (rule.actions === undefined) {
        const action = read(rule.action ?? "", rule.target, rule.labels, "action");
        return action instanceof RegExp ? { rule, invalid: rule.action === undefined ? /action/ : action } : { rule, actions: [action] };
    }
    if (rule.actions.length === 0) return { rule, invalid: /no actions|empty/ };
    const actions: ReadAction[] = [];
    for (const [i, a] of rule.actions.entries()) {
        const action = read(a.type, a.target, a.labels, `actions[${i}].type`);
        if (action instanceof RegExp) return { rule, invalid: action };
        // "The same target twice in one rule is one forward with both label lists."
        const same = actions.find((b) => b.type === action.type && b.target === action.target);
        if (same) same.labels = [...new Set([...same.labels, ...action.labels])];
        else actions.push(action);
    }
    if (EXCLUSIVE.filter((type) => actions.some((a) => a.type === type)).length > 1) return { rule, invalid: /contradict/ };
    return { rule, actions };
}

function escapeRe(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** docs/RECEIVING.md: candidates exact address → address without +tag → *@domain → *. */
export function candidates(recipient: string): string[] {
    const address = recipient.trim().toLowerCase();
    const at = address.lastIndexOf("@");
    const local = address.slice(0, at);
    const domain = address.slice(at + 1);
    const plus = local.indexOf("+");
    return [address, ...(plus > 0 ? [`${local.slice(0, plus)}@${domain}`] : []), `*@${domain}`, "*"];
}

/**
 * docs/RECEIVING.md: the first enabled, valid rule among the candidates wins; a disabled rule is skipped
 * quietly, an enabled invalid one as if absent but visibly (`skipped`, in candidate order).
 */
export function resolveRule(recipient: string, rules: RuleSpec[]): { winner?: { rule: RuleSpec; actions: ReadAction[] }; skipped: { pattern: string; why: RegExp }[] } {
    const skipped: { pattern: string; why: RegExp }[] = [];
    for (const pattern of candidates(recipient)) {
        const rule = rules.find((r) => r.pattern === pattern);
        if (!rule || rule.enabled === false) continue;
        const read = readRule(rule);
        if ("invalid" in read) {
            skipped.push({ pattern, why: read.invalid });
            continue;
        }
        return { winner: read, skipped };
    }
    return { skipped };
}

/** The rule docs/RECEIVING.md says applies to the recipient (undefined: the default action). */
export function ruleFor(recipient: string, rules: RuleSpec[]): RuleSpec | undefined {
    return resolveRule(recipient, rules).winner?.rule;
}

/** Reasons a bounce would be backscatter (docs/RECEIVING.md and the bouncer's documented reasons). */
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

/** Where a decision puts a recipient: `gmail:<account>`, `bounce`, `store`, `drop` (`mail`: the whole mail, undecided). */
export const destinationOf = (action: string, target?: string): string => (action === "forward-to-gmail" ? `gmail:${(target ?? "").trim().toLowerCase()}` : action);

/** The key of one destination of one recipient of one mail. */
export const placeKey = (messageId: string, recipient: string, destination: string): string => `${messageId}|${recipient}|${destination}`;

export interface ExpectedRouting {
    /** Every acceptable place of each (mail, recipient, destination), keyed by placeKey (recipient lowercase). */
    places: Map<string, Expected[]>;
    /** What the reason of the decision behind each key must be: the rule or verdict, then `; rule:<p> invalid: …` per skipped rule. */
    reasons: Map<string, RegExp>;
    /** Per mail, the invalid rules the router must report skipping (pattern → recipients, why). */
    invalidSkips: Map<string, Map<string, { recipients: Set<string>; why: RegExp }>>;
    stats: { recipients: number; destinations: number; rules: number; listRules: number; bothForms: number; invalidRules: number; invalidSkipped: number; multiTarget: number };
}

/** Every acceptable place of each (mail, recipient, destination) (see expectedRouting). */
export function expectedPlaces(scenario: Scenario, settings: RoutingSettings, tokens: TokenState): Map<string, Expected[]> {
    return expectedRouting(scenario, settings, tokens).places;
}

/**
 * docs/RECEIVING.md's routing, applied to each recipient: a verdict decides for the whole mail; otherwise
 * the winning rule's actions (or the default) give the recipient one destination each: every
 * forward target is imported into its account once (parked for it, or in the forwarder's DLQ with
 * the reason, when the faults demand), a bounce is sent or refused as backscatter, store and drop
 * are places of their own.
 */
export function expectedRouting(scenario: Scenario, settings: RoutingSettings, tokens: TokenState): ExpectedRouting {
    const suppressed = new Set(scenario.suppressedSenders.map((s) => s.trim().replace(/^<|>$/g, "").toLowerCase()));
    const places = new Map<string, Expected[]>();
    const reasons = new Map<string, RegExp>();
    const invalidSkips = new Map<string, Map<string, { recipients: Set<string>; why: RegExp }>>();
    const read = scenario.rules.map(readRule);
    const stats = {
        recipients: 0, destinations: 0, rules: scenario.rules.length, listRules: scenario.rules.filter((r) => r.actions !== undefined).length,
        bothForms: scenario.rules.filter((r) => r.actions !== undefined && r.action !== undefined).length,
        invalidRules: read.filter((r) => "invalid" in r && r.rule.enabled !== false).length, invalidSkipped: 0, multiTarget: 0,
    };
    for (const mail of scenario.mails) {
        const v = mail.verdicts;
        const override = v.virus === "FAIL" ? "virus"
            : v.dmarc === "FAIL" && v.dmarcPolicy?.toLowerCase() === "reject" ? "dmarc-reject"
                : v.spam === "FAIL" && settings.spamAction === "drop" ? "spam" : undefined;
        for (const written of mail.recipients) {
            const recipient = written.toLowerCase();
            stats.recipients += 1;
            const expect = (destination: string, acceptable: Expected[], reason: RegExp) => {
                places.set(placeKey(mail.messageId, recipient, destination), acceptable);
                reasons.set(placeKey(mail.messageId, recipient, destination), reason);
                stats.destinations += 1;
            };
            if (override) {
                expect("drop", [{ kind: "dropped", reason: override }], new RegExp(`^${override}$`));
                continue;
            }
            const { winner, skipped } = resolveRule(recipient, scenario.rules);
            if (skipped.length > 0) stats.invalidSkipped += 1;
            for (const { pattern, why } of skipped) {
                const perMail = invalidSkips.get(mail.messageId) ?? new Map<string, { recipients: Set<string>; why: RegExp }>();
                const entry = perMail.get(pattern) ?? { recipients: new Set<string>(), why };
                entry.recipients.add(recipient);
                perMail.set(pattern, entry);
                invalidSkips.set(mail.messageId, perMail);
            }
            const note = skipped.map((s) => `; rule:${escapeRe(s.pattern)} invalid: .+?`).join("");
            const actions = winner?.actions ?? [{ type: settings.defaultAction, labels: [] }];
            if (actions.filter((a) => a.type === "forward-to-gmail").length > 1) stats.multiTarget += 1;
            for (const a of actions) {
                let action = a.type;
                let reason = winner ? `rule:${winner.rule.pattern}` : "default";
                // Under a failed spam verdict a bounce becomes a drop; the other actions stay.
                if (v.spam === "FAIL" && action === "bounce") {
                    action = "drop";
                    reason = "spam";
                }
                const reasonPattern = new RegExp(`^${escapeRe(reason)}${note}$`);
                if (action === "drop") {
                    expect("drop", [{ kind: "dropped", reason }], reasonPattern);
                } else if (action === "store") {
                    expect("store", [{ kind: "stored" }], reasonPattern);
                } else if (action === "bounce") {
                    const refusals = backscatterReasons(mail, settings.ownMailerDaemons, suppressed);
                    expect("bounce", [refusals.length > 0 ? { kind: "not-bounced", reasons: refusals } : { kind: "bounced" }], reasonPattern);
                } else {
                    const account = a.target!;
                    const labels = [...a.labels, ...(v.spam === "FAIL" ? ["SPAM"] : [])];
                    const missing: Expected = { kind: "dlq", role: "forward", reason: /S3|NoSuchKey|missing|not exist/i };
                    expect(destinationOf(action, account), !settings.accounts.includes(account) ? [{ kind: "dlq", role: "forward", reason: /configured|account/i }]
                        // Whether the token or the object is looked at first is the forwarder's choice.
                        : tokens.broken.has(account) ? (mail.missingObject ? [{ kind: "parked", account }, missing] : [{ kind: "parked", account }])
                            : mail.missingObject ? [missing]
                                : [{ kind: "imported", account, labels }], reasonPattern);
                }
            }
        }
    }
    return { places, reasons, invalidSkips, stats };
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
    /** The reasons of the decisions behind each (mail, recipient, destination). */
    reasons?: Map<string, Set<string>>;
    /** The router's "Invalid routing rule skipped" errors: mail → pattern → each log's recipients and reason. */
    invalidLogs?: Map<string, Map<string, { recipients: string[]; reason: string }[]>>;
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
                // A whole mail (undecided) is at no destination of its own: `mail`, which no rule calls for.
                const key = placeKey(read.messageId, recipient, decision ? destinationOf(decision.action, decision.target) : isParking && account ? destinationOf("forward-to-gmail", account) : "mail");
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
    const reasons = new Map<string, Set<string>>();
    for (const mail of scenario.mails) {
        const decisions = decisionsByMail.get(mail.messageId) ?? [];
        for (const recipient of recipientsOf.get(mail.messageId) ?? []) {
            const mine = decisions.filter((d) => d.recipients.includes(recipient));
            // Each destination of a recipient comes from one decision (a mail routed twice repeats it).
            const byDestination = new Map<string, Set<string>>();
            for (const d of mine) {
                const destination = destinationOf(d.action, d.target);
                byDestination.set(destination, (byDestination.get(destination) ?? new Set()).add(`${d.reason} [${[...d.labels].sort().join(",")}]`));
                const key = placeKey(mail.messageId, recipient, destination);
                reasons.set(key, (reasons.get(key) ?? new Set()).add(d.reason));
            }
            for (const [destination, distinct] of byDestination) {
                if (distinct.size > 1) conflicts.push(`${placeKey(mail.messageId, recipient, destination)}: ${[...distinct].join(" / ")}`);
            }
            for (const decision of mine) {
                const key = placeKey(mail.messageId, recipient, destinationOf(decision.action, decision.target));
                switch (decision.action) {
                    case "forward-to-gmail": {
                        const account = (decision.target ?? "").trim().toLowerCase();
                        if ((importsPerMailAccount.get(`${mail.messageId}|${account}`) ?? []).length > 0) add(key, { kind: "imported", account });
                        break;
                    }
                    case "bounce": {
                        if ((bouncesPerRecipient.get(`${mail.messageId}|${recipient}`) ?? []).length > 0) add(key, { kind: "bounced" });
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

    // What the router said about invalid rules it skipped (docs/RECEIVING.md: error log `Invalid routing rule skipped`).
    const invalidLogs = new Map<string, Map<string, { recipients: string[]; reason: string }[]>>();
    for (const { line } of sim.logs) {
        if (typeof line !== "object" || line.message !== "Invalid routing rule skipped") continue;
        const messageId = String(line.messageId);
        const perMail = invalidLogs.get(messageId) ?? new Map<string, { recipients: string[]; reason: string }[]>();
        const pattern = String(line.pattern);
        perMail.set(pattern, [...(perMail.get(pattern) ?? []), { recipients: String(line.recipient ?? "").toLowerCase().split(",").filter(Boolean), reason: String(line.reason ?? "") }]);
        invalidLogs.set(messageId, perMail);
    }
    return { places, importsPerMailAccount, bouncesPerRecipient, strayImports, unidentified, conflicts, decisionsByMail, reasons, invalidLogs };
}

// ---------------------------------------------------------------------------------------------
// The check
// ---------------------------------------------------------------------------------------------

export interface Verdict {
    mails: number;
    /** (mail, recipient)s. */
    recipients: number;
    /** (mail, recipient, destination)s: a recipient has one per action of its rule. */
    destinations: number;
    /** Count of (mail, recipient, destination) per observed place kind, when it was in exactly one place. */
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
    /** Places at a destination no expectation names (a recipient routed somewhere its rule does not say). */
    unexpectedPlaces: number;
    /** Decisions whose reason does not name the rule or verdict (and the invalid rules skipped) docs/RECEIVING.md calls for. */
    reasonMismatch: number;
    /** Invalid rules skipped without the router's error log, or logged when none was skipped. */
    invalidLogMismatch: number;
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

export function checkInvariant(sim: InboundSimulation, scenario: Scenario, expectation: Map<string, Expected[]> | ExpectedRouting, observation: Observation): Verdict {
    const roles = queueRoles(sim);
    const routing = expectation instanceof Map ? undefined : expectation;
    const expected = expectation instanceof Map ? expectation : expectation.places;
    const verdict: Verdict = {
        mails: scenario.mails.length, recipients: new Set([...expected.keys()].map((k) => k.split("|").slice(0, 2).join("|"))).size, destinations: expected.size,
        byPlace: {}, lost: 0, multiplePlaces: 0, redundantParked: 0, importedTwice: 0, bouncedTwice: 0, wrongPlace: 0,
        strayImports: observation.strayImports.length, dlqWithoutReason: 0, labelMismatch: 0, conflicts: observation.conflicts.length, unidentified: observation.unidentified.length,
        unexpectedPlaces: 0, reasonMismatch: 0, invalidLogMismatch: 0, violations: [],
    };
    const violation = (text: string) => verdict.violations.push(text);
    const decisionsOfRecipient = (messageId: string, recipient: string) => (observation.decisionsByMail.get(messageId) ?? []).filter((d) => d.recipients.includes(recipient)).map((d) => `${destinationOf(d.action, d.target)} (${d.reason})`);
    for (const [key, acceptable] of expected) {
        const places = observation.places.get(key) ?? [];
        const [messageId, recipient] = key.split("|");
        const want = acceptable.map(expectedText).join(" or ");
        const reason = routing?.reasons.get(key);
        const seenReasons = [...(observation.reasons?.get(key) ?? [])];
        if (reason && seenReasons.some((r) => !reason.test(r))) {
            verdict.reasonMismatch += 1;
            violation(`REASON ${key}: decision reason ${seenReasons.map((r) => JSON.stringify(r)).join(" / ")}; expected ${reason.source}`);
        }
        if (places.length === 0) {
            verdict.lost += 1;
            violation(`LOST ${key}: expected ${want}; routing decisions seen: ${JSON.stringify(decisionsOfRecipient(messageId, recipient))}`);
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
            const wantLabels = acceptable.find((e): e is Extract<Expected, { kind: "imported" }> => e.kind === "imported")?.labels ?? [];
            const missing = imports.flatMap((i) => (i.labelIds ? wantLabels.filter((l) => !i.labelIds!.includes(l)) : []));
            if (missing.length > 0) {
                verdict.labelMismatch += 1;
                violation(`LABELS ${key}: import into ${place.account} lacks ${[...new Set(missing)].join(", ")}`);
            }
        }
    }
    // A place at a destination no expectation names: the recipient went somewhere its rule does not send it.
    for (const [key, places] of observation.places) {
        if (expected.has(key)) continue;
        const [messageId, recipient] = key.split("|");
        verdict.unexpectedPlaces += 1;
        const destinations = [...expected.keys()].filter((k) => k.startsWith(`${messageId}|${recipient}|`)).map((k) => k.split("|")[2]);
        violation(`UNEXPECTED PLACE ${key}: ${places.map(placeText).join(" + ")}; expected destinations ${destinations.join(", ") || "none"}; routing decisions seen: ${JSON.stringify(decisionsOfRecipient(messageId, recipient))}`);
    }
    // Each invalid rule skipped for a mail's recipients is logged (every routing of the mail names the
    // same recipients and says why); nothing else is.
    if (routing && observation.invalidLogs) {
        for (const mail of scenario.mails) {
            const want = routing.invalidSkips.get(mail.messageId) ?? new Map<string, { recipients: Set<string>; why: RegExp }>();
            const seen = observation.invalidLogs.get(mail.messageId) ?? new Map<string, { recipients: string[]; reason: string }[]>();
            const routed = (observation.decisionsByMail.get(mail.messageId) ?? []).length > 0;
            for (const [pattern, { recipients, why }] of want) {
                const logs = seen.get(pattern) ?? [];
                const wrong = logs.filter((l) => !why.test(l.reason) || l.recipients.length !== recipients.size || l.recipients.some((r) => !recipients.has(r)));
                if ((routed && logs.length === 0) || wrong.length > 0) {
                    verdict.invalidLogMismatch += 1;
                    violation(`INVALID RULE LOG ${mail.messageId} rule:${pattern}: expected "Invalid routing rule skipped" for ${[...recipients].join(",")} (${why.source}); logged ${JSON.stringify(logs)}`);
                }
            }
            for (const [pattern, logs] of seen) {
                if (want.has(pattern)) continue;
                verdict.invalidLogMismatch += 1;
                violation(`INVALID RULE LOG ${mail.messageId} rule:${pattern}: logged as skipped, but no recipient should meet it: ${JSON.stringify(logs)}`);
            }
        }
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
