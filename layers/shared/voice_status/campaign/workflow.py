"""The campaign workflow's decisions: how long one step may work, what a provider error means for
a chunk, the campaign's total after dispatch, the reconciliation verdict. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from voice_status.campaign.model import Campaign, Chunk, ChunkState
from voice_status.counts import CampaignCounts
from voice_status.providers.base import ProviderError, Submission, validate_submission

# Stop taking new chunks this long before the Lambda timeout: one provider call (with the
# client's own retries) and the final bookkeeping must still fit.
DEFAULT_SAFETY_MARGIN_MS = 60_000
MAX_CHUNKS_PER_READ = 10  # chunks read from the table at a time (each up to 1000 recipients)
MAX_ERROR_LENGTH = 500  # what a chunk keeps of a provider error message


@dataclass(frozen=True)
class StepBudget:
    """How many chunks one Dispatch or Reconcile invocation may handle before handing back to the
    workflow's loop: as many as time allows, or at most `max_chunks`."""

    safety_margin_ms: int = DEFAULT_SAFETY_MARGIN_MS
    max_chunks: int | None = None

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


def budget_from_setting(max_chunks: str | None) -> StepBudget:
    """A *_MAX_CHUNKS_PER_INVOCATION setting: empty or absent means as many as time allows."""
    if max_chunks is None or not max_chunks.strip():
        return StepBudget()
    limit = int(max_chunks)
    if limit < 1:
        raise ValueError("a chunk limit per invocation must be at least 1")
    return StepBudget(max_chunks=limit)


@dataclass(frozen=True)
class StepProgress:
    """What a Dispatch or Reconcile invocation hands back to the workflow's loop."""

    cursor: int  # index of the first chunk not handled yet
    done: bool


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


def submission_for(campaign: Campaign, chunk: Chunk) -> Submission:
    """One provider request for one chunk of a campaign."""
    return Submission(
        campaign_id=campaign.campaign_id,
        name=campaign.name,  # each provider shapes it to its own rules
        from_number=campaign.from_number,
        recipients=list(chunk.recipients),
        callback_url=campaign.callback_url,
        message=campaign.message,
        audio_url=campaign.audio_url,
    )


def submission_problem(submission: Submission) -> str | None:
    """Why no provider would take this submission, or None. Checked before anything is written or
    sent, so such a chunk is known to have reached nobody (unlike an error from the provider)."""
    try:
        validate_submission(submission)
    except ProviderError as error:
        return error_text(error)
    return None


def dispatched_total(chunks: Iterable[Chunk]) -> int:
    """The campaign's total once dispatch is over: every recipient handed to the provider, that is
    of a chunk it accepted or one whose submission may have gone through (left `submitting` by a
    crash or an ambiguous answer). Each of them has a message, and a message counts at most once,
    so the final counts can never exceed this total."""
    return sum(chunk.size for chunk in chunks if chunk.state in _HANDED_OVER)


_HANDED_OVER = (ChunkState.SUBMITTED, ChunkState.SUBMITTING)


def nothing_accepted_reason(recipients: int, chunks: Iterable[Chunk]) -> str:
    """failureReason of a campaign the provider took none of (`recipients`: its distinct recipients)."""
    first_error = next((chunk.error for chunk in chunks if chunk.error), None)
    reason = f"The provider accepted none of the campaign's {recipients} recipients"
    return f"{reason}: {first_error}" if first_error else reason


@dataclass(frozen=True)
class ReconciliationVerdict:
    all_final: bool
    pending: int
    unreported: int  # pending recipients the provider never reported anything for

    @property
    def failure_reason(self) -> str | None:
        if self.all_final:
            return None
        recipients = "recipient" if self.pending == 1 else "recipients"
        return (
            f"{self.pending} {recipients} never reached a final status "
            f"({self.unreported} never reported by the provider)"
        )


def reconciliation_verdict(counts: CampaignCounts, unreported: int) -> ReconciliationVerdict:
    """After the completion timeout and a pass over the tracking API: Finished only if nothing is
    left pending."""
    return ReconciliationVerdict(
        all_final=counts.pending == 0, pending=counts.pending, unreported=min(unreported, counts.pending)
    )
