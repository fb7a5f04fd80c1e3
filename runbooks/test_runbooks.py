import json
import unittest

import dlq_redrive
import queue_health

DLQ = "https://sqs.us-east-1.amazonaws.com/1/ses-mail-gmail-forwarder-dlq-test"
SOURCE = "https://sqs.us-east-1.amazonaws.com/1/ses-mail-gmail-forwarder-test"
PAIRS = {DLQ: SOURCE}


class StubSqs:
    """An SQS stand-in: a DLQ holding messages, a source queue, optional send failures."""

    def __init__(self, count, fail_bodies=(), redrive_target="arn:aws:sqs:us-east-1:1:ses-mail-gmail-forwarder-dlq-test"):
        self.dlq = [{"MessageId": "m%d" % i, "Body": "body-%d" % i, "ReceiptHandle": "rh-%d" % i,
                     "MessageAttributes": {"reason": {"DataType": "String", "StringValue": "r%d" % i, "StringListValues": []}}} for i in range(count)]
        self.sent, self.deleted, self.fail_bodies, self.redrive_target = [], [], set(fail_bodies), redrive_target
        self.hidden = set()

    def get_queue_attributes(self, QueueUrl, AttributeNames):
        if QueueUrl == DLQ:
            return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:1:ses-mail-gmail-forwarder-dlq-test", "ApproximateNumberOfMessages": str(len(self.dlq)), "ApproximateNumberOfMessagesNotVisible": "0"}}
        return {"Attributes": {"RedrivePolicy": json.dumps({"deadLetterTargetArn": self.redrive_target, "maxReceiveCount": 5}), "QueueArn": "arn:src",
                               "ApproximateNumberOfMessages": "3", "ApproximateNumberOfMessagesNotVisible": "1"}}

    def receive_message(self, QueueUrl, MaxNumberOfMessages, **_):
        visible = [m for m in self.dlq if m["ReceiptHandle"] not in self.hidden][:MaxNumberOfMessages]
        self.hidden.update(m["ReceiptHandle"] for m in visible)
        return {"Messages": visible} if visible else {}

    def send_message(self, QueueUrl, MessageBody, MessageAttributes):
        if MessageBody in self.fail_bodies:
            raise RuntimeError("send failed")
        self.sent.append((QueueUrl, MessageBody, MessageAttributes))

    def delete_message(self, QueueUrl, ReceiptHandle):
        self.deleted.append(ReceiptHandle)
        self.dlq = [m for m in self.dlq if m["ReceiptHandle"] != ReceiptHandle]


def redrive(sqs, **extra):
    events = {"DLQUrl": DLQ, "SourceQueueUrl": SOURCE, "AllowedPairs": json.dumps(PAIRS), "MaxMessages": 0, "VelocityPerSecond": 1000, "_client": sqs, "_sleep": lambda s: None}
    events.update(extra)
    return dlq_redrive.handler(events, None)


class DlqRedriveTest(unittest.TestCase):
    def test_moves_every_message_keeping_attributes(self):
        sqs = StubSqs(23)
        self.assertEqual(redrive(sqs), {"RedrivenCount": 23, "FailedCount": 0})
        self.assertEqual(len(sqs.dlq), 0)
        self.assertEqual(sqs.sent[0], (SOURCE, "body-0", {"reason": {"DataType": "String", "StringValue": "r0"}}))

    def test_never_deletes_a_message_it_failed_to_send(self):
        sqs = StubSqs(5, fail_bodies={"body-2"})
        self.assertEqual(redrive(sqs), {"RedrivenCount": 4, "FailedCount": 1})
        self.assertEqual([m["Body"] for m in sqs.dlq], ["body-2"])
        self.assertNotIn("rh-2", sqs.deleted)

    def test_max_messages_limits_the_run(self):
        sqs = StubSqs(15)
        self.assertEqual(redrive(sqs, MaxMessages=12), {"RedrivenCount": 12, "FailedCount": 0})
        self.assertEqual(len(sqs.dlq), 3)

    def test_paces_sends_to_the_velocity(self):
        sqs, pauses = StubSqs(3), []
        redrive(sqs, VelocityPerSecond=2, _sleep=pauses.append)
        self.assertEqual(len(pauses), 3)
        self.assertTrue(all(0.4 < p <= 0.5 for p in pauses))

    def test_rejects_pairs_that_do_not_belong_together(self):
        with self.assertRaisesRegex(ValueError, "is not the DLQ of"):
            redrive(StubSqs(1), SourceQueueUrl="https://sqs.us-east-1.amazonaws.com/1/ses-mail-bouncer-test")
        with self.assertRaisesRegex(ValueError, "does not name"):
            redrive(StubSqs(1, redrive_target="arn:aws:sqs:us-east-1:1:other-dlq"))


class StubCloudWatch:
    def __init__(self, age):
        self.age = age

    def get_metric_statistics(self, **_):
        return {"Datapoints": [{"Maximum": self.age}]}


class QueueHealthTest(unittest.TestCase):
    def run_check(self, sqs, age):
        return queue_health.handler({"Queues": json.dumps({"forwarder": {"queue": SOURCE, "dlq": DLQ}}), "_client": sqs, "_cloudwatch": StubCloudWatch(age)}, None)

    def test_healthy_when_dlqs_are_empty_and_queues_young(self):
        result = self.run_check(StubSqs(0), 12)
        self.assertEqual(result["HealthStatus"], "HEALTHY")
        report = json.loads(result["HealthReport"])
        self.assertEqual(report["queues"]["forwarder"], {"name": "ses-mail-gmail-forwarder-test", "visible": 3, "inFlight": 1, "oldestAgeSeconds": 12})
        self.assertEqual(report["deadLetterQueues"]["forwarder"], {"name": "ses-mail-gmail-forwarder-dlq-test", "messages": 0})
        self.assertEqual(report["issues"], [])

    def test_unhealthy_with_dlq_messages_or_old_messages(self):
        result = self.run_check(StubSqs(2), 900)
        self.assertEqual(result["HealthStatus"], "UNHEALTHY")
        self.assertEqual(json.loads(result["HealthReport"])["issues"], [
            "forwarder queue's oldest message is 900 s old (limit 300 s)",
            "forwarder DLQ holds 2 message(s): investigate, then run SESMail-DLQ-Redrive",
        ])

    def test_checks_a_dlq_without_source_queue_and_never_offers_the_redrive(self):
        # Stream and EventBridge DLQs (suppression mirror, SMTP manager, routing events) have no source queue.
        result = queue_health.handler({"Queues": json.dumps({"suppression-mirror": {"dlq": DLQ}}), "_client": StubSqs(4), "_cloudwatch": StubCloudWatch(0)}, None)
        self.assertEqual(result["HealthStatus"], "UNHEALTHY")
        report = json.loads(result["HealthReport"])
        self.assertEqual(report["queues"], {})
        self.assertEqual(report["deadLetterQueues"]["suppression-mirror"], {"name": "ses-mail-gmail-forwarder-dlq-test", "messages": 4})
        self.assertEqual(report["issues"], ["suppression-mirror DLQ holds 4 message(s): investigate with ses-mail dlq peek suppression-mirror (no source queue: not for SESMail-DLQ-Redrive)"])


if __name__ == "__main__":
    unittest.main()
