// Reading IAM policy documents and related resources out of resource properties, for the policies.

export interface PolicyDocStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: "*" | Record<string, string | string[]>;
    NotPrincipal?: "*" | Record<string, string | string[]>;
    Action?: string | string[];
    NotAction?: string | string[];
    Resource?: string | string[];
    NotResource?: string | string[];
    Condition?: Record<string, Record<string, unknown>>;
}

export function asArray<T>(value: T | T[] | undefined | null): T[] {
    return value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
}

/** Statements of a policy document given as JSON text or an object; empty when unparseable. */
export function statementsOf(document: unknown): PolicyDocStatement[] {
    let parsed = document;
    if (typeof document === "string") {
        try {
            parsed = JSON.parse(document);
        } catch {
            return [];
        }
    }
    return asArray((parsed as { Statement?: PolicyDocStatement | PolicyDocStatement[] } | undefined)?.Statement);
}

/**
 * IAM wildcard matching: `*` matches any run of characters, `?` exactly one (StringLike, ArnLike,
 * Action and Resource patterns; IAM User Guide, "IAM JSON policy elements: Condition operators").
 */
export function wildcardMatches(pattern: string, value: string, ignoreCase = false): boolean {
    return wildcardRegExp(pattern, ignoreCase).test(value);
}

// Compiled patterns, by case sensitivity and pattern: a pack run matches the same few patterns (a
// statement's actions and resources, the pack's action lists) against many values. The expressions
// have no `g` or `y` flag, so test() keeps no state between calls and they can be shared.
const compiledPatterns = { exact: new Map<string, RegExp>(), ignoreCase: new Map<string, RegExp>() };
const MAX_COMPILED_PATTERNS = 10_000;

function wildcardRegExp(pattern: string, ignoreCase: boolean): RegExp {
    const cache = ignoreCase ? compiledPatterns.ignoreCase : compiledPatterns.exact;
    let compiled = cache.get(pattern);
    if (compiled === undefined) {
        const source = [...pattern].map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("");
        compiled = new RegExp(`^${source}$`, ignoreCase ? "is" : "s");
        if (cache.size >= MAX_COMPILED_PATTERNS) {
            cache.clear();
        }
        cache.set(pattern, compiled);
    }
    return compiled;
}

/** Does an IAM action pattern (possibly with wildcards) match a concrete action? Action names are case-insensitive. */
export function actionMatches(pattern: string, action: string): boolean {
    return wildcardMatches(pattern, action, true);
}

/** Does an Allow statement allow the action, through Action or NotAction? */
export function allowsAction(statement: PolicyDocStatement, action: string): boolean {
    if (statement.Effect !== "Allow") {
        return false;
    }
    return statement.NotAction !== undefined
        ? !asArray(statement.NotAction).some((pattern) => actionMatches(pattern, action))
        : asArray(statement.Action).some((pattern) => actionMatches(pattern, action));
}

/** Does one of the patterns match every value the target stands for? A target ending in `/*` stands for every key under it. */
export function patternsCover(patterns: string[], target: string): boolean {
    if (!target.endsWith("/*")) {
        return patterns.some((pattern) => wildcardMatches(pattern, target));
    }
    // `p*` matches every string starting with `prefix` iff `p` matches some prefix of `prefix`.
    const prefix = target.slice(0, -1);
    return patterns.some((pattern) => pattern.endsWith("*") && [...Array(prefix.length + 1).keys()].some((i) => wildcardMatches(pattern.slice(0, -1), prefix.slice(0, i))));
}

export interface Arn {
    partition: string;
    service: string;
    region: string;
    account: string;
    resource: string;
}

/** The parts of an ARN (any partition: `aws`, `aws-cn`, `aws-us-gov`, …), or undefined for other text. */
export function parseArn(text: string): Arn | undefined {
    const match = /^arn:([^:]+):([^:]*):([^:]*):([^:]*):(.*)$/s.exec(text);
    return match ? { partition: match[1], service: match[2], region: match[3], account: match[4], resource: match[5] } : undefined;
}

/** An ARN in one of AWS's partitions: `arn:aws:`, `arn:aws-cn:`, `arn:aws-us-gov:`, `arn:aws-iso-b:`, … */
export const ARN_PREFIX = "arn:aws[a-z-]*:";

const WILDCARDS_ONLY = /^[*?]+$/;
const ACCOUNT_ID = /^\d{12}$/;
// Services whose ARNs name the resource right after the account, without a resource type.
const UNTYPED_RESOURCE_SERVICES = ["s3", "sqs", "sns"];

/**
 * A Resource entry that names no particular resource: `*`, an ARN of any account, or one whose
 * resource name (after its type, e.g. `role/`) starts with a wildcard (`arn:aws:s3:::*`, `role/*`).
 */
export function matchesAnyResource(resource: string): boolean {
    if (WILDCARDS_ONLY.test(resource)) {
        return true;
    }
    const arn = parseArn(resource);
    if (!arn) {
        return false;
    }
    const name = UNTYPED_RESOURCE_SERVICES.includes(arn.service) ? arn.resource : arn.resource.replace(/^[A-Za-z-]+[/:]/, "");
    return /[*?]/.test(arn.account) || name === "" || /^[*?]/.test(name);
}

// Operators under which a condition key must be present and match (no IfExists, no negation, no
// ForAllValues, which all pass when the key is absent or differs).
const RESTRICTING_OPERATORS = ["StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"];

/** Values a statement requires of a condition key, under operators that actually restrict it. */
export function restrictingValues(statement: PolicyDocStatement, key: string): { operator: string; values: string[] }[] {
    return RESTRICTING_OPERATORS.flatMap((operator) => {
        const block = statement.Condition?.[operator] ?? {};
        return Object.entries(block)
            .filter(([name]) => name.toLowerCase() === key.toLowerCase())
            .map(([, values]) => ({ operator, values: asArray(values as string | string[]).map(String) }));
    });
}

/**
 * Why a statement that lets a service principal act does not tie the service to this account's
 * resources (confused-deputy protection, IAM User Guide "The confused deputy problem"), if it
 * doesn't: it needs `aws:SourceAccount` = an account, or `aws:SourceArn` values that each name an
 * account (S3 ARNs carry none: another account can create a bucket of the same name), and no
 * source value that matches anything (`*`, an account `*`, a resource `*`).
 */
export function sourceScopeProblem(statement: PolicyDocStatement): string | undefined {
    const accounts = restrictingValues(statement, "aws:SourceAccount").flatMap((c) => c.values);
    const arns = restrictingValues(statement, "aws:SourceArn").flatMap((c) => c.values);
    const broadAccount = accounts.find((account) => !ACCOUNT_ID.test(account));
    if (broadAccount !== undefined) {
        return `aws:SourceAccount "${broadAccount}" is not one account`;
    }
    const broadArn = arns.find((value) => {
        const arn = parseArn(value);
        return !arn || /[*?]/.test(arn.account) || WILDCARDS_ONLY.test(arn.resource);
    });
    if (broadArn !== undefined) {
        return `aws:SourceArn "${broadArn}" matches resources of any account or any resource`;
    }
    if (accounts.length > 0 || (arns.length > 0 && arns.every((value) => ACCOUNT_ID.test(parseArn(value)!.account)))) {
        return undefined;
    }
    return arns.length > 0 ? "its aws:SourceArn names no account (as S3 ARNs): add aws:SourceAccount" : "it has no aws:SourceArn or aws:SourceAccount condition";
}

/** Values a statement's conditions compare a key with, under any operator. */
export function conditionValues(statement: PolicyDocStatement, key: string): string[] {
    return Object.values(statement.Condition ?? {}).flatMap((block) =>
        Object.entries(block ?? {}).filter(([name]) => name.toLowerCase() === key.toLowerCase()).flatMap(([, values]) => asArray(values as string | string[]).map(String)));
}

/** Condition keys (lowercased) a statement tests, across all operators. */
export function conditionKeys(statement: PolicyDocStatement): string[] {
    return Object.values(statement.Condition ?? {}).flatMap((block) => Object.keys(block ?? {}).map((key) => key.toLowerCase()));
}

/** Identity-policy documents a resource carries, by where they sit (for messages). */
export function identityPolicies(type: string, props: Record<string, any>): { where: string; statements: PolicyDocStatement[] }[] {
    switch (type) {
        case "aws:iam/rolePolicy:RolePolicy":
        case "aws:iam/policy:Policy":
        case "aws:iam/userPolicy:UserPolicy":
        case "aws:iam/groupPolicy:GroupPolicy":
            return [{ where: "policy", statements: statementsOf(props.policy) }];
        case "aws:iam/role:Role":
            return asArray(props.inlinePolicies as { name?: string; policy?: string }[]).map((inline) => ({
                where: `inline policy ${inline.name ?? "(unnamed)"}`,
                statements: statementsOf(inline.policy),
            }));
        default:
            return [];
    }
}

// Resources whose `policy` property is a resource-based policy (who may act on the resource).
const RESOURCE_POLICY_TYPES = [
    "aws:sns/topic:Topic",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:sqs/queue:Queue",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:kms/key:Key",
    "aws:kms/keyPolicy:KeyPolicy",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy",
];

/** Statements of the resource-based policy a resource carries (empty for other resources). */
export function resourcePolicyStatements(type: string, props: Record<string, any>): PolicyDocStatement[] {
    return RESOURCE_POLICY_TYPES.includes(type) ? statementsOf(props.policy) : [];
}

/** The statement's Service principals. */
export function servicePrincipals(statement: PolicyDocStatement): string[] {
    return typeof statement.Principal === "object" ? asArray(statement.Principal.Service) : [];
}

/** Does the statement apply to anyone: Principal `*`, a wildcard principal, or NotPrincipal? */
export function appliesToAnyone(statement: PolicyDocStatement): boolean {
    if (statement.NotPrincipal !== undefined || statement.Principal === "*") {
        return true;
    }
    return typeof statement.Principal === "object" && Object.values(statement.Principal).flatMap((p) => asArray(p)).some((p) => p.includes("*"));
}

/**
 * A resource-policy statement that denies every principal every action of the service on all of
 * `targets` when the request is not made over TLS, with no other condition to narrow it.
 */
export function deniesInsecureTransport(statement: PolicyDocStatement, service: string, targets: string[]): boolean {
    const condition = statement.Condition ?? {};
    const tlsOnly = Object.keys(condition).length === 1 && Object.keys(condition.Bool ?? {}).length === 1 && String(condition.Bool?.["aws:SecureTransport"]) === "false";
    const everyone = statement.Principal === "*" || (typeof statement.Principal === "object" && Object.keys(statement.Principal).length === 1 && asArray(statement.Principal.AWS).includes("*"));
    const everyAction = statement.NotAction === undefined && asArray(statement.Action).some((action) => action === "*" || action.toLowerCase() === `${service}:*`);
    const resources = statement.NotResource === undefined ? asArray(statement.Resource) : [];
    return statement.Effect === "Deny" && tlsOnly && everyone && everyAction && targets.every((target) => patternsCover(resources, target));
}
