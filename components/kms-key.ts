import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { accountKeyAdministration, allowServiceKeyUse, policyDocument, PolicyStatement } from "./iam";
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
    /** Further key-policy statements (e.g. who may decrypt). @default none */
    statements?: pulumi.Input<PolicyStatement>[];
    /** Component tag value. @default "KmsKey" */
    component?: string;
    tags?: Record<string, string>;
}

/** A customer-managed key with rotation on, an alias, and a key policy scoped to this account. */
export class KmsKey extends pulumi.ComponentResource {
    public readonly key: aws.kms.Key;
    public readonly arn: pulumi.Output<string>;
    public readonly aliasName: string;

    constructor(name: string, args: KmsKeyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:KmsKey", name, {}, opts);
        const accountId = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        this.key = new aws.kms.Key(name, {
            description: args.description,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            policy: policyDocument([
                accountKeyAdministration(accountId),
                ...(args.serviceUsers ?? []).map((user) => allowServiceKeyUse(user.service, user.actions, accountId)),
                ...(args.statements ?? []),
            ]),
            tags: standardTags(args.env, args.component ?? "KmsKey", args.tags),
        }, { parent: this });
        this.aliasName = `alias/${physicalName("kmsAlias", { purpose: args.purpose, env: args.env, prefix: args.namePrefix })}`;
        new aws.kms.Alias(`${name}-alias`, { name: this.aliasName, targetKeyId: this.key.keyId }, { parent: this });
        this.arn = this.key.arn;
        this.registerOutputs({ arn: this.arn, aliasName: this.aliasName });
    }
}
