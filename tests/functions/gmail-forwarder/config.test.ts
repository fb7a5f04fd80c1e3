import { expect } from "chai";
import { forwarderConfig } from "../../../functions/gmail-forwarder/config";
import { GMAIL_IMPORT_LIMIT_BYTES } from "../../../functions/gmail-forwarder/limits";

describe("forwarder configuration (environment read at cold start)", () => {
    const env = {
        RETRY_QUEUE_URL: "https://sqs/retry", DLQ_URL: "https://sqs/dlq", FORWARDER_QUEUE_URL: "https://sqs/forwarder", MAX_RECEIVE_COUNT: "5",
        SSM_PREFIX: "/ses-mail/test/gmail-forwarder", GMAIL_ACCOUNTS: " Team@Gmail.com, ops@gmail.com ,", IDEMPOTENCY_TABLE_NAME: "t",
        IMPORT_MIN_INTERVAL_MS: "200",
    };

    it("fills documented defaults: Gmail's import limit, dateHeader, spam marking on", () => {
        expect(forwarderConfig(env)).to.deep.equal({
            retryQueueUrl: "https://sqs/retry", deadLetterQueueUrl: "https://sqs/dlq", forwarderQueueUrl: "https://sqs/forwarder", maxReceiveCount: 5,
            ssmPrefix: "/ses-mail/test/gmail-forwarder", accounts: ["team@gmail.com", "ops@gmail.com"], idempotencyTableName: "t",
            maxImportBytes: GMAIL_IMPORT_LIMIT_BYTES, internalDateSource: "dateHeader", neverMarkSpam: false, credentialCacheMs: 300_000, importIntervalMs: 200,
            endpoints: { apiRootUrl: undefined, tokenUrl: undefined },
        });
        expect(GMAIL_IMPORT_LIMIT_BYTES).to.equal(150 * 1024 * 1024);
    });

    it("keeps what the component sets", () => {
        const config = forwarderConfig({ ...env, MAX_RECEIVE_COUNT: "7", MAX_IMPORT_BYTES: "1000", INTERNAL_DATE_SOURCE: "receivedTime", NEVER_MARK_SPAM: "true", GMAIL_ACCOUNTS: "" });
        expect(config).to.deep.include({ maxReceiveCount: 7, maxImportBytes: 1000, internalDateSource: "receivedTime", neverMarkSpam: true, accounts: [] });
    });

    const failures: [string, Record<string, string | undefined>, RegExp][] = [
        ["MAX_RECEIVE_COUNT missing", { MAX_RECEIVE_COUNT: undefined }, /MAX_RECEIVE_COUNT is not set; it must be the forwarder queue's maxReceiveCount/],
        ["MAX_RECEIVE_COUNT empty", { MAX_RECEIVE_COUNT: "" }, /MAX_RECEIVE_COUNT is not set/],
        ["MAX_RECEIVE_COUNT not a number", { MAX_RECEIVE_COUNT: "five" }, /MAX_RECEIVE_COUNT is "five"; it must be the forwarder queue's maxReceiveCount .*, a whole number from 1 to 1000/],
        ["MAX_RECEIVE_COUNT zero", { MAX_RECEIVE_COUNT: "0" }, /MAX_RECEIVE_COUNT is "0"/],
        ["MAX_RECEIVE_COUNT fractional", { MAX_RECEIVE_COUNT: "2.5" }, /MAX_RECEIVE_COUNT is "2.5"/],
        ["FORWARDER_QUEUE_URL missing", { FORWARDER_QUEUE_URL: undefined }, /FORWARDER_QUEUE_URL is not set/],
        ["GMAIL_ACCOUNTS missing", { GMAIL_ACCOUNTS: undefined }, /GMAIL_ACCOUNTS is not set/],
        ["MAX_IMPORT_BYTES above Gmail's limit", { MAX_IMPORT_BYTES: String(GMAIL_IMPORT_LIMIT_BYTES + 1) }, new RegExp(`MAX_IMPORT_BYTES is "${GMAIL_IMPORT_LIMIT_BYTES + 1}"; .* from 1 to ${GMAIL_IMPORT_LIMIT_BYTES}`)],
        ["IMPORT_MIN_INTERVAL_MS missing", { IMPORT_MIN_INTERVAL_MS: undefined }, /IMPORT_MIN_INTERVAL_MS is not set; it must be milliseconds between imports/],
        ["INTERNAL_DATE_SOURCE unknown", { INTERNAL_DATE_SOURCE: "header" }, /INTERNAL_DATE_SOURCE is "header"; it must be one of dateHeader, receivedTime/],
        ["NEVER_MARK_SPAM not a boolean", { NEVER_MARK_SPAM: "yes" }, /NEVER_MARK_SPAM is "yes"; it must be one of true, false/],
    ];
    for (const [title, change, message] of failures) {
        it(`fails at init with the variable and the fix: ${title}`, () => {
            const broken: Record<string, string | undefined> = { ...env, ...change };
            for (const key of Object.keys(change)) if (change[key] === undefined) delete broken[key];
            expect(() => forwarderConfig(broken)).to.throw(message);
        });
    }
});
