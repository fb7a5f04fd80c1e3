// The container's entry point (functions/feedback-worker/container.ts), bundled as the Dockerfile
// bundles it and run as a real process against a local stand-in for SQS's JSON protocol: it receives
// (long poll: MaxNumberOfMessages 10), deletes what it processed, and on SIGTERM (Kubernetes' stop)
// lets the pending long poll end (aborting it would leave messages SQS already handed out hidden, their
// receive counts spent) and exits 0. A wrong environment exits 1 with the variable's name.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { expect } from "chai";
import { buildSync } from "esbuild";

const ROOT = path.resolve(__dirname, "..", "..", "..");

function run(file: string, env: Record<string, string>, killAfterMs?: number): Promise<{ code: number | null; output: string; stoppedInMs?: number }> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [file], { env: { PATH: process.env.PATH ?? "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (d) => (output += d));
        child.stderr.on("data", (d) => (output += d));
        let killedAt: number | undefined;
        if (killAfterMs !== undefined) {
            setTimeout(() => {
                killedAt = Date.now();
                child.kill("SIGTERM");
            }, killAfterMs);
        }
        child.on("exit", (code) => resolve({ code, output, stoppedInMs: killedAt ? Date.now() - killedAt : undefined }));
    });
}

const messages = (output: string) => output.split("\n").flatMap((line) => {
    try {
        return [JSON.parse(line) as { message: string; level: string; error?: unknown }];
    } catch {
        return [];
    }
});

describe("feedback worker container entry point (bundled, real process)", function () {
    this.timeout(60_000);
    let dir: string;
    let file: string;

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-worker-"));
        file = path.join(dir, "worker.js");
        buildSync({ entryPoints: [path.join(ROOT, "functions/feedback-worker/container.ts")], absWorkingDir: ROOT, bundle: true, platform: "node", target: "node22", minify: true, outfile: file, logLevel: "silent" });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("fails at start with the missing variable's name", async () => {
        const { code, output } = await run(file, {});
        expect(code).to.equal(1);
        expect(messages(output).map((m) => m.message)).to.deep.equal(["Feedback worker cannot start"]);
        expect(output).to.match(/FEEDBACK_QUEUE_URL/);
    });

    it("receives, deletes what it processed, and on SIGTERM finishes its long poll (never aborted) and exits 0", async () => {
        const calls: { target: string; input: any }[] = [];
        const notification = JSON.stringify({ Type: "Notification", MessageId: "n1", TopicArn: "arn:aws:sns:us-east-1:123456789012:t", Message: JSON.stringify({ notificationType: "AmazonSnsSubscriptionSucceeded", message: "ok" }) });
        const server = http.createServer((req, res) => {
            let body = "";
            req.on("data", (chunk) => (body += chunk));
            req.on("end", () => {
                const target = String(req.headers["x-amz-target"]).replace("AmazonSQS.", "");
                const input = JSON.parse(body || "{}");
                calls.push({ target, input });
                const reply = (answer: unknown) => {
                    if (res.writableEnded) return;
                    res.setHeader("content-type", "application/x-amz-json-1.0");
                    res.end(JSON.stringify(answer));
                };
                if (target === "ReceiveMessage" && calls.filter((c) => c.target === "ReceiveMessage").length === 1) {
                    return reply({ Messages: [{ MessageId: "m1", ReceiptHandle: "rh-1", Body: notification, MD5OfBody: createHash("md5").update(notification).digest("hex"), Attributes: { ApproximateReceiveCount: "1" } }] });
                }
                // A long poll with nothing to deliver: held until its wait time ends (or the client leaves).
                if (target === "ReceiveMessage") return void setTimeout(() => reply({}), 1000 * input.WaitTimeSeconds).unref();
                if (target === "DeleteMessageBatch") return reply({ Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id })), Failed: [] });
                reply({});
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as AddressInfo).port;
        try {
            const result = await run(file, {
                AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local",
                // The SDK sends to the queue URL's host.
                FEEDBACK_QUEUE_URL: `http://127.0.0.1:${port}/123456789012/ses-mail-feedback-test`,
                EVENTS_TABLE_NAME: "ses-mail-feedback-events-test", SENDERS_TABLE_NAME: "ses-mail-sender-reputation-test", SUPPRESSION_TABLE_NAME: "ses-mail-suppression-test",
                NOTIFICATIONS_TOPIC_ARN: "arn:aws:sns:us-east-1:123456789012:ses-mail-sender-notifications-test",
                POWERTOOLS_METRICS_NAMESPACE: "SESMail/test", POWERTOOLS_SERVICE_NAME: "feedback-worker",
                // A 3 s long poll, so the one held when SIGTERM comes (at 2.5 s) ends soon after it.
                FEEDBACK_WAIT_TIME_SECONDS: "3",
            }, 2500);
            expect(result.code, result.output).to.equal(0);
            expect(result.stoppedInMs).to.be.below(4000);
            expect(calls.map((c) => c.target)).to.deep.equal(["ReceiveMessage", "DeleteMessageBatch", "ReceiveMessage"]);
            expect(calls[0].input).to.deep.include({ MaxNumberOfMessages: 10, WaitTimeSeconds: 3, VisibilityTimeout: 60 });
            expect(calls[1].input.Entries).to.deep.equal([{ Id: "0", ReceiptHandle: "rh-1" }]);
            const logged = messages(result.output).map((m) => m.message);
            expect(logged).to.include.members(["Ignored feedback message", "Stop signal received: finishing in-flight feedback records", "Feedback worker stopped"]);
            expect(messages(result.output).filter((m) => m.level === "ERROR")).to.deep.equal([]);
        } finally {
            server.closeAllConnections();
            server.close();
        }
    });
});
