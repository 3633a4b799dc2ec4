"""The workflow's campaign status moves, exactly as the state machine sends them to DynamoDB.

Each Mark* state's updateItem parameters are taken from the deployed definition and resolved the
way Step Functions resolves them, so the conditions tested here are the real ones: a move happens
only from the expected status and only along the campaign lifecycle, writes the store's key and
history format, and a retry of a move whose answer was lost passes once, without showing the
move twice.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.workflow.support import Campaigns, recipients, state_parameters
from voice_status.campaign import keys
from voice_status.campaign.model import StatusAt
from voice_status.statuses import CAMPAIGN_TRANSITIONS, CampaignStatus

MOVES = [
    ("MarkQueued", CampaignStatus.SCHEDULED, CampaignStatus.QUEUED),
    ("MarkRunning", CampaignStatus.QUEUED, CampaignStatus.RUNNING),
    ("MarkSent", CampaignStatus.RUNNING, CampaignStatus.SENT),
    ("MarkFinished", CampaignStatus.SENT, CampaignStatus.FINISHED),
    ("MarkFailed", CampaignStatus.SENT, CampaignStatus.FAILED),
]
ENTERED = "2026-11-27T09:00:00.123Z"


def _campaign_at(campaigns: Campaigns, status: CampaignStatus) -> str:
    scheduled = status == CampaignStatus.SCHEDULED
    campaign_id = campaigns.create(recipients(2), seconds_until_start=3600 if scheduled else 0, start=False)
    campaigns.advance(campaign_id, status)
    return campaign_id


@pytest.mark.parametrize(("state", "before", "after"), MOVES)
def test_each_move_is_a_lifecycle_move_on_the_stores_key(
    campaigns: Campaigns, state: str, before: CampaignStatus, after: CampaignStatus
) -> None:
    assert after in CAMPAIGN_TRANSITIONS[before]
    parameters = state_parameters(campaigns.stack, state)
    key = parameters["Key"]
    assert key["pk"] == {"S.$": "States.Format('CAMPAIGN#{}', $.campaignId)"}
    assert keys.campaign_key("{}")["pk"]["S"] == "CAMPAIGN#{}"  # the store's key, spelled the same
    assert key["sk"] == {"S": keys.CAMPAIGN_SK}


@pytest.mark.parametrize(("state", "before", "after"), MOVES)
def test_a_move_happens_once_and_a_lost_answer_retry_passes(
    campaigns: Campaigns, state: str, before: CampaignStatus, after: CampaignStatus
) -> None:
    campaign_id = _campaign_at(campaigns, before)
    history_before = campaigns.campaign(campaign_id).shown_history()

    campaigns.move(campaign_id, state, ENTERED, failure="Provider refused the campaign")
    campaigns.move(
        campaign_id, state, ENTERED, failure="Provider refused the campaign"
    )  # the lost-answer retry

    campaign = campaigns.campaign(campaign_id)  # the store reads what the state machine wrote
    assert campaign.status == after
    assert campaign.shown_history()[len(history_before) :] == [StatusAt(after.value, ENTERED)]


@pytest.mark.parametrize(("state", "before", "after"), MOVES)
def test_a_move_from_another_status_is_refused(
    campaigns: Campaigns, state: str, before: CampaignStatus, after: CampaignStatus
) -> None:
    campaign_id = _campaign_at(campaigns, CampaignStatus.FINISHED)  # final: no move may leave it

    with pytest.raises(ClientError) as refused:
        campaigns.move(campaign_id, state, ENTERED, failure="too late")

    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert campaigns.campaign(campaign_id).status == CampaignStatus.FINISHED


def test_a_cancelled_campaign_keeps_its_reason_when_the_workflow_fails_it_later(campaigns: Campaigns) -> None:
    campaign_id = campaigns.create(recipients(2), start=False)
    assert campaigns.stack.api("DELETE", f"/campaigns/{campaign_id}").status_code == 200

    with pytest.raises(ClientError):
        campaigns.move(campaign_id, "MarkFailed", ENTERED, failure="Unexpected workflow error")

    assert campaigns.campaign(campaign_id).failure_reason == "Cancelled"
