import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountKeyAdministration, accountRootArn, allowServiceKeyUse, denyKeyActionsExcept, policyDocument, PolicyStatement } from "./iam";
import { physicalName, standardTags } from "./naming";

/** An AWS service that may use the key on this account's behalf. */
export interface KeyServiceUser {
    /** Service principal, e.g. `sns.amazonaws.com`. */
    service: string;
    /** KMS actions it may call, e.g. `kms:GenerateDataKey`. */
    actions: string[];
}

/**
 * What the components need of the key their topics are encrypted with, in one place: a component
 * with a key of its own puts its entry in that key's policy; a stack key shared by every component
 * ({@link stackKmsKey}) carries them all. Nothing else uses a component's key: the queues are
 * SSE-SQS, the tables use the AWS-managed `aws/dynamodb` key (unless SuppressionStore is given one),
 * the mail bucket SSE-S3, log groups CloudWatch's own encryption, and the Gmail SecureStrings the
 * AWS-managed `aws/ssm` key; the SMTP credentials' encrypt and the publishers' and consumers' use
 * come through IAM (the account statement delegates to it).
 */
export const KEY_SERVICE_USERS: {
    /** SES, publishing to encrypted topics. */
    ses: KeyServiceUser;
    /** CloudWatch alarms, publishing to encrypted topics. */
    cloudwatch: KeyServiceUser;
} = {
    /** SES publishes to the feedback, identity-notification and inbound topics (it can only publish to a topic under a customer key whose policy lets it). */
    ses: { service: "ses.amazonaws.com", actions: ["kms:GenerateDataKey", "kms:Decrypt"] },
    /** CloudWatch alarms publish to the alarm and token-alert topics (never to a topic under the AWS-managed key). */
    cloudwatch: { service: "cloudwatch.amazonaws.com", actions: ["kms:GenerateDataKey", "kms:Decrypt"] },
};

/**
 * The encryption context key the SMTP credential manager encrypts each password under
 * (`{ username }`, functions/smtp-credential-manager/adapters.ts); on a shared key, decrypting with
 * it is what the credential admins alone may do.
 */
export const SMTP_CREDENTIALS_CONTEXT_KEY = "username";

/** Arguments of {@link KmsKey}. */
export interface KmsKeyArgs {
    /** Environment name: the alias's last part. */
    env: string;
    /** Alias purpose: `alias/<prefix>-<purpose>-<env>`. */
    purpose: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /** The key's description. */
    description: string;
    /** Services that use the key (e.g. SES publishing to an encrypted topic). @default none @example [KEY_SERVICE_USERS.ses] */
    serviceUsers?: KeyServiceUser[];
    /** Further key-policy statements (e.g. who may encrypt). @default none */
    statements?: pulumi.Input<PolicyStatement>[];
    /**
     * The only principals that may decrypt with the key. When set, everyone else is denied
     * kms:Decrypt, kms:ReEncryptFrom (re-encrypting to a key of their own) and kms:CreateGrant
     * (granting themselves), whatever their IAM policies say, and kms:PutKeyPolicy (removing those
     * denies) is left to `deployerPrincipalArns` and the account's root user (break-glass: a key no
     * principal may change the policy of is unmanageable). Empty: nobody decrypts.
     * @default unset: IAM policies decide
     */
    decryptPrincipalArns?: pulumi.Input<string>[];
    /**
     * With `decryptPrincipalArns`: deny kms:Decrypt to everyone else only for ciphertexts encrypted
     * under this encryption context key (KMS needs the exact context to decrypt, so every such
     * Decrypt carries it: `kms:EncryptionContext:<key>`, AWS KMS condition keys), leaving the key
     * usable by the services and roles that encrypt other data with it; kms:ReEncryptFrom and
     * kms:CreateGrant stay denied to everyone else outright (nothing else needs them).
     * @default unset: kms:Decrypt is denied to everyone else whatever the context
     */
    protectedEncryptionContextKey?: string;
    /** Keep the key and its alias in AWS when they leave the program (Pulumi `retainOnDelete`). @default false */
    retainOnDelete?: boolean;
    /**
     * Keep the key (not its alias) in AWS when it leaves the program, e.g. a key that holds data
     * nothing else can decrypt. @default the `retainOnDelete` value
     */
    retainKeyOnDelete?: boolean;
    /**
     * The URNs the key and its alias had before (Pulumi `aliases` of each child): Pulumi then updates
     * them in place instead of creating new ones and deleting the old, whatever state the component
     * itself is found in. @default none
     */
    previousUrns?: KmsKeyPreviousUrns;
    /**
     * Who may replace the key policy when `decryptPrincipalArns` is set, as aws:PrincipalArn names
     * them (an IAM role's ARN, not an sts assumed-role ARN). A deployment run by anyone else fails on
     * the key policy. @default the deploying principal ({@link deployingPrincipalArn})
     */
    deployerPrincipalArns?: pulumi.Input<string>[];
    /** Component tag value. @default "KmsKey" */
    component?: string;
    /** Extra tags. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
}

/**
 * The principal running the deployment as aws:PrincipalArn names it: for an assumed-role session
 * (SSO, CI) its IAM role's ARN, path included, which the sts ARN lacks; getSessionContext looks the
 * role up (iam:GetRole). Any other caller's ARN (an IAM user, the root user) is already that.
 */
export function deployingPrincipalArn(opts?: pulumi.InvokeOutputOptions): pulumi.Output<string> {
    return aws.getCallerIdentityOutput({}, opts).arn.apply((arn) =>
        (/^arn:[^:]+:sts::\d{12}:assumed-role\//.test(arn) ? aws.iam.getSessionContextOutput({ arn }, opts).issuerArn : pulumi.output(arn)));
}

/** The URNs of a {@link KmsKey}'s children. */
export interface KmsKeyPreviousUrns {
    /** The `aws:kms/key:Key`'s. */
    key: pulumi.Input<string>;
    /** The `aws:kms/alias:Alias`'s. */
    alias: pulumi.Input<string>;
}

/**
 * The URNs of the {@link KmsKey} component `name` under the resource with URN `parentUrn` and of its
 * two children (`name` and `name-alias`): what an alias to that key names.
 */
export function kmsKeyUrns(name: string, parentUrn: pulumi.Input<string>): KmsKeyPreviousUrns & {
    /** The component's. */
    component: pulumi.Output<string>;
} {
    const component = pulumi.createUrn(name, "ses-mail:index:KmsKey", parentUrn);
    return { component, key: pulumi.createUrn(name, "aws:kms/key:Key", component), alias: pulumi.createUrn(`${name}-alias`, "aws:kms/alias:Alias", component) };
}

/** A customer-managed key with rotation on, an alias, and a key policy scoped to this account. */
export class KmsKey extends pulumi.ComponentResource {
    /** The key. */
    public readonly key: aws.kms.Key;
    /** The key's ARN. */
    public readonly arn: pulumi.Output<string>;
    /** `alias/<prefix>-<purpose>-<env>`. */
    public readonly aliasName: string;

    constructor(name: string, args: KmsKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:KmsKey", name, {}, opts);
        const accountId = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const partition = aws.getPartitionOutput({}, { parent: this }).partition;
        const decryptors = args.decryptPrincipalArns;
        this.key = new aws.kms.Key(name, {
            description: args.description,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            policy: policyDocument([
                accountKeyAdministration(accountId, partition),
                ...(args.serviceUsers ?? []).map((user) => allowServiceKeyUse(user.service, user.actions, accountId)),
                ...(args.statements ?? []),
                ...(decryptors === undefined ? [] : [
                    ...(args.protectedEncryptionContextKey === undefined
                        ? [denyKeyActionsExcept("DecryptOnlyByAdmins", ["kms:Decrypt", "kms:ReEncryptFrom", "kms:CreateGrant"], decryptors)]
                        : [
                            denyKeyActionsExcept("DecryptOnlyByAdmins", ["kms:Decrypt"], decryptors, { Null: { [`kms:EncryptionContext:${args.protectedEncryptionContextKey}`]: "false" } }),
                            denyKeyActionsExcept("ReEncryptAndGrantOnlyByAdmins", ["kms:ReEncryptFrom", "kms:CreateGrant"], decryptors),
                        ]),
                    denyKeyActionsExcept("KeyPolicyOnlyByDeployers", ["kms:PutKeyPolicy"], [
                        ...(args.deployerPrincipalArns ?? [deployingPrincipalArn({ parent: this })]), accountRootArn(accountId, partition),
                    ]),
                ]),
            ]),
            tags: standardTags(args.env, args.component ?? "KmsKey", args.tags),
        }, { parent: this, retainOnDelete: args.retainKeyOnDelete ?? args.retainOnDelete, ...(args.previousUrns ? { aliases: [args.previousUrns.key] } : {}) });
        this.aliasName = `alias/${physicalName("kmsAlias", { purpose: args.purpose, env: args.env, prefix: args.namePrefix })}`;
        new aws.kms.Alias(`${name}-alias`, { name: this.aliasName, targetKeyId: this.key.keyId }, {
            parent: this, retainOnDelete: args.retainOnDelete, ...(args.previousUrns ? { aliases: [args.previousUrns.alias] } : {}),
        });
        this.arn = this.key.arn;
        this.registerOutputs({ arn: this.arn, aliasName: this.aliasName });
    }
}

/**
 * The key a component encrypts with: `given` when there is one (a stack key shared by its
 * components), else a key of its own, `name`. With `retainOwn`, the component's own key is still
 * declared (same URN, same policy) but retained on delete and unused, so the deploy after leaves it
 * in AWS instead of scheduling its deletion (docs/OPERATIONS.md, "One KMS key per stack").
 */
export function componentKey(name: string, given: pulumi.Input<string> | undefined, retainOwn: boolean | undefined, own: KmsKeyArgs, opts: pulumi.ComponentResourceOptions): {
    /** The key to encrypt with. */
    arn: pulumi.Input<string>;
    /** The component's own key, when it declares one (no `given`, or `retainOwn`). */
    own?: KmsKey;
} {
    if (given === undefined) {
        const key = new KmsKey(name, own, opts);
        return { arn: key.arn, own: key };
    }
    return { arn: given, ...(retainOwn ? { own: new KmsKey(name, { ...own, retainOnDelete: true }, opts) } : {}) };
}

/** The component key a {@link stackKmsKey} takes over: the `KmsKey` named `name`, child of the resource with URN `parentUrn`. */
export interface AdoptedKmsKey {
    /** The old KmsKey component's name, e.g. `smtp-key`. */
    name: string;
    /** Its parent's URN, e.g. the `smtp` SmtpCredentials component's. */
    parentUrn: pulumi.Input<string>;
}

/** The `Component` tag of the {@link stackKmsKey}'s key. */
export const STACK_KEY_COMPONENT = "StackKey";

/** Arguments of {@link stackKmsKey}. */
export interface StackKmsKeyArgs {
    /** Environment name: the alias's last part. */
    env: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /**
     * The stack's SmtpCredentials `adminPrincipalArns`: the only principals that may decrypt what was
     * encrypted under the `username` context ({@link SMTP_CREDENTIALS_CONTEXT_KEY}), and re-encrypt
     * or grant. Denied whether or not the stack has SMTP credentials now: ciphertexts of earlier ones
     * may remain. @default [] (nobody)
     */
    credentialAdminArns?: pulumi.Input<string>[];
    /** SmtpCredentials' `deployerPrincipalArns`: who may replace the key policy. @default the deploying principal */
    deployerPrincipalArns?: pulumi.Input<string>[];
    /**
     * A component key this key is (Pulumi aliases on the component and on each child, so an
     * interrupted `up` cannot leave the children to be created anew). @default none: a new key
     */
    adopts?: AdoptedKmsKey;
    /** Extra tags. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
}

/**
 * One key for a whole stack (issue #20: $1 a key-month): every component is given it (`kmsKeyArn`)
 * and creates none. Its policy carries every component's need ({@link KEY_SERVICE_USERS}), each as
 * narrowly as a component's own key (aws:SourceAccount), and the credential admins' exclusive
 * decrypt of the SMTP credentials' encryption context.
 *
 * Not a general-purpose key: everyone but `credentialAdminArns` is denied kms:CreateGrant and
 * kms:ReEncryptFrom whatever their IAM policies say, so a service that needs a grant on its key
 * (e.g. a DynamoDB table, EBS, or a Lambda environment encrypted with it) cannot use this one.
 *
 * The key (not its alias) is retained on delete: a configuration slip (`per-component`, or the
 * `ses-mail:kms` block removed) leaves it in AWS, with the SMTP passwords under it, instead of
 * scheduling its deletion.
 */
export function stackKmsKey(name: string, args: StackKmsKeyArgs, opts?: pulumi.ComponentResourceOptions): KmsKey {
    return new KmsKey(name, {
        env: args.env,
        purpose: "stack",
        namePrefix: args.namePrefix,
        description: `ses-mail (${args.env}): every topic and the SMTP credentials of the stack`,
        serviceUsers: Object.values(KEY_SERVICE_USERS),
        decryptPrincipalArns: args.credentialAdminArns ?? [],
        protectedEncryptionContextKey: SMTP_CREDENTIALS_CONTEXT_KEY,
        deployerPrincipalArns: args.deployerPrincipalArns,
        retainKeyOnDelete: true,
        ...(args.adopts ? { previousUrns: kmsKeyUrns(args.adopts.name, args.adopts.parentUrn) } : {}),
        component: STACK_KEY_COMPONENT,
        tags: args.tags,
    }, args.adopts ? { ...opts, aliases: [...(opts?.aliases ?? []), { name: args.adopts.name, parent: args.adopts.parentUrn }] } : opts);
}
