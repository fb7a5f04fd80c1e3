// One harness for the CLI tests: `ses-mail …` run in-process through main(), as the bin runs it,
// with stdout and stderr collected.
import * as path from "node:path";
import { CliDeps, main } from "../../cli/main";

const ROOT = path.resolve(__dirname, "..", "..");

/** A command's exit code and what it printed. */
export interface CliResult {
    code: number;
    stdout: string;
    stderr: string;
}

/**
 * `main(argv)` with this repository as the working directory (its Pulumi.<stack>.yaml); `deps`
 * override the rest, including the command groups' own (the STS caller of `senders`/`sending`,
 * `selftest`'s waits).
 */
export async function runMain(argv: string[], deps: Partial<CliDeps> & Record<string, unknown> = {}): Promise<CliResult> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { cwd: ROOT, ...deps, stdout: (text: string) => out.push(text), stderr: (text: string) => err.push(text) });
    return { code, stdout: out.join(""), stderr: err.join("") };
}

/** A confirmation prompt that records each question in `questions` and answers `answer(question)`. */
export function recordingConfirm(questions: string[], answer: (question: string) => boolean | Promise<boolean>): CliDeps["confirm"] {
    return async (question) => {
        questions.push(question);
        return answer(question);
    };
}
