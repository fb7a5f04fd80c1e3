// Every `ses-mail …` command the README and docs/ show exists: each (command, subcommand) named in a
// code span or block answers `--help` with exit code 0, so the documents cannot drift from the CLI.
import * as fs from "node:fs";
import * as path from "node:path";
import { expect } from "chai";
import { main } from "../../cli/main";

const ROOT = path.join(__dirname, "..", "..");
const DOCUMENTS = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** Code blocks and code spans: where the documents write commands (prose may say "ses-mail is …"). */
function codeIn(text: string): string[] {
    const blocks = [...text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]);
    const spans = [...text.replace(/^```[^\n]*\n[\s\S]*?^```/gm, "").matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
    return [...blocks, ...spans];
}

/** `ses-mail <word> [<word>]` as written in the documents' code; options, arguments and alternatives (`a|b`) stripped. */
export function commandsIn(text: string): string[][] {
    const found: string[][] = [];
    for (const match of codeIn(text).join("\n").matchAll(/ses-mail ((?:[a-z][a-z-]*(?:\\?\|[a-z][a-z-]*)*)(?: (?:[a-z][a-z-]*(?:\\?\|[a-z][a-z-]*)*))?)/g)) {
        const [group, sub] = match[1].split(" ");
        for (const g of group.split(/\\?\|/)) {
            for (const s of sub === undefined ? [undefined] : sub.split(/\\?\|/)) found.push(s === undefined ? [g] : [g, s]);
        }
    }
    return found;
}

async function answersHelp(words: string[]): Promise<{ code: number; text: string }> {
    let text = "";
    const code = await main([...words, "--help"], { stdout: (t) => { text += t; }, stderr: (t) => { text += t; } });
    return { code, text };
}

describe("documents: every ses-mail command they name exists", () => {
    it("finds the commands written as `ses-mail group sub`, alternatives included", () => {
        expect(commandsIn("`ses-mail smtp disable\\|enable app` and `ses-mail dlq list`, not ses-mail is")).to.deep.equal([["smtp", "disable"], ["smtp", "enable"], ["dlq", "list"]]);
    });

    it("a command that does not exist is caught", async () => {
        expect((await answersHelp(["rules", "frobnicate"])).text).to.not.match(/^Usage: ses-mail rules frobnicate/m);
    });

    for (const document of DOCUMENTS) {
        it(document, async function () {
            this.timeout(120_000);
            const text = fs.readFileSync(path.join(ROOT, document), "utf8");
            // Words after the command that are arguments, not subcommands (e.g. `ses-mail rules explain support…`).
            const unique = new Map<string, string[]>();
            for (const words of commandsIn(text)) unique.set(words.join(" "), words);
            const missing: string[] = [];
            for (const [name, words] of unique) {
                const { code, text: help } = await answersHelp(words);
                // A group's help lists its subcommands; a leaf's help starts with its own usage line.
                const usage = help.match(/^Usage: ses-mail (.*)$/m)?.[1] ?? "";
                const named = words.length === 1 ? usage.startsWith(words[0]) : usage.startsWith(`${words[0]} ${words[1]}`) || (usage.startsWith(`${words[0]} `) && !/\bcommand\b/.test(usage));
                if (code !== 0 || !named) missing.push(name);
            }
            expect(missing, `${document} names commands the CLI does not have`).to.deep.equal([]);
        });
    }
});
