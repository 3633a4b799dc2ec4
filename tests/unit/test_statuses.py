import pytest

from voice_status.campaign.model import CANCELLABLE_STATUSES, statuses_that_may_move_to
from voice_status.statuses import (
    CAMPAIGN_TRANSITIONS,
    FINAL_MESSAGE_STATUSES,
    INTERMEDIATE_MESSAGE_STATUSES,
    CampaignStatus,
    MessageStatus,
    parse_message_status,
)


def can_move_campaign(current: CampaignStatus, target: CampaignStatus) -> bool:
    return target in CAMPAIGN_TRANSITIONS[current]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("No Answer", MessageStatus.NO_ANSWER),
        ("no_answer", MessageStatus.NO_ANSWER),
        ("NOANSWER", MessageStatus.NO_ANSWER),
        ("no-answer", MessageStatus.NO_ANSWER),
        ("in progress", MessageStatus.IN_PROGRESS),
        ("  completed ", MessageStatus.COMPLETED),
        ("Queued", MessageStatus.QUEUED),
    ],
)
def test_status_names_match_loosely(name: str, expected: MessageStatus) -> None:
    assert parse_message_status(name) is expected


@pytest.mark.parametrize("name", ["", "Exploded", "Complete", "No Answer Yet", "Delivered"])
def test_unknown_status_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="unknown message status"):
        parse_message_status(name)


def test_eleven_statuses_six_of_them_final() -> None:
    assert len(MessageStatus) == 11
    assert {status.value for status in FINAL_MESSAGE_STATUSES} == {
        "Completed",
        "Busy",
        "NoAnswer",
        "Failed",
        "Unsent",
        "Terminated",
    }
    assert all(not status.is_final for status in INTERMEDIATE_MESSAGE_STATUSES)


def test_progress_order_of_intermediates_and_finals_above_them() -> None:
    ranks = [status.rank for status in INTERMEDIATE_MESSAGE_STATUSES]
    assert ranks == sorted(ranks) and len(set(ranks)) == 5
    assert [s.value for s in INTERMEDIATE_MESSAGE_STATUSES] == [
        "Queued",
        "Initiated",
        "Ringing",
        "InProgress",
        "Unknown",
    ]
    assert min(status.rank for status in FINAL_MESSAGE_STATUSES) > max(ranks)


def test_campaign_lifecycle_moves_forward_and_fails_from_any_non_final() -> None:
    order = [CampaignStatus.SCHEDULED, CampaignStatus.QUEUED, CampaignStatus.RUNNING, CampaignStatus.SENT]
    for current, following in zip(order, [*order[1:], CampaignStatus.FINISHED], strict=True):
        assert can_move_campaign(current, following)
        assert can_move_campaign(current, CampaignStatus.FAILED)
        assert not can_move_campaign(following, current)
    for final in (CampaignStatus.FINISHED, CampaignStatus.FAILED):
        assert final.is_final
        assert not any(can_move_campaign(final, target) for target in CampaignStatus)
    assert set(CAMPAIGN_TRANSITIONS) == set(CampaignStatus)


def test_only_a_campaign_that_has_not_started_dispatching_can_be_cancelled() -> None:
    assert set(CANCELLABLE_STATUSES) == {CampaignStatus.SCHEDULED, CampaignStatus.QUEUED}
    # A cancel is a move to Failed: the lifecycle allows it from each cancellable status.
    assert statuses_that_may_move_to(CampaignStatus.FAILED, CANCELLABLE_STATUSES) == list(
        CANCELLABLE_STATUSES
    )


def test_a_move_is_allowed_only_from_the_statuses_the_lifecycle_names() -> None:
    every = list(CampaignStatus)
    assert statuses_that_may_move_to(CampaignStatus.FAILED, every) == [
        CampaignStatus.SCHEDULED,
        CampaignStatus.QUEUED,
        CampaignStatus.RUNNING,
        CampaignStatus.SENT,
    ]
    assert statuses_that_may_move_to(CampaignStatus.FINISHED, every) == [CampaignStatus.SENT]
    assert statuses_that_may_move_to(CampaignStatus.SCHEDULED, every) == []
    # Asked for a status that may not move there, the answer leaves it out.
    assert statuses_that_may_move_to(CampaignStatus.FAILED, [CampaignStatus.FINISHED]) == []
