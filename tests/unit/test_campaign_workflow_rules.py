"""The campaign workflow's pure decisions (voice_status.campaign.workflow) and the campaign's shown
status history (voice_status.campaign.model)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from voice_status.campaign.model import Campaign, Chunk, ChunkState, StatusAt
from voice_status.campaign.workflow import (
    MAX_ERROR_LENGTH,
    StepBudget,
    SubmitFailure,
    budget_from_setting,
    classify_provider_error,
    dispatched_total,
    error_text,
    nothing_accepted_reason,
    reconciliation_verdict,
    submission_for,
    submission_problem,
)
from voice_status.counts import CampaignCounts
from voice_status.providers.base import ProviderError, TextMessage
from voice_status.statuses import CampaignStatus

CALLBACK_URL = "https://api.example.test/dev/callbacks/voice/c-1/sig"


CAMPAIGN = Campaign(
    campaign_id="c-1",
    name="Flu shot reminder",
    from_number="+302100000000",
    status=CampaignStatus.RUNNING,
    status_history=(StatusAt("Queued", "2026-11-27T09:00:00.000Z"),),
    created_at="2026-11-27T09:00:00.000Z",
    updated_at="2026-11-27T09:00:00.000Z",
    scheduled_at=None,
    completion_timeout_seconds=60,
    recipient_count=1,
    total=1,
    chunk_count=1,
    callback_url=CALLBACK_URL,
    message=TextMessage(text="Hello", language="en-US", gender="female"),
)


def _campaign(**changes: Any) -> Campaign:
    return replace(CAMPAIGN, **changes)


def _chunk(
    state: ChunkState, size: int, *, index: int = 0, error: str | None = None, accepted: int = 0
) -> Chunk:
    # What chunk_outcomes reads: the outcome and the size, not the recipients.
    return Chunk("c-1", index, (), size, state=state, accepted=accepted, error=error)


# ----- how much one step may do -----


def test_every_call_handles_at_least_one_chunk_then_stops_near_its_deadline() -> None:
    budget = StepBudget(safety_margin_ms=60_000)
    assert budget.allows_another(handled=0, remaining_ms=1_000)
    assert budget.allows_another(handled=5, remaining_ms=60_000)
    assert not budget.allows_another(handled=5, remaining_ms=59_999)
    assert budget.chunks_per_read == 10


def test_chunk_limit_per_call() -> None:
    budget = budget_from_setting("3")
    assert budget.allows_another(handled=0, remaining_ms=0)
    assert budget.allows_another(handled=2, remaining_ms=900_000)
    assert not budget.allows_another(handled=3, remaining_ms=900_000)
    # One more than it may handle, so it knows where the next call starts; never over 10 at a time.
    assert (budget.chunks_per_read, budget_from_setting("50").chunks_per_read) == (4, 10)
    assert budget_from_setting(None).max_chunks is None
    assert budget_from_setting(" ").max_chunks is None
    assert budget_from_setting("").max_chunks is None
    with pytest.raises(ValueError, match="at least 1"):
        budget_from_setting("0")
    with pytest.raises(ValueError):
        budget_from_setting("many")


# ----- what a provider error means -----


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (
            ProviderError("HTTP 503 after 3 attempts", retryable=True, status_code=503),
            SubmitFailure.RETRY_LATER,
        ),
        (ProviderError("HTTP 429", retryable=True, status_code=429), SubmitFailure.RETRY_LATER),
        (ProviderError("connection refused", retryable=True), SubmitFailure.RETRY_LATER),
        (ProviderError("HTTP 400 (bad number)", status_code=400), SubmitFailure.REFUSED),
        (ProviderError("HTTP 401", status_code=401), SubmitFailure.REFUSED),
        (ProviderError("HTTP 500", status_code=500), SubmitFailure.UNCERTAIN),
        (ProviderError("gateway timed out", status_code=504), SubmitFailure.UNCERTAIN),
        (ProviderError("no answer (ReadTimeout)"), SubmitFailure.UNCERTAIN),
    ],
)
def test_what_a_provider_error_means_for_the_chunk(error: ProviderError, failure: SubmitFailure) -> None:
    assert classify_provider_error(error) is failure


def test_a_chunk_keeps_a_bounded_error_text() -> None:
    assert error_text(ProviderError("HTTP 401")) == "HTTP 401"
    assert error_text(TimeoutError()) == "TimeoutError"  # no message: its kind
    assert len(error_text(ProviderError("x" * 10_000))) == MAX_ERROR_LENGTH


# ----- the campaign's total once dispatch is over -----


def test_total_counts_every_recipient_handed_to_the_provider() -> None:
    chunks = [
        _chunk(ChunkState.SUBMITTED, 1000, index=0, accepted=1000),
        _chunk(ChunkState.SUBMITTING, 1000, index=1),  # crashed mid-call: may be sent
        _chunk(ChunkState.SUBMITTING, 500, index=2, error="no answer (ReadTimeout)"),  # ambiguous
        _chunk(ChunkState.FAILED, 1000, index=3, error="HTTP 400"),  # refused: nobody called
        _chunk(ChunkState.PENDING, 1000, index=4),  # never sent
    ]
    assert dispatched_total(chunks) == 2500
    assert dispatched_total([]) == 0


def test_reason_when_nothing_was_accepted() -> None:
    chunks = [
        _chunk(ChunkState.FAILED, 1000, index=0, error="HTTP 401"),
        _chunk(ChunkState.FAILED, 3, index=1, error="HTTP 403"),
    ]
    assert dispatched_total(chunks) == 0
    reason = nothing_accepted_reason(1003, chunks)
    assert reason == "The provider accepted none of the campaign's 1003 recipients: HTTP 401"
    assert nothing_accepted_reason(2, []) == "The provider accepted none of the campaign's 2 recipients"
    assert nothing_accepted_reason(2, [_chunk(ChunkState.FAILED, 2)]) == (
        "The provider accepted none of the campaign's 2 recipients"
    )


# ----- one provider request per chunk -----


def test_submission_of_a_text_campaign_chunk() -> None:
    chunk = Chunk("c-1", 3, ("+306900000001",), 1)
    submission = submission_for(_campaign(), chunk)
    assert submission.message == TextMessage(text="Hello", language="en-US", gender="female")
    assert (submission.audio_url, submission.recipients) == (None, ["+306900000001"])
    assert (submission.campaign_id, submission.name, submission.from_number) == (
        "c-1",
        "Flu shot reminder",
        "+302100000000",
    )
    assert submission.callback_url == CALLBACK_URL
    assert submission_problem(submission) is None


def test_submission_of_an_audio_campaign_chunk() -> None:
    campaign = _campaign(message=None, audio_url="https://example.test/hello.wav")
    submission = submission_for(campaign, Chunk("c-1", 0, ("+306900000001",), 1))
    assert (submission.message, submission.audio_url) == (None, "https://example.test/hello.wav")
    assert submission_problem(submission) is None


def test_an_empty_chunk_is_a_problem_known_before_sending() -> None:
    submission = submission_for(_campaign(), Chunk("c-1", 0, (), 0))
    assert submission_problem(submission) == "a submission holds 1 to 1000 recipients, got 0"


# ----- the reconciliation verdict -----


def test_reconciliation_finishes_a_campaign_with_nothing_pending() -> None:
    verdict = reconciliation_verdict(CampaignCounts(3, {"Completed": 2, "Busy": 1}), unreported=0)
    assert (verdict.all_final, verdict.pending, verdict.unreported) == (True, 0, 0)
    assert verdict.failure_reason is None


def test_reconciliation_fails_a_campaign_with_pending_messages_and_says_why() -> None:
    verdict = reconciliation_verdict(CampaignCounts(5, {"Busy": 1}), unreported=3)
    assert (verdict.all_final, verdict.pending, verdict.unreported) == (False, 4, 3)
    assert (
        verdict.failure_reason
        == "4 recipients never reached a final status (3 never reported by the provider)"
    )


def test_unreported_recipients_are_never_more_than_the_pending_ones() -> None:
    verdict = reconciliation_verdict(CampaignCounts(2, {"Completed": 1}), unreported=5)
    assert (verdict.pending, verdict.unreported) == (1, 1)
    assert (
        verdict.failure_reason
        == "1 recipient never reached a final status (1 never reported by the provider)"
    )
    # Once everything is final, nothing can be unreported.
    assert reconciliation_verdict(CampaignCounts(1, {"Completed": 1}), unreported=2).unreported == 0


# ----- the status history a campaign shows -----


def test_a_status_move_retried_after_a_lost_answer_is_shown_once() -> None:
    campaign = _campaign(
        status_history=(
            StatusAt("Queued", "2026-11-27T09:00:00.000Z"),
            StatusAt("Running", "2026-11-27T09:00:01.250Z"),
            StatusAt("Running", "2026-11-27T09:00:01.250Z"),  # the same move, appended again
            StatusAt("Sent", "2026-11-27T09:00:02.000Z"),
        )
    )
    assert campaign.shown_history() == [
        StatusAt("Queued", "2026-11-27T09:00:00.000Z"),
        StatusAt("Running", "2026-11-27T09:00:01.250Z"),
        StatusAt("Sent", "2026-11-27T09:00:02.000Z"),
    ]


def test_step_functions_times_are_shown_in_the_services_one_format() -> None:
    campaign = _campaign(
        status_history=(
            StatusAt("Queued", "2026-11-27T09:00:00.000Z"),
            StatusAt("Running", "2026-11-27T09:00:01.250731Z"),  # EnteredTime, microseconds
            StatusAt("Running", "2026-11-27T09:00:01.250+00:00"),  # the same moment, another spelling
            StatusAt("Failed", "2026-11-27T11:00:02+02:00"),
        )
    )
    assert campaign.shown_history() == [
        StatusAt("Queued", "2026-11-27T09:00:00.000Z"),
        StatusAt("Running", "2026-11-27T09:00:01.250Z"),
        StatusAt("Failed", "2026-11-27T09:00:02.000Z"),
    ]


def test_distinct_moves_are_all_shown_in_their_order() -> None:
    history = (
        StatusAt("Scheduled", "2026-11-27T08:00:00.000Z"),
        StatusAt("Queued", "2026-11-27T09:00:00.000Z"),
        StatusAt("Running", "2026-11-27T09:00:01.000Z"),
        StatusAt("Sent", "2026-11-27T09:00:02.000Z"),
        StatusAt("Finished", "2026-11-27T09:10:00.000Z"),
    )
    assert _campaign(status_history=history).shown_history() == list(history)
    assert _campaign(status_history=()).shown_history() == []
