"""SSM Automation step: move messages from a DLQ back to the queue it belongs to.

Only a (DLQ, source) pair the stack declared is accepted, and the source queue's redrive policy
must name that DLQ. A message is deleted from the DLQ only after it was sent to the source queue;
message attributes are kept.
"""
import json
import time

MAX_BATCH = 10


def _client(events):
    client = events.get("_client")
    if client is None:  # pragma: no cover - the SSM runtime provides boto3
        import boto3
        client = boto3.client("sqs")
    return client


def _attributes(message):
    """SendMessage takes MessageAttributes without the Receive-only fields."""
    kept = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        kept[name] = {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}
    return kept


def handler(events, context):
    sqs = _client(events)
    dlq_url = events["DLQUrl"]
    source_url = events["SourceQueueUrl"]
    pairs = events.get("AllowedPairs") or {}
    if isinstance(pairs, str):
        pairs = json.loads(pairs)
    if pairs.get(dlq_url) != source_url:
        raise ValueError("%s is not the DLQ of %s; allowed pairs: %s" % (dlq_url, source_url, json.dumps(pairs)))
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])["Attributes"].get("RedrivePolicy")
    if not redrive or json.loads(redrive).get("deadLetterTargetArn") != dlq_arn:
        raise ValueError("The redrive policy of %s does not name %s" % (source_url, dlq_arn))

    limit = int(events.get("MaxMessages") or 0)
    velocity = max(1, int(events.get("VelocityPerSecond") or 10))
    sleep = events.get("_sleep", time.sleep)
    redriven = failed = 0
    while limit == 0 or redriven + failed < limit:
        wanted = MAX_BATCH if limit == 0 else min(MAX_BATCH, limit - redriven - failed)
        received = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=wanted, WaitTimeSeconds=1,
                                       MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", [])
        if not received:
            break
        for message in received:
            started = time.monotonic()
            try:
                sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"], MessageAttributes=_attributes(message))
            except Exception:  # noqa: BLE001 - counted and left in the DLQ
                failed += 1
                continue
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            redriven += 1
            pause = 1.0 / velocity - (time.monotonic() - started)
            if pause > 0:
                sleep(pause)
    return {"RedrivenCount": redriven, "FailedCount": failed}
