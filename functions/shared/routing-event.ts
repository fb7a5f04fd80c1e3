// The routing event: what the router (EventBridge Pipes enrichment) returns for each input record
// and the pipe puts on the bus as `detail`. Exactly one per SQS record, because the pipe does not
// invoke an event-bus target with more than 10 entries and the source batch is 10 records
// (EventBridge Pipes, "Batching and concurrency"). One mail's decisions travel together; the
// forwarder and the bouncer each take the decisions that are theirs.

export const ROUTE_ACTIONS = ["forward-to-gmail", "bounce", "store", "drop"] as const;
export type RouteAction = (typeof ROUTE_ACTIONS)[number];

/** The decision action of an event the router could not read (a bus rule sends it to the input DLQ). */
export const INVALID_ACTION = "invalid";

/** `detail-type` of the router's events on the routing bus. */
export const ROUTING_DETAIL_TYPE = "Email Routing Decision";
/** `source` of the router's events on the routing bus. */
export const ROUTING_EVENT_SOURCE = "ses-mail.router";

export type VerdictStatus = "PASS" | "FAIL" | "GRAY" | "PROCESSING_FAILED" | "DISABLED";

export interface MailVerdicts {
    spam: VerdictStatus;
    virus: VerdictStatus;
    spf: VerdictStatus;
    dkim: VerdictStatus;
    dmarc: VerdictStatus;
    dmarcPolicy?: string;
}

/** Headers that decide whether a bounce would be backscatter. */
export interface BackscatterHeaders {
    autoSubmitted?: string;
    precedence?: string;
    listId?: string;
}

/** One (action, target, labels) for the recipients it covers. */
export interface RoutingDecision {
    action: RouteAction;
    /** The Gmail account, for forward-to-gmail. */
    target?: string;
    recipients: string[];
    /** Why: `rule:<pattern>`, `default`, or the verdict that overrode the rules. */
    reason: string;
    /** Gmail label ids (forward-to-gmail only); `SPAM` when the spam verdict failed and spamAction is label. */
    labels: string[];
}

/** A mail SES received, with every decision for its recipients. */
export interface RoutingEvent {
    messageId: string;
    /** Envelope sender (MAIL FROM) as SES accepted it, domain lowercased; "" for the null sender. */
    source: string;
    /** Every recipient SES accepted the mail for. */
    recipients: string[];
    receivedAt: string;
    subject?: string;
    from?: string;
    s3: { bucket: string; key: string };
    verdicts: MailVerdicts;
    headers: BackscatterHeaders;
    decisions: RoutingDecision[];
}

/**
 * A record the router could not read. It keeps everything needed to find the mail and to redrive
 * it: the original SQS body (whole unless `bodyTruncated`), and whatever ids could be read from it.
 * Redriven into the input queue, the router reads `body` again.
 */
export interface InvalidRoutingEvent {
    messageId?: string;
    s3?: { bucket: string; key: string };
    sqsMessageId: string;
    reason: string;
    body: string;
    bodyTruncated: boolean;
    decisions: [{ action: typeof INVALID_ACTION; recipients: string[]; reason: string; labels: [] }];
}

export type RouterOutput = RoutingEvent | InvalidRoutingEvent;

/** The bus rule's pattern for events carrying at least one decision with this action. */
export function decisionPattern(action: RouteAction | typeof INVALID_ACTION): Record<string, unknown> {
    return { source: [ROUTING_EVENT_SOURCE], "detail-type": [ROUTING_DETAIL_TYPE], detail: { decisions: { action: [action] } } };
}
