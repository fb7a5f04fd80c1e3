import { createHash } from "node:crypto";

/** Default prefix of every physical name. */
export const DEFAULT_PREFIX = "ses-mail";

/**
 * Length limits of physical names, per AWS service. A name longer than its limit is shortened
 * deterministically (see {@link physicalName}) instead of failing at deploy time.
 */
export const NAME_LIMITS = {
    dynamodbTable: 255,
    eventBus: 256,
    eventRule: 64,
    iamRole: 64,
    iamUser: 64,
    kmsAlias: 256,
    lambda: 64,
    logGroup: 512,
    pipe: 64,
    s3Bucket: 63,
    schedule: 64,
    sesConfigurationSet: 64,
    sesReceiptRule: 64,
    sfnStateMachine: 80,
    snsTopic: 256,
    sqsQueue: 80,
    ssmDocument: 128,
} as const;

export type NamedService = keyof typeof NAME_LIMITS;

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
        if (!/^[a-z0-9][a-z0-9-]*$/.test(value)) {
            throw new Error(`Invalid ${key} "${value}" for a physical name: use lowercase letters, digits and hyphens.`);
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
