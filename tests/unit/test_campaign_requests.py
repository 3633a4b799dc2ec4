"""POST /campaigns rules: validation, de-duplication, chunking, the start rule, the workflow's
input, page tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from voice_status.campaign.model import (
    chunk_recipients,
    execution_arn,
    new_campaign_id,
    plan_start,
    workflow_input,
)
from voice_status.campaign.requests import CreateCampaignRequest
from voice_status.errors import InvalidPageToken
from voice_status.paging import decode_page_token, encode_page_token
from voice_status.providers.base import MAX_RECIPIENTS_PER_SUBMISSION
from voice_status.statuses import CampaignStatus

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Flu shot reminder",
        "from": "+302100000000",
        "message": {"text": "Your appointment is tomorrow."},
        "recipients": ["+306900000001", "+306900000002"],
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


def _errors(body: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        CreateCampaignRequest.model_validate(body)
    return [".".join(str(part) for part in error["loc"]) for error in caught.value.errors()]


def test_a_minimal_text_campaign_gets_the_contracts_defaults() -> None:
    request = CreateCampaignRequest.model_validate(_body())
    assert request.message is not None
    assert (request.message.language, request.message.gender) == ("en-US", "female")
    assert request.completion_timeout_seconds == 86_400
    assert request.scheduled_at is None
    assert request.audio_url is None
    assert request.from_ == "+302100000000"


def test_duplicate_recipients_are_removed_keeping_the_first_order() -> None:
    recipients = ["+306900000003", "+306900000001", "+306900000003", "+306900000002", "+306900000001"]
    request = CreateCampaignRequest.model_validate(_body(recipients=recipients))
    assert request.recipients == ["+306900000003", "+306900000001", "+306900000002"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),  # blank once stripped
        ({"name": "x" * 101}, "name"),
        ({"from": "2100000000"}, "from"),
        ({"recipients": []}, "recipients"),
        ({"recipients": ["+306900000001", "306900000002"]}, "recipients.1"),
        ({"recipients": ["+0123456789"]}, "recipients.0"),
        ({"recipients": ["+12345"]}, "recipients.0"),  # too short for E.164
        ({"recipients": ["+1234567890123456"]}, "recipients.0"),  # 16 digits: too long
        ({"recipients": ["+30690000000\u0661"]}, "recipients.0"),  # an Arabic-Indic digit
        ({"message": {"text": ""}}, "message.text"),
        ({"message": {"text": "x" * 1001}}, "message.text"),
        ({"message": {"text": "hi", "gender": "robot"}}, "message.gender"),
        ({"message": {"text": "hi", "voice": "Joanna"}}, "message.voice"),
        ({"completionTimeoutSeconds": 0}, "completionTimeoutSeconds"),
        ({"completionTimeoutSeconds": 604_801}, "completionTimeoutSeconds"),
        ({"scheduledAt": "2026-12-01T09:00:00"}, "scheduledAt"),  # no zone
        ({"scheduledAt": 1795770031}, "scheduledAt"),  # not ISO-8601
        ({"scheduledAt": "tomorrow"}, "scheduledAt"),
        ({"unexpected": True}, "unexpected"),
    ],
)
def test_invalid_fields_are_named_in_the_errors(changes: dict[str, Any], field: str) -> None:
    assert field in _errors(_body(**changes))


def test_more_than_100000_recipients_is_rejected() -> None:
    recipients = [f"+3069{index:08d}" for index in range(100_001)]
    assert "recipients" in _errors(_body(recipients=recipients))


def test_the_limit_counts_distinct_recipients() -> None:
    recipients = [f"+3069{index:08d}" for index in range(100_000)]
    request = CreateCampaignRequest.model_validate(_body(recipients=recipients + recipients[:5]))
    assert request.recipients == recipients


def test_exactly_100000_recipients_is_accepted() -> None:
    recipients = [f"+3069{index:08d}" for index in range(100_000)]
    assert len(CreateCampaignRequest.model_validate(_body(recipients=recipients)).recipients) == 100_000


def test_an_https_wav_url_replaces_the_message() -> None:
    request = CreateCampaignRequest.model_validate(
        _body(message=..., audioUrl="https://cdn.example.com/calls/Reminder.WAV")
    )
    assert request.audio_url == "https://cdn.example.com/calls/Reminder.WAV"
    assert request.message is None


@pytest.mark.parametrize(
    "url",
    ["http://cdn.example.com/a.wav", "https://cdn.example.com/a.mp3", "https:///a.wav", "not a url"],
)
def test_audio_url_must_be_https_and_wav(url: str) -> None:
    assert "audioUrl" in _errors(_body(message=..., audioUrl=url))


def test_exactly_one_of_message_and_audio_url() -> None:
    both = _body(audioUrl="https://cdn.example.com/a.wav")
    neither = _body(message=...)
    assert _errors(both) == [""]
    assert _errors(neither) == [""]


def test_scheduled_at_accepts_any_zone_and_at_most_355_days_ahead() -> None:
    # 355 days: the execution (start wait + up to 7 days of completion wait) must fit in a year.
    soon = datetime.now(timezone(timedelta(hours=2))) + timedelta(days=354)
    request = CreateCampaignRequest.model_validate(_body(scheduledAt=soon.isoformat()))
    assert request.scheduled_at == soon
    too_far = datetime.now(UTC) + timedelta(days=356)
    assert "scheduledAt" in _errors(_body(scheduledAt=too_far.isoformat()))


def test_a_past_or_absent_start_means_now() -> None:
    for scheduled_at in (None, NOW - timedelta(days=3), NOW):
        plan = plan_start(scheduled_at, NOW)
        assert (plan.status, plan.scheduled_at, plan.seconds_until_start) == (CampaignStatus.QUEUED, None, 0)


def test_a_future_start_is_scheduled_with_whole_seconds_rounded_up() -> None:
    plan = plan_start(NOW + timedelta(hours=1, milliseconds=200), NOW)
    assert plan.status == CampaignStatus.SCHEDULED
    assert plan.seconds_until_start == 3601
    assert plan.scheduled_at == "2026-03-01T13:00:00.200Z"
    assert plan_start(NOW + timedelta(milliseconds=1), NOW).seconds_until_start == 1


def test_a_scheduled_time_in_another_zone_is_stored_in_utc() -> None:
    athens = timezone(timedelta(hours=2))
    plan = plan_start(datetime(2026, 3, 1, 16, 0, tzinfo=athens), NOW)
    assert plan.scheduled_at == "2026-03-01T14:00:00.000Z"
    assert plan.seconds_until_start == 7200


@pytest.mark.parametrize("count", [1, 999, 1000, 1001, 2500])
def test_chunks_hold_at_most_1000_recipients_in_order(count: int) -> None:
    recipients = [f"+3069{index:08d}" for index in range(count)]
    chunks = chunk_recipients(recipients)
    assert MAX_RECIPIENTS_PER_SUBMISSION == 1000
    assert all(1 <= len(chunk) <= MAX_RECIPIENTS_PER_SUBMISSION for chunk in chunks)
    assert [number for chunk in chunks for number in chunk] == recipients
    assert len(chunks) == -(-count // MAX_RECIPIENTS_PER_SUBMISSION)


def test_smaller_chunks_on_request() -> None:
    assert chunk_recipients(["+306900000001", "+306900000002", "+306900000003"], 2) == [
        ["+306900000001", "+306900000002"],
        ["+306900000003"],
    ]


def test_campaign_ids_are_distinct_uuids() -> None:
    ids = {new_campaign_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(campaign_id) == 36 and campaign_id.count("-") == 4 for campaign_id in ids)


def test_the_workflow_input_and_execution_follow_the_data_model() -> None:
    scheduled = plan_start(NOW + timedelta(minutes=5), NOW)
    assert workflow_input("c-1", scheduled, 60) == {
        "campaignId": "c-1",
        "scheduledAt": "2026-03-01T12:05:00.000Z",
        "secondsUntilStart": 300,
        "completionTimeoutSeconds": 60,
    }
    now = plan_start(None, NOW)
    assert workflow_input("c-2", now, 86_400) == {
        "campaignId": "c-2",
        "scheduledAt": None,
        "secondsUntilStart": 0,
        "completionTimeoutSeconds": 86_400,
    }
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:voice-status-campaign"
    assert execution_arn(machine, "c-1") == (
        "arn:aws:states:us-east-1:123456789012:execution:voice-status-campaign:c-1"
    )


def test_page_tokens_round_trip_and_reject_anything_else() -> None:
    key = {
        "pk": {"S": "MESSAGE#c#+306900000001"},
        "sk": {"S": "MESSAGE"},
        "gsi1pk": {"S": "CAMPAIGN#c"},
        "gsi1sk": {"S": "Busy#+306900000001"},
    }
    token = encode_page_token(key)
    assert "=" not in token and "+" not in token and "/" not in token
    assert decode_page_token(token) == key
    for bad in (
        "",
        "!!!",
        "bm90IGpzb24",  # "not json"
        encode_page_token({"pk": {"N": "1"}}),
        encode_page_token({"pk": {"S": 1}}),
        encode_page_token({"pk": "MESSAGE#c"}),
        "WzFd",  # [1]
    ):
        with pytest.raises(InvalidPageToken):
            decode_page_token(bad)
