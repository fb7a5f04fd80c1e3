// Runs the pack's policies offline over resources recorded under Pulumi mocks, building the same
// arguments the Pulumi analyzer passes (type, name, urn, props, isType/asType, getConfig,
// notApplicable), so `npm test` and `npm run preview` enforce the pack without the Pulumi CLI.
import * as fs from "node:fs";
import * as path from "node:path";
import type {
    EnforcementLevel,
    Policies,
    Policy,
    PolicyPackConfig,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

/** What the runner needs of a registered resource (tests/support/mocks' RecordedResource fits). */
export interface PolicySubject {
    type: string;
    name: string;
    urn: string;
    /** Inputs: what resource validations see. */
    inputs: Record<string, any>;
    /** Outputs: what stack validations see. */
    state: Record<string, any>;
    custom: boolean;
    parentUrn?: string;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
}

export interface PolicyViolation {
    policyName: string;
    enforcementLevel: Exclude<EnforcementLevel, "disabled" | "remediate">;
    severity?: Severity;
    message: string;
    urn?: string;
}

class NotApplicable extends Error {}

function notApplicable(reason?: string): never {
    throw new NotApplicable(reason ?? "not applicable");
}

type ResourceClass = { new (...args: any[]): unknown; __pulumiType?: string; isInstance?: (obj: unknown) => boolean };

// The analyzer compares the class's registered type token, falling back to isInstance.
function isTypeOf(type: string, resourceClass: ResourceClass): boolean {
    if (typeof resourceClass.__pulumiType === "string" && resourceClass.__pulumiType !== "") {
        return resourceClass.__pulumiType === type;
    }
    return resourceClass.isInstance?.({ __pulumiType: type }) === true;
}

/** isType/asType as the analyzer builds them, over the given props. */
function typeChecks<P>(type: string, props: P) {
    return {
        isType: (resourceClass: ResourceClass) => isTypeOf(type, resourceClass),
        asType: (resourceClass: ResourceClass) => (isTypeOf(type, resourceClass) ? props : undefined),
    };
}

function enforcementOf(policy: Policy, config: PolicyPackConfig, packDefault: EnforcementLevel): EnforcementLevel {
    const entry = config[policy.name];
    const configured = typeof entry === "string" ? entry : entry?.enforcementLevel;
    return configured ?? policy.enforcementLevel ?? packDefault;
}

/** The policy's config: schema defaults overlaid with the pack config's values for it. */
function configOf(policy: Policy, config: PolicyPackConfig): Record<string, unknown> {
    const defaults = Object.fromEntries(
        Object.entries(policy.configSchema?.properties ?? {})
            .filter(([, schema]) => (schema as { default?: unknown }).default !== undefined)
            .map(([key, schema]) => [key, (schema as { default?: unknown }).default]),
    );
    const entry = config[policy.name];
    const own = typeof entry === "object" ? Object.fromEntries(Object.entries(entry).filter(([key]) => key !== "enforcementLevel")) : {};
    return { ...defaults, ...own };
}

const RESOURCE_OPTIONS: PolicyResourceOptions = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

function isResourcePolicy(policy: Policy): policy is ResourceValidationPolicy {
    return "validateResource" in policy;
}

function isStackPolicy(policy: Policy): policy is StackValidationPolicy {
    return "validateStack" in policy;
}

/** The pack config CI passes with `--policy-pack-config policy/config.json`, so offline runs match. */
export function readPackConfig(file = path.join(__dirname, "config.json")): PolicyPackConfig {
    return JSON.parse(fs.readFileSync(file, "utf8"));
}

export interface RunPoliciesOptions {
    /** Pack config as in a `--policy-pack-config` file: `{ "<policy>": "advisory" | { enforcementLevel, ...config } }`. */
    config?: PolicyPackConfig;
    /** @default "mandatory" */
    enforcementLevel?: EnforcementLevel;
}

/** The resource type a validation is for, when validateResourceOfType attached one (`__pulumiType`). */
function validationType(validate: unknown): string | undefined {
    const type = (validate as { __pulumiType?: unknown } | undefined)?.__pulumiType;
    return typeof type === "string" && type !== "" ? type : undefined;
}

/**
 * The resources stack validations see, as the analyzer builds them: outputs as props, parent,
 * dependencies and property dependencies linked to the resource objects (those among the subjects).
 */
function stackResources(subjects: PolicySubject[]): PolicyResource[] {
    const resources: PolicyResource[] = subjects.map((subject) => ({
        type: subject.type,
        name: subject.name,
        urn: subject.urn,
        props: subject.state,
        opts: { ...RESOURCE_OPTIONS, parent: subject.parentUrn },
        dependencies: [],
        propertyDependencies: {},
        ...(typeChecks(subject.type, subject.state) as Pick<PolicyResource, "isType" | "asType">),
    }));
    // The last subject of a URN wins, as in a map filled in order.
    const byUrn = new Map(resources.map((resource) => [resource.urn, resource]));
    const resolve = (urns: string[]) => urns.flatMap((urn) => byUrn.get(urn) ?? []);
    subjects.forEach((subject, i) => {
        resources[i].parent = subject.parentUrn ? byUrn.get(subject.parentUrn) : undefined;
        resources[i].dependencies = resolve(subject.dependencies);
        resources[i].propertyDependencies = Object.fromEntries(Object.entries(subject.propertyDependencies).map(([key, urns]) => [key, resolve(urns)]));
    });
    // Shared by every stack policy of a run (runPolicies): a policy that writes to them fails loudly
    // rather than changing what the next one sees (the analyzer builds them anew for each policy).
    for (const resource of resources) {
        Object.values(resource.propertyDependencies).forEach((list) => Object.freeze(list));
        [resource.opts, resource.dependencies, resource.propertyDependencies, resource].forEach((part) => Object.freeze(part));
    }
    return resources.filter((_, i) => subjects[i].custom);
}

/**
 * Runs every resource and stack validation (awaiting async ones) and returns the violations.
 *
 * A validation built by validateResourceOfType (which carries its resource type as `__pulumiType`)
 * is not called for resources of other types: the analyzer skips it so when it is a policy's only
 * validation, and calls each of a list to have it throw notApplicable, which comes to the same.
 * isType/asType of each resource are built once per run and shared by the resource policies. The
 * stack policies of a run share the resource objects (the analyzer builds them again for each
 * policy, which is most of a run's time on a stack of a few hundred resources): each gets its own
 * array of them, and the objects are frozen (a policy that writes to one fails). Every validation is
 * awaited, as the analyzer awaits each, so reports come in the same order.
 */
export async function runPolicies(subjects: PolicySubject[], policies: Policies, options: RunPoliciesOptions = {}): Promise<PolicyViolation[]> {
    const config = options.config ?? {};
    const violations: PolicyViolation[] = [];
    const custom = subjects.filter((subject) => subject.custom).map((subject) => ({ subject, checks: typeChecks(subject.type, subject.inputs) }));
    let resources: PolicyResource[] | undefined;

    for (const policy of policies) {
        const level = enforcementOf(policy, config, options.enforcementLevel ?? "mandatory");
        if (level === "disabled") {
            continue;
        }
        const reported: PolicyViolation["enforcementLevel"] = level === "advisory" ? "advisory" : "mandatory";
        const policyConfig = configOf(policy, config);
        const getConfig = <T extends object>() => policyConfig as T;

        if (isResourcePolicy(policy) && policy.validateResource) {
            const validations = (Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource]).map((validate) => ({ validate, type: validationType(validate) }));
            for (const { subject, checks } of custom) {
                if (validations.every(({ type }) => type !== undefined && type !== subject.type)) {
                    continue;
                }
                const args: ResourceValidationArgs = {
                    type: subject.type,
                    name: subject.name,
                    urn: subject.urn,
                    props: subject.inputs,
                    opts: { ...RESOURCE_OPTIONS, parent: subject.parentUrn },
                    stackTags: new Map(),
                    ...(checks as Pick<ResourceValidationArgs, "isType" | "asType">),
                    getConfig,
                    notApplicable,
                };
                const report = (message: string, urn?: string) => violations.push({ policyName: policy.name, enforcementLevel: reported, severity: policy.severity, message, urn: urn ?? subject.urn });
                for (const { validate, type } of validations) {
                    if (type !== undefined && type !== subject.type) {
                        continue;
                    }
                    try {
                        await validate(args, report);
                    } catch (error) {
                        if (!(error instanceof NotApplicable)) {
                            throw new Error(`Policy ${policy.name} failed on ${subject.urn}: ${(error as Error).message}`, { cause: error });
                        }
                    }
                }
            }
        }

        if (isStackPolicy(policy) && policy.validateStack) {
            resources ??= stackResources(subjects);
            const args: StackValidationArgs = {
                resources: [...resources],
                stackTags: new Map(),
                getConfig,
                notApplicable,
            };
            try {
                await policy.validateStack(args, (message, urn) => violations.push({ policyName: policy.name, enforcementLevel: reported, severity: policy.severity, message, urn }));
            } catch (error) {
                if (!(error instanceof NotApplicable)) {
                    throw new Error(`Stack policy ${policy.name} failed: ${(error as Error).message}`, { cause: error });
                }
            }
        }
    }
    return violations;
}
