// Weakenings of the test stack's plan that a security reviewer expects the pack to refuse, each
// with the policies that must report it (issue #23, point 6). Each mutation is a small function
// from the plan's resources to a changed copy; tests/policy/mutations.test.ts runs the pack on each.
import type { RecordedResource } from "../support/mocks";
import { statementWhere, withDocument, withProps, withResource } from "../support/policy";

export interface Mutation {
    what: string;
    /** Names of the policies that must report it, and no other. */
    expected: string[];
    mutate: (plan: RecordedResource[]) => RecordedResource[];
}

type Plan = RecordedResource[];
type Statement = Record<string, any>;

const ACCOUNT = "123456789012";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy";
const QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy";
const BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy";
const KEY = "aws:kms/key:Key";
const FUNCTION = "aws:lambda/function:Function";
const STATE_MACHINE = "aws:sfn/stateMachine:StateMachine";
const PERMISSION = "aws:lambda/permission:Permission";
const ROLE = "aws:iam/role:Role";
const TLS_DENY = (s: Statement) => s.Sid === "DenyInsecureTransport";
const SERVICE = (service: string) => (s: Statement) => s.Effect === "Allow" && s.Principal?.Service === service;

/** Adds a statement to the forwarder's role policy (the function that reads raw mail). */
const forwarderMay = (statement: Statement) => (plan: Plan) =>
    withDocument(plan, ROLE_POLICY, "ingest-forwarder-policy", (doc) => doc.Statement.push({ Effect: "Allow", ...statement }));
const editStatement = (type: string, name: string, match: (s: Statement) => boolean, edit: (s: Statement) => void, key?: string) => (plan: Plan) =>
    withDocument(plan, type, name, (doc) => edit(statementWhere(doc, match)), key);
const addStatement = (type: string, name: string, statement: Statement) => (plan: Plan) =>
    withDocument(plan, type, name, (doc) => doc.Statement.push(statement));
const withEnvironment = (fn: string, variables: Record<string, string>) => (plan: Plan) =>
    withProps(plan, FUNCTION, fn, (props) => ({ ...props, environment: { variables: { ...props.environment.variables, ...variables } } }));
const attach = (type: string, name: string, inputs: Record<string, unknown>) => (plan: Plan) => withResource(plan, type, name, inputs);
const sendingPolicy = (condition: Statement) => JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ["ses:SendRawEmail"], Resource: [`arn:aws:ses:us-east-1:${ACCOUNT}:identity/mail-test.example.com`], Condition: condition }],
});

// A base64 string of 30 random bytes, as secret access keys and API secrets look.
const RANDOM_SECRET = "q3T0vXb9Rk2LmZ8aYp1WcN7sUe4HjGf6Dk0/Bx+Q";
const PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END RSA PRIVATE KEY-----";

export const MUTATIONS: Mutation[] = [
    // Managed policies granting admin, whatever the attachment resource or partition.
    {
        what: "RolePolicyAttachment of AdministratorAccess to the forwarder's role",
        expected: ["iam-managed-policy-attachments"],
        mutate: attach("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "forwarder-admin", { role: "ses-mail-gmail-forwarder-fn-test", policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" }),
    },
    {
        what: "UserPolicyAttachment of PowerUserAccess (GovCloud partition)",
        expected: ["iam-managed-policy-attachments"],
        mutate: attach("aws:iam/userPolicyAttachment:UserPolicyAttachment", "ops-power", { user: "ops", policyArn: "arn:aws-us-gov:iam::aws:policy/PowerUserAccess" }),
    },
    {
        what: "PolicyAttachment of IAMFullAccess (China partition)",
        expected: ["iam-managed-policy-attachments"],
        mutate: attach("aws:iam/policyAttachment:PolicyAttachment", "iam-full", { roles: ["ses-mail-router-fn-test"], policyArn: "arn:aws-cn:iam::aws:policy/IAMFullAccess" }),
    },
    {
        what: "managedPolicyArns: AdministratorAccess on the SMTP manager's role",
        expected: ["iam-managed-policy-attachments"],
        mutate: (plan) => withProps(plan, ROLE, "smtp-manager-role", (props) => ({ ...props, managedPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"] })),
    },
    {
        what: "RolePolicyAttachment of a customer policy the stack does not define (unreviewable)",
        expected: ["iam-managed-policy-attachments"],
        mutate: attach("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "bouncer-ops", { role: "ses-mail-bouncer-fn-test", policyArn: `arn:aws:iam::${ACCOUNT}:policy/ops-everything` }),
    },
    {
        what: "a managed policy the stack defines with Action *, attached to a role",
        // `*` is also a wildcard action on every resource, and includes IAM grants and sending.
        expected: ["iam-escalation-bounded", "iam-managed-policy-attachments", "iam-no-wildcard-actions", "iam-wildcard-resource-exceptions", "ses-sending-from-address"],
        mutate: (plan) => {
            const arn = `arn:aws:iam::${ACCOUNT}:policy/everything`;
            const withPolicy = withResource(plan, "aws:iam/policy:Policy", "everything", { name: "everything", policy: JSON.stringify({ Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) }, { arn });
            return withResource(withPolicy, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "router-everything", { role: "ses-mail-router-fn-test", policyArn: arn });
        },
    },

    // Identity policies reaching beyond the stack's resources.
    { what: "s3:GetObject on arn:aws:s3:::* (every bucket's mail)", expected: ["iam-wildcard-resource-exceptions"], mutate: forwarderMay({ Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::*"] }) },
    { what: "s3:GetObject on arn:aws-us-gov:s3:::*/* (partition-agnostic)", expected: ["iam-wildcard-resource-exceptions"], mutate: forwarderMay({ Action: ["s3:GetObject"], Resource: ["arn:aws-us-gov:s3:::*/*"] }) },
    { what: "iam:PassRole on arn:aws:iam::*:role/*", expected: ["iam-wildcard-resource-exceptions"], mutate: forwarderMay({ Action: ["iam:PassRole"], Resource: ["arn:aws:iam::*:role/*"] }) },
    { what: "iam:PutRolePolicy on arn:aws:iam::*:role/*", expected: ["iam-escalation-bounded", "iam-wildcard-resource-exceptions"], mutate: forwarderMay({ Action: ["iam:PutRolePolicy"], Resource: ["arn:aws:iam::*:role/*"] }) },
    { what: "iam:PutRolePolicy on the forwarder's own role (no boundary)", expected: ["iam-escalation-bounded"], mutate: forwarderMay({ Action: ["iam:PutRolePolicy"], Resource: [`arn:aws:iam::${ACCOUNT}:role/ses-mail-gmail-forwarder-fn-test`] }) },
    { what: "dynamodb:GetItem on every table of the account (table/*)", expected: ["iam-wildcard-resource-exceptions"], mutate: forwarderMay({ Action: ["dynamodb:GetItem"], Resource: [`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/*`] }) },
    {
        what: "the SMTP manager may create users and put their policies without the permissions boundary",
        expected: ["iam-escalation-bounded"],
        mutate: editStatement(ROLE_POLICY, "smtp-manager-policy", (s) => s.Effect === "Allow" && s.Condition?.StringEquals?.["iam:PermissionsBoundary"], (s) => delete s.Condition),
    },
    {
        what: "the SMTP manager may rewrite the boundary policy (iam:CreatePolicyVersion)",
        expected: ["iam-escalation-bounded"],
        mutate: addStatement(ROLE_POLICY, "smtp-manager-policy", { Effect: "Allow", Action: ["iam:CreatePolicyVersion"], Resource: [`arn:aws:iam::${ACCOUNT}:policy/ses-mail/test/*`] }),
    },
    { what: "a wildcard action (dynamodb:*) in a role policy", expected: ["iam-no-wildcard-actions"], mutate: forwarderMay({ Action: ["dynamodb:*"], Resource: [`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/ses-mail-gmail-forwarder-idempotency-test`] }) },

    // Resource policies open to anyone.
    {
        what: "topic policy: Allow Principal * to publish to the inbound topic",
        expected: ["resource-policy-not-public"],
        mutate: addStatement(TOPIC_POLICY, "ingest-topic-policy", { Effect: "Allow", Principal: "*", Action: ["sns:Publish"], Resource: [`arn:aws:sns:us-east-1:${ACCOUNT}:ses-mail-email-inbound-test`] }),
    },
    {
        what: "queue policy: Allow Principal {AWS: *} to send to the forwarder queue",
        expected: ["resource-policy-not-public"],
        mutate: addStatement(QUEUE_POLICY, "ingest-forwarder-policy", { Effect: "Allow", Principal: { AWS: "*" }, Action: ["sqs:SendMessage"], Resource: [`arn:aws:sqs:us-east-1:${ACCOUNT}:ses-mail-gmail-forwarder-test`] }),
    },
    {
        what: "key policy: Allow Principal * to decrypt with the SMTP credentials key",
        expected: ["resource-policy-not-public"],
        mutate: addStatement(KEY, "stack-key", { Effect: "Allow", Principal: "*", Action: ["kms:Decrypt"], Resource: "*" }),
    },
    {
        what: "bucket policy: Allow Principal * to read raw mail",
        expected: ["resource-policy-not-public"],
        mutate: addStatement(BUCKET_POLICY, "ingest-mail-policy", { Effect: "Allow", Principal: "*", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::ses-mail-email-test-123456789012/*"] }),
    },
    {
        what: "queue policy: Allow to NotPrincipal (everyone but one role)",
        expected: ["resource-policy-not-public"],
        mutate: addStatement(QUEUE_POLICY, "ingest-bouncer-policy", { Effect: "Allow", NotPrincipal: { AWS: `arn:aws:iam::${ACCOUNT}:role/x` }, Action: ["sqs:SendMessage"], Resource: [`arn:aws:sqs:us-east-1:${ACCOUNT}:ses-mail-bouncer-test`] }),
    },

    // Service principals not tied to this account (confused deputy).
    { what: "topic policy: SES may publish without a source condition", expected: ["resource-policy-service-scoped"], mutate: editStatement(TOPIC_POLICY, "ingest-topic-policy", SERVICE("ses.amazonaws.com"), (s) => delete s.Condition) },
    { what: "bucket policy: SES may write mail without source conditions", expected: ["resource-policy-service-scoped"], mutate: editStatement(BUCKET_POLICY, "ingest-mail-policy", SERVICE("ses.amazonaws.com"), (s) => delete s.Condition) },
    { what: "queue policy: SNS may send without aws:SourceArn", expected: ["resource-policy-service-scoped"], mutate: editStatement(QUEUE_POLICY, "feedback-queue-policy", SERVICE("sns.amazonaws.com"), (s) => delete s.Condition) },
    { what: "key policy: SES may use the key without aws:SourceAccount", expected: ["resource-policy-service-scoped"], mutate: editStatement(KEY, "stack-key", SERVICE("ses.amazonaws.com"), (s) => delete s.Condition) },
    {
        what: "topic policy: ArnLike aws:SourceArn \"*\"",
        expected: ["resource-policy-service-scoped"],
        mutate: editStatement(TOPIC_POLICY, "feedback-topic-policy", SERVICE("ses.amazonaws.com"), (s) => (s.Condition = { ArnLike: { "aws:SourceArn": "*" } })),
    },
    {
        what: "queue policy: aws:SourceArn of any account (arn:aws:sns:us-east-1:*:*)",
        expected: ["resource-policy-service-scoped"],
        mutate: editStatement(QUEUE_POLICY, "ingest-input-policy", SERVICE("sns.amazonaws.com"), (s) => (s.Condition = { ArnLike: { "aws:SourceArn": "arn:aws:sns:us-east-1:*:*" } })),
    },
    {
        what: "bucket policy: StringLike aws:SourceAccount \"*\" instead of the source conditions",
        expected: ["resource-policy-service-scoped"],
        mutate: editStatement(BUCKET_POLICY, "ingest-mail-policy", SERVICE("ses.amazonaws.com"), (s) => (s.Condition = { StringLike: { "aws:SourceAccount": "*" } })),
    },
    {
        what: "queue policy: aws:SourceArn under ArnEqualsIfExists (passes requests without it)",
        expected: ["resource-policy-service-scoped"],
        mutate: editStatement(QUEUE_POLICY, "ingest-forwarder-policy", SERVICE("events.amazonaws.com"), (s) => (s.Condition = { ArnEqualsIfExists: s.Condition.ArnEquals })),
    },
    {
        what: "role trust: ArnLike aws:SourceArn \"*\" in place of the state machine's ARN and account",
        expected: ["iam-role-trust-scoped"],
        mutate: editStatement(ROLE, "ingest-retry-drain-role", SERVICE("states.amazonaws.com"), (s) => (s.Condition = { ArnLike: { "aws:SourceArn": "*" } }), "assumeRolePolicy"),
    },
    { what: "role trust: the pipe's role without source conditions", expected: ["iam-role-trust-scoped"], mutate: editStatement(ROLE, "ingest-pipe-role", SERVICE("pipes.amazonaws.com"), (s) => delete s.Condition, "assumeRolePolicy") },
    { what: "role trust: Principal *", expected: ["iam-role-trust-scoped"], mutate: editStatement(ROLE, "ingest-router-role", SERVICE("lambda.amazonaws.com"), (s) => (s.Principal = "*"), "assumeRolePolicy") },

    // Lambda permissions.
    { what: "Lambda permission without sourceArn", expected: ["lambda-permission-scoped"], mutate: (plan) => withProps(plan, PERMISSION, "smtp-sweep-permission", ({ sourceArn: _dropped, ...props }) => props) },
    { what: "Lambda permission for Principal *", expected: ["lambda-permission-scoped"], mutate: (plan) => withProps(plan, PERMISSION, "smtp-sweep-permission", (props) => ({ ...props, principal: "*" })) },
    { what: "Lambda permission with sourceArn of any account's rules", expected: ["lambda-permission-scoped"], mutate: (plan) => withProps(plan, PERMISSION, "smtp-sweep-permission", (props) => ({ ...props, sourceArn: "arn:aws:events:us-east-1:*:rule/*" })) },

    // Encryption and TLS.
    { what: "KMS key rotation off (the stack key: topics and SMTP credentials)", expected: ["kms-key-rotation"], mutate: (plan) => withProps(plan, KEY, "stack-key", (props) => ({ ...props, enableKeyRotation: false })) },
    { what: "bucket TLS deny narrowed to s3:GetObject", expected: ["s3-tls-only"], mutate: editStatement(BUCKET_POLICY, "ingest-mail-policy", TLS_DENY, (s) => (s.Action = ["s3:GetObject"])) },
    { what: "bucket TLS deny on objects only, not the bucket", expected: ["s3-tls-only"], mutate: editStatement(BUCKET_POLICY, "ingest-mail-policy", TLS_DENY, (s) => (s.Resource = s.Resource.filter((r: string) => r.endsWith("/*")))) },
    { what: "bucket TLS deny on one prefix only (inbound/*)", expected: ["s3-tls-only"], mutate: editStatement(BUCKET_POLICY, "ingest-mail-policy", TLS_DENY, (s) => (s.Resource = s.Resource.map((r: string) => r.replace(/\/\*$/, "/inbound/*")))) },
    {
        what: "bucket TLS deny narrowed by an extra condition (other accounts only)",
        expected: ["s3-tls-only"],
        mutate: editStatement(BUCKET_POLICY, "ingest-mail-policy", TLS_DENY, (s) => (s.Condition = { ...s.Condition, StringNotEquals: { "aws:PrincipalAccount": ACCOUNT } })),
    },
    { what: "bucket TLS deny removed", expected: ["s3-tls-only"], mutate: (plan) => withDocument(plan, BUCKET_POLICY, "ingest-mail-policy", (doc) => (doc.Statement = doc.Statement.filter((s: Statement) => !TLS_DENY(s)))) },
    { what: "queue TLS deny narrowed to sqs:SendMessage", expected: ["sqs-tls-only"], mutate: editStatement(QUEUE_POLICY, "ingest-forwarder-policy", TLS_DENY, (s) => (s.Action = ["sqs:SendMessage"])) },
    { what: "topic TLS deny removed", expected: ["sns-tls-only"], mutate: (plan) => withDocument(plan, TOPIC_POLICY, "alarms-topic-policy", (doc) => (doc.Statement = doc.Statement.filter((s: Statement) => !TLS_DENY(s)))) },
    { what: "queue encryption off", expected: ["sqs-queue-encrypted"], mutate: (plan) => withProps(plan, "aws:sqs/queue:Queue", "ingest-forwarder", ({ sqsManagedSseEnabled: _dropped, kmsMasterKeyId: _key, ...props }) => props) },
    { what: "topic encryption off", expected: ["sns-topic-encrypted"], mutate: (plan) => withProps(plan, "aws:sns/topic:Topic", "ingest-topic", ({ kmsMasterKeyId: _dropped, ...props }) => props) },
    {
        what: "bucket public access block off",
        expected: ["s3-public-access-blocked"],
        mutate: (plan) => withProps(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "ingest-mail-public-access", (props) => ({ ...props, restrictPublicBuckets: false })),
    },

    // Credentials in Lambda environments, whatever the variable is called.
    { what: "Google OAuth client secret (GOCSPX-…) in GOOGLE_CLIENT", expected: ["lambda-no-plaintext-secrets"], mutate: withEnvironment("ingest-forwarder", { GOOGLE_CLIENT: "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" }) },
    { what: "client credentials JSON with the secret in OAUTH_CLIENT", expected: ["lambda-no-plaintext-secrets"], mutate: withEnvironment("ingest-token-you-gmail-com-probe", { OAUTH_CLIENT: JSON.stringify({ client_id: "1234.apps.googleusercontent.com", client_secret: "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" }) }) },
    { what: "AWS access key id in UPSTREAM", expected: ["lambda-no-plaintext-secrets"], mutate: withEnvironment("ingest-router", { UPSTREAM: "AKIAIOSFODNN7EXAMPLE" }) },
    { what: "temporary AWS access key id (ASIA…) in SESSION", expected: ["lambda-no-plaintext-secrets"], mutate: withEnvironment("ingest-router", { SESSION: "ASIAQ3EGUJZKXM4R2HVT" }) },
    { what: "PEM private key in SIGNING_CERT", expected: ["lambda-no-plaintext-secrets"], mutate: withEnvironment("feedback-worker", { SIGNING_CERT: PRIVATE_KEY }) },
    { what: "Slack bot token in NOTIFY", expected: ["lambda-no-plaintext-secrets"], mutate: withEnvironment("feedback-worker", { NOTIFY: "xoxb-2048-1024-k3Jd9sLq0Zx8VbN2mYt4" }) },
    { what: "Gmail refresh token in ACCOUNT_STATE", expected: ["lambda-no-plaintext-secrets"], mutate: withEnvironment("ingest-forwarder", { ACCOUNT_STATE: "1//0gk3Jd9sLq0Zx8VbN2mYt4Rw7PcQa1" }) },
    { what: "a long random secret (secret access key shape) in UPSTREAM_AUTH", expected: ["lambda-no-plaintext-secrets"], mutate: withEnvironment("smtp-manager", { UPSTREAM_AUTH: RANDOM_SECRET }) },
    { what: "a variable named like a secret (SMTP_PASSWORD)", expected: ["lambda-no-plaintext-secrets"], mutate: withEnvironment("smtp-manager", { SMTP_PASSWORD: "hunter2" }) },

    // Runtimes near or past Lambda's block dates (policy/policies/lambda-runtime.ts; nodejs22.x is
    // within a year of its 2027-06-01 block date from 2026-06-01 on, the others are past theirs).
    { what: "router on nodejs22.x (creation blocked from 2027-06-01)", expected: ["lambda-runtime-supported"], mutate: (plan) => withProps(plan, FUNCTION, "ingest-router", (props) => ({ ...props, runtime: "nodejs22.x" })) },
    { what: "forwarder on nodejs20.x (blocked since 2026)", expected: ["lambda-runtime-supported"], mutate: (plan) => withProps(plan, FUNCTION, "ingest-forwarder", (props) => ({ ...props, runtime: "nodejs20.x" })) },
    { what: "feedback worker on nodejs16.x (older than every listed runtime)", expected: ["lambda-runtime-supported"], mutate: (plan) => withProps(plan, FUNCTION, "feedback-worker", (props) => ({ ...props, runtime: "nodejs16.x" })) },

    // Step Functions logging.
    {
        what: "retry drain's log group keeps logs forever (retention 0)",
        expected: ["sfn-log-group-retention"],
        mutate: (plan) => withProps(plan, "aws:cloudwatch/logGroup:LogGroup", "ingest-retry-drain-logs", (props) => ({ ...props, retentionInDays: 0 })),
    },
    { what: "retry drain without logging", expected: ["sfn-log-group-retention"], mutate: (plan) => withProps(plan, STATE_MACHINE, "ingest-retry-drain", ({ loggingConfiguration: _dropped, ...props }) => props) },
    {
        what: "retry drain logs execution data (routing events)",
        expected: ["sfn-no-execution-data"],
        mutate: (plan) => withProps(plan, STATE_MACHINE, "ingest-retry-drain", (props) => ({ ...props, loggingConfiguration: { ...props.loggingConfiguration, includeExecutionData: true } })),
    },

    // Sending policies the stack defines.
    {
        what: "UserPolicy allowing ses:SendRawEmail with StringLike ses:FromAddress \"*\"",
        expected: ["ses-sending-from-address"],
        mutate: attach("aws:iam/userPolicy:UserPolicy", "relay-send", { user: "relay", policy: sendingPolicy({ StringLike: { "ses:FromAddress": "*" } }) }),
    },
    {
        what: "managed Policy allowing sending as *@mail-test.example.com (StringLike)",
        expected: ["ses-sending-from-address"],
        mutate: attach("aws:iam/policy:Policy", "app-send", { name: "app-send", policy: sendingPolicy({ StringLike: { "ses:FromAddress": ["app@mail-test.example.com", "*@mail-test.example.com"] } }) }),
    },
    {
        what: "UserPolicy with ses:FromAddress under StringLikeIfExists (passes requests without it)",
        expected: ["ses-sending-from-address"],
        mutate: attach("aws:iam/userPolicy:UserPolicy", "relay-send", { user: "relay", policy: sendingPolicy({ StringLikeIfExists: { "ses:FromAddress": "app@mail-test.example.com" } }) }),
    },
    {
        what: "receipt rule accepting mail without TLS",
        expected: ["ses-receipt-rule-scanning-tls"],
        mutate: (plan) => withProps(plan, "aws:ses/receiptRule:ReceiptRule", "ingest-receipt-rule", (props) => ({ ...props, tlsPolicy: "Optional" })),
    },
];
