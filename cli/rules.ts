// `ses-mail rules …`: the routing rules of a deployment, read and written in the runbooks' item
// shape. What the router makes of an item is always the router's own code (parseRule, RuleStore,
// resolution, routeMail), so the command cannot disagree with production.
import * as fs from "node:fs";
import * as path from "node:path";
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand, ScanCommandOutput } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { noBounceReason } from "../functions/bouncer/logic";
import { routeMail } from "../functions/router/decide";
import { normaliseAddress, ReceivedMail } from "../functions/router/notification";
import { RuleStore } from "../functions/router/rule-store";
import { CandidateLookup, isInvalidRule, parseRule, RULE_KEY_PREFIX, RuleAction, ruleActions, ruleKey, resolution, RULE_SORT_KEY } from "../functions/router/rules";
import { awsCall } from "./aws";
import { CliError, UsageError } from "./errors";
import {
    actionProblems, actionsFrom, ActionOptions, byPattern, canonical, describeActions, editedItem, exportDocument, importItems, Item, newItem,
    normalisePattern, parseLabels, ruleRow, RuleRow, statusOf, table, unchangedSince,
} from "./rules-items";
import type { RulesTarget } from "./rules-target";

export interface RulesIo {
    print(line: string): void;
    /** Asks a yes/no question; false when declined or when there is no terminal to ask. */
    confirm(question: string): Promise<boolean>;
    now(): Date;
    cwd: string;
}

export interface RulesContext extends RulesIo {
    target: RulesTarget;
    client: DynamoDBClient;
    json: boolean;
}

/** Exit codes: 0 ok, 1 a check found problems (or the command was declined / could not finish), 2 usage or input. */
export type ExitCode = 0 | 1 | 2;

const CONFLICT = Symbol("conditional check failed");

/** A DynamoDB call; AWS failures become one-line errors that say what to check. */
async function dynamo<T>(ctx: RulesContext, action: string, call: () => Promise<T>): Promise<T> {
    const table = ctx.target.tableName;
    try {
        return await awsCall(`dynamodb:${action}`, table, call);
    } catch (error) {
        if (error instanceof CliError) throw error;
        const e = error as { name?: string; message?: string; $metadata?: unknown; code?: string };
        if (e.name === "ResourceNotFoundException") {
            throw new CliError(`No table ${table} in ${ctx.target.region ?? process.env.AWS_REGION ?? "the default region"}: check --stack / --env / --outputs and --region (is MailIngest deployed there?).`);
        }
        if (e.$metadata !== undefined || e.code !== undefined) throw new CliError(`dynamodb:${action} on ${table} failed: ${e.name ?? e.code}: ${e.message}`);
        throw error;
    }
}

/** Runs a conditional write; CONFLICT when its condition failed. */
async function conditional(ctx: RulesContext, action: string, call: () => Promise<unknown>): Promise<typeof CONFLICT | undefined> {
    return dynamo(ctx, action, () => call().then(() => undefined, (error: Error) => {
        if (error.name === "ConditionalCheckFailedException") return CONFLICT;
        throw error;
    }));
}

async function getRule(ctx: RulesContext, pattern: string): Promise<Item | undefined> {
    const { Item } = await dynamo(ctx, "GetItem", () => ctx.client.send(new GetItemCommand({ TableName: ctx.target.tableName, Key: marshall(ruleKey(pattern)), ConsistentRead: true })));
    return Item;
}

async function mustGetRule(ctx: RulesContext, pattern: string): Promise<Item> {
    const item = await getRule(ctx, pattern);
    if (!item) throw new UsageError(`No rule for ${pattern} in ${ctx.target.tableName} (ses-mail rules list shows them; rules add creates one).`);
    return item;
}

/** Every routing-rule item (PK ROUTE#…), other items of the table (SMTP_USER# …) left out. */
async function scanRules(ctx: RulesContext): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
        const page: ScanCommandOutput = await dynamo(ctx, "Scan", () => ctx.client.send(new ScanCommand({
            TableName: ctx.target.tableName, ConsistentRead: true, ExclusiveStartKey: startKey as Item | undefined,
            FilterExpression: "begins_with(#pk, :route)", ExpressionAttributeNames: { "#pk": "PK" }, ExpressionAttributeValues: { ":route": { S: RULE_KEY_PREFIX } },
        })));
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
    } while (startKey);
    const pattern = (item: Item) => ({ pattern: (item.PK?.S ?? "").slice(RULE_KEY_PREFIX.length) });
    return items.sort((a, b) => byPattern(pattern(a), pattern(b)));
}

const printJson = (ctx: RulesContext, value: unknown) => ctx.print(JSON.stringify(value, null, 2));
const rowProblems = (row: RuleRow) => !row.valid || row.notes.some((n) => n.includes("will refuse") || n.includes("never reads"));

function printRow(ctx: RulesContext, row: RuleRow, indent = "    "): void {
    if (row.invalid) ctx.print(`${indent}INVALID: ${row.invalid}. The router skips it (as if absent) and reports it: RoutingRuleInvalid, its error log, the decision's reason.`);
    row.notes.forEach((note) => ctx.print(`${indent}note: ${note}`));
}

// ---------------------------------------------------------------------------------------------
// list, show
// ---------------------------------------------------------------------------------------------

export async function listRules(ctx: RulesContext): Promise<ExitCode> {
    const rows = (await scanRules(ctx)).map((item) => ruleRow(item, ctx.target.accounts));
    const problems = rows.filter(rowProblems).length;
    if (ctx.json) {
        printJson(ctx, rows);
        return problems ? 1 : 0;
    }
    if (rows.length === 0) {
        ctx.print(`No routing rules in ${ctx.target.tableName}: every recipient gets the default action (${ctx.target.settings.defaultAction}).`);
        return 0;
    }
    const lines = table(["PATTERN", "STATUS", "ACTIONS", "UPDATED", "DESCRIPTION"], rows.map((r) => [r.pattern, statusOf(r), describeActions(r.actions), r.updatedAt ?? "", r.description ?? ""]));
    ctx.print(lines[0]);
    rows.forEach((row, i) => {
        ctx.print(lines[i + 1]);
        printRow(ctx, row);
    });
    const invalid = rows.filter((r) => !r.valid).length;
    ctx.print(`\n${rows.length} rule${rows.length === 1 ? "" : "s"} in ${ctx.target.tableName}${invalid ? `; ${invalid} INVALID (fix with ses-mail rules set <pattern> …)` : ""}.`);
    return problems ? 1 : 0;
}

export async function showRule(ctx: RulesContext, rawPattern: string): Promise<ExitCode> {
    const pattern = normalisePattern(rawPattern);
    const item = await mustGetRule(ctx, pattern);
    const row = ruleRow(item, ctx.target.accounts);
    if (ctx.json) {
        printJson(ctx, { ...row, item: unmarshall(item) });
        return rowProblems(row) ? 1 : 0;
    }
    ctx.print(`${row.pattern}  (${row.form === "list" ? "list form: actions" : "single form: action"})`);
    ctx.print(`  status:      ${statusOf(row)}`);
    ctx.print(`  actions:     ${describeActions(row.actions)}`);
    if (row.description !== undefined) ctx.print(`  description: ${row.description}`);
    ctx.print(`  created:     ${row.createdAt ?? "-"}`);
    ctx.print(`  updated:     ${row.updatedAt ?? "-"}`);
    printRow(ctx, row, "  ");
    return rowProblems(row) ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// add, set, enable, disable, delete
// ---------------------------------------------------------------------------------------------

function checkActions(ctx: RulesContext, actions: RuleAction[], pattern: string): void {
    const problems = actionProblems(actions, ctx.target.accounts);
    if (problems.length) throw new UsageError(`Refusing to write ${pattern}: ${problems.join("; ")}.`);
}

function reportWrite(ctx: RulesContext, verb: string, item: Item, dryRun: boolean): void {
    const row = ruleRow(item, ctx.target.accounts);
    if (ctx.json) {
        printJson(ctx, { dryRun, [verb]: row, item: unmarshall(item) });
        return;
    }
    ctx.print(`${dryRun ? `Would ${verb.toLowerCase()}` : verb} ${row.pattern}: ${describeActions(row.actions)} (${statusOf(row)}, ${row.form} form)${dryRun ? "; nothing written (--dry-run)" : ""}.`);
    printRow(ctx, row, "  ");
}

export interface AddOptions extends ActionOptions {
    description?: string;
    disabled?: boolean;
    dryRun?: boolean;
}

export async function addRule(ctx: RulesContext, rawPattern: string, options: AddOptions): Promise<ExitCode> {
    const pattern = normalisePattern(rawPattern);
    const actions = actionsFrom(options);
    if (!actions) throw new UsageError("Say what the rule does: --forward <gmail> (repeatable), --bounce, --store or --drop (store may go with any of them).");
    checkActions(ctx, actions, pattern);
    const item = newItem(pattern, actions, { description: options.description, enabled: !options.disabled, now: ctx.now() });
    if (!options.dryRun) {
        const result = await conditional(ctx, "PutItem", () => ctx.client.send(new PutItemCommand({ TableName: ctx.target.tableName, Item: item, ...unchangedSince(undefined) })));
        if (result === CONFLICT) throw new UsageError(`A rule for ${pattern} exists already: change it with ses-mail rules set ${pattern} …, or delete it first.`);
    }
    reportWrite(ctx, "Added", item, options.dryRun === true);
    return 0;
}

export interface SetOptions extends ActionOptions {
    description?: string;
    dryRun?: boolean;
}

export async function setRule(ctx: RulesContext, rawPattern: string, options: SetOptions): Promise<ExitCode> {
    const pattern = normalisePattern(rawPattern);
    const item = await mustGetRule(ctx, pattern);
    let actions = actionsFrom(options);
    const current = parseRule(unmarshall(item));
    if (!actions && options.labels !== undefined) {
        // --labels alone: the labels of every forward of the rule as it is.
        if (isInvalidRule(current)) throw new UsageError(`${pattern} is invalid (${current.invalid}): give all its actions (--forward/--bounce/--store/--drop).`);
        const labels = parseLabels(options.labels);
        actions = ruleActions(current).map((a) => (a.type === "forward-to-gmail" ? { ...a, labels } : a));
    }
    if (!actions && options.description === undefined) throw new UsageError("Nothing to change: give actions (--forward/--bounce/--store/--drop), --labels or --description (enable/disable are commands of their own).");
    if (!actions && isInvalidRule(current)) throw new UsageError(`${pattern} is invalid (${current.invalid}): give its actions (--forward/--bounce/--store/--drop) to fix it.`);
    if (actions) checkActions(ctx, actions, pattern);
    const next = editedItem(item, { actions, description: options.description, now: ctx.now() });
    if (!options.dryRun) {
        const result = await conditional(ctx, "PutItem", () => ctx.client.send(new PutItemCommand({ TableName: ctx.target.tableName, Item: next, ...unchangedSince(item) })));
        if (result === CONFLICT) throw new CliError(`${pattern} changed (or was deleted) while this command ran; nothing written. Run it again.`);
    }
    reportWrite(ctx, "Changed", next, options.dryRun === true);
    return 0;
}

export async function setEnabled(ctx: RulesContext, rawPattern: string, enabled: boolean, dryRun = false): Promise<ExitCode> {
    const pattern = normalisePattern(rawPattern);
    const item = await mustGetRule(ctx, pattern);
    const current = parseRule(unmarshall(item));
    if (enabled && isInvalidRule(current)) {
        throw new UsageError(`Refusing to enable ${pattern}: it is invalid (${current.invalid}). Fix it first: ses-mail rules set ${pattern} --forward …/--bounce/--store/--drop.`);
    }
    if (item.enabled?.BOOL === enabled || (enabled && item.enabled === undefined)) {
        ctx.print(`${pattern} is already ${enabled ? "enabled" : "disabled"}.`);
        return 0;
    }
    const next = editedItem(item, { enabled, now: ctx.now() });
    if (!dryRun) {
        const result = await conditional(ctx, "PutItem", () => ctx.client.send(new PutItemCommand({ TableName: ctx.target.tableName, Item: next, ...unchangedSince(item) })));
        if (result === CONFLICT) throw new CliError(`${pattern} changed (or was deleted) while this command ran; nothing written. Run it again.`);
    }
    reportWrite(ctx, enabled ? "Enabled" : "Disabled", next, dryRun);
    return 0;
}

export async function deleteRule(ctx: RulesContext, rawPattern: string, options: { yes?: boolean; dryRun?: boolean }): Promise<ExitCode> {
    const pattern = normalisePattern(rawPattern);
    const item = await mustGetRule(ctx, pattern);
    const row = ruleRow(item, ctx.target.accounts);
    const what = `${pattern}: ${describeActions(row.actions)} (${statusOf(row)}${row.description ? `, "${row.description}"` : ""})`;
    if (options.dryRun) {
        ctx.print(`Would delete ${what}; nothing deleted (--dry-run).`);
        return 0;
    }
    ctx.print(`Deleting ${what}. Mail to it then follows the next candidate pattern or the default action.`);
    if (!options.yes && !(await ctx.confirm(`Delete the rule for ${pattern}?`))) {
        ctx.print("Nothing deleted (not confirmed; pass --yes to skip the question).");
        return 1;
    }
    const result = await conditional(ctx, "DeleteItem", () => ctx.client.send(new DeleteItemCommand({ TableName: ctx.target.tableName, Key: marshall(ruleKey(pattern)), ...unchangedSince(item) })));
    if (result === CONFLICT) throw new CliError(`${pattern} changed (or was deleted) since it was shown; nothing deleted. Run the command again.`);
    ctx.print(`Deleted the rule for ${pattern}.`);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// export, import
// ---------------------------------------------------------------------------------------------

export async function exportRules(ctx: RulesContext, file: string | undefined): Promise<ExitCode> {
    const items = await scanRules(ctx);
    const text = `${JSON.stringify(exportDocument(items, ctx.target.tableName, ctx.now()), null, 2)}\n`;
    if (file === undefined || file === "-") {
        ctx.print(text.trimEnd());
    } else {
        fs.writeFileSync(path.resolve(ctx.cwd, file), text);
        ctx.print(`Exported ${items.length} rule${items.length === 1 ? "" : "s"} from ${ctx.target.tableName} to ${file}.`);
    }
    return 0;
}

type Planned = { pattern: string; item: Item; existing?: Item; change: "create" | "unchanged" | "replace" };

export async function importRules(ctx: RulesContext, file: string, options: { dryRun?: boolean; overwrite?: boolean; yes?: boolean }): Promise<ExitCode> {
    let text: string;
    try {
        text = fs.readFileSync(path.resolve(ctx.cwd, file), "utf8");
    } catch (error) {
        throw new UsageError(`Cannot read ${file}: ${(error as Error).message}`);
    }
    const { items, notRules } = importItems(text, file);
    // Every rule is checked before anything is written: a file with a bad rule writes nothing.
    const refused: string[] = [];
    const seen = new Set<string>();
    for (const item of items) {
        const pattern = item.PK.S!.slice(RULE_KEY_PREFIX.length);
        if (seen.has(pattern)) refused.push(`${pattern}: in the file twice`);
        seen.add(pattern);
        if (item.SK?.S !== RULE_SORT_KEY) {
            refused.push(`${pattern}: SK must be ${RULE_SORT_KEY} (the router reads no other)`);
            continue;
        }
        const parsed = parseRule(unmarshall(item));
        if (isInvalidRule(parsed)) refused.push(`${pattern}: ${parsed.invalid}`);
        else refused.push(...actionProblems(ruleActions(parsed), ctx.target.accounts).map((p) => `${pattern}: ${p}`));
    }
    if (refused.length) {
        throw new UsageError(`Refusing to import ${file}; nothing written:\n${refused.map((r) => `  ${r}`).join("\n")}`);
    }
    const plan: Planned[] = [];
    for (const item of items) {
        const pattern = item.PK.S!.slice(RULE_KEY_PREFIX.length);
        const existing = await getRule(ctx, pattern);
        plan.push({ pattern, item, existing, change: !existing ? "create" : canonical(existing) === canonical(item) ? "unchanged" : "replace" });
    }
    const count = (change: Planned["change"]) => plan.filter((p) => p.change === change).length;
    const replacing = plan.filter((p) => p.change === "replace");
    const summary = { file, table: ctx.target.tableName, create: count("create"), unchanged: count("unchanged"), replace: count("replace"), notRules };
    if (ctx.json) printJson(ctx, { ...summary, dryRun: options.dryRun === true, plan: plan.map(({ pattern, change }) => ({ pattern, change })) });
    else {
        ctx.print(`${file} → ${ctx.target.tableName}: ${summary.create} to create, ${summary.unchanged} unchanged, ${summary.replace} differing from the table${notRules ? `; ${notRules} item${notRules === 1 ? "" : "s"} that are not routing rules left out` : ""}.`);
        for (const p of plan.filter((x) => x.change !== "unchanged")) {
            const row = ruleRow(p.item);
            ctx.print(`  ${p.change === "create" ? "create " : "REPLACE"} ${p.pattern}: ${describeActions(row.actions)}${p.existing ? ` (now: ${describeActions(ruleRow(p.existing).actions)}, updated ${p.existing.updated_at?.S ?? "-"})` : ""}`);
        }
    }
    if (replacing.length && !options.overwrite) {
        if (!ctx.json) ctx.print(`${replacing.length} rule${replacing.length === 1 ? "" : "s"} in the table differ from the file; nothing ${options.dryRun ? "would be" : "was"} written. Pass --overwrite to replace them.`);
        return 1;
    }
    if (options.dryRun) {
        if (!ctx.json) ctx.print("Nothing written (--dry-run).");
        return 0;
    }
    if (replacing.length && !options.yes && !(await ctx.confirm(`Replace ${replacing.length} existing rule${replacing.length === 1 ? "" : "s"} (${replacing.map((p) => p.pattern).join(", ")})?`))) {
        ctx.print("Nothing written (not confirmed; pass --yes to skip the question).");
        return 1;
    }
    const conflicts: string[] = [];
    let written = 0;
    for (const p of plan.filter((x) => x.change !== "unchanged")) {
        // Created only where still absent, replaced only if unchanged since read: nothing overwritten by surprise.
        const result = await conditional(ctx, "PutItem", () => ctx.client.send(new PutItemCommand({ TableName: ctx.target.tableName, Item: p.item, ...unchangedSince(p.existing) })));
        if (result === CONFLICT) conflicts.push(p.pattern);
        else written += 1;
    }
    if (!ctx.json) ctx.print(`Wrote ${written} rule${written === 1 ? "" : "s"}.`);
    if (conflicts.length) {
        ctx.print(`Not written, changed in the table while importing: ${conflicts.join(", ")}. Run the import again to see the difference.`);
        return 1;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// explain
// ---------------------------------------------------------------------------------------------

const EXPLAIN_MAIL_ID = "ses-mail-rules-explain";

function lookupLine(lookup: CandidateLookup): [string, string] {
    const rule = lookup.rule;
    const does = rule && !isInvalidRule(rule) ? describeActions(ruleActions(rule)) : "";
    switch (lookup.status) {
        case "absent": return [lookup.pattern, "no rule"];
        case "disabled": return [lookup.pattern, `skipped: disabled${rule && isInvalidRule(rule) ? ` (and invalid: ${rule.invalid})` : ` (${does})`}`];
        case "invalid": return [lookup.pattern, `SKIPPED: INVALID: ${(rule as { invalid: string }).invalid}`];
        case "chosen": return [lookup.pattern, `USED: ${does}`];
        case "not-reached": return [lookup.pattern, "not reached (a more specific rule applies)"];
    }
}

export async function explainAddress(ctx: RulesContext, rawAddress: string, options: { sender?: string }): Promise<ExitCode> {
    const address = normaliseAddress(rawAddress);
    if (address.lastIndexOf("@") <= 0) throw new UsageError(`"${rawAddress}" is not an address: give the recipient as mail arrives (support@example.com).`);
    const now = ctx.now();
    // The router's own reader: one BatchGetItem of every candidate, parsed by parseRule.
    const store = new RuleStore({ tableName: ctx.target.tableName, client: ctx.client, cacheTtlMs: 0 });
    const rules = await dynamo(ctx, "BatchGetItem", () => store.rulesFor([address]));
    const found = resolution(address, rules);
    const source = options.sender === undefined ? undefined : normaliseAddress(options.sender);
    const mail: ReceivedMail = {
        messageId: EXPLAIN_MAIL_ID, source: source ?? "sender@example.net", recipients: [address], receivedAt: now.toISOString(),
        s3: { bucket: "-", key: "-" }, verdicts: { spam: "PASS", virus: "PASS", spf: "PASS", dkim: "PASS", dmarc: "PASS" }, headers: {},
    };
    const routed = routeMail(mail, rules, ctx.target.settings);
    const bounce = routed.decisions.some((d) => d.action === "bounce");
    const backscatter = bounce && source !== undefined
        ? noBounceReason({ ...mail, source, verdicts: mail.verdicts }, ctx.target.ownMailerDaemons, now.getTime())
        : undefined;
    const settingsFrom = ctx.target.settingsFrom ?? "assumed: the defaults; pass --stack to read the stack's";
    const problems = found.skippedInvalid.length > 0;
    if (ctx.json) {
        printJson(ctx, {
            address, sender: source,
            candidates: found.candidates.map((c) => ({ pattern: c.pattern, status: c.status, ...(c.rule && isInvalidRule(c.rule) ? { invalid: c.rule.invalid } : {}), ...(c.rule && !isInvalidRule(c.rule) ? { actions: ruleActions(c.rule) } : {}) })),
            rule: found.rule?.pattern ?? null,
            defaultAction: found.rule ? undefined : ctx.target.settings.defaultAction,
            settings: { ...ctx.target.settings, from: settingsFrom },
            decisions: routed.decisions.map(({ action, target, labels, reason }) => ({ action, target, labels, reason })),
            invalidRules: routed.invalidRules.map(({ pattern, reason }) => ({ pattern, reason })),
            ...(bounce && source !== undefined ? { bounce: backscatter ? { sent: false, reason: backscatter } : { sent: true } } : {}),
        });
        return problems ? 1 : 0;
    }
    ctx.print(`${address}: candidate patterns in ${ctx.target.tableName}, most specific first:`);
    table(["PATTERN", "FOUND"], found.candidates.map(lookupLine)).slice(1).forEach((line) => ctx.print(`  ${line}`));
    ctx.print(found.rule
        ? `Rule used: ${found.rule.pattern}.`
        : `No usable rule: the default action applies (${ctx.target.settings.defaultAction}; ${settingsFrom}).`);
    ctx.print("What happens to the mail (when no verdict decides first: virus FAIL, DMARC FAIL with p=reject" + `${ctx.target.settings.spamAction === "drop" ? ", spam FAIL" : ""} drop it before any rule):`);
    for (const d of routed.decisions) {
        const effect = d.action === "forward-to-gmail" ? (d.target ? `imported into ${d.target} with labels INBOX, UNREAD${d.labels.length ? `, ${d.labels.join(", ")}` : ""}` : "no target: the forwarder refuses it (DLQ)")
            : d.action === "bounce" ? (source === undefined ? "a DoesNotExist bounce to the envelope sender, unless that would be backscatter (null sender, unauthenticated, bulk or list mail, …)"
                : backscatter ? `no bounce sent to ${source || "<>"} (${backscatter}): it would be backscatter` : `a DoesNotExist bounce to ${source}`)
                : d.action === "store" ? "kept in S3 only" : "dropped (the raw mail stays in S3 until it expires)";
        ctx.print(`  ${d.action}${d.target ? ` → ${d.target}` : ""}: ${effect}`);
    }
    ctx.print(`Reason in the routing event: ${[...new Set(routed.decisions.map((d) => d.reason))].join(" | ")}`);
    if (problems) ctx.print(`Invalid rule${found.skippedInvalid.length === 1 ? "" : "s"} skipped: ${found.skippedInvalid.map((r) => r.pattern).join(", ")} (ses-mail rules show <pattern>; fix with rules set).`);
    return problems ? 1 : 0;
}
