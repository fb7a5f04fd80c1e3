// An event bus model: PutEvents as the API reference and "Sending events with PutEvents" describe
// it (at most 10 entries; entries processed in order, a failing entry does not stop the others;
// "Calculating Amazon EventBridge PutEvents event entry size": Time 14 bytes, Source, DetailType,
// Detail and each Resources entry as UTF-8 bytes, "the total entry size must be less than 256KB" —
// applied to the request as a whole, the harsher reading, as the service's "Total size of the
// entries in the request is over the limit" error does), rule matching by event pattern (see
// event-pattern.ts), and delivery of the whole event as the message body to each matching rule's
// SQS target. A delivery EventBridge cannot make goes to the target's dead-letter queue with the
// attributes "Using dead-letter queues to process undelivered events in EventBridge" lists
// (RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE); without one the event is dropped.
import { randomUUID } from "node:crypto";
import type { VirtualClock } from "./clock";
import { serviceError } from "./errors";
import { matchesPattern } from "./event-pattern";
import type { BusRuleSpec } from "./plan";
import type { SqsModel } from "./sqs";

export const MAX_PUT_EVENTS_ENTRIES = 10;
export const MAX_PUT_EVENTS_BYTES = 262_144;

export interface PutEventsEntry {
    Source?: string;
    DetailType?: string;
    Detail?: string;
    EventBusName?: string;
    Resources?: string[];
    Time?: Date;
}

export interface BusEvent {
    version: "0";
    id: string;
    "detail-type": string;
    source: string;
    account: string;
    time: string;
    region: string;
    resources: string[];
    detail: Record<string, unknown>;
}

export interface Delivery {
    at: number;
    rule: string;
    target: string;
    eventId: string;
    outcome: "delivered" | "dead-lettered" | "dropped";
    error?: string;
}

export function entrySize(entry: PutEventsEntry): number {
    return (entry.Time ? 14 : 0) + Buffer.byteLength(entry.Source ?? "") + Buffer.byteLength(entry.DetailType ?? "")
        + Buffer.byteLength(entry.Detail ?? "") + (entry.Resources ?? []).reduce((sum, r) => sum + Buffer.byteLength(r), 0);
}

export class EventBusModel {
    /** Every event the bus accepted, in order. */
    public readonly accepted: { bus: string; event: BusEvent }[] = [];
    public readonly deliveries: Delivery[] = [];
    /** Injected: the next deliveries to these target ARNs fail (e.g. a queue policy or KMS problem). */
    public readonly failingTargets = new Set<string>();

    constructor(private readonly rules: BusRuleSpec[], private readonly sqs: SqsModel, private readonly clock: VirtualClock, private readonly env: { region: string; account: string }) {}

    public putEvents(input: { Entries?: PutEventsEntry[] }) {
        const entries = input.Entries ?? [];
        if (entries.length < 1 || entries.length > MAX_PUT_EVENTS_ENTRIES) {
            throw serviceError("ValidationException", `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${MAX_PUT_EVENTS_ENTRIES}`);
        }
        const total = entries.reduce((sum, e) => sum + entrySize(e), 0);
        if (total >= MAX_PUT_EVENTS_BYTES) throw serviceError("ValidationException", `Total size of the entries in the request is over the limit (${total} bytes).`);
        const results = entries.map((entry) => {
            if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
                return { ErrorCode: "InvalidArgument", ErrorMessage: "Parameters Source, DetailType and Detail are required." };
            }
            let detail: unknown;
            try {
                detail = JSON.parse(entry.Detail);
            } catch {
                return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed." };
            }
            if (detail === null || typeof detail !== "object" || Array.isArray(detail)) return { ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed: it must be a JSON object." };
            const event: BusEvent = {
                version: "0",
                id: randomUUID(),
                "detail-type": entry.DetailType,
                source: entry.Source,
                account: this.env.account,
                time: new Date(entry.Time ?? this.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z"),
                region: this.env.region,
                resources: entry.Resources ?? [],
                detail: detail as Record<string, unknown>,
            };
            const bus = entry.EventBusName?.split("/").pop() ?? "default";
            this.accepted.push({ bus, event });
            this.route(bus, event);
            return { EventId: event.id };
        });
        return { FailedEntryCount: results.filter((r) => "ErrorCode" in r).length, Entries: results };
    }

    private route(bus: string, event: BusEvent): void {
        for (const rule of this.rules.filter((r) => r.busName === bus && matchesPattern(r.pattern, event))) {
            for (const target of rule.targets) {
                const body = JSON.stringify(event);
                const base = { at: this.clock.now(), rule: rule.name, target: target.arn, eventId: event.id };
                try {
                    if (this.failingTargets.has(target.arn)) throw serviceError("AccessDenied", "Injected: EventBridge could not send to the target.");
                    this.sqs.sendMessage({ QueueUrl: this.sqs.spec(target.arn).url, MessageBody: body });
                    this.deliveries.push({ ...base, outcome: "delivered" });
                } catch (error) {
                    const reason = `${(error as Error).name}: ${(error as Error).message}`;
                    if (!target.deadLetterArn) {
                        this.deliveries.push({ ...base, outcome: "dropped", error: reason });
                        continue;
                    }
                    this.sqs.sendMessage({
                        QueueUrl: this.sqs.spec(target.deadLetterArn).url,
                        MessageBody: body,
                        MessageAttributes: {
                            RULE_ARN: { DataType: "String", StringValue: rule.arn },
                            TARGET_ARN: { DataType: "String", StringValue: target.arn },
                            ERROR_CODE: { DataType: "String", StringValue: (error as Error).name },
                            ERROR_MESSAGE: { DataType: "String", StringValue: (error as Error).message.slice(0, 1000) },
                        },
                    });
                    this.deliveries.push({ ...base, outcome: "dead-lettered", error: reason });
                }
            }
        }
    }
}
