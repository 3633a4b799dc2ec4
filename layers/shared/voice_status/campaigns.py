"""Campaign creation rules (CONTRACT.md section 3): the request model, chunking, the start rule.

Pure: no I/O. The API handler validates with `CreateCampaignRequest`, builds the stored item
with `new_campaign_item`, writes it through the repository and starts the workflow with
`workflow_input`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from voice_status.errors import InvalidPageToken
from voice_status.phone_numbers import PhoneNumber
from voice_status.statuses import CampaignStatus
from voice_status.timeutil import to_iso, utc_now

MAX_RECIPIENTS = 100_000
CHUNK_SIZE = 1000  # recipients per provider request (and per stored chunk item)
# A Standard execution lives at most one year: the wait for the start, plus up to 7 days waiting
# for completion, plus dispatch, must fit.
MAX_SCHEDULE_AHEAD = timedelta(days=355)
DEFAULT_COMPLETION_TIMEOUT_SECONDS = 86_400
MAX_COMPLETION_TIMEOUT_SECONDS = 604_800

# ----- request -----


class TextMessage(BaseModel):
    """A text-to-speech message."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1000, description="What the call says.")
    language: str = Field(
        default="en-US",
        pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$",
        description="BCP-47 language tag of the voice, e.g. en-US.",
    )
    gender: Literal["female", "male"] = "female"


class CreateCampaignRequest(BaseModel):
    """Body of POST /campaigns. Exactly one of `message` and `audioUrl`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    from_: PhoneNumber = Field(alias="from", description="Caller id, E.164.")
    message: TextMessage | None = None
    audio_url: str | None = Field(
        default=None, alias="audioUrl", max_length=2048, description="https URL of a .wav file to play."
    )
    recipients: list[PhoneNumber] = Field(
        min_length=1,
        description=f"1 to {MAX_RECIPIENTS:,} distinct E.164 numbers; duplicates are removed (first kept).",
    )
    scheduled_at: AwareDatetime | None = Field(
        default=None,
        alias="scheduledAt",
        description="ISO-8601 with a zone; absent or in the past starts now. At most 355 days ahead.",
    )
    completion_timeout_seconds: int = Field(
        default=DEFAULT_COMPLETION_TIMEOUT_SECONDS,
        ge=1,
        le=MAX_COMPLETION_TIMEOUT_SECONDS,
        alias="completionTimeoutSeconds",
        description="How long the campaign waits in Sent for every message to become final.",
    )

    @field_validator("audio_url")
    @classmethod
    def _https_wav(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or not parts.path.lower().endswith(".wav"):
            raise ValueError("audioUrl must be an https URL of a .wav file")
        return value

    @field_validator("recipients")
    @classmethod
    def _dedupe(cls, value: list[str]) -> list[str]:
        # The limit counts distinct recipients: a list with repeats may be longer than that.
        distinct = list(dict.fromkeys(value))
        if len(distinct) > MAX_RECIPIENTS:
            raise ValueError(f"at most {MAX_RECIPIENTS} distinct recipients, got {len(distinct)}")
        return distinct

    @field_validator("scheduled_at", mode="before")
    @classmethod
    def _iso_text_only(cls, value: Any) -> Any:
        # pydantic would also take Unix timestamps; the contract promises ISO-8601 with a zone.
        if value is not None and not isinstance(value, str):
            raise ValueError("scheduledAt must be an ISO-8601 string with a zone")
        return value

    @field_validator("scheduled_at")
    @classmethod
    def _within_the_execution_limit(cls, value: datetime | None) -> datetime | None:
        if value is not None and value - utc_now() > MAX_SCHEDULE_AHEAD:
            raise ValueError(f"scheduledAt must be at most {MAX_SCHEDULE_AHEAD.days} days ahead")
        return value

    @model_validator(mode="after")
    def _one_kind_of_content(self) -> CreateCampaignRequest:
        if (self.message is None) == (self.audio_url is None):
            raise ValueError("exactly one of message and audioUrl is required")
        return self


# ----- rules -----


@dataclass(frozen=True)
class StartPlan:
    status: CampaignStatus  # Scheduled or Queued
    scheduled_at: str | None  # ISO time, None when the campaign starts now
    seconds_until_start: int  # 0 when it starts now


def plan_start(scheduled_at: datetime | None, now: datetime) -> StartPlan:
    """A future scheduledAt waits (rounded up to whole seconds); a past or absent one starts now."""
    if scheduled_at is None or scheduled_at <= now:
        return StartPlan(CampaignStatus.QUEUED, None, 0)
    seconds = max(math.ceil((scheduled_at - now).total_seconds()), 1)
    return StartPlan(CampaignStatus.SCHEDULED, to_iso(scheduled_at), seconds)


def chunk_recipients(recipients: Sequence[str], size: int = CHUNK_SIZE) -> list[list[str]]:
    return [list(recipients[start : start + size]) for start in range(0, len(recipients), size)]


def new_campaign_id() -> str:
    return str(uuid.uuid4())


def new_campaign_item(
    campaign_id: str,
    request: CreateCampaignRequest,
    plan: StartPlan,
    *,
    created_at: str,
    callback_url: str,
    chunk_count: int,
) -> dict[str, Any]:
    """The campaign item as stored (team-notes data model), without its keys."""
    item: dict[str, Any] = {
        "campaignId": campaign_id,
        "name": request.name,
        "from": request.from_,
        "status": plan.status.value,
        "statusHistory": [{"status": plan.status.value, "at": created_at}],
        "createdAt": created_at,
        "updatedAt": created_at,
        "scheduledAt": plan.scheduled_at,
        "completionTimeoutSeconds": request.completion_timeout_seconds,
        "total": len(request.recipients),
        "chunkCount": chunk_count,
        "failureReason": None,
        "callbackUrl": callback_url,
    }
    if request.message is not None:
        item["message"] = request.message.model_dump()
    else:
        item["audioUrl"] = request.audio_url
    return item


def workflow_input(campaign_id: str, plan: StartPlan, completion_timeout_seconds: int) -> dict[str, Any]:
    """Input of the campaign's Step Functions execution (team-notes: workflow contract)."""
    return {
        "campaignId": campaign_id,
        "scheduledAt": plan.scheduled_at,
        "secondsUntilStart": plan.seconds_until_start,
        "completionTimeoutSeconds": completion_timeout_seconds,
    }


# ----- paging -----


def encode_page_token(last_key: dict[str, Any]) -> str:
    """An opaque nextToken: base64url (no padding) of the DynamoDB LastEvaluatedKey."""
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_page_token(token: str) -> dict[str, Any]:
    """The key a token stands for; InvalidPageToken for anything this API did not hand out.

    The repository checks that the key belongs to the listing it is used with."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidPageToken() from None
    if not isinstance(key, dict) or not all(
        isinstance(name, str)
        and isinstance(value, dict)
        and set(value) == {"S"}
        and isinstance(value["S"], str)
        for name, value in key.items()
    ):
        raise InvalidPageToken()
    return key


# ----- response shapes, for the OpenAPI document (views.py builds the actual dicts) -----


class StatusAt(BaseModel):
    status: str
    at: str


class CountsView(BaseModel):
    total: int
    pending: int
    final: dict[str, int] = Field(description="Messages per final status; only statuses above zero.")


class CampaignView(BaseModel):
    campaignId: str
    name: str
    status: Literal["Scheduled", "Queued", "Running", "Sent", "Finished", "Failed"]
    statusHistory: list[StatusAt]
    createdAt: str | None
    scheduledAt: str | None
    updatedAt: str | None
    counts: CountsView
    failureReason: str | None
    callbackUrl: str | None


class MessageView(BaseModel):
    messageId: str
    campaignId: str | None
    to: str | None
    status: str
    final: bool
    history: list[StatusAt] = Field(description="Each distinct status once, by the provider's time.")
    duration: int | None
    price: float | None
    updatedAt: str | None


class MessagePage(BaseModel):
    items: list[MessageView]
    nextToken: str | None = Field(description="Pass as ?nextToken= for the next page; null on the last.")


class ErrorBody(BaseModel):
    error: str
    details: list[dict[str, Any]] = Field(default_factory=list)
