import { readFileSync } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { resolveSendingGuardSettings, sendingGuardAlarmNames } from "../../components/sending-guard";
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
    "smtp-user-boundary", // the permissions boundary every SMTP user carries
    ...(stack === "prod" ? ["suppression-mirror-claims"] : []), // which SES suppression entries the mirror put there
    "smtp-restricted-senders", "smtp-restricted-senders-permission", // #15.6: restrictions reach the SMTP manager (SNS → Lambda, filtered)
    // SendingGuard (#15.5): the emergency brake (rule → function, DLQ, retries) and the send-quota check (schedule → function)
    "sending", "sending-brake-rule", "sending-brake-target", "sending-brake-permission", "sending-brake-invoke-config", "sending-brake-dlq", "sending-brake-dlq-policy",
    "sending-brake", "sending-brake-role", "sending-brake-policy", "sending-brake-logs",
    "sending-quota", "sending-quota-role", "sending-quota-policy", "sending-quota-logs", "sending-quota-scheduler-role", "sending-quota-scheduler-policy", "sending-quota-schedule",
    // and its alarms: brake tier, quota tiers, its functions' and DLQ's (named as the Alarms component names them)
    ...sendingGuardAlarmNames(resolveSendingGuardSettings({ env: stack })).map((alarm) => `sending-${alarm}`),
];

/**
 * Resources removed on purpose (logical names). Test joins the account's active receipt rule set
 * instead of activating its own (which switched prod's off), and no longer mirrors into the
 * account-level suppression list that prod mirrors into. README "Deploying into an account that
 * already uses SES" gives the order to apply this in.
 */
const REMOVED = (stack: string) => stack !== "test" ? [] : [
    "ingest-rule-set", "ingest-active-rule-set",
    "suppression-mirror", "suppression-mirror-role", "suppression-mirror-policy", "suppression-mirror-logs", "suppression-mirror-stream",
    "suppression-mirror-dlq", "suppression-mirror-dlq-policy",
    "alarms-ses-mail-suppression-mirror-dlq-messages-test", "alarms-ses-mail-suppression-mirror-errors-test", "alarms-ses-mail-suppression-mirror-throttles-test",
];

describe("stack URNs (no deployed resource is replaced; removals only on purpose)", () => {
    for (const stack of ["test", "prod"]) {
        it(`${stack}: every deployed URN is still there, and only the intended resources are new`, async () => {
            const { plan } = await runStack(stack);
            const now = plan.resources.map((r) => r.urn);
            const gone = DEPLOYED(stack).filter((urn) => !now.includes(urn)).map((urn) => urn.split("::").pop());
            expect([...new Set(gone)].sort(), "URNs that would be replaced or deleted").to.deep.equal(REMOVED(stack).sort());
            const added = now.filter((urn) => !DEPLOYED(stack).includes(urn)).map((urn) => urn.split("::").pop());
            expect([...new Set(added)].sort()).to.deep.equal(ADDED(stack).sort());
        });
    }
});
