import { Metrics } from "@aws-lambda-powertools/metrics";
import { expect } from "chai";
import fc from "fast-check";
import { countMetric, tokenValidityMetric } from "../../../functions/shared/metrics";
import { captureOutput, metricSeries } from "../../support/output";

// CloudWatch matches dimensions exactly ("Dimensions", CloudWatch User Guide): the runbooks'
// `get-metric-statistics --namespace SESMail/<env> --metric-name X` (no --dimensions) reads only a
// series published with no dimension, which Powertools' default `service` dimension rules out.
describe("shared metrics: each series and its dimensionless copy", () => {
    const saved = { ...process.env };
    before(() => Object.assign(process.env, { POWERTOOLS_METRICS_NAMESPACE: "SESMail/test", POWERTOOLS_SERVICE_NAME: "router" }));
    after(() => (process.env = saved));

    const series = async (publish: (metrics: Metrics) => void) => {
        const metrics = new Metrics();
        const { lines } = await captureOutput(async () => {
            publish(metrics);
            metrics.publishStoredMetrics();
        });
        return { lines, series: metricSeries(lines).map(({ namespace, name, value, dimensions }) => [namespace, name, value, dimensions]) };
    };

    it("countMetric: the service series (with any extra dimensions) and one copy with no dimension at all", async () => {
        const { series: plain } = await series((m) => countMetric(m, "EmailsReceived", 3));
        expect(plain).to.have.deep.members([["SESMail/test", "EmailsReceived", 3, { service: "router" }], ["SESMail/test", "EmailsReceived", 3, {}]]);
        const { series: extra, lines } = await series((m) => countMetric(m, "RoutingDecision", 1, { action: "bounce" }));
        expect(extra).to.have.deep.members([["SESMail/test", "RoutingDecision", 1, { service: "router", action: "bounce" }], ["SESMail/test", "RoutingDecision", 1, {}]]);
        // The copy is one explicit empty dimension set (EMF specification, MetricDirective).
        expect(lines.filter((l: any) => l._aws).map((l: any) => l._aws.CloudWatchMetrics[0].Dimensions)).to.deep.include([[]]);
    });

    it("a breakdown published next to its total adds no second copy: the dimensionless series counts each event once", async () => {
        await fc.assert(fc.asyncProperty(fc.array(fc.constantFrom("a@example.com", "b@example.com"), { maxLength: 6 }), async (patterns) => {
            const { series: all } = await series((m) => patterns.forEach((pattern) => {
                countMetric(m, "RoutingRuleInvalid", 1, { pattern }, { aggregate: false });
                countMetric(m, "RoutingRuleInvalid");
            }));
            const total = (dims: Record<string, string>) => all.filter((s) => JSON.stringify(s[3]) === JSON.stringify(dims)).reduce((n, s) => n + (s[2] as number), 0);
            expect(total({})).to.equal(patterns.length);
            expect(total({ service: "router" })).to.equal(patterns.length);
        }), { numRuns: 20 });
    });

    it("tokenValidityMetric: by account (the alarms) and without dimensions (the runbooks), never with service", async () => {
        const { series: token } = await series((m) => tokenValidityMetric(m, "you@gmail.com", false));
        expect(token).to.have.deep.members([["SESMail/test", "TokenValid", 0, { account: "you@gmail.com" }], ["SESMail/test", "TokenValid", 0, {}]]);
    });
});
