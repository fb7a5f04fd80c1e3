// Offline plan of a stack: runs the stack program under Pulumi mocks with Pulumi.<stack>.yaml and
// prints what `pulumi up` would create, as a tree with a summary and the policy pack's results; with
// --compare <git-ref>, what `pulumi up` would change going from that commit to the working tree.
// Needs no AWS account and no Pulumi CLI. Options: scripts/preview-cli.ts (npm run preview -- --help).
import { runPreview } from "./preview-cli";

runPreview(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
    console.error(error);
    process.exit(1);
});
