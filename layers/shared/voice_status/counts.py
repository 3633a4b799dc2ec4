"""Campaign counts as the API and events show them (CONTRACT.md section 3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voice_status.statuses import FINAL_MESSAGE_STATUSES, MessageStatus

# Stable order for output: the contract's order of final statuses.
_FINAL_ORDER = [status.value for status in MessageStatus if status in FINAL_MESSAGE_STATUSES]


@dataclass(frozen=True)
class CampaignCounts:
    total: int
    final: dict[str, int] = field(default_factory=dict)

    @property
    def final_total(self) -> int:
        return sum(self.final.values())

    @property
    def pending(self) -> int:
        return max(self.total - self.final_total, 0)

    @property
    def all_final(self) -> bool:
        return self.total > 0 and self.pending == 0

    def as_dict(self) -> dict[str, Any]:
        shown = {status: self.final[status] for status in _FINAL_ORDER if self.final.get(status, 0) > 0}
        return {"total": self.total, "pending": self.pending, "final": shown}
