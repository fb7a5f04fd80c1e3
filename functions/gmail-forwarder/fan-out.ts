// A mail for several Gmail accounts becomes one message per account on the forwarder's own queue.
import type { SQSClient } from "@aws-sdk/client-sqs";

/** At most 10 entries per SendMessageBatch call ("SendMessageBatch", Amazon SQS API Reference). */
export const SEND_BATCH_LIMIT = 10;

/** Some copies were not accepted: the original is retried (copies already sent are imported once anyway). */
export class FanOutError extends Error {
    public override readonly name = "FanOutError";
}

/** Sends each copy with its account as the `account` message attribute; throws if any entry failed. */
export async function sendCopies(sqs: Pick<SQSClient, "send">, queueUrl: string, copies: { target: string; body: string }[]): Promise<void> {
    // Loaded here, not at the top: the forwarder's cold start does not load the SQS client (handler.ts).
    const { SendMessageBatchCommand } = await import("@aws-sdk/client-sqs");
    for (let start = 0; start < copies.length; start += SEND_BATCH_LIMIT) {
        const batch = copies.slice(start, start + SEND_BATCH_LIMIT);
        const { Failed = [] } = await sqs.send(new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((copy, index) => ({
                Id: `copy-${start + index}`,
                MessageBody: copy.body,
                MessageAttributes: { account: { DataType: "String", StringValue: copy.target } },
            })),
        }));
        if (Failed.length > 0) {
            throw new FanOutError(`SendMessageBatch refused ${Failed.length} of ${batch.length} copies: ${Failed.map((f) => `${f.Id} ${f.Code}${f.SenderFault ? " (sender fault)" : ""}: ${f.Message ?? ""}`).join("; ")}`);
        }
    }
}
