// Where MailIngest's receipt rule goes. An account and region have exactly one active receipt rule
// set, and activating one deactivates the one before ("SetActiveReceiptRuleSet", AWS-SEMANTICS.md,
// SES): the other system's mail stops. These tests deploy twice against a model of that one setting.
import { expect } from "chai";
import { MailIngest, MailIngestArgs, receiptRuleSetTarget, validateMailIngestArgs } from "../../components/mail-ingest";
import { SuppressionStore } from "../../components/suppression-store";
import { parseStackConfig } from "../../stacks/config";
import { ResourcePlan, runUnderMocks } from "../support/mocks";
import { cachedUnderMocks } from "../support/stack";

const OWN_SET = "ses-mail-receipt-rules-test";
const OTHER_SET = "corp-inbound-rules";

const program = (args: Partial<MailIngestArgs>) => () => new MailIngest("ingest", {
    env: "test", domains: ["example.com"], suppressionStore: new SuppressionStore("suppression", { env: "test" }), tokenMonitoring: false, ...args,
});

/**
 * A `pulumi up` with these args while `active` is the active set. The program depends on nothing
 * else, so a deploy with the same inputs plans the same (or fails the same): each (args, active) is
 * synthesized once per process, and "the next run" with unchanged inputs reuses it. The first test
 * below checks that premise with fresh syntheses.
 */
function deploy(args: Partial<MailIngestArgs>, active: string | null) {
    return cachedUnderMocks(`MailIngest receipt rule set ${JSON.stringify(args)}`, program(args), { activeReceiptRuleSet: active });
}

const failures = new Map<string, Promise<string>>();

/** What a deploy would change in the account, and the active set it leaves. */
function outcome(plan: ResourcePlan, activeBefore: string | null) {
    const activated = plan.ofType("aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet").map((r) => r.inputs.ruleSetName as string);
    return {
        createdSets: plan.ofType("aws:ses/receiptRuleSet:ReceiptRuleSet").map((r) => r.inputs.ruleSetName),
        activated,
        ruleIn: plan.one("aws:ses/receiptRule:ReceiptRule").inputs.ruleSetName,
        activeAfter: activated[0] ?? activeBefore,
    };
}

/** Two consecutive `pulumi up`s: the second starts from the active set the first left. */
async function twoRuns(args: Partial<MailIngestArgs>, active: string | null) {
    const first = outcome((await deploy(args, active)).plan, active);
    const second = outcome((await deploy(args, first.activeAfter)).plan, first.activeAfter);
    return { first, second };
}

/** The message a deploy fails with (once per (args, active), as {@link deploy}). */
function failure(args: Partial<MailIngestArgs>, active: string | null): Promise<string> {
    const key = JSON.stringify([args, active]);
    let message = failures.get(key);
    if (!message) {
        message = failureOf(() => runUnderMocks(program(args), { activeReceiptRuleSet: active }));
        failures.set(key, message);
    }
    return message;
}

async function failureOf(run: () => Promise<unknown>): Promise<string> {
    try {
        await run();
    } catch (error) {
        return (error as Error).message;
    }
    throw new Error("expected the deploy to fail");
}

/** Types, names, inputs and options of what a plan registers, in order. */
const registered = (plan: ResourcePlan) => JSON.stringify(plan.resources.map((r) => [r.type, r.name, r.parentUrn, r.inputs, r.retainOnDelete]));

describe("MailIngest receipt rule set", () => {
    it("a deploy depends only on its args and the active set: synthesized again in the same process, it plans (or fails) the same", async () => {
        const again = (await runUnderMocks(program({ ruleSetMode: "own" }), { activeReceiptRuleSet: null })).plan;
        expect(registered(again)).to.equal(registered((await deploy({ ruleSetMode: "own" }, null)).plan));
        expect(await failureOf(() => runUnderMocks(program({}), { activeReceiptRuleSet: null }))).to.equal(await failure({}, null));
    });

    describe("join (the default): never activates anything", () => {
        it("another system's set is active: the rule joins it, on every run", async () => {
            const { first, second } = await twoRuns({}, OTHER_SET);
            expect(first).to.deep.equal({ createdSets: [], activated: [], ruleIn: OTHER_SET, activeAfter: OTHER_SET });
            expect(second).to.deep.equal(first);
        });

        it("a named set that is active: the rule joins it, placed after the named rule, on every run", async () => {
            const named = { ruleSetName: OTHER_SET, ruleAfter: "corp.archive-v2" };
            const { first, second } = await twoRuns(named, OTHER_SET);
            expect(first).to.deep.equal({ createdSets: [], activated: [], ruleIn: OTHER_SET, activeAfter: OTHER_SET });
            expect(second).to.deep.equal(first);
            const { plan } = await deploy(named, OTHER_SET);
            expect(plan.one("aws:ses/receiptRule:ReceiptRule").inputs).to.deep.include({ ruleSetName: OTHER_SET, after: "corp.archive-v2" });
        });

        it("a named set that is not active: fails naming ingest.ruleSetName and the active set, on every run", async () => {
            // SES applies only the active set's rules ("SetActiveReceiptRuleSet"): a rule elsewhere receives nothing.
            // A failed deploy changes nothing: the next run has the same inputs, and fails the same.
            expect(await failure({ ruleSetName: "inbound" }, OTHER_SET)).to.match(/ingest\.ruleSetName "inbound" is not the active receipt rule set \("corp-inbound-rules" is\).* Fix: set ingest\.ruleSetName "corp-inbound-rules"/);
            expect(await failure({ ruleSetName: "inbound" }, null)).to.match(/no receipt rule set is active .* \(ingest\.ruleSetName "inbound" is not active\)\. Fix: activate it \(aws ses set-active-receipt-rule-set --rule-set-name inbound\)/);
        });

        it("named, while the stack's own old set is still active (the test stack's migration): fails with the safe steps", async () => {
            const message = await failure({ ruleSetMode: "join", ruleSetName: OTHER_SET }, OWN_SET);
            expect(message).to.match(/the active receipt rule set "ses-mail-receipt-rules-test" is this stack's own/);
            expect(message).to.include(`1. set ingest.ruleSetMode "own" and ingest.ruleSetName "${OWN_SET}" and run pulumi up`);
            expect(message).to.include(`2. activate the set that should receive: aws ses set-active-receipt-rule-set --rule-set-name ${OTHER_SET}`);
            expect(message).to.include(`3. set ingest.ruleSetMode "join" and ingest.ruleSetName "${OTHER_SET}" and run pulumi up`);
        });

        it("the migration's steps deploy: own with the old set active keeps it (retained), then join once the other set is active", async () => {
            // Step 1: the old stack's resources, same inputs; `own` accepts its own set being the active one.
            const step1 = (await deploy({ ruleSetMode: "own", ruleSetName: OWN_SET }, OWN_SET)).plan;
            expect(outcome(step1, OWN_SET)).to.deep.equal({ createdSets: [OWN_SET], activated: [OWN_SET], ruleIn: OWN_SET, activeAfter: OWN_SET });
            expect(step1.one("aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet").retainOnDelete).to.equal(true);
            // Step 2 activates corp-inbound-rules by hand; step 3 joins it, twice alike.
            const { first, second } = await twoRuns({ ruleSetMode: "join", ruleSetName: OTHER_SET }, OTHER_SET);
            expect(first).to.deep.equal({ createdSets: [], activated: [], ruleIn: OTHER_SET, activeAfter: OTHER_SET });
            expect(second).to.deep.equal(first);
        });

        it("no set is active: fails with the fix, on every run", async () => {
            // A failed deploy changes nothing: the next run has the same inputs, and fails the same.
            expect(await failure({}, null)).to.match(/no receipt rule set is active in this account and region, so there is none to join\. Fix: set ruleSetMode "own" to create and activate "ses-mail-receipt-rules-test"/);
        });

        it("the stack's own set is active (it used to own it): refuses to switch instead of deleting that set", async () => {
            expect(await failure({ ruleSetMode: "join" }, OWN_SET)).to.match(/the active receipt rule set "ses-mail-receipt-rules-test" is this stack's own .* Fix, in order: 1\. set ingest\.ruleSetMode "own"/);
        });
    });

    describe("own: creates and activates its set only where that stops nobody's mail", () => {
        it("no set is active: creates and activates its own; the next run sees it active and keeps it", async () => {
            const { first, second } = await twoRuns({ ruleSetMode: "own" }, null);
            expect(first).to.deep.equal({ createdSets: [OWN_SET], activated: [OWN_SET], ruleIn: OWN_SET, activeAfter: OWN_SET });
            expect(second).to.deep.equal(first);
        });

        it("another system's set is active: fails with the fix instead of deactivating it, on every run", async () => {
            // A failed deploy changes nothing: the next run has the same inputs, and fails the same.
            expect(await failure({ ruleSetMode: "own" }, OTHER_SET)).to.match(/receipt rule set "corp-inbound-rules" is active and not this stack's; activating "ses-mail-receipt-rules-test" would deactivate it .* Fix: set ruleSetMode "join"/);
        });

        it("a named own set: the name is the set created and activated", async () => {
            const { first, second } = await twoRuns({ ruleSetMode: "own", ruleSetName: "acme-inbound" }, null);
            expect(first).to.deep.equal({ createdSets: ["acme-inbound"], activated: ["acme-inbound"], ruleIn: "acme-inbound", activeAfter: "acme-inbound" });
            expect(second).to.deep.equal(first);
        });
    });

    describe("takeover: the explicit opt-in to deactivate another set", () => {
        it("another system's set is active: activates its own; the next run keeps it", async () => {
            const { first, second } = await twoRuns({ ruleSetMode: "takeover" }, OTHER_SET);
            expect(first).to.deep.equal({ createdSets: [OWN_SET], activated: [OWN_SET], ruleIn: OWN_SET, activeAfter: OWN_SET });
            expect(second).to.deep.equal(first);
        });

        it("no set is active: the same as own", async () => {
            const { first, second } = await twoRuns({ ruleSetMode: "takeover" }, null);
            expect(first.activated).to.deep.equal([OWN_SET]);
            expect(second).to.deep.equal(first);
        });
    });

    it("the decision, as a table: every mode × (none, another's, its own) active", () => {
        type Mode = NonNullable<MailIngestArgs["ruleSetMode"]>;
        const table: [Mode | { mode: Mode; ruleSetName: string }, string | undefined, string | RegExp][] = [
            ["join", undefined, /none to join/],
            ["join", OTHER_SET, OTHER_SET],
            ["join", OWN_SET, /is this stack's own/],
            [{ mode: "join", ruleSetName: OTHER_SET }, undefined, /none to join/],
            [{ mode: "join", ruleSetName: OTHER_SET }, OTHER_SET, OTHER_SET],
            [{ mode: "join", ruleSetName: OTHER_SET }, "someone-elses", /is not the active receipt rule set/],
            [{ mode: "join", ruleSetName: OTHER_SET }, OWN_SET, /is this stack's own/],
            [{ mode: "own", ruleSetName: OWN_SET }, OWN_SET, OWN_SET],
            ["own", undefined, OWN_SET],
            ["own", OTHER_SET, /would deactivate it/],
            ["own", OWN_SET, OWN_SET],
            ["takeover", undefined, OWN_SET],
            ["takeover", OTHER_SET, OWN_SET],
            ["takeover", OWN_SET, OWN_SET],
        ];
        for (const [args, active, expected] of table) {
            const { mode, ruleSetName } = typeof args === "string" ? { mode: args, ruleSetName: undefined } : args;
            const decide = () => receiptRuleSetTarget({ mode, ruleSetName, ownSetName: OWN_SET, active });
            const title = `${mode} ${ruleSetName ?? "(unnamed)"} with ${active}`;
            if (typeof expected === "string") expect(decide(), title).to.equal(expected);
            else expect(decide, title).to.throw(expected);
        }
    });

    it("the retained active-set resource: removing it never calls SetActiveReceiptRuleSet with no name (that deactivates whatever set is active)", async () => {
        const { plan } = await deploy({ ruleSetMode: "own" }, null);
        expect(plan.one("aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet").retainOnDelete).to.equal(true);
        expect(plan.one("aws:ses/receiptRuleSet:ReceiptRuleSet").retainOnDelete).to.equal(false);
    });

    it("refuses rule set and rule names SES refuses, naming the arg and SES's rule", () => {
        // SES API Reference, CreateReceiptRuleSet: set names use letters, digits, '_' and '-'; ReceiptRule
        // (Name): rule names may also contain '.'. Both start and end with a letter or digit, at most 64.
        for (const name of ["-corp", "corp_", "corp.", "a".repeat(65), "", "corp inbound"]) {
            expect(() => validateMailIngestArgs({ domains: ["a.com"], ruleSetName: name }), name).to.throw(/ruleSetName ".*" is not a name SES accepts: use 1-64 letters, digits, '_' or '-', starting and ending with a letter or digit/);
            expect(() => validateMailIngestArgs({ domains: ["a.com"], ruleAfter: name }), name).to.throw(/ruleAfter ".*" is not a name SES accepts: use 1-64 letters, digits, '_', '-' or '\.'/);
        }
        expect(() => validateMailIngestArgs({ domains: ["a.com"], ruleSetName: "corp.inbound" })).to.throw(/ruleSetName "corp.inbound"/);
        expect(() => validateMailIngestArgs({ domains: ["a.com"], ruleAfter: "corp.archive.v2" })).not.to.throw();
        for (const name of ["a", "corp-inbound_rules-2", "a".repeat(64)]) {
            expect(() => validateMailIngestArgs({ domains: ["a.com"], ruleSetName: name, ruleAfter: name }), name).not.to.throw();
        }
        // The stack config applies the same rules.
        const ingest = (extra: Record<string, string>) => () => parseStackConfig({ environment: "test", ingest: { domains: ["a.example.com"], ...extra } }, "test");
        expect(ingest({ ruleAfter: "corp.archive.v2" })).not.to.throw();
        expect(ingest({ ruleSetName: "corp.inbound" })).to.throw(/ses-mail:ingest\.ruleSetName: invalid value "corp\.inbound"/);
    });

    it("refuses a domain listed twice, or two that become one resource name", () => {
        expect(() => validateMailIngestArgs({ domains: ["a.com", "a.com"] })).to.throw(/domains: "a.com" is listed twice/);
        expect(() => validateMailIngestArgs({ domains: ["mail-test.example.com", "mail.test-example.com"] })).to.throw(/domains: "mail-test.example.com" and "mail.test-example.com" map to the same resource name \("mail-test-example-com"\)/);
    });
});
