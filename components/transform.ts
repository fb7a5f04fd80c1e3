// The per-child escape hatch of every component (the shape SST v3 gives its components): change one
// argument of one child without forking. Plain code run before the child is created, so it works
// under Pulumi mocks, unlike the `transforms` resource option.
import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";

/**
 * How a user changes one child's arguments: a partial object merged over them (shallow: a nested
 * object such as `serverSideEncryption` is replaced whole), or a function that edits the arguments
 * (and options) in place. It runs after the component's defaults, so it wins over them; the policy
 * pack still checks the result, so a transform that turns off encryption or TLS fails the pack.
 * @example { memorySize: 512 }
 * @example (args) => { args.tags = { ...args.tags, CostCentre: "mail" }; }
 */
export type Transform<Args> = Partial<Args> | ((args: Args, opts: pulumi.CustomResourceOptions, name: string) => void);

/** Transforms of a LambdaFunction's children, as components pass them through. */
export interface LambdaFunctionTransform {
    /** The `aws.lambda.Function`. */
    function?: Transform<aws.lambda.FunctionArgs>;
    /** Its execution role (`aws.iam.Role`). */
    role?: Transform<aws.iam.RoleArgs>;
    /** Its log group (`aws.cloudwatch.LogGroup`). */
    logGroup?: Transform<aws.cloudwatch.LogGroupArgs>;
}

/**
 * Applies `transform` to a child's arguments and options and returns what to create it with. The
 * name is not the transform's to change: a new name is a new URN, and Pulumi would replace the
 * resource. A copy of `args` and `opts` is edited, never the caller's objects.
 */
export function applyTransform<Args extends object, Opts extends pulumi.ResourceOptions>(
    transform: Transform<Args> | undefined,
    name: string,
    args: Args,
    opts: Opts,
): [Args, Opts] {
    const copy = { ...args };
    const options = { ...opts };
    if (typeof transform === "function") {
        transform(copy, options as pulumi.CustomResourceOptions, name);
        return [copy, options];
    }
    return [{ ...copy, ...(transform ?? {}) }, options];
}
