// Reading IAM policy documents and related resources out of resource properties, for the policies.

export interface PolicyDocStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: "*" | Record<string, string | string[]>;
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

/** A resource-policy statement that denies requests not made over TLS. */
export function deniesInsecureTransport(statement: PolicyDocStatement): boolean {
    return statement.Effect === "Deny" && String(statement.Condition?.Bool?.["aws:SecureTransport"]) === "false";
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

/** The statement's Service principals. */
export function servicePrincipals(statement: PolicyDocStatement): string[] {
    return typeof statement.Principal === "object" ? asArray(statement.Principal.Service) : [];
}

/** Does an IAM action pattern (possibly with wildcards) match a concrete action? */
export function actionMatches(pattern: string, action: string): boolean {
    const regex = new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "i");
    return regex.test(action);
}
