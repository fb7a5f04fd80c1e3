#!/usr/bin/env node
// The `ses-mail` command. Runs the TypeScript source through tsx (a dependency), like the Pulumi
// program does, so the command and the components never disagree on names.
"use strict";
require("tsx/cjs");
const { main } = require("../cli/main.ts");

main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (error) => { console.error(error); process.exitCode = 1; },
);
