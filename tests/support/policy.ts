import { sesMailPolicies } from "../../policy/policies";
import { PolicyViolation, runPolicies, RunPoliciesOptions } from "../../policy/runner";
import { runUnderMocks } from "./mocks";

/** Runs a program under mocks and the whole pack over what it registered. */
export async function violationsOf(program: () => unknown, options?: RunPoliciesOptions): Promise<PolicyViolation[]> {
    const { plan } = await runUnderMocks(program);
    return runPolicies(plan.resources, sesMailPolicies, options);
}

/** Names of the violated policies, sorted (one entry per violation). */
export async function violationNames(program: () => unknown, options?: RunPoliciesOptions): Promise<string[]> {
    return (await violationsOf(program, options)).map((v) => v.policyName).sort();
}
