import { expect } from "chai";
import { savedQueries } from "../../components/saved-queries";
import { runStack } from "../support/stack";

describe("SavedQueries", () => {
    it("defines the seven queries; each declares the fields it reads in its fields clause", () => {
        expect(savedQueries().map((q) => q.id)).to.deep.equal([
            "router-enrichment-errors", "gmail-forwarder-failures", "bouncer-failures", "routing-decision-analysis",
            "email-end-to-end-trace", "dlq-message-investigation", "performance-analysis",
        ]);
        for (const query of savedQueries().filter((q) => q.fields.length > 0)) {
            expect(query.queryString.split("\n")[0], query.id).to.equal(`fields @timestamp, ${query.fields.join(", ")}`);
        }
    });

    it("the stacks save them as ses-mail/<env>/<id> over the right log groups", async () => {
        const { plan } = await runStack("test");
        const definitions = Object.fromEntries(plan.ofType("aws:cloudwatch/queryDefinition:QueryDefinition").map((d) => [d.inputs.name, d.inputs.logGroupNames]));
        expect(Object.keys(definitions)).to.have.length(7);
        expect(definitions["ses-mail/test/router-enrichment-errors"]).to.deep.equal(["/aws/lambda/ses-mail-router-test", "/aws/vendedlogs/pipes/ses-mail-email-router-test"]);
        expect(definitions["ses-mail/test/email-end-to-end-trace"]).to.deep.equal(["/aws/lambda/ses-mail-router-test", "/aws/lambda/ses-mail-gmail-forwarder-test", "/aws/lambda/ses-mail-bouncer-test"]);
    });
});
