import { expect } from "chai";
import { InvalidInputError } from "../../../functions/shared/email";
import type { SuppressionEntry } from "../../../functions/shared/suppression-client";
import { addressOf, desiredState } from "../../../functions/suppression-mirror/logic";
import { streamRecord, suppressionKeys } from "../../fixtures/dynamodb-stream";

const entry = (reason: SuppressionEntry["reason"]): SuppressionEntry => ({ email: "a@example.edu", reason, addedAt: 1 });

describe("suppression-mirror logic", () => {
    const cases: [string, SuppressionEntry[], ReturnType<typeof desiredState>][] = [
        ["no entries left → delete from SES", [], { kind: "delete", email: "a@example.edu" }],
        ["bounce → BOUNCE", [entry("bounce")], { kind: "put", email: "a@example.edu", reason: "BOUNCE" }],
        ["manual → BOUNCE (SES has no manual reason)", [entry("manual")], { kind: "put", email: "a@example.edu", reason: "BOUNCE" }],
        ["complaint → COMPLAINT", [entry("complaint")], { kind: "put", email: "a@example.edu", reason: "COMPLAINT" }],
        ["complaint outranks bounce", [entry("bounce"), entry("complaint")], { kind: "put", email: "a@example.edu", reason: "COMPLAINT" }],
    ];
    for (const [title, entries, expected] of cases) {
        it(title, () => expect(desiredState("a@example.edu", entries)).to.deep.equal(expected));
    }

    it("reads the address from the record keys, normalised", () => {
        expect(addressOf(streamRecord("REMOVE", suppressionKeys("A@Example.EDU", "bounce")))).to.equal("a@example.edu");
    });

    it("rejects a record without an email key as permanent bad input", () => {
        expect(() => addressOf(streamRecord("INSERT", { PK: { S: "ROUTE#x" } }))).to.throw(InvalidInputError, /has no email key/);
    });
});
