import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { bundleFunction, LAMBDA_RUNTIME } from "./bundle";
import { allow, allowOnAnyResource, assumeRolePolicy, policyDocument, PolicyStatement } from "./iam";
import { DEFAULT_PREFIX, globalPhysicalName, physicalName, standardTags } from "./naming";
import { applyTransform, LambdaFunctionTransform } from "./transform";

/** Arguments of {@link LambdaFunction}. */
export interface LambdaFunctionArgs {
    /** The folder under `functions/` whose `handler.ts` is bundled. */
    code: string;
    /** Environment name, used in the physical name and tags. */
    env: string;
    /** Purpose part of the physical name (`<prefix>-<purpose>-<env>`). @default the value of `code` */
    purpose?: string;
    /** @default "ses-mail" */
    namePrefix?: string;
    /**
     * The region whose IAM role name keeps its region-free form (`<prefix>-<purpose>-fn-<env>`); in
     * any other region the name ends with the region, so the env can run in two regions.
     * @default none: the role name always ends with the region
     */
    homeRegion?: string;
    /** Component tag value. @default "LambdaFunction" */
    component?: string;
    /** The function's description in the console. @default none */
    description?: pulumi.Input<string>;
    /** What the function may do beyond writing its own logs and traces. Least privilege, on ARNs. */
    policyStatements: pulumi.Input<pulumi.Input<PolicyStatement>[]>;
    /**
     * Extra environment variables (never secrets: those belong in SSM SecureString), next to the
     * Powertools ones. @default none
     * @example { TABLE_NAME: table.name }
     */
    environment?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** @default 256 */
    memorySize?: pulumi.Input<number>;
    /** Seconds. A plain number because queue visibility timeouts are derived from it. @default 30 */
    timeout?: number;
    /** @default "arm64" */
    architecture?: "arm64" | "x86_64";
    /** @default 30 */
    logRetentionDays?: pulumi.Input<number>;
    /** KMS key for the log group. @default none: CloudWatch Logs' own encryption */
    logKmsKeyArn?: pulumi.Input<string>;
    /** Metrics namespace for Powertools (EMF), e.g. `SESMail/test`. */
    metricsNamespace: string;
    /** @default "INFO" */
    logLevel?: "DEBUG" | "INFO" | "WARN" | "ERROR";
    /**
     * Log mail addresses as keyed hashes (`h:<16 hex>`, the same in every function of the stack, so
     * Logs Insights still groups by address) instead of in the clear. See docs/DATA.md.
     * @default false
     */
    hashAddressesInLogs?: boolean;
    /** Reserved concurrency. @default none: unreserved */
    reservedConcurrency?: pulumi.Input<number>;
    /** Tags added to the standard ones on the function, role and log group. @default none @example { CostCentre: "mail" } */
    tags?: Record<string, string>;
    /**
     * Changes to the function's, its role's and its log group's arguments before they are created
     * (see `Transform`). @default none
     * @example { function: { ephemeralStorage: { size: 1024 } }, logGroup: { retentionInDays: 90 } }
     */
    transform?: LambdaFunctionTransform;
}

/** LOG_ADDRESSES / LOG_ADDRESS_SALT for code that logs addresses (functions, and the external feedback worker): one salt per stack. */
export function logAddressEnvironment(hashed: boolean | undefined, account: string, namePrefix: string | undefined, env: string): Record<string, string> {
    return hashed ? { LOG_ADDRESSES: "hashed", LOG_ADDRESS_SALT: `${account}/${namePrefix ?? DEFAULT_PREFIX}-${env}` } : {};
}

/** Defaults of every function of this library. */
export const LAMBDA_DEFAULTS = {
    /** MB. */
    memorySize: 256,
    /** Seconds. */
    timeout: 30,
    /** Graviton. */
    architecture: "arm64",
    /** Days the log group keeps logs. */
    logRetentionDays: 30,
    /** Powertools log level. */
    logLevel: "INFO",
} as const;

/**
 * A Lambda function bundled from `functions/<code>/`, with its own log group, X-Ray tracing,
 * Powertools settings and a role that may do only what the caller states.
 */
export class LambdaFunction extends pulumi.ComponentResource {
    /** The function. */
    public readonly function: aws.lambda.Function;
    /** Its execution role (only the statements given, plus logs and X-Ray). */
    public readonly role: aws.iam.Role;
    /** Its log group `/aws/lambda/<name>`. */
    public readonly logGroup: aws.cloudwatch.LogGroup;
    /** The function's name. */
    public readonly functionName: pulumi.Output<string>;
    /** The function's ARN. */
    public readonly arn: pulumi.Output<string>;
    /** Timeout in seconds (plain), for deriving queue visibility timeouts. */
    public readonly timeout: number;
    /** The folder under functions/ it was built from (its Powertools service name). */
    public readonly code: string;
    /** A stable label, unique in a stack, for alarms, dashboards and queries: its purpose. */
    public readonly label: string;

    constructor(name: string, args: LambdaFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ses-mail:index:LambdaFunction", name, {}, opts);
        const functionName = physicalName("lambda", { purpose: args.purpose ?? args.code, env: args.env, prefix: args.namePrefix });
        const tags = standardTags(args.env, args.component ?? "LambdaFunction", args.tags);
        this.timeout = args.timeout ?? LAMBDA_DEFAULTS.timeout;
        this.code = args.code;
        this.label = args.purpose ?? args.code;
        const bundle = bundleFunction(args.code);

        this.logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, ...applyTransform(args.transform?.logGroup, `${name}-logs`, {
            name: `/aws/lambda/${functionName}`,
            retentionInDays: args.logRetentionDays ?? LAMBDA_DEFAULTS.logRetentionDays,
            kmsKeyId: args.logKmsKeyArn,
            tags,
        }, { parent: this }));

        const region = aws.getRegionOutput({}, { parent: this }).region;
        const accountId = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        this.role = new aws.iam.Role(`${name}-role`, ...applyTransform(args.transform?.role, `${name}-role`, {
            name: region.apply((r) => globalPhysicalName("iamRole", { purpose: `${args.purpose ?? args.code}-fn`, env: args.env, prefix: args.namePrefix, region: r, homeRegion: args.homeRegion })),
            // aws:SourceAccount only: the Lambda guide allows both keys in the trust policy ("Working
            // with AWS managed policies in the execution role") but does not say which ARN Lambda
            // presents as aws:SourceArn (function, version, alias); a wrong guess stops every invocation.
            assumeRolePolicy: assumeRolePolicy("lambda.amazonaws.com", { account: accountId }),
            tags,
        }, { parent: this }));

        const basics: PolicyStatement[] = [
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.interpolate`${this.logGroup.arn}:*`]),
            allowOnAnyResource(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]),
        ];
        const rolePolicy = new aws.iam.RolePolicy(`${name}-policy`, {
            role: this.role.id,
            policy: policyDocument(pulumi.output(args.policyStatements).apply((own) => [...basics, ...own])),
        }, { parent: this });

        this.function = new aws.lambda.Function(name, ...applyTransform(args.transform?.function, name, {
            name: functionName,
            description: args.description,
            role: this.role.arn,
            runtime: LAMBDA_RUNTIME,
            architectures: [args.architecture ?? LAMBDA_DEFAULTS.architecture],
            handler: "index.handler",
            code: new pulumi.asset.AssetArchive({ "index.js": new pulumi.asset.StringAsset(bundle.code) }),
            memorySize: args.memorySize ?? LAMBDA_DEFAULTS.memorySize,
            timeout: this.timeout,
            reservedConcurrentExecutions: args.reservedConcurrency,
            tracingConfig: { mode: "Active" },
            loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name },
            environment: {
                variables: pulumi.all([args.environment ?? {}, accountId]).apply(([extra, account]) => ({
                    POWERTOOLS_SERVICE_NAME: args.code,
                    POWERTOOLS_METRICS_NAMESPACE: args.metricsNamespace,
                    POWERTOOLS_LOG_LEVEL: args.logLevel ?? LAMBDA_DEFAULTS.logLevel,
                    // The salt is per stack and not a secret: operators hash an address to find it (docs/DATA.md).
                    ...logAddressEnvironment(args.hashAddressesInLogs, account, args.namePrefix, args.env),
                    ...extra,
                })),
            },
            tags,
        }, { parent: this, dependsOn: [this.logGroup, rolePolicy] }));

        this.functionName = this.function.name;
        this.arn = this.function.arn;
        this.registerOutputs({ functionName: this.functionName, arn: this.arn, roleArn: this.role.arn });
    }
}
