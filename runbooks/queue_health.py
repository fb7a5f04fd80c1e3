"""SSM Automation step: depths, ages and DLQ counts of every queue of the stack, with a verdict."""
import json

ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "QueueArn"]


def _client(events):
    client = events.get("_client")
    if client is None:  # pragma: no cover - the SSM runtime provides boto3
        import boto3
        client = boto3.client("sqs")
    return client


def _oldest_age(events, queue_name):
    cloudwatch = events.get("_cloudwatch")
    if cloudwatch is None:  # pragma: no cover
        import boto3
        cloudwatch = boto3.client("cloudwatch")
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS", MetricName="ApproximateAgeOfOldestMessage", Dimensions=[{"Name": "QueueName", "Value": queue_name}],
        StartTime=now - datetime.timedelta(minutes=10), EndTime=now, Period=300, Statistics=["Maximum"]).get("Datapoints", [])
    return max((p["Maximum"] for p in points), default=0)


def handler(events, context):
    sqs = _client(events)
    queues = events["Queues"]
    if isinstance(queues, str):
        queues = json.loads(queues)
    max_age = int(events.get("MaxAgeSeconds") or 300)
    report = {"queues": {}, "deadLetterQueues": {}, "issues": []}
    for label, pair in sorted(queues.items()):
        for kind, url in (("queue", pair.get("queue")), ("dlq", pair.get("dlq"))):
            if not url:
                continue
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=ATTRIBUTES)["Attributes"]
            visible = int(attributes.get("ApproximateNumberOfMessages", 0))
            in_flight = int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
            name = url.rstrip("/").split("/")[-1]
            if kind == "dlq":
                report["deadLetterQueues"][label] = {"name": name, "messages": visible}
                if visible > 0 and pair.get("queue"):
                    report["issues"].append("%s DLQ holds %d message(s): investigate, then run SESMail-DLQ-Redrive" % (label, visible))
                elif visible > 0:
                    # Stream and EventBridge failures have no source queue to send them back to.
                    report["issues"].append("%s DLQ holds %d message(s): investigate with ses-mail dlq peek %s (no source queue: not for SESMail-DLQ-Redrive)" % (label, visible, label))
            else:
                age = _oldest_age(events, name)
                report["queues"][label] = {"name": name, "visible": visible, "inFlight": in_flight, "oldestAgeSeconds": age}
                if age > max_age:
                    report["issues"].append("%s queue's oldest message is %d s old (limit %d s)" % (label, age, max_age))
    status = "UNHEALTHY" if report["issues"] else "HEALTHY"
    return {"HealthReport": json.dumps(report, sort_keys=True), "HealthStatus": status}
