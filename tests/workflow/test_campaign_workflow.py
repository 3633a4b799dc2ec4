"""The campaign workflow end to end: the real ASL in moto's interpreter, the real handlers."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.workflow.support import Campaigns, FakeProvider, message_id, recipients
from voice_status.providers.base import ProviderError, Submission


def dispatch_calls(campaigns: Campaigns, campaign_id: str) -> int:
    return sum(
        1
        for event in campaigns.history(campaign_id)
        if event["type"] == "TaskStateEntered" and event["stateEnteredEventDetails"]["name"] == "Dispatch"
    )


def test_immediate_campaign_finishes_when_the_last_callback_arrives(
    campaigns: Campaigns, provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISPATCH_MAX_CHUNKS_PER_INVOCATION", "1")
    numbers = recipients(5)
    campaign_id = campaigns.create(numbers, chunk_size=2)

    campaigns.wait_for_sent(campaign_id)
    messages = provider.messages()
    assert sorted(to for _, to in messages) == numbers
    for message, to in messages:
        assert campaigns.callback(campaign_id, message, to, "Ringing").status_code == 200
    for message, to in messages:
        assert campaigns.callback(campaign_id, message, to, "Completed").status_code == 200

    campaigns.wait_for_end(campaign_id, "SUCCEEDED")
    campaign = campaigns.campaign(campaign_id)
    assert campaign.status == "Finished"
    assert campaigns.statuses(campaign_id) == ["Queued", "Running", "Sent", "Finished"]
    assert campaigns.counts(campaign_id) == {"total": 5, "pending": 0, "final": {"Completed": 5}}
    [event] = campaigns.notifications(1)
    assert event["detail-type"] == "Voice Campaign Finished"
    assert event["source"] == "voice.status"
    assert event["detail"]["eventId"] == f"{campaign_id}:Finished"
    assert event["detail"]["counts"] == {"total": 5, "pending": 0, "final": {"Completed": 5}}
    assert [entry["status"] for entry in event["detail"]["statusHistory"]] == campaigns.statuses(campaign_id)
    # One chunk per Dispatch call: three chunks, three calls, each submitting its own recipients once.
    assert [len(submission.recipients) for submission in provider.submissions] == [2, 2, 1]
    assert dispatch_calls(campaigns, campaign_id) == 3
    assert all(submission.callback_url == campaign.callback_url for submission in provider.submissions)


def test_scheduled_campaign_waits_for_its_start_then_runs(
    campaigns: Campaigns, provider: FakeProvider
) -> None:
    campaign_id = campaigns.create(recipients(2), seconds_until_start=2)

    waiting = campaigns.wait_until(
        campaign_id, lambda campaign: campaign.schedule_token is not None, "the scheduled wait"
    )
    assert waiting.status == "Scheduled"
    assert provider.submissions == []  # nothing is sent before the scheduled start

    sent = campaigns.wait_for_sent(campaign_id)
    assert sent.schedule_token is None
    for message, to in provider.messages():
        campaigns.callback(campaign_id, message, to, "Busy")
    campaigns.wait_for_end(campaign_id, "SUCCEEDED")
    assert campaigns.statuses(campaign_id) == ["Scheduled", "Queued", "Running", "Sent", "Finished"]
    assert campaigns.counts(campaign_id) == {"total": 2, "pending": 0, "final": {"Busy": 2}}


def test_provider_refusing_every_chunk_fails_the_campaign_with_its_reason(
    campaigns: Campaigns, provider: FakeProvider
) -> None:
    provider.refuse = ProviderError("Routee refused to submit campaign: HTTP 401", status_code=401)
    campaign_id = campaigns.create(recipients(3), chunk_size=2)

    execution = campaigns.wait_for_end(campaign_id, "FAILED")
    campaign = campaigns.campaign(campaign_id)
    reason = "The provider accepted none of the campaign's 3 recipients: Routee refused to submit campaign: HTTP 401"
    assert (campaign.status, campaign.failure_reason) == ("Failed", reason)
    assert campaigns.statuses(campaign_id) == ["Queued", "Running", "Failed"]
    assert (execution["error"], execution["cause"]) == ("CampaignFailed", reason)
    assert campaigns.chunk_states(campaign_id) == ["failed", "failed"]
    # Refused: nobody was handed over, so nobody is listed and no callback can count.
    assert campaigns.stack.api("GET", f"/campaigns/{campaign_id}/messages").body["items"] == []
    [event] = campaigns.notifications(1)
    assert event["detail-type"] == "Voice Campaign Failed"
    assert event["detail"]["failureReason"] == reason
    assert event["detail"]["counts"] == {"total": 0, "pending": 0, "final": {}}


def test_callbacks_finishing_every_message_before_the_token_is_stored_still_wake_the_workflow(
    campaigns: Campaigns, provider: FakeProvider
) -> None:
    # A carrier so fast that every message is final while the campaign is still Running: the
    # callbacks find no token to send, so only the Sent task's own check can wake the workflow.
    def finish_at_once(submission: Submission, tracking_id: str) -> None:
        for number, to in enumerate(submission.recipients):
            response = campaigns.callback(
                submission.campaign_id, message_id(tracking_id, number), to, "Completed"
            )
            assert response.status_code == 200

    provider.on_submit = finish_at_once
    campaign_id = campaigns.create(recipients(3))

    campaigns.wait_for_end(campaign_id, "SUCCEEDED")
    assert campaigns.campaign(campaign_id).status == "Finished"
    assert campaigns.counts(campaign_id) == {"total": 3, "pending": 0, "final": {"Completed": 3}}


def test_completion_timeout_reconciles_through_tracking_and_finishes(
    campaigns: Campaigns, provider: FakeProvider
) -> None:
    numbers = recipients(3)
    provider.tracking = {numbers[0]: "Completed", numbers[1]: "NoAnswer", numbers[2]: "Completed"}
    campaign_id = campaigns.create(numbers, completion_timeout_seconds=1)

    campaigns.wait_for_end(campaign_id, "SUCCEEDED")
    assert campaigns.statuses(campaign_id) == ["Queued", "Running", "Sent", "Finished"]
    assert campaigns.counts(campaign_id) == {
        "total": 3,
        "pending": 0,
        "final": {"Completed": 2, "NoAnswer": 1},
    }
    [event] = campaigns.notifications(1)
    assert event["detail-type"] == "Voice Campaign Finished"


def test_completion_timeout_with_messages_never_final_fails_the_campaign(
    campaigns: Campaigns, provider: FakeProvider
) -> None:
    numbers = recipients(4)
    provider.tracking = {numbers[0]: "Completed", numbers[1]: "Unknown"}  # numbers[2:] are not tracked

    def the_last_is_busy(submission: Submission, tracking_id: str) -> None:  # before the timeout starts
        number = submission.recipients.index(numbers[3])
        response = campaigns.callback(
            submission.campaign_id, message_id(tracking_id, number), numbers[3], "Busy"
        )
        assert response.status_code == 200

    provider.on_submit = the_last_is_busy
    campaign_id = campaigns.create(numbers, completion_timeout_seconds=1)

    execution = campaigns.wait_for_end(campaign_id, "FAILED")
    campaign = campaigns.campaign(campaign_id)
    reason = "2 recipients never reached a final status (1 never reported by the provider)"
    assert (campaign.status, campaign.failure_reason) == ("Failed", reason)
    assert campaigns.statuses(campaign_id) == ["Queued", "Running", "Sent", "Failed"]
    assert execution["cause"] == reason
    assert campaigns.counts(campaign_id) == {"total": 4, "pending": 2, "final": {"Completed": 1, "Busy": 1}}
    [event] = campaigns.notifications(1)
    assert event["detail-type"] == "Voice Campaign Failed"
    assert event["detail"]["failureReason"] == reason


def test_cancel_while_scheduled_fails_the_campaign_without_sending(
    campaigns: Campaigns, provider: FakeProvider
) -> None:
    campaign_id = campaigns.create(recipients(2), seconds_until_start=3600)
    campaigns.wait_until(
        campaign_id, lambda campaign: campaign.schedule_token is not None, "the scheduled wait"
    )

    campaigns.cancel(campaign_id)

    execution = campaigns.wait_for_end(campaign_id, "FAILED")
    campaign = campaigns.campaign(campaign_id)
    assert (campaign.status, campaign.failure_reason) == ("Failed", "Cancelled")
    assert campaigns.statuses(campaign_id) == ["Scheduled", "Failed"]  # the workflow added nothing after
    assert execution["cause"] == "Cancelled"
    assert provider.submissions == []
    [event] = campaigns.notifications(1)
    assert (event["detail-type"], event["detail"]["failureReason"]) == ("Voice Campaign Failed", "Cancelled")


def test_cancel_while_queued_stops_the_campaign_before_dispatch(
    campaigns: Campaigns, provider: FakeProvider
) -> None:
    campaign_id = campaigns.create(recipients(2), start=False)
    campaigns.cancel(campaign_id)
    campaigns.start(campaign_id)

    campaigns.wait_for_end(campaign_id, "FAILED")
    campaign = campaigns.campaign(campaign_id)
    assert (campaign.status, campaign.failure_reason) == ("Failed", "Cancelled")
    assert campaigns.statuses(campaign_id) == ["Queued", "Failed"]
    assert provider.submissions == []


def test_a_chunk_already_submitting_is_never_resubmitted(
    campaigns: Campaigns, provider: FakeProvider
) -> None:
    # Chunk 1 was claimed by an attempt that crashed before recording the provider's answer.
    numbers = recipients(6)
    campaign_id = campaigns.create(numbers, chunk_size=2, claimed_chunks=(1,))
    campaigns.wait_for_sent(campaign_id)

    sent = sorted(to for submission in provider.submissions for to in submission.recipients)
    assert sent == numbers[:2] + numbers[4:]
    assert campaigns.chunk_states(campaign_id) == ["submitted", "submitting", "submitted"]
    # It may have been called, so it counts in the total: its messages can still turn final.
    assert campaigns.campaign(campaign_id).total == 6


def test_a_retried_dispatch_does_not_resend_the_chunk_it_crashed_on(
    campaigns: Campaigns, provider: FakeProvider
) -> None:
    numbers = recipients(6)
    provider.crash_once_on = numbers[2]  # the first attempt dies while sending chunk 1
    campaign_id = campaigns.create(numbers, chunk_size=2)
    campaigns.wait_for_sent(campaign_id)

    attempts = [submission.recipients for submission in provider.submissions]
    assert attempts == [numbers[0:2], numbers[2:4], numbers[4:6]]  # chunk 1 was tried exactly once
    assert campaigns.chunk_states(campaign_id) == ["submitted", "submitting", "submitted"]
    assert dispatch_calls(campaigns, campaign_id) == 1  # one state entry: all chunks, retried inside it
    failed = [event for event in campaigns.history(campaign_id) if event["type"] == "TaskFailed"]
    assert [event["taskFailedEventDetails"]["error"] for event in failed] == ["ConnectionResetError"]


@pytest.mark.parametrize("function", ["AwaitScheduledStartFunction", "AwaitCompletionFunction"])
def test_a_transient_error_in_a_wait_task_is_retried(
    campaigns: Campaigns, provider: FakeProvider, monkeypatch: pytest.MonkeyPatch, function: str
) -> None:
    store = campaigns.stack.functions.module(function).store
    write = "store_schedule_token" if function == "AwaitScheduledStartFunction" else "store_completion_token"
    original = getattr(store, write)
    failures = iter([True])

    def hiccup(*args: object) -> bool:
        if next(failures, False):
            raise ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "DynamoDB hiccup"}}, "UpdateItem"
            )
        return bool(original(*args))

    monkeypatch.setattr(store, write, hiccup)
    numbers = recipients(2)
    provider.tracking = dict.fromkeys(numbers, "Completed")
    campaign_id = campaigns.create(numbers, seconds_until_start=2, completion_timeout_seconds=1)

    campaigns.wait_for_end(campaign_id, "SUCCEEDED")
    assert campaigns.statuses(campaign_id) == ["Scheduled", "Queued", "Running", "Sent", "Finished"]
    failed = [event for event in campaigns.history(campaign_id) if event["type"].endswith("Failed")]
    assert [event["type"] for event in failed] == ["TaskFailed"], failed


def test_reconciliation_works_in_bounded_steps_and_asks_only_about_chunks_with_pending_messages(
    campaigns: Campaigns, provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILE_MAX_CHUNKS_PER_INVOCATION", "1")
    numbers = recipients(8)  # four chunks of two
    pending = [numbers[1], numbers[5], numbers[7]]  # in chunks 0, 2 and 3; chunk 1 is all final
    provider.tracking = dict.fromkeys(pending, "Completed")

    # The others' final callbacks arrive as their chunk is sent, so all of them are in before the
    # 1 s completion timeout starts, however slow the machine.
    def the_others_are_busy(submission: Submission, tracking_id: str) -> None:
        for number, to in enumerate(submission.recipients):
            if to not in pending:
                response = campaigns.callback(
                    submission.campaign_id, message_id(tracking_id, number), to, "Busy"
                )
                assert response.status_code == 200

    provider.on_submit = the_others_are_busy
    campaign_id = campaigns.create(numbers, chunk_size=2, completion_timeout_seconds=1)

    campaigns.wait_for_end(campaign_id, "SUCCEEDED")

    assert campaigns.counts(campaign_id) == {"total": 8, "pending": 0, "final": {"Completed": 3, "Busy": 5}}
    assert provider.tracked == ["trk-0", "trk-2", "trk-3"]  # never the chunk with nothing pending
    reconciles = [
        event
        for event in campaigns.history(campaign_id)
        if event["type"] == "TaskStateEntered" and event["stateEnteredEventDetails"]["name"] == "Reconcile"
    ]
    assert len(reconciles) == 3  # one chunk with pending messages per invocation, then done
