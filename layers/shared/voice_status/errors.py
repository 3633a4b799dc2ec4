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


class RecipientNotFound(Exception):
    """A callback for a number that is not a dispatched recipient of the URL's campaign."""

    def __init__(self, campaign_id: str) -> None:
        # The number is personal data: it stays out of the message (and so out of logs).
        super().__init__(f"the callback's `to` is not a dispatched recipient of campaign {campaign_id}")
        self.campaign_id = campaign_id


class MessageIdConflict(Exception):
    """A callback that pairs a recipient and a provider message id that belong to others."""


class StorageBusy(Exception):
    """Writes kept meeting conflicts or throttling until the retry budget ran out (the caller
    should retry later: nothing was recorded)."""


# ----- the campaign workflow's errors: the state machine matches these names -----


class CampaignNotRunning(Exception):
    """Only a Running campaign is dispatched (nothing is sent for any other)."""


class DispatchFailed(Exception):
    """The provider accepted nobody: the campaign fails with this message as its failureReason."""


class ProviderUnavailable(Exception):
    """A submission certainly did not reach the provider; the workflow retries after a pause."""


class CampaignCancelled(Exception):
    """The campaign left Scheduled before its start's token was stored: it was cancelled."""


class CampaignNotSent(Exception):
    """The campaign is not Sent, so nothing may wait for its completion."""


class CampaignNotFinal(Exception):
    """Only a Finished or Failed campaign has a final event."""
