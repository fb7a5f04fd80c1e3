import * as pulumi from "@pulumi/pulumi";
import type { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { withoutPulumiStackTraces } from "./stack-traces";

// `waitForRPCs` is marked internal (absent from the typings) but is what the runtime itself awaits
// before exiting: it resolves once every outstanding registration has finished.
const { waitForRPCs } = settings as unknown as { waitForRPCs(): Promise<void> };

export const MOCK_ACCOUNT = "123456789012";
export const MOCK_REGION = "us-east-1";
/** The mock account's active receipt rule set: another system's, as in the sample stacks' account. */
export const MOCK_ACTIVE_RULE_SET = "corp-inbound-rules";

/** One resource the program registered, as the engine would have seen it. */
export interface RecordedResource {
    type: string;
    /** Logical name. */
    name: string;
    urn: string;
    /** Type of the direct parent, from the URN (undefined for top-level resources). */
    parentType?: string;
    /** URN of the direct parent (the stack or a component). */
    parentUrn?: string;
    /** URNs this resource depends on (explicit `dependsOn` and inputs from other resources). */
    dependencies: string[];
    /** Per input property, the URNs it was computed from. */
    propertyDependencies: Record<string, string[]>;
    /** The `retainOnDelete` option: removed from the program, it leaves state without being deleted. */
    retainOnDelete?: boolean;
    /**
     * The `aliases` option, each as the URN it stands for (the old URNs Pulumi matches this resource to
     * in state). Only the resource's own: aliases a child inherits from its parent's are the engine's.
     */
    aliases?: string[];
    inputs: Record<string, any>;
    /** Outputs the mock returned (inputs plus ARNs, URLs, ids). */
    state: Record<string, any>;
    custom: boolean;
    /** Reference (`<urn>::<id>`) of the provider the engine would use for it; undefined for the default provider. */
    provider?: string;
}

/** One provider function call (invoke) the program made, and the provider it went to. */
export interface RecordedInvoke {
    token: string;
    /** Provider reference; undefined for the default provider. */
    provider?: string;
}

/** The partition and region a run deploys into (what aws:index/getPartition and getRegion answer). */
interface MockTarget {
    partition: string;
    region: string;
    /** The account's active receipt rule set; null when none is. */
    activeReceiptRuleSet: string | null;
}

/** DNS suffix per partition ("AWS partitions": GovCloud shares the commercial suffix, China has its own). */
const DNS_SUFFIXES: Record<string, string> = { "aws": "amazonaws.com", "aws-us-gov": "amazonaws.com", "aws-cn": "amazonaws.com.cn" };

/** `<service>:<resource>` of each type's ARN, as `arn:<partition>:<service>:<region>:<account>:<resource>` (S3 and IAM without region or account as AWS has them). */
const ARN_FORMATS: Record<string, (name: string) => [service: string, resource: string]> = {
    "aws:sqs/queue:Queue": (n) => ["sqs", n],
    "aws:dynamodb/table:Table": (n) => ["dynamodb", `table/${n}`],
    "aws:lambda/function:Function": (n) => ["lambda", `function:${n}`],
    "aws:iam/role:Role": (n) => ["iam", `role/${n}`],
    "aws:iam/user:User": (n) => ["iam", `user/${n}`],
    "aws:cloudwatch/logGroup:LogGroup": (n) => ["logs", `log-group:${n}`],
    "aws:sns/topic:Topic": (n) => ["sns", n],
    "aws:s3/bucket:Bucket": (n) => ["s3", n],
    "aws:s3/bucketV2:BucketV2": (n) => ["s3", n],
    "aws:kms/key:Key": (n) => ["kms", `key/${n}`],
    "aws:sfn/stateMachine:StateMachine": (n) => ["states", `stateMachine:${n}`],
    "aws:cloudwatch/eventBus:EventBus": (n) => ["events", `event-bus/${n}`],
    "aws:cloudwatch/eventRule:EventRule": (n) => ["events", `rule/${n}`],
    "aws:pipes/pipe:Pipe": (n) => ["pipes", `pipe/${n}`],
    "aws:sesv2/emailIdentity:EmailIdentity": (n) => ["ses", `identity/${n}`],
    "aws:sesv2/configurationSet:ConfigurationSet": (n) => ["ses", `configuration-set/${n}`],
};

function mockArn(target: MockTarget, type: string, physical: string): string {
    const [service, resource] = (ARN_FORMATS[type] ?? ((n: string) => ["mock", `${type}/${n}`]))(physical);
    if (service === "s3") return `arn:${target.partition}:s3:::${resource}`;
    if (service === "iam") return `arn:${target.partition}:iam::${MOCK_ACCOUNT}:${resource}`;
    return `arn:${target.partition}:${service}:${target.region}:${MOCK_ACCOUNT}:${resource}`;
}

/** The provider's id: a queue's URL, otherwise its physical name (as for most AWS resources). */
function mockId(type: string, state: Record<string, any>): string {
    return type === "aws:sqs/queue:Queue" ? state.url : state.name;
}

/** What a provider would return: the inputs plus the computed attributes code reads. */
function mockState(target: MockTarget, args: pulumi.runtime.MockResourceArgs): Record<string, any> {
    const physical: string = args.inputs.name ?? args.inputs.bucket ?? args.inputs.emailIdentity ?? args.inputs.configurationSetName ?? `${args.name}-physical`;
    const arn = mockArn(target, args.type, physical);
    const state: Record<string, any> = { ...args.inputs, name: physical, arn };
    if (args.type === "aws:s3/bucket:Bucket") {
        state.bucket = physical;
    }
    if (args.type === "aws:sqs/queue:Queue") {
        state.url = `https://sqs.${target.region}.${DNS_SUFFIXES[target.partition]}/${MOCK_ACCOUNT}/${physical}`;
    }
    if (args.type === "aws:sesv2/emailIdentity:EmailIdentity") {
        // Easy DKIM always yields three tokens.
        state.dkimSigningAttributes = { ...args.inputs.dkimSigningAttributes, tokens: [1, 2, 3].map((i) => `${physical.replace(/\W/g, "")}token${i}`) };
    }
    if (args.type === "aws:kms/key:Key") {
        state.keyId = `${args.name}-key-id`;
    }
    if (args.type === "aws:dynamodb/table:Table" && args.inputs.streamEnabled) {
        state.streamArn = `${arn}/stream/2026-01-01T00:00:00.000`;
    }
    return state;
}

function mockCall(target: MockTarget, args: pulumi.runtime.MockCallArgs): Record<string, any> {
    switch (args.token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: MOCK_ACCOUNT, arn: `arn:${target.partition}:iam::${MOCK_ACCOUNT}:user/mock`, userId: "MOCK" };
        case "aws:index/getRegion:getRegion":
            return { name: target.region, region: target.region, id: target.region };
        case "aws:index/getPartition:getPartition":
            return { partition: target.partition, dnsSuffix: DNS_SUFFIXES[target.partition], id: target.partition };
        case "aws:ses/getActiveReceiptRuleSet:getActiveReceiptRuleSet":
            if (target.activeReceiptRuleSet === null) {
                // The provider's data source fails when no set is active (terraform-provider-aws #27073:
                // "empty result"); the engine hands a failed invoke over as a gRPC error, whose `details`
                // the SDK rethrows as the message.
                const message = "reading SES Active Receipt Rule Set: empty result";
                throw Object.assign(new Error(message), { details: message });
            }
            return { ruleSetName: target.activeReceiptRuleSet, arn: `arn:${target.partition}:ses:${target.region}:${MOCK_ACCOUNT}:receipt-rule-set/${target.activeReceiptRuleSet}`, id: target.activeReceiptRuleSet, region: target.region };
        default:
            throw new Error(`Unmocked provider call ${args.token}: add it to tests/support/mocks.ts`);
    }
}

/** The resources of one program run, with one-line queries for tests. */
export class ResourcePlan {
    constructor(public readonly resources: RecordedResource[], public readonly invokes: RecordedInvoke[] = []) {}

    public ofType(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The single resource of this type (and logical name, if given); fails listing what exists. */
    public one(type: string, name?: string): RecordedResource {
        const matches = this.ofType(type).filter((r) => name === undefined || r.name === name);
        if (matches.length !== 1) {
            const names = this.ofType(type).map((r) => r.name).join(", ") || "none";
            throw new Error(`Expected exactly one ${type}${name ? ` named ${name}` : ""}, found ${matches.length} (have: ${names})`);
        }
        return matches[0];
    }

    /** A JSON-string input (policy documents, redrive policies), parsed. */
    public json(resource: RecordedResource, key: string): any {
        return JSON.parse(resource.inputs[key]);
    }

    public children(parent: RecordedResource): RecordedResource[] {
        return this.resources.filter((r) => r.parentType === parent.type);
    }
}

export interface RunOptions {
    /** @default "test" */
    stack?: string;
    /** Stack config, keys as in Pulumi.<stack>.yaml (`ses-mail:environment`), values as strings. */
    config?: Record<string, string>;
    /** @default false */
    preview?: boolean;
    /** What aws:index/getPartition answers (and every mock ARN carries). @default "aws" */
    partition?: "aws" | "aws-us-gov" | "aws-cn";
    /** What aws:index/getRegion answers. @default MOCK_REGION */
    region?: string;
    /** What aws:ses/getActiveReceiptRuleSet answers; null: no set is active. @default MOCK_ACTIVE_RULE_SET */
    activeReceiptRuleSet?: string | null;
}

/**
 * A registration request's aliases as the URNs they stand for: a URN as given; a spec with the
 * resource's own name, type and parent where it leaves them out (as the engine fills them in), under
 * the parent's qualified type (none for the stack or `parent: undefined`).
 */
function aliasUrns(req: any): string[] {
    return (req.getAliasesList?.() ?? []).map((alias: any) => {
        if (alias.getUrn()) return alias.getUrn() as string;
        const spec = alias.getSpec();
        const parentUrn: string = spec.getNoparent() ? "" : spec.getParenturn() || req.getParent();
        const parentType = parentUrn ? parentUrn.split("::")[2] : undefined;
        const type: string = spec.getType() || req.getType();
        const qualifiedType = parentType && parentType !== "pulumi:pulumi:Stack" ? `${parentType}$${type}` : type;
        return `urn:pulumi:${spec.getStack() || pulumi.getStack()}::${spec.getProject() || pulumi.getProject()}::${qualifiedType}::${spec.getName() || req.getName()}`;
    });
}

/**
 * Runs `program` under Pulumi mocks and returns what it registered once every registration has
 * finished. Errors raised while resolving outputs (e.g. a policy builder refusing a wildcard) fail
 * the run rather than disappearing into a log.
 */
export async function runUnderMocks<T>(program: () => T, options: RunOptions = {}): Promise<{ result: Awaited<T>; plan: ResourcePlan }> {
    const recorded = new Map<string, { inputs: Record<string, any>; state: Record<string, any>; custom: boolean; provider?: string }>();
    const invokes: RecordedInvoke[] = [];
    const requests = new Map<string, Pick<RecordedResource, "parentUrn" | "dependencies" | "propertyDependencies" | "retainOnDelete" | "aliases">>();
    const target: MockTarget = {
        partition: options.partition ?? "aws", region: options.region ?? MOCK_REGION,
        activeReceiptRuleSet: options.activeReceiptRuleSet === undefined ? MOCK_ACTIVE_RULE_SET : options.activeReceiptRuleSet,
    };
    await pulumi.runtime.setMocks({
        newResource: (args) => {
            const state = mockState(target, args);
            recorded.set(`${args.type}::${args.name}`, { inputs: args.inputs, state, custom: args.custom ?? false, ...(args.provider ? { provider: args.provider } : {}) });
            return { id: mockId(args.type, state), state };
        },
        call: (args) => {
            invokes.push({ token: args.token, provider: args.provider });
            return mockCall(target, args);
        },
    }, "ses-mail", options.stack ?? "test", options.preview ?? false);
    // The mock monitor does not pass parents or dependencies to `newResource`; read them off the
    // registration requests so tests can prove parentage and ordering (dependsOn).
    const monitor = settings.getMonitor() as unknown as MockMonitor;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: (err: any, response: any) => void) => {
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((deps: any, key: string) => (propertyDependencies[key] = deps.getUrnsList()));
        requests.set(`${req.getType()}::${req.getName()}`, {
            parentUrn: req.getParent() || undefined,
            dependencies: req.getDependenciesList(),
            propertyDependencies,
            retainOnDelete: req.getRetainondelete() ?? false,
            aliases: aliasUrns(req),
        });
        return register(req, callback);
    };
    pulumi.runtime.setAllConfig(options.config ?? {});
    const failures: unknown[] = [];
    const onRejection = (reason: unknown) => failures.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
        const result = await withoutPulumiStackTraces(async () => {
            const value = await program();
            await waitForRPCs();
            return value;
        });
        // Node reports an unhandled rejection only after the microtasks of the tick that made it: let
        // a registration that failed on a rejected input (an error thrown in an apply) report it.
        await new Promise((resolve) => setImmediate(resolve));
        if (failures.length > 0) {
            throw failures[0];
        }
        const resources = [...monitor.getRegisteredResources().values()].map(({ urn }): RecordedResource => {
            const [, , qualifiedType, name] = urn.split("::");
            const types = qualifiedType.split("$");
            const type = types[types.length - 1];
            const entry = recorded.get(`${type}::${name}`);
            if (!entry) {
                throw new Error(`No recorded inputs for ${urn}`);
            }
            const request = requests.get(`${type}::${name}`) ?? { dependencies: [], propertyDependencies: {}, retainOnDelete: false, aliases: [] };
            return { type, name, urn, parentType: types.length > 1 ? types[types.length - 2] : undefined, ...request, ...entry };
        });
        return { result, plan: new ResourcePlan(resources, invokes) };
    } finally {
        process.off("unhandledRejection", onRejection);
    }
}

/** The value of an output, for assertions. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}
