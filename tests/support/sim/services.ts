// Small models of the other services the inbound flow calls, and the wiring of every modelled
// service into aws-sdk-client-mock (the bundles' `@aws-sdk/*` clients resolve to the same classes).
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { Readable } from "node:stream";
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, S3Client } from "@aws-sdk/client-s3";
import { MessageRejected, SendBounceCommand, SESClient } from "@aws-sdk/client-ses";
import {
    ChangeMessageVisibilityBatchCommand, ChangeMessageVisibilityCommand, DeleteMessageBatchCommand, DeleteMessageCommand, GetQueueAttributesCommand,
    GetQueueUrlCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient,
} from "@aws-sdk/client-sqs";
import { GetParameterCommand, GetParametersCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import type { Rng, VirtualClock } from "./clock";
import { sdkException, serviceError } from "./errors";
import { gated } from "./scope";
import type { SqsModel } from "./sqs";

// The SDK's own stream wrapper (transformToString & co.), resolved the way @aws-sdk/client-s3 resolves it.
const streamMixin: ((stream: Readable) => Readable) | undefined = (() => {
    try {
        return createRequire(require.resolve("@aws-sdk/client-s3"))("@smithy/core/serde").sdkStreamMixin;
    } catch {
        return undefined;
    }
})();

/** S3 as the forwarder reads it: GetObject streams the body; a missing key raises NoSuchKey ("GetObject" API reference). */
export class S3Model {
    private readonly objects = new Map<string, { body: Buffer; lastModified: Date }>();
    public readonly gets: { bucket: string; key: string; found: boolean }[] = [];

    constructor(private readonly clock: VirtualClock) {}

    public put(bucket: string, key: string, body: Buffer): void {
        this.objects.set(`${bucket}/${key}`, { body, lastModified: new Date(this.clock.now()) });
    }

    public delete(bucket: string, key: string): void {
        this.objects.delete(`${bucket}/${key}`);
    }

    public has(bucket: string, key: string): boolean {
        return this.objects.has(`${bucket}/${key}`);
    }

    public getObject(input: { Bucket?: string; Key?: string; Range?: string }) {
        const object = this.objects.get(`${input.Bucket}/${input.Key}`);
        this.gets.push({ bucket: input.Bucket ?? "", key: input.Key ?? "", found: object !== undefined });
        if (!object) throw sdkException(NoSuchKey, "The specified key does not exist.", 404);
        let body = object.body;
        let contentRange: string | undefined;
        const range = input.Range ? /^bytes=(\d+)-(\d*)$/.exec(input.Range) : null;
        if (input.Range && !range) throw serviceError("InvalidRange", "The requested range is not satisfiable", { status: 416 });
        if (range) {
            const start = Number(range[1]);
            const end = Math.min(range[2] === "" ? body.length - 1 : Number(range[2]), body.length - 1);
            if (start >= body.length) throw serviceError("InvalidRange", "The requested range is not satisfiable", { status: 416 });
            body = body.subarray(start, end + 1);
            contentRange = `bytes ${start}-${end}/${object.body.length}`;
        }
        // A network stream arrives in chunks, never as one buffer.
        const chunks: Buffer[] = [];
        for (let i = 0; i < body.length; i += 64 * 1024) chunks.push(body.subarray(i, i + 64 * 1024));
        const stream = Readable.from(chunks.length > 0 ? chunks : [Buffer.alloc(0)], { objectMode: false });
        return {
            Body: streamMixin ? streamMixin(stream) : stream,
            ContentLength: body.length,
            ContentType: "application/octet-stream",
            LastModified: object.lastModified,
            ETag: `"${randomUUID().replace(/-/g, "")}"`,
            ...(contentRange ? { ContentRange: contentRange } : {}),
        };
    }

    public headObject(input: { Bucket?: string; Key?: string }) {
        const object = this.objects.get(`${input.Bucket}/${input.Key}`);
        if (!object) throw sdkException(NotFound, "Not Found", 404);
        return { ContentLength: object.body.length, LastModified: object.lastModified };
    }
}

/** SSM Parameter Store: GetParameter answers ParameterNotFound for a name it does not hold. */
export class SsmModel {
    private readonly parameters = new Map<string, { value: string; version: number }>();

    public put(name: string, value: string): void {
        this.parameters.set(name, { value, version: (this.parameters.get(name)?.version ?? 0) + 1 });
    }

    public delete(name: string): void {
        this.parameters.delete(name);
    }

    public getParameter(input: { Name?: string }) {
        const parameter = this.parameters.get(input.Name ?? "");
        if (!parameter) throw sdkException(ParameterNotFound, `Parameter ${input.Name} not found.`);
        return { Parameter: { Name: input.Name, Type: "SecureString", Value: parameter.value, Version: parameter.version } };
    }

    public getParameters(input: { Names?: string[] }) {
        const names = input.Names ?? [];
        return {
            Parameters: names.filter((n) => this.parameters.has(n)).map((n) => this.getParameter({ Name: n }).Parameter),
            InvalidParameters: names.filter((n) => !this.parameters.has(n)),
        };
    }
}

export interface BounceCall {
    at: number;
    originalMessageId: string;
    bounceSender: string;
    recipients: string[];
}

/**
 * SES SendBounce ("SendBounce" API reference; "Service quotas in Amazon SES"): only for mail SES
 * received, within 24 hours of receipt; the BounceSender's domain must be a verified identity;
 * every SES API action other than the sending ones "is throttled at one request per second" —
 * account-wide, modelled as a token bucket holding one request (no documented burst). The harness
 * runs the bouncer's pacing `scale` times faster (its interval env divided by `scale`), so the limit
 * here is one request per 1000/scale ms of simulated time. `throttleRate` adds Throttling errors.
 */
export class SesModel {
    public readonly bounces: BounceCall[] = [];
    public readonly rejected: { at: number; name: string; message: string; originalMessageId: string }[] = [];
    public throttled = 0;
    public injectedThrottles = 0;
    private readonly received = new Map<string, number>();
    private readonly throttledOnce = new Set<string>();
    private tokens = 1;
    private refilledAt = -Infinity;

    constructor(private readonly clock: VirtualClock, private readonly rng: Rng, private readonly options: { identities: string[]; scale: number; throttleRate: number; timerToleranceMs?: number }) {}

    /** SES received this message at `at` (its receipt notification). */
    public receivedMail(messageId: string, at: number): void {
        this.received.set(messageId, at);
    }

    private takeToken(): boolean {
        const now = this.clock.now();
        const interval = 1000 / this.options.scale;
        // Node timers may fire up to a millisecond early; that much is allowed, no more.
        const tolerance = this.options.timerToleranceMs ?? 1;
        this.tokens = Math.min(1, this.tokens + (now - this.refilledAt + tolerance) / interval);
        this.refilledAt = now;
        if (this.tokens < 1) return false;
        this.tokens -= 1;
        return true;
    }

    public sendBounce(input: { OriginalMessageId?: string; BounceSender?: string; BouncedRecipientInfoList?: { Recipient?: string }[] }) {
        const id = input.OriginalMessageId ?? "";
        if (!this.takeToken()) {
            this.throttled += 1;
            throw serviceError("Throttling", "Rate exceeded", { status: 400 });
        }
        // Injected at most once per mail, so injected faults alone never use up the bouncer queue's receives.
        if (!this.throttledOnce.has(id) && this.rng.chance(this.options.throttleRate)) {
            this.throttledOnce.add(id);
            this.injectedThrottles += 1;
            throw serviceError("Throttling", "Maximum sending rate exceeded.", { status: 400 });
        }
        const reject = (message: string) => {
            this.rejected.push({ at: this.clock.now(), name: "MessageRejected", message, originalMessageId: id });
            return sdkException(MessageRejected, message);
        };
        const receivedAt = this.received.get(id);
        if (receivedAt === undefined) throw reject(`Message ${id} was not received by Amazon SES.`);
        if (this.clock.now() - receivedAt > 24 * 3600 * 1000) throw reject("Bounces can only be sent within 24 hours of receipt.");
        const sender = input.BounceSender ?? "";
        const domain = sender.slice(sender.lastIndexOf("@") + 1).toLowerCase();
        if (!this.options.identities.some((identity) => identity.toLowerCase() === domain || identity.toLowerCase() === sender.toLowerCase())) {
            throw reject(`Email address is not verified. The following identities failed the check: ${sender}`);
        }
        const recipients = (input.BouncedRecipientInfoList ?? []).map((r) => r.Recipient ?? "");
        if (recipients.length === 0) throw serviceError("ValidationError", "BouncedRecipientInfoList must not be empty");
        this.bounces.push({ at: this.clock.now(), originalMessageId: id, bounceSender: sender, recipients });
        return { MessageId: `bounce-${randomUUID()}` };
    }
}

export interface ServiceModels {
    sqs: SqsModel;
    s3: S3Model;
    ssm: SsmModel;
    ses: SesModel;
}

/** Routes every SDK call the inbound functions make to the models; returns the restore function. */
export function wireSdkMocks(models: ServiceModels): () => void {
    const sqs = mockClient(SQSClient);
    const s3 = mockClient(S3Client);
    const ssm = mockClient(SSMClient);
    const ses = mockClient(SESClient);
    const via = <I, O>(call: (input: I) => O) => (input: I) => gated(() => call(input));
    for (const stub of [sqs, s3, ssm, ses] as unknown as { onAnyCommand(): { callsFake(fake: (input: unknown) => unknown): unknown } }[]) {
        // A call no model answers fails loudly instead of returning undefined (the specific
        // behaviours below, defined later, take precedence).
        stub.onAnyCommand().callsFake((input) => {
            throw new Error(`The simulation does not model this call (input ${JSON.stringify(input).slice(0, 200)}); add it to tests/support/sim/services.ts`);
        });
    }
    sqs.on(SendMessageCommand).callsFake(via((i) => models.sqs.sendMessage(i as never)));
    sqs.on(SendMessageBatchCommand).callsFake(via((i) => models.sqs.sendMessageBatch(i as never)));
    sqs.on(ReceiveMessageCommand).callsFake(via((i) => models.sqs.receiveMessage(i as never)));
    sqs.on(DeleteMessageCommand).callsFake(via((i) => models.sqs.deleteMessage(i as never)));
    sqs.on(DeleteMessageBatchCommand).callsFake(via((i) => models.sqs.deleteMessageBatch(i as never)));
    sqs.on(ChangeMessageVisibilityCommand).callsFake(via((i) => models.sqs.changeMessageVisibility(i as never)));
    sqs.on(ChangeMessageVisibilityBatchCommand).callsFake(via((i) => models.sqs.changeMessageVisibilityBatch(i as never)));
    sqs.on(GetQueueAttributesCommand).callsFake(via((i) => models.sqs.getQueueAttributes(i as never)));
    sqs.on(GetQueueUrlCommand).callsFake(via((i) => models.sqs.getQueueUrl(i as never)));
    s3.on(GetObjectCommand).callsFake(via((i) => models.s3.getObject(i as never)));
    s3.on(HeadObjectCommand).callsFake(via((i) => models.s3.headObject(i as never)));
    ssm.on(GetParameterCommand).callsFake(via((i) => models.ssm.getParameter(i as never)));
    ssm.on(GetParametersCommand).callsFake(via((i) => models.ssm.getParameters(i as never)));
    ses.on(SendBounceCommand).callsFake(via((i) => models.ses.sendBounce(i as never)));
    return () => [sqs, s3, ssm, ses].forEach((stub) => stub.restore());
}
