// `ses-mail feedback manifests`: the ServiceAccount and Deployment of the external feedback worker,
// generated from the outputs of the real stack program (prod's config with an external consumer),
// parsed back as YAML and checked against those outputs and against what the container reads
// (pollerOptionsFromEnv, settingsFromEnv).
// IRSA ("IAM roles for service accounts", EKS user guide): the ServiceAccount carries the role in the
// `eks.amazonaws.com/role-arn` annotation; the role's trust names system:serviceaccount:<ns>:<name>.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import fc from "fast-check";
import { parseAllDocuments } from "yaml";
import { feedbackManifests, gracePeriodSeconds, WORKER_NAME } from "../../cli/feedback";
import { main } from "../../cli/main";
import { pollerOptionsFromEnv, resolvePollerSettings } from "../../functions/feedback-worker/poller";
import { settingsFromEnv } from "../../functions/feedback-worker/settings";
import { promiseOf } from "../support/mocks";
import { cachedStack, loadStackConfig } from "../support/stack";

const OIDC = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ses-mail-feedback-worker:0.1.0";

function parse(text: string): any[] {
    const docs = parseAllDocuments(text);
    docs.forEach((doc) => expect(doc.errors, "YAML errors").to.deep.equal([]));
    return docs.map((doc) => doc.toJS());
}

const envOf = (deployment: any): Record<string, string> =>
    Object.fromEntries(deployment.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]));

describe("ses-mail feedback manifests", function () {
    this.timeout(120_000);
    let outputs: Record<string, any>;
    let dir: string;
    let file: string;

    async function cli(...argv: string[]) {
        const out: string[] = [];
        const err: string[] = [];
        const code = await main(["feedback", "manifests", ...argv], { stdout: (t) => out.push(t), stderr: (t) => err.push(t), cwd: dir });
        return { code, out: out.join(""), err: err.join("") };
    }

    before(async () => {
        const config = loadStackConfig("prod");
        const feedback = { ...JSON.parse(config["ses-mail:feedback"]), builtInWorker: false, externalConsumer: { oidcProviderArn: OIDC, namespace: "mail", serviceAccount: "feedback-worker" } };
        const run = await cachedStack("prod", { ...config, "ses-mail:feedback": JSON.stringify(feedback) });
        outputs = await promiseOf(pulumi.output(run.outputs) as unknown as pulumi.Output<Record<string, any>>);
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-mail-feedback-"));
        file = path.join(dir, "outputs.json");
        fs.writeFileSync(file, JSON.stringify(outputs));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("prints a ServiceAccount annotated with the IRSA role and a Deployment with the worker's environment", async () => {
        const { code, out, err } = await cli("--outputs", file, "--image", IMAGE);
        expect(err).to.equal("");
        expect(code).to.equal(0);
        const [sa, deployment] = parse(out);
        expect(sa).to.deep.include({ apiVersion: "v1", kind: "ServiceAccount" });
        expect(sa.metadata).to.deep.include({ name: "feedback-worker", namespace: "mail" });
        expect(sa.metadata.annotations).to.deep.equal({ "eks.amazonaws.com/role-arn": outputs.externalConsumerRoleArn });
        expect(outputs.externalConsumer.roleArn).to.equal(outputs.externalConsumerRoleArn);

        // Plain YAML an operator can read and edit: no anchors or aliases.
        expect(out).not.to.match(/[&*]a\d/);
        expect(deployment).to.deep.include({ apiVersion: "apps/v1", kind: "Deployment" });
        expect(deployment.metadata).to.deep.include({ name: WORKER_NAME, namespace: "mail" });
        const pod = deployment.spec.template.spec;
        expect(pod.serviceAccountName).to.equal("feedback-worker");
        expect(deployment.spec.selector.matchLabels).to.deep.equal({ "app.kubernetes.io/name": WORKER_NAME });
        expect(deployment.spec.template.metadata.labels).to.deep.include(deployment.spec.selector.matchLabels);
        expect(pod.securityContext).to.deep.include({ runAsNonRoot: true, runAsUser: 1000 });
        const [container] = pod.containers;
        expect(container.image).to.equal(IMAGE);
        expect(container.securityContext).to.deep.equal({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
        expect(container.resources.requests).to.deep.equal({ cpu: "100m", memory: "128Mi" });

        const env = envOf(deployment);
        expect(env).to.deep.include({
            FEEDBACK_QUEUE_URL: outputs.feedbackQueueUrl,
            EVENTS_TABLE_NAME: outputs.feedbackEventsTableName,
            SENDERS_TABLE_NAME: outputs.senderReputationTableName,
            SUPPRESSION_TABLE_NAME: outputs.suppressionTableName,
            NOTIFICATIONS_TOPIC_ARN: outputs.senderNotificationsTopicArn,
            SENDER_TAG: "account",
            COMPLAINT_FLAG_THRESHOLD: "3",
            POWERTOOLS_SERVICE_NAME: "feedback-worker",
            POWERTOOLS_METRICS_NAMESPACE: "SESMail/prod",
            AWS_REGION: "us-east-1",
        });
        // What the container reads from it: the same tables and thresholds as the Lambda.
        const settings = settingsFromEnv(env);
        expect(settings).to.deep.include({ eventsTableName: outputs.feedbackEventsTableName, senderTag: "account", complaintRestrictThreshold: 5 });
        const options = pollerOptionsFromEnv(env);
        expect(options.queueUrl).to.equal(outputs.feedbackQueueUrl);
        // SIGTERM → SIGKILL: longer than the longest drain (the record timeout) plus the final deletes.
        const poller = resolvePollerSettings(options);
        expect(pod.terminationGracePeriodSeconds).to.equal(gracePeriodSeconds(poller.recordTimeoutSeconds));
        expect(pod.terminationGracePeriodSeconds).to.be.greaterThan(poller.recordTimeoutSeconds + 10);
    });

    it("refuses outputs of a stack without an external consumer, and a missing target", async () => {
        const plain = path.join(dir, "plain.json");
        fs.writeFileSync(plain, JSON.stringify({ ...outputs, externalConsumer: undefined }));
        const without = await cli("--outputs", plain, "--image", IMAGE);
        expect(without.code).to.equal(2);
        expect(without.err).to.match(/no externalConsumer: set ses-mail:feedback.externalConsumer/);
        const neither = await cli("--image", IMAGE);
        expect(neither.code).to.equal(2);
        expect(neither.err).to.match(/Give one of --stack <name> and --outputs <file>/);
        const noImage = await cli("--outputs", file);
        expect(noImage.code).to.equal(2);
    });

    it("round-trips any names, image and timeouts through YAML", () => {
        const name = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/);
        fc.assert(fc.property(name, name, fc.string({ minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 3600 }), fc.integer({ min: 1, max: 20 }), (namespace, serviceAccount, image, recordTimeout, replicas) => {
            const roleArn = "arn:aws:iam::123456789012:role/ses-mail-feedback-consumer-prod";
            const environment = { FEEDBACK_QUEUE_URL: "https://sqs.us-east-1.amazonaws.com/123456789012/q", SENDER_TAG: "yes", NUMBERISH: "0123" };
            const [sa, deployment] = parse(feedbackManifests({ externalConsumer: { roleArn, namespace, serviceAccount, environment } }, { image, replicas, recordTimeoutSeconds: recordTimeout }));
            expect(sa.metadata.annotations["eks.amazonaws.com/role-arn"]).to.equal(roleArn);
            expect(sa.metadata.namespace).to.equal(namespace);
            expect(deployment.spec.template.spec.containers[0].image).to.equal(image);
            expect(deployment.spec.replicas).to.equal(replicas);
            // Every env value stays a string (YAML would otherwise read "yes" or "0123" as other types).
            expect(envOf(deployment)).to.deep.include({ ...environment, FEEDBACK_RECORD_TIMEOUT_SECONDS: String(recordTimeout) });
        }));
    });
});
