"""The campaign workflow's pure decisions (voice_status.dispatching)."""

from __future__ import annotations

import pytest

from voice_status.counts import CampaignCounts
from voice_status.dispatching import (
    Chunk,
    ChunkState,
    ChunkSummary,
    DispatchBudget,
    SubmitFailure,
    budget_from_settings,
    classify_provider_error,
    dispatched_total,
    nothing_accepted_reason,
    reconciliation_verdict,
    submission_for,
    submission_problem,
)
from voice_status.providers.base import ProviderError, TextMessage

CAMPAIGN = {
    "campaignId": "c-1",
    "name": "Flu shot reminder",
    "from": "+302100000000",
    "message": {"text": "Hello", "language": "en-US", "gender": "female"},
    "callbackUrl": "https://api.example.test/dev/callbacks/voice/c-1/sig",
}


def test_every_call_handles_at_least_one_chunk_then_stops_near_its_deadline() -> None:
    budget = DispatchBudget(safety_margin_ms=60_000)
    assert budget.allows_another(handled=0, remaining_ms=1_000)
    assert budget.allows_another(handled=5, remaining_ms=60_000)
    assert not budget.allows_another(handled=5, remaining_ms=59_999)


def test_chunk_limit_per_call() -> None:
    budget = budget_from_settings("3")
    assert budget.allows_another(handled=2, remaining_ms=900_000)
    assert not budget.allows_another(handled=3, remaining_ms=900_000)
    assert (budget.chunks_per_read, budget_from_settings("50").chunks_per_read) == (4, 10)
    assert budget_from_settings(None).max_chunks is None
    assert budget_from_settings(" ").max_chunks is None
    with pytest.raises(ValueError, match="at least 1"):
        budget_from_settings("0")


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (
            ProviderError("HTTP 503 after 3 attempts", retryable=True, status_code=503),
            SubmitFailure.RETRY_LATER,
        ),
        (ProviderError("HTTP 400 (bad number)", status_code=400), SubmitFailure.REFUSED),
        (ProviderError("HTTP 401", status_code=401), SubmitFailure.REFUSED),
        (ProviderError("gateway timed out", status_code=504), SubmitFailure.UNCERTAIN),
        (ProviderError("no answer (ReadTimeout)"), SubmitFailure.UNCERTAIN),
    ],
)
def test_what_a_provider_error_means_for_the_chunk(error: ProviderError, failure: SubmitFailure) -> None:
    assert classify_provider_error(error) is failure


def test_total_counts_accepted_and_possibly_sent_recipients() -> None:
    chunks = [
        ChunkSummary(ChunkState.SUBMITTED, recipients=0, accepted=998),
        ChunkSummary(ChunkState.SUBMITTING, recipients=1000),  # crashed mid-call: may be sent
        ChunkSummary(ChunkState.FAILED, recipients=0, error="HTTP 400"),
    ]
    assert dispatched_total(chunks) == 1998


def test_reason_when_nothing_was_accepted() -> None:
    chunks = [
        ChunkSummary(ChunkState.FAILED, recipients=0, error="HTTP 401"),
        ChunkSummary(ChunkState.FAILED, recipients=0, error="HTTP 401"),
    ]
    assert dispatched_total(chunks) == 0
    reason = nothing_accepted_reason(1003, chunks)
    assert reason == "The provider accepted none of the campaign's 1003 recipients: HTTP 401"
    assert nothing_accepted_reason(2, []) == "The provider accepted none of the campaign's 2 recipients"


def test_submission_of_a_text_campaign_chunk() -> None:
    submission = submission_for(CAMPAIGN, Chunk("c-1", 3, ["+306900000001"], ChunkState.PENDING))
    assert submission.message == TextMessage("Hello", "en-US", "female")
    assert (submission.audio_url, submission.recipients) == (None, ["+306900000001"])
    assert submission.callback_url == CAMPAIGN["callbackUrl"]
    assert submission_problem(submission) is None


def test_submission_of_an_audio_campaign_chunk() -> None:
    campaign = {key: value for key, value in CAMPAIGN.items() if key != "message"}
    campaign["audioUrl"] = "https://example.test/hello.wav"
    submission = submission_for(campaign, Chunk("c-1", 0, ["+306900000001"], ChunkState.PENDING))
    assert (submission.message, submission.audio_url) == (None, "https://example.test/hello.wav")


def test_an_empty_chunk_is_a_problem_known_before_sending() -> None:
    submission = submission_for(CAMPAIGN, Chunk("c-1", 0, [], ChunkState.PENDING))
    assert submission_problem(submission) == "a submission holds 1 to 1000 recipients, got 0"


def test_reconciliation_verdict() -> None:
    assert reconciliation_verdict(CampaignCounts(3, {"Completed": 3})).as_dict() == {
        "allFinal": True,
        "pending": 0,
    }
    assert reconciliation_verdict(CampaignCounts(3, {"Busy": 1})).as_dict() == {
        "allFinal": False,
        "pending": 2,
    }
