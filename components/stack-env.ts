import * as pulumi from "@pulumi/pulumi";

/** What an env may look like: it ends every physical name (`<prefix>-<purpose>-<env>`, see naming.ts). */
const ENV_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/**
 * A component's `env`: the one given, else the stack's name (as SST derives its stage), so
 * `pulumi stack select prod` deploys `…-prod` resources without repeating it. Pulumi allows stack
 * names the physical names do not (`Prod`, `dev_1`, `v1.2`): such a name is refused with the fix
 * rather than turned into something the user did not choose.
 */
export function resolveEnv(component: string, env: string | undefined, stack: () => string = pulumi.getStack): string {
    if (env !== undefined) {
        return env;
    }
    const name = stack();
    if (!ENV_PATTERN.test(name)) {
        throw new Error(
            `${component}: env defaults to the stack name, but "${name}" is not a valid env (lowercase letters, digits and hyphens, ` +
            "starting and ending with a letter or digit): pass env explicitly.",
        );
    }
    return name;
}
