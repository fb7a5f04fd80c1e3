// EventBridge event patterns ("Content filtering in Amazon EventBridge event patterns", "Amazon
// EventBridge event patterns"), as EventBridge's open-source matcher aws/event-ruler applies them:
// the event is flattened into paths of leaf values, arrays contributing every element to the same
// path (an array of objects becomes one path per field); a pattern field matches if ANY value at
// its path matches ANY of its matchers, and every field of the pattern must match. Two fields
// reaching into an array of objects may therefore match in different elements.

type Json = unknown;

/** Path (dot-joined field names) → every leaf value under it. */
export function flattenEvent(event: Json): Map<string, Json[]> {
    const out = new Map<string, Json[]>();
    const walk = (value: Json, path: string) => {
        if (Array.isArray(value)) {
            value.forEach((item) => walk(item, path));
        } else if (value !== null && typeof value === "object") {
            for (const [key, child] of Object.entries(value)) walk(child, path ? `${path}.${key}` : key);
        } else {
            out.set(path, [...(out.get(path) ?? []), value]);
        }
    };
    walk(event, "");
    return out;
}

export class InvalidEventPattern extends Error {
    public override readonly name = "InvalidEventPatternException";
}

const isObject = (v: Json): v is Record<string, Json> => v !== null && typeof v === "object" && !Array.isArray(v);

function numericMatch(conditions: Json[], value: number): boolean {
    for (let i = 0; i < conditions.length; i += 2) {
        const op = conditions[i];
        const bound = Number(conditions[i + 1]);
        const ok = op === "=" ? value === bound : op === ">" ? value > bound : op === ">=" ? value >= bound : op === "<" ? value < bound : op === "<=" ? value <= bound : undefined;
        if (ok === undefined) throw new InvalidEventPattern(`unknown numeric operator ${JSON.stringify(op)}`);
        if (!ok) return false;
    }
    return true;
}

function wildcard(glob: string, value: string): boolean {
    const regex = new RegExp(`^${glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    return regex.test(value);
}

/** Whether one matcher (a pattern array element) matches one leaf value. */
function matchValue(matcher: Json, value: Json): boolean {
    if (!isObject(matcher)) {
        if (typeof matcher === "number" && typeof value === "number") return matcher === value;
        return matcher === value;
    }
    const [operator, operand] = Object.entries(matcher)[0] ?? [];
    const text = typeof value === "string" ? value : undefined;
    switch (operator) {
        case "prefix":
            if (isObject(operand) && "equals-ignore-case" in operand) return text !== undefined && text.toLowerCase().startsWith(String(operand["equals-ignore-case"]).toLowerCase());
            return text !== undefined && text.startsWith(String(operand));
        case "suffix":
            if (isObject(operand) && "equals-ignore-case" in operand) return text !== undefined && text.toLowerCase().endsWith(String(operand["equals-ignore-case"]).toLowerCase());
            return text !== undefined && text.endsWith(String(operand));
        case "equals-ignore-case":
            return text !== undefined && text.toLowerCase() === String(operand).toLowerCase();
        case "wildcard":
            return text !== undefined && wildcard(String(operand), text);
        case "numeric":
            return typeof value === "number" && numericMatch(operand as Json[], value);
        case "anything-but": {
            if (Array.isArray(operand)) return !operand.some((excluded) => matchValue(excluded, value));
            if (isObject(operand)) return !matchValue(operand, value);
            return !matchValue(operand, value);
        }
        default:
            throw new InvalidEventPattern(`unsupported matcher ${JSON.stringify(matcher)}`);
    }
}

function matchLeaf(matchers: Json[], values: Json[] | undefined): boolean {
    return matchers.some((matcher) => {
        if (isObject(matcher) && "exists" in matcher) {
            return matcher.exists === true ? values !== undefined && values.length > 0 : values === undefined || values.length === 0;
        }
        // anything-but, like every other matcher, needs the field to be present.
        return values !== undefined && values.some((value) => matchValue(matcher, value));
    });
}

function matchAt(pattern: Record<string, Json>, flat: Map<string, Json[]>, prefix: string): boolean {
    return Object.entries(pattern).every(([key, sub]) => {
        if (key === "$or") {
            if (!Array.isArray(sub)) throw new InvalidEventPattern("$or takes an array of patterns");
            return sub.some((alternative) => isObject(alternative) && matchAt(alternative, flat, prefix));
        }
        const path = prefix ? `${prefix}.${key}` : key;
        if (Array.isArray(sub)) return matchLeaf(sub, flat.get(path));
        if (isObject(sub)) return matchAt(sub, flat, path);
        throw new InvalidEventPattern(`"${path}" must be an array of matchers or an object, got ${JSON.stringify(sub)}`);
    });
}

/** `TestEventPattern`: whether the event matches the pattern. */
export function matchesPattern(pattern: Record<string, Json>, event: Json): boolean {
    return matchAt(pattern, flattenEvent(event), "");
}
