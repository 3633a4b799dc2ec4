"""The callback flow: record one provider status report, and wake the campaign's workflow when it
made the campaign's last message final.

Apart from `service` because the callback handler is the hot path: its import (a Lambda cold
start) loads only what recording a callback needs, not the campaign API's and workflow's flows.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from voice_status.campaign.store import CampaignStore, RecordResult
from voice_status.reports import StatusReport
from voice_status.statuses import CampaignStatus

logger = Logger(child=True)

# A token that already succeeded, timed out or belongs to a stopped execution.
_STALE_TOKEN_ERRORS = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


def record_callback(store: CampaignStore, sfn: Any, campaign_id: str, report: StatusReport) -> RecordResult:
    """Record one provider callback on its campaign's message; wake the campaign's workflow when
    this made its last message final. Raises RecipientNotFound, MessageIdConflict, StorageBusy."""
    result = store.record_report(campaign_id, report)
    if result.became_final:
        notify_if_complete(store, sfn, campaign_id)
    return result


def notify_if_complete(store: CampaignStore, sfn: Any, campaign_id: str) -> bool:
    """Send the stored task token when every message of a Sent campaign is final.

    The workflow's Sent state stores the token and then checks; whoever finalizes the last
    message checks the other way. Both check after their own write, so no wake-up is lost.
    Both may send it: Step Functions takes the first and refuses the second, harmlessly."""
    found = store.get_with_counts(campaign_id)
    if found is None:
        return False
    campaign, counts = found.campaign, found.counts
    if campaign.status != CampaignStatus.SENT or not campaign.completion_token or not counts.all_final:
        return False
    try:
        sfn.send_task_success(
            taskToken=campaign.completion_token,
            output=json.dumps({"campaignId": campaign_id, "allFinal": True, "counts": counts.as_dict()}),
        )
    except ClientError as error:
        if is_stale_token(error):
            logger.info("Completion already signalled", extra={"campaign_id": campaign_id})
            return False
        raise
    logger.info("Campaign complete, workflow woken", extra={"campaign_id": campaign_id})
    return True


def is_stale_token(error: ClientError) -> bool:
    """Step Functions refused a task token because its wait is already over: harmless."""
    return error.response["Error"]["Code"] in _STALE_TOKEN_ERRORS
