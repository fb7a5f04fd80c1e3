import { expect } from "chai";
import { bundleFunction } from "../../components/bundle";
import { allow } from "../../components/iam";
import { LambdaFunction } from "../../components/lambda-function";
import { MOCK_ACCOUNT, runUnderMocks } from "../support/mocks";

describe("LambdaFunction", () => {
    const base = { code: "suppression-mirror", env: "test", metricsNamespace: "SESMail/test", policyStatements: [allow(["sqs:SendMessage"], ["arn:aws:sqs:us-east-1:1:q"])] };

    it("creates the function with tracing, arm64, JSON logs in its own log group, and Powertools settings", async () => {
        const { plan } = await runUnderMocks(() => new LambdaFunction("mirror", base));
        const fn = plan.one("aws:lambda/function:Function");
        expect(fn.parentType).to.equal("ses-mail:index:LambdaFunction");
        expect(fn.inputs).to.deep.include({
            name: "ses-mail-suppression-mirror-test",
            runtime: "nodejs24.x",
            architectures: ["arm64"],
            handler: "index.handler",
            memorySize: 256,
            timeout: 30,
            tracingConfig: { mode: "Active" },
            loggingConfig: { logFormat: "JSON", logGroup: "/aws/lambda/ses-mail-suppression-mirror-test" },
            // A global name: without a home region it names its region, so a second region cannot collide.
            role: `arn:aws:iam::${MOCK_ACCOUNT}:role/ses-mail-suppression-mirror-fn-test-us-east-1`,
        });
        expect(fn.inputs.environment.variables).to.deep.equal({
            POWERTOOLS_SERVICE_NAME: "suppression-mirror",
            POWERTOOLS_METRICS_NAMESPACE: "SESMail/test",
            POWERTOOLS_LOG_LEVEL: "INFO",
        });
        const logs = plan.one("aws:cloudwatch/logGroup:LogGroup");
        expect(logs.inputs).to.deep.include({ name: "/aws/lambda/ses-mail-suppression-mirror-test", retentionInDays: 30 });
    });

    it("keeps the region-free role name in its home region only", async () => {
        const roleIn = async (region: string) => (await runUnderMocks(() => new LambdaFunction("mirror", { ...base, homeRegion: "us-east-1" }), { region })).plan.one("aws:iam/role:Role").inputs.name;
        expect(await roleIn("us-east-1")).to.equal("ses-mail-suppression-mirror-fn-test");
        expect(await roleIn("eu-west-1")).to.equal("ses-mail-suppression-mirror-fn-test-eu-west-1");
    });

    it("inlines the bundle as a single index.js asset", async () => {
        const { plan } = await runUnderMocks(() => new LambdaFunction("mirror", base));
        // Archive contents are promises once deserialised by the mock monitor.
        const assets = await plan.one("aws:lambda/function:Function").inputs.code.assets;
        expect(Object.keys(assets)).to.deep.equal(["index.js"]);
        expect(await assets["index.js"].text).to.equal(bundleFunction("suppression-mirror").code);
    });

    it("honours memory, timeout, architecture, retention, log key and extra environment", async () => {
        const { plan, result } = await runUnderMocks(() => new LambdaFunction("mirror", {
            ...base,
            memorySize: 1024,
            timeout: 120,
            architecture: "x86_64",
            logRetentionDays: 90,
            logKmsKeyArn: "arn:aws:kms:us-east-1:1:key/k",
            environment: { TABLE: "t" },
        }));
        expect(result.timeout).to.equal(120);
        expect(plan.one("aws:lambda/function:Function").inputs).to.deep.include({ memorySize: 1024, timeout: 120, architectures: ["x86_64"] });
        expect(plan.one("aws:lambda/function:Function").inputs.environment.variables.TABLE).to.equal("t");
        expect(plan.one("aws:cloudwatch/logGroup:LogGroup").inputs).to.deep.include({ retentionInDays: 90, kmsKeyId: "arn:aws:kms:us-east-1:1:key/k" });
    });

    it("role policy = own log group + X-Ray + exactly what the caller stated", async () => {
        const { plan } = await runUnderMocks(() => new LambdaFunction("mirror", base));
        const statements = plan.json(plan.one("aws:iam/rolePolicy:RolePolicy"), "policy").Statement;
        expect(statements).to.have.length(3);
        expect(statements[2]).to.deep.equal({ Effect: "Allow", Action: ["sqs:SendMessage"], Resource: ["arn:aws:sqs:us-east-1:1:q"] });
        expect(statements.flatMap((s: { Action: string[] }) => s.Action)).not.to.include("logs:CreateLogGroup");
    });

    it("is created after its log group and role policy, so the first invocation can log and act", async () => {
        const { plan } = await runUnderMocks(() => new LambdaFunction("mirror", base));
        const fn = plan.one("aws:lambda/function:Function");
        expect(fn.dependencies).to.include.members([plan.one("aws:cloudwatch/logGroup:LogGroup").urn, plan.one("aws:iam/rolePolicy:RolePolicy").urn]);
    });

    it("fails clearly for a function folder that does not exist", () => {
        expect(() => new LambdaFunction("x", { ...base, code: "no-such-function" })).to.throw(/No function "no-such-function": expected functions\/no-such-function\/handler.ts/);
    });
});
