import { expect } from "chai";
import { savedQueries } from "../../components/saved-queries";
import { PIPE_ENRICHMENT_FAILURE, PIPE_LOG_ERROR_KEYS, PIPE_LOG_SCHEMA_KEYS } from "../fixtures/pipe-logs";
import { fieldValue } from "../support/hooks";
import { cachedStack } from "../support/stack";

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

    it("router-enrichment-errors finds the pipe's failures: its records have messageType, logLevel and error.message, not level", async () => {
        const query = savedQueries().find((q) => q.id === "router-enrichment-errors")!;
        expect(query.fields).to.include.members(["messageType", "logLevel", "error.message"]);
        expect(query.queryString).to.match(/ispresent\(error\.message\)/);
        // The fixture the log-field check (tests/support/hooks.ts) reads as the pipe's lines is shaped as Pipes writes them,
        // at the level the stack configures.
        const { plan } = await cachedStack("test");
        const level = plan.one("aws:pipes/pipe:Pipe").inputs.logConfiguration.level;
        for (const record of PIPE_ENRICHMENT_FAILURE) {
            expect(Object.keys(record).filter((key) => !(PIPE_LOG_SCHEMA_KEYS as readonly string[]).includes(key))).to.deep.equal([]);
            expect(Object.keys(record.error as object).filter((key) => !(PIPE_LOG_ERROR_KEYS as readonly string[]).includes(key))).to.deep.equal([]);
            expect(record.logLevel).to.equal(level);
            // Powertools' `level` is absent: a filter on it alone never matches a pipe record.
            expect(record.level).to.equal(undefined);
            expect(fieldValue(record, "error.message")).to.be.a("string");
        }
    });

    it("the stacks save them as ses-mail/<env>/<id> over the right log groups", async () => {
        const { plan } = await cachedStack("test");
        const definitions = Object.fromEntries(plan.ofType("aws:cloudwatch/queryDefinition:QueryDefinition").map((d) => [d.inputs.name, d.inputs.logGroupNames]));
        expect(Object.keys(definitions)).to.have.length(7);
        expect(definitions["ses-mail/test/router-enrichment-errors"]).to.deep.equal(["/aws/lambda/ses-mail-router-test", "/aws/vendedlogs/pipes/ses-mail-email-router-test"]);
        expect(definitions["ses-mail/test/email-end-to-end-trace"]).to.deep.equal(["/aws/lambda/ses-mail-router-test", "/aws/lambda/ses-mail-gmail-forwarder-test", "/aws/lambda/ses-mail-bouncer-test"]);
    });
});
