"""Table stream -> `Voice Message Finalized` on the bus: the publisher of the transactional outbox.

The event source mapping's filter lets through only a message's move into a final status, so
each message yields one event however many callbacks repeat its final status. PutEvents takes
at most 10 entries per call: every event of the batch is built and put first (re-sending only
the entries EventBridge rejected), then the batch processor marks exactly the records whose
event could not be put. Lambda retries those, then hands them to the on-failure queue.
Delivery is at least once; consumers de-duplicate on `detail.eventId`.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from voice_status.campaign.model import Message
from voice_status.campaign.store import message_from_stream_image
from voice_status.views import EVENT_SOURCE, MESSAGE_FINALIZED, message_finalized_detail

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

PUT_EVENTS_MAX_ENTRIES = 10  # EventBridge's limit per PutEvents call
PUT_ATTEMPTS = 3  # per entry, within one invocation; Lambda's own retries come on top
RETRY_BACKOFF_SECONDS = 0.1  # doubles after each attempt

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# A batch that fails entirely (EventBridge down) is reported record by record too: Lambda then
# retries from the first failed record instead of bisecting a batch that has nothing wrong in it.
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
events_client = boto3.client("events")


class EventNotPublished(Exception):
    """The record's event was rejected by every PutEvents attempt of this invocation."""


@dataclass(frozen=True)
class OutgoingEvent:
    sequence_number: str
    event_id: str
    entry: PutEventsRequestEntryTypeDef
    status: str  # the final status, for the per-status metric


def finalized_message(record: DynamoDBRecord) -> Message | None:
    """The message if this record is its move into a final status, else None.

    The mapping's filter already guarantees this; checking again keeps a record that bypassed
    it (a changed filter, a manual invoke) from publishing a duplicate or a non-message."""
    if record.event_name not in (DynamoDBRecordEventName.INSERT, DynamoDBRecordEventName.MODIFY):
        return None
    stream = record.dynamodb
    if stream is None:
        return None
    new = message_from_stream_image(stream.get("NewImage") or {})
    old = message_from_stream_image(stream.get("OldImage") or {})
    if new is None or not new.final or new.message_id is None or (old is not None and old.final):
        return None
    return new


def outgoing_event(record: DynamoDBRecord, message: Message) -> OutgoingEvent:
    detail = message_finalized_detail(message)
    entry: PutEventsRequestEntryTypeDef = {
        "Source": EVENT_SOURCE,
        "DetailType": MESSAGE_FINALIZED,
        "Detail": json.dumps(detail),
        "EventBusName": os.environ["EVENT_BUS_NAME"],
    }
    assert record.dynamodb and record.dynamodb.sequence_number  # every stream record has one
    return OutgoingEvent(record.dynamodb.sequence_number, detail["eventId"], entry, detail["status"])


@tracer.capture_method
def publish(events: list[OutgoingEvent]) -> list[OutgoingEvent]:
    """Put the events in calls of at most 10 entries, re-sending only rejected entries a few
    times; return those that could not be put."""
    unpublished: list[OutgoingEvent] = []
    calls = 0
    for start in range(0, len(events), PUT_EVENTS_MAX_ENTRIES):
        pending = events[start : start + PUT_EVENTS_MAX_ENTRIES]
        for attempt in range(PUT_ATTEMPTS):
            if attempt:
                time.sleep(RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1))
            pending = _put_once(pending)
            calls += 1
            if not pending:
                break
        unpublished += pending
    published = [event.event_id for event in events if event not in unpublished]
    metrics.add_metric(name="PutEventsCalls", unit=MetricUnit.Count, value=calls)
    metrics.add_metric(name="EventsPublished", unit=MetricUnit.Count, value=len(published))
    metrics.add_metric(name="EventsFailed", unit=MetricUnit.Count, value=len(unpublished))
    # Every finalization passes here (callbacks and reconciliation alike): one metric per status.
    for status, count in Counter(event.status for event in events if event not in unpublished).items():
        by_status = EphemeralMetrics()  # its own dimension set, flushed now (honours METRICS_DISABLED)
        by_status.add_dimension(name="status", value=status)
        by_status.add_metric(name="MessagesFinalizedByStatus", unit=MetricUnit.Count, value=count)
        by_status.flush_metrics()
    if published:
        logger.info("Events published", extra={"event_ids": published, "put_events_calls": calls})
    if unpublished:
        logger.warning("Events not published", extra={"event_ids": [event.event_id for event in unpublished]})
    return unpublished


def _put_once(events: list[OutgoingEvent]) -> list[OutgoingEvent]:
    """One PutEvents call; the events it did not accept (all of them if the call itself failed)."""
    try:
        response = events_client.put_events(Entries=[event.entry for event in events])
    except (ClientError, BotoCoreError):
        logger.exception("PutEvents call failed", extra={"event_ids": [event.event_id for event in events]})
        return events
    results = response["Entries"]  # one per entry, in order: EventId, or ErrorCode + ErrorMessage
    rejected = [event for event, result in zip(events, results, strict=True) if result.get("ErrorCode")]
    if rejected:
        logger.info(
            "PutEvents rejected some entries",
            extra={
                "event_ids": [event.event_id for event in rejected],
                "error_codes": sorted(
                    {str(result["ErrorCode"]) for result in results if "ErrorCode" in result}
                ),
            },
        )
    return rejected


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    records = [DynamoDBRecord(raw) for raw in event.get("Records", [])]
    outgoing = [
        outgoing_event(record, message) for record in records if (message := finalized_message(record))
    ]
    if len(outgoing) < len(records):
        logger.info(
            "Skipped records that are not a message becoming final",
            extra={"skipped": len(records) - len(outgoing)},
        )
    unpublished = {event.sequence_number: event.event_id for event in publish(outgoing)}

    def fail_if_unpublished(record: DynamoDBRecord) -> None:
        assert record.dynamodb
        sequence_number = record.dynamodb.sequence_number
        if sequence_number in unpublished:
            raise EventNotPublished(unpublished[sequence_number])

    return process_partial_response(
        event=event, record_handler=fail_if_unpublished, processor=processor, context=context
    )
