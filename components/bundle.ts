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

/** A function's code as bundled by esbuild, and its hash. */
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

/**
 * Modules replaced by components/bundle-left-out.ts (which throws if loaded), each only required
 * behind a check that the runtime's Node (LAMBDA_RUNTIME) always passes. Keyed by the exact path
 * the dependency requires, so a changed path bundles the module again (and the size guard,
 * tests/components/bundle-size.test.ts, notices) rather than breaking.
 * - web-streams-polyfill (60 KB of the forwarder): node-fetch 3's fetch-blob (`streams.cjs`)
 *   requires it only `if (!globalThis.ReadableStream)`, and Node has had a global ReadableStream
 *   since 18 ("Web Streams API", https://nodejs.org/api/webstreams.html).
 */
export const LEFT_OUT: readonly string[] = ["web-streams-polyfill/dist/ponyfill.es2018.js"];
const LEFT_OUT_STUB = "./components/bundle-left-out.ts";

/** Package (or first path segment of the package's own code) → bytes of the minified output it accounts for. */
export type BundleComposition = Record<string, number>;

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
 * (benchmarks compare dependencies this way); production bundles use only LEFT_OUT's.
 */
export function buildBundle(root: string, entry: string, alias?: Record<string, string>): FunctionBundle {
    const code = esbuild.buildSync(buildOptions(root, entry, alias)).outputFiles[0].text;
    return { code, sha256: createHash("sha256").update(code).digest("hex") };
}

/**
 * What makes up a function's bundle (esbuild's metafile: bytes each input contributes to the
 * output), summed per npm package, or per `functions/<dir>` / `components` for this package's code.
 * Same options as bundleFunction; the metafile does not change the output.
 */
export function bundleComposition(name: string, alias?: Record<string, string>): BundleComposition {
    const root = packageRoot();
    const result = esbuild.buildSync({ ...buildOptions(root, path.join("functions", name, "handler.ts"), alias), metafile: true, outfile: "index.js" });
    const composition: BundleComposition = {};
    for (const output of Object.values(result.metafile.outputs)) {
        for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
            const key = compositionKey(input);
            composition[key] = (composition[key] ?? 0) + bytesInOutput;
        }
    }
    return composition;
}

function compositionKey(input: string): string {
    const modules = input.lastIndexOf("node_modules/");
    if (modules >= 0) {
        const parts = input.slice(modules + "node_modules/".length).split("/");
        return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
    }
    const parts = input.split("/");
    return parts[0] === "functions" ? `functions/${parts[1]}` : parts[0];
}

function buildOptions(root: string, entry: string, alias?: Record<string, string>): esbuild.BuildOptions & { write: false } {
    return {
        absWorkingDir: root,
        entryPoints: [entry],
        alias: { ...Object.fromEntries(LEFT_OUT.map((id) => [id, LEFT_OUT_STUB])), ...alias },
        bundle: true,
        platform: "node",
        format: "cjs",
        target: NODE_TARGET,
        minify: true,
        sourcemap: false,
        legalComments: "none",
        external: ["@aws-sdk/*"],
        // A deferred `import()` of an external module becomes a `require()`, so it resolves and loads
        // exactly as the top-level ones: the runtime's SDK is found through NODE_PATH, which Node's
        // own ESM resolution ignores (https://nodejs.org/api/esm.html#no-node_path; Lambda's runtime
        // adds it back for ESM since nodejs18.x, but one path is simpler to trust).
        supported: { "dynamic-import": false },
        // esbuild reads tsconfig.json in a checkout but not under node_modules; pinning the options
        // keeps an installed package's bundles identical to a checkout's (strict, as ESM source is).
        tsconfigRaw: { compilerOptions: { alwaysStrict: true } },
        write: false,
        logLevel: "silent",
    };
}
