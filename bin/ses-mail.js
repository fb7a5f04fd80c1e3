#!/usr/bin/env node
// The `ses-mail` command. The published package runs the compiled dist/cli/main.js (built by
// prepack), so no TypeScript compiler loads at run time. Only a source checkout that has not run
// `npm run build` falls back to the TypeScript source through tsx (a dependency).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

/** The AWS SDK v3 warns (process.emitWarning, type "Warning", message "NodeVersionSupportWarning: …")
 * on Node older than its next minimum; an operator cannot act on that. The SDK's own switch
 * (aws/aws-sdk-js-v3#7983) turns off exactly that warning, set in-process before any client is
 * made: Node's `--no-warnings=NodeVersionSupportWarning` would need a re-exec. An explicit
 * setting is kept. */
function silenceSdkNodeVersionWarning(env) {
    env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
}

/** dist/cli/main.js when it exists, else cli/main.ts through tsx. */
function cliEntry(packageDir) {
    const compiled = path.join(packageDir, "dist", "cli", "main.js");
    return fs.existsSync(compiled) ? { file: compiled, tsx: false } : { file: path.join(packageDir, "cli", "main.ts"), tsx: true };
}

if (require.main === module) {
    silenceSdkNodeVersionWarning(process.env);
    const entry = cliEntry(path.join(__dirname, ".."));
    if (entry.tsx && !process.env.SES_MAIL_UNDER_TSX) {
        // Unbuilt checkout: run again under tsx's --import hook, which (unlike tsx/cjs alone) also
        // serves the commands' lazy `import()`s. Slower, and only ever in development.
        const tsx = require("node:url").pathToFileURL(require.resolve("tsx")).href;
        const child = require("node:child_process").spawnSync(process.execPath, ["--import", tsx, __filename, ...process.argv.slice(2)], {
            stdio: "inherit", env: { ...process.env, SES_MAIL_UNDER_TSX: "1" },
        });
        process.exit(child.status ?? 1);
    }
    require(entry.file).main(process.argv.slice(2)).then(
        (code) => { process.exitCode = code; },
        (error) => { console.error(error); process.exitCode = 1; },
    );
}

module.exports = { cliEntry, silenceSdkNodeVersionWarning };
