// Test and prod share one account (Pulumi.test.yaml says so), where another system owns the active
// receipt rule set. What an account and region share — the one active rule set, recipient domains,
// identities, the account-level suppression list — must be shared, not fought over.
import { expect } from "chai";
import { parseStackConfig, sharedAccountProblems, StackConfigError, StackSettings, stackSettingsFrom } from "../../stacks/config";
import { MOCK_ACTIVE_RULE_SET } from "../support/mocks";
import { cachedStack, listStacks, loadStackConfig } from "../support/stack";

async function failure(run: () => Promise<unknown>): Promise<StackConfigError> {
    try {
        await run();
    } catch (error) {
        expect(error).to.be.instanceOf(StackConfigError);
        return error as StackConfigError;
    }
    throw new Error("expected a StackConfigError");
}

function settings(stack: string, raw: Record<string, unknown>, where: Partial<StackSettings> = {}): StackSettings {
    return { stack, config: parseStackConfig({ environment: stack, ...raw }, stack), region: "us-east-1", ...where };
}

describe("stacks sharing an account", () => {
    it("test and prod deployed into one account share the active rule set instead of fighting over it", async () => {
        // The account as the stack files describe it: another system's set is active (the mocks' default).
        const rules: Record<string, any>[] = [];
        for (const stack of ["test", "prod"]) {
            const { plan } = await cachedStack(stack);
            expect(plan.ofType("aws:ses/activeReceiptRuleSet:ActiveReceiptRuleSet"), stack).to.deep.equal([]);
            expect(plan.ofType("aws:ses/receiptRuleSet:ReceiptRuleSet"), stack).to.deep.equal([]);
            rules.push(plan.one("aws:ses/receiptRule:ReceiptRule").inputs);
        }
        expect(rules.map((rule) => rule.ruleSetName)).to.deep.equal([MOCK_ACTIVE_RULE_SET, MOCK_ACTIVE_RULE_SET]);
        // Rule names are unique within a set; recipients must not overlap (SES would run both rules).
        expect(rules.map((rule) => rule.name)).to.deep.equal(["ses-mail-inbound-test", "ses-mail-inbound-prod"]);
        expect(rules[0].recipients.filter((domain: string) => rules[1].recipients.includes(domain))).to.deep.equal([]);
    });

    it("the test stack's migration: while its own old set (createRuleSet: true) is still active, joining fails with the safe steps", async () => {
        // It used to create and activate ses-mail-receipt-rules-test; now it joins corp-inbound-rules.
        const deploy = (active: string) => cachedStack("test", loadStackConfig("test"), { activeReceiptRuleSet: active });
        let message = "";
        await deploy("ses-mail-receipt-rules-test").catch((error: Error) => { message = error.message; });
        expect(message).to.match(/the active receipt rule set "ses-mail-receipt-rules-test" is this stack's own .* 1\. set ingest\.ruleSetMode "own" and ingest\.ruleSetName "ses-mail-receipt-rules-test" and run pulumi up .* 2\. activate the set that should receive: aws ses set-active-receipt-rule-set --rule-set-name corp-inbound-rules; 3\. set ingest\.ruleSetMode "join" and ingest\.ruleSetName "corp-inbound-rules"/);
        // Once corp-inbound-rules is active again, the same config joins it.
        const { plan } = await deploy(MOCK_ACTIVE_RULE_SET);
        expect(plan.one("aws:ses/receiptRule:ReceiptRule").inputs.ruleSetName).to.equal(MOCK_ACTIVE_RULE_SET);
    });

    it("and the suppression mirror: only prod mirrors into the account-level list", async () => {
        const mirrors = [];
        for (const stack of ["test", "prod"]) {
            const { plan } = await cachedStack(stack);
            mirrors.push(plan.ofType("aws:lambda/function:Function").some((f) => f.name === "suppression-mirror"));
        }
        expect(mirrors).to.deep.equal([false, true]);
    });

    it("the repository's stack files do not conflict", () => {
        const all = listStacks().map((stack) => stackSettingsFrom(loadStackConfig(stack), stack));
        expect(all.map((s) => [s.stack, s.region])).to.deep.equal([["prod", "us-east-1"], ["test", "us-east-1"]]);
        // The same check runs in every `pulumi up` and preview (readStackConfig).
        for (const stack of all) {
            expect(sharedAccountProblems(stack, all), stack.stack).to.deep.equal([]);
        }
    });

    it("refuses test receiving prod's domain, naming both stacks and the reason", async () => {
        const config = { ...loadStackConfig("test"), "ses-mail:ingest": JSON.stringify({ ...JSON.parse(loadStackConfig("test")["ses-mail:ingest"]), domains: ["mail.example.com"] }) };
        const error = await failure(() => cachedStack("test", config));
        expect(error.message).to.match(/^Invalid configuration in Pulumi\.test\.yaml:/);
        expect(error.problems).to.have.length(1);
        expect(error.problems[0]).to.match(/^ses-mail:ingest\.domains: mail\.example\.com received by stacks test and prod in one account and region \(us-east-1; .*\): SES runs every matching rule of the active set, so each mail would reach both\. Fix: give each stack its own receiving domains\.$/);
    });

    it("refuses test mirroring next to prod, explaining what the shared list would lose", async () => {
        const config = { ...loadStackConfig("test"), "ses-mail:suppression": JSON.stringify({ tableName: "ses-email-suppression-list-test", mirrorToSes: true }) };
        const error = await failure(() => cachedStack("test", config));
        expect(error.problems).to.deep.equal([
            "ses-mail:suppression.mirrorToSes: stacks test and prod both mirror into the account-level suppression list of one account and region (us-east-1; set aws:allowedAccountIds in both stack files if they deploy into different accounts). " +
            "It is one list: an address both stacks suppress is put by the first and left alone by the second, so a removal in the first stack's table deletes it while the second still relies on it. Fix: mirror from one stack only.",
        ]);
    });

    describe("sharedAccountProblems", () => {
        const test = (raw: Record<string, unknown>, where?: Partial<StackSettings>) => settings("test", raw, where);
        const prod = (raw: Record<string, unknown>, where?: Partial<StackSettings>) => settings("prod", raw, where);

        it("two stacks owning a rule set: only one set can be active", () => {
            const owning = { ingest: { domains: ["a.example.com"], ruleSetMode: "own" } };
            const problems = sharedAccountProblems(test(owning), [prod({ ingest: { domains: ["b.example.com"], ruleSetMode: "takeover" } })]);
            expect(problems).to.have.length(1);
            expect(problems[0]).to.match(/^ses-mail:ingest\.ruleSetMode: stacks test and prod both own a receipt rule set .* Fix: let one own it and the other join/);
            expect(sharedAccountProblems(test(owning), [prod({ ingest: { domains: ["b.example.com"], ruleSetMode: "join", ruleSetName: "ses-mail-receipt-rules-test" } })])).to.deep.equal([]);
        });

        it("one sending domain in two stacks: one identity per account", () => {
            expect(sharedAccountProblems(test({ feedback: { domains: ["mail.example.com"] } }), [prod({ feedback: { domains: ["mail.example.com"] } })])[0])
                .to.match(/^ses-mail:feedback\.domains: mail\.example\.com configured by stacks test and prod .* the second stack's `pulumi up` fails/);
        });

        it("the same environment and prefix: every physical name collides", () => {
            expect(sharedAccountProblems(settings("a", { environment: "x" }), [settings("b", { environment: "x" })])[0]).to.match(/^ses-mail:environment: stacks a and b both deploy "ses-mail-…-x"/);
        });

        it("stacks whose files put them in different regions, or different accounts, share nothing", () => {
            const clash = { ingest: { domains: ["mail.example.com"], ruleSetMode: "own" }, suppression: { mirrorToSes: true }, feedback: { domains: ["mail.example.com"] } };
            expect(sharedAccountProblems(test(clash), [prod(clash)])).to.have.length(4);
            expect(sharedAccountProblems(test(clash), [prod(clash, { region: "eu-west-1" })])).to.deep.equal([]);
            expect(sharedAccountProblems(test(clash, { accountIds: ["111111111111"] }), [prod(clash, { accountIds: ["222222222222"] })])).to.deep.equal([]);
            expect(sharedAccountProblems(test(clash, { accountIds: ["111111111111"] }), [prod(clash, { accountIds: ["111111111111"] })])).to.have.length(4);
            // Without a pinned account, the check assumes the worst: the same account.
            expect(sharedAccountProblems(test(clash, { accountIds: ["111111111111"] }), [prod(clash)])).to.have.length(4);
        });
    });
});
