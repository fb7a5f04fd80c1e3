// The emergency brake: an alarm of this stack's brake tier went into ALARM, so sending through this
// stack's configuration set stops until an operator resumes it (`ses-mail sending resume`).
import { normaliseTimestamp, SendingChange } from "../shared/sending-control";

/**
 * The EventBridge event CloudWatch sends when an alarm changes state ("Alarm events and
 * EventBridge", CloudWatch User Guide): only the fields the brake reads.
 */
export interface AlarmStateChangeEvent {
    "detail-type"?: string;
    source?: string;
    time?: string;
    resources?: string[];
    detail?: {
        alarmName?: string;
        state?: { value?: string; reason?: string; timestamp?: string };
        previousState?: { value?: string };
    };
}

export interface BrakeSettings {
    configurationSetName: string;
    /** The exact ARNs of the alarms that pull the brake (this stack's brake tier). */
    alarmArns: string[];
    /** The command an operator runs to resume, quoted in the announcement. */
    resumeCommand: string;
}

export type BrakeDecision =
    | { pause: false; ignored: string }
    | { pause: true; alarmName: string; alarmArn: string; at: string; stateReason: string };

/** Whether the event pulls the brake (pure): ALARM of one of our alarms, nothing else. */
export function decide(event: AlarmStateChangeEvent, settings: BrakeSettings): BrakeDecision {
    if (event.source !== "aws.cloudwatch" || event["detail-type"] !== "CloudWatch Alarm State Change") {
        return { pause: false, ignored: `not an alarm state change (${event.source ?? "?"} / ${event["detail-type"] ?? "?"})` };
    }
    // Matched by ARN (account and region included): an alarm of the same name elsewhere is not ours.
    const alarmArn = (event.resources ?? []).find((arn) => settings.alarmArns.includes(arn));
    const alarmName = event.detail?.alarmName ?? "";
    if (!alarmArn || !alarmArn.endsWith(`:alarm:${alarmName}`)) {
        return { pause: false, ignored: `alarm ${alarmName || "(unnamed)"} does not pull this stack's brake` };
    }
    const state = event.detail?.state;
    if (state?.value !== "ALARM") {
        // OK and INSUFFICIENT_DATA never resume: resuming is an operator's decision.
        return { pause: false, ignored: `alarm ${alarmName} is ${state?.value ?? "in no state"}, not ALARM` };
    }
    const when = state.timestamp ?? event.time;
    if (!when) return { pause: false, ignored: `alarm ${alarmName} has no state timestamp` };
    return { pause: true, alarmName, alarmArn, at: normaliseTimestamp(when), stateReason: state.reason ?? "" };
}

export interface BrakePorts {
    /** PutConfigurationSetSendingOptions(SendingEnabled=false) on this stack's set. */
    pause(): Promise<void>;
    /** Records the change once; a duplicate finds the first record. */
    record(change: SendingChange): Promise<{ created: boolean; change: SendingChange }>;
    /** Tells the alarm topic. */
    announce(subject: string, message: string): Promise<void>;
    markAnnounced(change: SendingChange, at: string): Promise<void>;
    now(): Date;
}

export type BrakeOutcome =
    | { outcome: "ignored"; reason: string }
    | { outcome: "paused"; change: SendingChange; announced: boolean; duplicate: boolean };

/** The announcement: what stopped, why, and how to resume (plain text: the topic's subscribers are people). */
export function announcement(change: SendingChange, stateReason: string, settings: BrakeSettings): { subject: string; message: string } {
    return {
        // SNS subjects: at most 100 printable ASCII characters.
        subject: `ses-mail: sending PAUSED on ${change.configurationSet}`.slice(0, 100),
        message: [
            `The emergency brake paused sending through SES configuration set ${change.configurationSet}.`,
            "",
            `Why: alarm ${change.alarmName} went into ALARM at ${change.at}.`,
            ...(stateReason ? [`Alarm reason: ${stateReason}`] : []),
            "",
            "Every send that uses this configuration set (including as a domain's default) is refused until an operator resumes it.",
            "Find the cause first (bounce or complaint source, list quality, a compromised sender), then:",
            `  ${settings.resumeCommand}`,
            "The pause stays through pulumi up; only a resume ends it.",
        ].join("\n"),
    };
}

/**
 * Pauses first (the step that matters, idempotent), then records and announces. A duplicate
 * notification of the same state change finds its record and announces only if the first attempt
 * did not get that far, so it is harmless.
 */
export async function applyBrake(event: AlarmStateChangeEvent, settings: BrakeSettings, ports: BrakePorts): Promise<BrakeOutcome> {
    const decision = decide(event, settings);
    if (!decision.pause) return { outcome: "ignored", reason: decision.ignored };
    await ports.pause();
    const change: SendingChange = {
        configurationSet: settings.configurationSetName,
        action: "pause",
        at: decision.at,
        actor: decision.alarmName,
        source: "brake",
        reason: `${decision.alarmName} in ALARM${decision.stateReason ? `: ${decision.stateReason}` : ""}`,
        alarmName: decision.alarmName,
    };
    const recorded = await ports.record(change);
    if (recorded.change.announcedAt) {
        return { outcome: "paused", change: recorded.change, announced: false, duplicate: !recorded.created };
    }
    const { subject, message } = announcement(recorded.change, decision.stateReason, settings);
    await ports.announce(subject, message);
    const announcedAt = ports.now().toISOString();
    await ports.markAnnounced(recorded.change, announcedAt);
    return { outcome: "paused", change: { ...recorded.change, announcedAt }, announced: true, duplicate: !recorded.created };
}
