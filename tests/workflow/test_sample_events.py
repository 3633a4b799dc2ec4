"""Every events/<workflow function>-*.json invoked like `sam local invoke -e` would, in the order the
workflow calls them, against the sample campaign they name."""

from __future__ import annotations

from tests.conftest import EVENTS_DIR, TestStack, load_event
from tests.workflow.support import Campaigns, FakeProvider, recipients
from voice_status.statuses import CampaignStatus

SAMPLES = [
    "await_scheduled_start-store-token.json",
    "dispatch-first-call.json",
    "dispatch-continue.json",
    "await_completion-store-token.json",
    "reconcile-after-timeout.json",
    "describe_campaign-final.json",
]
WORKFLOW_PREFIXES = (
    "await_scheduled_start",
    "dispatch",
    "await_completion",
    "reconcile",
    "describe_campaign",
)


def test_the_walk_covers_every_workflow_sample() -> None:
    on_disk = {path.name for prefix in WORKFLOW_PREFIXES for path in EVENTS_DIR.glob(f"{prefix}-*.json")}
    assert set(SAMPLES) == on_disk


def test_workflow_samples_walk_a_campaign_through_its_tasks(
    stack: TestStack, campaigns: Campaigns, provider: FakeProvider
) -> None:
    events = {name: load_event(name) for name in SAMPLES}
    campaign_id = events["dispatch-first-call.json"]["campaignId"]
    assert {event["campaignId"] for event in events.values()} == {campaign_id}
    numbers = recipients(2)
    campaigns.create(numbers, seconds_until_start=60, start=False, campaign_id=campaign_id)

    stack.invoke("AwaitScheduledStartFunction", events["await_scheduled_start-store-token.json"])
    stored = campaigns.campaign(campaign_id).schedule_token
    assert stored == events["await_scheduled_start-store-token.json"]["taskToken"]

    campaigns.advance(campaign_id, CampaignStatus.RUNNING)
    first = stack.invoke("DispatchFunction", events["dispatch-first-call.json"])
    assert first == {"cursor": 1, "done": True, "accepted": 2}
    again = stack.invoke("DispatchFunction", events["dispatch-continue.json"])
    assert again["done"] is True
    assert len(provider.submissions) == 1, "a later cursor must not resubmit anything"

    campaigns.advance(campaign_id, CampaignStatus.SENT)
    stack.invoke("AwaitCompletionFunction", events["await_completion-store-token.json"])
    token = campaigns.campaign(campaign_id).completion_token
    assert token == events["await_completion-store-token.json"]["taskToken"]

    provider.tracking = {numbers[0]: "Completed"}
    verdict = stack.invoke("ReconcileFunction", events["reconcile-after-timeout.json"])
    assert verdict == {
        "cursor": 1,
        "done": True,
        "allFinal": False,
        "pending": 1,
        "failureReason": "1 recipient never reached a final status (1 never reported by the provider)",
    }

    campaigns.advance(campaign_id, CampaignStatus.FINISHED)
    described = stack.invoke("DescribeCampaignFunction", events["describe_campaign-final.json"])
    assert described["detailType"] == "Voice Campaign Finished"
    assert described["detail"]["eventId"] == f"{campaign_id}:Finished"
    assert described["detail"]["counts"] == {"total": 2, "pending": 1, "final": {"Completed": 1}}
