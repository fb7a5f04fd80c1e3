import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetAccountCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { requireEnv } from "../shared/env";
import { createLogger } from "../shared/logging";
import { QuotaUtilisation, quotaMetricPoints, quotaUtilisation } from "../shared/send-quota";

const logger = createLogger();
const ses = new SESv2Client({});
const cloudwatch = new CloudWatchClient({});
const namespace = requireEnv("METRICS_NAMESPACE");
const thresholds = { warningPercent: Number(requireEnv("QUOTA_WARNING_PERCENT")), criticalPercent: Number(requireEnv("QUOTA_CRITICAL_PERCENT")) };

/**
 * Scheduled: GetAccount's SendQuota → SendQuotaUtilization, Max24HourSend, SentLast24Hours and
 * MaxSendRate in `SESMail/<env>`, with no dimensions. PutMetricData rather than Powertools' EMF,
 * which adds a `service` dimension (CloudWatch matches dimensions exactly, and the runbook's
 * queries and the alarms read the series without any).
 */
export const handler = async (): Promise<QuotaUtilisation> => {
    const { SendQuota: quota } = await ses.send(new GetAccountCommand({}));
    if (!quota) throw new Error("GetAccount returned no SendQuota");
    const utilisation = quotaUtilisation({ max24HourSend: quota.Max24HourSend ?? 0, sentLast24Hours: quota.SentLast24Hours ?? 0, maxSendRate: quota.MaxSendRate ?? 0 }, thresholds);
    await cloudwatch.send(new PutMetricDataCommand({
        Namespace: namespace,
        MetricData: quotaMetricPoints(utilisation).map((point) => ({ MetricName: point.name, Value: point.value, Unit: point.unit })),
    }));
    // `level` is the logger's own key.
    const { level, ...figures } = utilisation;
    const fields = { ...figures, quotaLevel: level };
    if (level === "ok") logger.info("Send quota checked", fields);
    else logger.warn("Send quota utilisation high: npx ses-mail quota shows the advice", fields);
    return utilisation;
};
