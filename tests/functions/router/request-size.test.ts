import { expect } from "chai";
import fc from "fast-check";
import { entryBytes, fitPutEventsRequest, PUT_EVENTS_REQUEST_BUDGET_BYTES } from "../../../functions/router/request-size";
import { invalidEvent } from "../../../functions/router/record";
import type { RouterOutput, RoutingEvent } from "../../../functions/shared/routing-event";

const PUT_EVENTS_LIMIT = 256 * 1024; // "PutEvents": the entries of one request add up to less than 256 KB

function mail(i: number, recipients: number): RoutingEvent {
    const to = Array.from({ length: recipients }, (_, r) => `recipient-${r}@example.com`);
    return {
        messageId: `m-${i}`, source: "sender@example.net", recipients: to, receivedAt: "2026-12-01T00:00:00Z", subject: "Hello",
        s3: { bucket: "b", key: `inbound/m-${i}` }, verdicts: { spam: "PASS", virus: "PASS", spf: "PASS", dkim: "PASS", dmarc: "PASS" }, headers: {},
        decisions: [{ action: "store", recipients: to, reason: "default", labels: [] }],
    };
}

describe("router: one PutEvents request per batch", () => {
    it("leaves a batch that fits as it is", () => {
        const outputs = [mail(1, 3), invalidEvent("q-1", "x".repeat(5000), "broken", {})];
        expect(fitPutEventsRequest(outputs)).to.equal(outputs);
    });

    it("any batch of ten with large unreadable bodies fits, routing events untouched, cut bodies marked", () => {
        fc.assert(fc.property(
            fc.array(fc.oneof(
                fc.integer({ min: 1, max: 60 }).map((n) => ({ kind: "mail" as const, n })),
                fc.integer({ min: 0, max: 200_000 }).map((n) => ({ kind: "invalid" as const, n })),
            ), { minLength: 1, maxLength: 10 }),
            (shapes) => {
                const outputs: RouterOutput[] = shapes.map((s, i) => (s.kind === "mail" ? mail(i, s.n) : invalidEvent(`q-${i}`, "é\"".repeat(s.n / 2), "broken", {})));
                const fitted = fitPutEventsRequest(outputs);
                const total = fitted.reduce((sum, o) => sum + entryBytes(o), 0);
                expect(total).to.be.below(PUT_EVENTS_LIMIT);
                fitted.forEach((o, i) => {
                    if (!("body" in o)) {
                        expect(o).to.equal(outputs[i]);
                        return;
                    }
                    const original = outputs[i] as { body: string; bodyTruncated: boolean };
                    expect(original.body.startsWith(o.body)).to.equal(true);
                    expect(o.bodyTruncated).to.equal(original.bodyTruncated || o.body.length < original.body.length);
                });
            },
        ), { numRuns: 60 });
    });

    it("refuses, saying why, when the routing events alone exceed the request", () => {
        expect(() => fitPutEventsRequest([mail(1, 60)], 1000)).to.throw(/more than one PutEvents request carries \(1000\)/);
        expect(PUT_EVENTS_REQUEST_BUDGET_BYTES).to.be.below(PUT_EVENTS_LIMIT);
    });
});
