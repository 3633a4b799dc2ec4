"""The one interface every voice provider implements (routee, simulated, silent)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from voice_status.reports import StatusReport


@dataclass(frozen=True)
class TextMessage:
    text: str
    language: str = "en-US"
    gender: str = "female"


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
    """The provider refused or could not be reached after retries."""

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
