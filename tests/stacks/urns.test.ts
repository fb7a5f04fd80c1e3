import { readFileSync } from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { resolveSendingGuardSettings, sendingGuardAlarmNames } from "../../components/sending-guard";
import { cachedStack } from "../support/stack";

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
    // an SMTP record marked failed (WARNING tier: not in test, alarms.warnings false)
    ...(stack === "test" ? [] : [`alarms-ses-mail-smtp-credential-refused-${stack}`]),
    `alarms-ses-mail-smtp-credential-stuck-${stack}`, // SMTP records out of sync longer than the threshold
    "smtp-user-boundary", // the permissions boundary every SMTP user carries
    ...(stack === "prod" ? ["suppression-mirror-claims"] : []), // which SES suppression entries the mirror put there
    "smtp-restricted-senders", "smtp-restricted-senders-permission", // #15.6: restrictions reach the SMTP manager (SNS → Lambda, filtered)
    // SendingGuard (#15.5): the emergency brake (rule → function, DLQ, retries) and the send-quota check (schedule → function)
    "sending", "sending-brake-rule", "sending-brake-target", "sending-brake-permission", "sending-brake-invoke-config", "sending-brake-dlq", "sending-brake-dlq-policy",
    "sending-brake", "sending-brake-role", "sending-brake-policy", "sending-brake-logs",
    // The send-quota check only where the account's quota is watched (test shares prod's account: sending.quotaCheck false).
    ...(stack === "prod" ? ["sending-quota", "sending-quota-role", "sending-quota-policy", "sending-quota-logs", "sending-quota-scheduler-role", "sending-quota-scheduler-policy", "sending-quota-schedule"] : []),
    // and its alarms: brake tier, quota tiers, its functions' and DLQ's (named as the Alarms component names them)
    ...sendingGuardAlarmNames(resolveSendingGuardSettings({ env: stack, ...(stack === "test" ? { quotaCheck: false, warnings: false } : {}) })).map((alarm) => `sending-${alarm}`),
    // Issue #20: one KMS key per stack (ses-mail:kms), which takes over smtp-key's URN by an alias (the
    // mocks show the new name; Pulumi matches it to smtp-key's state: no new key, no replacement).
    "stack-key", "stack-key-alias",
    // and the Lambda throttles of the account in one alarm (instead of one per function), where the account is watched.
    ...(stack === "prod" ? ["alarms-ses-mail-lambda-throttles-prod"] : []),
];

/**
 * Resources removed on purpose (logical names). Test joins the account's active receipt rule set
 * instead of activating its own (which switched prod's off), and no longer mirrors into the
 * account-level suppression list that prod mirrors into. docs/DEPLOYING.md "Deploying into an account that
 * already uses SES" gives the order to apply this in.
 */
const REMOVED = (stack: string) => [
    ...(stack !== "test" ? [] : [
        "ingest-rule-set", "ingest-active-rule-set",
        "suppression-mirror", "suppression-mirror-role", "suppression-mirror-policy", "suppression-mirror-logs", "suppression-mirror-stream",
        "suppression-mirror-dlq", "suppression-mirror-dlq-policy",
        "alarms-ses-mail-suppression-mirror-dlq-messages-test", "alarms-ses-mail-suppression-mirror-errors-test",
    ]),
    // Issue #20, alarms (no data in them): one alarm on the account's Lambda throttles replaces one per function.
    ...["bouncer", "feedback-worker", "gmail-forwarder", "router", "smtp-credential-manager", ...(stack === "prod" ? ["gmail-token-probe-support-team-gmail-com", "suppression-mirror"] : ["gmail-token-probe-you-gmail-com", "suppression-mirror"])]
        .map((fn) => `alarms-ses-mail-${fn}-throttles-${stack}`),
    // smtp-key and its alias: the stack key took the key over (alias; its policy and alias name change, the key stays).
    "smtp-key", "smtp-key-alias",
    ...(stack !== "test" ? [] : [
        // Test runs CRITICAL alarms only (alarms.warnings false), and leaves the account's figures (SES
        // reputation, Lambda throttles) to prod in the same account (alarms.accountAlarms false).
        "alarms-ses-high-bounce-rate-WARNING-test", "alarms-ses-high-complaint-rate-WARNING-test", "alarms-ses-high-send-failure-rate-WARNING-test",
        "alarms-ses-suppressions-added-WARNING-test", "ingest-token-you-gmail-com-expiring-WARNING",
        "alarms-ses-reputation-bounce-rate-CRITICAL-test", "alarms-ses-reputation-complaint-rate-CRITICAL-test",
        // No component key leaves either stack: both are on kms.mode migrating, which keeps the old keys declared
        // (retained on delete, recorded in state by this release's deploy). They leave in the release that
        // flips a stack to shared, after the state check (docs/OPERATIONS.md, "One KMS key per stack").
    ]),
];

describe("stack URNs (no deployed resource is replaced; removals only on purpose)", () => {
    for (const stack of ["test", "prod"]) {
        it(`${stack}: every deployed URN is still there, and only the intended resources are new`, async () => {
            const { plan } = await cachedStack(stack);
            const now = plan.resources.map((r) => r.urn);
            const gone = DEPLOYED(stack).filter((urn) => !now.includes(urn)).map((urn) => urn.split("::").pop());
            expect([...new Set(gone)].sort(), "URNs that would be replaced or deleted").to.deep.equal(REMOVED(stack).sort());
            const added = now.filter((urn) => !DEPLOYED(stack).includes(urn)).map((urn) => urn.split("::").pop());
            expect([...new Set(added)].sort()).to.deep.equal(ADDED(stack).sort());
        });
    }
});
