import * as pulumi from "@pulumi/pulumi";
import type { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as settings from "@pulumi/pulumi/runtime/settings";

// `waitForRPCs` is marked internal (absent from the typings) but is what the runtime itself awaits
// before exiting: it resolves once every outstanding registration has finished.
const { waitForRPCs } = settings as unknown as { waitForRPCs(): Promise<void> };

export const MOCK_ACCOUNT = "123456789012";
export const MOCK_REGION = "us-east-1";

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
    inputs: Record<string, any>;
    /** Outputs the mock returned (inputs plus ARNs, URLs, ids). */
    state: Record<string, any>;
    custom: boolean;
}

const ARN_FORMATS: Record<string, (name: string) => string> = {
    "aws:sqs/queue:Queue": (n) => `arn:aws:sqs:${MOCK_REGION}:${MOCK_ACCOUNT}:${n}`,
    "aws:dynamodb/table:Table": (n) => `arn:aws:dynamodb:${MOCK_REGION}:${MOCK_ACCOUNT}:table/${n}`,
    "aws:lambda/function:Function": (n) => `arn:aws:lambda:${MOCK_REGION}:${MOCK_ACCOUNT}:function:${n}`,
    "aws:iam/role:Role": (n) => `arn:aws:iam::${MOCK_ACCOUNT}:role/${n}`,
    "aws:iam/user:User": (n) => `arn:aws:iam::${MOCK_ACCOUNT}:user/${n}`,
    "aws:cloudwatch/logGroup:LogGroup": (n) => `arn:aws:logs:${MOCK_REGION}:${MOCK_ACCOUNT}:log-group:${n}`,
    "aws:sns/topic:Topic": (n) => `arn:aws:sns:${MOCK_REGION}:${MOCK_ACCOUNT}:${n}`,
    "aws:s3/bucket:Bucket": (n) => `arn:aws:s3:::${n}`,
    "aws:s3/bucketV2:BucketV2": (n) => `arn:aws:s3:::${n}`,
    "aws:kms/key:Key": (n) => `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT}:key/${n}`,
    "aws:sfn/stateMachine:StateMachine": (n) => `arn:aws:states:${MOCK_REGION}:${MOCK_ACCOUNT}:stateMachine:${n}`,
    "aws:cloudwatch/eventBus:EventBus": (n) => `arn:aws:events:${MOCK_REGION}:${MOCK_ACCOUNT}:event-bus/${n}`,
    "aws:cloudwatch/eventRule:EventRule": (n) => `arn:aws:events:${MOCK_REGION}:${MOCK_ACCOUNT}:rule/${n}`,
    "aws:pipes/pipe:Pipe": (n) => `arn:aws:pipes:${MOCK_REGION}:${MOCK_ACCOUNT}:pipe/${n}`,
    "aws:sesv2/emailIdentity:EmailIdentity": (n) => `arn:aws:ses:${MOCK_REGION}:${MOCK_ACCOUNT}:identity/${n}`,
    "aws:sesv2/configurationSet:ConfigurationSet": (n) => `arn:aws:ses:${MOCK_REGION}:${MOCK_ACCOUNT}:configuration-set/${n}`,
};

/** The provider's id: a queue's URL, otherwise its physical name (as for most AWS resources). */
function mockId(type: string, state: Record<string, any>): string {
    return type === "aws:sqs/queue:Queue" ? state.url : state.name;
}

/** What a provider would return: the inputs plus the computed attributes code reads. */
function mockState(args: pulumi.runtime.MockResourceArgs): Record<string, any> {
    const physical: string = args.inputs.name ?? args.inputs.bucket ?? args.inputs.emailIdentity ?? args.inputs.configurationSetName ?? `${args.name}-physical`;
    const arn = (ARN_FORMATS[args.type] ?? ((n: string) => `arn:aws:mock:${MOCK_REGION}:${MOCK_ACCOUNT}:${args.type}/${n}`))(physical);
    const state: Record<string, any> = { ...args.inputs, name: physical, arn };
    if (args.type === "aws:s3/bucket:Bucket") {
        state.bucket = physical;
    }
    if (args.type === "aws:sqs/queue:Queue") {
        state.url = `https://sqs.${MOCK_REGION}.amazonaws.com/${MOCK_ACCOUNT}/${physical}`;
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

function mockCall(args: pulumi.runtime.MockCallArgs): Record<string, any> {
    switch (args.token) {
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/mock`, userId: "MOCK" };
        case "aws:index/getRegion:getRegion":
            return { name: MOCK_REGION, region: MOCK_REGION, id: MOCK_REGION };
        case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
        default:
            throw new Error(`Unmocked provider call ${args.token}: add it to tests/support/mocks.ts`);
    }
}

/** The resources of one program run, with one-line queries for tests. */
export class ResourcePlan {
    constructor(public readonly resources: RecordedResource[]) {}

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
}

/**
 * Runs `program` under Pulumi mocks and returns what it registered once every registration has
 * finished. Errors raised while resolving outputs (e.g. a policy builder refusing a wildcard) fail
 * the run rather than disappearing into a log.
 */
export async function runUnderMocks<T>(program: () => T, options: RunOptions = {}): Promise<{ result: Awaited<T>; plan: ResourcePlan }> {
    const recorded = new Map<string, { inputs: Record<string, any>; state: Record<string, any>; custom: boolean }>();
    const requests = new Map<string, Pick<RecordedResource, "parentUrn" | "dependencies" | "propertyDependencies">>();
    await pulumi.runtime.setMocks({
        newResource: (args) => {
            const state = mockState(args);
            recorded.set(`${args.type}::${args.name}`, { inputs: args.inputs, state, custom: args.custom ?? false });
            return { id: mockId(args.type, state), state };
        },
        call: mockCall,
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
        });
        return register(req, callback);
    };
    pulumi.runtime.setAllConfig(options.config ?? {});
    const failures: unknown[] = [];
    const onRejection = (reason: unknown) => failures.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
        const result = await program();
        await waitForRPCs();
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
            const request = requests.get(`${type}::${name}`) ?? { dependencies: [], propertyDependencies: {} };
            return { type, name, urn, parentType: types.length > 1 ? types[types.length - 2] : undefined, ...request, ...entry };
        });
        return { result, plan: new ResourcePlan(resources) };
    } finally {
        process.off("unhandledRejection", onRejection);
    }
}

/** The value of an output, for assertions. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}
