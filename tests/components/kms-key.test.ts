import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { deployingPrincipalArn } from "../../components/kms-key";
import { MOCK_ACCOUNT as ACCOUNT, promiseOf } from "../support/mocks";

/** Provider calls answered as AWS would for a caller with this ARN; the calls made, recorded. */
async function callerIs(callerArn: string, roleArn?: string): Promise<string[]> {
    const calls: string[] = [];
    await pulumi.runtime.setMocks({
        newResource: (args) => ({ id: args.name, state: args.inputs }),
        call: (args) => {
            calls.push(`${args.token} ${JSON.stringify(args.inputs)}`);
            if (args.token === "aws:index/getCallerIdentity:getCallerIdentity") return { accountId: ACCOUNT, arn: callerArn, userId: "AROAEXAMPLE:alice" };
            if (args.token === "aws:iam/getSessionContext:getSessionContext") return { arn: args.inputs.arn, issuerArn: roleArn, issuerName: roleArn?.split("/").pop(), sessionName: "alice" };
            throw new Error(`unexpected call ${args.token}`);
        },
    }, "ses-mail", "test", false);
    return calls;
}

describe("KmsKey: the deploying principal, as aws:PrincipalArn names it", () => {
    it("an assumed-role session (SSO, CI) is its IAM role, path included, which the sts ARN lacks", async () => {
        const sso = `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef`;
        const session = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com`;
        const calls = await callerIs(session, sso);
        expect(await promiseOf(deployingPrincipalArn())).to.equal(sso);
        expect(calls).to.deep.equal(["aws:index/getCallerIdentity:getCallerIdentity {}", `aws:iam/getSessionContext:getSessionContext {"arn":"${session}"}`]);
    });

    it("an IAM user (or the root user) is its own ARN: no role to look up", async () => {
        for (const caller of [`arn:aws:iam::${ACCOUNT}:user/deploy`, `arn:aws-us-gov:iam::${ACCOUNT}:root`]) {
            const calls = await callerIs(caller);
            expect(await promiseOf(deployingPrincipalArn())).to.equal(caller);
            expect(calls).to.deep.equal(["aws:index/getCallerIdentity:getCallerIdentity {}"]);
        }
    });
});
