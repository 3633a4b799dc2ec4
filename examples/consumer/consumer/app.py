"""A consumer of the voice status service's events: each event handled once, whatever the retries.

SQS batch -> Powertools batch processor (only failed records go back to the queue) -> each body
is an EventBridge event: the envelope parser validates it and yields its typed `detail` -> the
action runs once per `detail.eventId` (Powertools idempotency), because delivery is at least once
and replays resend the same eventId under a new envelope id.

Replace `act` with what your system does; everything else is the plumbing to keep.
"""

import os
from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser import BaseModel, Field, envelopes, parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict

IDEMPOTENCY_DAYS = 35  # longer than the service's 30-day archive, so a replay is recognised too
NOT_REACHED = {"Busy", "NoAnswer", "Failed", "Unsent", "Terminated"}

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)
idempotency_config = IdempotencyConfig(
    event_key_jmespath="detail.eventId",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=IDEMPOTENCY_DAYS * 24 * 3600,
)
idempotency_store = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE_NAME"])


# ----- the events' details (version 1 may gain fields: unknown ones are ignored) -----


class _Detail(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: Literal["1"]
    event_id: str = Field(alias="eventId", min_length=1)


class MessageFinalized(_Detail):
    message_id: str = Field(alias="messageId")
    campaign_id: str = Field(alias="campaignId")
    to: str | None
    status: Literal["Completed", "Busy", "NoAnswer", "Failed", "Unsent", "Terminated"]
    final_at: datetime = Field(alias="finalAt")
    duration: int | None
    price: float | None


class Counts(BaseModel):
    total: int
    pending: int
    final: dict[str, int]


class CampaignEnded(_Detail):
    campaign_id: str = Field(alias="campaignId")
    name: str
    status: Literal["Finished", "Failed"]
    counts: Counts
    failure_reason: str | None = Field(default=None, alias="failureReason")


DETAIL_MODELS: dict[str, type[_Detail]] = {
    "Voice Message Finalized": MessageFinalized,
    "Voice Campaign Finished": CampaignEnded,
    "Voice Campaign Failed": CampaignEnded,
}


# ----- what this consumer does -----


def act(detail: _Detail) -> dict[str, Any]:
    """The consumer's own work; here it logs what a CRM would record. Runs once per eventId."""
    if isinstance(detail, MessageFinalized):
        outcome = "follow up" if detail.status in NOT_REACHED else "reached"
        logger.info(
            "Call outcome",
            extra={
                "event_id": detail.event_id,
                "campaign_id": detail.campaign_id,
                "status": detail.status,
                "outcome": outcome,
            },
        )
        return {"eventId": detail.event_id, "outcome": outcome}
    assert isinstance(detail, CampaignEnded)
    logger.info(
        "Campaign outcome",
        extra={
            "event_id": detail.event_id,
            "campaign_id": detail.campaign_id,
            "status": detail.status,
            "final": detail.counts.final,
        },
    )
    return {"eventId": detail.event_id, "outcome": detail.status}


@idempotent_function(
    data_keyword_argument="event", persistence_store=idempotency_store, config=idempotency_config
)
def act_once(*, event: dict[str, Any], detail: _Detail) -> dict[str, Any]:
    return act(detail)


def record_handler(record: SQSRecord) -> None:
    event: dict[str, Any] = record.json_body
    model = DETAIL_MODELS.get(event.get("detail-type", ""))
    if model is None:
        logger.info("Not an event this consumer handles", extra={"detail_type": event.get("detail-type")})
        return
    # Validated before anything is written; an invalid event fails its record (and, after
    # maxReceiveCount, lands in the dead-letter queue).
    detail = parse(event=event, model=model, envelope=envelopes.EventBridgeEnvelope)
    act_once(event=event, detail=detail)


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency_config.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
