// What an operator wants to know of a DLQ message, from whichever of the stack's formats it is in:
// an SNS envelope (SES receipt notification, SES sending event or identity notification), an
// EventBridge routing event (forward / bounce / the router's invalid event), or a Lambda stream
// on-failure record (metadata only). Pure: tests/cli/dlq.test.ts feeds it each format.
import type { Message } from "@aws-sdk/client-sqs";
import { readableIdsOfBody } from "../functions/router/notification";

export interface DecodedMessage {
    sqsMessageId: string;
    /** What the body is. */
    format: "ses-receipt" | "ses-event" | "routing-event" | "invalid-routing-event" | "stream-failure" | "alarm-event" | "lambda-failure" | "unknown";
    sesMessageId?: string;
    recipients?: string[];
    /** Routing decisions: `forward-to-gmail → you@gmail.com (rule:*@example.com)`. */
    routing?: string[];
    /** Why it is here, as far as the message says. */
    failure?: string;
    s3?: string;
    /** How it got here: SQS redrive from a queue, an EventBridge target DLQ, a Lambda on-failure destination, or sent directly. */
    via: string;
    sentAt?: string;
    /** Receives across all queues, this peek included. */
    receiveCount?: number;
    /** Stream failure records: which records failed (read them from the stream while it keeps them, 24 h). */
    stream?: { streamArn?: string; shardId?: string; startSequenceNumber?: string; endSequenceNumber?: string; batchSize?: number; firstArrival?: string; lastArrival?: string };
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : []);
const parse = (body: string | undefined): unknown => {
    try {
        return JSON.parse(body ?? "");
    } catch {
        return undefined;
    }
};

/**
 * EventBridge's target-DLQ message attributes (EventBridge User Guide, "Event retry policy and using
 * dead-letter queues": RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS).
 */
function eventBridgeFailure(attributes: Message["MessageAttributes"]): string | undefined {
    const value = (name: string) => attributes?.[name]?.StringValue;
    if (value("ERROR_CODE") === undefined && value("RULE_ARN") === undefined) return undefined;
    const retries = value("RETRY_ATTEMPTS") ? `, ${value("RETRY_ATTEMPTS")} retries` : "";
    const condition = value("EXHAUSTED_RETRY_CONDITION") ? ` (${value("EXHAUSTED_RETRY_CONDITION")}${retries})` : retries ? ` (${retries.slice(2)})` : "";
    return `EventBridge could not deliver it to ${value("TARGET_ARN") ?? "its target"}: ${value("ERROR_CODE") ?? "?"} ${value("ERROR_MESSAGE") ?? ""}`.trim() + condition;
}

function routingOf(detail: Json): string[] {
    return (Array.isArray(detail.decisions) ? detail.decisions : []).filter(isObject).map((d) => {
        const target = text(d.target) ? ` → ${d.target}` : "";
        const reason = text(d.reason) ? ` (${d.reason})` : "";
        return `${String(d.action)}${target}: ${strings(d.recipients).join(", ")}${reason}`;
    });
}

/** arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>] → name. */
const functionName = (arn: unknown) => (typeof arn === "string" ? arn.split(":")[6] ?? arn : "the function");
const s3Of = (v: unknown) => (isObject(v) && text(v.bucket) && text(v.key) ? `s3://${v.bucket}/${v.key}` : undefined);

/** SES notification or event inside an SNS envelope (raw message delivery is off on the stack's subscriptions). */
function sesMessage(message: Json): Omit<DecodedMessage, "sqsMessageId" | "via"> {
    const mail = isObject(message.mail) ? message.mail : {};
    if (message.notificationType === "Received") {
        const receipt = isObject(message.receipt) ? message.receipt : {};
        const action = isObject(receipt.action) ? receipt.action : {};
        return {
            format: "ses-receipt", sesMessageId: text(mail.messageId), recipients: strings(receipt.recipients),
            s3: text(action.bucketName) && text(action.objectKey) ? `s3://${action.bucketName}/${action.objectKey}` : undefined,
        };
    }
    const type = text(message.eventType) ?? text(message.notificationType) ?? "unknown";
    const bounce = isObject(message.bounce) ? message.bounce : undefined;
    const complaint = isObject(message.complaint) ? message.complaint : undefined;
    const listed = (list: unknown) => (Array.isArray(list) ? list.filter(isObject).map((r) => text(r.emailAddress)).filter((a): a is string => a !== undefined) : []);
    const recipients = bounce ? listed(bounce.bouncedRecipients) : complaint ? listed(complaint.complainedRecipients) : strings(mail.destination);
    return {
        format: "ses-event", sesMessageId: text(mail.messageId), recipients,
        routing: [`${type}${bounce ? ` (${String(bounce.bounceType)}/${String(bounce.bounceSubType)})` : ""}`],
    };
}

export function decodeDlqMessage(message: Message): DecodedMessage {
    const attributes = message.Attributes ?? {};
    const sourceArn = attributes.DeadLetterQueueSourceArn;
    const ebFailure = eventBridgeFailure(message.MessageAttributes);
    const base = {
        sqsMessageId: message.MessageId ?? "?",
        sentAt: attributes.SentTimestamp ? new Date(Number(attributes.SentTimestamp)).toISOString() : undefined,
        receiveCount: attributes.ApproximateReceiveCount ? Number(attributes.ApproximateReceiveCount) : undefined,
    };
    const reasonAttribute = message.MessageAttributes?.reason?.StringValue;
    const redriven = sourceArn ? `SQS redrive from ${sourceArn.split(":").pop()} after its receives ran out` : undefined;
    const body = parse(message.Body);
    const done = (decoded: Omit<DecodedMessage, "sqsMessageId" | "via" | "sentAt" | "receiveCount">, via?: string): DecodedMessage => {
        const failure = ebFailure ?? decoded.failure ?? (reasonAttribute ? `the function: ${reasonAttribute}` : undefined)
            ?? (redriven ? "processing failed on every receive: see the consumer's logs (errors by message id)" : undefined);
        const result: DecodedMessage = { ...base, ...decoded, via: via ?? (ebFailure ? "EventBridge target DLQ" : redriven ?? "sent directly by the consumer") };
        if (failure) result.failure = failure;
        for (const key of Object.keys(result) as (keyof DecodedMessage)[]) if (result[key] === undefined) delete result[key];
        return result;
    };

    if (isObject(body) && isObject(body.DDBStreamBatchInfo)) {
        // Lambda's on-failure record for a DynamoDB stream batch ("Using Lambda with DynamoDB": an
        // invocation record, metadata only; the records stay in the stream for 24 hours).
        const info = body.DDBStreamBatchInfo;
        const request = isObject(body.requestContext) ? body.requestContext : {};
        const response = isObject(body.responseContext) ? body.responseContext : {};
        return done({
            format: "stream-failure",
            failure: `${text(request.condition) ?? "failed"} after ${String(request.approximateInvokeCount ?? "?")} invocations of ${functionName(request.functionArn)}`
                + `${text(response.functionError) ? ` (${response.functionError}, status ${String(response.statusCode)})` : ""}`,
            stream: {
                streamArn: text(info.streamArn), shardId: text(info.shardId), startSequenceNumber: text(info.startSequenceNumber), endSequenceNumber: text(info.endSequenceNumber),
                batchSize: typeof info.batchSize === "number" ? info.batchSize : undefined, firstArrival: text(info.approximateArrivalOfFirstRecord), lastArrival: text(info.approximateArrivalOfLastRecord),
            },
        }, "Lambda stream on-failure destination");
    }
    // The brake's messages: a CloudWatch alarm state change ("Alarm events and EventBridge"), as the
    // rule delivers it, or inside Lambda's on-failure record of an async invocation (requestPayload).
    const alarmOf = (event: unknown) => (isObject(event) && event.source === "aws.cloudwatch" && isObject(event.detail) ? event.detail : undefined);
    if (isObject(body) && isObject(body.requestContext) && "requestPayload" in body) {
        const request = body.requestContext;
        const response = isObject(body.responsePayload) ? body.responsePayload : {};
        const alarm = alarmOf(body.requestPayload);
        return done({
            format: "lambda-failure",
            routing: alarm ? [`alarm ${String(alarm.alarmName)} → ${isObject(alarm.state) ? String(alarm.state.value) : "?"}`] : undefined,
            failure: `${text(request.condition) ?? "failed"} after ${String(request.approximateInvokeCount ?? "?")} invocations of ${functionName(request.functionArn)}`
                + `${text(response.errorMessage) ? `: ${text(response.errorType) ?? "Error"}: ${response.errorMessage}` : ""}`,
        }, "Lambda on-failure destination (async invocation)");
    }
    const alarm = alarmOf(body);
    if (alarm) {
        return done({ format: "alarm-event", routing: [`alarm ${String(alarm.alarmName)} → ${isObject(alarm.state) ? String(alarm.state.value) : "?"} at ${String(isObject(body) ? body.time : "?")}`] });
    }
    if (isObject(body) && isObject(body.detail)) {
        const detail = body.detail;
        const first = Array.isArray(detail.decisions) && isObject(detail.decisions[0]) ? detail.decisions[0] : {};
        if (first.action === "invalid") {
            // The router's invalid event: its original body is kept; read whatever ids it has.
            const inner = typeof detail.body === "string" ? readableIdsOfBody(detail.body) : {};
            const innerBody = typeof detail.body === "string" ? parse(detail.body) : undefined;
            const message = isObject(innerBody) && typeof innerBody.Message === "string" ? parse(innerBody.Message) : innerBody;
            const recipients = isObject(message) && isObject(message.receipt) ? strings(message.receipt.recipients) : [];
            return done({
                format: "invalid-routing-event", sesMessageId: text(detail.messageId) ?? inner.messageId,
                recipients: recipients.length > 0 ? recipients : undefined,
                routing: ["invalid (the router could not read it)"],
                failure: `the router: ${String(detail.reason)}${detail.bodyTruncated === true ? " (original body truncated)" : ""}`,
                s3: s3Of(detail.s3) ?? s3Of(inner.s3),
            }, ebFailure ? undefined : redriven ?? "the bus's invalid rule");
        }
        return done({ format: "routing-event", sesMessageId: text(detail.messageId), recipients: strings(detail.recipients), routing: routingOf(detail), s3: s3Of(detail.s3) });
    }
    if (isObject(body) && body.Type === "Notification" && typeof body.Message === "string") {
        const inner = parse(body.Message);
        if (isObject(inner)) return done(sesMessage(inner));
    }
    return done({ format: "unknown", failure: isObject(body) ? undefined : "body is not JSON" });
}
