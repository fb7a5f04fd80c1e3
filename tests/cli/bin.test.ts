// The `ses-mail` bin as an operator runs it: a child process, its exit code, stdout and stderr.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { main } from "../../cli/main";

const ROOT = path.resolve(__dirname, "..", "..");
const BIN = path.join(ROOT, "bin", "ses-mail.js");
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** The child's environment without anything that would hide the warning under test. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env = { ...process.env, ...extra };
    if (!("AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED" in extra)) delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    delete env.NODE_OPTIONS;
    return env;
}

async function run(bin: string, args: string[], env = cleanEnv()): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { env, cwd: os.tmpdir() });
        return { code: 0, stdout, stderr };
    } catch (error) {
        const failed = error as { code: number; stdout: string; stderr: string };
        return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
}

describe("ses-mail bin", () => {
    it("--help exits 0 with the usage and nothing on stderr", async () => {
        const result = await run(BIN, ["--help"]);
        expect(result.code).to.equal(0);
        expect(result.stdout).to.match(/^Usage: ses-mail /);
        expect(result.stdout).to.include("rules");
        expect(result.stderr).to.equal("");
    });

    it("--version prints package.json's version", async () => {
        const result = await run(BIN, ["--version"]);
        expect(result).to.deep.equal({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
        let out = "";
        expect(await main(["--version"], { stdout: (text) => { out += text; } })).to.equal(0);
        expect(out).to.equal(`${VERSION}\n`);
    });

    // The SDK warns once per process when a client is made on Node older than its next minimum
    // (https://github.com/aws/aws-sdk-js-v3/issues/7983: AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
    // turns it off). A command that makes a DynamoDB client, against a closed port, shows it.
    const sdkCall = ["rules", "list", "--env", "test", "--region", "eu-west-1"];
    const offline = { AWS_ACCESS_KEY_ID: "AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:9", AWS_MAX_ATTEMPTS: "1" };
    it("keeps the SDK's Node-version warning off stderr (and only that)", async function () {
        if (Number(process.versions.node.split(".")[0]) >= 22) this.skip(); // the SDK only warns below 22
        const quiet = await run(BIN, sdkCall, cleanEnv(offline));
        expect(quiet.code).to.equal(1);
        expect(quiet.stderr).to.include("dynamodb:Scan");
        expect(quiet.stderr).not.to.include("NodeVersionSupportWarning");
        // An operator's explicit setting wins, which also shows the command reaches the warning.
        const loud = await run(BIN, sdkCall, cleanEnv({ ...offline, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "false" }));
        expect(loud.stderr).to.include("NodeVersionSupportWarning");
    });

    describe("entry point", () => {
        let dir: string;
        beforeEach(() => {
            // A package laid out like the published one: bin/ plus dist/cli or cli/ (stubs saying which ran).
            // Under node_modules/.cache so that tsx resolves from the repo's node_modules.
            const cache = path.join(ROOT, "node_modules", ".cache");
            fs.mkdirSync(cache, { recursive: true });
            dir = fs.mkdtempSync(path.join(cache, "ses-mail-bin-"));
            fs.mkdirSync(path.join(dir, "bin"));
            fs.copyFileSync(BIN, path.join(dir, "bin", "ses-mail.js"));
            fs.mkdirSync(path.join(dir, "cli"));
            fs.writeFileSync(path.join(dir, "cli", "main.ts"), 'export async function main(argv: string[]): Promise<number> { const ran: string = "source"; console.log(ran, argv.join(" ")); return 3; }\n');
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        it("runs dist/cli/main.js when the package is built", async () => {
            fs.mkdirSync(path.join(dir, "dist", "cli"), { recursive: true });
            fs.writeFileSync(path.join(dir, "dist", "cli", "main.js"), 'exports.main = async (argv) => { console.log("compiled", argv.join(" ")); return 4; };\n');
            expect(await run(path.join(dir, "bin", "ses-mail.js"), ["a", "b"])).to.deep.equal({ code: 4, stdout: "compiled a b\n", stderr: "" });
        });

        it("falls back to cli/main.ts through tsx in a checkout without a build", async () => {
            expect(await run(path.join(dir, "bin", "ses-mail.js"), ["a"])).to.deep.equal({ code: 3, stdout: "source a\n", stderr: "" });
        });
    });
});
