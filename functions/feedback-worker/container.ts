// Entry point of the feedback worker's container image (deploy/feedback-worker/Dockerfile): the
// settings come from the environment the manifests set (the Lambda's variables plus FEEDBACK_QUEUE_URL);
// SIGTERM (Kubernetes' stop) drains in-flight records, then the process exits 0.
import { pollerOptionsFromEnv, runFeedbackWorker } from "./poller";

try {
    const worker = runFeedbackWorker(pollerOptionsFromEnv(process.env));
    worker.done.then(() => process.exit(0), (error: unknown) => {
        console.error(JSON.stringify({ level: "ERROR", message: "Feedback worker failed", error: String(error) }));
        process.exit(1);
    });
} catch (error) {
    // A wrong environment fails the pod at start, with the variable's name (CrashLoopBackOff shows it).
    console.error(JSON.stringify({ level: "ERROR", message: "Feedback worker cannot start", error: (error as Error).message }));
    process.exit(1);
}
