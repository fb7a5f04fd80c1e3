// Every relative link of the README and docs/ resolves: the file exists and, for a link into a
// markdown file, the #anchor is one of its headings as GitHub names them (issue #19: the README was
// split into docs/, and a move must never break a link again).
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import fc from "fast-check";

const ROOT = path.join(__dirname, "..", "..");
const DOCS = path.join(ROOT, "docs");
/** The documents checked: the front page, the manual in docs/ (not the generated docs/api/), the runtime package's README. */
const DOCUMENTS = ["README.md", ...fs.readdirSync(DOCS).filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`), "packages/runtime/README.md"];

/**
 * GitHub's anchor for a heading (github-slugger, which github.com's renderer follows): the heading's
 * text (markup removed), lowercased, every character that is not a letter, mark, digit, connector
 * (`_`), space or `-` removed, then each space turned into `-`. Nothing is collapsed or trimmed after.
 */
export function githubSlug(heading: string): string {
    const text = heading
        .replace(/!?\[((?:[^[\]]|\[[^\]]*\])*)\]\([^)]*\)/g, "$1") // links and images: their text
        .replace(/<[^>]+>/g, "") // inline HTML
        .trim()
        .toLowerCase();
    return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "").replace(/ /g, "-");
}

/** The document's lines outside fenced code blocks (``` or ~~~, indented up to a list item's depth), blank inside. */
function outsideFences(markdown: string): string[] {
    let fence: string | undefined;
    return markdown.split("\n").map((line) => {
        const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
        if (fence === undefined && marker !== undefined) {
            fence = marker[0].repeat(marker.length);
            return "";
        }
        if (fence !== undefined) {
            if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
            return "";
        }
        return line;
    });
}

/** Every anchor a document has: its ATX headings' slugs (repeats numbered `-1`, `-2`, … as GitHub does) and HTML `id`/`name` anchors. */
export function anchorsOf(markdown: string): Set<string> {
    const anchors = new Set<string>();
    const seen = new Map<string, number>();
    for (const line of outsideFences(markdown)) {
        const heading = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
        if (heading) {
            const base = githubSlug(heading[1]);
            let slug = base;
            while (seen.has(slug)) {
                const n = seen.get(base)! + 1;
                seen.set(base, n);
                slug = `${base}-${n}`;
            }
            seen.set(slug, 0);
            anchors.add(slug);
        }
        for (const m of line.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
    }
    return anchors;
}

export interface Link { target: string; line: number }

/** Every link and image target outside code (fences and `spans`), and reference definitions, with the line it is on. */
export function linksOf(markdown: string): Link[] {
    const links: Link[] = [];
    outsideFences(markdown).forEach((raw, index) => {
        const line = raw.replace(/(`+)[^`]*?\1/g, "");
        for (const m of line.matchAll(/!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+"[^"]*")?\s*\)/g)) {
            links.push({ target: m[1].replace(/^<|>$/g, ""), line: index + 1 });
        }
        const definition = /^ {0,3}\[[^\]]+\]:\s*(\S+)/.exec(line);
        if (definition) links.push({ target: definition[1].replace(/^<|>$/g, ""), line: index + 1 });
    });
    return links;
}

/** What a link checker needs to know about the tree: a file's text (undefined: no such file) and whether a path exists at all. */
export interface Tree { read(file: string): string | undefined; exists(file: string): boolean }

/** The relative links of `file` (a path from the repository root) that do not resolve, as `line: target (why)`. */
export function brokenLinks(file: string, tree: Tree): string[] {
    const text = tree.read(file);
    if (text === undefined) throw new Error(`${file}: no such document`);
    const broken: string[] = [];
    for (const { target, line } of linksOf(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("//")) continue; // https:, mailto:, …
        const hash = target.indexOf("#");
        const rawPath = hash < 0 ? target : target.slice(0, hash);
        const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
        const resolved = rawPath === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURIComponent(rawPath))).replace(/(.)\/$/, "$1");
        if (resolved.startsWith("../")) {
            broken.push(`${line}: ${target} (outside the repository)`);
            continue;
        }
        if (!tree.exists(resolved)) {
            broken.push(`${line}: ${target} (no ${resolved})`);
            continue;
        }
        if (anchor === undefined || !resolved.endsWith(".md")) continue;
        const anchors = anchorsOf(tree.read(resolved) ?? "");
        if (!anchors.has(anchor)) broken.push(`${line}: ${target} (no heading #${anchor} in ${resolved})`);
    }
    return broken;
}

const REAL_TREE: Tree = {
    read: (file) => (fs.existsSync(path.join(ROOT, file)) && fs.statSync(path.join(ROOT, file)).isFile() ? fs.readFileSync(path.join(ROOT, file), "utf8") : undefined),
    exists: (file) => fs.existsSync(path.join(ROOT, file)),
};

/** A tree of in-memory documents, for the checker's own tests. */
function memoryTree(files: Record<string, string>): Tree {
    return {
        read: (file) => files[file],
        exists: (file) => file in files || Object.keys(files).some((f) => f.startsWith(`${file}/`)),
    };
}

// Heading text as the documents write it: words, inline code, punctuation, non-ASCII letters and symbols.
const word = fc.oneof(
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,8}$/),
    fc.stringMatching(/^`[a-z.:-]{1,10}`$/),
    fc.constantFrom("ses-mail", "SES", "&", "→", "—", "…", "(EKS)", "`ses-mail rules`", "Überblick", "v1.2", "snake_case", "50%", "a/b", "What?"),
);
const headingText = fc.array(word, { minLength: 1, maxLength: 6 }).map((words) => words.join(" "));

describe("documents: every relative link and #anchor resolves", () => {
    it("names headings as GitHub does", () => {
        const known: [string, string][] = [
            ["Receipt rules: `ingest.ruleSetMode`", "receipt-rules-ingestrulesetmode"],
            ["Health, reports and the self-test: `ses-mail health`, `ses-mail report`, `ses-mail selftest`", "health-reports-and-the-self-test-ses-mail-health-ses-mail-report-ses-mail-selftest"],
            ["0. What you need", "0-what-you-need"],
            ["Feedback: what happens to each SES event", "feedback-what-happens-to-each-ses-event"],
            ["SQS consumers outside Lambda (the EKS feedback worker)", "sqs-consumers-outside-lambda-the-eks-feedback-worker"],
            ["A → B — C", "a--b--c"],
            ["snake_case & [a link](x.md)", "snake_case--a-link"],
        ];
        for (const [heading, slug] of known) expect(githubSlug(heading), heading).to.equal(slug);
    });

    it("numbers repeated headings -1, -2, … and ignores headings inside code fences", () => {
        const text = "# Install\n\n## Install\n\n   ```sh\n# Install\n   ```\n\n### Install\n~~~\n## Hidden\n~~~\n";
        expect([...anchorsOf(text)]).to.deep.equal(["install", "install-1", "install-2"]);
    });

    it("a link to every heading of a generated document resolves; a changed anchor or a missing file is reported", () => {
        fc.assert(
            fc.property(fc.array(headingText, { minLength: 1, maxLength: 8 }), fc.nat(), (headings, pick) => {
                const doc = headings.map((h, i) => `${"#".repeat(1 + (i % 3))} ${h}\n\ntext\n`).join("\n");
                const slugs = [...anchorsOf(doc)];
                expect(slugs).to.have.length(headings.length);
                const tree = memoryTree({
                    "docs/A.md": `${doc}\n${slugs.map((s) => `[here](#${s})`).join(" ")}`,
                    "README.md": slugs.map((s) => `[there](docs/A.md#${s})`).join("\n"),
                });
                expect(brokenLinks("docs/A.md", tree)).to.deep.equal([]);
                expect(brokenLinks("README.md", tree)).to.deep.equal([]);
                const wrong = `${slugs[pick % slugs.length]}-x`;
                if (slugs.includes(wrong)) return;
                const bad = memoryTree({ "docs/A.md": `${doc}\n[bad](#${wrong}) [gone](C.md) [gone too](C.md#x) [up](../../x.md)\n\`[in a code span](#${wrong})\`` });
                expect(brokenLinks("docs/A.md", bad).map((b) => b.replace(/^\d+: /, ""))).to.deep.equal([
                    `#${wrong} (no heading #${wrong} in docs/A.md)`, "C.md (no docs/C.md)", "C.md#x (no docs/C.md)", "../../x.md (outside the repository)",
                ]);
            }),
            { numRuns: 200 },
        );
    });

    it("skips absolute URLs and checks files that are not markdown for existence only", () => {
        const tree = memoryTree({ "README.md": "[a](https://example.com/#x) [b](mailto:x@example.com) [c](components/a.ts#L1) [d](components/b.ts) [e](docs/)", "components/a.ts": "", "docs/A.md": "" });
        expect(brokenLinks("README.md", tree)).to.deep.equal(["1: components/b.ts (no components/b.ts)"]);
    });

    for (const document of DOCUMENTS) {
        it(document, () => {
            expect(brokenLinks(document, REAL_TREE), `${document} has links that do not resolve`).to.deep.equal([]);
        });
    }

    it("the README links to every document in docs/", () => {
        const linked = new Set(linksOf(fs.readFileSync(path.join(ROOT, "README.md"), "utf8")).map((l) => l.target.split("#")[0]));
        const missing = DOCUMENTS.filter((d) => d.startsWith("docs/") && !linked.has(d));
        expect(missing).to.deep.equal([]);
    });
});
