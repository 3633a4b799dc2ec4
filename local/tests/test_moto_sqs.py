"""SendMessage without counting the queue behaves exactly as moto's own: each scenario runs through both.

Same answers (or the same errors), then the same messages received with their attributes, and
the same queue attributes. Standard and FIFO queues, with and without content-based deduplication.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sqs.models import Queue, SQSBackend

from local import moto_sqs

STANDARD = {"QueueName": "standard"}
FIFO = {"QueueName": "plain.fifo", "Attributes": {"FifoQueue": "true"}}
FIFO_BY_CONTENT = {
    "QueueName": "by-content.fifo",
    "Attributes": {"FifoQueue": "true", "ContentBasedDeduplication": "true"},
}

SCENARIOS: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {
    "standard queue": (
        STANDARD,
        [
            {"MessageBody": "one"},
            {"MessageBody": "two", "DelaySeconds": 0, "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "final"}}},
            {"MessageBody": "later", "DelaySeconds": 30},
            {"MessageBody": "too late", "DelaySeconds": 901},
            {"MessageBody": "grouped", "MessageGroupId": "g"},
        ],
    ),
    "FIFO, content-based deduplication": (
        FIFO_BY_CONTENT,
        [
            {"MessageBody": "same", "MessageGroupId": "g"},
            {"MessageBody": "same", "MessageGroupId": "g"},
            {"MessageBody": "other", "MessageGroupId": "g"},
            {"MessageBody": "no group"},
        ],
    ),
    "FIFO, explicit deduplication ids": (
        FIFO,
        [
            {"MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
            {"MessageBody": "b", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
            {"MessageBody": "c", "MessageGroupId": "g", "MessageDeduplicationId": "2"},
            {"MessageBody": "no id", "MessageGroupId": "g"},
        ],
    ),
}  # fmt: skip

MESSAGE_SYSTEM_ATTRIBUTES = ("MessageDeduplicationId", "MessageGroupId", "ApproximateReceiveCount")
QUEUE_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ContentBasedDeduplication",
)


def _run(queue: dict[str, Any], sends: list[dict[str, Any]]) -> dict[str, Any]:
    sqs: Any = boto3.client("sqs", region_name="us-east-1")  # scenarios name attributes as data
    url = sqs.create_queue(**queue)["QueueUrl"]
    answers: list[Any] = []
    for send in sends:
        try:
            answers.append(sqs.send_message(QueueUrl=url, **send)["MD5OfMessageBody"])
        except ClientError as error:
            answers.append(error.response["Error"])
    received = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {
        "answers": answers,
        "received": [
            {
                "body": message["Body"],
                "attributes": {name: message["Attributes"].get(name) for name in MESSAGE_SYSTEM_ATTRIBUTES},
                "message attributes": message.get("MessageAttributes"),
            }
            for message in received
        ],
        "queue": {name: attributes.get(name) for name in QUEUE_ATTRIBUTES},
    }


def _observe_with(
    monkeypatch: pytest.MonkeyPatch, implementation: Callable[..., Any], name: str
) -> dict[str, Any]:
    with monkeypatch.context() as patch, mock_aws():
        patch.setattr(SQSBackend, "send_message", implementation)
        return _run(*SCENARIOS[name])


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_send_message_matches_moto(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _observe_with(monkeypatch, moto_sqs.MOTO_SEND_MESSAGE, name)
    assert _observe_with(monkeypatch, moto_sqs.send_message, name) == expected


def test_scenarios_cover_each_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the comparison above against scenarios where nothing is deduplicated or refused."""
    standard = _observe_with(monkeypatch, moto_sqs.send_message, "standard queue")
    assert [answer["Code"] for answer in standard["answers"] if isinstance(answer, dict)] == [
        "InvalidParameterValue"
    ]
    assert standard["queue"]["ApproximateNumberOfMessagesDelayed"] == "1"
    by_content = _observe_with(monkeypatch, moto_sqs.send_message, "FIFO, content-based deduplication")
    assert [message["body"] for message in by_content["received"]] == ["same", "other"]
    assert len(by_content["received"][0]["attributes"]["MessageDeduplicationId"]) == 64  # the body's SHA-256
    explicit = _observe_with(monkeypatch, moto_sqs.send_message, "FIFO, explicit deduplication ids")
    assert [message["body"] for message in explicit["received"]] == ["a", "c"]
    assert isinstance(explicit["answers"][-1], dict)


def test_sending_to_a_standard_queue_does_not_count_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The notifications queue is a standard queue; moto's FIFO checks still count (not changed)."""

    def counted(queue: Queue) -> int:
        raise AssertionError("the queue's messages were counted to send one")

    with monkeypatch.context() as patch, mock_aws():
        patch.setattr(SQSBackend, "send_message", moto_sqs.send_message)
        sqs: Any = boto3.client("sqs", region_name="us-east-1")  # scenarios name attributes as data
        url = sqs.create_queue(**STANDARD)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="first")
        patch.setattr(Queue, "approximate_number_of_messages", property(counted))
        sqs.send_message(QueueUrl=url, MessageBody="final")
