// The spec reporter plus a plain "N passed, N failed" closing line that CI systems recognise.
const Mocha = require("mocha");

class SpecWithSummary extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const { passes, failures, pending } = runner.stats;
            process.stdout.write(`${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ""}\n`);
        });
    }
}

module.exports = SpecWithSummary;
