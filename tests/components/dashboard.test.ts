import { expect } from "chai";
import fc from "fast-check";
import { dashboardBody } from "../../components/dashboard";
import { promiseOf } from "../support/mocks";
import { cachedStack, loadStackConfig } from "../support/stack";

/** Widgets PutDashboard would refuse: a metric widget needs at least one metric or expression (see docs/AWS-TRAPS.md, AWS-SEMANTICS "PutDashboard"). */
const emptyMetricWidgets = (body: { widgets: any[] }) => body.widgets.filter((w) => w.type === "metric" && !(w.properties.metrics?.length > 0)).map((w) => w.properties.title);

describe("OperationsDashboard", () => {
    const body = dashboardBody({
        env: "test", region: "us-east-1",
        functions: { router: "ses-mail-router-test", "gmail-forwarder": "ses-mail-gmail-forwarder-test" },
        queues: { input: "ses-mail-email-input-test" },
        deadLetterQueues: { input: "ses-mail-email-input-dlq-test" },
        gmailAccounts: ["you@gmail.com"],
    });

    it("has the widgets operators need, laid out without overlap", () => {
        expect(body.widgets.map((w: any) => w.properties.title)).to.deep.equal([
            "Email processing: received, spam, virus, DMARC reject",
            "Handlers: Gmail forwarding and bounces",
            "Function errors",
            "Queue depths",
            "DLQ messages (should always be 0)",
            "Function duration p50 / p99 (ms)",
            "Outbound volume",
            "Outbound delivery and error rates (%)",
            "Hard vs soft bounces",
            "SES reputation (account)",
            "Gmail token: hours until expiry",
            "Gmail token valid (1) or refused (0): hourly probe and forwarder",
        ]);
        for (const widget of body.widgets as any[]) {
            expect(widget.properties.metrics.every((row: unknown) => Array.isArray(row)), widget.properties.title).to.equal(true);
        }
        const cells = body.widgets.map((w: any) => `${w.x},${w.y}`);
        expect(new Set(cells).size).to.equal(cells.length);
        expect(JSON.parse(JSON.stringify(body))).to.deep.equal(body);
    });

    it("annotates the rate widget with the alarms' warning and critical thresholds", () => {
        const rates = body.widgets.find((w: any) => w.properties.title.startsWith("Outbound delivery")) as any;
        expect(rates.properties.annotations.horizontal.map((a: any) => [a.label, a.value])).to.deep.equal([
            ["bounce WARNING", 3], ["bounce CRITICAL", 5], ["complaint WARNING", 0.05], ["complaint CRITICAL", 0.1],
        ]);
        expect(rates.properties.metrics.slice(4).map((m: any) => m[0].expression)).to.deep.equal([
            "IF(sends >= 100, 100 * bounces / sends, 0)", "IF(sends >= 100, 100 * complaints / sends, 0)", "IF(sends >= 100, 100 * deliveries / sends, 0)",
        ]);
    });

    it("shows p50 and p99 duration for every function", () => {
        const duration = body.widgets.find((w: any) => w.properties.title.startsWith("Function duration")) as any;
        expect(duration.properties.metrics.map((m: any) => [m[3], m[4].stat])).to.deep.equal([
            ["ses-mail-router-test", "p50"], ["ses-mail-gmail-forwarder-test", "p50"], ["ses-mail-router-test", "p99"], ["ses-mail-gmail-forwarder-test", "p99"],
        ]);
    });

    it("never has a metric widget without metrics, whatever the stack has (no Gmail accounts, no functions…), and keeps the layout tight", () => {
        const names = (labels: string[]) => fc.subarray(labels).map((chosen) => Object.fromEntries(chosen.map((l) => [l, `ses-mail-${l}-test`])));
        fc.assert(fc.property(
            names(["router", "gmail-forwarder", "bouncer", "feedback-worker"]), names(["input", "feedback"]), names(["input", "feedback", "routing-events"]),
            fc.subarray(["you@gmail.com", "team@gmail.com"]),
            (functions, queues, deadLetterQueues, gmailAccounts) => {
                const b = dashboardBody({ env: "test", region: "us-east-1", functions, queues, deadLetterQueues, gmailAccounts });
                expect(emptyMetricWidgets(b)).to.deep.equal([]);
                expect(b.widgets.map((w: any) => [w.x, w.y])).to.deep.equal(b.widgets.map((_: unknown, i: number) => [(i % 2) * 12, Math.floor(i / 2) * 6]));
                expect(b.widgets.some((w: any) => w.properties.title.startsWith("Gmail token"))).to.equal(gmailAccounts.length > 0);
            },
        ));
    });

    it("a stack without Gmail accounts deploys a dashboard without the token widgets", async () => {
        const ingest = { ...JSON.parse(loadStackConfig("test")["ses-mail:ingest"]), gmailAccounts: [] };
        const { plan } = await cachedStack("test", { ...loadStackConfig("test"), "ses-mail:ingest": JSON.stringify(ingest) });
        const deployed = JSON.parse(plan.one("aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody);
        expect(emptyMetricWidgets(deployed)).to.deep.equal([]);
        expect(deployed.widgets.map((w: any) => w.properties.title)).to.not.include.members(["Gmail token: hours until expiry"]);
        expect(deployed.widgets).to.have.length(10);
    });

    it("the stacks output the console URL of ses-mail-dashboard-<env>", async () => {
        const { plan, outputs } = await cachedStack("test");
        expect(plan.one("aws:cloudwatch/dashboard:Dashboard").inputs.dashboardName).to.equal("ses-mail-dashboard-test");
        expect(JSON.parse(plan.one("aws:cloudwatch/dashboard:Dashboard").inputs.dashboardBody).widgets).to.have.length(12);
        expect(await promiseOf(outputs.dashboardUrl as never)).to.equal("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=ses-mail-dashboard-test");
    });
});
