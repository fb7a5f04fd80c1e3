// What a Pulumi user adapting the components relies on (issue #24): `env` from the stack name,
// grants that allow exactly what the runtime clients call (IAM policy simulator over the calls the
// clients really make against dynalite), per-child transforms that change one argument and nothing
// else (and cannot slip past the policy pack), and an explicit provider reaching every child and invoke.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DecryptCommand, KMSClient } from "@aws-sdk/client-kms";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import * as aws from "@pulumi/aws";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import * as fc from "fast-check";
import { main } from "../../cli/main";
import { Alarms } from "../../components/alarms";
import { OperationsDashboard } from "../../components/dashboard";
import { FeedbackPipeline } from "../../components/feedback-pipeline";
import { MailDomain } from "../../components/mail-domain";
import { MailIngest, MailIngestArgs } from "../../components/mail-ingest";
import { Runbooks } from "../../components/runbooks";
import { SavedQueries } from "../../components/saved-queries";
import { SmtpCredentials } from "../../components/smtp-credentials";
import { resolveEnv } from "../../components/stack-env";
import { SuppressionStore, SuppressionStoreArgs } from "../../components/suppression-store";
import { applyTransform } from "../../components/transform";
import { SuppressionClient } from "../../functions/shared/suppression-client";
import { createTableFrom, LocalDynamo, startDynalite } from "../support/dynalite";
import { MOCK_ACCOUNT as ACCOUNT, promiseOf, RecordedResource, ResourcePlan, runUnderMocks } from "../support/mocks";
import { decide, violationNames } from "../support/policy";

const ROOT = path.resolve(__dirname, "..", "..");
const tableArn = (table: string) => `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${table}`;
const roleArn = (role: string) => `arn:aws:iam::${ACCOUNT}:role/${role}`;
const store = (args: Partial<SuppressionStoreArgs> = {}) => new SuppressionStore("suppression", { env: "test", ...args });
const ingest = (args: Partial<MailIngestArgs> = {}) => new MailIngest("ingest", { env: "test", domains: ["mail-test.example.com"], suppressionStore: store(), ...args });

// ---------------------------------------------------------------------------------------------
// What the runtime clients call, as IAM sees each call
// ---------------------------------------------------------------------------------------------

/**
 * One DynamoDB request as IAM authorises it ("Actions, resources, and condition keys for Amazon DynamoDB"); keyed
 * requests carry their partition key values as dynamodb:LeadingKeys ("Using IAM policy conditions for
 * fine-grained access control", DynamoDB Developer Guide).
 */
interface DynamoCall {
    action: string;
    resource: string;
    /** `dynamodb:LeadingKeys`: the partition key values the request names (none for Scan). */
    leadingKeys?: string[];
}

/** Command class names (client-dynamodb and lib-dynamodb) → IAM action. */
const ACTION_OF: Record<string, string> = {
    GetItem: "GetItem", Get: "GetItem", PutItem: "PutItem", Put: "PutItem", UpdateItem: "UpdateItem", Update: "UpdateItem",
    DeleteItem: "DeleteItem", Delete: "DeleteItem", Query: "Query", Scan: "Scan", BatchGetItem: "BatchGetItem", BatchGet: "BatchGetItem",
    BatchWriteItem: "BatchWriteItem", BatchWrite: "BatchWriteItem",
};
const partitionValue = (key: Record<string, any> | undefined): string | undefined => {
    const value = key?.PK ?? key?.email;
    return value === undefined ? undefined : typeof value === "string" ? value : value.S;
};

function asCalls(command: { constructor: { name: string }; input: Record<string, any> }): DynamoCall[] {
    const name = command.constructor.name.replace(/Command$/, "");
    const action = `dynamodb:${ACTION_OF[name] ?? name}`;
    const input = command.input;
    if (input.RequestItems) {
        return Object.entries(input.RequestItems as Record<string, { Keys: Record<string, any>[] }>).map(([table, request]) => ({
            action, resource: tableArn(table), leadingKeys: request.Keys.map(partitionValue).filter((k): k is string => k !== undefined),
        }));
    }
    const key = partitionValue(input.Key ?? input.Item);
    return [{ action, resource: `${tableArn(input.TableName)}${input.IndexName ? `/index/${input.IndexName}` : ""}`, ...(key ? { leadingKeys: [key] } : {}) }];
}

/**
 * Records every DynamoDB request sent through any client (the CLI makes its own) while `run` runs,
 * then lets it through: the requests are the runtime code's own, answered by dynalite.
 */
async function recordDynamoCalls(run: () => Promise<unknown>): Promise<DynamoCall[]> {
    const calls: DynamoCall[] = [];
    const prototypes = [DynamoDBClient.prototype, DynamoDBDocumentClient.prototype] as { send: (...args: any[]) => any }[];
    const originals = prototypes.map((proto) => Object.getOwnPropertyDescriptor(proto, "send"));
    prototypes.forEach((proto) => {
        const send = proto.send;
        proto.send = function (this: unknown, command: any, ...rest: unknown[]) {
            calls.push(...asCalls(command));
            return send.call(this, command, ...rest);
        };
    });
    try {
        await run();
    } finally {
        prototypes.forEach((proto, i) => (originals[i] ? Object.defineProperty(proto, "send", originals[i]) : delete (proto as { send?: unknown }).send));
    }
    return calls;
}

/** Every item and table action, on every resource given: the universe "nothing more" is checked over. */
const KEYED_ACTIONS = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchGetItem", "BatchWriteItem", "ConditionCheckItem"].map((a) => `dynamodb:${a}`);
const UNKEYED_ACTIONS = ["Scan", "DescribeTable", "UpdateTable", "DeleteTable", "PartiQLSelect", "PartiQLUpdate"].map((a) => `dynamodb:${a}`);

/** `action resource` pairs the policy allows, for keyed requests naming `leadingKeys` (as DynamoDB always sets them for keyed requests). */
async function allowedPairs(policy: object, principal: string, resources: string[], leadingKeys: string[]): Promise<string[]> {
    const requests = [...KEYED_ACTIONS, ...UNKEYED_ACTIONS].flatMap((action) => resources.map((resource) => ({ action, resource })));
    const decisions = await Promise.all(requests.map(({ action, resource }) => decide({ identity: [policy] }, {
        principal, action, resource, context: KEYED_ACTIONS.includes(action) ? { "dynamodb:LeadingKeys": leadingKeys } : {},
    })));
    return requests.filter((_, i) => decisions[i] === "Allowed").map(({ action, resource }) => `${action} ${resource}`).sort();
}

const pairsOf = (calls: DynamoCall[]) => [...new Set(calls.map((c) => `${c.action} ${c.resource}`))].sort();

/** Each recorded call, with its own leading keys, is allowed. */
async function expectAllowed(policy: object, principal: string, calls: DynamoCall[]): Promise<void> {
    const decisions = await Promise.all(calls.map((c) => decide({ identity: [policy] }, {
        principal, action: c.action, resource: c.resource, context: c.leadingKeys ? { "dynamodb:LeadingKeys": c.leadingKeys } : {},
    })));
    expect(calls.filter((_, i) => decisions[i] !== "Allowed")).to.deep.equal([]);
}

/** The full property set of a plan: `<logical name>.<input>` → its JSON, plus every URN. */
function properties(plan: ResourcePlan): Map<string, string> {
    const props = new Map<string, string>();
    for (const r of plan.resources) {
        props.set(`${r.urn}`, "");
        for (const [key, value] of Object.entries(r.inputs)) props.set(`${r.name}.${key}`, JSON.stringify(value));
    }
    return props;
}

/** The properties that differ between two plans (added, removed or changed), sorted. */
function changed(before: ResourcePlan, after: ResourcePlan): string[] {
    const [a, b] = [properties(before), properties(after)];
    return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
}

describe("Customising components (issue #24)", () => {
    describe("env defaults to the stack name", () => {
        it("resolveEnv: an explicit env always wins; otherwise any stack name that can end a physical name is taken as it is", () => {
            fc.assert(fc.property(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/), fc.string(), (stack, explicit) => {
                expect(resolveEnv("X", undefined, () => stack)).to.equal(stack);
                expect(resolveEnv("X", explicit, () => stack)).to.equal(explicit);
            }));
        });

        it("resolveEnv: a stack name Pulumi allows but a physical name does not is refused, naming the fix", () => {
            // Pulumi stack names may hold letters, digits, '-', '_' and '.' (Pulumi docs, "Stacks").
            for (const stack of ["Prod", "dev_1", "v1.2", "-x", "x-"]) {
                expect(() => resolveEnv("SuppressionStore", undefined, () => stack)).to.throw(`SuppressionStore: env defaults to the stack name, but "${stack}" is not a valid env`);
            }
            fc.assert(fc.property(fc.string({ minLength: 1 }).filter((s) => !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s)), (stack) => {
                expect(() => resolveEnv("X", undefined, () => stack)).to.throw(/pass env explicitly/);
            }));
        });

        it("every component without env plans exactly what it plans with env = the stack name", async () => {
            const program = (env: string | undefined) => () => {
                const suppression = new SuppressionStore("suppression", { env, mirrorToSes: true });
                const feedback = new FeedbackPipeline("feedback", { env, suppressionStore: suppression, domains: ["example.com"] });
                const mail = new MailIngest("ingest", { env, domains: ["mail.example.com"], suppressionStore: suppression, gmailAccounts: ["me@gmail.com"] });
                new SmtpCredentials("smtp", { env, table: mail.routingTable, identityArns: feedback.mailDomains.map((d) => d.identityArn) });
                new MailDomain("extra", { env, domain: "extra.example.com" });
                new Alarms("alarms", { env, functions: { router: mail.router.functionName }, deadLetterQueues: { input: mail.inputQueue.dlq.name } });
                new OperationsDashboard("dashboard", { env, functions: { router: mail.router.functionName }, queues: { input: mail.inputQueue.name }, deadLetterQueues: { input: mail.inputQueue.dlq.name } });
                new SavedQueries("queries", { env, logGroups: { router: mail.router.logGroup.name } });
                new Runbooks("runbooks", { env, queues: { input: { queueUrl: mail.inputQueue.url, queueArn: mail.inputQueue.arn, dlqUrl: mail.inputQueue.dlq.url, dlqArn: mail.inputQueue.dlq.arn } } });
            };
            const implicit = (await runUnderMocks(program(undefined), { stack: "staging" })).plan;
            const explicit = (await runUnderMocks(program("staging"), { stack: "staging" })).plan;
            expect(changed(explicit, implicit)).to.deep.equal([]);
            expect(implicit.one("aws:dynamodb/table:Table", "suppression-mirror-claims").inputs.name).to.equal("ses-mail-suppression-mirror-claims-staging");
            expect(implicit.one("aws:sesv2/configurationSet:ConfigurationSet").inputs.configurationSetName).to.equal("ses-mail-outbound-staging");
            expect(implicit.one("aws:dynamodb/table:Table", "ingest-routing").inputs).to.deep.include({ name: "ses-mail-email-routing-staging" });
            expect(implicit.one("aws:lambda/function:Function", "smtp-manager").inputs.environment.variables.ENVIRONMENT).to.equal("staging");
            expect(implicit.one("aws:sesv2/emailIdentity:EmailIdentity", "extra").inputs.tags.Environment).to.equal("staging");
            expect(implicit.one("aws:cloudwatch/dashboard:Dashboard").inputs.dashboardName).to.equal("ses-mail-dashboard-staging");
            expect(implicit.ofType("aws:ssm/document:Document").map((d) => d.inputs.name).sort()).to.deep.equal(["SESMail-DLQ-Redrive-staging", "SESMail-Queue-HealthCheck-staging"]);
            expect(implicit.ofType("aws:cloudwatch/metricAlarm:MetricAlarm").filter((a) => a.parentType === "ses-mail:index:Alarms").map((a) => a.inputs.name)).to.include("ses-mail-routing-rule-invalid-staging");
            expect(implicit.ofType("aws:cloudwatch/queryDefinition:QueryDefinition").every((q) => q.inputs.name.startsWith("ses-mail/staging/"))).to.equal(true);
            // …and the stack name really is what they took: another stack, other names.
            const other = (await runUnderMocks(program(undefined), { stack: "qa" })).plan;
            expect(other.one("aws:dynamodb/table:Table", "ingest-routing").inputs.name).to.equal("ses-mail-email-routing-qa");
        });

        it("a component refuses a stack name that cannot be an env", async () => {
            const failure = await runUnderMocks(() => new SuppressionStore("suppression", {}), { stack: "Prod_EU" }).then(() => undefined, (e: Error) => e.message);
            expect(failure).to.match(/^SuppressionStore: env defaults to the stack name, but "Prod_EU" is not a valid env/);
        });
    });

    describe("grants", () => {
        let local: LocalDynamo;
        let dir: string;
        const saved = { ...process.env };
        before(async () => {
            local = await startDynalite();
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-grants-"));
            Object.assign(process.env, { AWS_ENDPOINT_URL_DYNAMODB: local.endpoint, AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
        });
        after(async () => {
            process.env = saved;
            fs.rmSync(dir, { recursive: true, force: true });
            await local.close();
        });

        /** The grant's RolePolicy: named from the component and the role, a child of the component. */
        const grantOf = (plan: ResourcePlan, name: string, parentType: string): { policy: any; resource: RecordedResource } => {
            const resource = plan.one("aws:iam/rolePolicy:RolePolicy", name);
            expect(resource.parentType).to.equal(parentType);
            return { policy: plan.json(resource, "policy"), resource };
        };

        describe("SuppressionStore.grantCheck / grantWrite", () => {
            const APP = "app-role";
            let plan: ResourcePlan;
            let calls: { check: DynamoCall[]; all: DynamoCall[] };
            const TABLE = tableArn("ses-email-suppression-list");
            const INDEX = `${TABLE}/index/reason-index`;
            const resources = [TABLE, INDEX, tableArn("ses-mail-email-routing-test")];

            before(async () => {
                ({ plan } = await runUnderMocks(() => {
                    const s = store();
                    const role = new aws.iam.Role(APP, { name: APP, assumeRolePolicy: "{}" });
                    s.grantCheck(role);
                    s.grantWrite("existing-admin-role");
                }));
                await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "suppression"));
                const client = new SuppressionClient({ tableName: "ses-email-suppression-list", client: local.client });
                const check = await recordDynamoCalls(async () => {
                    await client.isSuppressed("a@example.com");
                    await client.entries("b@example.com");
                });
                const write = await recordDynamoCalls(async () => {
                    await client.suppress({ email: "a@example.com", reason: "bounce" });
                    await client.suppress({ email: "a@example.com", reason: "bounce", expiresAt: 4_000_000_000 });
                    await client.suppress({ email: "c@example.com", reason: "manual" }, { ifAbsent: true });
                    await client.list("bounce", 0);
                    await client.remove("a@example.com", "bounce");
                });
                calls = { check, all: [...check, ...write] };
            });

            it("the client's own calls: a Query to check; Query, UpdateItem, DeleteItem and a reason-index Query for everything", () => {
                expect(pairsOf(calls.check)).to.deep.equal([`dynamodb:Query ${TABLE}`]);
                expect(pairsOf(calls.all)).to.deep.equal([`dynamodb:DeleteItem ${TABLE}`, `dynamodb:Query ${TABLE}`, `dynamodb:Query ${INDEX}`, `dynamodb:UpdateItem ${TABLE}`]);
            });

            it("grantCheck allows exactly the checking calls, and nothing more (IAM policy simulator)", async () => {
                const { policy, resource } = grantOf(plan, `suppression-check-${APP}`, "ses-mail:index:SuppressionStore");
                expect(resource.inputs.role).to.equal(APP);
                await expectAllowed(policy, roleArn(APP), calls.check);
                expect(await allowedPairs(policy, roleArn(APP), resources, ["a@example.com"])).to.deep.equal(pairsOf(calls.check));
            });

            it("grantWrite (to an existing role, by name) allows exactly every call of SuppressionClient, and nothing more", async () => {
                const { policy, resource } = grantOf(plan, "suppression-write-existing-admin-role", "ses-mail:index:SuppressionStore");
                expect(resource.inputs.role).to.equal("existing-admin-role");
                await expectAllowed(policy, roleArn("existing-admin-role"), calls.all);
                expect(await allowedPairs(policy, roleArn("existing-admin-role"), resources, ["a@example.com"])).to.deep.equal(pairsOf(calls.all));
            });

            it("with a customer key, the grants add exactly that key's use (decrypt to check; decrypt and data keys to write)", async () => {
                const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/k`;
                const { plan: withKey } = await runUnderMocks(() => {
                    const s = store({ kmsKeyArn: key });
                    s.grantCheck("reader");
                    s.grantWrite("writer");
                });
                const kms = (name: string) => withKey.json(withKey.one("aws:iam/rolePolicy:RolePolicy", name), "policy").Statement.filter((s: any) => s.Action[0].startsWith("kms:"));
                expect(kms("suppression-check-reader")).to.deep.equal([{ Effect: "Allow", Action: ["kms:Decrypt"], Resource: [key] }]);
                expect(kms("suppression-write-writer")).to.deep.equal([{ Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"], Resource: [key] }]);
            });

            it("granting the same role twice is one policy (one URN); two roles of one resource name are told apart by { name }", async () => {
                const { plan: twice, result } = await runUnderMocks(() => {
                    const s = store();
                    const role = new aws.iam.Role("app", { assumeRolePolicy: "{}" });
                    return { first: s.grantCheck(role), second: s.grantCheck(role), s };
                });
                expect(result.first).to.equal(result.second);
                expect(twice.ofType("aws:iam/rolePolicy:RolePolicy").map((r) => r.name)).to.deep.equal(["suppression-check-app"]);
                const clash = await runUnderMocks(() => {
                    const s = store();
                    s.grantCheck(new aws.iam.Role("app", { assumeRolePolicy: "{}" }));
                    s.grantCheck("app");
                }).then(() => undefined, (e: Error) => e.message);
                expect(clash).to.equal('suppression-check-app: another role was granted check under this name already; pass { name: "<unique>" } to tell the two apart.');
                const { plan: named } = await runUnderMocks(() => {
                    const s = store();
                    s.grantCheck(new aws.iam.Role("app", { assumeRolePolicy: "{}" }));
                    s.grantCheck("app", { name: "legacy-app" });
                });
                expect(named.ofType("aws:iam/rolePolicy:RolePolicy").map((r) => r.name).sort()).to.deep.equal(["suppression-check-app", "suppression-check-legacy-app"]);
            });
        });

        describe("MailIngest.grantRulesAdmin and SmtpCredentials.grantAdmin (one table, two kinds of record)", () => {
            const TABLE = "ses-mail-email-routing-test";
            const OPERATOR = "operator";
            let plan: ResourcePlan;
            let keyArn: string;
            let rulesCalls: DynamoCall[];
            let smtpCalls: DynamoCall[];
            const resources = [tableArn(TABLE), tableArn("ses-email-suppression-list")];
            const cli = async (...argv: string[]) => {
                const out: string[] = [];
                const err: string[] = [];
                const code = await main(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), cwd: ROOT, now: () => new Date("2026-11-22T10:00:00Z"), confirm: async () => true });
                expect(code, `${argv.join(" ")}: ${err.join("")}`).to.be.oneOf([0, 1]);
                return out.join("");
            };

            before(async () => {
                const run = await runUnderMocks(() => {
                    const mail = ingest();
                    const smtp = new SmtpCredentials("smtp", { env: "test", table: mail.routingTable, identityArns: [], adminPrincipalArns: [roleArn(OPERATOR)] });
                    mail.grantRulesAdmin(OPERATOR);
                    smtp.grantAdmin(OPERATOR);
                    return smtp;
                });
                plan = run.plan;
                keyArn = await promiseOf(run.result.kmsKeyArn);
                await createTableFrom(local, plan.one("aws:dynamodb/table:Table", "ingest-routing"));
                const file = path.join(dir, "rules.json");
                rulesCalls = await recordDynamoCalls(async () => {
                    const env = ["--env", "test"];
                    await cli("rules", "add", "support@mail-test.example.com", "--forward", "me@gmail.com", ...env);
                    await cli("rules", "list", ...env);
                    await cli("rules", "show", "support@mail-test.example.com", ...env);
                    await cli("rules", "set", "support@mail-test.example.com", "--store", ...env);
                    await cli("rules", "disable", "support@mail-test.example.com", ...env);
                    await cli("rules", "enable", "support@mail-test.example.com", ...env);
                    await cli("rules", "explain", "support@mail-test.example.com", ...env);
                    await cli("rules", "export", file, ...env);
                    await cli("rules", "delete", "support@mail-test.example.com", "--yes", ...env);
                    await cli("rules", "import", file, "--yes", ...env);
                });
                const kms = mockClient(KMSClient);
                kms.on(DecryptCommand).resolves({ Plaintext: Buffer.from(JSON.stringify({ access_key_id: "AKIAEXAMPLE", smtp_password: "pw" })) });
                try {
                    smtpCalls = await recordDynamoCalls(async () => {
                        const env = ["--env", "test"];
                        await cli("smtp", "create", "app-sender", "--sender", "app@mail-test.example.com", "--no-wait", ...env);
                        await cli("smtp", "list", ...env);
                        await cli("smtp", "show", "app-sender", ...env);
                        // As the manager leaves a provisioned record.
                        await local.client.send(new PutItemCommand({ TableName: TABLE, Item: {
                            PK: { S: "SMTP_USER#app-sender" }, SK: { S: "CREDENTIALS#v1" }, status: { S: "active" }, allowed_senders: { L: [{ S: "app@mail-test.example.com" }] },
                            smtp_username: { S: "AKIAEXAMPLE" }, encrypted_credentials: { S: Buffer.from("ciphertext").toString("base64") },
                        } }));
                        await cli("smtp", "credentials", "app-sender", ...env);
                        await cli("smtp", "disable", "app-sender", ...env);
                        await cli("smtp", "enable", "app-sender", ...env);
                        await cli("smtp", "rotate", "app-sender", ...env);
                        await cli("smtp", "delete", "app-sender", "--yes", ...env);
                    });
                    expect(kms.commandCalls(DecryptCommand).map((c) => c.args[0].input.EncryptionContext)).to.deep.equal([{ username: "app-sender" }]);
                } finally {
                    kms.restore();
                }
            });

            it("the commands' own calls: items under ROUTE# (rules) or SMTP_USER# (smtp), and Scans", () => {
                expect(pairsOf(rulesCalls)).to.deep.equal(["BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Scan"].map((a) => `dynamodb:${a} ${tableArn(TABLE)}`));
                expect(pairsOf(smtpCalls)).to.deep.equal(["DeleteItem", "GetItem", "PutItem", "Scan", "UpdateItem"].map((a) => `dynamodb:${a} ${tableArn(TABLE)}`));
                expect([...new Set(rulesCalls.flatMap((c) => c.leadingKeys ?? []).map((k) => k.split("#")[0]))]).to.deep.equal(["ROUTE"]);
                expect([...new Set(smtpCalls.flatMap((c) => c.leadingKeys ?? []).map((k) => k.split("#")[0]))]).to.deep.equal(["SMTP_USER"]);
            });

            it("grantRulesAdmin allows exactly the rules commands' calls, and no SMTP user's record (IAM policy simulator)", async () => {
                const { policy } = grantOf(plan, `ingest-rules-admin-${OPERATOR}`, "ses-mail:index:MailIngest");
                await expectAllowed(policy, roleArn(OPERATOR), rulesCalls);
                expect(await allowedPairs(policy, roleArn(OPERATOR), resources, ["ROUTE#support@mail-test.example.com"])).to.deep.equal(pairsOf(rulesCalls));
                expect(await allowedPairs(policy, roleArn(OPERATOR), resources, ["SMTP_USER#app-sender"])).to.deep.equal([`dynamodb:Scan ${tableArn(TABLE)}`]);
            });

            it("grantAdmin allows exactly the smtp commands' calls and the credentials' decrypt, and no routing rule (IAM policy simulator)", async () => {
                const { policy } = grantOf(plan, `smtp-admin-${OPERATOR}`, "ses-mail:index:SmtpCredentials");
                await expectAllowed(policy, roleArn(OPERATOR), smtpCalls);
                expect(await allowedPairs(policy, roleArn(OPERATOR), resources, ["SMTP_USER#app-sender"])).to.deep.equal(pairsOf(smtpCalls));
                expect(await allowedPairs(policy, roleArn(OPERATOR), resources, ["ROUTE#support@mail-test.example.com"])).to.deep.equal([`dynamodb:Scan ${tableArn(TABLE)}`]);
                // KMS needs the key policy too: the credentials key lets only adminPrincipalArns decrypt.
                const keyPolicy = plan.json(plan.one("aws:kms/key:Key", "smtp-key"), "policy");
                const kms = (action: string, context: Record<string, string | string[]> = {}, principal = roleArn(OPERATOR)) => decide({ identity: [policy], resource: keyPolicy }, {
                    principal, action, resource: keyArn, context: { "aws:PrincipalArn": principal, ...context },
                });
                const asCli = { "kms:EncryptionContextKeys": ["username"], "kms:EncryptionContext:username": "app-sender" };
                expect(await kms("kms:Decrypt", asCli)).to.equal("Allowed");
                expect(await Promise.all([kms("kms:Decrypt"), kms("kms:Encrypt", asCli), kms("kms:GenerateDataKey", asCli)])).to.deep.equal(Array(3).fill("ImplicitlyDenied"));
                // A role granted admin but not listed in adminPrincipalArns still cannot read passwords.
                expect(await kms("kms:Decrypt", asCli, roleArn("other-operator"))).to.equal("ExplicitlyDenied");
            });
        });

        describe("FeedbackPipeline.grantConsume", () => {
            it("gives the role exactly what the IRSA consumer role gets (the worker's own calls, tested in feedback-pipeline.test.ts)", async () => {
                const oidc = `arn:aws:iam::${ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC123`;
                const { plan } = await runUnderMocks(() => {
                    const feedback = new FeedbackPipeline("feedback", { env: "test", suppressionStore: store(), builtInWorker: false, externalConsumer: { oidcProviderArn: oidc, namespace: "mail", serviceAccount: "worker" } });
                    feedback.grantConsume("ecs-worker");
                });
                const { policy } = grantOf(plan, "feedback-consume-ecs-worker", "ses-mail:index:FeedbackPipeline");
                expect(policy).to.deep.equal(plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "feedback-external-consumer-policy"), "policy"));
                const queue = `arn:aws:sqs:us-east-1:${ACCOUNT}:ses-mail-feedback-test`;
                const ask = (action: string, resource = queue) => decide({ identity: [policy] }, { principal: roleArn("ecs-worker"), action, resource });
                // The poller's calls: ReceiveMessage, ChangeMessageVisibilityBatch and DeleteMessageBatch, which
                // IAM authorises as ChangeMessageVisibility and DeleteMessage (SQS Developer Guide, "Amazon SQS batch actions":
                // batch actions have no permissions of their own).
                expect(await Promise.all(["sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage"].map((a) => ask(a)))).to.deep.equal(Array(3).fill("Allowed"));
                expect(await Promise.all(["sqs:GetQueueAttributes", "sqs:SendMessage", "sqs:PurgeQueue", "sqs:SetQueueAttributes"].map((a) => ask(a)))).to.deep.equal(Array(4).fill("ImplicitlyDenied"));
                expect(await ask("sqs:ReceiveMessage", `${queue}-dlq`)).to.equal("ImplicitlyDenied");
            });
        });
    });

    describe("transforms", () => {
        it("applyTransform: a partial is merged over the args (shallowly), a function edits copies; the caller's objects never change", () => {
            const args: { memorySize: number; tags: Record<string, string> } = { memorySize: 256, tags: { A: "1" } };
            const opts = { parent: undefined };
            expect(applyTransform({ tags: { B: "2" } }, "f", args, opts)).to.deep.equal([{ memorySize: 256, tags: { B: "2" } }, opts]);
            const [edited] = applyTransform<typeof args, object>((a, _o, name) => {
                a.memorySize = 512;
                a.tags = { ...a.tags, Name: name };
            }, "f", args, opts);
            expect(edited).to.deep.equal({ memorySize: 512, tags: { A: "1", Name: "f" } });
            expect(args).to.deep.equal({ memorySize: 256, tags: { A: "1" } });
            expect(applyTransform(undefined, "f", args, opts)[0]).to.deep.equal(args);
        });

        it("a partial transform of one child changes that argument of that child, and nothing else in the plan", async () => {
            const before = (await runUnderMocks(() => store({ mirrorToSes: true }))).plan;
            const after = (await runUnderMocks(() => store({ mirrorToSes: true, transform: { table: { tableClass: "STANDARD_INFREQUENT_ACCESS" }, mirrorFunction: { memorySize: 512 } } }))).plan;
            expect(changed(before, after)).to.deep.equal(["suppression-mirror.memorySize", "suppression.tableClass"]);
            expect(after.one("aws:lambda/function:Function").inputs.memorySize).to.equal(512);
        });

        it("a function transform (a tag on the forwarder only; a DLQ's retention) reaches exactly its child through the building blocks", async () => {
            const before = (await runUnderMocks(() => ingest())).plan;
            const after = (await runUnderMocks(() => ingest({ transform: {
                forwarderFunction: (args) => {
                    args.tags = { ...(args.tags as Record<string, string>), CostCentre: "mail" };
                },
                bouncerDlq: { messageRetentionSeconds: 604800 },
            } }))).plan;
            expect(changed(before, after)).to.deep.equal(["ingest-bouncer-dlq.messageRetentionSeconds", "ingest-forwarder.tags"]);
            expect(after.one("aws:lambda/function:Function", "ingest-forwarder").inputs.tags).to.deep.include({ CostCentre: "mail", Environment: "test" });
        });

        it("an alarm transform picks one alarm by its resource name and changes only that alarm", async () => {
            const alarms = (transform?: ConstructorParameters<typeof Alarms>[1]["transform"]) => () => new Alarms("alarms", { env: "test", functions: { router: "fn" }, transform });
            const before = (await runUnderMocks(alarms())).plan;
            const after = (await runUnderMocks(alarms({ alarm: (args, _opts, name) => {
                if (name === "alarms-ses-high-bounce-rate-CRITICAL") args.evaluationPeriods = 3;
            } }))).plan;
            expect(changed(before, after)).to.deep.equal(["alarms-ses-high-bounce-rate-CRITICAL.evaluationPeriods"]);
        });

        it("a transform that turns encryption off fails the policy pack; the same stack untransformed passes it", async () => {
            const baseline = await violationNames(() => new FeedbackPipeline("feedback", { env: "test", suppressionStore: store() }));
            expect(baseline).to.not.include.members(["dynamodb-table-encrypted", "sqs-queue-encrypted", "sns-topic-encrypted"]);
            const broken = await violationNames(() => new FeedbackPipeline("feedback", { env: "test", suppressionStore: store(), transform: {
                eventsTable: { serverSideEncryption: { enabled: false } },
                queue: (args) => {
                    delete args.sqsManagedSseEnabled;
                },
                notificationsTopic: { kmsMasterKeyId: undefined },
            } }));
            expect(broken.filter((n) => !baseline.includes(n))).to.deep.equal(["dynamodb-table-encrypted", "sns-topic-encrypted", "sqs-queue-encrypted"]);
            expect(await violationNames(() => store({ transform: { table: { pointInTimeRecovery: { enabled: false } } } }))).to.include("dynamodb-pitr");
        });

        it("a transform cannot rename a child: the resource name (its URN) is the component's", async () => {
            const { plan } = await runUnderMocks(() => store({ transform: { table: (args, _opts, name) => {
                args.tags = { ...(args.tags as Record<string, string>), Child: name };
            } } }));
            expect(plan.one("aws:dynamodb/table:Table").name).to.equal("suppression");
            expect(plan.one("aws:dynamodb/table:Table").inputs.tags.Child).to.equal("suppression");
        });
    });

    describe("an explicit provider", () => {
        for (const form of ["provider", "providers"] as const) {
            it(`(${form}) reaches every child and every invoke of every component, and the grants`, async () => {
                const { plan } = await runUnderMocks(() => {
                    const eu = new aws.Provider("eu", { region: "eu-west-1" });
                    const opts = form === "provider" ? { provider: eu } : { providers: [eu] };
                    const suppression = new SuppressionStore("suppression", { env: "test", mirrorToSes: true }, opts);
                    const feedback = new FeedbackPipeline("feedback", { env: "test", suppressionStore: suppression, domains: ["example.com"], notificationEmails: ["ops@example.com"] }, opts);
                    const mail = new MailIngest("ingest", { env: "test", domains: ["mail.example.com"], suppressionStore: suppression, gmailAccounts: ["me@gmail.com"] }, opts);
                    const smtp = new SmtpCredentials("smtp", { env: "test", table: mail.routingTable, identityArns: feedback.mailDomains.map((d) => d.identityArn) }, opts);
                    suppression.grantCheck("app");
                    mail.grantRulesAdmin("ops");
                    smtp.grantAdmin("ops");
                    feedback.grantConsume("worker");
                });
                const provider = plan.one("pulumi:providers:aws", "eu");
                const children = plan.resources.filter((r) => r.custom && r.type !== "pulumi:providers:aws");
                expect(children.length).to.be.greaterThan(100);
                expect(children.filter((r) => !r.provider?.startsWith(`${provider.urn}::`)).map((r) => r.name)).to.deep.equal([]);
                expect(plan.invokes.length).to.be.greaterThan(10);
                expect(plan.invokes.filter((i) => !i.provider?.startsWith(`${provider.urn}::`)).map((i) => i.token)).to.deep.equal([]);
            });
        }
    });
});
