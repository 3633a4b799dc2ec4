"""The campaign aggregate's records as typed objects, and the rules of the campaign lifecycle.

Pure: no I/O. The store turns these objects into items and back; nothing above it sees an item.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from voice_status.counts import CampaignCounts
from voice_status.providers.base import MAX_RECIPIENTS_PER_SUBMISSION, TextMessage
from voice_status.rules import ordered_history
from voice_status.statuses import CAMPAIGN_TRANSITIONS, CampaignStatus, MessageStatus
from voice_status.timeutil import to_iso

CANCELLED_REASON = "Cancelled"
# The longest a campaign may wait in Sent for its messages to be final (7 days).
MAX_COMPLETION_TIMEOUT_SECONDS = 604_800
# A message written at dispatch has been reported nothing yet: every report moves it forward.
UNREPORTED_RANK = 0


@dataclass(frozen=True)
class StatusAt:
    status: str
    at: str


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    name: str
    from_number: str
    status: CampaignStatus
    status_history: tuple[StatusAt, ...]
    created_at: str
    updated_at: str
    scheduled_at: str | None
    completion_timeout_seconds: int
    recipient_count: int  # distinct recipients asked for
    # counts.total: the distinct recipients, and once dispatch is over, those handed to the provider.
    total: int
    chunk_count: int
    callback_url: str
    message: TextMessage | None = None
    audio_url: str | None = None
    failure_reason: str | None = None
    execution_arn: str | None = None
    completion_token: str | None = None  # the Sent state's task token
    schedule_token: str | None = None  # the scheduled start's task token (only a cancel uses it)

    @property
    def longest_run(self) -> timedelta:
        """How long after its creation the campaign can still be running (before reconciliation):
        its wait for the scheduled start, then the wait for completion."""
        start = (
            datetime.fromisoformat(self.scheduled_at.replace("Z", "+00:00")) if self.scheduled_at else None
        )
        created = datetime.fromisoformat(self.created_at.replace("Z", "+00:00"))
        wait = max(start - created, timedelta(0)) if start else timedelta(0)
        return wait + timedelta(seconds=self.completion_timeout_seconds)

    def shown_history(self) -> list[StatusAt]:
        """Status moves in the service's one time format (Step Functions' EnteredTime has its own);
        a move retried after a lost answer appends the same entry twice, and is shown once."""
        shown: list[StatusAt] = []
        for entry in self.status_history:
            at = to_iso(datetime.fromisoformat(entry.at.replace("Z", "+00:00")))
            if not shown or shown[-1] != StatusAt(entry.status, at):
                shown.append(StatusAt(entry.status, at))
        return shown


@dataclass(frozen=True)
class CampaignWithCounts:
    campaign: Campaign
    counts: CampaignCounts


class ChunkState(StrEnum):
    PENDING = "pending"
    SUBMITTING = "submitting"  # claimed: the provider may have it, so it is never submitted again
    SUBMITTED = "submitted"
    FAILED = "failed"


@dataclass(frozen=True)
class Chunk:
    """Up to one provider request's worth of a campaign's recipients."""

    campaign_id: str
    index: int
    recipients: tuple[str, ...]  # empty where only the chunk's outcome was read
    size: int  # how many recipients it holds
    state: ChunkState = ChunkState.PENDING
    tracking_id: str | None = None
    accepted: int = 0
    error: str | None = None


@dataclass(frozen=True)
class Message:
    """One recipient of one campaign, from the moment its chunk is handed to the provider."""

    campaign_id: str
    to: str
    chunk: int
    status: MessageStatus = MessageStatus.QUEUED
    message_id: str | None = None  # the provider's id, known from the message's first report
    # Each distinct reported status once, with the provider time it was first reported at.
    history: Mapping[MessageStatus, str] = field(default_factory=lambda: MappingProxyType({}))
    duration: int | None = None
    price: float | None = None
    updated_at: str | None = None
    final_at: str | None = None

    @property
    def final(self) -> bool:
        return self.status.is_final

    @property
    def reported(self) -> bool:
        return bool(self.history)

    def ordered_history(self) -> list[tuple[MessageStatus, str]]:
        return ordered_history(self.history)


# ----- lifecycle -----


def statuses_that_may_move_to(
    target: CampaignStatus, among: Sequence[CampaignStatus]
) -> list[CampaignStatus]:
    """The statuses of `among` that the lifecycle lets move to `target`."""
    return [status for status in among if target in CAMPAIGN_TRANSITIONS[status]]


# Cancelling is allowed until dispatch starts; a cancelled campaign is Failed with CANCELLED_REASON.
CANCELLABLE_STATUSES = (CampaignStatus.SCHEDULED, CampaignStatus.QUEUED)


@dataclass(frozen=True)
class StartPlan:
    status: CampaignStatus  # Scheduled or Queued
    scheduled_at: str | None  # ISO time, None when the campaign starts now
    seconds_until_start: int  # 0 when it starts now


def plan_start(scheduled_at: datetime | None, now: datetime) -> StartPlan:
    """A future scheduledAt waits (rounded up to whole seconds); a past or absent one starts now."""
    if scheduled_at is None or scheduled_at <= now:
        return StartPlan(CampaignStatus.QUEUED, None, 0)
    seconds = max(math.ceil((scheduled_at - now).total_seconds()), 1)
    return StartPlan(CampaignStatus.SCHEDULED, to_iso(scheduled_at), seconds)


def chunk_recipients(recipients: Sequence[str], size: int = MAX_RECIPIENTS_PER_SUBMISSION) -> list[list[str]]:
    """One chunk per provider request."""
    return [list(recipients[start : start + size]) for start in range(0, len(recipients), size)]


def new_campaign_id() -> str:
    return str(uuid.uuid4())


def execution_arn(state_machine_arn: str, campaign_id: str) -> str:
    """The campaign's workflow execution: one per campaign, named after it."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{campaign_id}"


def workflow_input(campaign_id: str, plan: StartPlan, completion_timeout_seconds: int) -> dict[str, object]:
    """Input of the campaign's Step Functions execution."""
    return {
        "campaignId": campaign_id,
        "scheduledAt": plan.scheduled_at,
        "secondsUntilStart": plan.seconds_until_start,
        "completionTimeoutSeconds": completion_timeout_seconds,
    }
