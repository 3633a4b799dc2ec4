"""Message and campaign statuses, their classes and progress order (CONTRACT.md section 1)."""

from __future__ import annotations

import re
from enum import StrEnum


class MessageStatus(StrEnum):
    QUEUED = "Queued"
    INITIATED = "Initiated"
    RINGING = "Ringing"
    IN_PROGRESS = "InProgress"
    UNKNOWN = "Unknown"
    COMPLETED = "Completed"
    BUSY = "Busy"
    NO_ANSWER = "NoAnswer"
    FAILED = "Failed"
    UNSENT = "Unsent"
    TERMINATED = "Terminated"

    @property
    def is_final(self) -> bool:
        return self in FINAL_MESSAGE_STATUSES

    @property
    def rank(self) -> int:
        """Progress order: intermediates 1..5 in contract order; every final status outranks them."""
        return _RANKS[self]


INTERMEDIATE_MESSAGE_STATUSES: tuple[MessageStatus, ...] = (
    MessageStatus.QUEUED,
    MessageStatus.INITIATED,
    MessageStatus.RINGING,
    MessageStatus.IN_PROGRESS,
    MessageStatus.UNKNOWN,
)
FINAL_MESSAGE_STATUSES: frozenset[MessageStatus] = frozenset(
    {
        MessageStatus.COMPLETED,
        MessageStatus.BUSY,
        MessageStatus.NO_ANSWER,
        MessageStatus.FAILED,
        MessageStatus.UNSENT,
        MessageStatus.TERMINATED,
    }
)
FINAL_RANK = len(INTERMEDIATE_MESSAGE_STATUSES) + 1
_RANKS = {status: index + 1 for index, status in enumerate(INTERMEDIATE_MESSAGE_STATUSES)} | {
    status: FINAL_RANK for status in FINAL_MESSAGE_STATUSES
}


class CampaignStatus(StrEnum):
    SCHEDULED = "Scheduled"
    QUEUED = "Queued"
    RUNNING = "Running"
    SENT = "Sent"
    FINISHED = "Finished"
    FAILED = "Failed"

    @property
    def is_final(self) -> bool:
        return self in (CampaignStatus.FINISHED, CampaignStatus.FAILED)


# Allowed forward moves of a campaign; Failed is reachable from every non-final status.
CAMPAIGN_TRANSITIONS: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.SCHEDULED: frozenset({CampaignStatus.QUEUED, CampaignStatus.FAILED}),
    CampaignStatus.QUEUED: frozenset({CampaignStatus.RUNNING, CampaignStatus.FAILED}),
    CampaignStatus.RUNNING: frozenset({CampaignStatus.SENT, CampaignStatus.FAILED}),
    CampaignStatus.SENT: frozenset({CampaignStatus.FINISHED, CampaignStatus.FAILED}),
    CampaignStatus.FINISHED: frozenset(),
    CampaignStatus.FAILED: frozenset(),
}


_NAME_NOISE = re.compile(r"[\s_\-]+")
_BY_NORMALIZED_NAME = {status.value.lower(): status for status in MessageStatus}


def parse_message_status(name: str) -> MessageStatus:
    """Match a provider status name case-insensitively, ignoring spaces, '_' and '-'.

    Raises ValueError for a name that is not one of the 11 statuses.
    """
    normalized = _NAME_NOISE.sub("", name).lower()
    try:
        return _BY_NORMALIZED_NAME[normalized]
    except KeyError:
        raise ValueError(f"unknown message status {name!r}") from None
