import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { createServer, Server } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { expect } from "chai";
import { auditVerdict } from "../../scripts/audit-report";

const ROOT = path.resolve(__dirname, "..", "..");

/** A report as npm 7+ writes it (`auditReportVersion` 2): an advisory, and a package affected through it. */
const REPORT = {
    auditReportVersion: 2,
    vulnerabilities: {
        minimist: {
            name: "minimist", severity: "critical", isDirect: false,
            via: [{ source: 1097678, name: "minimist", dependency: "minimist", title: "Prototype Pollution in minimist", url: "https://github.com/advisories/GHSA-xvch-5gv4-984h", severity: "critical", cwe: ["CWE-1321"], cvss: { score: 9.8, vectorString: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }, range: "<0.2.4" }],
            effects: ["mkdirp"], range: "<=0.2.3", nodes: ["node_modules/minimist"], fixAvailable: true,
        },
        mkdirp: {
            name: "mkdirp", severity: "critical", isDirect: true, via: ["minimist"], effects: [], range: "0.4.1 - 0.5.1", nodes: ["node_modules/mkdirp"],
            fixAvailable: { name: "mkdirp", version: "0.5.6", isSemVerMajor: false },
        },
    },
    metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 2, total: 2 }, dependencies: { prod: 3, dev: 0, optional: 0, peer: 0, peerOptional: 0, total: 2 } },
};
const withSeverity = (severity: string) => JSON.stringify({
    ...REPORT,
    vulnerabilities: { minimist: { ...REPORT.vulnerabilities.minimist, severity } },
    metadata: { ...REPORT.metadata, vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, [severity]: 1, total: 1 } },
});

describe("npm audit in CI", () => {
    describe("verdict on npm's JSON", () => {
        it("fails on critical and high advisories, naming each package, advisory and fix", () => {
            const verdict = auditVerdict(JSON.stringify(REPORT));
            expect(verdict.exitCode).to.equal(1);
            expect(verdict.lines).to.deep.equal([
                "::error::npm audit --omit=dev: 2 vulnerable packages (0 info, 0 low, 0 moderate, 0 high, 2 critical); high and critical fail CI",
                "  critical minimist <=0.2.3: Prototype Pollution in minimist https://github.com/advisories/GHSA-xvch-5gv4-984h (fix available (npm audit fix))",
                "  critical mkdirp 0.4.1 - 0.5.1: through minimist (fix available (npm audit fix))",
            ]);
            expect(auditVerdict(withSeverity("high")).exitCode).to.equal(1);
        });

        it("lists moderate and low advisories without failing", () => {
            for (const severity of ["moderate", "low", "info"]) {
                const verdict = auditVerdict(withSeverity(severity));
                expect(verdict.exitCode, severity).to.equal(0);
                expect(verdict.lines[1]).to.match(new RegExp(`^  ${severity} minimist`));
            }
        });

        it("passes a clean report", () => {
            expect(auditVerdict(JSON.stringify({ auditReportVersion: 2, vulnerabilities: {}, metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0 } } })))
                .to.deep.equal({ exitCode: 0, lines: ["npm audit --omit=dev: 0 vulnerable packages (0 info, 0 low, 0 moderate, 0 high, 0 critical)"] });
        });

        it("tolerates an endpoint npm could not reach (connection refused, DNS, an HTTP error), saying so in one line", () => {
            // npm 11's output for these (`npm audit --json`, registry unreachable or answering 405).
            for (const message of [
                "request to http://127.0.0.1:9/-/npm/v1/security/advisories/bulk failed, reason: connect ECONNREFUSED 127.0.0.1:9",
                "request to http://registry.invalid/-/npm/v1/security/advisories/bulk failed, reason: getaddrinfo ENOTFOUND registry.invalid",
                "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk",
            ]) {
                const verdict = auditVerdict(JSON.stringify({ message, error: { summary: "", detail: "" } }));
                expect(verdict).to.deep.equal({ exitCode: 0, lines: [`::warning::npm audit: the advisory endpoint is unreachable or gave no report (${message}); dependencies were not checked, CI continues.`] });
            }
        });

        it("fails when npm could not audit at all (no lockfile) or printed no report", () => {
            const noLock = JSON.stringify({ error: { code: "ENOLOCK", summary: "This command requires an existing lockfile.", detail: "Try creating one first with: npm i --package-lock-only" } });
            expect(auditVerdict(noLock)).to.deep.equal({ exitCode: 1, lines: ["::error::npm audit failed: ENOLOCK This command requires an existing lockfile."] });
            expect(auditVerdict("").exitCode).to.equal(1);
            expect(auditVerdict("npm ERR! something").lines[0]).to.equal("::error::npm audit: no JSON report (npm ERR! something)");
        });
    });

    describe("scripts/audit.ts against real npm (registry on loopback)", function () {
        this.timeout(120_000);

        /** A registry whose advisory endpoint answers `bulk` (or `status` with no body); packuments are not found. */
        async function registry(answer: { status: number; bulk?: object }): Promise<{ url: string; server: Server }> {
            const server = createServer((request, response) => {
                request.resume();
                request.on("end", () => {
                    if (request.method === "POST" && request.url === "/-/npm/v1/security/advisories/bulk") {
                        response.writeHead(answer.status, { "content-type": "application/json" }).end(answer.bulk ? JSON.stringify(answer.bulk) : "");
                    } else {
                        response.writeHead(404).end("{}");
                    }
                });
            });
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
        }

        let cache: string;
        before(() => (cache = fs.mkdtempSync(path.join(os.tmpdir(), "npm-audit-cache-"))));
        after(() => fs.rmSync(cache, { recursive: true, force: true }));

        function audit(registryUrl: string): Promise<{ code: number; stdout: string }> {
            return new Promise((resolve) => {
                execFile(process.execPath, ["--import", "tsx", "--no-warnings=NodeVersionSupportWarning", "scripts/audit.ts"], {
                    // Its own npm cache: npm caches what it computed per advisory id.
                    cwd: ROOT, env: { ...process.env, npm_config_registry: registryUrl, npm_config_fetch_retries: "0", npm_config_cache: cache },
                }, (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout }));
            });
        }

        let advisoryId = 0;
        const advisory = (severity: string) => ({ zod: [{ id: ++advisoryId, url: "https://github.com/advisories/GHSA-test-test-test", title: "Test advisory", severity, vulnerable_versions: "<=99", cwe: [], cvss: { score: 7.5, vectorString: null } }] });

        it("a high advisory for a shipped dependency fails CI; a moderate one is listed", async () => {
            for (const [severity, expectedCode] of [["high", 1], ["moderate", 0]] as const) {
                const { url, server } = await registry({ status: 200, bulk: advisory(severity) });
                try {
                    const { code, stdout } = await audit(url);
                    expect(code, stdout).to.equal(expectedCode);
                    expect(stdout).to.include(`  ${severity} zod`).and.include("Test advisory https://github.com/advisories/GHSA-test-test-test");
                } finally {
                    server.close();
                }
            }
        });

        it("an endpoint that refuses the connection or answers 405 (a GET-only mirror) does not fail CI", async () => {
            const closed = await registry({ status: 200 });
            closed.server.close();
            const mirror = await registry({ status: 405 });
            try {
                for (const url of [closed.url, mirror.url]) {
                    const { code, stdout } = await audit(url);
                    expect(code, stdout).to.equal(0);
                    expect(stdout).to.match(/^::warning::npm audit: the advisory endpoint is unreachable or gave no report \(.+\); dependencies were not checked, CI continues\.\n$/);
                }
            } finally {
                mirror.server.close();
            }
        });
    });
});
