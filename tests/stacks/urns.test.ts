import { readFileSync } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { runStack } from "../support/stack";

// A changed URN makes Pulumi replace the resource: a bucket or table replaced is mail and rules gone.
// The fixtures are both stacks' URN sets as deployed before MailIngest was split into parts.
const DEPLOYED = (stack: string): string[] => JSON.parse(readFileSync(path.join(__dirname, "..", "fixtures", `stack-urns-${stack}.json`), "utf8"));

/** Resources added since (logical names), each on purpose. */
const ADDED = (stack: string) => [
    "ingest-routing-events-dlq", // DeadLetterQueue component, its queue and policy: the invalid bus target's DLQ
    "ingest-routing-events-dlq-policy",
    `alarms-ses-mail-routing-events-dlq-messages-${stack}`, // and its alarm
    `alarms-ses-mail-routing-rule-invalid-${stack}`, // a routing rule the router cannot use
    `alarms-ses-mail-smtp-credential-failures-${stack}`, // SMTP users not reconciled with their records
    `alarms-ses-mail-smtp-credential-refused-${stack}`, // an SMTP record marked failed
    `alarms-ses-mail-smtp-credential-stuck-${stack}`, // SMTP records out of sync longer than the threshold
];

describe("stack URNs (no deployed resource is replaced)", () => {
    for (const stack of ["test", "prod"]) {
        it(`${stack}: every deployed URN is still there, and only the intended resources are new`, async () => {
            const { plan } = await runStack(stack);
            const now = plan.resources.map((r) => r.urn);
            expect(DEPLOYED(stack).filter((urn) => !now.includes(urn)), "URNs that would be replaced or deleted").to.deep.equal([]);
            const added = now.filter((urn) => !DEPLOYED(stack).includes(urn)).map((urn) => urn.split("::").pop());
            expect([...new Set(added)].sort()).to.deep.equal(ADDED(stack).sort());
        });
    }
});
