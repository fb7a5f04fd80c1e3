// `ses-mail feedback manifests`: the Kubernetes ServiceAccount and Deployment of the external (EKS)
// feedback worker, filled from the stack's outputs (`externalConsumer`: the IRSA role, its namespace
// and ServiceAccount, and the worker's environment), for `kubectl apply -f -`.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Command, InvalidArgumentError } from "commander";
import { stringify } from "yaml";
import { UsageError, usageExit } from "./errors";
import type { CliDeps } from "./main";

export const WORKER_NAME = "ses-mail-feedback-worker";

export interface ManifestOptions {
    /** Container image built from deploy/feedback-worker/Dockerfile (e.g. an ECR repository and tag). */
    image: string;
    /** @default 2 */
    replicas?: number;
    /** A record running longer counts as failed (FEEDBACK_RECORD_TIMEOUT_SECONDS). @default 60 */
    recordTimeoutSeconds?: number;
    /** FEEDBACK_VISIBILITY_TIMEOUT_SECONDS. @default 60 */
    visibilityTimeoutSeconds?: number;
}

interface ExternalConsumerOutput {
    roleArn: string;
    namespace: string;
    serviceAccount: string;
    environment: Record<string, string>;
}

/**
 * Seconds Kubernetes waits between SIGTERM and SIGKILL: the longest a stop takes (the last record's
 * timeout) plus room for the final DeleteMessageBatch and PutMetricData with SDK retries.
 */
export function gracePeriodSeconds(recordTimeoutSeconds: number): number {
    return recordTimeoutSeconds + 30;
}

function consumerOf(outputs: Record<string, unknown>): ExternalConsumerOutput {
    const consumer = outputs.externalConsumer as Partial<ExternalConsumerOutput> | undefined;
    if (!consumer || typeof consumer !== "object") {
        throw new UsageError("The outputs have no externalConsumer: set ses-mail:feedback.externalConsumer (oidcProviderArn, namespace, serviceAccount) and builtInWorker: false, run pulumi up, then read the outputs again.");
    }
    const missing = (["roleArn", "namespace", "serviceAccount"] as const).filter((key) => typeof consumer[key] !== "string" || consumer[key] === "");
    if (missing.length > 0 || typeof consumer.environment !== "object" || consumer.environment === null) {
        throw new UsageError(`The externalConsumer output lacks ${[...missing, ...(typeof consumer.environment === "object" && consumer.environment ? [] : ["environment"])].join(", ")}: is the file pulumi stack output --json of a ses-mail stack at this version?`);
    }
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/.test(consumer.roleArn!)) throw new UsageError(`externalConsumer.roleArn is not an IAM role ARN: ${consumer.roleArn}`);
    if (!consumer.environment.FEEDBACK_QUEUE_URL) throw new UsageError("externalConsumer.environment has no FEEDBACK_QUEUE_URL.");
    return consumer as ExternalConsumerOutput;
}

/** The ServiceAccount and Deployment as one multi-document YAML text. */
export function feedbackManifests(outputs: Record<string, unknown>, options: ManifestOptions): string {
    const consumer = consumerOf(outputs);
    const recordTimeout = options.recordTimeoutSeconds ?? 60;
    const labels = { "app.kubernetes.io/name": WORKER_NAME, "app.kubernetes.io/part-of": "ses-mail" };
    const env = {
        ...consumer.environment,
        FEEDBACK_RECORD_TIMEOUT_SECONDS: String(recordTimeout),
        FEEDBACK_VISIBILITY_TIMEOUT_SECONDS: String(options.visibilityTimeoutSeconds ?? 60),
    };
    const serviceAccount = {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: {
            name: consumer.serviceAccount,
            namespace: consumer.namespace,
            labels,
            // IRSA: the pod identity webhook gives pods of this ServiceAccount web identity credentials for the role.
            annotations: { "eks.amazonaws.com/role-arn": consumer.roleArn },
        },
    };
    const deployment = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: WORKER_NAME, namespace: consumer.namespace, labels },
        spec: {
            replicas: options.replicas ?? 2,
            selector: { matchLabels: { "app.kubernetes.io/name": WORKER_NAME } },
            // A new pod polls before an old one drains: no gap in consumption during a rollout.
            strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
            template: {
                metadata: { labels },
                spec: {
                    serviceAccountName: consumer.serviceAccount,
                    terminationGracePeriodSeconds: gracePeriodSeconds(recordTimeout),
                    securityContext: {
                        runAsNonRoot: true,
                        runAsUser: 1000,
                        runAsGroup: 1000,
                        // The projected web identity token must be readable by the non-root user.
                        fsGroup: 1000,
                        seccompProfile: { type: "RuntimeDefault" },
                    },
                    containers: [{
                        name: "worker",
                        image: options.image,
                        env: Object.entries(env).sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => ({ name, value })),
                        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
                        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                    }],
                },
            },
        },
    };
    return [serviceAccount, deployment].map((doc) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
}

/** `pulumi stack output --json` of a stack (the Pulumi CLI, logged in to the stack's backend). */
async function stackOutputs(stack: string, cwd: string): Promise<Record<string, unknown>> {
    try {
        const { stdout } = await promisify(execFile)("pulumi", ["stack", "output", "--json", "--stack", stack], { cwd, maxBuffer: 16 * 1024 * 1024 });
        return JSON.parse(stdout) as Record<string, unknown>;
    } catch (error) {
        throw new UsageError(`Cannot read the outputs of stack ${stack} with the Pulumi CLI (${(error as Error).message.split("\n")[0]}): run it where the stack's backend is logged in, or give --outputs <file> (pulumi stack output --json > file).`);
    }
}

const positive = (what: string) => (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what}: a positive whole number.`);
    return n;
};

interface ManifestsCommandOptions { stack?: string; outputs?: string; projectDir?: string; image: string; replicas: number; recordTimeout: number; visibilityTimeout: number }

export function feedbackCommands(root: Command, deps: CliDeps, _result: { exitCode: number }): void {
    const feedback = root.command("feedback").description("The feedback worker outside Lambda (exit codes: 0 done, 2 usage error)").exitOverride(usageExit);
    feedback.command("manifests")
        .description("Print the Kubernetes ServiceAccount (IRSA role annotation) and Deployment of the external feedback worker, from the stack's outputs")
        .option("--stack <name>", "Pulumi stack whose outputs to read (runs pulumi stack output --json)")
        .option("--outputs <file>", "the stack's outputs (pulumi stack output --json > file): externalConsumer")
        .option("--project-dir <dir>", "directory of Pulumi.yaml for --stack (default: the current one)")
        .requiredOption("--image <ref>", "the worker image (built from deploy/feedback-worker/Dockerfile and pushed, e.g. to ECR)")
        .option("--replicas <n>", "pods polling the queue", positive("--replicas"), 2)
        .option("--record-timeout <seconds>", "a record running longer counts as failed and is retried; the stop grace period is this + 30", positive("--record-timeout"), 60)
        .option("--visibility-timeout <seconds>", "visibility timeout renewed while a record runs (how soon a dead pod's messages come back)", positive("--visibility-timeout"), 60)
        .addHelpText("after", "\nExample:\n  $ ses-mail feedback manifests --stack prod --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/ses-mail-feedback-worker:0.1.0 | kubectl apply -f -\n")
        .exitOverride(usageExit)
        .action(async (options: ManifestsCommandOptions) => {
            if ((options.stack === undefined) === (options.outputs === undefined)) throw new UsageError("Give one of --stack <name> and --outputs <file>.");
            if (options.visibilityTimeout < 2 || options.visibilityTimeout > 43_200) throw new UsageError("--visibility-timeout: from 2 to 43200 seconds (SQS's 12 hours).");
            const outputs = options.outputs ? (await import("./target")).readOutputs(options.outputs, deps.cwd).outputs : await stackOutputs(options.stack!, options.projectDir ?? deps.cwd);
            deps.stdout(feedbackManifests(outputs, { image: options.image, replicas: options.replicas, recordTimeoutSeconds: options.recordTimeout, visibilityTimeoutSeconds: options.visibilityTimeout }));
        });
}
