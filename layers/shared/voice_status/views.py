"""What the API and the events show of the campaign aggregate (CONTRACT.md sections 3 and 4).

The API's answers are pydantic models: the routes return them, Powertools validates and
serializes them, and the OpenAPI document is generated from the same models. Pure: no I/O.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from voice_status.campaign.model import CampaignWithCounts, Message
from voice_status.counts import CampaignCounts

EVENT_SOURCE = "voice.status"
EVENT_VERSION = "1"
MESSAGE_FINALIZED = "Voice Message Finalized"
CAMPAIGN_FINISHED = "Voice Campaign Finished"
CAMPAIGN_FAILED = "Voice Campaign Failed"


class StatusAtView(BaseModel):
    status: str
    at: str


class CountsView(BaseModel):
    total: int
    pending: int
    final: dict[str, int] = Field(description="Messages per final status; only statuses above zero.")


class CampaignView(BaseModel):
    campaignId: str
    name: str
    status: Literal["Scheduled", "Queued", "Running", "Sent", "Finished", "Failed"]
    statusHistory: list[StatusAtView]
    createdAt: str
    scheduledAt: str | None
    updatedAt: str
    counts: CountsView
    failureReason: str | None
    callbackUrl: str


class CampaignPage(BaseModel):
    items: list[CampaignView] = Field(description="Newest first.")
    nextToken: str | None = Field(description="Pass as ?nextToken= for the next page; null on the last.")


class MessageView(BaseModel):
    messageId: str | None = Field(description="The provider's id; null until the first callback.")
    campaignId: str
    to: str
    status: str
    final: bool
    history: list[StatusAtView] = Field(description="Each distinct status once, by the provider's time.")
    duration: int | None
    price: float | None
    updatedAt: str | None


class MessagePage(BaseModel):
    items: list[MessageView]
    nextToken: str | None = Field(description="Pass as ?nextToken= for the next page; null on the last.")


class CallbackAnswer(BaseModel):
    messageId: str
    status: str = Field(description="The message's status after this callback.")
    applied: bool = Field(description="False for a duplicate or stale callback (still recorded in history).")


class ErrorBody(BaseModel):
    error: str
    details: list[dict[str, Any]] = Field(default_factory=list)


def counts_view(counts: CampaignCounts) -> CountsView:
    return CountsView.model_validate(counts.as_dict())


def campaign_view(found: CampaignWithCounts) -> CampaignView:
    campaign = found.campaign
    return CampaignView(
        campaignId=campaign.campaign_id,
        name=campaign.name,
        status=campaign.status.value,
        statusHistory=[StatusAtView(status=entry.status, at=entry.at) for entry in campaign.shown_history()],
        createdAt=campaign.created_at,
        scheduledAt=campaign.scheduled_at,
        updatedAt=campaign.updated_at,
        counts=counts_view(found.counts),
        failureReason=campaign.failure_reason,
        callbackUrl=campaign.callback_url,
    )


def message_view(message: Message) -> MessageView:
    """GET /messages/{messageId}, and each item of a campaign's message list."""
    return MessageView(
        messageId=message.message_id,
        campaignId=message.campaign_id,
        to=message.to,
        status=message.status.value,
        final=message.final,
        history=[StatusAtView(status=status.value, at=at) for status, at in message.ordered_history()],
        duration=message.duration,
        price=message.price,
        updatedAt=message.updated_at,
    )


def message_finalized_detail(message: Message) -> dict[str, Any]:
    """Detail of `Voice Message Finalized` for a message that just became final."""
    return {
        "version": EVENT_VERSION,
        "eventId": f"{message.message_id}:{message.status.value}",
        "messageId": message.message_id,
        "campaignId": message.campaign_id,
        "to": message.to,
        "status": message.status.value,
        "finalAt": message.final_at,
        "duration": message.duration,
        "price": message.price,
    }


def campaign_final_detail(found: CampaignWithCounts) -> dict[str, Any]:
    """Detail of `Voice Campaign Finished` / `Voice Campaign Failed` (the latter adds failureReason)."""
    campaign = found.campaign
    detail: dict[str, Any] = {
        "version": EVENT_VERSION,
        "eventId": f"{campaign.campaign_id}:{campaign.status.value}",
        "campaignId": campaign.campaign_id,
        "name": campaign.name,
        "status": campaign.status.value,
        "counts": found.counts.as_dict(),
        "statusHistory": [{"status": entry.status, "at": entry.at} for entry in campaign.shown_history()],
    }
    if campaign.status.value == "Failed":
        detail["failureReason"] = campaign.failure_reason
    return detail


def campaign_final_detail_type(found: CampaignWithCounts) -> str:
    return CAMPAIGN_FINISHED if found.campaign.status.value == "Finished" else CAMPAIGN_FAILED
