// Mocha's configuration for `npm test`: every tests/**/*.test.ts, run in parallel worker processes
// (tests/support/hooks.ts gathers what the cross-handler checks need from every worker).
//
// Workers take the files in the order given here, so the ones that run longest go first and the
// short ones fill in around them at the end (with the long ones last, one worker would still be busy
// with them while the others sit idle). The list below only orders: a file it does not name runs
// after them, in path order, and a name that no longer exists is ignored.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

// `npm run test:package` runs tests/package/ alone: they build and pack the checkout, install the
// tarballs from the registry and run the installed bin (about a minute of CPU, mostly `tsc` and npm),
// so `npm test` leaves them out and CI runs both (.ci/run).
const PACKAGE_SUITE = process.env.npm_lifecycle_event === "test:package";

/** Longest first (wall time on a 2-core machine): path prefixes under tests/. */
const LONGEST_FIRST = [
    "package/install.test.ts", // builds and packs the checkout, installs both tarballs from the registry
    "system/", // the inbound and feedback simulations
    "cli/health.test.ts",
    "cli/report.test.ts", // a week's report over dynalite (1,666 Queries)
    "scripts/compare.test.ts", // a git worktree and two child processes
    "components/retry-drain.test.ts",
    "components/bundle.test.ts", // bundles every function in three fresh processes
    "scripts/preview.test.ts",
    "stacks/",
    "functions/gmail-forwarder/handler.test.ts",
    "components/customising.test.ts",
    "components/mail-ingest",
    "policy/mutations.test.ts",
    "functions/feedback-worker/",
];

const TESTS = path.join(__dirname, "tests");
const files = fs.readdirSync(TESTS, { recursive: true })
    .map((file) => file.split(path.sep).join("/"))
    .filter((file) => file.endsWith(".test.ts") && file.startsWith("package/") === PACKAGE_SUITE)
    .sort();
const rank = (file) => {
    const index = LONGEST_FIRST.findIndex((prefix) => file.startsWith(prefix));
    return index === -1 ? LONGEST_FIRST.length : index;
};

module.exports = {
    "node-option": ["import=tsx", "no-warnings=NodeVersionSupportWarning"],
    spec: files.map((file, i) => ({ file, i })).sort((a, b) => rank(a.file) - rank(b.file) || a.i - b.i).map(({ file }) => `tests/${file}`),
    extension: ["ts"],
    timeout: 60000,
    parallel: true,
    // One worker more than there are cores (three on a 2-core machine, at most four): several files
    // spend much of their time waiting (child processes, the registry, pacing intervals), which another
    // worker can use; each worker takes up to about 1 GB. `npx mocha --jobs <n>` overrides it.
    jobs: Math.max(2, Math.min(os.availableParallelism() + 1, 4)),
    exit: true,
    reporter: "./tests/support/reporter.cjs",
    // The cross-handler checks need every handler test's captures: not in the package suite.
    ...(PACKAGE_SUITE ? {} : { require: ["./tests/support/hooks.ts"] }),
};
