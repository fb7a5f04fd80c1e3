import * as z from "zod/mini";
import { parseOrThrow } from "../shared/email";
import { DEFAULT_FEEDBACK_SETTINGS, FeedbackSettings } from "./logic";

const positive = (fallback: number) => z._default(z.pipe(z.string(), z.transform(Number)).check(z.refine((n) => Number.isInteger(n) && n > 0, { error: "must be a positive integer" })), fallback);

const envSchema = z.object({
    EVENTS_TABLE_NAME: z.string().check(z.minLength(1)),
    SENDERS_TABLE_NAME: z.string().check(z.minLength(1)),
    SUPPRESSION_TABLE_NAME: z.string().check(z.minLength(1)),
    NOTIFICATIONS_TOPIC_ARN: z.string().check(z.startsWith("arn:")),
    EVENT_RETENTION_DAYS: positive(DEFAULT_FEEDBACK_SETTINGS.eventRetentionDays),
    TRANSIENT_THRESHOLD: positive(DEFAULT_FEEDBACK_SETTINGS.transientThreshold),
    TRANSIENT_WINDOW_DAYS: positive(DEFAULT_FEEDBACK_SETTINGS.transientWindowDays),
    TRANSIENT_SUPPRESSION_DAYS: positive(DEFAULT_FEEDBACK_SETTINGS.transientSuppressionDays),
    COMPLAINT_FLAG_THRESHOLD: positive(DEFAULT_FEEDBACK_SETTINGS.complaintFlagThreshold),
    COMPLAINT_RESTRICT_THRESHOLD: positive(DEFAULT_FEEDBACK_SETTINGS.complaintRestrictThreshold),
    COMPLAINT_WINDOW_DAYS: positive(DEFAULT_FEEDBACK_SETTINGS.complaintWindowDays),
    SENDER_TAG: z.optional(z.string()),
});

/** Everything the feedback worker needs: its tables, topic and thresholds (`settingsFromEnv` reads them from the environment). */
export interface WorkerSettings extends FeedbackSettings {
    /** FeedbackPipeline's feedback events table. */
    eventsTableName: string;
    /** FeedbackPipeline's senders table. */
    sendersTableName: string;
    /** SuppressionStore's table. */
    suppressionTableName: string;
    /** Where sender state changes are announced. */
    notificationsTopicArn: string;
}

/** The worker's settings from its environment (set by FeedbackPipeline); fails at cold start if wrong. */
export function settingsFromEnv(env: Record<string, string | undefined>): WorkerSettings {
    const e = parseOrThrow(envSchema, env, "feedback worker environment");
    return {
        eventsTableName: e.EVENTS_TABLE_NAME,
        sendersTableName: e.SENDERS_TABLE_NAME,
        suppressionTableName: e.SUPPRESSION_TABLE_NAME,
        notificationsTopicArn: e.NOTIFICATIONS_TOPIC_ARN,
        eventRetentionDays: e.EVENT_RETENTION_DAYS,
        transientThreshold: e.TRANSIENT_THRESHOLD,
        transientWindowDays: e.TRANSIENT_WINDOW_DAYS,
        transientSuppressionDays: e.TRANSIENT_SUPPRESSION_DAYS,
        complaintFlagThreshold: e.COMPLAINT_FLAG_THRESHOLD,
        complaintRestrictThreshold: e.COMPLAINT_RESTRICT_THRESHOLD,
        complaintWindowDays: e.COMPLAINT_WINDOW_DAYS,
        senderTag: e.SENDER_TAG || undefined,
    };
}
