// What every part of MailIngest shares: its name, args, parent and the account it deploys into.
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { MailIngestArgs } from "./mail-ingest-args";
import { standardTags } from "./naming";
import { resolveEnv } from "./stack-env";

export interface IngestScope {
    /** The component's name; every child's name starts with it. */
    name: string;
    args: MailIngestArgs;
    /** Children are created with `{ parent }` = the MailIngest itself, so their URNs stay as they were. */
    child: { parent: pulumi.Resource };
    env: string;
    prefix?: string;
    /** Standard tags of MailIngest's resources. */
    tags: Record<string, string>;
    /** Args every sub-component (queues, functions) takes. */
    common: { env: string; namePrefix?: string; homeRegion?: string; component: string; tags?: Record<string, string> };
    accountId: pulumi.Output<string>;
    region: pulumi.Output<string>;
    partition: pulumi.Output<string>;
    metricsNamespace: string;
}

export function ingestScope(name: string, args: MailIngestArgs, parent: pulumi.Resource): IngestScope {
    const child = { parent };
    const env = resolveEnv("MailIngest", args.env);
    return {
        name, args, child,
        env,
        prefix: args.namePrefix,
        tags: standardTags(env, "MailIngest", args.tags),
        common: { env, namePrefix: args.namePrefix, homeRegion: args.homeRegion, component: "MailIngest", tags: args.tags },
        accountId: aws.getCallerIdentityOutput({}, child).accountId,
        region: aws.getRegionOutput({}, child).region,
        partition: aws.getPartitionOutput({}, child).partition,
        metricsNamespace: `SESMail/${env}`,
    };
}
