import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_RATE_ALARMS } from "./alarm-specs";
import { resolveEnv } from "./stack-env";

/** What the dashboard shows, by label, with names resolved ({@link dashboardBody} is pure). */
export interface DashboardInputs {
    /** Environment name: the metrics namespace `SESMail/<env>`. */
    env: string;
    /** Region of every widget. */
    region: string;
    /** label (the function's folder) → function name */
    functions: Record<string, string>;
    /** label → main queue name */
    queues: Record<string, string>;
    /** label → DLQ name */
    deadLetterQueues: Record<string, string>;
    /** Gmail accounts whose token lifetime is shown. */
    gmailAccounts: string[];
}

/** One widget of a CloudWatch dashboard body, as its JSON holds it. */
export type Widget = Record<string, unknown>;

/** The dashboard body (CloudWatch dashboard JSON), pure so its widgets are tested directly. */
export function dashboardBody(d: DashboardInputs): {
    /** The widgets, in order; widgets without metrics are left out (PutDashboard refuses them). */
    widgets: Widget[];
} {
    const ns = `SESMail/${d.env}`;
    const ours = (service: string, ...names: string[]) => names.map((name) => [ns, name, "service", service]);
    // Each entry of a widget's metrics is an array, expressions included: [{ expression, id, label }].
    const search = (metric: string, service: string, dimension: string) => [[{ expression: `SEARCH('{${ns},service,${dimension}} MetricName="${metric}" service="${service}"', 'Sum', 300)`, id: metric.toLowerCase(), label: metric }]];
    const perResource = (namespace: string, metric: string, dimension: string, values: Record<string, string>, stat?: string) =>
        Object.entries(values).map(([label, value]) => [namespace, metric, dimension, value, { label, ...(stat ? { stat } : {}) }]);
    const [bounceWarning, bounceCritical] = DEFAULT_RATE_ALARMS.bounceRate;
    const [complaintWarning, complaintCritical] = DEFAULT_RATE_ALARMS.complaintRate;
    const widget = (title: string, metrics: unknown[], extra: Record<string, unknown> = {}) => ({ title, metrics, extra });
    const rate = (id: string, label: string, numerator: string) => ({ expression: `IF(sends >= ${DEFAULT_RATE_ALARMS.minimumSends}, 100 * ${numerator} / sends, 0)`, id, label });
    const widgets = [
            widget("Email processing: received, spam, virus, DMARC reject", ours("router", "EmailsReceived", "SpamDetected", "VirusDetected", "DmarcRejectDetected")),
            widget("Handlers: Gmail forwarding and bounces", [...ours("gmail-forwarder", "GmailForwardSuccess", "GmailForwardFailure", "GmailTokenError", "OversizeNotice"), ...ours("bouncer", "BounceSent"), ...search("BounceSuppressed", "bouncer", "reason")]),
            widget("Function errors", perResource("AWS/Lambda", "Errors", "FunctionName", d.functions)),
            widget("Queue depths", perResource("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", d.queues), { stat: "Maximum" }),
            widget("DLQ messages (should always be 0)", perResource("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", d.deadLetterQueues), { stat: "Maximum", annotations: { horizontal: [{ label: "any message is an incident", value: 0 }] } }),
            widget("Function duration p50 / p99 (ms)", [
                ...perResource("AWS/Lambda", "Duration", "FunctionName", d.functions, "p50"),
                ...perResource("AWS/Lambda", "Duration", "FunctionName", d.functions, "p99"),
            ], { stat: "p99" }),
            widget("Outbound volume", ours("feedback-worker", "OutboundSend", "OutboundDelivery", "OutboundReject", "OutboundDeliveryDelay")),
            widget("Outbound delivery and error rates (%)", [
                ...ours("feedback-worker", "OutboundSend", "OutboundDelivery", "OutboundBounce", "OutboundComplaint").map((m, i) => [...m, { id: ["sends", "deliveries", "bounces", "complaints"][i], visible: false }]),
                [rate("bounceRate", "Bounce rate", "bounces")],
                [rate("complaintRate", "Complaint rate", "complaints")],
                [rate("deliveryRate", "Delivery rate", "deliveries")],
            ], {
                period: DEFAULT_RATE_ALARMS.periodSeconds,
                annotations: { horizontal: [
                    { label: "bounce WARNING", value: bounceWarning, color: "#ff9900" },
                    { label: "bounce CRITICAL", value: bounceCritical, color: "#d13212" },
                    { label: "complaint WARNING", value: complaintWarning, color: "#ff9900" },
                    { label: "complaint CRITICAL", value: complaintCritical, color: "#d13212" },
                ] },
            }),
            widget("Hard vs soft bounces", ours("feedback-worker", "OutboundBounceHard", "OutboundBounceSoft")),
            widget("SES reputation (account)", [["AWS/SES", "Reputation.BounceRate"], ["AWS/SES", "Reputation.ComplaintRate"]], {
                stat: "Maximum", period: 3600,
                annotations: { horizontal: [{ label: "SES bounce review (5%)", value: 0.05 }, { label: "SES complaint review (0.1%)", value: 0.001 }] },
            }),
            // Published by each account's TokenMonitor (state machine, probe) and the forwarder.
            widget("Gmail token: hours until expiry", [
                ...d.gmailAccounts.map((account, i) => [ns, "TokenSecondsUntilExpiration", "account", account, { id: `m${i}`, visible: false }]),
                ...d.gmailAccounts.map((account, i) => [{ expression: `m${i} / 3600`, id: `h${i}`, label: account }]),
            ], { stat: "Minimum", annotations: { horizontal: [{ label: "warning (24 h)", value: 24 }, { label: "critical (6 h)", value: 6 }] } }),
            widget("Gmail token valid (1) or refused (0): hourly probe and forwarder", d.gmailAccounts.map((account) => [ns, "TokenValid", "account", account, { label: account }]),
                { stat: "Minimum", period: 3600, yAxis: { left: { min: 0, max: 1 } } }),
    ];
    // PutDashboard rejects a metric widget without metrics (no Gmail accounts, no functions…):
    // such widgets are left out, and the others laid out two per row.
    return {
        widgets: widgets.filter((w) => w.metrics.length > 0).map(({ title, metrics, extra }, i): Widget => ({
            type: "metric", x: (i % 2) * 12, y: Math.floor(i / 2) * 6, width: 12, height: 6,
            properties: { title, region: d.region, view: "timeSeries", stat: "Sum", period: 300, metrics, ...extra },
        })),
    };
}

/** Arguments of {@link OperationsDashboard}. */
export interface OperationsDashboardArgs {
    /** Environment name: the dashboard is `<namePrefix>-dashboard-<env>` and shows the `SESMail/<env>` metrics. @default the stack name (`pulumi.getStack()`) */
    env?: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** label (the function's folder) → function name. */
    functions: Record<string, pulumi.Input<string>>;
    /** label → main queue name. */
    queues: Record<string, pulumi.Input<string>>;
    /** label → DLQ name. */
    deadLetterQueues: Record<string, pulumi.Input<string>>;
    /** Gmail accounts whose token lifetime and validity are shown. @default none */
    gmailAccounts?: string[];
}

/** The AWS console's origin for a partition: GovCloud and China have consoles of their own. */
export function consoleOrigin(partition: string, region: string): string {
    const own: Record<string, string> = { "aws-us-gov": "https://console.amazonaws-us-gov.com", "aws-cn": "https://console.amazonaws.cn" };
    return own[partition] ?? `https://${region}.console.aws.amazon.com`;
}

/** `ses-mail-dashboard-<env>`: the system on one page. */
export class OperationsDashboard extends pulumi.ComponentResource {
    /** The CloudWatch dashboard `<prefix>-dashboard-<env>`. */
    public readonly dashboard: aws.cloudwatch.Dashboard;
    /** The dashboard's console URL (in the partition's console). */
    public readonly url: pulumi.Output<string>;

    constructor(name: string, args: OperationsDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:OperationsDashboard", name, {}, opts);
        const region = aws.getRegionOutput({}, { parent: this }).region;
        const env = resolveEnv("OperationsDashboard", args.env);
        const dashboardName = `${args.namePrefix ?? "ses-mail"}-dashboard-${env}`;
        const body = pulumi.all([region, pulumi.output(args.functions), pulumi.output(args.queues), pulumi.output(args.deadLetterQueues)]).apply(([r, functions, queues, deadLetterQueues]) =>
            JSON.stringify(dashboardBody({ env, region: r, functions, queues, deadLetterQueues, gmailAccounts: args.gmailAccounts ?? [] })));
        this.dashboard = new aws.cloudwatch.Dashboard(name, { dashboardName, dashboardBody: body }, { parent: this });
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        this.url = pulumi.interpolate`${pulumi.all([partition, region]).apply(([p, r]) => consoleOrigin(p, r))}/cloudwatch/home?region=${region}#dashboards:name=${dashboardName}`;
        this.registerOutputs({ url: this.url });
    }
}

