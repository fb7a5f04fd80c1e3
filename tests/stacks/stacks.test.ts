import { expect } from "chai";
import { StackConfigError } from "../../stacks/config";
import { loadStackConfig, runStack } from "../support/stack";

describe("stacks (Pulumi.<stack>.yaml under mocks)", () => {
    it("test: its own suppression table, mirrored to SES, no deletion protection", async () => {
        const { plan, outputs } = await runStack("test");
        const table = plan.one("aws:dynamodb/table:Table");
        expect(table.inputs).to.deep.include({ name: "ses-email-suppression-list-test", deletionProtectionEnabled: false, streamEnabled: true });
        expect(plan.one("aws:cloudwatch/logGroup:LogGroup").inputs.retentionInDays).to.equal(14);
        expect(Object.keys(outputs)).to.include.members(["suppressionTableName", "suppressionTableArn", "suppressionStreamArn", "suppressionMirrorFunction"]);
    });

    it("prod: the runbooks' table name, deletion-protected, 90-day logs", async () => {
        const { plan } = await runStack("prod");
        expect(plan.one("aws:dynamodb/table:Table").inputs).to.deep.include({ name: "ses-email-suppression-list", deletionProtectionEnabled: true });
        expect(plan.one("aws:cloudwatch/logGroup:LogGroup").inputs.retentionInDays).to.equal(90);
        for (const resource of plan.resources.filter((r) => r.custom && r.inputs.tags)) {
            expect(resource.inputs.tags, resource.name).to.deep.include({ Environment: "prod", Service: "ses-mail" });
        }
    });

    it("fails with the key and the fix when the stack config is wrong", async () => {
        const config = { ...loadStackConfig("test"), "ses-mail:suppression": JSON.stringify({ mirrorToSes: "yes" }) };
        let caught: unknown;
        try {
            await runStack("test", config);
        } catch (error) {
            caught = error;
        }
        expect(caught).to.be.instanceOf(StackConfigError);
        expect((caught as Error).message).to.include("ses-mail:suppression.mirrorToSes");
    });
});
