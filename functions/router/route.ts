// Routes one batch of input records: exactly one output per record, in order — the routing event of
// its mail (all decisions) or the invalid event that parks it in the input DLQ. The pipe does not
// invoke an event-bus target with more than 10 entries and a batch is 10 records ("Amazon
// EventBridge Pipes batching and concurrency"), so a record never turns into several events.
import type { RouterOutput, RoutingEvent } from "../shared/routing-event";
import { routingEvent, RouterSettings } from "./decide";
import { readRecord } from "./record";
import type { RuleStore } from "./rule-store";

export type { InvalidRoutingEvent, RouterOutput, RoutingDecision, RoutingEvent } from "../shared/routing-event";

/** What the router needs of an SQS record. */
export interface InputRecord {
    messageId: string;
    body: string;
}

export interface RouterObservers {
    log(message: string, fields: Record<string, unknown>): void;
    error(message: string, fields: Record<string, unknown>): void;
    metric(name: string, dimensions?: Record<string, string>): void;
}

/**
 * Reads each record, reads every rule the batch needs in one BatchGetItem, and decides. A
 * rule-store failure throws (the pipe retries the batch); an unreadable record becomes an invalid
 * event instead of blocking the batch.
 */
export async function route(records: readonly InputRecord[], rules: Pick<RuleStore, "rulesFor">, settings: RouterSettings, observe: RouterObservers): Promise<RouterOutput[]> {
    const read = records.map(readRecord);
    const ruleMap = await rules.rulesFor(read.flatMap((r) => ("mail" in r ? r.mail.recipients : [])));
    return read.map((item, i) => {
        const sqsMessageId = records[i].messageId;
        if (item.redriven) {
            observe.log("Redriven invalid event read again", { sqsMessageId, messageId: "mail" in item ? item.mail.messageId : item.invalid.messageId });
            observe.metric("RouterRedrivenMessage");
        }
        if ("invalid" in item) {
            const { messageId, s3, reason, bodyTruncated } = item.invalid;
            observe.error("Unreadable message sent to the input DLQ", { sqsMessageId, messageId, s3, reason, bodyTruncated });
            observe.metric("RouterInvalidMessage");
            return item.invalid;
        }
        const event = routingEvent(item.mail, ruleMap, settings);
        observeMail(event, observe);
        return event;
    });
}

function observeMail(event: RoutingEvent, observe: RouterObservers): void {
    observe.metric("EmailsReceived");
    if (event.verdicts.spam === "FAIL") observe.metric("SpamDetected");
    if (event.verdicts.virus === "FAIL") observe.metric("VirusDetected");
    if (event.verdicts.dmarc === "FAIL" && event.verdicts.dmarcPolicy === "reject") observe.metric("DmarcRejectDetected");
    for (const decision of event.decisions) {
        observe.metric("RoutingDecision", { action: decision.action });
        observe.log("Routing decision", {
            messageId: event.messageId, action: decision.action, target: decision.target,
            recipient: decision.recipients.join(","), reason: decision.reason, source: event.source,
        });
    }
}
