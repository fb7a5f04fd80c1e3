// `ses-mail suppression …` end to end: argument parsing to output and exit code, against dynalite with
// the tables SuppressionStore defines (reached through AWS_ENDPOINT_URL_DYNAMODB), entries written by
// SuppressionClient as the feedback worker writes them, and SESv2 through aws-sdk-client-mock.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DeleteItemCommand, GetItemCommand, PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import {
    GetSuppressedDestinationCommand, ListSuppressedDestinationsCommand, ListSuppressedDestinationsCommandInput, NotFoundException, SESv2Client, SuppressedDestinationSummary,
} from "@aws-sdk/client-sesv2";
import { AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import fc from "fast-check";
import { recordingConfirm, runMain } from "./run-cli";
import { DEFAULT_SUPPRESSION_TABLE, suppressionTarget } from "../../cli/target";
import { SuppressionStore } from "../../components/suppression-store";
import { SuppressionClient, SuppressionInput, SuppressionReason } from "../../functions/shared/suppression-client";
import { createTableFrom, LocalDynamo, startDynalite } from "../support/dynalite";
import { runUnderMocks } from "../support/mocks";

const ROOT = path.resolve(__dirname, "..", "..");
const NOW = new Date("2026-11-22T10:00:00.000Z");
const NOW_S = NOW.getTime() / 1000;
const DAY = 86_400;
const TABLE = "ses-email-suppression-list-test"; // suppression.tableName of Pulumi.test.yaml (no mirror)
const CLAIMS = "ses-mail-suppression-mirror-claims-test";
const REASONS: SuppressionReason[] = ["bounce", "complaint", "manual"];
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

describe("ses-mail suppression (command end to end against dynalite)", () => {
    let local: LocalDynamo;
    let dir: string;
    let mirrored: string;
    let ses: AwsClientStub<SESv2Client>;
    const saved = { ...process.env };
    const questions: string[] = [];
    let answer: boolean;

    const run = (...argv: string[]) => runMain(["suppression", ...argv], { now: () => NOW, confirm: recordingConfirm(questions, () => answer) });
    /** An entry as the feedback worker writes it, added at `addedAt` (epoch seconds). */
    const write = (input: SuppressionInput, addedAt: number) => new SuppressionClient({ tableName: TABLE, client: local.client, now: () => addedAt }).suppress(input);
    const all = async (table = TABLE) => (await local.client.send(new ScanCommand({ TableName: table }))).Items ?? [];
    const raw = async (email: string, reason: string) => (await local.client.send(new GetItemCommand({ TableName: TABLE, Key: { email: { S: email }, reason: { S: reason } } }))).Item;
    const clear = async () => {
        for (const table of [TABLE, CLAIMS]) {
            for (const item of await all(table)) {
                await local.client.send(new DeleteItemCommand({ TableName: table, Key: table === TABLE ? { email: item.email, reason: item.reason } : { email: item.email } }));
            }
        }
    };
    const notListed = () => new NotFoundException({ message: "Email address is not on the suppression list", $metadata: {} });

    before(async () => {
        local = await startDynalite();
        const { plan } = await runUnderMocks(() => new SuppressionStore("suppression", { env: "test", tableName: TABLE, mirrorToSes: true }));
        expect(await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "suppression"))).to.equal(TABLE);
        expect(await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "suppression-mirror-claims"))).to.equal(CLAIMS);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-suppression-"));
        // A mirroring stack's outputs (stacks/program.ts): the mirror function and its claims table.
        mirrored = path.join(dir, "mirrored.json");
        fs.writeFileSync(mirrored, JSON.stringify({
            suppressionTableName: TABLE, suppressionTableArn: `arn:aws:dynamodb:us-east-1:123456789012:table/${TABLE}`,
            suppressionMirrorFunction: "ses-mail-suppression-mirror-test", suppressionMirrorClaimsTableName: CLAIMS,
        }));
        Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
        ses = mockClient(SESv2Client);
    });
    after(async () => {
        ses.restore();
        process.env = saved;
        fs.rmSync(dir, { recursive: true, force: true });
        await local.close();
    });
    beforeEach(async () => {
        await clear();
        questions.length = 0;
        answer = true;
        ses.reset();
        ses.on(GetSuppressedDestinationCommand).rejects(notListed());
    });

    describe("which deployment", () => {
        it("--stack (suppression.tableName), --env --table and --outputs reach the same table", async () => {
            await write({ email: "a@example.com", reason: "bounce" }, NOW_S - DAY);
            for (const target of [["--stack", "test"], ["--env", "test", "--table", TABLE], ["--outputs", mirrored]]) {
                const { code, stdout } = await run("list", ...target, "--json");
                expect(code, target.join(" ")).to.equal(0);
                expect(JSON.parse(stdout).map((e: { email: string }) => e.email), target.join(" ")).to.deep.equal(["a@example.com"]);
            }
        });

        it("--env names SuppressionStore's default table and the claims table exactly as the component does, and says the default is env-independent", async () => {
            const { plan } = await runUnderMocks(() => new SuppressionStore("s", { env: "qa", namePrefix: "acme", mirrorToSes: true }));
            const target = suppressionTarget({ env: "qa", namePrefix: "acme" }, ROOT);
            expect(target.tableName).to.equal(plan.one("aws:dynamodb/table:Table", "s").inputs.name).and.to.equal(DEFAULT_SUPPRESSION_TABLE);
            expect(target.claimsTableName).to.equal(plan.one("aws:dynamodb/table:Table", "s-mirror-claims").inputs.name);
            // dynalite has no ses-email-suppression-list: the CLI names the table it looked for, after the note.
            const { code, stdout, stderr } = await run("list", "--env", "qa", "--name-prefix", "acme");
            expect(stdout).to.equal(`(--env: SuppressionStore's default table ${DEFAULT_SUPPRESSION_TABLE}, the same for every environment; --table <name> when the program sets tableName.)\n`);
            expect([code, stderr]).to.deep.equal([1, `No table ${DEFAULT_SUPPRESSION_TABLE} in us-east-1: check --stack / --env (--table) / --outputs and --region.\n`]);
        });

        it("usage errors exit 2: no deployment, a missing stack file, --table without --env, bad reason, bad --since, bad address", async () => {
            const cases: [string[], RegExp][] = [
                [["list"], /^Say which deployment/],
                [["list", "--stack", "nosuch"], /^No Pulumi\.nosuch\.yaml in .*: give --project-dir, or --env <env> \[--table <name>\], or --outputs <file>\./],
                [["list", "--stack", "test", "--table", "x"], /--table goes with --env/],
                [["list", "--stack", "test", "--reason", "spam"], /Allowed choices are bounce, complaint, manual/],
                [["list", "--stack", "test", "--since", "last week"], /a duration \(30m, 12h, 7d, 2w\) or a date/],
                [["add", "not-an-address", "--reason", "manual", "--stack", "test"], /is not a valid email address/],
                [["add", "a@example.com", "--stack", "test"], /required option '--reason <reason>' not specified/],
                [["add", "a@example.com", "--reason", "manual", "--expires", "2020-01-01", "--stack", "test"], /is not in the future/],
                [["stats", "--days", "0", "--stack", "test"], /a whole number from 1/],
            ];
            for (const [argv, message] of cases) {
                const { code, stderr } = await run(...argv);
                expect(code, argv.join(" ")).to.equal(2);
                expect(stderr, argv.join(" ")).to.match(message);
            }
            expect(await all()).to.deep.equal([]);
        });

        it("a denied SES call is one line naming the action, not a stack trace", async () => {
            ses.on(ListSuppressedDestinationsCommand).rejects(Object.assign(new Error("User is not authorized to perform ses:ListSuppressedDestinations"), { name: "AccessDeniedException" }));
            const { code, stdout, stderr } = await run("import-from-ses", "--stack", "test");
            expect([code, stdout]).to.deep.equal([1, ""]);
            expect(stderr).to.equal("AWS denied ses:ListSuppressedDestinations on SES's account-level suppression list: your role needs that permission (User is not authorized to perform ses:ListSuppressedDestinations).\n");
        });

        it("every command's --help shows an example, and ses-mail --help lists the command group", async () => {
            for (const name of ["list", "check", "add", "remove", "stats", "import-from-ses"]) {
                const { code, stdout } = await run(name, "--help");
                expect(code, name).to.equal(0);
                expect(stdout, name).to.match(new RegExp(`Example:\\n  \\$ ses-mail suppression ${name}`));
            }
            expect((await runMain(["--help"])).stdout).to.match(/\n {2}suppression +The suppression list/);
        });
    });

    describe("list", () => {
        beforeEach(async () => {
            await write({ email: "old@example.com", reason: "bounce", bounceType: "Permanent", bounceSubType: "General" }, NOW_S - 10 * DAY);
            await write({ email: "angry@example.org", reason: "complaint" }, NOW_S - 3 * DAY);
            await write({ email: "soft@example.com", reason: "bounce", bounceType: "Transient", expiresAt: NOW_S + 5 * DAY }, NOW_S - 2 * DAY);
            await write({ email: "asked@example.net", reason: "manual", details: "asked us to stop" }, NOW_S - DAY);
            // Expired yesterday, not yet deleted by TTL (it takes days): no longer a suppression.
            await write({ email: "gone@example.com", reason: "bounce", expiresAt: NOW_S - DAY }, NOW_S - 8 * DAY);
        });

        it("filters by reason and by --since (a duration or a date), leaving out expired entries, oldest first", async () => {
            const emails = async (...argv: string[]) => {
                const { code, stdout } = await run("list", "--stack", "test", "--json", ...argv);
                expect(code).to.equal(0);
                return JSON.parse(stdout).map((e: { email: string }) => e.email);
            };
            expect(await emails()).to.deep.equal(["old@example.com", "angry@example.org", "soft@example.com", "asked@example.net"]);
            expect(await emails("--reason", "bounce")).to.deep.equal(["old@example.com", "soft@example.com"]);
            expect(await emails("--since", "7d")).to.deep.equal(["angry@example.org", "soft@example.com", "asked@example.net"]);
            expect(await emails("--since", "2026-11-20")).to.deep.equal(["soft@example.com", "asked@example.net"]);
            expect(await emails("--since", "7d", "--reason", "bounce")).to.deep.equal(["soft@example.com"]);
            expect(await emails("--since", "36h")).to.deep.equal(["asked@example.net"]);
            expect(await emails("--since", "12h")).to.deep.equal([]);
        });

        it("prints a table, and says what it filtered", async () => {
            const { stdout } = await run("list", "--stack", "test", "--reason", "bounce");
            expect(stdout).to.equal([
                "EMAIL             REASON  ADDED                 EXPIRES               TYPE               DETAILS",
                `old@example.com   bounce  ${iso(NOW_S - 10 * DAY)}  permanent             Permanent/General`,
                `soft@example.com  bounce  ${iso(NOW_S - 2 * DAY)}  ${iso(NOW_S + 5 * DAY)}  Transient`,
                "2 suppressions in ses-email-suppression-list-test (reason bounce).",
                "",
            ].join("\n"));
            const none = await run("list", "--stack", "test", "--since", "1h");
            expect(none.stdout).to.equal(`No suppressions in ${TABLE} (added since ${iso(NOW_S - 3600)}).\n`);
        });

        it("--json has stable field names, null when unset", async () => {
            const { stdout } = await run("list", "--stack", "test", "--json", "--reason", "bounce", "--since", "3d");
            expect(JSON.parse(stdout)).to.deep.equal([{
                email: "soft@example.com", reason: "bounce", addedAt: iso(NOW_S - 2 * DAY), expiresAt: iso(NOW_S + 5 * DAY), transient: true,
                bounceType: "Transient", bounceSubType: null, details: null, sourceMessageId: null,
            }]);
        });
    });

    describe("check", () => {
        it("a transient entry: why, since when and until when (exit 1: suppressed)", async () => {
            await write({ email: "soft@example.com", reason: "bounce", bounceType: "Transient", bounceSubType: "MailboxFull", expiresAt: NOW_S + 5 * DAY + 3 * 3600 }, NOW_S - 2 * DAY);
            const { code, stdout } = await run("check", "Soft@Example.com", "--stack", "test");
            expect(code).to.equal(1);
            expect(stdout).to.equal([
                `soft@example.com: suppressed in ${TABLE}`,
                `  bounce     since ${iso(NOW_S - 2 * DAY)}, until ${iso(NOW_S + 5 * DAY + 3 * 3600)} (transient, 5 d 3 h left)  Transient/MailboxFull`,
                "SES account-level list: not listed",
                "",
            ].join("\n"));
            const json = JSON.parse((await run("check", "soft@example.com", "--stack", "test", "--json")).stdout);
            expect(json).to.deep.equal({
                email: "soft@example.com", suppressed: true,
                entries: [{
                    email: "soft@example.com", reason: "bounce", addedAt: iso(NOW_S - 2 * DAY), expiresAt: iso(NOW_S + 5 * DAY + 3 * 3600), transient: true,
                    bounceType: "Transient", bounceSubType: "MailboxFull", details: null, sourceMessageId: null,
                }],
                ses: { listed: false, reason: null, lastUpdated: null, messageId: null, feedbackId: null, error: null },
            });
            expect(ses.commandCalls(GetSuppressedDestinationCommand).map((c) => c.args[0].input)).to.deep.equal([{ EmailAddress: "soft@example.com" }, { EmailAddress: "soft@example.com" }]);
        });

        it("an address on SES's account-level list (added by SES after a bounce) is suppressed even when the table has no entry", async () => {
            await write({ email: "both@example.com", reason: "complaint" }, NOW_S - DAY);
            // GetSuppressedDestination: SuppressedDestination with Attributes.MessageId/FeedbackId when SES added it
            // (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SuppressedDestinationAttributes.html).
            ses.on(GetSuppressedDestinationCommand, { EmailAddress: "both@example.com" }).resolves({
                SuppressedDestination: { EmailAddress: "both@example.com", Reason: "BOUNCE", LastUpdateTime: new Date("2026-11-01T08:00:00Z"), Attributes: { MessageId: "0100-abc", FeedbackId: "0100-fb" } },
            });
            ses.on(GetSuppressedDestinationCommand, { EmailAddress: "ses-only@example.com" }).resolves({
                SuppressedDestination: { EmailAddress: "ses-only@example.com", Reason: "COMPLAINT", LastUpdateTime: new Date("2026-11-02T08:00:00Z") },
            });
            const both = await run("check", "both@example.com", "--stack", "test");
            expect(both.code).to.equal(1);
            expect(both.stdout).to.equal([
                `both@example.com: suppressed in ${TABLE}`,
                `  complaint  since ${iso(NOW_S - DAY)}, permanent`,
                "SES account-level list: BOUNCE, last updated 2026-11-01T08:00:00Z (SES added it after a bounce, message id 0100-abc, feedback id 0100-fb)",
                "",
            ].join("\n"));
            const only = await run("check", "ses-only@example.com", "--stack", "test", "--json");
            expect(only.code).to.equal(1);
            expect(JSON.parse(only.stdout)).to.deep.equal({
                email: "ses-only@example.com", suppressed: false, entries: [],
                ses: { listed: true, reason: "COMPLAINT", lastUpdated: "2026-11-02T08:00:00.000Z", messageId: null, feedbackId: null, error: null },
            });
        });

        it("exit 0 only when nothing suppresses it; a denied SES lookup is no all-clear; --no-ses skips SES", async () => {
            const clean = await run("check", "nobody@example.com", "--stack", "test");
            expect([clean.code, clean.stdout]).to.deep.equal([0, `nobody@example.com: not suppressed in ${TABLE}\nSES account-level list: not listed\n`]);
            ses.on(GetSuppressedDestinationCommand).rejects(Object.assign(new Error("not authorized"), { name: "AccessDeniedException" }));
            const denied = await run("check", "nobody@example.com", "--stack", "test");
            expect(denied.code).to.equal(1);
            expect(denied.stdout).to.match(/SES account-level list: not checked \(AWS denied ses:GetSuppressedDestination on SES's account-level suppression list: your role needs that permission \(not authorized\)\.\)\n$/);
            ses.resetHistory();
            const skipped = await run("check", "nobody@example.com", "--stack", "test", "--no-ses", "--json");
            expect([skipped.code, JSON.parse(skipped.stdout)]).to.deep.equal([0, { email: "nobody@example.com", suppressed: false, entries: [], ses: null }]);
            expect(ses.commandCalls(GetSuppressedDestinationCommand)).to.have.length(0);
        });
    });

    describe("add", () => {
        it("writes the worker's item (SuppressionClient): permanent, or transient with --expires; idempotent", async () => {
            const added = await run("add", " Asked@Example.net ", "--reason", "manual", "--details", "asked us to stop", "--stack", "test");
            expect([added.code, added.stdout]).to.deep.equal([0,
                `Added asked@example.net (manual) permanently to ${TABLE}. SES's account-level list is not updated: this stack does not mirror (suppression.mirrorToSes is off).\n`]);
            expect(await raw("asked@example.net", "manual")).to.deep.equal({
                email: { S: "asked@example.net" }, reason: { S: "manual" }, added_at: { N: String(NOW_S) }, details: { S: "asked us to stop" },
            });
            const transient = await run("add", "soft@example.com", "--reason", "bounce", "--expires", "7d", "--outputs", mirrored, "--json");
            expect([transient.code, JSON.parse(transient.stdout)]).to.deep.equal([0, { email: "soft@example.com", reason: "bounce", outcome: "created", dryRun: false, expiresAt: iso(NOW_S + 7 * DAY) }]);
            expect((await raw("soft@example.com", "bounce"))!.expires_at).to.deep.equal({ N: String(NOW_S + 7 * DAY) });
            // A transient entry never shortens a permanent one: the client's own rule.
            const again = await run("add", "asked@example.net", "--reason", "manual", "--expires", "1d", "--stack", "test");
            expect(again.stdout).to.equal("asked@example.net is already suppressed for manual permanently or until later: nothing changed.\n");
            expect((await raw("asked@example.net", "manual"))!.expires_at).to.equal(undefined);
            const mirror = await run("add", "x@example.com", "--reason", "complaint", "--outputs", mirrored);
            expect(mirror.stdout).to.match(/The mirror adds it to SES's account-level list too/);
        });

        it("--dry-run writes nothing", async () => {
            const { code, stdout } = await run("add", "a@example.com", "--reason", "bounce", "--dry-run", "--stack", "test");
            expect([code, stdout]).to.deep.equal([0, `Would add a@example.com (bounce, permanent) to ${TABLE}. SES's account-level list is not updated: this stack does not mirror (suppression.mirrorToSes is off).\n`]);
            expect(await all()).to.deep.equal([]);
        });
    });

    describe("remove", () => {
        beforeEach(async () => {
            await write({ email: "user@example.com", reason: "bounce", bounceType: "Permanent" }, NOW_S - 3 * DAY);
            await write({ email: "user@example.com", reason: "manual" }, NOW_S - DAY);
        });

        it("declined (no --yes) changes nothing and exits 1; --dry-run asks nothing and changes nothing", async () => {
            const before = await all();
            answer = false;
            const declined = await run("remove", "user@example.com", "--stack", "test");
            expect(declined.code).to.equal(1);
            expect(questions).to.deep.equal([`Remove user@example.com (bounce, manual) from the suppression list ${TABLE}? Mail to it is sent again.`]);
            expect(declined.stdout).to.match(/^Removing user@example.com from ses-email-suppression-list-test:\n {2}bounce .*\n {2}manual .*\n.*\nNot removed\.\n$/);
            expect(await all()).to.deep.equal(before);
            questions.length = 0;
            const dry = await run("remove", "user@example.com", "--stack", "test", "--dry-run", "--json");
            expect(dry.code).to.equal(0);
            expect(JSON.parse(dry.stdout)).to.deep.include({ removed: [], kept: [], dryRun: true });
            expect(questions).to.deep.equal([]);
            expect(await all()).to.deep.equal(before);
        });

        it("--yes removes every entry; --reason only one, and SES keeps the address while the table still suppresses it", async () => {
            ses.on(GetSuppressedDestinationCommand).resolves({ SuppressedDestination: { EmailAddress: "user@example.com", Reason: "BOUNCE", LastUpdateTime: new Date("2026-11-19T10:00:00Z") } });
            const one = await run("remove", "user@example.com", "--reason", "bounce", "--yes", "--stack", "test", "--json");
            expect(one.code).to.equal(0);
            expect(JSON.parse(one.stdout)).to.deep.equal({
                email: "user@example.com", removed: ["bounce"], kept: ["manual"], dryRun: false,
                ses: {
                    listed: true, reason: "BOUNCE", lastUpdated: "2026-11-19T10:00:00.000Z", messageId: null, feedbackId: null, error: null,
                    updated: false, explanation: "SES's list keeps it: the table still suppresses it (manual).",
                },
            });
            expect((await all()).map((i) => i.reason.S)).to.deep.equal(["manual"]);
            const rest = await run("remove", "user@example.com", "--yes", "--stack", "test");
            expect(rest.code).to.equal(0);
            expect(rest.stdout).to.equal([
                `Removing user@example.com from ${TABLE}:`,
                `  manual     since ${iso(NOW_S - DAY)}, permanent`,
                "SES's list is not updated: this stack does not mirror (suppression.mirrorToSes is off), so SES keeps suppressing it. " +
                "To remove it there too: aws sesv2 delete-suppressed-destination --email-address user@example.com --region us-east-1",
                "Removed user@example.com (manual).",
                "",
            ].join("\n"));
            expect(await all()).to.deep.equal([]);
            const none = await run("remove", "user@example.com", "--yes", "--stack", "test");
            expect([none.code, none.stdout]).to.deep.equal([1, `user@example.com is not suppressed in ${TABLE}: nothing to remove.\nSES account-level list: BOUNCE, last updated 2026-11-19T10:00:00Z (put through the API: this stack's mirror, the console or another system)\n`]);
        });

        it("with the mirror: says SES's entry goes exactly when the mirror's own rule would delete it", async () => {
            const putByStack = new Date("2026-11-19T10:00:00Z");
            const cases: { listed?: { LastUpdateTime: Date; Attributes?: { MessageId: string } }; claim?: string; updated: boolean | null; says: RegExp }[] = [
                { listed: { LastUpdateTime: putByStack }, claim: putByStack.toISOString(), updated: true, says: /^The mirror removes it from SES's list too/ },
                { listed: { LastUpdateTime: putByStack }, updated: false, says: /^SES's list keeps it: this stack did not put it there/ },
                { listed: { LastUpdateTime: new Date("2026-11-20T10:00:00Z") }, claim: putByStack.toISOString(), updated: false, says: /^SES's list keeps it: someone wrote it after this stack put it/ },
                { listed: { LastUpdateTime: putByStack, Attributes: { MessageId: "0100-abc" } }, claim: putByStack.toISOString(), updated: false, says: /^SES's list keeps it: SES added it itself after a real bounce/ },
                { updated: false, says: /^SES's account-level list does not have it/ },
            ];
            for (const c of cases) {
                await clear();
                await write({ email: "user@example.com", reason: "bounce" }, NOW_S - DAY);
                if (c.claim) await local.client.send(new PutItemCommand({ TableName: CLAIMS, Item: { email: { S: "user@example.com" }, last_updated: { S: c.claim } } }));
                ses.reset();
                if (c.listed) ses.on(GetSuppressedDestinationCommand).resolves({ SuppressedDestination: { EmailAddress: "user@example.com", Reason: "BOUNCE", ...c.listed } });
                else ses.on(GetSuppressedDestinationCommand).rejects(notListed());
                const { code, stdout } = await run("remove", "user@example.com", "--yes", "--outputs", mirrored, "--json");
                const out = JSON.parse(stdout);
                expect(code).to.equal(0);
                expect(out.ses.updated, c.says.source).to.equal(c.updated);
                expect(out.ses.explanation).to.match(c.says);
                expect(await all()).to.deep.equal([]);
            }
        });
    });

    describe("stats and list over generated entries", () => {
        const entry = fc.record({
            local: fc.constantFrom("a", "b", "c", "d", "e"),
            domain: fc.constantFrom("example.com", "example.org", "mail.example.net", "gmail.com"),
            reason: fc.constantFrom(...REASONS),
            age: fc.integer({ min: 0, max: 40 * DAY }),
            expiresIn: fc.option(fc.integer({ min: -5 * DAY, max: 10 * DAY }), { nil: undefined }),
        });
        const entries = fc.uniqueArray(entry, { selector: (e) => `${e.local}@${e.domain} ${e.reason}`, maxLength: 25 });

        it("stats --json equals a reference count of the entries written (per day and reason, transient vs permanent, top domains)", async () => {
            await fc.assert(fc.asyncProperty(entries, fc.integer({ min: 1, max: 35 }), fc.integer({ min: 1, max: 4 }), async (generated, days, top) => {
                await clear();
                for (const e of generated) {
                    const addedAt = NOW_S - e.age;
                    await write({ email: `${e.local}@${e.domain}`, reason: e.reason, ...(e.expiresIn === undefined ? {} : { expiresAt: Math.max(1, addedAt + e.expiresIn) }) }, addedAt);
                }
                const { code, stdout } = await run("stats", "--days", String(days), "--top", String(top), "--stack", "test", "--json");
                expect(code).to.equal(0);
                // Reference: count by hand over what was written.
                const from = NOW_S - days * DAY;
                const inWindow = generated.filter((e) => NOW_S - e.age >= from);
                const dates: string[] = [];
                for (let t = Date.parse(`${iso(from).slice(0, 10)}T00:00:00Z`); t <= NOW.getTime(); t += DAY * 1000) dates.push(new Date(t).toISOString().slice(0, 10));
                const count = (pick: (e: (typeof generated)[number]) => boolean) => inWindow.filter(pick).length;
                const domainCounts = [...new Set(inWindow.map((e) => e.domain))].map((domain) => ({ domain, count: count((e) => e.domain === domain) }));
                expect(JSON.parse(stdout)).to.deep.equal({
                    days, from: iso(from), to: iso(NOW_S), total: inWindow.length,
                    byReason: { bounce: count((e) => e.reason === "bounce"), complaint: count((e) => e.reason === "complaint"), manual: count((e) => e.reason === "manual") },
                    transient: count((e) => e.expiresIn !== undefined), permanent: count((e) => e.expiresIn === undefined),
                    perDay: dates.map((date) => {
                        const on = (reason: SuppressionReason) => count((e) => e.reason === reason && iso(NOW_S - e.age).startsWith(date));
                        return { date, bounce: on("bounce"), complaint: on("complaint"), manual: on("manual"), total: on("bounce") + on("complaint") + on("manual") };
                    }),
                    topDomains: domainCounts.sort((a, b) => b.count - a.count || (a.domain < b.domain ? -1 : 1)).slice(0, top),
                });
            }), { numRuns: 15 });
        });

        it("list --reason --since returns exactly the live entries a reference filter selects", async () => {
            await fc.assert(fc.asyncProperty(entries, fc.option(fc.constantFrom(...REASONS), { nil: undefined }), fc.integer({ min: 1, max: 45 }), async (generated, reason, sinceDays) => {
                await clear();
                for (const e of generated) {
                    const addedAt = NOW_S - e.age;
                    await write({ email: `${e.local}@${e.domain}`, reason: e.reason, ...(e.expiresIn === undefined ? {} : { expiresAt: Math.max(1, addedAt + e.expiresIn) }) }, addedAt);
                }
                const { stdout } = await run("list", "--stack", "test", "--json", "--since", `${sinceDays}d`, ...(reason ? ["--reason", reason] : []));
                const expected = generated
                    .filter((e) => (reason === undefined || e.reason === reason) && e.age <= sinceDays * DAY)
                    .filter((e) => e.expiresIn === undefined || Math.max(1, NOW_S - e.age + e.expiresIn) > NOW_S)
                    .map((e) => ({ addedAt: NOW_S - e.age, email: `${e.local}@${e.domain}`, reason: e.reason }))
                    .sort((a, b) => a.addedAt - b.addedAt || (a.email < b.email ? -1 : a.email > b.email ? 1 : 0) || (a.reason < b.reason ? -1 : 1));
                expect(JSON.parse(stdout).map((e: { email: string; reason: string }) => `${e.email} ${e.reason}`)).to.deep.equal(expected.map((e) => `${e.email} ${e.reason}`));
            }), { numRuns: 15 });
        });

        it("stats prints the review as a table", async () => {
            await write({ email: "a@example.com", reason: "bounce", expiresAt: NOW_S + DAY }, NOW_S - DAY);
            await write({ email: "b@example.com", reason: "complaint" }, NOW_S - 60);
            await write({ email: "c@example.org", reason: "complaint" }, NOW_S - 3 * DAY);
            const { stdout } = await run("stats", "--days", "2", "--stack", "test");
            expect(stdout).to.equal([
                `Suppressions added in the last 2 days (since ${iso(NOW_S - 2 * DAY)}) in ${TABLE}: 2`,
                "  bounce 1, complaint 1, manual 0; permanent 1, transient 1",
                "",
                "DATE        BOUNCE  COMPLAINT  MANUAL  TOTAL",
                "2026-11-20  0       0          0       0",
                "2026-11-21  1       0          0       1",
                "2026-11-22  0       1          0       1",
                "",
                "Top domains:",
                "  example.com  2",
                "(The table keeps no history: removed entries, and transient ones TTL deleted after they expired, are not counted.)",
                "",
            ].join("\n"));
        });
    });

    describe("import-from-ses", () => {
        const summary = (email: string, reason: "BOUNCE" | "COMPLAINT", at: string): SuppressedDestinationSummary => ({ EmailAddress: email, Reason: reason, LastUpdateTime: new Date(at) });
        /** Three pages chained by NextToken, as ListSuppressedDestinations returns a long list (SESv2 API Reference, ListSuppressedDestinations). */
        const pages: Record<string, { SuppressedDestinationSummaries: SuppressedDestinationSummary[]; NextToken?: string }> = {
            first: { SuppressedDestinationSummaries: [summary("new1@example.com", "BOUNCE", "2026-10-01T00:00:00Z"), summary("kept@example.com", "BOUNCE", "2026-10-02T00:00:00Z")], NextToken: "t2" },
            t2: { SuppressedDestinationSummaries: [summary("New2@Example.com", "COMPLAINT", "2026-10-03T00:00:00Z"), summary("expired@example.com", "BOUNCE", "2026-10-04T00:00:00Z")], NextToken: "t3" },
            t3: { SuppressedDestinationSummaries: [summary("not an address", "BOUNCE", "2026-10-05T00:00:00Z"), summary("kept@example.com", "COMPLAINT", "2026-10-06T00:00:00Z")] },
        };
        beforeEach(async () => {
            ses.on(ListSuppressedDestinationsCommand).callsFake((input: ListSuppressedDestinationsCommandInput) => pages[input.NextToken ?? "first"]);
            // The worker's transient entry: an import must never overwrite it (nor its expiry).
            await write({ email: "kept@example.com", reason: "bounce", bounceType: "Transient", details: "3 soft bounces in 7 days", expiresAt: NOW_S + 4 * DAY }, NOW_S - 3 * DAY);
            // Expired (not yet deleted by TTL): no suppression, so the import replaces it whole.
            await write({ email: "expired@example.com", reason: "bounce", bounceType: "Transient", details: "old", expiresAt: NOW_S - DAY }, NOW_S - 8 * DAY);
        });

        it("pages through every page, creates only absent entries, never overwrites one, and reports the counts", async () => {
            const kept = await raw("kept@example.com", "bounce");
            const { code, stdout } = await run("import-from-ses", "--stack", "test", "--json");
            expect(code).to.equal(1); // one address could not be imported
            expect(JSON.parse(stdout)).to.deep.equal({ listed: 6, imported: 4, skipped: 1, pages: 3, invalid: ["not an address"], dryRun: false });
            expect(ses.commandCalls(ListSuppressedDestinationsCommand).map((c) => c.args[0].input.NextToken)).to.deep.equal([undefined, "t2", "t3"]);
            expect(await raw("kept@example.com", "bounce")).to.deep.equal(kept);
            // The other reasons are new keys; added_at is SES's LastUpdateTime; the expired entry's leftovers are gone.
            expect(await raw("kept@example.com", "complaint")).to.deep.equal({
                email: { S: "kept@example.com" }, reason: { S: "complaint" }, added_at: { N: String(Date.parse("2026-10-06T00:00:00Z") / 1000) },
                details: { S: "Imported from the SES account-level suppression list (COMPLAINT)" },
            });
            expect(await raw("expired@example.com", "bounce")).to.deep.equal({
                email: { S: "expired@example.com" }, reason: { S: "bounce" }, added_at: { N: String(Date.parse("2026-10-04T00:00:00Z") / 1000) },
                details: { S: "Imported from the SES account-level suppression list (BOUNCE)" },
            });
            expect((await raw("new2@example.com", "complaint"))!.reason).to.deep.equal({ S: "complaint" });
            expect((await all()).length).to.equal(5); // kept (bounce, complaint), expired (bounce), new1, new2

            const again = await run("import-from-ses", "--stack", "test");
            expect(again.stdout).to.equal([
                `Imported 0 of 6 addresses on SES's account-level suppression list (3 pages) into ${TABLE}; 5 skipped (already in the table).`,
                "1 not imported (not a plain address the table accepts): not an address",
                "",
            ].join("\n"));
        });

        it("--dry-run reports the same counts and writes nothing", async () => {
            const before = await all();
            const { stdout } = await run("import-from-ses", "--dry-run", "--stack", "test", "--json");
            expect(JSON.parse(stdout)).to.deep.equal({ listed: 6, imported: 4, skipped: 1, pages: 3, invalid: ["not an address"], dryRun: true });
            expect(await all()).to.deep.equal(before);
        });

        it("with the mirror: says the imported entries stay in SES when removed here later", async () => {
            pages.t3.SuppressedDestinationSummaries.splice(0, 1);
            try {
                const { code, stdout } = await run("import-from-ses", "--outputs", mirrored);
                expect(code).to.equal(0);
                expect(stdout).to.match(/\nThe mirror leaves these in SES's list \(this stack did not put them there\)/);
            } finally {
                pages.t3.SuppressedDestinationSummaries.unshift(summary("not an address", "BOUNCE", "2026-10-05T00:00:00Z"));
            }
        });
    });
});
