// `ses-mail rules …` end to end: argument parsing to output and exit code, against dynalite with
// the routing table MailIngest defines, reached through AWS_ENDPOINT_URL_DYNAMODB as an operator's
// SDK would reach DynamoDB.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AttributeValue, DeleteItemCommand, GetItemCommand, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { expect } from "chai";
import { recordingConfirm, runMain } from "./run-cli";
import { MailIngest } from "../../components/mail-ingest";
import { SuppressionStore } from "../../components/suppression-store";
import { routeMail } from "../../functions/router/decide";
import { parseReceiptNotification } from "../../functions/router/notification";
import { RuleStore } from "../../functions/router/rule-store";
import { createTableFrom, LocalDynamo, startDynalite } from "../support/dynalite";
import { runUnderMocks } from "../support/mocks";
import { OPERATOR_PUT_ITEM, receiptNotification } from "../fixtures/ses-receipt";

type Item = Record<string, AttributeValue>;
const NOW = new Date("2026-11-22T10:00:00.000Z");
const TABLE = "ses-mail-email-routing-test";

/** The issue's item, verbatim: the predecessor's list form. */
const ISSUE_ITEM: Item = {
    PK: { S: "ROUTE#support@example.com" }, SK: { S: "RULE#v1" }, entity_type: { S: "ROUTE" }, recipient: { S: "support@example.com" },
    actions: { L: [{ M: { type: { S: "forward-to-gmail" }, target: { S: "me@gmail.com" } } }, { M: { type: { S: "forward-to-gmail" }, target: { S: "team@gmail.com" } } }, { M: { type: { S: "store" } } }] },
    enabled: { BOOL: true }, description: { S: "Support to two mailboxes" }, metadata: { S: "{}" }, created_at: { S: "2026-01-31T10:00:00Z" }, updated_at: { S: "2026-01-31T10:00:00Z" },
};
const rule = (pattern: string, extra: Item = {}): Item => ({ ...OPERATOR_PUT_ITEM, PK: { S: `ROUTE#${pattern}` }, recipient: { S: pattern }, ...extra });
const JMAP_ITEM: Item = { ...ISSUE_ITEM, PK: { S: "ROUTE#jmap@example.com" }, recipient: { S: "jmap@example.com" }, actions: { L: [{ M: { type: { S: "forward-to-gmail" }, target: { S: "me@gmail.com" } } }, { M: { type: { S: "deliver-to-jmap" } } }] } };
const SMTP_ITEM: Item = { PK: { S: "SMTP_USER#app-sender" }, SK: { S: "CREDENTIALS#v1" }, entity_type: { S: "SMTP_CREDENTIALS" }, username: { S: "app-sender" }, status: { S: "pending" } };

describe("ses-mail rules (command end to end against dynalite)", () => {
    let local: LocalDynamo;
    let tableInputs: Record<string, any>;
    let dir: string;
    const saved = { ...process.env };
    const questions: string[] = [];
    let answer: (question: string) => Promise<boolean>;

    const run = (...argv: string[]) => runMain(["rules", ...argv], { now: () => NOW, confirm: recordingConfirm(questions, (question) => answer(question)) });
    const put = (item: Item) => local.client.send(new PutItemCommand({ TableName: TABLE, Item: item }));
    const get = async (pattern: string) => (await local.client.send(new GetItemCommand({ TableName: TABLE, Key: { PK: { S: `ROUTE#${pattern}` }, SK: { S: "RULE#v1" } } }))).Item;
    const all = async () => ((await local.client.send(new ScanCommand({ TableName: TABLE }))).Items ?? []).sort((a, b) => a.PK.S!.localeCompare(b.PK.S!));

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new MailIngest("ingest", { env: "test", domains: ["mail-test.example.com"], suppressionStore: new SuppressionStore("s", { env: "test" }) }));
        const table = plan.one("aws:dynamodb/table:Table", "ingest-routing");
        tableInputs = table.inputs;
        expect(await createTableFrom(local, table)).to.equal(TABLE);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-rules-"));
        Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
    });
    after(async () => {
        process.env = saved;
        fs.rmSync(dir, { recursive: true, force: true });
        await local.close();
    });
    beforeEach(async () => {
        for (const item of await all()) await local.client.send(new DeleteItemCommand({ TableName: TABLE, Key: { PK: item.PK, SK: item.SK } }));
        questions.length = 0;
        answer = async () => true;
    });

    describe("which deployment", () => {
        it("--stack reads Pulumi.<stack>.yaml, --env uses the components' naming, --outputs the stack's routingTableName", async () => {
            await put(rule("a@mail-test.example.com", { action: { S: "store" } }));
            const outputs = path.join(dir, "outputs.json");
            fs.writeFileSync(outputs, JSON.stringify({ routingTableName: TABLE, routingPipeArn: "arn:aws:pipes:us-east-1:123456789012:pipe/ses-mail-email-router-test" }));
            for (const target of [["--stack", "test"], ["--env", "test"], ["--outputs", outputs]]) {
                const { code, stdout } = await run("list", ...target, "--json");
                expect(code, target.join(" ")).to.equal(0);
                expect(JSON.parse(stdout).map((r: { pattern: string }) => r.pattern)).to.deep.equal(["a@mail-test.example.com"]);
            }
        });

        it("names the table exactly as MailIngest does, prefix included", async () => {
            expect(tableInputs.name).to.equal(TABLE);
            const { plan } = await runUnderMocks(() => new MailIngest("ingest", { env: "qa", namePrefix: "acme", domains: ["example.com"], suppressionStore: new SuppressionStore("s", { env: "qa" }) }));
            const { stderr } = await run("list", "--env", "qa", "--name-prefix", "acme");
            expect(stderr).to.equal(`No table ${plan.one("aws:dynamodb/table:Table", "ingest-routing").inputs.name} in us-east-1: check --stack / --env / --outputs and --region (is MailIngest deployed there?).\n`);
        });

        it("usage errors exit 2 with one line: no deployment, two of them, a bad pattern, an unknown command or option", async () => {
            const cases: [string[], RegExp][] = [
                [["list"], /^Say which deployment: --stack <name>/],
                [["list", "--stack", "test", "--env", "test"], /^Give one of --stack, --env and --outputs, not --stack and --env\.$/],
                [["show", "support*@example.com", "--env", "test"], /is not a rule pattern/],
                [["add", "a@example.com", "--env", "test"], /^Say what the rule does/],
                [["frobnicate"], /unknown command 'frobnicate'/],
                [["list", "--env", "test", "--colour"], /unknown option '--colour'/],
                [["list", "--outputs", path.join(dir, "missing.json")], /^Cannot read .*missing\.json as the stack's outputs/],
            ];
            for (const [argv, message] of cases) {
                const { code, stderr } = await run(...argv);
                expect([code, stderr.trim().split("\n")], argv.join(" ")).to.have.deep.members([2, [stderr.trim()]]);
                expect(stderr.trim(), argv.join(" ")).to.match(message);
            }
        });

        it("AWS trouble is one line, no stack trace: no region, a missing table", async () => {
            const region = process.env.AWS_REGION;
            delete process.env.AWS_REGION;
            try {
                const { code, stderr } = await run("list", "--env", "test");
                expect([code, stderr]).to.deep.equal([1, "No AWS region: set aws:region in Pulumi.<stack>.yaml, pass --region, or set AWS_REGION.\n"]);
            } finally {
                process.env.AWS_REGION = region;
            }
            expect(await run("list", "--env", "nope")).to.deep.include({ code: 1, stderr: "No table ses-mail-email-routing-nope in us-east-1: check --stack / --env / --outputs and --region (is MailIngest deployed there?).\n" });
        });
    });

    describe("add", () => {
        it("several actions write the list form in the runbooks' shape; labels per forward", async () => {
            const { code, stdout } = await run("add", "Support@Example.com", "--forward", "you@gmail.com:Label_1", "--forward", "team@gmail.com", "--store", "--description", "Support to two mailboxes", "--env", "test");
            expect(code).to.equal(0);
            expect(stdout).to.equal("Added support@example.com: forward-to-gmail → you@gmail.com [Label_1], forward-to-gmail → team@gmail.com, store (enabled, list form).\n");
            expect(await get("support@example.com")).to.deep.equal({
                PK: { S: "ROUTE#support@example.com" }, SK: { S: "RULE#v1" }, entity_type: { S: "ROUTE" }, recipient: { S: "support@example.com" },
                actions: { L: [
                    { M: { type: { S: "forward-to-gmail" }, target: { S: "you@gmail.com" }, labels: { L: [{ S: "Label_1" }] } } },
                    { M: { type: { S: "forward-to-gmail" }, target: { S: "team@gmail.com" } } },
                    { M: { type: { S: "store" } } },
                ] },
                enabled: { BOOL: true }, description: { S: "Support to two mailboxes" }, created_at: { S: "2026-11-22T10:00:00Z" }, updated_at: { S: "2026-11-22T10:00:00Z" },
            });
        });

        it("one action writes the single form, as the runbooks do; --labels applies to the forward", async () => {
            expect((await run("add", "*@example.com", "--forward", "you@gmail.com", "--labels", "Label_7,IMPORTANT", "--disabled", "--env", "test")).code).to.equal(0);
            expect(await get("*@example.com")).to.deep.equal({
                PK: { S: "ROUTE#*@example.com" }, SK: { S: "RULE#v1" }, entity_type: { S: "ROUTE" }, recipient: { S: "*@example.com" },
                action: { S: "forward-to-gmail" }, target: { S: "you@gmail.com" }, labels: { L: [{ S: "Label_7" }, { S: "IMPORTANT" }] },
                enabled: { BOOL: false }, created_at: { S: "2026-11-22T10:00:00Z" }, updated_at: { S: "2026-11-22T10:00:00Z" },
            });
            expect((await run("add", "*", "--bounce", "--env", "test")).code).to.equal(0);
            expect(unmarshall((await get("*"))!)).to.deep.include({ action: "bounce", enabled: true }).and.not.have.any.keys("target", "labels", "actions");
        });

        it("refuses contradictions, Gmail accounts the stack does not configure, and an existing rule (exit 2, nothing written)", async () => {
            const refused: [string[], string][] = [
                [["a@example.com", "--forward", "you@gmail.com", "--bounce", "--env", "test"], "Refusing to write a@example.com: forward-to-gmail and bounce contradict each other (store may go with anything; forward-to-gmail, bounce and drop exclude each other).\n"],
                [["a@example.com", "--forward", "you@gmail.com", "--drop", "--store", "--env", "test"], "Refusing to write a@example.com: forward-to-gmail and drop contradict each other (store may go with anything; forward-to-gmail, bounce and drop exclude each other).\n"],
                [["a@example.com", "--bounce", "--drop", "--env", "test"], "Refusing to write a@example.com: bounce and drop contradict each other (store may go with anything; forward-to-gmail, bounce and drop exclude each other).\n"],
                [["a@example.com", "--forward", "team@gmail.com", "--stack", "test"], "Refusing to write a@example.com: team@gmail.com is not in ses-mail:ingest.gmailAccounts of Pulumi.test.yaml (you@gmail.com): add it there, run pulumi up and store its token (ses-mail token refresh), then write the rule.\n"],
                [["a@example.com", "--forward", "you@gmail.com", "--forward", "YOU@gmail.com", "--env", "test"], "--forward you@gmail.com is given twice: name each Gmail account once (labels: you@gmail.com:Label_1,Label_2).\n"],
            ];
            for (const [argv, message] of refused) {
                expect(await run("add", ...argv), argv.join(" ")).to.deep.include({ code: 2, stderr: message });
            }
            expect(await all()).to.deep.equal([]);
            // Without a stack file the accounts are unknown: the forward is written.
            expect((await run("add", "a@example.com", "--forward", "team@gmail.com", "--env", "test")).code).to.equal(0);
            const before = await get("a@example.com");
            expect(await run("add", "a@example.com", "--store", "--env", "test")).to.deep.include({ code: 2, stderr: "A rule for a@example.com exists already: change it with ses-mail rules set a@example.com …, or delete it first.\n" });
            expect(await get("a@example.com")).to.deep.equal(before);
        });

        it("--dry-run shows the item and writes nothing", async () => {
            const { code, stdout } = await run("add", "a@example.com", "--forward", "you@gmail.com", "--store", "--dry-run", "--json", "--env", "test");
            expect(code).to.equal(0);
            expect(JSON.parse(stdout)).to.deep.include({ dryRun: true, item: { PK: "ROUTE#a@example.com", SK: "RULE#v1", entity_type: "ROUTE", recipient: "a@example.com", actions: [{ type: "forward-to-gmail", target: "you@gmail.com" }, { type: "store" }], enabled: true, created_at: "2026-11-22T10:00:00Z", updated_at: "2026-11-22T10:00:00Z" } });
            expect(await all()).to.deep.equal([]);
        });
    });

    describe("list and show", () => {
        beforeEach(async () => {
            for (const item of [ISSUE_ITEM, JMAP_ITEM, rule("off@example.com", { enabled: { BOOL: false } }), rule("both@example.com", { actions: { L: [{ M: { type: { S: "silent-drop" } } }] } }), rule("*@example.com", { action: { S: "bounce" }, target: { S: "" } }), SMTP_ITEM]) await put(item);
        });

        it("lists both forms with status and actions; marks an invalid rule and says why; exit 1 when one is invalid", async () => {
            const { code, stdout } = await run("list", "--env", "test");
            expect(code).to.equal(1);
            const lines = stdout.split("\n");
            expect(lines[0]).to.match(/^PATTERN\s+STATUS\s+ACTIONS\s+UPDATED\s+DESCRIPTION$/);
            expect(lines.filter((l) => /^\S/.test(l)).slice(1).map((l) => l.split(/\s{2,}/).slice(0, 3))).to.deep.equal([
                ["both@example.com", "enabled", "drop"],
                ["jmap@example.com", "INVALID", "forward-to-gmail → me@gmail.com, deliver-to-jmap"],
                ["off@example.com", "disabled", "forward-to-gmail → your-email@gmail.com"],
                ["support@example.com", "enabled", "forward-to-gmail → me@gmail.com, forward-to-gmail → team@gmail.com, store"],
                ["*@example.com", "enabled", "bounce"],
                ["5 rules in ses-mail-email-routing-test; 1 INVALID (fix with ses-mail rules set <pattern> …)."],
            ]);
            expect(stdout).to.include('    INVALID: actions[1].type "deliver-to-jmap" is not an action ses-mail implements (forward-to-gmail, bounce, store, drop; silent-drop is read as drop). The router skips it (as if absent) and reports it: RoutingRuleInvalid, its error log, the decision\'s reason.\n');
            expect(stdout).to.include("    note: action, target ignored: actions takes precedence\n    note: silent-drop is read as drop\n");
            expect(stdout).to.not.include("SMTP_USER");
        });

        it("--json for scripts; --stack also notes forward targets the stack does not configure", async () => {
            const rows = JSON.parse((await run("list", "--stack", "test", "--json")).stdout);
            expect(rows.find((r: { pattern: string }) => r.pattern === "support@example.com")).to.deep.equal({
                pattern: "support@example.com", form: "list", description: "Support to two mailboxes", createdAt: "2026-01-31T10:00:00Z", updatedAt: "2026-01-31T10:00:00Z",
                actions: [{ type: "forward-to-gmail", target: "me@gmail.com" }, { type: "forward-to-gmail", target: "team@gmail.com" }, { type: "store" }],
                enabled: true, valid: true,
                notes: ["me@gmail.com is not in ses-mail:ingest.gmailAccounts of Pulumi.test.yaml: the forwarder will refuse its mail (DLQ)", "team@gmail.com is not in ses-mail:ingest.gmailAccounts of Pulumi.test.yaml: the forwarder will refuse its mail (DLQ)"],
            });
            expect(rows.find((r: { pattern: string }) => r.pattern === "jmap@example.com")).to.deep.include({ valid: false, enabled: true, invalid: 'actions[1].type "deliver-to-jmap" is not an action ses-mail implements (forward-to-gmail, bounce, store, drop; silent-drop is read as drop)' });
        });

        it("show: one rule in full; exit 1 when invalid, 2 when there is none", async () => {
            expect(await run("show", "support@example.com", "--env", "test")).to.deep.include({ code: 0, stdout: [
                "support@example.com  (list form: actions)",
                "  status:      enabled",
                "  actions:     forward-to-gmail → me@gmail.com, forward-to-gmail → team@gmail.com, store",
                "  description: Support to two mailboxes",
                "  created:     2026-01-31T10:00:00Z",
                "  updated:     2026-01-31T10:00:00Z",
                "",
            ].join("\n") });
            expect((await run("show", "jmap@example.com", "--env", "test")).code).to.equal(1);
            expect(await run("show", "nobody@example.com", "--env", "test")).to.deep.include({ code: 2, stderr: "No rule for nobody@example.com in ses-mail-email-routing-test (ses-mail rules list shows them; rules add creates one).\n" });
        });
    });

    describe("explain", () => {
        beforeEach(async () => {
            for (const item of [ISSUE_ITEM, JMAP_ITEM, rule("off@example.com", { enabled: { BOOL: false } }), rule("*@example.com", { action: { S: "bounce" }, target: { S: "" } })]) await put(item);
        });

        it("shows the candidates, the winner, and what happens: several forwards and store", async () => {
            const { code, stdout } = await run("explain", "Support+Urgent@Example.com", "--stack", "test");
            expect(code).to.equal(0);
            expect(stdout).to.equal([
                "Support+Urgent@example.com: candidate patterns in ses-mail-email-routing-test, most specific first:",
                "  support+urgent@example.com  no rule",
                "  support@example.com         USED: forward-to-gmail → me@gmail.com, forward-to-gmail → team@gmail.com, store",
                "  *@example.com               not reached (a more specific rule applies)",
                "  *                           no rule",
                "Rule used: support@example.com.",
                "What happens to the mail (when no verdict decides first: virus FAIL, DMARC FAIL with p=reject, spam FAIL drop it before any rule):",
                "  forward-to-gmail → me@gmail.com: imported into me@gmail.com with labels INBOX, UNREAD",
                "  forward-to-gmail → team@gmail.com: imported into team@gmail.com with labels INBOX, UNREAD",
                "  store: kept in S3 only",
                "Reason in the routing event: rule:support@example.com",
                "",
            ].join("\n"));
        });

        it("shows disabled and invalid rules as skipped with the reason; the reason the router would give; exit 1 for the invalid one", async () => {
            const { code, stdout } = await run("explain", "jmap@example.com", "--env", "test", "--sender", "<>");
            expect(code).to.equal(1);
            const jmap = 'actions[1].type "deliver-to-jmap" is not an action ses-mail implements (forward-to-gmail, bounce, store, drop; silent-drop is read as drop)';
            expect(stdout.split("\n")).to.include.members([
                `  jmap@example.com  SKIPPED: INVALID: ${jmap}`,
                "  *@example.com     USED: bounce",
                "  bounce: no bounce sent to <> (null-sender): it would be backscatter",
                `Reason in the routing event: rule:*@example.com; rule:jmap@example.com invalid: ${jmap}`,
                "Invalid rule skipped: jmap@example.com (ses-mail rules show <pattern>; fix with rules set).",
            ]);
            const off = await run("explain", "off@example.com", "--env", "test", "--sender", "someone@example.net");
            expect(off.code).to.equal(0);
            expect(off.stdout.split("\n")).to.include.members(["  off@example.com  skipped: disabled (forward-to-gmail → your-email@gmail.com)", "  bounce: a DoesNotExist bounce to someone@example.net"]);
        });

        it("--json: the router's own decisions for that recipient (same code, same reads)", async () => {
            const { stdout } = await run("explain", "jmap@example.com", "--stack", "test", "--json");
            const explained = JSON.parse(stdout);
            const store = new RuleStore({ tableName: TABLE, client: local.client });
            const mail = parseReceiptNotification(JSON.stringify(receiptNotification({ recipients: ["jmap@example.com"] })));
            const routed = routeMail(mail, await store.rulesFor(mail.recipients), { defaultAction: "store", spamAction: "drop" });
            expect(explained.decisions).to.deep.equal(JSON.parse(JSON.stringify(routed.decisions.map(({ action, target, labels, reason }) => ({ action, target, labels, reason })))));
            expect(explained).to.deep.include({ address: "jmap@example.com", rule: "*@example.com", settings: { defaultAction: "store", spamAction: "drop", from: "Pulumi.test.yaml" } });
            expect(explained.candidates.map((c: { status: string }) => c.status)).to.deep.equal(["invalid", "chosen", "absent"]);
            expect(explained.invalidRules).to.deep.equal([{ pattern: "jmap@example.com", reason: routed.invalidRules[0].reason }]);
        });

        it("no usable rule: the default action, from the stack file when given", async () => {
            const { stdout } = await run("explain", "x@elsewhere.org", "--stack", "test");
            expect(stdout).to.include("No usable rule: the default action applies (store; Pulumi.test.yaml).\n");
            expect(stdout).to.include("  store: kept in S3 only\nReason in the routing event: default\n");
            expect((await run("explain", "x@elsewhere.org", "--env", "test")).stdout).to.include("(store; assumed: the defaults; pass --stack to read the stack's)");
        });
    });

    describe("set, enable, disable", () => {
        it("set replaces the actions and keeps every other attribute; a single rule grows into the list form", async () => {
            await put(rule("support@example.com", { metadata: { S: "{\"ticket\":42}" } }));
            const { code, stdout } = await run("set", "support@example.com", "--forward", "your-email@gmail.com", "--forward", "team@gmail.com:Label_2", "--store", "--env", "test");
            expect([code, stdout]).to.deep.equal([0, "Changed support@example.com: forward-to-gmail → your-email@gmail.com, forward-to-gmail → team@gmail.com [Label_2], store (enabled, list form).\n"]);
            const kept = Object.fromEntries(Object.entries(rule("support@example.com", { metadata: { S: "{\"ticket\":42}" } })).filter(([name]) => name !== "action" && name !== "target"));
            expect(await get("support@example.com")).to.deep.equal({
                ...kept, updated_at: { S: "2026-11-22T10:00:00Z" },
                actions: { L: [
                    { M: { type: { S: "forward-to-gmail" }, target: { S: "your-email@gmail.com" } } },
                    { M: { type: { S: "forward-to-gmail" }, target: { S: "team@gmail.com" }, labels: { L: [{ S: "Label_2" }] } } },
                    { M: { type: { S: "store" } } },
                ] },
            });
        });

        it("an operator's list stays a list; --labels alone relabels the forwards; --description; an invalid rule is fixed by giving its actions", async () => {
            await put(ISSUE_ITEM);
            expect((await run("set", "support@example.com", "--forward", "me@gmail.com", "--env", "test")).code).to.equal(0);
            expect(unmarshall((await get("support@example.com"))!)).to.deep.include({ actions: [{ type: "forward-to-gmail", target: "me@gmail.com" }], metadata: "{}", created_at: "2026-01-31T10:00:00Z" }).and.not.have.any.keys("action");
            expect((await run("set", "support@example.com", "--labels", "Label_9", "--description", "Support", "--env", "test")).code).to.equal(0);
            expect(unmarshall((await get("support@example.com"))!)).to.deep.include({ actions: [{ type: "forward-to-gmail", target: "me@gmail.com", labels: ["Label_9"] }], description: "Support" });

            await put(JMAP_ITEM);
            expect(await run("set", "jmap@example.com", "--description", "x", "--env", "test")).to.deep.include({ code: 2, stderr: 'jmap@example.com is invalid (actions[1].type "deliver-to-jmap" is not an action ses-mail implements (forward-to-gmail, bounce, store, drop; silent-drop is read as drop)): give its actions (--forward/--bounce/--store/--drop) to fix it.\n' });
            expect(await run("set", "jmap@example.com", "--forward", "me@gmail.com", "--bounce", "--env", "test")).to.deep.include({ code: 2 });
            expect(await get("jmap@example.com")).to.deep.equal(JMAP_ITEM);
            expect((await run("set", "jmap@example.com", "--forward", "me@gmail.com", "--store", "--env", "test")).code).to.equal(0);
            expect((await run("show", "jmap@example.com", "--env", "test")).code).to.equal(0);
            expect(await run("set", "nobody@example.com", "--store", "--env", "test")).to.deep.include({ code: 2 });
        });

        it("enable and disable; an invalid rule is not enabled", async () => {
            await put(rule("a@example.com"));
            expect(await run("disable", "a@example.com", "--env", "test")).to.deep.include({ code: 0, stdout: "Disabled a@example.com: forward-to-gmail → your-email@gmail.com (disabled, single form).\n" });
            expect(unmarshall((await get("a@example.com"))!)).to.deep.include({ enabled: false, updated_at: "2026-11-22T10:00:00Z", action: "forward-to-gmail" });
            expect(await run("disable", "a@example.com", "--env", "test")).to.deep.include({ code: 0, stdout: "a@example.com is already disabled.\n" });
            expect((await run("enable", "a@example.com", "--env", "test")).code).to.equal(0);
            expect((await get("a@example.com"))!.enabled).to.deep.equal({ BOOL: true });
            await put({ ...JMAP_ITEM, enabled: { BOOL: false } });
            expect(await run("enable", "jmap@example.com", "--env", "test")).to.deep.include({ code: 2 });
            expect((await get("jmap@example.com"))!.enabled).to.deep.equal({ BOOL: false });
        });
    });

    describe("delete", () => {
        beforeEach(() => put(rule("a@example.com")));

        it("shows what it deletes and asks; declined or --dry-run deletes nothing; --yes does not ask", async () => {
            answer = async () => false;
            expect(await run("delete", "a@example.com", "--env", "test")).to.deep.include({ code: 1, stdout: 'Deleting a@example.com: forward-to-gmail → your-email@gmail.com (enabled, "Forward support emails to Gmail"). Mail to it then follows the next candidate pattern or the default action.\nNothing deleted (not confirmed; pass --yes to skip the question).\n' });
            expect(questions).to.deep.equal(["Delete the rule for a@example.com?"]);
            expect(await run("delete", "a@example.com", "--dry-run", "--env", "test")).to.deep.include({ code: 0 });
            expect(await get("a@example.com")).to.not.equal(undefined);
            expect((await run("delete", "a@example.com", "--yes", "--env", "test")).code).to.equal(0);
            expect(questions).to.have.length(1);
            expect(await get("a@example.com")).to.equal(undefined);
        });

        it("deletes nothing when the rule changed after it was shown", async () => {
            answer = async () => {
                await put(rule("a@example.com", { action: { S: "store" }, updated_at: { S: "2026-11-22T09:59:59Z" } }));
                return true;
            };
            expect(await run("delete", "a@example.com", "--env", "test")).to.deep.include({ code: 1, stderr: "a@example.com changed (or was deleted) since it was shown; nothing deleted. Run the command again.\n" });
            expect(unmarshall((await get("a@example.com"))!).action).to.equal("store");
        });
    });

    describe("export and import", () => {
        const ITEMS = [ISSUE_ITEM, rule("sales@example.com", { labels: { SS: ["Label_2", "Label_1"] } }), rule("*@example.com", { action: { S: "bounce" }, target: { S: "" } })];
        beforeEach(async () => {
            for (const item of [...ITEMS, SMTP_ITEM]) await put(item);
        });

        it("round-trips both forms, every attribute and type; routing rules only", async () => {
            const file = path.join(dir, "rules.json");
            expect(await run("export", file, "--env", "test")).to.deep.include({ code: 0, stdout: `Exported 3 rules from ses-mail-email-routing-test to ${file}.\n` });
            const exported = JSON.parse(fs.readFileSync(file, "utf8"));
            expect(exported).to.deep.include({ format: "ses-mail-rules/v1", table: TABLE, exportedAt: "2026-11-22T10:00:00Z", Count: 3 });
            for (const item of ITEMS) await local.client.send(new DeleteItemCommand({ TableName: TABLE, Key: { PK: item.PK, SK: item.SK } }));
            const imported = await run("import", file, "--env", "test");
            expect(imported.code).to.equal(0);
            // A string set has no order (DynamoDB returns it as it likes).
            expect(imported.stdout.replace("Label_2,Label_1", "Label_1,Label_2")).to.equal(`${file} → ses-mail-email-routing-test: 3 to create, 0 unchanged, 0 differing from the table.\n  create  sales@example.com: forward-to-gmail → your-email@gmail.com [Label_1,Label_2]\n  create  support@example.com: forward-to-gmail → me@gmail.com, forward-to-gmail → team@gmail.com, store\n  create  *@example.com: bounce\nWrote 3 rules.\n`);
            const byPk = (items: Item[]) => Object.fromEntries(items.map((i) => [i.PK.S, { ...i, ...(i.labels?.SS ? { labels: { SS: [...i.labels.SS].sort() } } : {}) }]));
            expect(byPk(await all())).to.deep.equal(byPk([...ITEMS, SMTP_ITEM]));
            expect(await run("import", file, "--env", "test")).to.deep.include({ code: 0, stdout: `${file} → ses-mail-email-routing-test: 0 to create, 3 unchanged, 0 differing from the table.\nWrote 0 rules.\n` });
            // To standard output, for a pipe.
            expect(JSON.parse((await run("export", "--env", "test")).stdout).Items).to.have.length(3);
        });

        it("accepts aws dynamodb scan output (other items left out) and plain JSON items", async () => {
            const scan = path.join(dir, "scan.json");
            fs.writeFileSync(scan, JSON.stringify({ Items: [SMTP_ITEM, { ...ISSUE_ITEM, PK: { S: "ROUTE#team@example.com" } }], Count: 2, ScannedCount: 2, ConsumedCapacity: null }));
            const scanned = await run("import", scan, "--env", "test", "--json");
            expect(scanned.code).to.equal(0);
            expect(JSON.parse(scanned.stdout)).to.deep.include({ create: 1, unchanged: 0, replace: 0, notRules: 1, plan: [{ pattern: "team@example.com", change: "create" }] });
            expect(await get("team@example.com")).to.deep.equal({ ...ISSUE_ITEM, PK: { S: "ROUTE#team@example.com" } });
            const plain = path.join(dir, "plain.json");
            fs.writeFileSync(plain, JSON.stringify([{ PK: "ROUTE#new@example.com", SK: "RULE#v1", entity_type: "ROUTE", recipient: "new@example.com", actions: [{ type: "silent-drop" }], enabled: true }]));
            expect((await run("import", plain, "--env", "test")).code).to.equal(0);
            expect(unmarshall((await get("new@example.com"))!)).to.deep.equal({ PK: "ROUTE#new@example.com", SK: "RULE#v1", entity_type: "ROUTE", recipient: "new@example.com", actions: [{ type: "silent-drop" }], enabled: true });
        });

        it("never overwrites by surprise: differing rules need --overwrite, which asks unless --yes; --dry-run writes nothing", async () => {
            const file = path.join(dir, "changed.json");
            fs.writeFileSync(file, JSON.stringify({ Items: [{ ...ISSUE_ITEM, description: { S: "changed" } }, rule("new@example.com")] }));
            const refused = await run("import", file, "--env", "test");
            expect(refused.code).to.equal(1);
            expect(refused.stdout).to.include("  REPLACE support@example.com: forward-to-gmail → me@gmail.com, forward-to-gmail → team@gmail.com, store (now: forward-to-gmail → me@gmail.com, forward-to-gmail → team@gmail.com, store, updated 2026-01-31T10:00:00Z)\n");
            expect(refused.stdout).to.include("1 rule in the table differ from the file; nothing was written. Pass --overwrite to replace them.\n");
            expect(await get("new@example.com")).to.equal(undefined);
            expect((await run("import", file, "--overwrite", "--dry-run", "--env", "test")).code).to.equal(0);
            expect(await get("new@example.com")).to.equal(undefined);
            answer = async () => false;
            expect((await run("import", file, "--overwrite", "--env", "test")).code).to.equal(1);
            expect(questions).to.deep.equal(["Replace 1 existing rule (support@example.com)?"]);
            expect(await get("new@example.com")).to.equal(undefined);
            expect((await run("import", file, "--overwrite", "--yes", "--env", "test")).code).to.equal(0);
            expect(unmarshall((await get("support@example.com"))!).description).to.equal("changed");
            expect(await get("new@example.com")).to.deep.equal(rule("new@example.com"));
        });

        it("a rule changed in the table during the import is not overwritten", async () => {
            const file = path.join(dir, "race.json");
            fs.writeFileSync(file, JSON.stringify({ Items: [{ ...ISSUE_ITEM, description: { S: "from the file" } }] }));
            answer = async () => {
                await put({ ...ISSUE_ITEM, description: { S: "meanwhile" }, updated_at: { S: "2026-11-22T09:00:00Z" } });
                return true;
            };
            const { code, stdout } = await run("import", file, "--overwrite", "--env", "test");
            expect(code).to.equal(1);
            expect(stdout).to.include("Not written, changed in the table while importing: support@example.com.");
            expect(unmarshall((await get("support@example.com"))!).description).to.equal("meanwhile");
        });

        it("refuses a file with an invalid, contradictory or misplaced rule, or an unconfigured account: exit 2, nothing written", async () => {
            const file = path.join(dir, "bad.json");
            fs.writeFileSync(file, JSON.stringify({ Items: [rule("ok@example.com"), JMAP_ITEM, rule("contra@example.com", { actions: { L: [{ M: { type: { S: "drop" } } }, { M: { type: { S: "bounce" } } }] } }), rule("sk@example.com", { SK: { S: "RULE#v2" } })] }));
            const { code, stderr } = await run("import", file, "--env", "test");
            expect(code).to.equal(2);
            expect(stderr).to.equal([
                `Refusing to import ${file}; nothing written:`,
                '  jmap@example.com: actions[1].type "deliver-to-jmap" is not an action ses-mail implements (forward-to-gmail, bounce, store, drop; silent-drop is read as drop)',
                "  contra@example.com: actions: bounce and drop contradict each other (store may go with anything; forward-to-gmail, bounce and drop exclude each other)",
                "  sk@example.com: SK must be RULE#v1 (the router reads no other)",
                "",
            ].join("\n"));
            expect(await get("ok@example.com")).to.equal(undefined);
            const stack = await run("import", file.replace("bad", "accounts"), "--stack", "test");
            expect(stack.code).to.equal(2);
            fs.writeFileSync(path.join(dir, "accounts.json"), JSON.stringify({ Items: [rule("ok@example.com")] }));
            expect((await run("import", path.join(dir, "accounts.json"), "--stack", "test")).stderr).to.match(/ok@example\.com: your-email@gmail\.com is not in ses-mail:ingest\.gmailAccounts of Pulumi\.test\.yaml/);
            fs.writeFileSync(path.join(dir, "notjson.json"), "{");
            expect(await run("import", path.join(dir, "notjson.json"), "--env", "test")).to.deep.include({ code: 2 });
        });
    });
});
