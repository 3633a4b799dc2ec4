"""The API and the workflow together: what POST /campaigns starts, the state machine runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.workflow.support import Campaigns, FakeProvider

BODY = {
    "name": "Flu shot reminder",
    "from": "+302100000000",
    "message": {"text": "Your appointment is tomorrow."},
    "recipients": ["+306900000001", "+306900000002", "+306900000001"],
}


def test_a_campaign_posted_to_the_api_runs_to_finished(campaigns: Campaigns, provider: FakeProvider) -> None:
    created = campaigns.stack.api("POST", "/campaigns", BODY)
    assert created.status_code == 201, created.body
    campaign_id = created.body["campaignId"]

    campaigns.wait_for_sent(campaign_id)
    assert [submission.callback_url for submission in provider.submissions] == [created.body["callbackUrl"]]
    for message, to in provider.messages():
        campaigns.callback(campaign_id, message, to, "Completed")
    campaigns.wait_for_end(campaign_id, "SUCCEEDED")

    shown = campaigns.stack.api("GET", f"/campaigns/{campaign_id}").body
    assert shown["status"] == "Finished"
    assert [entry["status"] for entry in shown["statusHistory"]] == ["Queued", "Running", "Sent", "Finished"]
    assert shown["counts"] == {"total": 2, "pending": 0, "final": {"Completed": 2}}


def test_deleting_a_scheduled_campaign_ends_its_workflow(
    campaigns: Campaigns, provider: FakeProvider
) -> None:
    scheduled_at = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    created = campaigns.stack.api("POST", "/campaigns", {**BODY, "scheduledAt": scheduled_at})
    campaign_id = created.body["campaignId"]
    campaigns.wait_until(
        campaign_id, lambda campaign: campaign.schedule_token is not None, "the scheduled wait"
    )

    assert campaigns.stack.api("DELETE", f"/campaigns/{campaign_id}").status_code == 200

    assert campaigns.wait_for_end(campaign_id, "FAILED")["cause"] == "Cancelled"
    [event] = campaigns.notifications(1)
    assert (event["detail-type"], event["detail"]["failureReason"]) == ("Voice Campaign Failed", "Cancelled")
    assert provider.submissions == []
