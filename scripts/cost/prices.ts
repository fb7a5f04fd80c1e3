// Unit prices of everything the cost model charges for: US East (N. Virginia), on-demand list prices,
// account-level free tiers NOT subtracted (a stack shares its account's free tier with everything
// else in it) except where the issue asks for it (the first 3 dashboards). Each price names the page
// it was read from and when. Official AWS pricing pages where the stored corpus had them; otherwise
// the best secondary source found, marked "secondary" — check those against the official page
// before quoting them anywhere binding.

export const PRICES_READ = "2026-12-03";

export interface Price {
    usd: number;
    unit: string;
    source: string;
    /** Where the figure comes from a secondary page (the official one was not in the stored corpus). */
    secondary?: true;
    read: string;
}

const CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/";
const price = (usd: number, unit: string, source: string, secondary?: true): Price => ({ usd, unit, source, read: PRICES_READ, ...(secondary ? { secondary } : {}) });

export const PRICES = {
    // CloudWatch: the pricing page's unit is the "alarm metric" (its free tier counts "10 Alarm metrics …
    // Standard resolution alarms that list metrics directly"): an alarm over a metric-math expression is
    // charged for each metric it reads, a period under 60 s is high resolution.
    alarmMetricStandard: price(0.10, "alarm metric-month", `${CLOUDWATCH} (per-metric unit); $0.10 figure: https://c3x.dev/resources/aws/aws_cloudwatch_metric_alarm`, true),
    alarmMetricHighResolution: price(0.30, "alarm metric-month", "https://c3x.dev/resources/aws/aws_cloudwatch_metric_alarm", true),
    dashboard: price(3.00, "dashboard-month beyond the 3 free", `${CLOUDWATCH} (free tier: 3 dashboards); $3: https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/`, true),
    dashboardsFree: price(3, "dashboards free per account", CLOUDWATCH),
    customMetric: price(0.30, "metric-month (first 10,000; prorated by the hour)", "https://signoz.io/guides/cloudwatch-pricing", true),
    putMetricData: price(0.01 / 1000, "PutMetricData request", "https://cloudburn.io/blog/amazon-cloudwatch-pricing", true),
    logIngestion: price(0.50, "GB ingested (Standard class)", "https://hivebook.wiki/wiki/cloudwatch-logs-cost-never-expire-retention-and-cardinality-blowups", true),
    logStorage: price(0.03, "GB-month stored", "https://hivebook.wiki/wiki/cloudwatch-logs-cost-never-expire-retention-and-cardinality-blowups", true),
    kmsKey: price(1.00, "customer managed key-month (+$1 per rotated backing key)", "https://aws.amazon.com/kms/pricing/"),
    kmsRequest: price(0.03 / 10_000, "symmetric request", "https://www.wring.co/blog/aws-kms-pricing-guide (official page lists the request table as a widget)", true),
    lambdaRequest: price(0.20 / 1_000_000, "invocation", "https://git.mcrn.ar/mariano/lambda_local_runner/src/commit/957e45b8adae23ce50b966346229585b5df18b4d/docs/lambdas-md/lambda-13-cost.md", true),
    lambdaArmGbSecond: price(0.0000133334, "GB-second (arm64, first 7.5 billion)", "https://cloudchipr.com/blog/aws-lambda-pricing", true),
    lambdaX86GbSecond: price(0.0000166667, "GB-second (x86_64, first 6 billion)", "https://cloudchipr.com/blog/aws-lambda-pricing", true),
    sqsRequest: price(0.40 / 1_000_000, "request per 64 KB chunk (standard queue)", "https://unanswered.io/guide/aws-sqs-pricing-and-cost-optimization", true),
    snsPublish: price(0.50 / 1_000_000, "publish per 64 KB chunk (standard topic; delivery to SQS free)", "https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/", true),
    eventBridgeCustomEvent: price(1.00 / 1_000_000, "custom event per 64 KB chunk", "https://cloudburn.io/blog/amazon-eventbridge-pricing", true),
    pipesRequest: price(0.40 / 1_000_000, "Pipes request per 64 KB chunk (after filtering)", "https://cloudburn.io/blog/amazon-eventbridge-pricing", true),
    schedulerInvocation: price(1.00 / 1_000_000, "Scheduler invocation (first 14 million a month free)", "https://cloudburn.io/blog/amazon-eventbridge-pricing", true),
    sfnExpressRequest: price(1.00 / 1_000_000, "Express execution", "https://aws.amazon.com/step-functions/pricing/"),
    sfnExpressGbSecond: price(0.00001667, "GB-second (64 MB chunks, 100 ms rounding)", "https://aws.amazon.com/step-functions/pricing/ ($0.06/GB-hour first tier, pricing example 3)"),
    dynamoWru: price(0.625 / 1_000_000, "write request unit (on-demand)", "https://airbyte.com/data-engineering-resources/dynamodb-pricing", true),
    dynamoRru: price(0.125 / 1_000_000, "read request unit (on-demand)", "https://airbyte.com/data-engineering-resources/dynamodb-pricing", true),
    s3Put: price(0.005 / 1000, "PUT/COPY/POST/LIST request (Standard)", "https://c3x.dev/blog/s3-request-fees-explained", true),
    s3Get: price(0.0004 / 1000, "GET/HEAD request (Standard)", "https://c3x.dev/blog/s3-request-fees-explained", true),
    s3Storage: price(0.023, "GB-month (Standard, first 50 TB)", "https://cloudburn.io/blog/amazon-s3-pricing", true),
    /** Standard-tier parameters (the CLI's PutParameter names no tier: the account's default, standard unless changed). */
    ssmStandardParameter: price(0, "standard-tier parameter-month (no additional charge; standard-throughput API calls free)", "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html"),
    xrayTrace: price(5.00 / 1_000_000, "trace recorded", "https://aws.amazon.com/de/xray/pricing/"),
    /** SendBounce is billed as an outbound message. */
    sesOutbound: price(0.10 / 1000, "message sent (SendBounce included)", "issue #20 and https://aws.amazon.com/ses/faqs/ (the SES pricing page itself was not in the stored corpus)", true),
    sesReceiving: price(0.10 / 1000, "mail received (the comparison figure)", "issue #20; https://aws.amazon.com/ses/faqs/ points to the SES pricing page, not in the stored corpus", true),
} satisfies Record<string, Price>;

export type PriceKey = keyof typeof PRICES;

/** Hours in a month as AWS prices them (730 h). */
export const HOURS_PER_MONTH = 730;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
/** SQS, SNS, EventBridge and Pipes bill each 64 KB of payload as one request. */
export const CHUNK_BYTES = 64 * 1024;
export const chunks = (bytes: number): number => Math.max(1, Math.ceil(bytes / CHUNK_BYTES));
