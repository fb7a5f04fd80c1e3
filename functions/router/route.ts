// Routes one batch of input records: exactly one output per record, in order — the routing event of
// its mail (all decisions) or the invalid event that parks it in the input DLQ. The pipe does not
// invoke an event-bus target with more than 10 entries and a batch is 10 records ("Amazon
// EventBridge Pipes batching and concurrency"), so a record never turns into several events. An
// invalid rule met on the way is skipped for the recipient but reported: error log, the
// RoutingRuleInvalid metric, and the decision's reason.
import type { RouterOutput, RoutingEvent } from "../shared/routing-event";
import { MailRouting, routeMail, RouterSettings } from "./decide";
import { readRecord } from "./record";
import { fitPutEventsRequest } from "./request-size";
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
    const outputs = read.map((item, i): RouterOutput => {
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
        const routed = routeMail(item.mail, ruleMap, settings);
        const event: RoutingEvent = { ...item.mail, decisions: routed.decisions };
        observeMail(event, routed, observe);
        return event;
    });
    // All events of the batch travel in one PutEvents request (at most 256 KB in all).
    return fitPutEventsRequest(outputs);
}

function observeMail(event: RoutingEvent, routed: MailRouting, observe: RouterObservers): void {
    observe.metric("EmailsReceived");
    for (const skipped of routed.invalidRules) {
        observe.error("Invalid routing rule skipped", { messageId: event.messageId, pattern: skipped.pattern, reason: skipped.reason, recipient: skipped.recipients.join(",") });
        // Twice: per pattern (which rule), and with the service dimension only, which the
        // RoutingRuleInvalid alarm watches (CloudWatch matches dimensions exactly, and an alarm
        // cannot use a SEARCH expression over every pattern).
        observe.metric("RoutingRuleInvalid", { pattern: skipped.pattern });
        observe.metric("RoutingRuleInvalid");
    }
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
