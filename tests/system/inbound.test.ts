// System test of the inbound flow: the synthesized test stack's real handlers, wired as the plan
// wires them, on models of SQS, EventBridge (bus and Pipes), Lambda, S3, SSM, SES, Step Functions,
// DynamoDB (dynalite) and Gmail (fake Google) that are never kinder than AWS (see
// tests/support/sim/*). Traffic and faults are generated (fast-check, seeded); the assertion is one
// invariant over everything that went in: every (mail, recipient, destination) ends in exactly one
// visible place, the one docs/RECEIVING.md's rules call for. Rules come in the single and the list form
// (several actions: multi-target forwards, forward+store, bounce+store, silent-drop; invalid ones,
// skipped visibly; items with both forms), so a recipient may have several destinations.
//
// SIM_RUNS (default 4) scenarios of up to SIM_MAILS (default 40) mails each; SIM_SEED (default
// fixed) repeats a run; SIM_LARGE_RATE / SIM_LARGE_MB set the share and size of mails above the
// 5 MB resumable-upload threshold. SIM_LOST_RESPONSE=1 adds Gmail responses lost after the import
// (a timeout after Gmail accepted the message), which no forwarder can survive without looking the
// message up in Gmail first — the fake Gmail has no such lookup, so it is off by default.
// SIM_VERBOSE=1 prints a line per scenario (mails, imports, invocations, real time).
import { writeFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import fc from "fast-check";
import { promiseOf } from "../support/mocks";
import { cachedStack, loadStackConfig } from "../support/stack";
import { ExpectedRouting, expectedRouting, observe, checkInvariant, Verdict } from "../support/sim/invariant";
import { readSystemPlan, SystemPlan } from "../support/sim/plan";
import { SqsEventSourceMapping } from "../support/sim/consumers";
import { InboundSimulation, SimulationFaults } from "../support/sim/system";
import { notificationFor, rawMail, ruleItem, Scenario, scenarioArbitrary, TrafficContext, TRANSIENT_GMAIL_FAULTS } from "../support/sim/traffic";

const RUNS = Number(process.env.SIM_RUNS ?? "4");
const MAILS = Number(process.env.SIM_MAILS ?? "40");
const SEED = Number(process.env.SIM_SEED ?? "20260302");
const LARGE_RATE = Number(process.env.SIM_LARGE_RATE ?? "0.01");
const LARGE_MB = Number(process.env.SIM_LARGE_MB ?? "7");
/** A second Gmail account, so that "imported into the rule's account (never another)" means something. */
const SECOND_ACCOUNT = "team-sim@gmail.com";

const FAULTS: SimulationFaults = {
    duplicateRate: 0.03,
    crashRate: 0.04,
    dynamoThrottleRate: 0.03,
    dynamoUnprocessedRate: 0.1,
    sendBounceThrottleRate: 0.05,
    sqsBatchEntryFailureRate: 0.02,
};

async function resolved(value: unknown): Promise<any> {
    return pulumi.Output.isInstance(value) ? promiseOf(value as pulumi.Output<unknown>) : value;
}

interface RunResult {
    verdict: Verdict;
    routing: ExpectedRouting["stats"];
    virtualMs: number;
    faults: Record<string, number>;
    /** Peak concurrent invocations per function (by its functions/<code> folder). */
    peaks: Record<string, number>;
    sesThrottled: number;
    /** Waits of the handlers (SDK backoff, pacing, their own) the simulated clock ran out instead of real time. */
    virtualWaits: number;
}

describe("inbound system: mail in → Gmail / bounce / store / drop / DLQ / parked (synthesized test stack, modelled AWS)", function () {
    this.timeout(600_000);
    let plan: SystemPlan;
    let outputs: Record<string, any>;
    let config: { ingest: Record<string, any> };

    before(async () => {
        const stackConfig = loadStackConfig("test");
        const ingest = JSON.parse(stackConfig["ses-mail:ingest"]);
        ingest.gmailAccounts = [...(ingest.gmailAccounts ?? []), SECOND_ACCOUNT];
        const run = await cachedStack("test", { ...stackConfig, "ses-mail:ingest": JSON.stringify(ingest) });
        plan = await readSystemPlan(run.plan);
        outputs = Object.fromEntries(await Promise.all(Object.entries(run.outputs).map(async ([k, v]) => [k, await resolved(v)])));
        config = { ingest };
    });

    async function runScenario(scenario: Scenario): Promise<RunResult> {
        const runStarted = Date.now();
        const sim = await InboundSimulation.start(plan, { seed: scenario.seed, faults: FAULTS });
        try {
            const t0 = sim.clock.now();
            const forwarder = sim.fn("gmail-forwarder");
            const ssmPrefix = forwarder.spec.environment.SSM_PREFIX;
            const accounts: string[] = config.ingest.gmailAccounts;
            const broken = scenario.tokens.brokenThroughout;
            for (const account of accounts) {
                if (broken?.account === account && broken.how === "missing") continue;
                sim.storeToken(ssmPrefix, account);
                if (broken?.account === account) sim.gmail.revokeAccount(account);
            }
            for (const rule of scenario.rules) await sim.putItem(outputs.routingTableName, ruleItem(rule, sim.clock.iso()));
            for (const sender of scenario.suppressedSenders) {
                const email = sender.trim().replace(/^<|>$/g, "").toLowerCase();
                await sim.putItem(outputs.suppressionTableName, { email: { S: email }, reason: { S: "bounce" }, added_at: { N: String(Math.floor(t0 / 1000) - 86400) } });
            }
            const [receipt] = plan.receiptRules;
            for (const mail of scenario.mails) {
                sim.gmail.script(mail.messageId, mail.gmailFaults);
                sim.at(t0 + mail.arrivalMs, () => {
                    const notification = notificationFor(mail, { bucket: receipt.bucket, objectKeyPrefix: receipt.objectKeyPrefix, topicArn: receipt.topicArn, timestamp: sim.clock.iso() });
                    sim.receive(mail.messageId, rawMail(mail), notification, mail.deliveries);
                    if (mail.missingObject) sim.s3.delete(receipt.bucket, `${receipt.objectKeyPrefix}${mail.messageId}`);
                });
            }
            const midRun = scenario.tokens.revokedMidRun;
            if (midRun) sim.at(t0 + midRun.atMs, () => sim.gmail.revokeAccount(midRun.account));
            await sim.runUntilQuiet();

            // The operator answers the token alarms: `npx ses-mail token refresh` stores a new token
            // and starts the drain for the account — for every account but the one left broken.
            const quietAt = sim.clock.now();
            accounts.filter((a) => a !== broken?.account).forEach((account, i) => sim.at(quietAt + i * scenario.tokens.refreshGapMs, () => {
                sim.storeToken(ssmPrefix, account);
                sim.sfn.start(outputs.retryDrainStateMachineArn, { account });
            }));
            await sim.runUntilQuiet();

            const expected: ExpectedRouting = expectedRouting(scenario, {
                defaultAction: config.ingest.defaultAction ?? "store",
                spamAction: config.ingest.spamAction ?? "drop",
                accounts: accounts.map((a) => a.toLowerCase()),
                ownMailerDaemons: plan.receiptRules.flatMap((r) => r.recipients).map((d) => `${config.ingest.bounceSenderLocalPart ?? "MAILER-DAEMON"}@${d}`.toLowerCase()),
            }, { broken: new Set(broken ? [broken.account] : []) });
            const verdict = checkInvariant(sim, scenario, expected, observe(sim, scenario));
            // The bouncer's pacing, checked against the overridden interval: SES allows one SendBounce
            // per second account-wide (here one per 1000/scale ms, no burst). Two instances pacing
            // themselves keep the average to that but may meet within one second; SES then throttles
            // one call, which waits its turn and is sent (the invariant above: bounced once, nothing
            // in the bouncer's DLQ). The throttles are a figure; what must hold is the pacing's promise:
            // never more calls in any two seconds (scaled) than two, so one a second over time.
            const second = 1000 / sim.scale;
            const bounceTimes = sim.ses.bounces.map((b) => b.at).sort((a, b) => a - b);
            const crowded = bounceTimes.filter((t, i) => i >= 2 && t - bounceTimes[i - 2] < 2 * second - 1);
            if (crowded.length > 0) verdict.violations.push(`PACING: ${crowded.length} times three SendBounce calls within two seconds (scaled), more than 1 a second allows`);
            for (const execution of sim.sfn.executions.filter((e) => e.status === "FAILED")) verdict.violations.push(`DRAIN FAILED ${execution.arn}: ${execution.error}`);
            // The harness's own promise: never more concurrent invocations than a mapping allows.
            for (const poller of sim.pollers) {
                if (poller instanceof SqsEventSourceMapping && poller.peak > poller.maxConcurrency) verdict.violations.push(`HARNESS ${poller.name} ran ${poller.peak} batches at once (maximum ${poller.maxConcurrency})`);
            }
            const faults: Record<string, number> = {
                ...Object.fromEntries(Object.entries(sim.gmail.faultsApplied).map(([k, v]) => [`gmail${k}`, v ?? 0])),
                tokenRevokedMidRun: midRun ? 1 : 0,
                tokenBroken: broken ? 1 : 0,
                missingObject: scenario.mails.filter((m) => m.missingObject).length,
                duplicateNotification: scenario.mails.filter((m) => m.deliveries > 1).length,
                sqsDuplicate: sim.sqs.duplicatesKept,
                crash: [...sim.functions.values()].reduce((sum, f) => sum + f.crashes, 0),
                dynamoThrottle: sim.dynamo.throttled,
                dynamoUnprocessedKey: sim.dynamo.unprocessed,
                sendBounceThrottleInjected: sim.ses.injectedThrottles,
            };
            if (process.env.SIM_DUMP) {
                // Everything the run left behind, for reading a violation's story.
                const dump = { scenario, violations: verdict.violations, logs: sim.logs, queueEvents: sim.sqs.events, imports: sim.gmail.imports, bounces: sim.ses.bounces, sesRejected: sim.ses.rejected, sesThrottled: sim.ses.throttled, dynamoRequests: sim.dynamo.requests, failures: sim.pollers.flatMap((p) => (p as { failures?: unknown[] }).failures ?? []), executions: sim.sfn.executions };
                writeFileSync(`${process.env.SIM_DUMP}.${scenario.seed}.json`, JSON.stringify(dump, null, 1));
            }
            const peaks = Object.fromEntries([...sim.functions.values()].map((f) => [f.spec.environment.POWERTOOLS_SERVICE_NAME ?? f.name, f.peakConcurrency]));
            if (process.env.SIM_VERBOSE) {
                const invocations = [...sim.functions.values()].map((f) => `${f.spec.environment.POWERTOOLS_SERVICE_NAME ?? f.name}=${f.invocations}`).filter((x) => !x.endsWith("=0")).join(" ");
                console.log(`  run seed ${scenario.seed}: mails=${verdict.mails} recipients=${verdict.recipients} destinations=${verdict.destinations} imports=${sim.gmail.imports.length} bounces=${sim.ses.bounces.length} invocations: ${invocations}; ${((Date.now() - runStarted) / 1000).toFixed(1)} s`);
            }
            return { verdict, routing: expected.stats, virtualMs: sim.clock.now() - t0, faults, peaks, sesThrottled: sim.ses.throttled, virtualWaits: sim.timers.firedBySimulation };
        } finally {
            await sim.close();
        }
    }

    it("every (mail, recipient, destination) ends in exactly one visible place: imported once into each account the rule names, bounced once or refused as backscatter, stored, dropped, parked for its account, or in a DLQ with reason and S3 location", async () => {
        const started = Date.now();
        // The receiving domains as the receipt rule lists them.
        const domains = [...new Set(plan.receiptRules.flatMap((r) => r.recipients))];
        const accounts: string[] = config.ingest.gmailAccounts;
        const ctx: TrafficContext = {
            domains, accounts, unconfiguredAccount: "stranger@gmail.com",
            mailerDaemonLocalPart: config.ingest.bounceSenderLocalPart ?? "MAILER-DAEMON",
            mails: { min: Math.max(1, Math.floor(MAILS / 2)), max: MAILS },
            arrivalSpreadMs: 120_000,
            large: { rate: LARGE_RATE, minBytes: 5 * 1024 * 1024 + 1, maxBytes: LARGE_MB * 1024 * 1024 },
            gmailFaults: [...TRANSIENT_GMAIL_FAULTS, ...(process.env.SIM_LOST_RESPONSE === "1" ? ["lost-response" as const] : [])],
        };
        const scenarios = fc.sample(scenarioArbitrary(ctx), { seed: SEED, numRuns: RUNS });
        const results: RunResult[] = [];
        for (const scenario of scenarios) results.push(await runScenario(scenario));

        const sum = (pick: (v: Verdict) => number) => results.reduce((total, r) => total + pick(r.verdict), 0);
        const places: Record<string, number> = {};
        const faults: Record<string, number> = {};
        for (const r of results) {
            Object.entries(r.verdict.byPlace).forEach(([k, v]) => (places[k] = (places[k] ?? 0) + v));
            Object.entries(r.faults).forEach(([k, v]) => (faults[k] = (faults[k] ?? 0) + v));
        }
        const routed = (pick: (s: ExpectedRouting["stats"]) => number) => results.reduce((total, r) => total + pick(r.routing), 0);
        const peaks = (code: string) => `${Math.max(...results.map((r) => r.peaks[code] ?? 0))}`;
        const list = (record: Record<string, number>) => Object.entries(record).filter(([, v]) => v > 0).map(([k, v]) => `${k}=${v}`).join(" ");
        console.log([
            `inbound system (seed ${SEED}): runs=${results.length} mails=${sum((v) => v.mails)} recipients=${sum((v) => v.recipients)} destinations=${sum((v) => v.destinations)}`,
            `rules=${routed((s) => s.rules)} listForm=${routed((s) => s.listRules)} bothForms=${routed((s) => s.bothForms)} invalid=${routed((s) => s.invalidRules)} multiTargetRecipients=${routed((s) => s.multiTarget)} pastInvalidRule=${routed((s) => s.invalidSkipped)}`,
            `faults: ${list(faults)}`,
            `places: ${list(places)}`,
            `lost=${sum((v) => v.lost)} importedTwice=${sum((v) => v.importedTwice)} bouncedTwice=${sum((v) => v.bouncedTwice)} wrongPlace=${sum((v) => v.wrongPlace)} multiplePlaces=${sum((v) => v.multiplePlaces)} redundantParked=${sum((v) => v.redundantParked)} strayImports=${sum((v) => v.strayImports)} dlqWithoutReason=${sum((v) => v.dlqWithoutReason)} labelMismatch=${sum((v) => v.labelMismatch)} conflicts=${sum((v) => v.conflicts)} unidentified=${sum((v) => v.unidentified)} unexpectedPlaces=${sum((v) => v.unexpectedPlaces)} reasonMismatch=${sum((v) => v.reasonMismatch)} invalidLogMismatch=${sum((v) => v.invalidLogMismatch)} sesThrottled=${results.reduce((total, r) => total + r.sesThrottled, 0)}`,
            `peak concurrency: router=${peaks("router")} gmail-forwarder=${peaks("gmail-forwarder")} bouncer=${peaks("bouncer")}; virtualWaits=${results.reduce((total, r) => total + r.virtualWaits, 0)}; simulated ${(Math.max(...results.map((r) => r.virtualMs)) / 3_600_000).toFixed(1)} h in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        ].join(" | "));

        const violations = results.flatMap((r, i) => r.verdict.violations.map((v) => `run ${i + 1}: ${v}`));
        const byKind = new Map<string, string[]>();
        for (const v of violations) {
            const kind = /^run \d+: ([A-Z][A-Z0-9]*(?: [A-Z][A-Z0-9]+)*)/.exec(v)?.[1] ?? "OTHER";
            byKind.set(kind, [...(byKind.get(kind) ?? []), v]);
        }
        const report = [...byKind.entries()].map(([kind, items]) => `${kind} (${items.length}):\n    ${items.slice(0, 6).join("\n    ")}${items.length > 6 ? `\n    … ${items.length - 6} more` : ""}`).join("\n  ");
        expect(violations, `Invariant violated ${violations.length} times (SIM_SEED=${SEED}):\n  ${report}`).to.deep.equal([]);
    });
});
