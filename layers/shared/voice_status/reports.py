"""Provider status reports: Routee's callback body and its tracking-API shape, as one value type.

Everything in a report ends up in a DynamoDB item, so validation bounds it first: numbers are
finite, non-negative and of a sane size, dates are ISO-8601 text within `EARLIEST_DATE` and a
century ahead, phone numbers are E.164 in ASCII digits, and every string has a length limit.

Validated by pydantic's engine (pydantic-core) from the core schema below, not by a pydantic
model: the callback handler is the hot path, and a model would load pydantic's model layer and
build its schemas at every cold start, about 250 M instructions of a 1,850 M import (README,
Performance). The schema is the one pydantic built for the model this replaced: the same bodies
pass and fail, with the same errors at the same fields (only a body that is not an object reads
"Input should be a dictionary or an instance of StatusReport" now). pydantic models that embed a
report (the API's documentation) use this schema (`value_schemas.SchemaDataclass`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from pydantic_core import SchemaValidator
from pydantic_core import core_schema as schema

from voice_status.phones import E164_PATTERN
from voice_status.statuses import MessageStatus, parse_message_status
from voice_status.timeutil import to_iso, utc_now
from voice_status.value_schemas import SchemaDataclass, either_key, frozen_dataclass_schema, optional

MESSAGE_ID_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
MAX_MESSAGE_ID_LENGTH = 128
# Dates outside this window are typos or attacks; beyond it, arithmetic on them can overflow.
EARLIEST_DATE = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_DATE_AHEAD = timedelta(days=100 * 366)
# A voice call longer than a day, or a price above this (in the account's currency), is not real.
MAX_DURATION_SECONDS = 86_400
MAX_PRICE = 10_000
PRICE_DECIMALS = 6  # DynamoDB numbers cannot hold 1e-300; a millionth of a cent-unit is plenty
MAX_STATUS_NAME_LENGTH = 32


@dataclass(frozen=True)
class ReportedStatus(SchemaDataclass):
    """`status` of a callback ({name, updatedDate}) or of a tracking record ({status, date})."""

    name: MessageStatus
    updated_date: datetime


@dataclass(frozen=True)
class StatusReport(SchemaDataclass):
    """One status of one message as the provider reported it; unknown fields are ignored."""

    field_descriptions = MappingProxyType(
        {"to": "The recipient, E.164: with the URL's campaign, names the message."}
    )

    message_id: str
    status: ReportedStatus
    to: str
    from_: str | None = None  # not E.164 necessarily: a caller id can be an alphanumeric sender name
    campaign_tracking_id: str | None = None
    duration: int | None = None
    price: float | None = None
    country: str | None = None
    operator: str | None = None
    created_at: datetime | None = None

    @classmethod
    def parse(cls, data: Any) -> StatusReport:
        """A report from a callback body or a tracking record. Raises pydantic's ValidationError."""
        report: StatusReport = _VALIDATOR.validate_python(data)
        return report

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


def _status_name(value: Any) -> MessageStatus:
    if not isinstance(value, str):
        raise ValueError("status name must be a string")
    if len(value) > MAX_STATUS_NAME_LENGTH:
        raise ValueError(f"status name is longer than {MAX_STATUS_NAME_LENGTH} characters")
    return parse_message_status(value)


def _rounded_price(value: float | None) -> float | None:
    return None if value is None else round(value, PRICE_DECIMALS)


_REPORTED_DATE = schema.no_info_after_validator_function(
    _within_window,
    schema.no_info_before_validator_function(
        _iso_text, schema.datetime_schema(microseconds_precision="truncate")
    ),
)
_REPORTED_STATUS_SCHEMA = frozen_dataclass_schema(
    ReportedStatus,
    [
        schema.dataclass_field(
            "name",
            schema.no_info_before_validator_function(
                _status_name,
                schema.enum_schema(MessageStatus, list(MessageStatus), sub_type="str", ref="MessageStatus"),
            ),
            validation_alias=either_key("name", "status"),
        ),
        schema.dataclass_field(
            "updated_date", _REPORTED_DATE, validation_alias=either_key("updatedDate", "date")
        ),
    ],
    extra="ignore",
)
STATUS_REPORT_SCHEMA = frozen_dataclass_schema(
    StatusReport,
    [
        schema.dataclass_field(
            "message_id",
            schema.str_schema(min_length=1, max_length=MAX_MESSAGE_ID_LENGTH, pattern=MESSAGE_ID_PATTERN),
            validation_alias="messageId",
        ),
        schema.dataclass_field("status", _REPORTED_STATUS_SCHEMA),
        schema.dataclass_field("to", schema.str_schema(pattern=E164_PATTERN)),
        schema.dataclass_field("from_", optional(schema.str_schema(max_length=32)), validation_alias="from"),
        schema.dataclass_field(
            "campaign_tracking_id",
            optional(schema.str_schema(max_length=128)),
            validation_alias="campaignTrackingId",
        ),
        schema.dataclass_field("duration", optional(schema.int_schema(ge=0, le=MAX_DURATION_SECONDS))),
        schema.dataclass_field(
            "price",
            schema.with_default_schema(
                schema.no_info_after_validator_function(
                    _rounded_price,
                    schema.nullable_schema(schema.float_schema(ge=0, le=MAX_PRICE, allow_inf_nan=False)),
                ),
                default=None,
            ),
        ),
        schema.dataclass_field("country", optional(schema.str_schema(max_length=8))),
        schema.dataclass_field("operator", optional(schema.str_schema(max_length=128))),
        schema.dataclass_field("created_at", optional(_REPORTED_DATE), validation_alias="createdAt"),
    ],
    extra="ignore",
    by_name=True,  # the provider's names or the field names, as the model this replaced took them
)
_VALIDATOR = SchemaValidator(STATUS_REPORT_SCHEMA)
