"""examples/consumer against the events the service really emits, on the offline stack.

The consumer's own template is created beside the service in the same offline AWS endpoint, so
its rule on the service's bus delivers to its queue; the queue's messages are then handed to its
handler as Lambda's SQS event source would, twice, to show each event is acted on once.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
import requests

from local.resources import Stack, create_stack
from local.stack import LocalStack
from local.template import ROOT, load_template
from tests.e2e.helpers import create_campaign

pytestmark = pytest.mark.e2e

CONSUMER_DIR = ROOT / "examples" / "consumer"
DEADLINE_SECONDS = 90
# Last digits 0, 4, 7: Completed, Busy, Unsent (the simulated carrier's lifecycles).
RECIPIENTS = ["+306900000040", "+306900000044", "+306900000047"]


@pytest.fixture(scope="module")
def consumer_stack(local_stack: LocalStack) -> Stack:
    session = boto3.Session(region_name=local_stack.settings.region)
    return create_stack(
        session,
        stack_name="voice-status-consumer",
        parameters={"EventBusName": local_stack.outputs["EventBusName"]},
        endpoint_url=local_stack.aws_url,
        template=load_template(CONSUMER_DIR / "template.yaml"),
    )


@pytest.fixture
def consumer(consumer_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", consumer_stack.outputs["IdempotencyTableName"])
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "voice-status-consumer")
    spec = importlib.util.spec_from_file_location("example_consumer", CONSUMER_DIR / "consumer" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # as Lambda imports it
    spec.loader.exec_module(module)
    yield module


def run_campaigns(stack: LocalStack) -> tuple[str, str]:
    """One campaign that finishes and one cancelled before its start: (finished id, failed id)."""
    api = stack.api_url
    finished = create_campaign(stack, RECIPIENTS)["campaignId"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    failed = create_campaign(stack, ["+306900000040"], scheduled_at=later)["campaignId"]
    assert requests.delete(f"{api}/campaigns/{failed}", timeout=10).status_code == 200
    return finished, failed


def receive(stack: LocalStack, queue_url: str, campaign_ids: set[str], count: int) -> list[dict[str, Any]]:
    """The consumer queue's messages about these campaigns, as SQS hands them to Lambda."""
    sqs = boto3.client("sqs", endpoint_url=stack.aws_url, region_name=stack.settings.region)
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(records) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if json.loads(message["Body"])["detail"]["campaignId"] in campaign_ids:
                records.append(sqs_record(message["MessageId"], message["Body"]))
    assert len(records) == count, f"expected {count} events, got {[r['body'] for r in records]}"
    return records


def sqs_record(message_id: str, body: str) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": "handle",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:consumer",
        "awsRegion": "us-east-1",
    }


def lambda_context() -> Any:
    return SimpleNamespace(
        function_name="consumer",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:consumer",
        memory_limit_in_mb=256,
        aws_request_id=str(uuid.uuid4()),
        get_remaining_time_in_millis=lambda: 10_000,
    )


def test_the_consumer_acts_once_per_event_and_fails_only_the_invalid_record(
    local_stack: LocalStack, consumer_stack: Stack, consumer: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    finished, failed = run_campaigns(local_stack)
    # Three message finals and the Finished campaign, plus the cancelled campaign's Failed event.
    records = receive(local_stack, consumer_stack.outputs["QueueUrl"], {finished, failed}, count=5)
    events = [json.loads(record["body"]) for record in records]
    assert {event["detail-type"] for event in events} == {
        "Voice Message Finalized", "Voice Campaign Finished", "Voice Campaign Failed",
    }  # fmt: skip

    acted: list[str] = []
    original_act = consumer.act
    monkeypatch.setattr(consumer, "act", lambda detail: acted.append(detail.event_id) or original_act(detail))
    invalid = json.loads(records[0]["body"])
    del invalid["detail"]["status"]
    duplicate = sqs_record("duplicate", records[0]["body"])  # at-least-once: the same event again
    batch = {"Records": [*records, duplicate, sqs_record("invalid", json.dumps(invalid))]}

    first = consumer.lambda_handler(batch, lambda_context())
    again = consumer.lambda_handler(batch, lambda_context())  # e.g. a replay from the archive

    assert first == again == {"batchItemFailures": [{"itemIdentifier": "invalid"}]}
    assert sorted(acted) == sorted(event["detail"]["eventId"] for event in events)
    assert f"{finished}:Finished" in acted and f"{failed}:Failed" in acted
