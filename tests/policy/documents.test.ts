// IAM wildcard matching (policy/documents.ts), which compiles each pattern once and reuses it.
import { expect } from "chai";
import fc from "fast-check";
import { actionMatches, patternsCover, wildcardMatches } from "../../policy/documents";

/** Reference matcher: `*` any run of characters (newlines too), `?` one character, the rest literal. */
function globMatches(pattern: string, value: string): boolean {
    // matches[j]: does the pattern so far match value.slice(0, j)?
    let matches = [true, ...Array<boolean>(value.length).fill(false)];
    for (const c of pattern) {
        const next = Array<boolean>(value.length + 1).fill(false);
        for (let j = 0; j <= value.length; j++) {
            next[j] = c === "*" ? matches[j] || (j > 0 && next[j - 1]) : j > 0 && matches[j - 1] && (c === "?" || value[j - 1] === c);
        }
        matches = next;
    }
    return matches[value.length];
}

// Small alphabets, so that patterns and values share characters and match often; regex
// metacharacters and newlines included, as patterns are escaped.
const text = (chars: string[]) => fc.array(fc.constantFrom(...chars), { maxLength: 8 }).map((cs) => cs.join(""));
const VALUE_CHARS = ["a", "b", "A", ":", "/", ".", "+", "(", "[", "\\", "$", "\n"];
const patternText = text([...VALUE_CHARS, "*", "?", "*"]);
const valueText = text(VALUE_CHARS);

describe("policy documents: wildcard matching", () => {
    it("matches as the reference glob, case-sensitive and not, whatever was matched before", () => {
        // Each run matches several (pattern, value) pairs in a row, alternating case sensitivity, so
        // that patterns compiled earlier (for either flag) are reused.
        fc.assert(
            fc.property(fc.array(fc.tuple(patternText, valueText, fc.boolean()), { minLength: 1, maxLength: 6 }), (cases) => {
                for (const [pattern, value, ignoreCase] of cases) {
                    const expected = ignoreCase ? globMatches(pattern.toLowerCase(), value.toLowerCase()) : globMatches(pattern, value);
                    expect(wildcardMatches(pattern, value, ignoreCase), `${JSON.stringify(pattern)} ~ ${JSON.stringify(value)} (ignoreCase ${ignoreCase})`).to.equal(expected);
                }
            }),
            { numRuns: 300 },
        );
    });

    it("a pattern matched case-insensitively first still matches case-sensitively after, and the reverse", () => {
        expect(actionMatches("IAM:Pass*", "iam:PassRole")).to.equal(true);
        expect(wildcardMatches("IAM:Pass*", "iam:PassRole")).to.equal(false);
        expect(wildcardMatches("s3:Get*", "S3:GETOBJECT")).to.equal(false);
        expect(actionMatches("s3:Get*", "S3:GETOBJECT")).to.equal(true);
    });

    it("a target ending in /* is covered only when every key under it matches a pattern", () => {
        fc.assert(
            fc.property(fc.array(patternText, { maxLength: 3 }), text(["a", "b", "/"]), text(["a", "b", "/", "c", "\n"]), (patterns, prefix, key) => {
                if (patternsCover(patterns, `${prefix}/*`)) {
                    expect(patterns.some((pattern) => globMatches(pattern, `${prefix}/${key}`)), `${JSON.stringify(patterns)} covers ${prefix}/${JSON.stringify(key)}`).to.equal(true);
                }
            }),
            { numRuns: 200 },
        );
    });
});
