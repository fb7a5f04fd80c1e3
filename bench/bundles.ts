import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";
import { bundleFunction, packageRoot } from "../components/bundle";

/** Size of every function's deployed bundle (raw and gzipped, as Lambda stores the zip). */
export async function bundles(): Promise<Record<string, number>> {
    const root = packageRoot();
    const names = fs.readdirSync(path.join(root, "functions")).filter((name) => fs.existsSync(path.join(root, "functions", name, "handler.ts")));
    const results: Record<string, number> = {};
    for (const name of names) {
        const { code } = bundleFunction(name);
        results[`bundle_bytes.${name}`] = Buffer.byteLength(code);
        results[`bundle_gzip_bytes.${name}`] = gzipSync(code).length;
    }
    return results;
}
