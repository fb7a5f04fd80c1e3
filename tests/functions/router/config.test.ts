import { expect } from "chai";
import { routerConfig } from "../../../functions/router/config";

describe("router config (environment set by MailIngest)", () => {
    it("defaults: store, drop spam, 60 s and 10,000 patterns of rule cache", () => {
        expect(routerConfig({ ROUTING_TABLE_NAME: "t" })).to.deep.equal({
            tableName: "t", settings: { defaultAction: "store", spamAction: "drop" }, cacheTtlMs: 60_000, maxCacheEntries: 10_000,
        });
    });

    it("reads every variable", () => {
        expect(routerConfig({ ROUTING_TABLE_NAME: "t", DEFAULT_ACTION: "bounce", SPAM_ACTION: "label", RULE_CACHE_TTL_SECONDS: "0", RULE_CACHE_MAX_ENTRIES: "500" })).to.deep.equal({
            tableName: "t", settings: { defaultAction: "bounce", spamAction: "label" }, cacheTtlMs: 0, maxCacheEntries: 500,
        });
    });

    const refused: [Record<string, string>, string][] = [
        [{}, "Environment variable ROUTING_TABLE_NAME is not set; the component that creates this function sets it."],
        [{ ROUTING_TABLE_NAME: "t", DEFAULT_ACTION: "forward" }, "Environment variable DEFAULT_ACTION=forward is not one of forward-to-gmail, bounce, store, drop."],
        [{ ROUTING_TABLE_NAME: "t", SPAM_ACTION: "quarantine" }, "Environment variable SPAM_ACTION=quarantine is not one of drop, label."],
        [{ ROUTING_TABLE_NAME: "t", RULE_CACHE_TTL_SECONDS: "1m" }, "Environment variable RULE_CACHE_TTL_SECONDS=1m is not a whole number of at least 0."],
        [{ ROUTING_TABLE_NAME: "t", RULE_CACHE_MAX_ENTRIES: "0" }, "Environment variable RULE_CACHE_MAX_ENTRIES=0 is not a whole number of at least 1."],
    ];
    for (const [env, message] of refused) {
        it(`refuses ${JSON.stringify(env)} at cold start`, () => expect(() => routerConfig(env)).to.throw(message));
    }
});
