// `ses-mail dlq list|peek|redrive`: the stack's dead-letter queues (components/dlq-catalog.ts, or
// the deadLetterQueues output), what is in them, and moving their messages back.
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { Message, SQSClient } from "@aws-sdk/client-sqs";
import { Command, InvalidArgumentError, Option } from "commander";
import { awsCall } from "./aws";
import { CliError, UsageError, usageExit } from "./errors";
import type { CliDeps } from "./main";
import type { TargetOptions } from "./rules-target";
import type { DlqRef, DlqTarget } from "./target";

/** The modules behind the commands load when one runs, so `ses-mail --help` starts fast. */
const load = async () => {
    const [sqs, cloudwatch, target, decode] = await Promise.all([
        import("@aws-sdk/client-sqs"), import("@aws-sdk/client-cloudwatch"), import("./target"), import("./dlq-decode"),
    ]);
    return { sqs, cloudwatch, target, decode };
};
type Lib = Awaited<ReturnType<typeof load>>;

interface DlqContext {
    lib: Lib;
    target: DlqTarget;
    sqs: SQSClient;
    cloudwatch: CloudWatchClient;
    json: boolean;
    print(line: string): void;
    deps: CliDeps;
    sleep(ms: number): Promise<void>;
}

/** SQS's ceiling for a message-move task's rate (SQS API Reference, "StartMessageMoveTask": MaxNumberOfMessagesPerSecond ≤ 500). */
export const MAX_MOVE_RATE = 500;
/** How long a peek holds the messages it received before releasing them (so one peek does not see a message twice). */
export const PEEK_HOLD_SECONDS = 30;
const TERMINAL = new Set(["COMPLETED", "CANCELLED", "FAILED"]);

const integer = (min: number, max: number, what: string) => (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${what} (${min}-${max}).`);
    return n;
};

const missing = (error: unknown) => ["QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"].includes((error as { name?: string }).name ?? "")
    || /NonExistentQueue|does not exist/i.test((error as { message?: string }).message ?? "");

/** The DLQ's URL (from the outputs, else by name); undefined when it does not exist. */
async function urlOf(ctx: DlqContext, queue: { name: string; url?: string }): Promise<string | undefined> {
    if (queue.url) return queue.url;
    try {
        return (await awsCall("sqs:GetQueueUrl", queue.name, () => ctx.sqs.send(new ctx.lib.sqs.GetQueueUrlCommand({ QueueName: queue.name })))).QueueUrl;
    } catch (error) {
        if (missing(error)) return undefined;
        throw error;
    }
}

async function attributes(ctx: DlqContext, url: string, names: string[]): Promise<Record<string, string>> {
    const { Attributes } = await awsCall("sqs:GetQueueAttributes", url, () => ctx.sqs.send(new ctx.lib.sqs.GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names as never })));
    return Attributes ?? {};
}

/** A DLQ by label, queue name or URL. */
function choose(ctx: DlqContext, queue: string): DlqRef {
    const ref = ctx.target.dlqs.find((d) => d.spec.label === queue || d.name === queue || d.url === queue);
    if (!ref) throw new UsageError(`No DLQ "${queue}" in this stack: one of ${ctx.target.dlqs.map((d) => d.spec.label).join(", ")} (or its queue name).`);
    return ref;
}

async function mustUrl(ctx: DlqContext, queue: { name: string; url?: string }): Promise<string> {
    const url = await urlOf(ctx, queue);
    if (!url) throw new CliError(`No queue ${queue.name} in ${ctx.target.region ?? (await ctx.sqs.config.region())}: is that part of the stack deployed? Check --stack / --env / --outputs and --region.`);
    return url;
}

const redriveHow = (ref: DlqRef): string => ({
    "sqs-source": `move back to ${ref.source?.name ?? "its source queue"}`, "eventbridge-target": "re-send to the bus target's queue",
    "stream-failures": "none (stream records: see dlq redrive)", "stale-events": "none (stale alarm events: see dlq redrive)",
})[ref.spec.redrive.kind];

export function age(seconds: number | undefined): string {
    if (seconds === undefined) return "unknown";
    if (seconds < 120) return `${Math.round(seconds)} s`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
    if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
    return `${Math.round(seconds / 86400)} d`;
}

/** One queue's depth (visible + in flight + delayed) and its oldest message's age (CloudWatch); `exists` false when it does not. */
export interface QueueDepth {
    queue: string;
    url?: string;
    exists: boolean;
    messages: number;
    visible: number;
    inFlight: number;
    delayed: number;
    oldestAgeSeconds?: number;
}

/**
 * Depths and oldest ages of queues, by URL or name (a queue that does not exist is `exists: false`).
 * Shared with `ses-mail health`, so both read the queues the same way.
 */
export async function queueDepths(clients: { sqs: SQSClient; cloudwatch: CloudWatchClient }, queues: { name: string; url?: string }[], now: Date): Promise<QueueDepth[]> {
    const [sqsLib, cloudwatchLib] = await Promise.all([import("@aws-sdk/client-sqs"), import("@aws-sdk/client-cloudwatch")]);
    const ctx = { sqs: clients.sqs, lib: { sqs: sqsLib } } as unknown as DlqContext;
    const rows: QueueDepth[] = [];
    for (const queue of queues) {
        const url = await urlOf(ctx, queue);
        if (!url) {
            rows.push({ queue: queue.name, exists: false, messages: 0, visible: 0, inFlight: 0, delayed: 0 });
            continue;
        }
        const a = await attributes(ctx, url, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]);
        const [visible, inFlight, delayed] = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"].map((k) => Number(a[k] ?? 0));
        rows.push({ queue: queue.name, url, exists: true, messages: visible + inFlight + delayed, visible, inFlight, delayed });
    }
    // The oldest message's age from CloudWatch, not from a peek: receiving changes the queue (receive
    // counts, visibility) and samples at most 10 messages. SQS publishes AWS/SQS metrics every minute
    // for a queue that holds messages; for a standard DLQ the age counts from the move into the DLQ
    // (SQS Developer Guide, "Setting-up dead-letter queue retention in Amazon SQS").
    const withMessages = rows.filter((r) => r.messages > 0);
    if (withMessages.length > 0) {
        const { MetricDataResults } = await awsCall("cloudwatch:GetMetricData", "AWS/SQS ApproximateAgeOfOldestMessage", () => clients.cloudwatch.send(new cloudwatchLib.GetMetricDataCommand({
            StartTime: new Date(now.getTime() - 15 * 60_000), EndTime: now, ScanBy: "TimestampDescending",
            MetricDataQueries: withMessages.map((r, i) => ({
                Id: `q${i}`, ReturnData: true,
                MetricStat: { Metric: { Namespace: "AWS/SQS", MetricName: "ApproximateAgeOfOldestMessage", Dimensions: [{ Name: "QueueName", Value: r.queue }] }, Period: 60, Stat: "Maximum" },
            })),
        })));
        withMessages.forEach((r, i) => {
            const latest = MetricDataResults?.find((m) => m.Id === `q${i}`)?.Values?.[0];
            if (latest !== undefined) r.oldestAgeSeconds = latest;
        });
    }
    return rows;
}

async function list(ctx: DlqContext): Promise<number> {
    const depths = await queueDepths(ctx, ctx.target.dlqs, ctx.deps.now());
    const rows = ctx.target.dlqs
        .map((ref, i) => ({ ref, depth: depths[i] }))
        // A guessed DLQ (--env) that does not exist is not part of the stack.
        .filter(({ depth }) => depth.exists || !ctx.target.guessed)
        .map(({ ref, depth: { queue, url, exists, messages, visible, inFlight, delayed, oldestAgeSeconds } }) => ({
            label: ref.spec.label, queue, ...(url ? { url } : {}), exists, messages, visible, inFlight, delayed,
            redrive: redriveHow(ref), holds: ref.spec.holds, ...(oldestAgeSeconds !== undefined ? { oldestAgeSeconds } : {}),
        }));
    const problems = rows.filter((r) => r.messages > 0 || !r.exists);
    if (ctx.json) {
        ctx.print(JSON.stringify(rows.map(({ holds: _holds, ...row }) => ({ ...row, oldestAgeSeconds: row.oldestAgeSeconds ?? null })), null, 2));
    } else {
        for (const r of rows) {
            const state = !r.exists ? "NOT FOUND" : r.messages === 0 ? "empty" : `${r.messages} message${r.messages === 1 ? "" : "s"}${r.inFlight > 0 ? ` (${r.inFlight} in flight)` : ""}, oldest ${age(r.oldestAgeSeconds)}`;
            ctx.print(`${r.label.padEnd(24)} ${r.queue.padEnd(48)} ${state}`);
        }
        if (rows.length === 0) ctx.print("No DLQ of this stack exists.");
        for (const r of rows.filter((row) => row.messages > 0)) ctx.print(`  ${r.label}: ${r.holds}; redrive: ${r.redrive}. Next: ses-mail dlq peek ${r.label}`);
    }
    return problems.length > 0 ? 1 : 0;
}

async function peek(ctx: DlqContext, queue: string, count: number): Promise<number> {
    const ref = choose(ctx, queue);
    const url = await mustUrl(ctx, ref);
    const received: Message[] = [];
    try {
        // Each received message is held PEEK_HOLD_SECONDS so the next receive returns others (with a
        // visibility timeout of 0 it could return the same ones again), then released at once below.
        // Long polling (WaitTimeSeconds ≥ 1) queries all SQS servers, not a sample ("Amazon SQS short and long polling").
        while (received.length < count) {
            const { Messages } = await awsCall("sqs:ReceiveMessage", ref.name, () => ctx.sqs.send(new ctx.lib.sqs.ReceiveMessageCommand({
                QueueUrl: url, MaxNumberOfMessages: Math.min(10, count - received.length), VisibilityTimeout: PEEK_HOLD_SECONDS, WaitTimeSeconds: 1,
                MessageAttributeNames: ["All"], MessageSystemAttributeNames: ["All"],
            })));
            const fresh = (Messages ?? []).filter((m) => !received.some((r) => r.MessageId === m.MessageId));
            if (fresh.length === 0) break;
            received.push(...fresh);
        }
    } finally {
        await release(ctx, url, received);
    }
    const decoded = received.slice(0, count).map((m) => ctx.lib.decode.decodeDlqMessage(m));
    if (ctx.json) {
        ctx.print(JSON.stringify(decoded, null, 2));
        return 0;
    }
    if (decoded.length === 0) ctx.print(`${ref.name} has no messages to show.`);
    for (const d of decoded) {
        ctx.print(`${d.sqsMessageId}  (${d.format}, sent ${d.sentAt ?? "?"}, received ${d.receiveCount ?? "?"} times)`);
        if (d.sesMessageId) ctx.print(`  SES message id: ${d.sesMessageId}`);
        if (d.recipients) ctx.print(`  recipients: ${d.recipients.join(", ") || "(none)"}`);
        for (const r of d.routing ?? []) ctx.print(`  routing: ${r}`);
        ctx.print(`  via: ${d.via}`);
        if (d.failure) ctx.print(`  failure: ${d.failure}`);
        if (d.s3) ctx.print(`  mail: ${d.s3}`);
        if (d.stream) ctx.print(`  stream records: shard ${d.stream.shardId} sequence ${d.stream.startSequenceNumber}..${d.stream.endSequenceNumber} (${d.stream.batchSize ?? "?"} records, ${d.stream.firstArrival ?? "?"}..${d.stream.lastArrival ?? "?"})`);
    }
    ctx.print(`(Peeking received ${decoded.length} message(s) and released them: each one's receive count went up by one; nothing was deleted.)`);
    return 0;
}

/** Makes peeked messages visible again at once (ChangeMessageVisibility 0), ten per call. */
async function release(ctx: DlqContext, url: string, messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
        const batch = messages.slice(i, i + 10);
        await awsCall("sqs:ChangeMessageVisibility", url, () => ctx.sqs.send(new ctx.lib.sqs.ChangeMessageVisibilityBatchCommand({
            QueueUrl: url, Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
        })));
    }
}

interface RedriveOptions { max?: number; rate?: number; yes?: boolean; dryRun?: boolean; timeout: number; pollMs: number }
interface RedriveResult { queue: string; destination: string; method: "message-move-task" | "resend"; status: string; moved: number; failed: number; failureReason?: string; taskHandle?: string }

function streamProcedure(ref: DlqRef): string {
    const fn = ref.spec.redrive.kind === "stream-failures" ? ref.spec.redrive.functionPurpose : "";
    const fix = fn === "smtp-credential-manager"
        ? "The manager's hourly sweep reconciles every SMTP_USER# record, so a failed user is retried without a redrive; to act at once, change the record again (ses-mail smtp show <user>, then e.g. ses-mail smtp disable/enable <user>)."
        : "Each suppression is still in the table: the mirror acts on the next change of the same address; to mirror one now, write its item again (ses-mail suppression remove, then add), or compare with SES's list (ses-mail suppression check <email>).";
    return `${ref.name} holds Lambda on-failure records of ${ref.spec.redrive.kind === "stream-failures" ? ref.spec.redrive.table : "a stream"} batches, not the records: there is nothing to move back (SQS message-move tasks only take DLQs of SQS queues). `
        + `Instead: ses-mail dlq peek ${ref.spec.label} shows each batch's shard and sequence numbers; while the stream keeps them (24 hours) aws dynamodbstreams get-shard-iterator --shard-iterator-type AT_SEQUENCE_NUMBER and get-records name the items. ${fix} `
        + `Then delete the record from the DLQ (aws sqs purge-queue once all are handled).`;
}

async function redrive(ctx: DlqContext, queue: string, options: RedriveOptions): Promise<number> {
    const ref = choose(ctx, queue);
    if (ref.spec.redrive.kind === "stream-failures") throw new UsageError(streamProcedure(ref));
    if (ref.spec.redrive.kind === "stale-events") {
        throw new UsageError(`${ref.name} is not redriven: it holds ${ref.spec.holds}. ${ref.spec.redrive.instead} Then delete its messages (aws sqs purge-queue).`);
    }
    const url = await mustUrl(ctx, ref);
    const dlq = await attributes(ctx, url, ["QueueArn", "ApproximateNumberOfMessages"]);
    const waiting = Number(dlq.ApproximateNumberOfMessages ?? 0);
    let destination: { name: string; url: string; arn?: string };
    if (ref.spec.redrive.kind === "sqs-source") {
        if (!ref.source) throw new CliError(`The outputs name no source queue for ${ref.name}: give --stack or --env.`);
        const sourceUrl = await mustUrl(ctx, ref.source);
        const source = await attributes(ctx, sourceUrl, ["QueueArn", "RedrivePolicy"]);
        // As the runbook automation does: only into the queue whose redrive policy names this DLQ.
        const policy = source.RedrivePolicy ? (JSON.parse(source.RedrivePolicy) as { deadLetterTargetArn?: string }) : {};
        if (policy.deadLetterTargetArn !== dlq.QueueArn) throw new CliError(`The redrive policy of ${ref.source.name} does not name ${ref.name} (${policy.deadLetterTargetArn ?? "none"}): not redriving.`);
        destination = { name: ref.source.name, url: sourceUrl, arn: source.QueueArn };
    } else {
        const { targetLabel } = ref.spec.redrive;
        const target = ctx.target.dlqs.find((d) => d.spec.label === targetLabel);
        if (!target) throw new CliError(`${ref.name} is the EventBridge DLQ of the ${targetLabel} DLQ, which this stack's description lacks.`);
        destination = { name: target.name, url: await mustUrl(ctx, target) };
    }
    // A move task moves everything; --max, and a DLQ that is no SQS queue's, are moved message by message.
    const method = ref.spec.redrive.kind === "sqs-source" && options.max === undefined ? "message-move-task" : "resend";
    const rate = options.rate ?? (method === "resend" ? 10 : undefined);
    const plan = `Move ${options.max !== undefined ? `up to ${options.max} of ` : ""}about ${waiting} message(s) from ${ref.name} to ${destination.name} `
        + `(${method === "message-move-task" ? "SQS message-move task" : "receive, send, then delete each"}, ${rate ? `at most ${rate}/s` : "at the rate SQS picks"}).`;
    if (options.dryRun) {
        ctx.print(ctx.json ? JSON.stringify({ queue: ref.name, destination: destination.name, method, messages: waiting, max: options.max ?? null, rate: rate ?? null, dryRun: true }) : `${plan} Dry run: nothing moved.`);
        return 0;
    }
    if (waiting === 0) {
        ctx.print(ctx.json ? JSON.stringify({ queue: ref.name, destination: destination.name, method, status: "EMPTY", moved: 0, failed: 0 }) : `${ref.name} is empty: nothing to redrive.`);
        return 0;
    }
    if (!options.yes) {
        if (!ctx.json) ctx.print(plan);
        if (!(await ctx.deps.confirm(`Redrive ${ref.name} into ${destination.name}? Fix what made them fail first, or they come back.`))) {
            ctx.print(ctx.json ? JSON.stringify({ queue: ref.name, redriven: false }) : "Not redriven.");
            return 1;
        }
    }
    const result = method === "message-move-task"
        ? await moveTask(ctx, ref, { arn: dlq.QueueArn! }, destination, rate, options)
        : await resend(ctx, url, destination, options.max, rate!);
    const out: RedriveResult = { queue: ref.name, destination: destination.name, method, ...result };
    if (ctx.json) ctx.print(JSON.stringify(out, null, 2));
    else ctx.print(`${out.status}: moved ${out.moved}, failed ${out.failed}${out.failureReason ? ` (${out.failureReason})` : ""}.`);
    return out.status === "COMPLETED" && out.failed === 0 ? 0 : 1;
}

/** SQS's own message-move task (StartMessageMoveTask), followed with ListMessageMoveTasks until it ends. */
async function moveTask(ctx: DlqContext, ref: DlqRef, dlq: { arn: string }, destination: { arn?: string }, rate: number | undefined, options: RedriveOptions) {
    const latest = async () => (await awsCall("sqs:ListMessageMoveTasks", ref.name, () => ctx.sqs.send(new ctx.lib.sqs.ListMessageMoveTasksCommand({ SourceArn: dlq.arn, MaxResults: 1 })))).Results?.[0];
    // One active task per queue, RUNNING or CANCELLING ("StartMessageMoveTask"): say so rather than fail on the start.
    const previous = await latest();
    if (previous?.Status === "RUNNING" || previous?.Status === "CANCELLING") {
        throw new CliError(`A message-move task is already ${previous.Status === "RUNNING" ? "running" : "being cancelled"} on ${ref.name} (moved ${previous.ApproximateNumberOfMessagesMoved ?? 0} of ${previous.ApproximateNumberOfMessagesToMove ?? "?"}): wait for it${previous.Status === "RUNNING" ? `, or cancel it with aws sqs cancel-message-move-task --task-handle ${previous.TaskHandle}` : ""}.`);
    }
    // ListMessageMoveTasks gives a TaskHandle only while a task runs, so ours is the newest task that is
    // not the one listed before the start (which may still be listed first for a moment).
    const isPrevious = (task: typeof previous) => previous?.StartedTimestamp !== undefined && task?.TaskHandle === undefined && task?.StartedTimestamp === previous.StartedTimestamp;
    // DestinationArn always: messages sent straight to the DLQ (EventBridge, the forwarder) have no
    // original source queue for a task without one to return them to.
    const { TaskHandle } = await awsCall("sqs:StartMessageMoveTask", ref.name, () => ctx.sqs.send(new ctx.lib.sqs.StartMessageMoveTaskCommand({
        SourceArn: dlq.arn, DestinationArn: destination.arn, ...(rate ? { MaxNumberOfMessagesPerSecond: rate } : {}),
    })));
    const deadline = Date.now() + options.timeout * 1000;
    let last = "";
    for (;;) {
        await ctx.sleep(options.pollMs);
        const listed = await latest();
        const task = listed && listed.TaskHandle !== undefined && listed.TaskHandle !== TaskHandle ? undefined : isPrevious(listed) ? undefined : listed;
        const status = task?.Status ?? "STARTING";
        const moved = task?.ApproximateNumberOfMessagesMoved ?? 0;
        const toMove = task?.ApproximateNumberOfMessagesToMove;
        const line = `${status}: moved ${moved} of ${toMove ?? "?"}`;
        if (!ctx.json && line !== last) ctx.deps.stderr(`${line}\n`);
        last = line;
        if (TERMINAL.has(status)) {
            // The task counts what it moved; what it did not move stays in the DLQ (a failed task says why).
            const failed = status === "COMPLETED" ? 0 : Math.max(0, (toMove ?? moved) - moved);
            return { status, moved, failed, taskHandle: TaskHandle, ...(task?.FailureReason ? { failureReason: task.FailureReason } : {}) };
        }
        if (Date.now() >= deadline) {
            return { status, moved, failed: 0, taskHandle: TaskHandle, failureReason: `still running after ${options.timeout} s; follow it with ses-mail dlq list` };
        }
    }
}

/** Message by message, like runbooks/dlq_redrive.py: deleted from the DLQ only once sent; attributes kept. */
async function resend(ctx: DlqContext, from: string, to: { url: string }, max: number | undefined, rate: number) {
    let moved = 0;
    let failed = 0;
    let firstError: string | undefined;
    const tried = new Set<string>();
    while (max === undefined || moved + failed < max) {
        const wanted = Math.min(10, max === undefined ? 10 : max - moved - failed);
        const { Messages } = await awsCall("sqs:ReceiveMessage", from, () => ctx.sqs.send(new ctx.lib.sqs.ReceiveMessageCommand({
            QueueUrl: from, MaxNumberOfMessages: wanted, WaitTimeSeconds: 1, VisibilityTimeout: 60, MessageAttributeNames: ["All"],
        })));
        // A message that failed comes back once its visibility ends: stop rather than count it twice.
        const fresh = (Messages ?? []).filter((m) => !tried.has(m.MessageId!));
        if (fresh.length === 0) break;
        for (const message of fresh) {
            tried.add(message.MessageId!);
            const started = Date.now();
            const kept = Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([k, v]) => [k, { DataType: v.DataType, StringValue: v.StringValue, BinaryValue: v.BinaryValue }]));
            try {
                await ctx.sqs.send(new ctx.lib.sqs.SendMessageCommand({ QueueUrl: to.url, MessageBody: message.Body!, ...(Object.keys(kept).length > 0 ? { MessageAttributes: kept } : {}) }));
            } catch (error) {
                failed += 1;
                firstError ??= `${(error as Error).name}: ${(error as Error).message}`;
                continue;
            }
            await awsCall("sqs:DeleteMessage", from, () => ctx.sqs.send(new ctx.lib.sqs.DeleteMessageCommand({ QueueUrl: from, ReceiptHandle: message.ReceiptHandle! })));
            moved += 1;
            const pause = 1000 / rate - (Date.now() - started);
            if (pause > 0) await ctx.sleep(pause);
        }
    }
    return { status: "COMPLETED", moved, failed, ...(firstError ? { failureReason: `sending failed (left in the DLQ): ${firstError}` } : {}) };
}

export function dlqCommands(root: Command, deps: CliDeps, result: { exitCode: number }): void {
    const print = (line: string) => deps.stdout(`${line}\n`);
    const dlq = root.command("dlq")
        .description("Dead-letter queues of the stack: counts, decoded messages, redrive (exit codes: 0 ok, 1 messages waiting / not done, 2 usage or input error)")
        .exitOverride(usageExit);
    const target = (command: Command, example: string) => command
        .option("--stack <name>", "Pulumi stack: reads Pulumi.<stack>.yaml (which parts exist, names, region)")
        .option("--project-dir <dir>", "directory of Pulumi.<stack>.yaml (default: the current one)")
        .option("--env <env>", "environment: names from the components' naming; DLQs that do not exist are skipped")
        .option("--name-prefix <prefix>", "name prefix with --env (default: ses-mail)")
        .option("--outputs <file>", "the stack's outputs (pulumi stack output --json > file): deadLetterQueues")
        .option("--region <region>", "AWS region (default: aws:region of the stack, else AWS_REGION)")
        .option("--json", "machine-readable output", false)
        .addHelpText("after", `\nExample:\n  $ ${example}\n`)
        .exitOverride(usageExit);
    const run = <A extends unknown[]>(action: (ctx: DlqContext, ...args: A) => Promise<number>) => async (...args: unknown[]) => {
        const command = args[args.length - 1] as Command;
        const options = command.opts() as TargetOptions & { json: boolean };
        const lib = await load();
        const resolved = lib.target.dlqTarget(options, deps.cwd);
        const sqs = new lib.sqs.SQSClient({ region: resolved.region });
        const cloudwatch = new lib.cloudwatch.CloudWatchClient({ region: resolved.region });
        try {
            const ctx: DlqContext = { lib, target: resolved, sqs, cloudwatch, json: options.json, print, deps, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
            if (!options.json) resolved.notes.forEach(print);
            result.exitCode = await action(ctx, ...(args.slice(0, -1) as A));
        } finally {
            sqs.destroy();
            cloudwatch.destroy();
        }
    };

    target(dlq.command("list"), "ses-mail dlq list --stack prod")
        .description("Every DLQ of the stack: messages (visible + in flight + delayed) and the oldest one's age (CloudWatch); exit 1 when any holds messages")
        .action(run((ctx) => list(ctx)));
    target(dlq.command("peek").argument("<queue>", "a DLQ label (dlq list) or queue name"), "ses-mail dlq peek forwarder -n 3 --stack prod")
        .description("Decode messages without deleting them: SES message id, recipients, routing, failure reason, S3 location (raises each one's receive count; released at once)")
        .addOption(new Option("-n, --count <n>", "messages to show").default(5).argParser(integer(1, 100, "a number of messages")))
        .action(run((ctx, queue: string, options: { count: number }) => peek(ctx, queue, options.count)));
    target(dlq.command("redrive").argument("<queue>", "a DLQ label (dlq list) or queue name"), "ses-mail dlq redrive forwarder --rate 10 --stack prod")
        .description("Move messages back to the queue they came from (SQS message-move task; message by message with --max or for the EventBridge DLQ); asks first")
        .addOption(new Option("--max <n>", "move at most this many (message by message)").argParser(integer(1, 1_000_000, "a number of messages")))
        .addOption(new Option("--rate <r>", "messages per second at most").argParser(integer(1, MAX_MOVE_RATE, "messages per second")))
        .option("--yes", "do not ask")
        .option("--dry-run", "show what would be moved, move nothing")
        .addOption(new Option("--timeout <seconds>", "how long to follow a move task").default(3600).argParser(integer(1, 86400, "seconds")))
        .addOption(new Option("--poll-ms <ms>").default(5000).argParser(integer(0, 60000, "milliseconds")).hideHelp())
        .action(run((ctx, queue: string, options: RedriveOptions) => redrive(ctx, queue, options)));
}
