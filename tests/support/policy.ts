import { sesMailPolicies } from "../../policy/policies";
import { PolicyViolation, runPolicies, RunPoliciesOptions } from "../../policy/runner";
import { RecordedResource, runUnderMocks } from "./mocks";

/** Runs a program under mocks and the whole pack over what it registered. */
export async function violationsOf(program: () => unknown, options?: RunPoliciesOptions): Promise<PolicyViolation[]> {
    const { plan } = await runUnderMocks(program);
    return runPolicies(plan.resources, sesMailPolicies, options);
}

/** Names of the violated policies, sorted (one entry per violation). */
export async function violationNames(program: () => unknown, options?: RunPoliciesOptions): Promise<string[]> {
    return (await violationsOf(program, options)).map((v) => v.policyName).sort();
}

/** A resource of a plan, found by type and logical name; fails listing what exists. */
function indexOf(plan: RecordedResource[], type: string, name: string): number {
    const index = plan.findIndex((r) => r.type === type && r.name === name);
    if (index < 0) {
        throw new Error(`No ${type} named ${name} in the plan (have: ${plan.filter((r) => r.type === type).map((r) => r.name).join(", ") || "none"})`);
    }
    return index;
}

/**
 * A copy of the plan where one resource's properties are changed alike in its inputs (resource
 * policies) and outputs (stack policies). `change` gets a shallow copy: return new nested objects
 * rather than editing them (inputs hold assets that cannot be cloned).
 */
export function withProps(plan: RecordedResource[], type: string, name: string, change: (props: Record<string, any>) => Record<string, any>): RecordedResource[] {
    const index = indexOf(plan, type, name);
    const resource = plan[index];
    const copy = { ...resource, inputs: change({ ...resource.inputs }), state: change({ ...resource.state }) };
    return plan.map((r, i) => (i === index ? copy : r));
}

/** A copy of the plan where one resource's JSON policy document (property `key`) is edited in place by `edit`. */
export function withDocument(plan: RecordedResource[], type: string, name: string, edit: (document: { Statement: any[] }) => void, key = "policy"): RecordedResource[] {
    return withProps(plan, type, name, (props) => {
        const document = JSON.parse(props[key]);
        edit(document);
        return { ...props, [key]: JSON.stringify(document) };
    });
}

/** The statement of a document that `match` picks; fails when none does (the plan changed shape). */
export function statementWhere(document: { Statement: any[] }, match: (statement: any) => boolean): any {
    const found = document.Statement.find(match);
    if (!found) {
        throw new Error(`No matching statement in ${JSON.stringify(document)}`);
    }
    return found;
}

/** A copy of the plan with one more top-level custom resource, recorded as the mocks record one (outputs = inputs + `state`). */
export function withResource(plan: RecordedResource[], type: string, name: string, inputs: Record<string, any>, state: Record<string, any> = {}): RecordedResource[] {
    const [stackPart, project] = plan[0].urn.split("::");
    return [...plan, { type, name, urn: `${stackPart}::${project}::${type}::${name}`, dependencies: [], propertyDependencies: {}, inputs, state: { ...inputs, ...state }, custom: true }];
}

/** The IAM policy simulator under the name the policy-pack tests use. */
export { simulate as decide } from "./iam-simulator";
