"""Domain errors of campaigns and messages; the API maps each to an HTTP status."""

from __future__ import annotations


class CampaignNotFound(Exception):
    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"campaign {campaign_id} not found")
        self.campaign_id = campaign_id


class MessageNotFound(Exception):
    def __init__(self, message_id: str) -> None:
        super().__init__(f"message {message_id} not found")
        self.message_id = message_id


class CampaignNotCancellable(Exception):
    """Only a campaign that has not started dispatching (Scheduled or Queued) can be cancelled."""

    def __init__(self, campaign_id: str, status: str) -> None:
        super().__init__(
            f"campaign {campaign_id} is {status}; only Scheduled or Queued campaigns can be cancelled"
        )
        self.campaign_id = campaign_id
        self.status = status


class InvalidPageToken(ValueError):
    def __init__(self) -> None:
        super().__init__("nextToken is not a token returned by this listing")
