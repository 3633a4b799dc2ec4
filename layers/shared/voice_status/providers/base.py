"""The one interface every voice provider implements (routee, simulated, silent)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, Protocol

from pydantic_core import core_schema as schema

from voice_status.reports import StatusReport
from voice_status.value_schemas import SchemaDataclass, frozen_dataclass_schema

MAX_RECIPIENTS_PER_SUBMISSION = 1000  # Routee: at most 1000 numbers per voice campaign request
MAX_TEXT_LENGTH = 1000  # Routee: text-to-speech text at most 1000 characters
LANGUAGE_TAG_PATTERN = r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$"  # BCP-47, loosely


@dataclass(frozen=True)
class TextMessage(SchemaDataclass):
    """A text-to-speech message: what POST /campaigns takes and what the provider is sent."""

    field_descriptions = MappingProxyType(
        {"text": "What the call says.", "language": "BCP-47 language tag of the voice, e.g. en-US."}
    )

    text: str
    language: str = "en-US"
    gender: Literal["female", "male"] = "female"


# A core schema, not a pydantic model, for the reason `voice_status.reports` gives: campaigns
# carry their message, and the callback handler reads campaigns. POST /campaigns (a pydantic
# model) validates its `message` with it as it did with the model, except that an unknown key now
# reads "Unexpected keyword argument" (pydantic's wording for dataclasses).
TEXT_MESSAGE_SCHEMA = frozen_dataclass_schema(
    TextMessage,
    [
        schema.dataclass_field("text", schema.str_schema(min_length=1, max_length=MAX_TEXT_LENGTH)),
        schema.dataclass_field(
            "language",
            schema.with_default_schema(schema.str_schema(pattern=LANGUAGE_TAG_PATTERN), default="en-US"),
        ),
        schema.dataclass_field(
            "gender", schema.with_default_schema(schema.literal_schema(["female", "male"]), default="female")
        ),
    ],
    extra="forbid",
)


@dataclass(frozen=True)
class Submission:
    """One request of at most 1000 recipients to the provider."""

    campaign_id: str
    name: str  # provider campaign name (Routee: 2-30 chars)
    from_number: str
    recipients: list[str]
    callback_url: str
    message: TextMessage | None = None
    audio_url: str | None = None


@dataclass(frozen=True)
class Accepted:
    tracking_id: str  # the provider's campaign tracking id, used for reconciliation
    accepted: int  # recipients the provider took


class ProviderError(Exception):
    """The provider refused or could not be reached after retries.

    `retryable` is True only when the request certainly did not take effect (nothing reached the
    provider, or the provider answered that it did not process it) and a later attempt may work.
    False means: do not resend as is, either because it cannot succeed or because it may already
    have been processed (calling people twice is worse than not at all).
    """

    def __init__(self, message: str, *, retryable: bool = False, status_code: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status_code = status_code


class VoiceProvider(Protocol):
    def submit(self, submission: Submission) -> Accepted:
        """Send one chunk. Raises ProviderError."""
        ...

    def track(self, tracking_id: str) -> Iterator[StatusReport]:
        """Every message of a provider campaign with its latest status (all tracking pages)."""
        ...


def validate_submission(submission: Submission) -> None:
    """Reject a submission that no provider would take, before anything is sent."""
    count = len(submission.recipients)
    if not 1 <= count <= MAX_RECIPIENTS_PER_SUBMISSION:
        raise ProviderError(
            f"a submission holds 1 to {MAX_RECIPIENTS_PER_SUBMISSION} recipients, got {count}",
            retryable=False,
        )
    if (submission.message is None) == (submission.audio_url is None):
        raise ProviderError("a submission has exactly one of message and audio_url", retryable=False)
    if submission.message is not None and not 1 <= len(submission.message.text) <= MAX_TEXT_LENGTH:
        raise ProviderError(f"message text must be 1 to {MAX_TEXT_LENGTH} characters", retryable=False)
