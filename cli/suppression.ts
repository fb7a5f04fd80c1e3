// `ses-mail suppression …`: SuppressionStore's table, read and written through SuppressionClient (the
// feedback worker's own client, so items are exactly the worker's), next to SES's account-level
// suppression list (SESv2), which the stack's mirror keeps in step when `suppression.mirrorToSes` is on.
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SESv2Client } from "@aws-sdk/client-sesv2";
import { Command, InvalidArgumentError, Option } from "commander";
import type { SuppressionClient, SuppressionEntry, SuppressionReason } from "../functions/shared/suppression-client";
import { awsCall } from "./aws";
import { CliError, UsageError, usageExit } from "./errors";
import type { CliDeps } from "./main";
import type { SuppressionTarget, SuppressionTargetOptions } from "./target";

/** The modules behind the commands load when one runs, so `ses-mail --help` starts fast (as in main.ts). */
const load = async () => {
    const [ddb, sesv2, store, email, claims, target] = await Promise.all([
        import("@aws-sdk/client-dynamodb"), import("@aws-sdk/client-sesv2"), import("../functions/shared/suppression-client"),
        import("../functions/shared/email"), import("../functions/suppression-mirror/claims"), import("./target"),
    ]);
    return { ddb, sesv2, store, email, claims, target };
};
type Lib = Awaited<ReturnType<typeof load>>;
type Result = { exitCode: number };

const REASONS = ["bounce", "complaint", "manual"] as const;
const DAY = 86_400;
/** UpdateItem calls in flight at once during an import. */
const IMPORT_CONCURRENCY = 8;

interface SuppressionContext {
    lib: Lib;
    target: SuppressionTarget;
    dynamo: DynamoDBClient;
    ses: SESv2Client;
    store: SuppressionClient;
    json: boolean;
    /** Epoch seconds. */
    now: number;
    print(line: string): void;
    deps: CliDeps;
}

/** `7d`, `12h`, `30m`, `2w` (seconds), or a date (`2026-11-01`, ISO 8601). */
export type When = { seconds: number } | { at: number };
const whenOf = (value: string): When => {
    const match = /^(\d+)([mhdw])$/.exec(value.trim());
    if (match) return { seconds: Number(match[1]) * { m: 60, h: 3600, d: DAY, w: 7 * DAY }[match[2] as "m" | "h" | "d" | "w"] };
    const at = Date.parse(value);
    if (/^\d{4}-\d{2}-\d{2}/.test(value) && Number.isFinite(at)) return { at: Math.floor(at / 1000) };
    throw new InvalidArgumentError("a duration (30m, 12h, 7d, 2w) or a date (2026-11-01, 2026-11-01T10:00:00Z).");
};
const integer = (min: number, max: number) => (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`a whole number from ${min} to ${max}.`);
    return n;
};

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
const dayOf = (seconds: number) => iso(seconds).slice(0, 10);
const domainOf = (email: string) => email.slice(email.lastIndexOf("@") + 1);
const live = (now: number) => (entry: SuppressionEntry) => entry.expiresAt === undefined || entry.expiresAt > now;
function left(seconds: number): string {
    if (seconds >= DAY) return `${Math.floor(seconds / DAY)} d ${Math.floor((seconds % DAY) / 3600)} h left`;
    return seconds >= 3600 ? `${Math.floor(seconds / 3600)} h left` : `${Math.max(1, Math.floor(seconds / 60))} min left`;
}

/** Columns padded to their widest cell; the last column is not padded. */
function table(rows: string[][]): string[] {
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))).join("  ").trimEnd());
}

/** An entry in `--json` output: every field always present (null when unset), times as ISO 8601. */
export function entryJson(entry: SuppressionEntry) {
    return {
        email: entry.email,
        reason: entry.reason,
        addedAt: iso(entry.addedAt),
        expiresAt: entry.expiresAt === undefined ? null : iso(entry.expiresAt),
        transient: entry.expiresAt !== undefined,
        bounceType: entry.bounceType ?? null,
        bounceSubType: entry.bounceSubType ?? null,
        details: entry.details ?? null,
        sourceMessageId: entry.sourceMessageId ?? null,
    };
}

/** A call on the suppression table: a missing table says which name was tried; bad input is a usage error. */
async function db<T>(ctx: SuppressionContext, action: string, call: () => Promise<T>): Promise<T> {
    try {
        return await awsCall(action, ctx.target.tableName, call);
    } catch (error) {
        if (error instanceof ctx.lib.email.InvalidInputError) throw new UsageError(error.message);
        if ((error as { name?: string }).name !== "ResourceNotFoundException") throw error;
        const region = ctx.target.region ?? (await ctx.dynamo.config.region());
        throw new CliError(`No table ${ctx.target.tableName} in ${region}: check --stack / --env (--table) / --outputs and --region.`);
    }
}

function address(ctx: SuppressionContext, email: string, strict: boolean): string {
    try {
        // Lookups take any address SES may have delivered; what is written must be a plain address (the client's own rule).
        return strict ? ctx.lib.email.normaliseEmail(email) : ctx.lib.email.lookupAddress(email);
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
}

/** SES's entry for the address, as GetSuppressedDestination describes it (SESv2 API Reference). */
interface SesListing {
    reason: "BOUNCE" | "COMPLAINT";
    lastUpdated: string;
    /** SuppressedDestinationAttributes: SES names the message or feedback that made it add the address; a put names neither. */
    messageId?: string;
    feedbackId?: string;
}
/** `listed`/`absent`, or `unknown` with why (a denied or unconfigured SES call must not stop a table command). */
type SesState = { state: "listed"; entry: SesListing } | { state: "absent" } | { state: "unknown"; why: string };

async function sesLookup(ctx: SuppressionContext, email: string): Promise<SesState> {
    try {
        const { SuppressedDestination: d } = await awsCall("ses:GetSuppressedDestination", "SES's account-level suppression list", () =>
            ctx.ses.send(new ctx.lib.sesv2.GetSuppressedDestinationCommand({ EmailAddress: email })));
        if (!d) return { state: "absent" };
        return {
            state: "listed",
            entry: {
                reason: d.Reason as SesListing["reason"], lastUpdated: new Date(d.LastUpdateTime!).toISOString(),
                ...(d.Attributes?.MessageId ? { messageId: d.Attributes.MessageId } : {}), ...(d.Attributes?.FeedbackId ? { feedbackId: d.Attributes.FeedbackId } : {}),
            },
        };
    } catch (error) {
        // GetSuppressedDestination answers NotFoundException for an address that is not listed.
        if (error instanceof ctx.lib.sesv2.NotFoundException) return { state: "absent" };
        if (error instanceof CliError) return { state: "unknown", why: error.message };
        throw error;
    }
}

const sesJson = (ses: SesState | undefined) => ses === undefined ? null : {
    listed: ses.state === "unknown" ? null : ses.state === "listed",
    reason: ses.state === "listed" ? ses.entry.reason : null,
    lastUpdated: ses.state === "listed" ? ses.entry.lastUpdated : null,
    messageId: ses.state === "listed" ? ses.entry.messageId ?? null : null,
    feedbackId: ses.state === "listed" ? ses.entry.feedbackId ?? null : null,
    error: ses.state === "unknown" ? ses.why : null,
};

function sesLine(ses: SesState): string {
    if (ses.state === "absent") return "SES account-level list: not listed";
    if (ses.state === "unknown") return `SES account-level list: not checked (${ses.why})`;
    const { reason, lastUpdated, messageId, feedbackId } = ses.entry;
    const by = messageId || feedbackId
        ? `SES added it after a ${reason === "COMPLAINT" ? "complaint" : "bounce"}${messageId ? `, message id ${messageId}` : ""}${feedbackId ? `, feedback id ${feedbackId}` : ""}`
        : "put through the API: this stack's mirror, the console or another system";
    return `SES account-level list: ${reason}, last updated ${lastUpdated.replace(".000Z", "Z")} (${by})`;
}

/**
 * Whether the stack mirrors, and its claim on the address. With --env the stack file is unknown:
 * the claims table exists exactly when the stack mirrors.
 */
async function mirrorOf(ctx: SuppressionContext, email: string): Promise<{ mirror: boolean | undefined; claim?: string; why?: string }> {
    const claimsTable = ctx.target.claimsTableName;
    if (ctx.target.mirrorToSes === false) return { mirror: false };
    if (claimsTable === undefined) return { mirror: ctx.target.mirrorToSes, why: "the outputs name no claims table" };
    try {
        const claim = await awsCall("dynamodb:GetItem", claimsTable, () => ctx.lib.claims.claimStore(claimsTable, ctx.dynamo).claim(email));
        return { mirror: true, claim };
    } catch (error) {
        if ((error as { name?: string }).name === "ResourceNotFoundException") {
            return ctx.target.mirrorToSes === undefined ? { mirror: false } : { mirror: true, why: `no claims table ${claimsTable}` };
        }
        if (error instanceof CliError) return { mirror: ctx.target.mirrorToSes, why: error.message };
        throw error;
    }
}

const sesRemoveHint = (ctx: SuppressionContext, email: string) =>
    `aws sesv2 delete-suppressed-destination --email-address ${email}${ctx.target.region ? ` --region ${ctx.target.region}` : ""}`;

/**
 * What happens to SES's entry once the table has no live entry left for the address: the mirror's own
 * rule (functions/suppression-mirror/logic.ts, mirrorRecord) deletes only an entry whose LastUpdateTime
 * is still this stack's claim and that SES did not add itself.
 */
async function sesAfterRemoval(ctx: SuppressionContext, email: string, kept: SuppressionEntry[], ses: SesState): Promise<{ updated: boolean | null; explanation: string }> {
    if (ses.state === "unknown") return { updated: null, explanation: `SES's list: not checked (${ses.why}).` };
    if (ses.state === "absent") return { updated: false, explanation: "SES's account-level list does not have it: nothing to update there." };
    if (kept.length > 0) return { updated: false, explanation: `SES's list keeps it: the table still suppresses it (${kept.map((e) => e.reason).join(", ")}).` };
    const hint = `To remove it there too: ${sesRemoveHint(ctx, email)}`;
    const { mirror, claim, why } = await mirrorOf(ctx, email);
    if (mirror === false) return { updated: false, explanation: `SES's list is not updated: this stack does not mirror (suppression.mirrorToSes is off), so SES keeps suppressing it. ${hint}` };
    if (claim === undefined && why !== undefined) return { updated: null, explanation: `SES's list: the mirror removes it only if this stack put it there, and its claim could not be read (${why}).` };
    if (ses.entry.messageId !== undefined || ses.entry.feedbackId !== undefined) {
        return { updated: false, explanation: `SES's list keeps it: SES added it itself after a real ${ses.entry.reason === "COMPLAINT" ? "complaint" : "bounce"}, and the mirror never removes those. ${hint}` };
    }
    if (claim === ses.entry.lastUpdated) return { updated: true, explanation: "The mirror removes it from SES's list too (this stack put it there and nobody has written it since)." };
    return {
        updated: false,
        explanation: `SES's list keeps it: ${claim === undefined ? "this stack did not put it there (imported, the console, or another system)" : "someone wrote it after this stack put it"}, and the mirror removes only its own entries. ${hint}`,
    };
}

function entryLine(entry: SuppressionEntry, now: number): string {
    const until = entry.expiresAt === undefined ? "permanent" : `until ${iso(entry.expiresAt)} (transient, ${left(entry.expiresAt - now)})`;
    const kind = [entry.bounceType, entry.bounceSubType].filter(Boolean).join("/");
    return `  ${entry.reason.padEnd(9)}  since ${iso(entry.addedAt)}, ${until}${kind ? `  ${kind}` : ""}${entry.details ? `  ${entry.details}` : ""}`;
}

interface ListOptions { reason?: SuppressionReason; since?: When }

async function list(ctx: SuppressionContext, options: ListOptions): Promise<number> {
    const since = options.since === undefined ? 0 : Math.max(0, "at" in options.since ? options.since.at : ctx.now - options.since.seconds);
    // One reason-index Query per reason (never a Scan); TTL deletes expired entries only within days, so they are left out here.
    const lists = await Promise.all((options.reason ? [options.reason] : REASONS).map((reason) => db(ctx, "dynamodb:Query", () => ctx.store.list(reason, since))));
    const entries = lists.flat().filter(live(ctx.now)).sort((a, b) => a.addedAt - b.addedAt || a.email.localeCompare(b.email) || a.reason.localeCompare(b.reason));
    if (ctx.json) {
        ctx.print(JSON.stringify(entries.map(entryJson), null, 2));
        return 0;
    }
    const filters = [options.reason ? `reason ${options.reason}` : "", since > 0 ? `added since ${iso(since)}` : ""].filter(Boolean).join(", ");
    if (entries.length === 0) {
        ctx.print(`No suppressions in ${ctx.target.tableName}${filters ? ` (${filters})` : ""}.`);
        return 0;
    }
    const clip = (text: string) => (text.length > 60 ? `${text.slice(0, 59)}…` : text);
    table([
        ["EMAIL", "REASON", "ADDED", "EXPIRES", "TYPE", "DETAILS"],
        ...entries.map((e) => [e.email, e.reason, iso(e.addedAt), e.expiresAt === undefined ? "permanent" : iso(e.expiresAt),
            [e.bounceType, e.bounceSubType].filter(Boolean).join("/") || "-", clip(e.details ?? "")]),
    ]).forEach(ctx.print);
    ctx.print(`${entries.length} suppression${entries.length === 1 ? "" : "s"} in ${ctx.target.tableName}${filters ? ` (${filters})` : ""}.`);
    return 0;
}

async function check(ctx: SuppressionContext, email: string, options: { ses: boolean }): Promise<number> {
    const lookup = address(ctx, email, false);
    const entries = (await db(ctx, "dynamodb:Query", () => ctx.store.entries(lookup))).sort((a, b) => a.reason.localeCompare(b.reason));
    const ses = options.ses ? await sesLookup(ctx, lookup) : undefined;
    const suppressed = entries.length > 0;
    if (ctx.json) {
        ctx.print(JSON.stringify({ email: lookup, suppressed, entries: entries.map(entryJson), ses: sesJson(ses) }, null, 2));
    } else {
        ctx.print(`${lookup}: ${suppressed ? "suppressed" : "not suppressed"} in ${ctx.target.tableName}`);
        entries.forEach((entry) => ctx.print(entryLine(entry, ctx.now)));
        if (ses) ctx.print(sesLine(ses));
    }
    // 0 only when nothing suppresses the address (so `check && send` works); an unanswered SES lookup is no all-clear.
    return suppressed || (ses !== undefined && ses.state !== "absent") ? 1 : 0;
}

interface AddOptions { reason: SuppressionReason; details?: string; expires?: When; dryRun?: boolean }

async function add(ctx: SuppressionContext, email: string, options: AddOptions): Promise<number> {
    const stored = address(ctx, email, true);
    const expiresAt = options.expires === undefined ? undefined : "at" in options.expires ? options.expires.at : ctx.now + options.expires.seconds;
    if (expiresAt !== undefined && expiresAt <= ctx.now) throw new UsageError(`--expires ${iso(expiresAt)} is not in the future.`);
    const input = { email: stored, reason: options.reason, ...(options.details ? { details: options.details } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) };
    const sesNote = ctx.target.mirrorToSes === true ? "The mirror adds it to SES's account-level list too (unless SES lists it already)."
        : ctx.target.mirrorToSes === false ? "SES's account-level list is not updated: this stack does not mirror (suppression.mirrorToSes is off)."
            : "SES's account-level list is updated only if the stack mirrors (suppression.mirrorToSes).";
    if (options.dryRun) {
        ctx.print(ctx.json ? JSON.stringify({ email: stored, reason: options.reason, outcome: null, dryRun: true, expiresAt: expiresAt === undefined ? null : iso(expiresAt) })
            : `Would add ${stored} (${options.reason}, ${expiresAt === undefined ? "permanent" : `until ${iso(expiresAt)}`}) to ${ctx.target.tableName}. ${sesNote}`);
        return 0;
    }
    const outcome = await db(ctx, "dynamodb:UpdateItem", () => ctx.store.suppress(input));
    if (ctx.json) {
        ctx.print(JSON.stringify({ email: stored, reason: options.reason, outcome, dryRun: false, expiresAt: expiresAt === undefined ? null : iso(expiresAt) }));
        return 0;
    }
    const what = expiresAt === undefined ? "permanently" : `until ${iso(expiresAt)}`;
    ctx.print({
        created: `Added ${stored} (${options.reason}) ${what} to ${ctx.target.tableName}. ${sesNote}`,
        updated: `${stored} was already suppressed for ${options.reason}: now ${what}, details refreshed, first added date kept.`,
        unchanged: `${stored} is already suppressed for ${options.reason} permanently or until later: nothing changed.`,
    }[outcome]);
    return 0;
}

interface RemoveOptions { reason?: SuppressionReason; yes?: boolean; dryRun?: boolean }

async function remove(ctx: SuppressionContext, email: string, options: RemoveOptions): Promise<number> {
    const lookup = address(ctx, email, false);
    const all = await db(ctx, "dynamodb:Query", () => ctx.store.entries(lookup));
    const going = all.filter((e) => options.reason === undefined || e.reason === options.reason);
    const kept = all.filter((e) => !going.includes(e));
    const ses = await sesLookup(ctx, lookup);
    const report = (removed: boolean, effect: { updated: boolean | null; explanation: string } | null) => JSON.stringify({
        email: lookup, removed: removed ? going.map((e) => e.reason) : [], kept: kept.map((e) => e.reason), dryRun: options.dryRun === true,
        ses: { ...sesJson(ses)!, updated: effect?.updated ?? null, explanation: effect?.explanation ?? null },
    }, null, 2);
    if (going.length === 0) {
        if (ctx.json) ctx.print(report(false, null));
        else {
            ctx.print(`${lookup} is not suppressed${options.reason ? ` for ${options.reason}` : ""} in ${ctx.target.tableName}: nothing to remove.`);
            ctx.print(sesLine(ses));
        }
        return 1;
    }
    const effect = await sesAfterRemoval(ctx, lookup, kept, ses);
    if (!ctx.json) {
        ctx.print(`${options.dryRun ? "Would remove" : "Removing"} ${lookup} from ${ctx.target.tableName}:`);
        going.forEach((entry) => ctx.print(entryLine(entry, ctx.now)));
        ctx.print(effect.explanation);
    }
    if (options.dryRun) {
        if (ctx.json) ctx.print(report(false, effect));
        return 0;
    }
    if (!options.yes && !(await ctx.deps.confirm(`Remove ${lookup} (${going.map((e) => e.reason).join(", ")}) from the suppression list ${ctx.target.tableName}? Mail to it is sent again.`))) {
        ctx.print(ctx.json ? report(false, effect) : "Not removed.");
        return 1;
    }
    for (const entry of going) await db(ctx, "dynamodb:DeleteItem", () => ctx.store.remove(entry.email, entry.reason));
    ctx.print(ctx.json ? report(true, effect) : `Removed ${lookup} (${going.map((e) => e.reason).join(", ")}).`);
    return 0;
}

/** `stats --json`: the weekly review's figures. */
export interface SuppressionStats {
    days: number;
    from: string;
    to: string;
    total: number;
    byReason: Record<SuppressionReason, number>;
    transient: number;
    permanent: number;
    perDay: ({ date: string; total: number } & Record<SuppressionReason, number>)[];
    topDomains: { domain: string; count: number }[];
}

/** Figures over the entries added in [from, now]: per UTC day and reason, transient vs permanent, top domains. */
export function suppressionStats(entries: SuppressionEntry[], from: number, now: number, days: number, top: number): SuppressionStats {
    const zero = () => ({ bounce: 0, complaint: 0, manual: 0 });
    const perDay = new Map<string, Record<SuppressionReason, number>>();
    for (let day = dayOf(from); day <= dayOf(now); day = dayOf(Date.parse(`${day}T00:00:00Z`) / 1000 + DAY)) perDay.set(day, zero());
    const byReason = zero();
    const domains = new Map<string, number>();
    let transient = 0;
    for (const entry of entries) {
        perDay.get(dayOf(entry.addedAt))![entry.reason] += 1;
        byReason[entry.reason] += 1;
        if (entry.expiresAt !== undefined) transient += 1;
        domains.set(domainOf(entry.email), (domains.get(domainOf(entry.email)) ?? 0) + 1);
    }
    return {
        days, from: iso(from), to: iso(now), total: entries.length, byReason, transient, permanent: entries.length - transient,
        perDay: [...perDay].map(([date, counts]) => ({ date, ...counts, total: counts.bounce + counts.complaint + counts.manual })),
        topDomains: [...domains].map(([domain, count]) => ({ domain, count })).sort((a, b) => b.count - a.count || a.domain.localeCompare(b.domain)).slice(0, top),
    };
}

async function stats(ctx: SuppressionContext, options: { days: number; top: number }): Promise<number> {
    const from = ctx.now - options.days * DAY;
    // reason-index Queries (reason = :r AND added_at >= :from), no Scan. Expired entries count: they were additions.
    const entries = (await Promise.all(REASONS.map((reason) => db(ctx, "dynamodb:Query", () => ctx.store.list(reason, from))))).flat().filter((e) => e.addedAt <= ctx.now);
    const figures = suppressionStats(entries, from, ctx.now, options.days, options.top);
    if (ctx.json) {
        ctx.print(JSON.stringify(figures, null, 2));
        return 0;
    }
    const { byReason: r } = figures;
    ctx.print(`Suppressions added in the last ${options.days} days (since ${figures.from}) in ${ctx.target.tableName}: ${figures.total}`);
    ctx.print(`  bounce ${r.bounce}, complaint ${r.complaint}, manual ${r.manual}; permanent ${figures.permanent}, transient ${figures.transient}`);
    ctx.print("");
    table([["DATE", "BOUNCE", "COMPLAINT", "MANUAL", "TOTAL"], ...figures.perDay.map((d) => [d.date, String(d.bounce), String(d.complaint), String(d.manual), String(d.total)])]).forEach(ctx.print);
    ctx.print("");
    ctx.print(figures.topDomains.length === 0 ? "Top domains: none" : "Top domains:");
    table(figures.topDomains.map((d) => [`  ${d.domain}`, String(d.count)])).forEach(ctx.print);
    ctx.print("(The table keeps no history: removed entries, and transient ones TTL deleted after they expired, are not counted.)");
    return 0;
}

async function importFromSes(ctx: SuppressionContext, options: { dryRun?: boolean }): Promise<number> {
    const counts = { listed: 0, imported: 0, skipped: 0, pages: 0 };
    const invalid: string[] = [];
    let token: string | undefined;
    do {
        // ListSuppressedDestinations pages with NextToken until the response has none (SESv2 API Reference).
        const page = await awsCall("ses:ListSuppressedDestinations", "SES's account-level suppression list", () =>
            ctx.ses.send(new ctx.lib.sesv2.ListSuppressedDestinationsCommand({ NextToken: token })));
        counts.pages += 1;
        const summaries = page.SuppressedDestinationSummaries ?? [];
        counts.listed += summaries.length;
        for (let i = 0; i < summaries.length; i += IMPORT_CONCURRENCY) {
            await Promise.all(summaries.slice(i, i + IMPORT_CONCURRENCY).map(async (summary) => {
                let email: string;
                try {
                    email = ctx.lib.email.normaliseEmail(summary.EmailAddress);
                } catch {
                    invalid.push(String(summary.EmailAddress));
                    return;
                }
                const reason: SuppressionReason = summary.Reason === "COMPLAINT" ? "complaint" : "bounce";
                const updated = summary.LastUpdateTime ? Math.floor(new Date(summary.LastUpdateTime).getTime() / 1000) : NaN;
                const since = updated > 0 ? updated : ctx.now;
                const created = options.dryRun
                    ? !(await db(ctx, "dynamodb:Query", () => ctx.store.entries(email))).some((e) => e.reason === reason)
                    // Create-only: an entry the table has (the worker's, with its details and expiry) is never overwritten.
                    : (await db(ctx, "dynamodb:UpdateItem", () => ctx.store.suppress(
                        { email, reason, details: `Imported from the SES account-level suppression list (${summary.Reason})` },
                        { ifAbsent: true, addedAt: since },
                    ))) === "created";
                counts[created ? "imported" : "skipped"] += 1;
            }));
        }
        token = page.NextToken;
    } while (token);
    if (ctx.json) {
        ctx.print(JSON.stringify({ ...counts, invalid, dryRun: options.dryRun === true }, null, 2));
    } else {
        ctx.print(`${options.dryRun ? "Would import" : "Imported"} ${counts.imported} of ${counts.listed} addresses on SES's account-level suppression list (${counts.pages} page${counts.pages === 1 ? "" : "s"}) into ${ctx.target.tableName}; ${counts.skipped} skipped (already in the table).`);
        if (invalid.length > 0) ctx.print(`${invalid.length} not imported (not a plain address the table accepts): ${invalid.join(", ")}`);
        if (ctx.target.mirrorToSes !== false && counts.imported > 0) {
            ctx.print("The mirror leaves these in SES's list (this stack did not put them there): removing one here later does not remove it from SES.");
        }
    }
    return invalid.length > 0 ? 1 : 0;
}

export function suppressionCommands(root: Command, deps: CliDeps, result: Result): void {
    const print = (line: string) => deps.stdout(`${line}\n`);
    const suppression = root.command("suppression")
        .description("The suppression list: SuppressionStore's table and SES's account-level list (exit codes: 0 ok, 1 suppressed, declined or a problem found, 2 usage or input error)")
        .exitOverride(usageExit);
    const target = (command: Command, example: string) => command
        .option("--stack <name>", "Pulumi stack: reads Pulumi.<stack>.yaml (suppression.tableName, suppression.mirrorToSes, region)")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)")
        .option("--env <env>", "environment: SuppressionStore's default table (ses-email-suppression-list) and the mirror's claims table of <env>")
        .option("--name-prefix <prefix>", "name prefix with --env (default: ses-mail)")
        .option("--table <name>", "with --env: the table name the program gave SuppressionStore")
        .option("--outputs <file>", "the stack's outputs (pulumi stack output --json > file): suppressionTableName")
        .option("--region <region>", "AWS region (default: aws:region of the stack, else AWS_REGION)")
        .option("--json", "machine-readable output (field names: see docs/OPERATIONS.md)", false)
        .addHelpText("after", `\nExample:\n  $ ${example}\n`)
        .exitOverride(usageExit);
    const reason = (description: string) => new Option("--reason <reason>", description).choices(REASONS);
    // Commander calls an action with the arguments, the options, then the command.
    const run = <A extends unknown[]>(action: (ctx: SuppressionContext, ...args: A) => Promise<number>) => async (...args: unknown[]) => {
        const command = args[args.length - 1] as Command;
        const options = command.opts() as SuppressionTargetOptions & { json: boolean };
        const lib = await load();
        const resolved = lib.target.suppressionTarget(options, deps.cwd);
        const dynamo = new lib.ddb.DynamoDBClient({ region: resolved.region });
        const ses = new lib.sesv2.SESv2Client({ region: resolved.region });
        const now = Math.floor(deps.now().getTime() / 1000);
        try {
            // Strongly consistent base-table reads: an entry added a moment ago is seen by check and remove.
            const store = new lib.store.SuppressionClient({ tableName: resolved.tableName, client: dynamo, now: () => now, consistentRead: true });
            const ctx: SuppressionContext = { lib, target: resolved, dynamo, ses, store, json: options.json, now, print, deps };
            if (!options.json) resolved.notes.forEach(print);
            result.exitCode = await action(ctx, ...(args.slice(0, -1) as A));
        } finally {
            dynamo.destroy();
            ses.destroy();
        }
    };

    target(suppression.command("list"), "ses-mail suppression list --reason complaint --since 7d --stack prod")
        .description("Live suppressions, oldest first: email, reason, added, expiry, bounce type, details (reason-index queries, no scan)")
        .addOption(reason("only this reason"))
        .addOption(new Option("--since <when>", "added since: a duration back (30m, 12h, 7d, 2w) or a date (2026-11-01)").argParser(whenOf))
        .action(run((ctx, options: ListOptions) => list(ctx, options)));
    target(suppression.command("check").argument("<email>"), "ses-mail suppression check user@example.com --stack prod")
        .description("Is the address suppressed, why, since and (transient entries) until when, and does SES's account-level list have it (exit 1 when suppressed anywhere)")
        .option("--no-ses", "skip SES's account-level list (ses:GetSuppressedDestination)")
        .action(run((ctx, email: string, options: { ses: boolean }) => check(ctx, email, options)));
    target(suppression.command("add").argument("<email>"), "ses-mail suppression add user@example.com --reason manual --details \"asked us to stop\" --stack prod")
        .description("Suppress an address (as the feedback worker writes it: idempotent, keeps the first added date; a transient entry never shortens a permanent one)")
        .addOption(reason("why (manual for an operator's decision)").makeOptionMandatory())
        .option("--details <text>", "a note kept with the entry")
        .addOption(new Option("--expires <when>", "transient: expires after a duration (7d) or at a date; default permanent").argParser(whenOf))
        .option("--dry-run", "show what would be written, write nothing")
        .action(run((ctx, email: string, options: AddOptions) => add(ctx, email, options)));
    target(suppression.command("remove").argument("<email>"), "ses-mail suppression remove user@example.com --stack prod")
        .description("Delete an address's entries (shows them and asks first) and say whether SES's account-level list is updated too")
        .addOption(reason("only the entry with this reason"))
        .option("--yes", "do not ask")
        .option("--dry-run", "show what would be removed")
        .action(run((ctx, email: string, options: RemoveOptions) => remove(ctx, email, options)));
    target(suppression.command("stats"), "ses-mail suppression stats --days 7 --stack prod")
        .description("The weekly review: additions per day and reason, transient vs permanent, top domains (reason-index queries)")
        .addOption(new Option("--days <n>", "how many days back").default(30).argParser(integer(1, 3660)))
        .addOption(new Option("--top <n>", "how many domains").default(10).argParser(integer(1, 1000)))
        .action(run((ctx, options: { days: number; top: number }) => stats(ctx, options)));
    target(suppression.command("import-from-ses"), "ses-mail suppression import-from-ses --dry-run --stack prod")
        .description("Copy SES's account-level suppression list into the table (first deployment): create-only writes, existing entries are never overwritten")
        .option("--dry-run", "count what would be imported and skipped, write nothing")
        .action(run((ctx, options: { dryRun?: boolean }) => importFromSes(ctx, options)));
}
