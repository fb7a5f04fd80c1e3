import { createHash } from "node:crypto";

/** Default prefix of every physical name. */
export const DEFAULT_PREFIX = "ses-mail";

/**
 * Length limits of physical names, per AWS service. A name longer than its limit is shortened
 * deterministically (see {@link physicalName}) instead of failing at deploy time.
 */
export const NAME_LIMITS = {
    /** Longest name of a DynamoDB table. */
    dynamodbTable: 255,
    /** Longest name of an EventBridge event bus. */
    eventBus: 256,
    /** Longest name of an EventBridge rule. */
    eventRule: 64,
    /** Longest name of an IAM role. */
    iamRole: 64,
    /** Longest name of an IAM user. */
    iamUser: 64,
    /** Longest name of a KMS alias. Without the `alias/` prefix. */
    kmsAlias: 256,
    /** Longest name of a Lambda function. */
    lambda: 64,
    /** Longest name of a CloudWatch log group. */
    logGroup: 512,
    /** Longest name of an EventBridge pipe. */
    pipe: 64,
    /** Longest name of an S3 bucket. */
    s3Bucket: 63,
    /** A bucket name that gets `-<12-digit account id>` appended: 63 minus those 13 characters. */
    s3BucketBeforeAccountId: 50,
    /** Longest name of an EventBridge Scheduler schedule. */
    schedule: 64,
    /** Longest name of an SES configuration set. */
    sesConfigurationSet: 64,
    /** Longest name of an SES receipt rule (and rule set). */
    sesReceiptRule: 64,
    /** Longest name of a Step Functions state machine. */
    sfnStateMachine: 80,
    /** Longest name of an SNS topic. */
    snsTopic: 256,
    /** Longest name of an SQS queue. */
    sqsQueue: 80,
    /** Longest name of an SSM document. */
    ssmDocument: 128,
} as const;

/** A service whose names {@link physicalName} builds (a key of {@link NAME_LIMITS}). */
export type NamedService = keyof typeof NAME_LIMITS;

/** The parts of a physical name: `<prefix>-<purpose>-<env>`. */
export interface PhysicalNameParts {
    /** What the resource is for, e.g. `email-input` or `email-input-dlq`. */
    purpose: string;
    /** Environment (stack) name, e.g. `test` or `prod`. */
    env: string;
    /** @default "ses-mail" */
    prefix?: string;
}

const HASH_LENGTH = 7;

/**
 * `<prefix>-<purpose>-<env>`, within the service's length limit. Too-long names keep their start
 * and end (the environment stays visible) and gain a short hash of the full name, so two long names
 * never collide after shortening.
 */
export function physicalName(service: NamedService, parts: PhysicalNameParts): string {
    const prefix = parts.prefix ?? DEFAULT_PREFIX;
    for (const [key, value] of Object.entries({ prefix, purpose: parts.purpose, env: parts.env })) {
        // Start and end alphanumeric: S3 bucket names must, and a name ends with the env (or region).
        if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(value)) {
            throw new Error(`Invalid ${key} "${value}" for a physical name: use lowercase letters, digits and hyphens, starting and ending with a letter or digit.`);
        }
    }
    const full = `${prefix}-${parts.purpose}-${parts.env}`;
    const limit = NAME_LIMITS[service];
    if (full.length <= limit) {
        return full;
    }
    const hash = createHash("sha256").update(full).digest("hex").slice(0, HASH_LENGTH);
    const tail = `-${hash}-${parts.env}`;
    return `${full.slice(0, limit - tail.length).replace(/-+$/, "")}${tail}`;
}

/** The parts of a name unique in the whole account or partition (IAM roles, S3 buckets): a physical name plus the region. */
export interface GlobalNameParts extends PhysicalNameParts {
    /** The region the resource is deployed in (e.g. `aws.getRegionOutput().region`, resolved). */
    region: string;
    /**
     * The region whose global names keep the region-free form they had before names carried a
     * region. Unset: the region is always part of the name, so every region is unique.
     */
    homeRegion?: string;
}

/**
 * The physical name of a resource whose name is global to the account (IAM roles) or to the
 * partition (S3 buckets), so the same env deployed in a second region cannot collide with the first:
 * `<prefix>-<purpose>-<env>` in `homeRegion`, `<prefix>-<purpose>-<env>-<region>` anywhere else (or
 * everywhere when `homeRegion` is unset). Same limits and shortening as {@link physicalName}: a
 * shortened name ends with `-<hash>-<env>-<region>`, the hash covering the full name.
 * Pure (no Pulumi import: the CLI loads this module); callers resolve the region first.
 */
export function globalPhysicalName(service: NamedService, parts: GlobalNameParts): string {
    const { region, homeRegion, ...rest } = parts;
    return physicalName(service, { ...rest, env: globalEnv(rest.env, region, homeRegion) });
}

/**
 * Prefixes S3 refuses at the start of a bucket name (S3 User Guide, "General purpose bucket naming
 * rules"); bucket names start with `<prefix>-`, so a prefix must not lead into one.
 */
export const S3_RESERVED_BUCKET_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"] as const;

/** The reserved bucket-name prefix a name prefix leads into; undefined when none. */
export function reservedBucketPrefix(prefix: string): string | undefined {
    return S3_RESERVED_BUCKET_PREFIXES.find((reserved) => `${prefix}-`.startsWith(reserved));
}

/**
 * A bucket name made unique by the account: {@link globalPhysicalName} shortened to leave room for
 * `-<12-digit account id>`, so the whole name stays within S3's 63 characters.
 */
export function accountBucketName(parts: GlobalNameParts, accountId: string): string {
    return `${globalPhysicalName("s3BucketBeforeAccountId", parts)}-${accountId}`;
}

/**
 * The env as global names (and IAM paths) carry it: `<env>` in `homeRegion`, `<env>-<region>`
 * anywhere else (or everywhere when `homeRegion` is unset).
 */
export function globalEnv(env: string, region: string, homeRegion?: string): string {
    return region === homeRegion ? env : `${env}-${region}`;
}

/** Tags every component applies to every taggable child. */
export function standardTags(env: string, component: string, extra: Record<string, string> = {}): Record<string, string> {
    return { Environment: env, Service: DEFAULT_PREFIX, Component: component, ...extra };
}

/** The SSM path under which an environment's Gmail OAuth parameters live. */
export function gmailParameterPrefix(env: string, prefix = DEFAULT_PREFIX): string {
    return `/${prefix}/${env}/gmail-forwarder`;
}

/** A Gmail address as a name segment: `you@gmail.com` → `you-gmail-com`. */
export function accountSlug(account: string): string {
    return account.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "");
}

/** Purpose (name part) of MailIngest's retry-drain state machine, which `ses-mail token refresh` starts. */
export const RETRY_DRAIN_PURPOSE = "gmail-forwarder-retry-drain";

/** A domain as a name segment (`mail.example.com` → `mail-example-com`), as in its resources' logical names. */
export function domainSlug(domain: string): string {
    return domain.replace(/\./g, "-");
}

/**
 * Why two entries of a list would become one resource name (a duplicate URN, which fails `pulumi up`):
 * the same value twice, or two values with the same name segment. Undefined when all are distinct.
 */
export function nameClash(values: readonly string[], segment: (value: string) => string = (value) => value): string | undefined {
    const seen = new Map<string, string>();
    for (const value of values) {
        const other = seen.get(segment(value));
        if (other === value) return `"${value}" is listed twice`;
        if (other !== undefined) return `"${other}" and "${value}" map to the same resource name ("${segment(value)}")`;
        seen.set(segment(value), value);
    }
    return undefined;
}
