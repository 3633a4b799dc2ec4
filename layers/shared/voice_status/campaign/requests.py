"""What POST /campaigns accepts (CONTRACT.md section 3), validated by pydantic."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
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

from voice_status.campaign.model import MAX_COMPLETION_TIMEOUT_SECONDS
from voice_status.phones import E164_PATTERN
from voice_status.providers.base import TextMessage
from voice_status.timeutil import utc_now

MAX_RECIPIENTS = 100_000
# A Standard execution lives at most one year: the wait for the start, plus up to 7 days waiting
# for completion, plus dispatch, must fit.
MAX_SCHEDULE_AHEAD = timedelta(days=355)
DEFAULT_COMPLETION_TIMEOUT_SECONDS = 86_400

PhoneNumber = Annotated[str, StringConstraints(pattern=E164_PATTERN)]


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
