// The spec reporter plus a plain "N passed, N failed" closing line that CI systems recognise.
// Printed when mocha is done, after its global teardown (tests/support/hooks.ts checks across every
// handler test there): a failed teardown is counted in `failures`, which mocha hands to `done`.
const Mocha = require("mocha");

class SpecWithSummary extends Mocha.reporters.Spec {
    done(failures, callback) {
        const { passes, pending } = this.stats;
        process.stdout.write(`${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ""}\n`);
        callback(failures);
    }
}

module.exports = SpecWithSummary;
