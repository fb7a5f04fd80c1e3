import { expect } from "chai";
import * as fc from "fast-check";
import { DEFAULT_ROUTER_SETTINGS, RouterSettings } from "../../../functions/router/decide";
import { capBody, MAX_BODY_CHARS } from "../../../functions/router/record";
import { route, RouterObservers } from "../../../functions/router/route";
import { RouteRule, RuleAction, StoredRule } from "../../../functions/router/rules";
import { InvalidRoutingEvent, ROUTE_ACTIONS, RouteAction, RouterOutput, RoutingEvent } from "../../../functions/shared/routing-event";
import { sns, sqsRecord } from "../../fixtures/ses-feedback";
import { eventBridgeSqsBody, receiptNotification } from "../../fixtures/ses-receipt";
import { address, Breakage, BREAKAGES, memoryRules, receiptBody } from "./arbitraries";

const isInvalid = (o: RouterOutput): o is InvalidRoutingEvent => o.decisions[0]?.action === "invalid";
/** A PutEvents entry counts the UTF-8 bytes of Detail ("Calculating Amazon EventBridge PutEvents event entry size"). */
const entryBytes = (detail: unknown) => Buffer.byteLength(JSON.stringify(detail), "utf8") + "ses-mail.router".length + "Email Routing Decision".length;
const PUT_EVENTS_ENTRY_LIMIT = 256 * 1024;

function observers() {
    const seen = { logs: [] as [string, Record<string, unknown>][], errors: [] as [string, Record<string, unknown>][], metrics: [] as string[] };
    const observe: RouterObservers = {
        log: (message, fields) => seen.logs.push([message, fields]),
        error: (message, fields) => seen.errors.push([message, fields]),
        metric: (name, dimensions) => seen.metrics.push(dimensions ? `${name}:${Object.values(dimensions).join(",")}` : name),
    };
    return { seen, observe };
}

const rule = (pattern: string, action: RouteAction, extra: Partial<RouteRule> = {}): RouteRule =>
    ({ pattern, action, enabled: true, labels: [], ...(action === "forward-to-gmail" ? { target: "me@gmail.com" } : {}), ...extra });

describe("route: one output per record", () => {
    const rules = memoryRules([rule("support@example.com", "forward-to-gmail"), rule("*@example.com", "bounce")]);

    it("an unreadable record becomes an invalid event with the ids, the full reason and the whole body", async () => {
        const body = receiptBody({ messageId: "m-broken", recipients: ["support@example.com"] }, "no-s3-action");
        const record = sqsRecord(body);
        const { seen, observe } = observers();
        const [out] = await route([record], rules, DEFAULT_ROUTER_SETTINGS, observe);
        const reason = "Invalid SES receipt notification: receipt.action: missing (expected object)";
        expect(out).to.deep.equal({
            messageId: "m-broken", sqsMessageId: record.messageId, reason, body, bodyTruncated: false,
            decisions: [{ action: "invalid", recipients: [], reason, labels: [] }],
        });
        expect(seen.errors).to.deep.equal([["Unreadable message sent to the input DLQ", { sqsMessageId: record.messageId, messageId: "m-broken", s3: undefined, reason, bodyTruncated: false }]]);
        expect(seen.metrics).to.deep.equal(["RouterInvalidMessage"]);
    });

    it("redrive: the invalid event, delivered to the DLQ by EventBridge and redriven, routes once its body is readable", async () => {
        const broken = sqsRecord(receiptBody({ messageId: "m-redrive", recipients: ["support@example.com"] }, "no-s3-action"));
        const [invalid] = await route([broken], rules, DEFAULT_ROUTER_SETTINGS, observers().observe);
        expect(isInvalid(invalid)).to.equal(true);

        // After the fix the same event, as EventBridge → SQS delivers it, carries a readable body.
        const fixed = JSON.stringify(sns(receiptNotification({ messageId: "m-redrive", recipients: ["support@example.com", "nobody@example.com"] })));
        const redriven = sqsRecord(eventBridgeSqsBody({ ...invalid, body: fixed }));
        const { seen, observe } = observers();
        const [out] = await route([redriven], rules, DEFAULT_ROUTER_SETTINGS, observe);
        expect(isInvalid(out)).to.equal(false);
        expect((out as RoutingEvent).messageId).to.equal("m-redrive");
        expect(out.decisions.map((d) => [d.action, d.recipients])).to.deep.equal([["forward-to-gmail", ["support@example.com"]], ["bounce", ["nobody@example.com"]]]);
        expect(seen.metrics).to.include("RouterRedrivenMessage");
        expect(seen.logs[0]).to.deep.equal(["Redriven invalid event read again", { sqsMessageId: redriven.messageId, messageId: "m-redrive" }]);

        // Redriven unchanged it is invalid again, with the original body (not the event around it), so it can go round again.
        const [again] = await route([sqsRecord(eventBridgeSqsBody(invalid))], rules, DEFAULT_ROUTER_SETTINGS, observers().observe);
        expect(again).to.deep.include({ messageId: "m-redrive", body: (invalid as InvalidRoutingEvent).body, bodyTruncated: false, reason: (invalid as InvalidRoutingEvent).reason });
    });

    it("redrive unwraps one level only, never recursively", async () => {
        const valid = JSON.stringify(sns(receiptNotification({ recipients: ["support@example.com"] })));
        const invalidDetail = (body: string) => ({ sqsMessageId: "x", reason: "r", body, bodyTruncated: false, decisions: [{ action: "invalid", recipients: [], reason: "r", labels: [] }] });
        const inner = eventBridgeSqsBody(invalidDetail(valid));
        const [out] = await route([sqsRecord(eventBridgeSqsBody(invalidDetail(inner)))], rules, DEFAULT_ROUTER_SETTINGS, observers().observe);
        expect(out).to.deep.include({ body: inner, bodyTruncated: false });
        expect((out as InvalidRoutingEvent).reason).to.match(/notificationType/);
    });

    it("a redriven event whose body was truncated stays invalid and names the mail's S3 object", async () => {
        const detail = { messageId: "m1", s3: { bucket: "b", key: "inbound/m1" }, sqsMessageId: "x", reason: "r", body: "{\"Type\":\"Noti", bodyTruncated: true, decisions: [{ action: "invalid", recipients: [], reason: "r", labels: [] }] };
        const [out] = await route([sqsRecord(eventBridgeSqsBody(detail))], rules, DEFAULT_ROUTER_SETTINGS, observers().observe);
        expect(out).to.deep.include({ messageId: "m1", s3: { bucket: "b", key: "inbound/m1" }, body: detail.body, bodyTruncated: true });
        expect((out as InvalidRoutingEvent).reason).to.equal("Redriven invalid event's body was truncated and cannot be routed; the mail is at s3://b/inbound/m1 (first reason: r)");
    });

    it("a routing event that is not invalid is not re-routed from the input queue", async () => {
        const detail = { messageId: "m2", s3: { bucket: "b", key: "inbound/m2" }, decisions: [{ action: "bounce", recipients: ["a@example.com"], reason: "default", labels: [] }] };
        const [out] = await route([sqsRecord(eventBridgeSqsBody(detail))], rules, DEFAULT_ROUTER_SETTINGS, observers().observe);
        expect(out).to.deep.include({ messageId: "m2", s3: { bucket: "b", key: "inbound/m2" } });
        expect((out as InvalidRoutingEvent).reason).to.match(/"bounce" decisions is not an input message/);
    });

    it("caps the body at 100,000 characters and within one PutEvents entry, whatever the characters", async () => {
        for (const filler of ["x", "\"\\", "é", "😀", "\u0001"]) {
            const body = `not json ${filler.repeat(150_000)}`;
            const [out] = await route([sqsRecord(body)], rules, DEFAULT_ROUTER_SETTINGS, observers().observe);
            const invalid = out as InvalidRoutingEvent;
            expect(invalid.bodyTruncated, filler).to.equal(true);
            expect(invalid.body.length).to.be.at.most(MAX_BODY_CHARS);
            expect(body.startsWith(invalid.body)).to.equal(true);
            expect(entryBytes(invalid), filler).to.be.below(PUT_EVENTS_ENTRY_LIMIT);
        }
        expect(capBody("x".repeat(MAX_BODY_CHARS))).to.deep.equal({ body: "x".repeat(MAX_BODY_CHARS), bodyTruncated: false });
        expect(capBody("a😀", 2)).to.deep.equal({ body: "a", bodyTruncated: true });
    });

    describe("property: any batch of 1–10 records, 1–60 recipients each, across exact, +tag, *@domain and * rules of both forms, some invalid", () => {
        const DOMAINS = ["example.com", "example.org", "mail.example.net"];
        const action = fc.constantFrom(...ROUTE_ACTIONS);
        const local = fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}$/);
        /** single: `action`; list: `actions` (several forwards, store with anything); invalid: found but unusable. */
        const form = fc.constantFrom("single", "single", "list", "list", "invalid");
        const makeRule = (pattern: string, a: RouteAction, enabled: boolean, shape: string, i: number): StoredRule => {
            if (shape === "invalid") return { pattern, invalid: 'actions[0].type "deliver-to-jmap" is not an action ses-mail implements', enabled };
            const team = (n: number) => `team${n % 3}@gmail.com`;
            if (shape === "single") return rule(pattern, a, { enabled, ...(a === "forward-to-gmail" ? { target: team(i), labels: i % 2 ? ["Label_1"] : [] } : {}) });
            const actions: RuleAction[] = a === "forward-to-gmail"
                ? [{ type: a, target: team(i), labels: [] }, ...(i % 2 ? [{ type: a, target: team(i + 1), labels: ["Label_1"] }] : []), ...(i % 3 ? [{ type: "store" as const, labels: [] }] : [])]
                : [{ type: a, labels: [] }, ...(a === "store" ? [] : [{ type: "store" as const, labels: [] }])];
            return { pattern, action: actions[0].type, target: actions[0].target, enabled, labels: actions[0].labels, actions };
        };
        const ruleSet = fc.record({
            exact: fc.uniqueArray(fc.record({ local, domain: fc.constantFrom(...DOMAINS), action, enabled: fc.constantFrom(true, true, true, true, false), form }), { maxLength: 8, selector: (r) => `${r.local}@${r.domain}` }),
            domains: fc.tuple(fc.option(fc.tuple(action, form)), fc.option(fc.tuple(action, form)), fc.option(fc.tuple(action, form))),
            catchAll: fc.option(fc.tuple(action, form)),
        }).map(({ exact, domains, catchAll }) => [
            ...exact.map((r, i) => makeRule(`${r.local}@${r.domain}`, r.action, r.enabled, r.form, i)),
            ...domains.flatMap((d, i) => (d ? [makeRule(`*@${DOMAINS[i]}`, d[0], true, d[1], i)] : [])),
            ...(catchAll ? [makeRule("*", catchAll[0], true, catchAll[1], 0)] : []),
        ]);
        const flip = (s: string, flips: boolean[]) => [...s].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c)).join("");
        const recipientFor = (rules: StoredRule[]) => {
            const exact = rules.filter((r) => !r.pattern.startsWith("*")).map((r) => r.pattern);
            return fc.tuple(fc.oneof(
                ...(exact.length ? [fc.constantFrom(...exact), fc.tuple(fc.constantFrom(...exact), fc.stringMatching(/^[a-z0-9]{1,6}$/)).map(([a, tag]) => a.replace("@", `+${tag}@`))] : []),
                fc.tuple(local, fc.constantFrom(...DOMAINS)).map(([l, d]) => `${l}@${d}`),
                address.map((a) => a.expected),
            ), fc.array(fc.boolean(), { minLength: 1, maxLength: 5 })).map(([a, flips]) => flip(a, flips));
        };
        const verdict = fc.constantFrom("PASS", "FAIL", "GRAY");
        const batch = ruleSet.chain((rules) => fc.record({
            rules: fc.constant(rules),
            settings: fc.record({ defaultAction: action, spamAction: fc.constantFrom("drop" as const, "label" as const) }),
            records: fc.array(fc.record({
                recipients: fc.array(recipientFor(rules), { minLength: 1, maxLength: 60 }),
                spam: verdict, virus: fc.constantFrom("PASS", "PASS", "FAIL"), dmarc: verdict, dmarcPolicy: fc.constantFrom("none", "reject", "quarantine"),
                breakage: fc.oneof({ weight: 6, arbitrary: fc.constant<Breakage>("none") }, { weight: 1, arbitrary: fc.constantFrom(...BREAKAGES) }),
            }), { minLength: 1, maxLength: 10 }),
        }));

        /**
         * The precedence as operators read it: exact → without +tag → *@domain → *, enabled valid rules
         * only (an invalid one is skipped as if absent, and named); then verdicts. Every action of the
         * rule, once: `action|target`.
         */
        function expected(recipient: string, rules: StoredRule[], settings: RouterSettings, r: { spam: string; virus: string; dmarc: string; dmarcPolicy: string }): { places: string[]; skipped: string[] } {
            if (r.virus === "FAIL" || (r.dmarc === "FAIL" && r.dmarcPolicy === "reject") || (r.spam === "FAIL" && settings.spamAction === "drop")) return { places: ["drop|"], skipped: [] };
            const lower = recipient.toLowerCase();
            const at = lower.lastIndexOf("@");
            const [localPart, domain] = [lower.slice(0, at), lower.slice(at + 1)];
            const untagged = localPart.includes("+") && localPart.indexOf("+") > 0 ? `${localPart.slice(0, localPart.indexOf("+"))}@${domain}` : lower;
            const skipped: string[] = [];
            let found: RouteRule | undefined;
            for (const pattern of [...new Set([lower, untagged, `*@${domain}`, "*"])]) {
                const candidate = rules.find((x) => x.pattern === pattern && x.enabled);
                if (!candidate) continue;
                if ("invalid" in candidate) {
                    skipped.push(pattern);
                    continue;
                }
                found = candidate;
                break;
            }
            const actions: { type: RouteAction; target?: string }[] = found ? found.actions ?? [{ type: found.action, target: found.target }] : [{ type: settings.defaultAction }];
            const places = actions.map((a) => {
                const type = r.spam === "FAIL" && a.type === "bounce" ? "drop" : a.type;
                return `${type}|${type === "forward-to-gmail" ? a.target ?? "" : ""}`;
            });
            return { places: [...new Set(places)].sort(), skipped };
        }

        it("returns exactly as many entries as records, in order; every recipient in one decision per action of its rule, as the rules say; invalid rules named", async () => {
            await fc.assert(fc.asyncProperty(batch, async ({ rules, settings, records }) => {
                const sqs = records.map((r, i) => sqsRecord(receiptBody({ ...r, messageId: `m${i}` }, r.breakage)));
                const { seen, observe } = observers();
                const outputs = await route(sqs, memoryRules(rules), settings, observe);
                expect(outputs).to.have.length(records.length);
                let invalidMetrics = 0;
                outputs.forEach((out, i) => {
                    const r = records[i];
                    expect(isInvalid(out), `record ${i} (${r.breakage})`).to.equal(r.breakage !== "none");
                    if (isInvalid(out)) {
                        expect(out.sqsMessageId).to.equal(sqs[i].messageId);
                        return;
                    }
                    const event = out as RoutingEvent;
                    expect(event.messageId).to.equal(`m${i}`);
                    const placed = new Map<string, string[]>();
                    for (const decision of event.decisions) {
                        for (const recipient of new Set(decision.recipients)) {
                            placed.set(recipient, [...(placed.get(recipient) ?? []), `${decision.action}|${decision.target ?? ""}`]);
                        }
                    }
                    expect([...placed.keys()].sort()).to.deep.equal([...new Set(event.recipients)].sort());
                    const patterns = new Set<string>();
                    for (const [recipient, places] of placed) {
                        const want = expected(recipient, rules, settings, r);
                        // Each (recipient, action, target) exactly once: a forward target is imported once.
                        expect([...places].sort(), recipient).to.deep.equal(want.places);
                        want.skipped.forEach((p) => patterns.add(p));
                        for (const decision of event.decisions.filter((d) => d.recipients.includes(recipient))) {
                            expect(decision.reason.split("; ").slice(1).map((part) => part.replace(/ invalid: .*/, "")), recipient).to.deep.equal(want.skipped.map((p) => `rule:${p}`));
                        }
                    }
                    invalidMetrics += patterns.size;
                    expect(entryBytes(event)).to.be.below(PUT_EVENTS_ENTRY_LIMIT);
                });
                expect(seen.metrics.filter((m) => m === "RoutingRuleInvalid")).to.have.length(invalidMetrics);
                expect(seen.errors.filter(([message]) => message === "Invalid routing rule skipped")).to.have.length(invalidMetrics);
            }), { seed: 20261122, numRuns: 200 });
        });
    });
});
