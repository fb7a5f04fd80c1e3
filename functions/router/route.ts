import type { SQSRecord } from "aws-lambda";
import { decide, RouterSettings, RoutingDecision } from "./decide";
import { parseReceiptNotification, ReceivedMail } from "./notification";
import type { RuleStore } from "./rule-store";

/** A message the router could not read: routed to the input DLQ by a bus rule, with the reason. */
export interface InvalidMessage {
    action: "invalid";
    sqsMessageId: string;
    reason: string;
    body: string;
}

export type RouterOutput = RoutingDecision | InvalidMessage;

export interface RouterObservers {
    log(message: string, fields: Record<string, unknown>): void;
    error(message: string, fields: Record<string, unknown>): void;
    metric(name: string, dimensions?: Record<string, string>): void;
}

/**
 * Routes a batch: parses each message, reads every rule the batch needs in one BatchGetItem, and
 * decides. A rule-store failure throws (the pipe retries the batch); an unreadable message becomes
 * an `invalid` event instead of blocking the batch.
 */
export async function route(records: SQSRecord[], rules: Pick<RuleStore, "rulesFor">, settings: RouterSettings, observe: RouterObservers): Promise<RouterOutput[]> {
    const parsed: (ReceivedMail | InvalidMessage)[] = records.map((record) => {
        try {
            return parseReceiptNotification(record.body);
        } catch (error) {
            return { action: "invalid", sqsMessageId: record.messageId, reason: (error as Error).message, body: record.body.slice(0, 2000) };
        }
    });
    const mails = parsed.filter((p): p is ReceivedMail => !("action" in p));
    const ruleMap = await rules.rulesFor(mails.flatMap((mail) => mail.recipients));

    const outputs: RouterOutput[] = [];
    for (const item of parsed) {
        if ("action" in item) {
            observe.error("Unreadable message sent to the input DLQ", { sqsMessageId: item.sqsMessageId, reason: item.reason });
            observe.metric("RouterInvalidMessage");
            outputs.push(item);
            continue;
        }
        observe.metric("EmailsReceived");
        if (item.verdicts.spam === "FAIL") observe.metric("SpamDetected");
        if (item.verdicts.virus === "FAIL") observe.metric("VirusDetected");
        if (item.verdicts.dmarc === "FAIL" && item.verdicts.dmarcPolicy === "reject") observe.metric("DmarcRejectDetected");
        for (const decision of decide(item, ruleMap, settings)) {
            observe.metric("RoutingDecision", { action: decision.action });
            observe.log("Routing decision", {
                messageId: decision.messageId, action: decision.action, target: decision.target,
                recipient: decision.recipients.join(","), reason: decision.reason, source: decision.source,
            });
            outputs.push(decision);
        }
    }
    return outputs;
}
