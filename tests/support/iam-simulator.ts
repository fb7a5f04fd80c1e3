import { runSimulation, type EvaluationResult } from "@cloud-copilot/iam-simulate";
import { MOCK_ACCOUNT } from "./mocks";

/** The policies IAM evaluates for a request; a permissions boundary caps the identity policies ("Permissions boundaries for IAM entities"). */
export interface SimulatedPolicies {
    identity?: object[];
    /** The policy of the resource asked for (bucket, key, topic, queue, a role's trust policy). */
    resource?: object;
    boundary?: object;
}

export interface SimulatedRequest {
    principal: string;
    action: string;
    /** The resource's ARN; it is in the mocks' account. */
    resource: string;
    /** Request context keys (aws:SourceArn, ses:FromAddress, iam:PermissionsBoundary, …); absent keys stay absent. */
    context?: Record<string, string | string[]>;
}

/** What IAM decides for a request (Allowed, ImplicitlyDenied, ExplicitlyDenied), by an IAM policy simulator; fails on a policy it cannot read. */
export async function simulate(policies: SimulatedPolicies, request: SimulatedRequest): Promise<EvaluationResult> {
    const response = await runSimulation({
        identityPolicies: (policies.identity ?? []).map((policy, i) => ({ name: `policy-${i}`, policy })),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: policies.resource,
        permissionBoundaryPolicies: policies.boundary ? [{ name: "boundary", policy: policies.boundary }] : undefined,
        request: {
            action: request.action,
            principal: request.principal,
            resource: { resource: request.resource, accountId: MOCK_ACCOUNT },
            contextVariables: request.context ?? {},
        },
    }, {});
    if (response.resultType === "error") {
        throw new Error(JSON.stringify(response.errors));
    }
    return response.overallResult;
}
