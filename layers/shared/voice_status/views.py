"""What the API and events show of stored items (CONTRACT.md sections 3 and 4). Pure functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from voice_status.counts import CampaignCounts
from voice_status.repository.keys import HISTORY_PREFIX
from voice_status.rules import ordered_history
from voice_status.statuses import MessageStatus
from voice_status.timeutil import to_iso

EVENT_SOURCE = "voice.status"
EVENT_VERSION = "1"
MESSAGE_FINALIZED = "Voice Message Finalized"
CAMPAIGN_FINISHED = "Voice Campaign Finished"
CAMPAIGN_FAILED = "Voice Campaign Failed"


def message_history(item: dict[str, Any]) -> list[dict[str, str]]:
    history = {
        MessageStatus(name.removeprefix(HISTORY_PREFIX)): str(at)
        for name, at in item.items()
        if name.startswith(HISTORY_PREFIX)
    }
    return [{"status": status.value, "at": at} for status, at in ordered_history(history)]


def message_view(item: dict[str, Any]) -> dict[str, Any]:
    """GET /messages/{messageId}, and each item of a campaign's message list."""
    return {
        "messageId": item["messageId"],
        "campaignId": item.get("campaignId"),
        "to": item.get("to"),
        "status": item["status"],
        "final": bool(item.get("final", False)),
        "history": message_history(item),
        "duration": item.get("duration"),
        "price": item.get("price"),
        "updatedAt": item.get("updatedAt"),
    }


def message_finalized_detail(item: dict[str, Any]) -> dict[str, Any]:
    """Detail of `Voice Message Finalized` for a message item that just became final."""
    return {
        "version": EVENT_VERSION,
        "eventId": f"{item['messageId']}:{item['status']}",
        "messageId": item["messageId"],
        "campaignId": item.get("campaignId"),
        "to": item.get("to"),
        "status": item["status"],
        "finalAt": item.get("finalAt"),
        "duration": item.get("duration"),
        "price": item.get("price"),
    }


def status_history(item: dict[str, Any]) -> list[dict[str, str]]:
    """The campaign's status moves, times in the service's one format whoever wrote them (Step
    Functions' EnteredTime has its own). A move retried after a lost answer appends the same
    entry twice; it is shown once."""
    history: list[dict[str, str]] = []
    for entry in item.get("statusHistory", []):
        shown = {
            "status": entry["status"],
            "at": to_iso(datetime.fromisoformat(str(entry["at"]).replace("Z", "+00:00"))),
        }
        if not history or history[-1] != shown:
            history.append(shown)
    return history


def campaign_view(item: dict[str, Any], counts: CampaignCounts, callback_url: str | None) -> dict[str, Any]:
    """GET /campaigns/{campaignId}."""
    return {
        "campaignId": item["campaignId"],
        "name": item["name"],
        "status": item["status"],
        "statusHistory": status_history(item),
        "createdAt": item.get("createdAt"),
        "scheduledAt": item.get("scheduledAt"),
        "updatedAt": item.get("updatedAt"),
        "counts": counts.as_dict(),
        "failureReason": item.get("failureReason"),
        "callbackUrl": callback_url,
    }


def campaign_final_detail(item: dict[str, Any], counts: CampaignCounts) -> dict[str, Any]:
    """Detail of `Voice Campaign Finished` / `Voice Campaign Failed` (the latter adds failureReason)."""
    detail = {
        "version": EVENT_VERSION,
        "eventId": f"{item['campaignId']}:{item['status']}",
        "campaignId": item["campaignId"],
        "name": item["name"],
        "status": item["status"],
        "counts": counts.as_dict(),
        "statusHistory": status_history(item),
    }
    if item["status"] == "Failed":
        detail["failureReason"] = item.get("failureReason")
    return detail


def campaign_final_detail_type(status: str) -> str:
    return CAMPAIGN_FINISHED if status == "Finished" else CAMPAIGN_FAILED
