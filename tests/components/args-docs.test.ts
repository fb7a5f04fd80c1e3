// Every Args field of the user-facing components says what it does, its default when optional, and
// shows an example where its shape is not obvious (issue #24): read from the source with the
// TypeScript compiler, so a field added without them fails here rather than in TypeDoc later.
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..", "..");
/** file → the Args interfaces documented in it. */
const DOCUMENTED: Record<string, string[]> = {
    "components/suppression-store.ts": ["SuppressionStoreArgs"],
    "components/feedback-pipeline.ts": ["FeedbackPipelineArgs", "ExternalConsumerArgs"],
    "components/mail-ingest-args.ts": ["MailIngestArgs"],
    "components/smtp-credentials.ts": ["SmtpCredentialsArgs", "SmtpSenderReputationArgs"],
    "components/mail-domain.ts": ["MailDomainArgs"],
    "components/alarms.ts": ["AlarmsArgs"],
    "components/lambda-function.ts": ["LambdaFunctionArgs"],
    "components/queue-with-dlq.ts": ["QueueWithDlqArgs"],
    "components/dead-letter-queue.ts": ["DeadLetterQueueArgs"],
    "components/encrypted-topic.ts": ["EncryptedTopicArgs"],
};
/** Transform interfaces: each child documented; their default is always "no change". */
const TRANSFORMS: Record<string, string[]> = {
    "components/suppression-store.ts": ["SuppressionStoreTransform"],
    "components/feedback-pipeline.ts": ["FeedbackPipelineTransform"],
    "components/mail-ingest-args.ts": ["MailIngestTransform"],
    "components/smtp-credentials.ts": ["SmtpCredentialsTransform"],
    "components/transform.ts": ["LambdaFunctionTransform"],
};
/** Types whose shape a reader cannot guess from the name: maps, lists, object literals, transforms. */
const NOT_OBVIOUS = /Record<|\{|Transform|\b[A-Z]\w*\[\]/;

interface Field { name: string; optional: boolean; type: string; doc: string; tags: string[] }

function fields(file: string, name: string): Field[] {
    const source = ts.createSourceFile(file, fs.readFileSync(path.join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true);
    const found = source.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === name);
    if (!found) throw new Error(`${file}: no interface ${name}`);
    return found.members.filter(ts.isPropertySignature).map((member) => {
        const docs = ts.getJSDocCommentsAndTags(member).filter(ts.isJSDoc);
        return {
            name: member.name.getText(source),
            optional: member.questionToken !== undefined,
            type: member.type?.getText(source) ?? "",
            doc: docs.map((d) => ts.getTextOfJSDocComment(d.comment) ?? "").join(" ").trim(),
            tags: docs.flatMap((d) => (d.tags ?? []).map((t) => t.tagName.text)),
        };
    });
}

describe("Args documentation (JSDoc)", () => {
    for (const [file, names] of Object.entries(DOCUMENTED)) {
        for (const name of names) {
            it(`${name}: every field described, every optional one with @default, @example where the shape is not obvious`, () => {
                const problems = fields(file, name).flatMap((f) => [
                    ...(f.doc === "" && !f.tags.includes("default") ? [`${f.name}: no description`] : []),
                    ...(f.optional && !f.tags.includes("default") ? [`${f.name}: no @default`] : []),
                    ...(f.optional && NOT_OBVIOUS.test(f.type) && !f.tags.includes("example") ? [`${f.name}: no @example for ${f.type}`] : []),
                ]);
                expect(problems).to.deep.equal([]);
            });
        }
    }
    for (const [file, names] of Object.entries(TRANSFORMS)) {
        for (const name of names) {
            it(`${name}: every child it can change is described`, () => {
                const list = fields(file, name);
                expect(list.length).to.be.greaterThan(0);
                const undocumented = list.filter((f) => f.doc === "");
                expect(undocumented.map((f) => f.name)).to.deep.equal([]);
            });
        }
    }
});
