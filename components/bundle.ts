import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";

/** The Lambda runtime every function of this library runs on, and the matching esbuild target
 * (nodejs22.x: creating functions is blocked from 2027-06-01, see policy/policies/lambda-runtime.ts). */
export const LAMBDA_RUNTIME = "nodejs24.x";
const NODE_TARGET = "node24";

/** This package's name (package.json), which packageRoot looks for. */
export const PACKAGE_NAME = "@ses-mail/pulumi";

export interface FunctionBundle {
    /** Minified CommonJS source of `functions/<name>/handler.ts` and its dependencies. */
    code: string;
    /** sha256 of `code`, hex. */
    sha256: string;
}

/**
 * The root of the `@ses-mail/pulumi` package, whether running from source (tsx), from `dist/` or from an
 * installed tarball: the nearest directory above this file whose package.json is ours.
 */
export function packageRoot(from: string = __dirname): string {
    for (let dir = from; ; dir = path.dirname(dir)) {
        const manifest = path.join(dir, "package.json");
        if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, "utf8")).name === PACKAGE_NAME) {
            return dir;
        }
        if (path.dirname(dir) === dir) {
            throw new Error(`Cannot find the ${PACKAGE_NAME} package root above ${from}.`);
        }
    }
}

const cache = new Map<string, FunctionBundle>();

/**
 * Bundles `functions/<name>/handler.ts` synchronously (a constructor cannot await). The output is
 * byte-identical across rebuilds, working directories and install locations: the working directory
 * is pinned to the package root, compiler options are pinned, output is minified (no path comments)
 * and has no source map. `@aws-sdk/*` is left
 * external because the Lambda Node.js runtime provides it.
 */
export function bundleFunction(name: string): FunctionBundle {
    const cached = cache.get(name);
    if (cached) {
        return cached;
    }
    const root = packageRoot();
    const entry = path.join("functions", name, "handler.ts");
    if (!/^[a-z0-9-]+$/.test(name) || !fs.existsSync(path.join(root, entry))) {
        throw new Error(`No function "${name}": expected ${entry} under ${root}.`);
    }
    const bundle = buildBundle(root, entry);
    cache.set(name, bundle);
    return bundle;
}

/**
 * The build itself, for an entry relative to the package root. `alias` swaps a module for another
 * (benchmarks compare dependencies this way); production bundles use none.
 */
export function buildBundle(root: string, entry: string, alias?: Record<string, string>): FunctionBundle {
    const result = esbuild.buildSync({
        absWorkingDir: root,
        entryPoints: [entry],
        ...(alias ? { alias } : {}),
        bundle: true,
        platform: "node",
        format: "cjs",
        target: NODE_TARGET,
        minify: true,
        sourcemap: false,
        legalComments: "none",
        external: ["@aws-sdk/*"],
        // esbuild reads tsconfig.json in a checkout but not under node_modules; pinning the options
        // keeps an installed package's bundles identical to a checkout's (strict, as ESM source is).
        tsconfigRaw: { compilerOptions: { alwaysStrict: true } },
        write: false,
        logLevel: "silent",
    });
    const code = result.outputFiles[0].text;
    return { code, sha256: createHash("sha256").update(code).digest("hex") };
}
