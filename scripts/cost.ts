// `npm run cost`: the stacks' fixed monthly cost and the variable cost per 1,000 mails and per 1,000
// feedback notifications, with the goals beside them (scripts/cost/report.ts). --json prints the
// figures bench-results.json carries instead of the tables.
import { costReport, costResults, renderReport } from "./cost/report";

async function main(): Promise<void> {
    const report = await costReport();
    console.log(process.argv.includes("--json") ? JSON.stringify(costResults(report), null, 2) : renderReport(report));
}

main().then(() => process.exit(0), (error) => {
    console.error(error);
    process.exit(1);
});
