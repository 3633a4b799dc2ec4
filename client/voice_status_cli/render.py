"""What the commands show: rich tables, the campaign panel and the live progress of `watch`."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

# Message statuses that end a call (the API's `counts.final` keys), in the contract's order.
FINAL_STATUSES = ("Completed", "Busy", "NoAnswer", "Failed", "Unsent", "Terminated")
STATUS_STYLE = {
    "Completed": "green",
    "Busy": "yellow",
    "NoAnswer": "yellow",
    "Failed": "red",
    "Unsent": "red",
    "Terminated": "red",
    "Pending": "blue",
    "Finished": "green",
    "Scheduled": "cyan",
}
BAR_WIDTH = 40


def campaigns_table(campaigns: list[dict[str, Any]]) -> Table:
    table = Table("campaignId", "name", "status", "created", "scheduled", "final / total", box=None)
    for campaign in campaigns:
        counts = campaign.get("counts") or {}
        final = sum((counts.get("final") or {}).values())
        table.add_row(
            campaign.get("campaignId", ""),
            campaign.get("name", ""),
            _status(campaign.get("status", "")),
            campaign.get("createdAt") or "",
            campaign.get("scheduledAt") or "",
            f"{final} / {counts.get('total', 0)}",
        )
    return table


def campaign_panel(campaign: dict[str, Any]) -> Panel:
    details = Table.grid(padding=(0, 2))
    details.add_column(style="bold")
    details.add_column()
    details.add_row("status", _status(campaign.get("status", "")))
    if campaign.get("failureReason"):
        details.add_row("failure", campaign["failureReason"])
    for label, key in (("created", "createdAt"), ("scheduled", "scheduledAt"), ("updated", "updatedAt")):
        if campaign.get(key):
            details.add_row(label, campaign[key])
    history = " -> ".join(f"{step['status']} {step['at']}" for step in campaign.get("statusHistory") or [])
    if history:
        details.add_row("history", history)
    title = f"{campaign.get('name', '')} [dim]{campaign.get('campaignId', '')}[/dim]"
    return Panel(Group(details, Text(""), distribution_chart(campaign.get("counts") or {})), title=title)


def distribution_chart(counts: dict[str, Any]) -> Table:
    """One bar per final status (and the pending rest), scaled to the campaign's total."""
    total = int(counts.get("total") or 0)
    final = counts.get("final") or {}
    rows = [(status, int(final.get(status, 0))) for status in FINAL_STATUSES]
    rows += [(status, int(count)) for status, count in final.items() if status not in FINAL_STATUSES]
    rows.append(("Pending", int(counts.get("pending") or 0)))
    chart = Table.grid(padding=(0, 1))
    chart.add_column(justify="right")
    chart.add_column()
    chart.add_column(justify="right")
    for status, count in rows:
        filled = round(BAR_WIDTH * count / total) if total else 0
        bar = Text("█" * filled, style=STATUS_STYLE.get(status, "white")) + Text(
            "·" * (BAR_WIDTH - filled), style="dim"
        )
        chart.add_row(status, bar, str(count))
    return chart


def messages_table(messages: list[dict[str, Any]]) -> Table:
    table = Table("to", "messageId", "status", "final", "duration", "price", "updatedAt", box=None)
    for message in messages:
        table.add_row(
            message.get("to") or "",
            message.get("messageId") or "",
            _status(message.get("status", "")),
            "yes" if message.get("final") else "no",
            _blank_if_none(message.get("duration")),
            _blank_if_none(message.get("price")),
            message.get("updatedAt") or "",
        )
    return table


class WatchView:
    """A progress bar of final over total plus the status distribution, redrawn per poll."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        )
        self._task: TaskID = self.progress.add_task("waiting", total=None)
        self._campaign: dict[str, Any] = {}

    def update(self, campaign: dict[str, Any]) -> None:
        self._campaign = campaign
        counts = campaign.get("counts") or {}
        total = int(counts.get("total") or 0)
        final = total - int(counts.get("pending") or 0)
        self.progress.update(
            self._task, description=campaign.get("status", ""), total=total or None, completed=final
        )

    def __rich__(self) -> RenderableType:
        name = self._campaign.get("name", "")
        return Group(
            Text(name, style="bold"), self.progress, distribution_chart(self._campaign.get("counts") or {})
        )


def _status(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


def _blank_if_none(value: Any) -> str:
    return "" if value is None else str(value)
