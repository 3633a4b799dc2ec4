"""Provider status reports: Routee's callback body and its tracking-API shape, as one model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from voice_status.phones import PhoneNumber
from voice_status.statuses import MessageStatus, parse_message_status
from voice_status.timeutil import to_iso

MessageId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w.:\-]+$")]


def _as_utc(value: datetime) -> datetime:
    # Routee sends "...Z"; a date without a zone is read as UTC rather than rejected.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ReportedStatus(BaseModel):
    """`status` of a callback ({name, updatedDate}) or of a tracking record ({status, date})."""

    model_config = ConfigDict(extra="ignore")

    name: MessageStatus = Field(validation_alias=AliasChoices("name", "status"))
    updated_date: datetime = Field(validation_alias=AliasChoices("updatedDate", "date"))

    @field_validator("name", mode="before")
    @classmethod
    def _parse_name(cls, value: Any) -> MessageStatus:
        if not isinstance(value, str):
            raise ValueError("status name must be a string")
        return parse_message_status(value)

    @field_validator("updated_date", mode="after")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return _as_utc(value)


class StatusReport(BaseModel):
    """One status of one message as the provider reported it; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_id: MessageId = Field(alias="messageId")
    status: ReportedStatus
    to: PhoneNumber = Field(description="The recipient, E.164: with the URL's campaign, names the message.")
    from_: str | None = Field(default=None, alias="from", max_length=32)
    campaign_tracking_id: str | None = Field(default=None, alias="campaignTrackingId", max_length=128)
    duration: int | None = Field(default=None, ge=0)
    price: float | None = Field(default=None, ge=0)
    country: str | None = Field(default=None, max_length=8)
    operator: str | None = Field(default=None, max_length=128)
    created_at: datetime | None = Field(default=None, alias="createdAt")

    @property
    def status_name(self) -> MessageStatus:
        return self.status.name

    @property
    def reported_at(self) -> str:
        return to_iso(self.status.updated_date)

    def details(self) -> dict[str, Any]:
        """The optional fields worth keeping on the message item, without empty ones."""
        kept = {
            "from": self.from_,
            "campaignTrackingId": self.campaign_tracking_id,
            "duration": self.duration,
            "price": self.price,
            "country": self.country,
            "operator": self.operator,
            "createdAt": to_iso(_as_utc(self.created_at)) if self.created_at else None,
        }
        return {key: value for key, value in kept.items() if value is not None}
