"""How a status report changes a message: pure rules, no I/O.

The repository enforces the same rule atomically with DynamoDB condition expressions;
`apply_report` is its executable specification (tests compare the two).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from voice_status.statuses import MessageStatus


@dataclass(frozen=True)
class MessageState:
    status: MessageStatus
    # Each distinct status once, with the provider time it was first reported at.
    history: Mapping[MessageStatus, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def final(self) -> bool:
        return self.status.is_final

    def ordered_history(self) -> list[tuple[MessageStatus, str]]:
        return ordered_history(self.history)


@dataclass(frozen=True)
class Outcome:
    state: MessageState
    applied: bool  # the report moved the message's status
    became_final: bool  # this report is the one that made the message final: it counts
    history_added: bool  # the report's status was new to the history


def moves_forward(current: MessageStatus | None, reported: MessageStatus) -> bool:
    """A report moves a message only forward, and never off a final status."""
    if current is None:
        return True
    if current.is_final:
        return False
    return reported.rank > current.rank


def apply_report(state: MessageState | None, reported: MessageStatus, reported_at: str) -> Outcome:
    history = dict(state.history) if state else {}
    history_added = reported not in history
    if history_added:
        history[reported] = reported_at
    current = state.status if state else None
    applied = moves_forward(current, reported)
    status = reported if applied else current
    assert status is not None
    return Outcome(
        state=MessageState(status=status, history=MappingProxyType(history)),
        applied=applied,
        became_final=applied and reported.is_final,
        history_added=history_added,
    )


def ordered_history(history: Mapping[MessageStatus, str]) -> list[tuple[MessageStatus, str]]:
    """By provider time; ties (same millisecond) by progress order, so the result is stable."""
    return sorted(history.items(), key=lambda entry: (entry[1], entry[0].rank, entry[0].value))
