// Every Args field of the exported components says what it does, its default when optional, and
// shows an example where its shape is not obvious (issues #24, #19): read from the source with the
// TypeScript compiler, so a field added without them fails here rather than in TypeDoc later. The
// interfaces are discovered from what index.ts and runtime.ts export (every `…Args` and `…Transform`
// interface), not from a hand-kept list, so a new component's Args is covered the day it is exported.
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import fc from "fast-check";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..", "..");
const ENTRY_POINTS = ["index.ts", "runtime.ts"];
/** Types whose shape a reader cannot guess from the name: maps, lists, object literals, transforms. */
const NOT_OBVIOUS = /Record<|\{|Transform|\b[A-Z]\w*\[\]/;

interface Field { name: string; optional: boolean; type: string; doc: string; tags: string[] }

const sources = new Map<string, ts.SourceFile>();
function source(file: string): ts.SourceFile {
    let sf = sources.get(file);
    if (!sf) {
        sf = ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true);
        sources.set(file, sf);
    }
    return sf;
}

/** `./x` from `dir/file.ts` → `dir/x.ts` (or `dir/x/index.ts`), relative to the repository root. */
function resolveModule(from: string, specifier: string): string {
    const base = path.posix.join(path.posix.dirname(from), specifier);
    return fs.existsSync(path.join(ROOT, `${base}.ts`)) ? `${base}.ts` : `${base}/index.ts`;
}

/**
 * The interfaces a module exports, by exported name → [file, declared name], following `export *`,
 * `export { … } from` and `export type { … } from` (syntax only: fast, and enough for this package's
 * plain re-exports).
 */
export function exportedInterfaces(file: string, seen = new Set<string>()): Map<string, [string, string]> {
    const found = new Map<string, [string, string]>();
    if (seen.has(file)) return found;
    seen.add(file);
    for (const statement of source(file).statements) {
        if (ts.isInterfaceDeclaration(statement) && statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) {
            found.set(statement.name.text, [file, statement.name.text]);
        } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
            const target = exportedInterfaces(resolveModule(file, statement.moduleSpecifier.text), seen);
            seen.delete(resolveModule(file, statement.moduleSpecifier.text));
            if (!statement.exportClause) {
                for (const [name, at] of target) found.set(name, at);
            } else if (ts.isNamedExports(statement.exportClause)) {
                for (const element of statement.exportClause.elements) {
                    const at = target.get((element.propertyName ?? element.name).text);
                    if (at) found.set(element.name.text, at);
                }
            }
        }
    }
    return found;
}

function fieldsOf(sf: ts.SourceFile, declaration: ts.InterfaceDeclaration): Field[] {
    return declaration.members.filter(ts.isPropertySignature).map((member) => {
        const docs = ts.getJSDocCommentsAndTags(member).filter(ts.isJSDoc);
        return {
            name: member.name.getText(sf),
            optional: member.questionToken !== undefined,
            type: member.type?.getText(sf) ?? "",
            doc: docs.map((d) => ts.getTextOfJSDocComment(d.comment) ?? "").join(" ").trim(),
            tags: docs.flatMap((d) => (d.tags ?? []).map((t) => t.tagName.text)),
        };
    });
}

function interfaceIn(sf: ts.SourceFile, name: string): ts.InterfaceDeclaration {
    const found = sf.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
    if (!found) throw new Error(`${sf.fileName}: no interface ${name}`);
    return found;
}

/** What an Args interface lacks: a description, a `@default` for an optional field, an `@example` where the shape is not obvious. */
export function argsProblems(fields: Field[]): string[] {
    return fields.flatMap((f) => [
        ...(f.doc === "" && !f.tags.includes("default") ? [`${f.name}: no description`] : []),
        ...(f.optional && !f.tags.includes("default") ? [`${f.name}: no @default`] : []),
        ...(f.optional && NOT_OBVIOUS.test(f.type) && !f.tags.includes("example") ? [`${f.name}: no @example for ${f.type}`] : []),
    ]);
}

/** Every exported interface named `…<suffix>`, as `exported name → [file, declared name]`. */
function exportedNamed(suffix: string): [string, [string, string]][] {
    const all = new Map<string, [string, string]>();
    for (const entry of ENTRY_POINTS) for (const [name, at] of exportedInterfaces(entry)) all.set(name, at);
    return [...all].filter(([name]) => name.endsWith(suffix)).sort(([a], [b]) => a.localeCompare(b));
}

const ARGS = exportedNamed("Args");
const TRANSFORMS = exportedNamed("Transform");

describe("Args documentation (JSDoc)", () => {
    it("discovers the exported Args and Transform interfaces from index.ts and runtime.ts", () => {
        // The ones documented since issue #24 must be among them, so discovery can never silently find fewer.
        expect(ARGS.map(([name]) => name)).to.include.members([
            "SuppressionStoreArgs", "FeedbackPipelineArgs", "ExternalConsumerArgs", "MailIngestArgs", "SmtpCredentialsArgs", "SmtpSenderReputationArgs",
            "MailDomainArgs", "AlarmsArgs", "LambdaFunctionArgs", "QueueWithDlqArgs", "DeadLetterQueueArgs", "EncryptedTopicArgs",
            "RetryDrainArgs", "TokenMonitorArgs", "SendingGuardArgs",
        ]);
        expect(TRANSFORMS.map(([name]) => name)).to.include.members(["SuppressionStoreTransform", "FeedbackPipelineTransform", "MailIngestTransform", "SmtpCredentialsTransform", "LambdaFunctionTransform"]);
        // Discovery follows re-exports: MailIngestArgs is declared in mail-ingest-args.ts and exported through mail-ingest.ts.
        expect(new Map(ARGS).get("MailIngestArgs")).to.deep.equal(["components/mail-ingest-args.ts", "MailIngestArgs"]);
    });

    it("a field without a description, an optional one without @default, a map without @example are each reported", () => {
        const field = fc.record({
            name: fc.stringMatching(/^[a-z][A-Za-z]{0,10}$/),
            optional: fc.boolean(),
            type: fc.constantFrom("string", "number", "pulumi.Input<string>", "string[]", "Record<string, string>", "KeyServiceUser[]", "{ a?: Transform<X> }"),
            described: fc.boolean(),
            defaulted: fc.boolean(),
            example: fc.boolean(),
        });
        fc.assert(fc.property(fc.uniqueArray(field, { selector: (f) => f.name, minLength: 1, maxLength: 6 }), (fields) => {
            const text = `export interface XArgs {\n${fields.map((f) => {
                const doc = [f.described ? "What it is." : "", f.defaulted ? "@default 1" : "", f.example ? "@example 1" : ""].filter(Boolean).join("\n * ");
                return `${doc ? `    /**\n     * ${doc}\n     */\n` : ""}    ${f.name}${f.optional ? "?" : ""}: ${f.type};`;
            }).join("\n")}\n}\n`;
            const sf = ts.createSourceFile("x.ts", text, ts.ScriptTarget.Latest, true);
            const expected = fields.flatMap((f) => [
                ...(!f.described && !f.defaulted ? [`${f.name}: no description`] : []),
                ...(f.optional && !f.defaulted ? [`${f.name}: no @default`] : []),
                ...(f.optional && ["Record<string, string>", "KeyServiceUser[]", "{ a?: Transform<X> }"].includes(f.type) && !f.example ? [`${f.name}: no @example for ${f.type}`] : []),
            ]);
            expect(argsProblems(fieldsOf(sf, interfaceIn(sf, "XArgs")))).to.deep.equal(expected);
        }), { numRuns: 200 });
    });

    for (const [name, [file, declared]] of ARGS) {
        it(`${name} (${file}): every field described, every optional one with @default, @example where the shape is not obvious`, () => {
            const sf = source(file);
            const declaration = interfaceIn(sf, declared);
            expect(ts.getJSDocCommentsAndTags(declaration).some(ts.isJSDoc), `${name} itself has no JSDoc`).to.equal(true);
            expect(argsProblems(fieldsOf(sf, declaration))).to.deep.equal([]);
        });
    }
    for (const [name, [file, declared]] of TRANSFORMS) {
        it(`${name} (${file}): every child it can change is described`, () => {
            const sf = source(file);
            const list = fieldsOf(sf, interfaceIn(sf, declared));
            expect(list.length).to.be.greaterThan(0);
            const undocumented = list.filter((f) => f.doc === "");
            expect(undocumented.map((f) => f.name)).to.deep.equal([]);
        });
    }
});
