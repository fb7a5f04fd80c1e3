import * as aws from "@pulumi/aws";
import { expect } from "chai";
import fc from "fast-check";
import { LAMBDA_RUNTIME } from "../../components/bundle";
import { LambdaFunction } from "../../components/lambda-function";
import { LAMBDA_RUNTIME_BLOCK_DATES, RUNTIME_WARNING_DAYS, runtimeBlockProblem } from "../../policy/policies/lambda-runtime";
import { violationNames } from "../support/policy";

const DAY_MS = 24 * 60 * 60 * 1000;
const ROLE = "arn:aws:iam::123456789012:role/r";
const utc = (day: string) => new Date(`${day}T00:00:00Z`);
const anyInstant = fc.date({ min: new Date("2024-01-01T00:00:00Z"), max: new Date("2030-12-31T00:00:00Z"), noInvalidDate: true });

describe("policy: Lambda runtime block dates", () => {
    it("the library's functions run on nodejs24.x, a runtime of @pulumi/aws's Runtime enum, not yet within the warning window", () => {
        expect(LAMBDA_RUNTIME).to.equal(aws.lambda.Runtime.NodeJS24dX);
        expect(runtimeBlockProblem(LAMBDA_RUNTIME, new Date())).to.equal(undefined);
    });

    it("a runtime is reported exactly from a year before its block-create date on (any instant, any listed runtime)", () => {
        fc.assert(fc.property(fc.constantFrom(...Object.keys(LAMBDA_RUNTIME_BLOCK_DATES)), anyInstant, (runtime, now) => {
            const warnFrom = utc(LAMBDA_RUNTIME_BLOCK_DATES[runtime].blockCreate).getTime() - RUNTIME_WARNING_DAYS * DAY_MS;
            expect(runtimeBlockProblem(runtime, now) !== undefined, `${runtime} at ${now.toISOString()}`).to.equal(now.getTime() >= warnFrom);
        }));
    });

    it("says which stage a runtime is in", () => {
        // Lambda runtimes page: nodejs22.x creation blocked 2027-06-01, updates 2027-07-01.
        expect(runtimeBlockProblem("nodejs22.x", utc("2026-05-01"))).to.equal(undefined);
        expect(runtimeBlockProblem("nodejs22.x", utc("2026-12-03"))).to.equal("nodejs22.x is within 180 day(s) of its block date: Lambda refuses creating functions on it from 2027-06-01 and updating them from 2027-07-01.");
        expect(runtimeBlockProblem("nodejs22.x", utc("2027-06-15"))).to.match(/^nodejs22\.x is blocked for new functions since 2027-06-01; updates are refused from 2027-07-01\.$/);
        expect(runtimeBlockProblem("nodejs22.x", utc("2027-07-01"))).to.match(/^nodejs22\.x is blocked: /);
        expect(runtimeBlockProblem("nodejs16.x", utc("2026-12-03"))).to.match(/past Lambda's block dates/);
        expect(runtimeBlockProblem("nodejs4.3", utc("2026-12-03"))).to.equal(undefined, "not a nodejsN.x identifier");
    });

    it("newer Node.js runtimes than the table knows, and other languages, are left alone", () => {
        fc.assert(fc.property(fc.integer({ min: 25, max: 99 }), anyInstant, (major, now) => {
            expect(runtimeBlockProblem(`nodejs${major}.x`, now)).to.equal(undefined);
        }));
        expect(runtimeBlockProblem("python3.13", utc("2026-12-03"))).to.equal(undefined);
        expect(runtimeBlockProblem("provided.al2023", utc("2026-12-03"))).to.equal(undefined);
    });

    it("the table's dates are ordered: deprecated ≤ block create < block update, newer runtimes later", () => {
        const rows = Object.entries(LAMBDA_RUNTIME_BLOCK_DATES).sort(([a], [b]) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
        for (const [runtime, dates] of rows) {
            expect(dates.deprecated <= dates.blockCreate && dates.blockCreate < dates.blockUpdate, runtime).to.equal(true);
        }
        expect(rows.map(([, dates]) => dates.blockCreate)).to.deep.equal(rows.map(([, dates]) => dates.blockCreate).sort());
    });

    it("the pack reports a function on nodejs22.x and passes LambdaFunction", async () => {
        const fn = (runtime: string) => () => new aws.lambda.Function("f", { name: "f", role: ROLE, runtime, handler: "index.handler" });
        expect(await violationNames(fn("nodejs22.x"))).to.include("lambda-runtime-supported");
        expect(await violationNames(fn("nodejs24.x"))).to.not.include("lambda-runtime-supported");
        expect(await violationNames(() => new LambdaFunction("fn", { code: "suppression-mirror", env: "test", metricsNamespace: "m", policyStatements: [] }))).to.deep.equal([]);
    });
});
