import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountKeyAdministration, accountRootArn, allowServiceKeyUse, denyKeyActionsExcept, policyDocument, PolicyStatement } from "./iam";
import { physicalName, standardTags } from "./naming";

/** An AWS service that may use the key on this account's behalf. */
export interface KeyServiceUser {
    service: string;
    actions: string[];
}

export interface KmsKeyArgs {
    env: string;
    /** Alias purpose: `alias/<prefix>-<purpose>-<env>`. */
    purpose: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    description: string;
    /** Services that use the key (e.g. SES publishing to an encrypted topic). @default none */
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
     * Who may replace the key policy when `decryptPrincipalArns` is set, as aws:PrincipalArn names
     * them (an IAM role's ARN, not an sts assumed-role ARN). A deployment run by anyone else fails on
     * the key policy. @default the deploying principal ({@link deployingPrincipalArn})
     */
    deployerPrincipalArns?: pulumi.Input<string>[];
    /** Component tag value. @default "KmsKey" */
    component?: string;
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

/** A customer-managed key with rotation on, an alias, and a key policy scoped to this account. */
export class KmsKey extends pulumi.ComponentResource {
    public readonly key: aws.kms.Key;
    public readonly arn: pulumi.Output<string>;
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
                    denyKeyActionsExcept("DecryptOnlyByAdmins", ["kms:Decrypt", "kms:ReEncryptFrom", "kms:CreateGrant"], decryptors),
                    denyKeyActionsExcept("KeyPolicyOnlyByDeployers", ["kms:PutKeyPolicy"], [
                        ...(args.deployerPrincipalArns ?? [deployingPrincipalArn({ parent: this })]), accountRootArn(accountId, partition),
                    ]),
                ]),
            ]),
            tags: standardTags(args.env, args.component ?? "KmsKey", args.tags),
        }, { parent: this });
        this.aliasName = `alias/${physicalName("kmsAlias", { purpose: args.purpose, env: args.env, prefix: args.namePrefix })}`;
        new aws.kms.Alias(`${name}-alias`, { name: this.aliasName, targetKeyId: this.key.keyId }, { parent: this });
        this.arn = this.key.arn;
        this.registerOutputs({ arn: this.arn, aliasName: this.aliasName });
    }
}
