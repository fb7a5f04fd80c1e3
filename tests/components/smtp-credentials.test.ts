import { expect } from "chai";
import { SmtpCredentials } from "../../components/smtp-credentials";
import { MOCK_ACCOUNT as ACCOUNT, promiseOf, runUnderMocks } from "../support/mocks";

const IDENTITY = `arn:aws:ses:us-east-1:${ACCOUNT}:identity/example.com`;
const TABLE = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/ses-mail-smtp-credentials-test`;
const ADMIN = `arn:aws:iam::${ACCOUNT}:role/mail-admins`;
// The mocks' caller identity (an IAM user: aws:PrincipalArn is its ARN as it is) and the mocks' ARN for a managed policy.
const DEPLOYER = `arn:aws:iam::${ACCOUNT}:user/mock`;
const BOUNDARY = `arn:aws:mock:us-east-1:${ACCOUNT}:aws:iam/policy:Policy/smtp-user-boundary-physical`;
const create = () => runUnderMocks(() => new SmtpCredentials("smtp", { env: "test", homeRegion: "us-east-1", identityArns: [IDENTITY], adminPrincipalArns: [ADMIN] }));

describe("SmtpCredentials", () => {
    it("streams its table (new and old images) to the manager, filtered to SMTP_USER# items, with an on-failure queue", async () => {
        const { plan } = await create();
        expect(plan.one("aws:dynamodb/table:Table").inputs).to.deep.include({ streamEnabled: true, streamViewType: "NEW_AND_OLD_IMAGES", hashKey: "PK", rangeKey: "SK" });
        const mapping = plan.one("aws:lambda/eventSourceMapping:EventSourceMapping");
        expect(mapping.inputs).to.deep.include({
            eventSourceArn: `${TABLE}/stream/2026-01-01T00:00:00.000`,
            startingPosition: "TRIM_HORIZON",
            maximumRetryAttempts: 5,
            bisectBatchOnFunctionError: true,
            functionResponseTypes: ["ReportBatchItemFailures"],
            destinationConfig: { onFailure: { destinationArn: `arn:aws:sqs:us-east-1:${ACCOUNT}:ses-mail-smtp-credential-manager-dlq-test` } },
        });
        // Only the credentials items: the manager's IAM_USER# registry items ask for nothing.
        expect(JSON.parse(mapping.inputs.filterCriteria.filters[0].pattern)).to.deep.equal({ dynamodb: { Keys: { PK: { S: [{ prefix: "SMTP_USER#" }] }, SK: { S: ["CREDENTIALS#v1"] } } } });
    });

    it("a rotating key with the alias, that the manager may encrypt with, only admins may decrypt with (nor re-encrypt nor grant), and only the deployer (or root) may re-policy", async () => {
        const { plan } = await create();
        expect(plan.one("aws:kms/key:Key").inputs.enableKeyRotation).to.equal(true);
        expect(plan.one("aws:kms/alias:Alias").inputs.name).to.equal("alias/ses-mail-smtp-credentials-test");
        const statements = plan.json(plan.one("aws:kms/key:Key"), "policy").Statement;
        expect(statements[0].Principal).to.deep.equal({ AWS: `arn:aws:iam::${ACCOUNT}:root` });
        expect(statements.slice(1)).to.deep.equal([
            { Sid: "ManagerEncrypts", Effect: "Allow", Principal: { AWS: plan.one("aws:iam/role:Role", "smtp-manager-role").state.arn }, Action: ["kms:Encrypt"], Resource: "*" },
            { Sid: "DecryptOnlyByAdmins", Effect: "Deny", Principal: "*", Action: ["kms:Decrypt", "kms:ReEncryptFrom", "kms:CreateGrant"], Resource: "*", Condition: { ArnNotEquals: { "aws:PrincipalArn": [ADMIN] } } },
            { Sid: "KeyPolicyOnlyByDeployers", Effect: "Deny", Principal: "*", Action: ["kms:PutKeyPolicy"], Resource: "*", Condition: { ArnNotEquals: { "aws:PrincipalArn": [DEPLOYER, `arn:aws:iam::${ACCOUNT}:root`] } } },
        ]);
        const deployers = ["arn:aws:iam::123456789012:role/ci-deploy", "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123"];
        const { plan: given } = await runUnderMocks(() => new SmtpCredentials("smtp", { env: "test", homeRegion: "us-east-1", identityArns: [IDENTITY], deployerPrincipalArns: deployers }));
        expect(given.json(given.one("aws:kms/key:Key"), "policy").Statement[3].Condition).to.deep.equal({ ArnNotEquals: { "aws:PrincipalArn": [...deployers, `arn:aws:iam::${ACCOUNT}:root`] } });
    });

    it("every SMTP user's permissions boundary: a managed policy under the users' path allowing only sending, through the stack, as its addresses", async () => {
        const { plan } = await create();
        const boundary = plan.one("aws:iam/policy:Policy");
        expect(boundary.name).to.equal("smtp-user-boundary");
        expect(boundary.parentType).to.equal("ses-mail:index:SmtpCredentials");
        expect(boundary.inputs).to.deep.include({ namePrefix: "ses-mail-smtp-user-boundary-test-", path: "/ses-mail/test/" });
        expect(plan.json(boundary, "policy").Statement).to.deep.equal([{
            Sid: "SmtpUsersSendThroughThisStackOnly", Effect: "Allow", Action: ["ses:SendRawEmail", "ses:SendEmail"],
            Resource: [IDENTITY, `arn:aws:ses:us-east-1:${ACCOUNT}:configuration-set/ses-mail-outbound-test`],
            Condition: { StringLike: { "ses:FromAddress": ["*@example.com"] } },
        }]);
        expect(plan.one("aws:lambda/function:Function").inputs.environment.variables.PERMISSIONS_BOUNDARY_ARN).to.equal(BOUNDARY);
    });

    it("the manager may touch only users under its own IAM path, with exactly the IAM actions it needs, creating and changing them only with the boundary", async () => {
        const { plan } = await create();
        const statements = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "smtp-manager-policy"), "policy").Statement;
        const users = [`arn:aws:iam::${ACCOUNT}:user/ses-mail/test/*`];
        expect(statements.slice(2, 6)).to.deep.equal([
            {
                Effect: "Allow",
                Action: ["iam:DeleteUser", "iam:GetUser", "iam:TagUser", "iam:GetUserPolicy", "iam:DeleteUserPolicy", "iam:ListUserPolicies", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys"],
                Resource: users,
            },
            { Effect: "Allow", Action: ["iam:CreateUser", "iam:PutUserPolicy", "iam:PutUserPermissionsBoundary"], Resource: users, Condition: { StringEquals: { "iam:PermissionsBoundary": BOUNDARY } } },
            {
                Sid: "NoUserWithoutTheBoundary", Effect: "Deny", Action: ["iam:CreateUser", "iam:PutUserPolicy", "iam:PutUserPermissionsBoundary"], Resource: "*",
                Condition: { StringNotEquals: { "iam:PermissionsBoundary": BOUNDARY } },
            },
            { Sid: "NoManagedPoliciesNorBoundaryRemoval", Effect: "Deny", Action: ["iam:AttachUserPolicy", "iam:DeleteUserPermissionsBoundary"], Resource: "*" },
        ]);
        expect(statements.flatMap((s: { Action: string[] }) => s.Action).filter((a: string) => a.includes("*"))).to.deep.equal([]);
        expect(statements.slice(6).map((s: any) => [s.Action, s.Resource])).to.deep.equal([
            [["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Scan"], [TABLE]],
            [["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"], [`${TABLE}/stream/2026-01-01T00:00:00.000`]],
            [["sqs:SendMessage"], [`arn:aws:sqs:us-east-1:${ACCOUNT}:ses-mail-smtp-credential-manager-dlq-test`]],
        ]);
        expect(plan.json(plan.one("aws:iam/rolePolicy:RolePolicy", "smtp-manager-kms"), "policy").Statement).to.deep.equal([
            { Effect: "Allow", Action: ["kms:Encrypt"], Resource: [`arn:aws:kms:us-east-1:${ACCOUNT}:key/smtp-key-physical`] },
        ]);
        expect(plan.one("aws:lambda/function:Function").inputs.environment.variables).to.deep.include({ IAM_PATH: "/ses-mail/test/", IDENTITY_ARNS: IDENTITY, KMS_KEY_ID: "alias/ses-mail-smtp-credentials-test" });
    });

    it("SMTP users may send through the configuration set their mail goes through: FeedbackPipeline's default unless given", async () => {
        const { plan } = await create();
        expect(plan.one("aws:lambda/function:Function").inputs.environment.variables).to.deep.include({
            CONFIGURATION_SET_ARNS: `arn:aws:ses:us-east-1:${ACCOUNT}:configuration-set/ses-mail-outbound-test`,
            STUCK_AFTER_SECONDS: "7200", ROTATION_OVERLAP_SECONDS: "86400",
        });
        const given = `arn:aws:ses:us-east-1:${ACCOUNT}:configuration-set/custom`;
        const { plan: custom } = await runUnderMocks(() => new SmtpCredentials("smtp", { env: "test", homeRegion: "us-east-1", identityArns: [IDENTITY], configurationSetArns: [given] }));
        expect(custom.one("aws:lambda/function:Function").inputs.environment.variables.CONFIGURATION_SET_ARNS).to.equal(given);
    });

    it("sweeps rotated-out keys hourly and outputs the SMTP endpoint, ports and SPF record", async () => {
        const { plan, result } = await create();
        expect(plan.one("aws:cloudwatch/eventRule:EventRule").inputs.scheduleExpression).to.equal("rate(1 hour)");
        expect(plan.one("aws:lambda/permission:Permission").inputs).to.deep.include({ principal: "events.amazonaws.com", action: "lambda:InvokeFunction" });
        expect(await promiseOf(result.smtpEndpoint)).to.equal("email-smtp.us-east-1.amazonaws.com");
        expect(result.smtpPorts).to.deep.equal([587, 465]);
        expect(result.spfRecord).to.equal("v=spf1 include:amazonses.com ~all");
    });

    it("uses a table handed in (MailIngest's routing table) instead of creating one", async () => {
        const aws = await import("@pulumi/aws");
        const { plan } = await runUnderMocks(() => {
            const table = new aws.dynamodb.Table("routing", { name: "ses-mail-email-routing-test", hashKey: "PK", rangeKey: "SK", attributes: [{ name: "PK", type: "S" }, { name: "SK", type: "S" }], streamEnabled: true, streamViewType: "NEW_AND_OLD_IMAGES" });
            return new SmtpCredentials("smtp", { env: "test", homeRegion: "us-east-1", identityArns: [IDENTITY], table });
        });
        expect(plan.ofType("aws:dynamodb/table:Table").map((t) => t.name)).to.deep.equal(["routing"]);
        expect(plan.one("aws:lambda/function:Function").inputs.environment.variables.TABLE_NAME).to.equal("ses-mail-email-routing-test");
        // No admins given: nobody decrypts.
        const decrypt = plan.json(plan.one("aws:kms/key:Key"), "policy").Statement[2];
        expect(decrypt).to.deep.equal({ Sid: "DecryptOnlyByAdmins", Effect: "Deny", Principal: "*", Action: ["kms:Decrypt", "kms:ReEncryptFrom", "kms:CreateGrant"], Resource: "*" });
    });
});
