// Every dead-letter queue a ses-mail stack can have: its label (the alarms' and dashboard's, as in
// stacks/program.ts), its name purpose, which part of the stack creates it, what fills it and what
// "redrive" means for it. Pure (no Pulumi import): the CLI loads it. tests/cli/dlq.test.ts runs the
// stack program under mocks and checks that the components create exactly these queues, named and
// wired (redrive policies, EventBridge DLQs, stream on-failure destinations) as said here.
import { physicalName } from "./naming";

/** The part of the stack a DLQ comes with: FeedbackPipeline always; the others when configured. */
export type DlqOrigin = "feedback" | "ingest" | "smtp" | "suppression-mirror" | "sending-brake";

export type DlqRedrive =
    /** The DLQ of `<prefix>-<sourcePurpose>-<env>` (its SQS redrive policy): messages go back there. */
    | { kind: "sqs-source"; sourcePurpose: string }
    /** An EventBridge target DLQ: events the bus could not deliver to the DLQ labelled `targetLabel`. */
    | { kind: "eventbridge-target"; targetLabel: string }
    /** A Lambda stream event source's on-failure destination: records of failed batches, metadata only. */
    | { kind: "stream-failures"; functionPurpose: string; table: string }
    /** Events for a function that acts on the moment (an alarm going into ALARM): stale once late, never replayed. */
    | { kind: "stale-events"; functionPurpose: string; instead: string };

export interface DlqSpec {
    label: string;
    /** Name purpose: the queue is `<prefix>-<purpose>-<env>` (physicalName "sqsQueue"). */
    purpose: string;
    origin: DlqOrigin;
    redrive: DlqRedrive;
    /** What lands there, for people. */
    holds: string;
}

/** In stacks/program.ts order. */
export const STACK_DLQS: readonly DlqSpec[] = [
    {
        label: "feedback", purpose: "feedback-dlq", origin: "feedback", redrive: { kind: "sqs-source", sourcePurpose: "feedback" },
        holds: "SES sending events (SNS envelopes) the feedback worker failed on 3 receives",
    },
    {
        label: "input", purpose: "email-input-dlq", origin: "ingest", redrive: { kind: "sqs-source", sourcePurpose: "email-input" },
        holds: "receipt notifications the router pipe failed on 3 receives, and the router's invalid events (the bus's invalid rule): both go back to the input queue, where the router reads an invalid event's original body",
    },
    {
        label: "forwarder", purpose: "gmail-forwarder-dlq", origin: "ingest", redrive: { kind: "sqs-source", sourcePurpose: "gmail-forwarder" },
        holds: "routing events the forwarder could not import (8 receives, or a permanent error with a reason attribute), and forward events the bus could not deliver",
    },
    {
        label: "forwarder-retry", purpose: "gmail-forwarder-retry-dlq", origin: "ingest", redrive: { kind: "sqs-source", sourcePurpose: "gmail-forwarder-retry" },
        holds: "mail parked for a Gmail token that was drained 100 times without being moved",
    },
    {
        label: "bouncer", purpose: "bouncer-dlq", origin: "ingest", redrive: { kind: "sqs-source", sourcePurpose: "bouncer" },
        holds: "routing events the bouncer failed on 3 receives, and bounce events the bus could not deliver",
    },
    {
        label: "suppression-mirror", purpose: "suppression-mirror-dlq", origin: "suppression-mirror",
        redrive: { kind: "stream-failures", functionPurpose: "suppression-mirror", table: "suppression table" },
        holds: "records of suppression-table stream batches the mirror failed after its retries (metadata only: shard and sequence numbers)",
    },
    {
        label: "routing-events", purpose: "email-routing-events-dlq", origin: "ingest", redrive: { kind: "eventbridge-target", targetLabel: "input" },
        holds: "invalid-mail events the bus could not deliver to the input DLQ (with ERROR_CODE / ERROR_MESSAGE attributes)",
    },
    {
        label: "smtp-credential-manager", purpose: "smtp-credential-manager-dlq", origin: "smtp",
        redrive: { kind: "stream-failures", functionPurpose: "smtp-credential-manager", table: "SMTP credentials table" },
        holds: "records of SMTP_USER# stream batches the credential manager failed after its retries (metadata only)",
    },
    {
        label: "sending-brake", purpose: "sending-brake-dlq", origin: "sending-brake",
        redrive: {
            kind: "stale-events", functionPurpose: "sending-brake",
            instead: "See whether sending is paused (ses-mail sending status) and whether the brake's alarms are still in ALARM; if they are and sending is not paused, pause it yourself (ses-mail sending pause --reason …). Replaying an old alarm event could pause sending that is healthy now.",
        },
        holds: "alarm events the emergency brake never handled: ones the rule could not deliver (ERROR_CODE attributes) and failed invocations (Lambda's on-failure records)",
    },
];

export function dlqSpec(label: string): DlqSpec | undefined {
    return STACK_DLQS.find((spec) => spec.label === label);
}

/** The DLQs of a stack with these parts. */
export function stackDlqs(has: Record<DlqOrigin, boolean>): DlqSpec[] {
    return STACK_DLQS.filter((spec) => has[spec.origin]);
}

export function dlqQueueName(spec: DlqSpec, env: string, prefix?: string): string {
    return physicalName("sqsQueue", { purpose: spec.purpose, env, prefix });
}

/** The queue SQS redrives into this DLQ, when it has one. */
export function dlqSourceQueueName(spec: DlqSpec, env: string, prefix?: string): string | undefined {
    return spec.redrive.kind === "sqs-source" ? physicalName("sqsQueue", { purpose: spec.redrive.sourcePurpose, env, prefix }) : undefined;
}
