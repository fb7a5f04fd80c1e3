// `ses-mail smtp …`: SMTP users of SmtpCredentials, by their SMTP_USER#<user>/CREDENTIALS#v1 records
// (docs/SENDING.md's "SMTP users"). The CLI only writes what an operator would write by hand; the
// credential manager does everything in IAM, and the CLI waits for and reports its outcome.
import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Command, InvalidArgumentError, Option } from "commander";
import { awsCall } from "./aws";
import { CliError, collect, UsageError, usageExit } from "./errors";
import type { CliDeps } from "./main";
import type { SmtpTarget, SmtpTargetOptions } from "./target";

/** The modules behind the commands load when one runs, so `ses-mail --help` starts fast (as in main.ts). */
const load = async () => {
    const [ddb, kms, util, logic, target] = await Promise.all([
        import("@aws-sdk/client-dynamodb"), import("@aws-sdk/client-kms"), import("@aws-sdk/util-dynamodb"),
        import("../functions/smtp-credential-manager/logic"), import("./target"),
    ]);
    return { ddb, kms, util, logic, target };
};
type Lib = Awaited<ReturnType<typeof load>>;

type Item = Record<string, unknown>;
type Result = { exitCode: number };

interface SmtpContext {
    lib: Lib;
    target: SmtpTarget;
    client: DynamoDBClient;
    json: boolean;
    print(line: string): void;
    deps: CliDeps;
}

const positive = (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("a positive number.");
    return n;
};
const keyOf = (ctx: SmtpContext, user: string) => ctx.lib.util.marshall({ PK: `${ctx.lib.logic.SMTP_USER_PREFIX}${user}`, SK: ctx.lib.logic.CREDENTIALS_SORT_KEY });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A DynamoDB call on the target table: a missing table says which name was tried. */
async function db<T>(ctx: SmtpContext, action: string, call: () => Promise<T>): Promise<T> {
    try {
        return await awsCall(action, ctx.target.tableName, call);
    } catch (error) {
        if ((error as { name?: string }).name !== "ResourceNotFoundException") throw error;
        const region = ctx.target.region ?? (await ctx.client.config.region());
        throw new CliError(`No table ${ctx.target.tableName} in ${region}: check --stack / --env (--own-table when the stack receives no mail) / --outputs and --region.`);
    }
}

/** The manager's own username rule: the CLI refuses what the manager would mark failed. */
function checkUsername(ctx: SmtpContext, user: string): void {
    try {
        ctx.lib.logic.validateUsername(user);
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
}

async function readRecord(ctx: SmtpContext, user: string): Promise<Item | undefined> {
    const { Item: item } = await db(ctx, "dynamodb:GetItem", () => ctx.client.send(new ctx.lib.ddb.GetItemCommand({ TableName: ctx.target.tableName, Key: keyOf(ctx, user), ConsistentRead: true })));
    return item ? ctx.lib.util.unmarshall(item) : undefined;
}

async function mustRead(ctx: SmtpContext, user: string): Promise<Item> {
    checkUsername(ctx, user);
    const item = await readRecord(ctx, user);
    if (!item) throw new CliError(`No SMTP user "${user}" in ${ctx.target.tableName}.`);
    return item;
}

/** What an operator wants to see of a record: the manager's parse plus the fields it leaves for people. */
function summary(ctx: SmtpContext, item: Item) {
    const record = ctx.lib.logic.parseSmtpRecord(item);
    const text = (key: string) => (typeof item[key] === "string" ? (item[key] as string) : undefined);
    return {
        username: record.username,
        status: record.status,
        allowedSenders: record.allowedSenders,
        allowDomainWildcard: record.allowDomainWildcard,
        description: text("description"),
        createdAt: text("created_at"),
        // The manager makes a key at provisioning and on each rotation; it records no key date of its own.
        keySince: record.rotatedAt ?? text("created_at"),
        smtpUsername: record.smtpUsername,
        iamUserName: record.iamUserName,
        iamUserArn: record.iamUserArn,
        rotateRequestedAt: record.rotateRequestedAt,
        error: text("error"),
        /** Set when the manager disabled the user because a sender it may send as was restricted. */
        disabledReason: text("disabled_reason"),
        lastError: record.lastError,
        outOfSyncSince: record.outOfSyncSince,
    };
}

function age(since: string | undefined, now: Date): string {
    const ms = since ? now.getTime() - Date.parse(since) : NaN;
    if (!Number.isFinite(ms)) return "unknown";
    const days = Math.floor(ms / 86_400_000);
    return days >= 1 ? `${days} days` : `${Math.floor(ms / 3_600_000)} hours`;
}

async function list(ctx: SmtpContext): Promise<number> {
    const items: Item[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
        const page = await db(ctx, "dynamodb:Scan", () => ctx.client.send(new ctx.lib.ddb.ScanCommand({
            TableName: ctx.target.tableName, ExclusiveStartKey: start,
            FilterExpression: "begins_with(PK, :p) AND SK = :s", ExpressionAttributeValues: ctx.lib.util.marshall({ ":p": ctx.lib.logic.SMTP_USER_PREFIX, ":s": ctx.lib.logic.CREDENTIALS_SORT_KEY }),
        })));
        items.push(...(page.Items ?? []).map((item) => ctx.lib.util.unmarshall(item)));
        start = page.LastEvaluatedKey;
    } while (start);
    const users = items.map((item) => summary(ctx, item)).sort((a, b) => a.username.localeCompare(b.username));
    if (ctx.json) ctx.print(JSON.stringify(users, null, 2));
    else if (users.length === 0) ctx.print(`No SMTP users in ${ctx.target.tableName}.`);
    else for (const u of users) ctx.print(`${u.username}\t${u.status}${u.lastError ? " (out of sync)" : ""}\t${u.allowedSenders.join(",")}\t${u.description ?? ""}`);
    return 0;
}

async function show(ctx: SmtpContext, user: string): Promise<number> {
    const u = summary(ctx, await mustRead(ctx, user));
    if (ctx.json) {
        ctx.print(JSON.stringify(u, null, 2));
    } else {
        ctx.print(`${u.username}: ${u.status}`);
        ctx.print(`  senders: ${u.allowedSenders.join(", ") || "(none: cannot send)"}${u.allowDomainWildcard ? ` (${ctx.lib.logic.DOMAIN_WILDCARD_FIELD})` : ""}`);
        if (u.description) ctx.print(`  description: ${u.description}`);
        ctx.print(`  iam user: ${u.iamUserName ?? "-"}${u.iamUserArn ? ` (${u.iamUserArn})` : ""}`);
        ctx.print(`  smtp username: ${u.smtpUsername ?? "-"}; key age: ${u.smtpUsername ? `${age(u.keySince, ctx.deps.now())} (since ${u.keySince})` : "-"}`);
        if (u.rotateRequestedAt) ctx.print(`  rotation requested: ${u.rotateRequestedAt}`);
        if (u.error) ctx.print(`  error: ${u.error}`);
        if (u.status === "disabled" && u.disabledReason) ctx.print(`  disabled: ${u.disabledReason}`);
        if (u.lastError) ctx.print(`  last error: ${u.lastError}${u.outOfSyncSince ? ` (out of sync since ${u.outOfSyncSince})` : ""}`);
    }
    return u.status === "failed" || u.lastError ? 1 : 0;
}

interface CreateOptions { sender?: string[]; allowDomainWildcard?: boolean; description?: string; wait: boolean; timeout: number; pollMs: number }

async function create(ctx: SmtpContext, user: string, options: CreateOptions): Promise<number> {
    checkUsername(ctx, user);
    const allowDomainWildcard = options.allowDomainWildcard === true;
    // The manager's own sender rule. Without the stack file the stack's domains are unknown: only
    // the shape of each entry (plain address, no wildcard unless opted in) is checked then.
    const senders = options.sender ?? [];
    const domains = ctx.target.senderDomains ?? senders.map((s) => s.trim().toLowerCase().split("@").pop()!);
    const checked = ctx.lib.logic.senderValues({ allowedSenders: senders, allowDomainWildcard }, domains.map((d) => `arn:aws:ses:any:000000000000:identity/${d}`));
    if (checked.problem) throw new UsageError(checked.problem);
    if (checked.values.length === 0) throw new UsageError("Give at least one --sender <address> (a user without senders can send nothing).");
    if (!ctx.target.senderDomains && !ctx.json) ctx.print("(Stack domains unknown without --stack: the manager refuses senders outside its SES identities.)");
    const item = {
        PK: `${ctx.lib.logic.SMTP_USER_PREFIX}${user}`, SK: ctx.lib.logic.CREDENTIALS_SORT_KEY, entity_type: "SMTP_CREDENTIALS",
        allowed_senders: checked.values, status: "pending", created_at: ctx.deps.now().toISOString(),
        ...(options.description ? { description: options.description } : {}),
        ...(allowDomainWildcard ? { [ctx.lib.logic.DOMAIN_WILDCARD_FIELD]: true } : {}),
    };
    try {
        await db(ctx, "dynamodb:PutItem", () => ctx.client.send(new ctx.lib.ddb.PutItemCommand({
            TableName: ctx.target.tableName, Item: ctx.lib.util.marshall(item), ConditionExpression: "attribute_not_exists(PK)",
        })));
    } catch (error) {
        if (error instanceof ctx.lib.ddb.ConditionalCheckFailedException) throw new UsageError(`SMTP user "${user}" already exists: see ses-mail smtp show ${user}.`);
        throw error;
    }
    if (!options.wait) {
        ctx.print(ctx.json ? JSON.stringify({ username: user, status: "pending" }) : `Created ${user} (pending): the manager provisions it; see ses-mail smtp show ${user}.`);
        return 0;
    }
    const deadline = Date.now() + options.timeout * 1000;
    for (;;) {
        const current = await readRecord(ctx, user);
        const status = current ? ctx.lib.logic.parseSmtpRecord(current).status : "deleted";
        if (status !== "pending" || Date.now() >= deadline) {
            const u = current ? summary(ctx, current) : undefined;
            if (ctx.json) ctx.print(JSON.stringify(u ?? { username: user, status }, null, 2));
            else if (status === "active") ctx.print(`${user} is active (SMTP username ${u?.smtpUsername}, IAM user ${u?.iamUserName}): ses-mail smtp credentials ${user} prints the password.`);
            else if (status === "pending") ctx.print(`${user} is still pending after ${options.timeout} s: is the manager deployed? See ses-mail smtp show ${user}.`);
            else ctx.print(`${user} is ${status}${u?.error ? `: ${u.error}` : ""}`);
            return status === "active" ? 0 : 1;
        }
        await sleep(options.pollMs);
    }
}

async function credentials(ctx: SmtpContext, user: string): Promise<number> {
    const item = await mustRead(ctx, user);
    const encrypted = item.encrypted_credentials;
    if (typeof encrypted !== "string") throw new CliError(`${user} has no credentials yet (status ${ctx.lib.logic.parseSmtpRecord(item).status}): see ses-mail smtp show ${user}.`);
    const region = ctx.target.region ?? (await ctx.client.config.region());
    const kms = new ctx.lib.kms.KMSClient({ region });
    let plaintext: Uint8Array | undefined;
    try {
        // The manager encrypts with the context username=<user>; KMS refuses to decrypt without exactly that context.
        ({ Plaintext: plaintext } = await awsCall("kms:Decrypt", `the credentials of ${user}`, () => kms.send(new ctx.lib.kms.DecryptCommand({
            CiphertextBlob: Buffer.from(encrypted, "base64"), EncryptionContext: { username: user },
        }))));
    } finally {
        kms.destroy();
    }
    const secret = JSON.parse(Buffer.from(plaintext!).toString("utf8")) as { access_key_id: string; smtp_password: string };
    const out = { host: `email-smtp.${region}.amazonaws.com`, ports: [587, 465], username: secret.access_key_id, password: secret.smtp_password };
    ctx.deps.stderr(`Warning: the SMTP password of ${user} follows: a secret; do not paste it into tickets or logs.\n`);
    if (ctx.json) ctx.print(JSON.stringify(out, null, 2));
    else {
        ctx.print(`host: ${out.host}`);
        ctx.print("ports: 587 (STARTTLS), 465 (TLS wrapper)");
        ctx.print(`username: ${out.username}`);
        ctx.print(`password: ${out.password}`);
    }
    return 0;
}

/** One conditional update of an existing record; the condition's failure is explained by `refused`. */
async function update(ctx: SmtpContext, user: string, set: Record<string, unknown>, condition: string, values: Record<string, unknown>, refused: (item: Item) => string, remove: string[] = []): Promise<void> {
    checkUsername(ctx, user);
    const names = Object.fromEntries(Object.keys(set).map((key, i) => [`#f${i}`, key]));
    const sets = Object.fromEntries(Object.entries(set).map(([, value], i) => [`:f${i}`, value]));
    const removed = Object.fromEntries(remove.map((key, i) => [`#r${i}`, key]));
    try {
        await db(ctx, "dynamodb:UpdateItem", () => ctx.client.send(new ctx.lib.ddb.UpdateItemCommand({
            TableName: ctx.target.tableName, Key: keyOf(ctx, user),
            UpdateExpression: `SET ${Object.keys(names).map((n, i) => `${n} = :f${i}`).join(", ")}${remove.length ? ` REMOVE ${Object.keys(removed).join(", ")}` : ""}`,
            ConditionExpression: `attribute_exists(PK) AND ${condition}`,
            ExpressionAttributeNames: { ...names, ...removed, "#status": "status" }, ExpressionAttributeValues: ctx.lib.util.marshall({ ...sets, ...values }),
        })));
    } catch (error) {
        if (error instanceof ctx.lib.ddb.ConditionalCheckFailedException) {
            const item = await readRecord(ctx, user);
            throw new CliError(item ? refused(item) : `No SMTP user "${user}" in ${ctx.target.tableName}.`);
        }
        throw error;
    }
}

async function setStatus(ctx: SmtpContext, user: string, status: "active" | "disabled"): Promise<number> {
    // Only between active and disabled: a pending or failed user is the manager's to provision (set pending to start over).
    await update(ctx, user, { status, updated_at: ctx.deps.now().toISOString() }, "#status IN (:active, :disabled)", { ":active": "active", ":disabled": "disabled" },
        (item) => `${user} is ${ctx.lib.logic.parseSmtpRecord(item).status}: only active and disabled users are ${status === "active" ? "enabled" : "disabled"}.`,
        // Enabling settles a restriction's disable (the sweep disables it again while its sender stays restricted).
        status === "active" ? ["disabled_reason", "disabled_by_restriction", "disabled_at"] : []);
    ctx.print(ctx.json ? JSON.stringify({ username: user, status }) : `${user} is now ${status}: the manager sets its keys ${status === "active" ? "Active" : "Inactive"}.`);
    return 0;
}

async function rotate(ctx: SmtpContext, user: string): Promise<number> {
    const at = ctx.deps.now().toISOString();
    await update(ctx, user, { rotate_requested_at: at }, "#status IN (:active, :disabled)", { ":active": "active", ":disabled": "disabled" },
        (item) => `${user} is ${ctx.lib.logic.parseSmtpRecord(item).status}: only a provisioned user (active or disabled) has a key to rotate.`);
    ctx.print(ctx.json ? JSON.stringify({ username: user, rotateRequestedAt: at })
        : `Rotation of ${user} requested at ${at}: the old key stays Active for the overlap (rotationOverlapHours); ses-mail smtp credentials ${user} prints the new password once rotated_at is set.`);
    return 0;
}

async function remove(ctx: SmtpContext, user: string, yes: boolean): Promise<number> {
    const u = summary(ctx, await mustRead(ctx, user));
    if (!yes) {
        if (!ctx.json) ctx.print(`${u.username}: ${u.status}, senders ${u.allowedSenders.join(", ")}, IAM user ${u.iamUserName ?? "-"}`);
        if (!(await ctx.deps.confirm(`Delete SMTP user ${user}? The manager deletes its IAM user and keys: clients using it stop authenticating.`))) {
            ctx.print(ctx.json ? JSON.stringify({ username: user, deleted: false }) : "Not deleted.");
            return 1;
        }
    }
    await db(ctx, "dynamodb:DeleteItem", () => ctx.client.send(new ctx.lib.ddb.DeleteItemCommand({ TableName: ctx.target.tableName, Key: keyOf(ctx, user) })));
    ctx.print(ctx.json ? JSON.stringify({ username: user, deleted: true }) : `Deleted ${user}: the manager deletes its IAM user, keys and policy.`);
    return 0;
}

export function smtpCommands(root: Command, deps: CliDeps, result: Result): void {
    const print = (line: string) => deps.stdout(`${line}\n`);
    const smtp = root.command("smtp")
        .description("SMTP users of SmtpCredentials (exit codes: 0 ok, 1 failed, refused or not finished, 2 usage or input error)")
        .exitOverride(usageExit);
    const target = (command: Command, example: string) => command
        .option("--stack <name>", "Pulumi stack: reads Pulumi.<stack>.yaml (table, region, sending domains)")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)")
        .option("--env <env>", "environment: the table name from the components' naming (ses-mail-email-routing-<env>)")
        .option("--name-prefix <prefix>", "name prefix with --env (default: ses-mail)")
        .option("--own-table", "with --env: the stack receives no mail, so the records are in <prefix>-smtp-credentials-<env>")
        .option("--outputs <file>", "the stack's outputs (pulumi stack output --json > file): smtpCredentialsTableName")
        .option("--region <region>", "AWS region (default: aws:region of the stack, else AWS_REGION)")
        .option("--json", "machine-readable output", false)
        .addHelpText("after", `\nExample:\n  $ ${example}\n`)
        .exitOverride(usageExit);
    // Commander calls an action with the arguments, the options, then the command.
    const run = <A extends unknown[]>(action: (ctx: SmtpContext, ...args: A) => Promise<number>) => async (...args: unknown[]) => {
        const command = args[args.length - 1] as Command;
        const options = command.opts() as SmtpTargetOptions & { json: boolean };
        const lib = await load();
        const resolved = lib.target.smtpTarget(options, deps.cwd);
        const client = new lib.ddb.DynamoDBClient({ region: resolved.region });
        try {
            const ctx: SmtpContext = { lib, target: resolved, client, json: options.json, print, deps };
            if (!options.json) resolved.notes.forEach(print);
            result.exitCode = await action(ctx, ...(args.slice(0, -1) as A));
        } finally {
            client.destroy();
        }
    };

    target(smtp.command("list"), "ses-mail smtp list --stack prod")
        .description("Every SMTP user: name, status, senders, description")
        .action(run((ctx) => list(ctx)));
    target(smtp.command("show").argument("<user>"), "ses-mail smtp show app-sender --stack prod")
        .description("One user: status, senders, IAM user, SMTP username, key age, errors (exit 1 when failed or out of sync)")
        .action(run((ctx, user: string) => show(ctx, user)));
    target(smtp.command("create").argument("<user>"), "ses-mail smtp create app-sender --sender app@mail.example.com --sender alerts@mail.example.com --stack prod")
        .description("Write a pending SMTP user (refused if it exists) and wait for the manager to make it active or failed")
        .option("--sender <address>", "an address the user may send as (repeatable; *@<domain> needs --allow-domain-wildcard)", collect)
        .option("--allow-domain-wildcard", "allow *@<domain> senders (every address of a stack domain)")
        .option("--description <text>", "what the user is for")
        .option("--no-wait", "do not wait for the manager")
        .addOption(new Option("--timeout <seconds>", "how long to wait for the manager").default(120).argParser(positive))
        .addOption(new Option("--poll-ms <ms>").default(2000).argParser(positive).hideHelp())
        .action(run((ctx, user: string, options: CreateOptions) => create(ctx, user, options)));
    target(smtp.command("credentials").argument("<user>"), "ses-mail smtp credentials app-sender --stack prod --json")
        .description("Decrypt and print the SMTP host, ports, username and password (a secret: needs kms:Decrypt on the stack's key)")
        .action(run((ctx, user: string) => credentials(ctx, user)));
    for (const [name, status] of [["enable", "active"], ["disable", "disabled"]] as const) {
        target(smtp.command(name).argument("<user>"), `ses-mail smtp ${name} app-sender --stack prod`)
            .description(status === "active" ? "Set a disabled user active again (its key becomes Active)" : "Disable a user (every key Inactive: SMTP authentication stops)")
            .action(run((ctx, user: string) => setStatus(ctx, user, status)));
    }
    target(smtp.command("rotate").argument("<user>"), "ses-mail smtp rotate app-sender --stack prod")
        .description("Request a new key and password (the old key stays Active for the overlap)")
        .action(run((ctx, user: string) => rotate(ctx, user)));
    target(smtp.command("delete").argument("<user>"), "ses-mail smtp delete app-sender --stack prod --yes")
        .description("Delete a user's record (asks first); the manager deletes the IAM user and keys")
        .option("--yes", "do not ask")
        .action(run((ctx, user: string, options: { yes?: boolean }) => remove(ctx, user, options.yes === true)));
}
