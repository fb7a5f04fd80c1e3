import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SESv2Client } from "@aws-sdk/client-sesv2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { requireEnv } from "../shared/env";
import { createLogger } from "../shared/logging";
import { SendingLog, SendingSwitch } from "../shared/sending-control";
import { AlarmStateChangeEvent, applyBrake, BrakeOutcome, BrakeSettings } from "./logic";

const logger = createLogger();
const ses = new SESv2Client({});
const sns = new SNSClient({});
const dynamo = new DynamoDBClient({});

const settings: BrakeSettings = {
    configurationSetName: requireEnv("CONFIGURATION_SET_NAME"),
    alarmArns: JSON.parse(requireEnv("BRAKE_ALARM_ARNS")) as string[],
    resumeCommand: requireEnv("RESUME_COMMAND"),
};
const topicArn = requireEnv("ALARM_TOPIC_ARN");
const sending = new SendingSwitch(ses, settings.configurationSetName);
const log = new SendingLog({ tableName: requireEnv("SENDERS_TABLE_NAME"), configurationSetName: settings.configurationSetName, client: dynamo });

/**
 * EventBridge "CloudWatch Alarm State Change" → pause the configuration set. A failure throws, so
 * Lambda retries the async invocation and then sends it to the DLQ (Errors and DLQ alarms).
 */
export const handler = async (event: AlarmStateChangeEvent): Promise<BrakeOutcome> => {
    const result = await applyBrake(event, settings, {
        pause: () => sending.set(false),
        record: (change) => log.record(change),
        announce: async (subject, message) => {
            await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }));
        },
        markAnnounced: (change, at) => log.markAnnounced(change, at),
        now: () => new Date(),
    });
    if (result.outcome === "ignored") {
        logger.info("Alarm event ignored", { reason: result.reason, alarmName: event.detail?.alarmName });
    } else {
        logger.error("Sending paused by the emergency brake", {
            configurationSet: result.change.configurationSet, alarmName: result.change.alarmName, at: result.change.at,
            reason: result.change.reason, announced: result.announced, duplicate: result.duplicate,
        });
    }
    return result;
};
