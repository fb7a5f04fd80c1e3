// The cost model's figures (scripts/cost/report.ts): fixed monthly cost of the test and prod stacks,
// cost per 1,000 inbound mails and feedback notifications, AWS requests per mail and per notification
// kind by service. Prints the cost tables (goals beside the figures) to stderr, keeping the bench's
// own table on stdout.
import { costReport, costResults, renderReport } from "../scripts/cost/report";

export async function costSuite(): Promise<Record<string, number>> {
    const report = await costReport();
    console.error(renderReport(report));
    return costResults(report);
}
