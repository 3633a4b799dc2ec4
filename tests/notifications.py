"""What a consumer of the notifications queue sees: the events in it, their ids, their schemas."""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from tests.conftest import EVENTS_DIR, TestStack
from voice_status.views import CAMPAIGN_FAILED, CAMPAIGN_FINISHED, MESSAGE_FINALIZED

SCHEMA_FILES = {
    MESSAGE_FINALIZED: "voice-message-finalized.schema.json",
    CAMPAIGN_FINISHED: "voice-campaign-finished.schema.json",
    CAMPAIGN_FAILED: "voice-campaign-failed.schema.json",
}


def queued_events(stack: TestStack, output: str = "NotificationsQueueUrl") -> list[dict[str, Any]]:
    """Everything in the queue now (moto delivers during PutEvents, so nothing is in flight)."""
    sqs = stack.client("sqs")
    events: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=stack.outputs[output], MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        events += [json.loads(message["Body"]) for message in messages]
    return events


def event_ids(events: list[dict[str, Any]]) -> list[str]:
    return sorted(event["detail"]["eventId"] for event in events)


def assert_valid_detail(event: dict[str, Any]) -> None:
    """The whole event (envelope and detail) against its registered schema (JSON Schema draft 4)."""
    schema = json.loads((EVENTS_DIR / "schemas" / SCHEMA_FILES[event["detail-type"]]).read_text())
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    validator.validate(event)
