"""The campaign workflow's decisions: how long to keep dispatching, what a provider error means
for a chunk, the campaign's total after dispatch, the reconciliation verdict. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from voice_status.counts import CampaignCounts
from voice_status.providers.base import ProviderError, Submission, TextMessage, validate_submission

# Stop taking new chunks this long before the Lambda timeout: one provider call (with the
# client's own retries) and the final bookkeeping must still fit.
DEFAULT_SAFETY_MARGIN_MS = 60_000
MAX_CHUNKS_PER_READ = 10  # chunks read from the table at a time (each up to 1000 recipients)
MAX_ERROR_LENGTH = 500  # what a chunk keeps of a provider error message


class ChunkState(StrEnum):
    PENDING = "pending"
    SUBMITTING = "submitting"  # claimed: the provider may have it, so it is never submitted again
    SUBMITTED = "submitted"
    FAILED = "failed"


@dataclass(frozen=True)
class Chunk:
    campaign_id: str
    index: int
    recipients: list[str]
    state: ChunkState


@dataclass(frozen=True)
class ChunkSummary:
    state: ChunkState
    recipients: int  # counted only where it matters: for chunks still `submitting`
    accepted: int = 0
    error: str | None = None


@dataclass(frozen=True)
class DispatchBudget:
    """How much one Dispatch invocation may do before handing back to the workflow's loop."""

    safety_margin_ms: int = DEFAULT_SAFETY_MARGIN_MS
    max_chunks: int | None = None  # None: as many as time allows

    def allows_another(self, handled: int, remaining_ms: int) -> bool:
        # Every invocation handles at least one chunk, so the loop always progresses.
        if handled == 0:
            return True
        if self.max_chunks is not None and handled >= self.max_chunks:
            return False
        return remaining_ms >= self.safety_margin_ms

    @property
    def chunks_per_read(self) -> int:
        # One more than the call may handle: the next chunk tells where the following call starts.
        return (
            MAX_CHUNKS_PER_READ if self.max_chunks is None else min(self.max_chunks + 1, MAX_CHUNKS_PER_READ)
        )


def budget_from_settings(max_chunks: str | None) -> DispatchBudget:
    """DISPATCH_MAX_CHUNKS_PER_INVOCATION: empty or absent means unlimited."""
    if max_chunks is None or not max_chunks.strip():
        return DispatchBudget()
    limit = int(max_chunks)
    if limit < 1:
        raise ValueError("DISPATCH_MAX_CHUNKS_PER_INVOCATION must be at least 1")
    return DispatchBudget(max_chunks=limit)


class SubmitFailure(StrEnum):
    RETRY_LATER = "retry_later"  # certainly not taken: give the chunk back and retry after a pause
    REFUSED = "refused"  # the provider answered no: the chunk failed, nobody is called
    UNCERTAIN = "uncertain"  # it may have been taken: keep it as possibly sent, never resend


def classify_provider_error(error: ProviderError) -> SubmitFailure:
    if error.retryable:
        return SubmitFailure.RETRY_LATER
    if error.status_code is not None and 400 <= error.status_code < 500:
        return SubmitFailure.REFUSED
    return SubmitFailure.UNCERTAIN


def error_text(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text[:MAX_ERROR_LENGTH]


def submission_for(campaign: dict[str, Any], chunk: Chunk) -> Submission:
    """One provider request for one chunk of a stored campaign item."""
    message = campaign.get("message")
    return Submission(
        campaign_id=campaign["campaignId"],
        name=str(campaign["name"]),  # each provider shapes it to its own rules
        from_number=campaign["from"],
        recipients=list(chunk.recipients),
        callback_url=campaign["callbackUrl"],
        message=TextMessage(**message) if message else None,
        audio_url=None if message else campaign.get("audioUrl"),
    )


def submission_problem(submission: Submission) -> str | None:
    """Why no provider would take this submission, or None. Checked before sending, so such a
    chunk is known to have reached nobody (unlike an error from the provider call itself)."""
    try:
        validate_submission(submission)
    except ProviderError as error:
        return error_text(error)
    return None


def dispatched_total(chunks: Iterable[ChunkSummary]) -> int:
    """The campaign's total once dispatch is over: what the provider accepted, plus every recipient
    of a chunk whose submission may have gone through (left `submitting` by a crash or an
    ambiguous error). Counting those as sent keeps a call that did happen from being unaccounted."""
    total = 0
    for chunk in chunks:
        if chunk.state == ChunkState.SUBMITTED:
            total += chunk.accepted
        elif chunk.state == ChunkState.SUBMITTING:
            total += chunk.recipients
    return total


def nothing_accepted_reason(recipients: int, chunks: Iterable[ChunkSummary]) -> str:
    """failureReason of a campaign the provider took none of (`recipients`: its distinct recipients)."""
    first_error = next((chunk.error for chunk in chunks if chunk.error), None)
    reason = f"The provider accepted none of the campaign's {recipients} recipients"
    return f"{reason}: {first_error}" if first_error else reason


@dataclass(frozen=True)
class ReconciliationVerdict:
    all_final: bool
    pending: int

    def as_dict(self) -> dict[str, Any]:
        return {"allFinal": self.all_final, "pending": self.pending}


def reconciliation_verdict(counts: CampaignCounts) -> ReconciliationVerdict:
    """After the completion timeout and a pass over the tracking API: Finished only if nothing is
    left pending."""
    return ReconciliationVerdict(all_final=counts.pending == 0, pending=counts.pending)
