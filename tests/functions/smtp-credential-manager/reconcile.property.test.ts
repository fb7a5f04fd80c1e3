// Property: whatever operators do to SMTP_USER# records, in whatever order the stream and the sweep
// run, and whatever IAM throws on the way (throttling, 5xx, a crash between two calls), IAM ends
// equal to each record's last desired state, with no user, key, policy or registry entry left over.
//
// Modelled: DynamoDB Streams deliver each change of an item once, in order, and a failed record is
// retried (maximumRetryAttempts) before it goes to the on-failure queue while later records wait;
// a write that changes nothing emits no record ("DynamoDB Streams", "Using Lambda with DynamoDB").
// A crash ends the invocation: nothing of it runs after, not even the failure bookkeeping.
import { IAMClient } from "@aws-sdk/client-iam";
import { expect } from "chai";
import fc from "fast-check";
import { deriveSmtpPassword } from "../../../functions/shared/smtp-password";
import { iamPort } from "../../../functions/smtp-credential-manager/adapters";
import {
    CREDENTIALS_SORT_KEY, desiredFingerprint, IAM_USER_SORT_KEY_PREFIX, parseSmtpRecord, senderValues, sendingPolicy, SMTP_USER_PREFIX,
} from "../../../functions/smtp-credential-manager/logic";
import { handleChange, ManagerContext, StorePort, sweep } from "../../../functions/smtp-credential-manager/manager";
import { FakeIam, SMTP_USER_BOUNDARY } from "../../support/fake-iam";
import { CONFIGURATION_SET, IDENTITY, TEST_SCOPE } from "./test-scope";

const SENDERS = ["app@example.com", "billing@example.com", "ops@example.com"];
const USERNAMES = ["app-sender", "billing"];
const STREAM_RETRIES = 5; // maxAttempts (3) + 2, as SmtpCredentials configures the mapping
const RUNS = Number(process.env.SMTP_SIM_RUNS ?? "200");
const SEED = process.env.SMTP_SIM_SEED ? Number(process.env.SMTP_SIM_SEED) : 20250118;

type Item = Record<string, unknown>;
class Crash extends Error {
    override name = "Crash";
}

/** A DynamoDB table of SMTP items with its stream, behind the manager's StorePort. */
class Table {
    readonly items = new Map<string, Item>();
    readonly stream: { eventName: string; old?: Item; new?: Item }[] = [];
    crashed = false;

    private write(pk: string, sk: string, next: Item | undefined): void {
        const key = `${pk}|${sk}`;
        const old = this.items.get(key);
        if (JSON.stringify(old) === JSON.stringify(next)) return;
        if (next) this.items.set(key, structuredClone(next));
        else this.items.delete(key);
        if (sk === CREDENTIALS_SORT_KEY) this.stream.push({ eventName: !next ? "REMOVE" : old ? "MODIFY" : "INSERT", old: old && structuredClone(old), new: next && structuredClone(next) });
    }
    get(username: string): Item | undefined {
        const item = this.items.get(`${SMTP_USER_PREFIX}${username}|${CREDENTIALS_SORT_KEY}`);
        return item && structuredClone(item);
    }
    put(username: string, item: Item | undefined): void {
        this.write(`${SMTP_USER_PREFIX}${username}`, CREDENTIALS_SORT_KEY, item);
    }

    port(): StorePort {
        const alive = () => { if (this.crashed) throw new Crash("crashed"); };
        const change = (username: string, edit: (item: Item) => void): boolean => {
            const item = this.get(username);
            if (!item) return false;
            edit(item);
            this.put(username, item);
            return true;
        };
        return {
            current: async (username) => { alive(); const item = this.get(username); return item ? parseSmtpRecord(item) : undefined; },
            update: async (username, fields, expect = {}) => {
                alive();
                const item = this.get(username);
                if (!item) return false;
                for (const [name, value] of Object.entries(expect)) {
                    if (value === undefined ? item[name] !== undefined : JSON.stringify(item[name]) !== JSON.stringify(value)) return false;
                }
                return change(username, (i) => {
                    for (const [name, value] of Object.entries(fields)) {
                        if (value === null) delete i[name];
                        else if (value !== undefined) i[name] = structuredClone(value);
                    }
                });
            },
            recordFailure: async (username, error, at, count) => {
                alive();
                let attempts = 0;
                change(username, (i) => {
                    attempts = Number(i.provision_attempts ?? 0) + (count ? 1 : 0);
                    Object.assign(i, { provision_attempts: attempts, last_error: error, last_attempt_at: at, out_of_sync_since: i.out_of_sync_since ?? at });
                });
                return attempts;
            },
            all: async () => { alive(); return [...this.items.values()].filter((i) => i.SK === CREDENTIALS_SORT_KEY).map(parseSmtpRecord); },
            touch: async (username, at) => { alive(); change(username, (i) => Object.assign(i, { reconcile_requested_at: at, out_of_sync_since: i.out_of_sync_since ?? at })); },
            registerUser: async (username, iamUser, at) => {
                alive();
                this.write(`${SMTP_USER_PREFIX}${username}`, `${IAM_USER_SORT_KEY_PREFIX}${iamUser}`, { PK: `${SMTP_USER_PREFIX}${username}`, SK: `${IAM_USER_SORT_KEY_PREFIX}${iamUser}`, iam_user_name: iamUser, registered_at: at });
            },
            registeredUsers: async () => {
                alive();
                return [...this.items.values()].filter((i) => String(i.SK).startsWith(IAM_USER_SORT_KEY_PREFIX))
                    .map((i) => ({ username: String(i.PK).slice(SMTP_USER_PREFIX.length), iamUser: String(i.iam_user_name), registeredAt: String(i.registered_at) }));
            },
            unregisterUser: async (username, iamUser) => { alive(); this.write(`${SMTP_USER_PREFIX}${username}`, `${IAM_USER_SORT_KEY_PREFIX}${iamUser}`, undefined); },
        };
    }
}

/** Deterministic randomness for the faults of one run. */
function prng(seed: number) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const edit = fc.record({
    user: fc.integer({ min: 0, max: USERNAMES.length - 1 }),
    op: fc.constantFrom("insert", "pending", "active", "disabled", "senders", "rotate", "delete", "sweep"),
    senders: fc.subarray(SENDERS),
    advanceMinutes: fc.integer({ min: 0, max: 150 }),
    deliver: fc.constantFrom("all", "some", "none"),
});

describe("SMTP reconcile property (fake IAM with faults, modelled stream and sweep)", () => {
    it("ends with IAM equal to every record's last desired state, nothing orphaned", async () => {
        const figures = { sequences: 0, edits: 0, deliveries: 0, sweeps: 0, faults: { throttling: 0, serverError: 0, crashBefore: 0, crashAfter: 0 }, streamRetries: 0, onFailureQueue: 0, failedRecords: 0, mismatches: 0 };
        const mismatchExamples: string[] = [];

        await fc.assert(fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 25 }), fc.integer({ min: 0, max: 35 }), fc.integer(), async (edits, faultPercent, faultSeed) => {
            figures.sequences += 1;
            const iam = new FakeIam(new IAMClient({ region: "us-east-1" }));
            const table = new Table();
            const random = prng(faultSeed);
            let clock = Date.parse("2025-01-18T10:00:00Z");
            let faulty = true;
            iam.fault = (command) => {
                if (table.crashed) return { error: new Crash("crashed") };
                if (!faulty || random() * 100 >= faultPercent) return undefined;
                const kind = Math.floor(random() * 4);
                if (kind === 0) { figures.faults.throttling += 1; return { error: Object.assign(new Error("Rate exceeded"), { name: "Throttling", $metadata: { httpStatusCode: 400 } }) }; }
                if (kind === 1) { figures.faults.serverError += 1; return { error: Object.assign(new Error("Service failure"), { name: "ServiceFailure", $metadata: { httpStatusCode: 500 } }) }; }
                table.crashed = true;
                if (kind === 2) { figures.faults.crashBefore += 1; return { error: new Crash(`crash before ${command}`) }; }
                figures.faults.crashAfter += 1;
                return { error: new Crash(`crash after ${command}`), after: true };
            };
            const context: ManagerContext = {
                iam: iamPort(iam.client), store: table.port(),
                encrypt: async (username, plaintext) => {
                    if (table.crashed) throw new Crash("crashed");
                    return Buffer.from(`kms(${username}):${plaintext}`).toString("base64");
                },
                ...TEST_SCOPE, now: () => new Date(clock), metric: () => undefined, log: () => undefined,
            };
            /** One Lambda invocation per stream record: retried while it fails, then sent to the on-failure queue. */
            const deliverOne = async () => {
                const record = table.stream.shift()!;
                for (let attempt = 0; attempt <= STREAM_RETRIES; attempt++) {
                    table.crashed = false;
                    figures.deliveries += 1;
                    try {
                        await handleChange(record.eventName, record.old && parseSmtpRecord(record.old), record.new && parseSmtpRecord(record.new), context);
                        return;
                    } catch {
                        figures.streamRetries += attempt < STREAM_RETRIES ? 1 : 0;
                    }
                }
                figures.onFailureQueue += 1;
            };
            const drain = async (limit = Infinity) => {
                for (let n = 0; n < limit && table.stream.length; n++) await deliverOne();
                table.crashed = false;
            };
            const runSweep = async () => {
                figures.sweeps += 1;
                table.crashed = false;
                await sweep(context).catch(() => undefined);
                table.crashed = false;
            };
            let rotation = 0;

            for (const step of edits) {
                figures.edits += 1;
                clock += step.advanceMinutes * 60_000;
                const username = USERNAMES[step.user];
                const item = table.get(username);
                // Operators write whole items (put-item), as docs/SENDING.md shows.
                if (step.op === "sweep") await runSweep();
                else if (step.op === "insert") {
                    if (!item) table.put(username, { PK: `${SMTP_USER_PREFIX}${username}`, SK: CREDENTIALS_SORT_KEY, entity_type: "SMTP_CREDENTIALS", username, allowed_senders: step.senders, status: "pending" });
                } else if (item) {
                    if (step.op === "delete") table.put(username, undefined);
                    else if (step.op === "senders") table.put(username, { ...item, allowed_senders: step.senders });
                    else if (step.op === "rotate") table.put(username, { ...item, rotate_requested_at: `rotation-${(rotation += 1)}` });
                    else table.put(username, { ...item, status: step.op });
                }
                if (step.deliver === "all") await drain();
                else if (step.deliver === "some") await drain(1);
            }

            // Faults stop; the stream finishes, then the hourly sweep runs until nothing is left to do.
            faulty = false;
            await drain();
            for (let hour = 0; hour < 4; hour++) {
                clock += 3600_000;
                await runSweep();
                await drain();
            }

            const mismatches: string[] = [];
            const named = new Set<string>();
            for (const username of USERNAMES) {
                const item = table.get(username);
                const mine = [...iam.users.entries()].filter(([, u]) => u.tags.SmtpUsername === username);
                if (!item) {
                    if (mine.length) mismatches.push(`${username}: deleted, but IAM still has ${mine.map(([n]) => n).join(",")}`);
                    continue;
                }
                const record = parseSmtpRecord(item);
                if (record.status === "failed") figures.failedRecords += 1;
                if (record.iamUserName) named.add(record.iamUserName);
                const user = record.iamUserName ? iam.users.get(record.iamUserName) : undefined;
                if (record.lastError || record.outOfSyncSince) mismatches.push(`${username}: still out of sync (${record.lastError})`);
                if (record.status === "pending" || record.status === "failed") { mismatches.push(`${username}: ended ${record.status}`); continue; }
                if (record.reconciled !== desiredFingerprint(record, context)) mismatches.push(`${username}: not marked in sync`);
                if (record.status === "active" || record.smtpUsername) {
                    if (!user) { mismatches.push(`${username}: ${record.status} but no IAM user`); continue; }
                    const wanted = record.status === "active" ? "Active" : "Inactive";
                    if (JSON.stringify(user.keys.map((k) => [k.id, k.status])) !== JSON.stringify([[record.smtpUsername, wanted]])) mismatches.push(`${username}: keys ${JSON.stringify(user.keys.map((k) => [k.id, k.status]))}, wanted [${record.smtpUsername}, ${wanted}]`);
                    const credentials = JSON.parse(Buffer.from(String(item.encrypted_credentials), "base64").toString("utf8").replace(/^kms\([^)]*\):/, ""));
                    const key = user.keys.find((k) => k.id === credentials.access_key_id);
                    if (!key || deriveSmtpPassword(key.secret, "us-east-1") !== credentials.smtp_password) mismatches.push(`${username}: stored credentials do not match the key`);
                    if (record.retiringKey) mismatches.push(`${username}: a retiring key outlived its overlap`);
                    if (record.rotateRequestedAt !== undefined && record.rotatedAt !== record.rotateRequestedAt) mismatches.push(`${username}: rotation ${record.rotateRequestedAt} not done`);
                }
                if (user) {
                    if (user.permissionsBoundary !== SMTP_USER_BOUNDARY) mismatches.push(`${username}: boundary ${user.permissionsBoundary}`);
                    if (JSON.stringify(Object.keys(user.policies)) !== JSON.stringify(["ses-smtp-send"])) mismatches.push(`${username}: policies ${Object.keys(user.policies)}`);
                    else if (JSON.stringify(JSON.parse(user.policies["ses-smtp-send"])) !== JSON.stringify(sendingPolicy([IDENTITY], [CONFIGURATION_SET], senderValues(record, [IDENTITY]).values))) mismatches.push(`${username}: policy differs from allowed_senders`);
                    if (record.status === "disabled" && user.keys.some((k) => k.status === "Active")) mismatches.push(`${username}: disabled with an Active key`);
                }
            }
            for (const name of iam.users.keys()) if (!named.has(name)) mismatches.push(`orphaned IAM user ${name}`);
            const registered = [...table.items.values()].filter((i) => String(i.SK).startsWith(IAM_USER_SORT_KEY_PREFIX)).map((i) => String(i.iam_user_name));
            for (const name of registered) if (!named.has(name)) mismatches.push(`registry entry without a user: ${name}`);
            iam.stub.restore();
            figures.mismatches += mismatches.length;
            if (mismatches.length) mismatchExamples.push(...mismatches.slice(0, 3));
            return mismatches.length === 0;
        }), { numRuns: RUNS, seed: SEED, endOnFailure: true });

        console.log(`      reconcile property: ${JSON.stringify(figures)}`);
        expect(mismatchExamples).to.deep.equal([]);
        expect(figures.mismatches).to.equal(0);
        expect(figures.faults.crashAfter + figures.faults.crashBefore).to.be.greaterThan(0);
    });
});
