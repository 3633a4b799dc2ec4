"""Provider status reports: Routee's callback body and its tracking-API shape, as one model.

Everything in a report ends up in a DynamoDB item, so the model bounds it first: numbers are
finite, non-negative and of a sane size, dates are ISO-8601 text within `EARLIEST_DATE` and a
century ahead, phone numbers are E.164 in ASCII digits, and every string has a length limit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from voice_status.phones import PhoneNumber
from voice_status.statuses import MessageStatus, parse_message_status
from voice_status.timeutil import to_iso, utc_now

MessageId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]

# Dates outside this window are typos or attacks; beyond it, arithmetic on them can overflow.
EARLIEST_DATE = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_DATE_AHEAD = timedelta(days=100 * 366)
# A voice call longer than a day, or a price above this (in the account's currency), is not real.
MAX_DURATION_SECONDS = 86_400
MAX_PRICE = 10_000
PRICE_DECIMALS = 6  # DynamoDB numbers cannot hold 1e-300; a millionth of a cent-unit is plenty
MAX_STATUS_NAME_LENGTH = 32


def _as_utc(value: datetime) -> datetime:
    # Routee sends "...Z"; a date without a zone is read as UTC rather than rejected.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso_text(value: Any) -> Any:
    # pydantic would read a number as epoch seconds (5 -> 1970); the provider sends ISO-8601 text.
    if isinstance(value, str | datetime):
        return value
    raise ValueError("must be an ISO-8601 date string")


def _within_window(value: datetime) -> datetime:
    try:
        moment = _as_utc(value)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before the first representable UTC time
        raise ValueError("date is out of range") from None
    if not EARLIEST_DATE <= moment <= utc_now() + LATEST_DATE_AHEAD:
        raise ValueError(f"date must be between {EARLIEST_DATE.year} and 100 years from now")
    return moment


ReportedDate = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_within_window)]


class ReportedStatus(BaseModel):
    """`status` of a callback ({name, updatedDate}) or of a tracking record ({status, date})."""

    model_config = ConfigDict(extra="ignore")

    name: MessageStatus = Field(validation_alias=AliasChoices("name", "status"))
    updated_date: ReportedDate = Field(validation_alias=AliasChoices("updatedDate", "date"))

    @field_validator("name", mode="before")
    @classmethod
    def _parse_name(cls, value: Any) -> MessageStatus:
        if not isinstance(value, str):
            raise ValueError("status name must be a string")
        if len(value) > MAX_STATUS_NAME_LENGTH:
            raise ValueError(f"status name is longer than {MAX_STATUS_NAME_LENGTH} characters")
        return parse_message_status(value)


class StatusReport(BaseModel):
    """One status of one message as the provider reported it; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_id: MessageId = Field(alias="messageId")
    status: ReportedStatus
    to: PhoneNumber = Field(description="The recipient, E.164: with the URL's campaign, names the message.")
    # Not E.164 necessarily: a caller id can be an alphanumeric sender name.
    from_: str | None = Field(default=None, alias="from", max_length=32)
    campaign_tracking_id: str | None = Field(default=None, alias="campaignTrackingId", max_length=128)
    duration: int | None = Field(default=None, ge=0, le=MAX_DURATION_SECONDS)
    price: float | None = Field(default=None, ge=0, le=MAX_PRICE, allow_inf_nan=False)
    country: str | None = Field(default=None, max_length=8)
    operator: str | None = Field(default=None, max_length=128)
    created_at: ReportedDate | None = Field(default=None, alias="createdAt")

    @field_validator("price", mode="after")
    @classmethod
    def _round_price(cls, value: float | None) -> float | None:
        return None if value is None else round(value, PRICE_DECIMALS)

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
            "createdAt": to_iso(self.created_at) if self.created_at else None,
        }
        return {key: value for key, value in kept.items() if value is not None}
