"""The workflow's functions called directly, for the cases the state machine cannot show quickly."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.functions import InvocationError
from tests.conftest import EVENTS_DIR, TestStack, load_event
from tests.workflow.support import Campaigns, FakeProvider, recipients
from voice_status.providers.base import ProviderError
from voice_status.statuses import CampaignStatus

WORKFLOW_FUNCTIONS = {
    "dispatch": ("DispatchFunction", "LoopTask"),
    "await_scheduled_start": ("AwaitScheduledStartFunction", "TaskTokenTask"),
    "await_completion": ("AwaitCompletionFunction", "TaskTokenTask"),
    "reconcile": ("ReconcileFunction", "LoopTask"),
    "describe_campaign": ("DescribeCampaignFunction", "CampaignTask"),
}


def error_type(stack: TestStack, function: str, event: dict) -> str:
    with pytest.raises(InvocationError) as raised:
        stack.invoke(function, event)
    return str(raised.value.payload["errorType"])


@pytest.mark.parametrize("prefix", sorted(WORKFLOW_FUNCTIONS))
def test_sample_events_are_valid_task_inputs(stack: TestStack, prefix: str) -> None:
    function, model_name = WORKFLOW_FUNCTIONS[prefix]
    model = getattr(stack.functions.module(function), model_name)
    samples = sorted(Path(EVENTS_DIR).glob(f"{prefix}-*.json"))
    assert samples, f"no events/{prefix}-*.json"
    for sample in samples:
        model.model_validate(load_event(sample.name))


def running_campaign(campaigns: Campaigns, count: int, chunk_size: int = 2) -> str:
    campaign_id = campaigns.create(recipients(count), chunk_size=chunk_size, start=False)
    campaigns.advance(campaign_id, CampaignStatus.RUNNING)
    return campaign_id


def test_provider_unreachable_gives_the_chunk_back_and_asks_for_a_retry(
    stack: TestStack, campaigns: Campaigns, provider: FakeProvider
) -> None:
    campaign_id = running_campaign(campaigns, 4)
    provider.refuse = ProviderError("cannot submit campaign: HTTP 503 after 3 attempts", retryable=True)

    assert (
        error_type(stack, "DispatchFunction", {"campaignId": campaign_id, "cursor": 0})
        == "ProviderUnavailable"
    )
    assert campaigns.chunk_states(campaign_id) == ["pending", "pending"]  # certainly not sent: sent later
    assert campaigns.stack.api("GET", f"/campaigns/{campaign_id}/messages").body["items"] == []

    provider.refuse = None
    result = stack.invoke("DispatchFunction", {"campaignId": campaign_id, "cursor": 0})
    assert result == {"cursor": 2, "done": True, "accepted": 4}


def test_an_answer_that_never_came_keeps_the_chunk_as_possibly_sent(
    stack: TestStack, campaigns: Campaigns, provider: FakeProvider
) -> None:
    campaign_id = running_campaign(campaigns, 2)
    provider.refuse = ProviderError("no answer from Routee to submit campaign (ReadTimeout)", retryable=False)

    result = stack.invoke("DispatchFunction", {"campaignId": campaign_id, "cursor": 0})

    assert result == {"cursor": 1, "done": True, "accepted": 0}
    [chunk] = campaigns.chunks(campaign_id)
    assert (chunk.state, chunk.error) == (
        "submitting",
        "no answer from Routee to submit campaign (ReadTimeout)",
    )
    assert campaigns.campaign(campaign_id).total == 2  # never resent, and counted: calls may be placed
    assert stack.invoke("DispatchFunction", {"campaignId": campaign_id, "cursor": 0})["accepted"] == 0
    assert len(provider.submissions) == 1


def test_dispatch_hands_back_after_its_chunk_budget(
    stack: TestStack, campaigns: Campaigns, provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPATCH_MAX_CHUNKS_PER_INVOCATION", "2")
    campaign_id = running_campaign(campaigns, 5, chunk_size=1)

    first = stack.invoke("DispatchFunction", {"campaignId": campaign_id, "cursor": 0})
    second = stack.invoke("DispatchFunction", {"campaignId": campaign_id, "cursor": first["cursor"]})
    third = stack.invoke("DispatchFunction", {"campaignId": campaign_id, "cursor": second["cursor"]})

    assert [first, second, third] == [
        {"cursor": 2, "done": False, "accepted": 2},
        {"cursor": 4, "done": False, "accepted": 2},
        {"cursor": 5, "done": True, "accepted": 1},
    ]
    assert campaigns.campaign(campaign_id).total == 5


def test_dispatch_sends_nothing_for_a_campaign_that_is_not_running(
    stack: TestStack, campaigns: Campaigns, provider: FakeProvider
) -> None:
    campaign_id = campaigns.create(recipients(2), start=False)  # still Queued

    assert error_type(stack, "DispatchFunction", {"campaignId": campaign_id}) == "CampaignNotRunning"
    assert provider.submissions == []


def test_the_schedule_token_is_not_stored_for_a_cancelled_campaign(
    stack: TestStack, campaigns: Campaigns
) -> None:
    campaign_id = campaigns.create(recipients(1), seconds_until_start=60, start=False)
    campaigns.cancel(campaign_id)

    event = {"campaignId": campaign_id, "taskToken": "token"}
    assert error_type(stack, "AwaitScheduledStartFunction", event) == "CampaignCancelled"
    assert campaigns.campaign(campaign_id).schedule_token is None


def test_only_a_final_campaign_has_a_final_event(stack: TestStack, campaigns: Campaigns) -> None:
    campaign_id = campaigns.create(recipients(1), start=False)

    assert error_type(stack, "DescribeCampaignFunction", {"campaignId": campaign_id}) == "CampaignNotFinal"
