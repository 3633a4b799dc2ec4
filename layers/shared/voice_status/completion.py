"""Waking the campaign workflow when its last message turns final.

The workflow's Sent state stores a task token on the campaign and then checks the counts;
whoever finalizes the last message checks the other way. Both check after their own write,
so whichever comes second sees the other's write and no wake-up is lost. Both may see it:
Step Functions accepts the first SendTaskSuccess and rejects the second, which is harmless.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from voice_status.counts import CampaignCounts
from voice_status.repository import CampaignRepository
from voice_status.statuses import CampaignStatus

logger = Logger(child=True)

# A token that already succeeded, timed out or belongs to a stopped execution.
_STALE_TOKEN_ERRORS = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


def is_stale_token(error: ClientError) -> bool:
    """Step Functions refused a task token because its wait is already over: harmless."""
    return error.response["Error"]["Code"] in _STALE_TOKEN_ERRORS


def notify_if_complete(campaigns: CampaignRepository, sfn: Any, campaign_id: str) -> bool:
    """Send the stored task token when every message of a Sent campaign is final."""
    campaign, counts = campaigns.get_with_counts(campaign_id)
    if not campaign or campaign.get("status") != CampaignStatus.SENT or not campaign.get("taskToken"):
        return False
    if not counts.all_final:
        return False
    return send_completion(sfn, campaign["taskToken"], campaign_id, counts)


def send_completion(sfn: Any, task_token: str, campaign_id: str, counts: CampaignCounts) -> bool:
    try:
        sfn.send_task_success(
            taskToken=task_token,
            output=json.dumps({"campaignId": campaign_id, "allFinal": True, "counts": counts.as_dict()}),
        )
    except ClientError as error:
        if is_stale_token(error):
            logger.info("Completion already signalled", extra={"campaign_id": campaign_id})
            return False
        raise
    logger.info("Campaign complete, workflow woken", extra={"campaign_id": campaign_id})
    return True
