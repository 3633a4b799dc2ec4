"""Campaign workflow, final: the detail of the campaign's final event.

Returns {"detailType", "detail"} for the workflow's `events:putEvents` task: `Voice Campaign
Finished` or `Voice Campaign Failed` with exact counts and the status history (CONTRACT.md 4).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_status.repository import CampaignRepository
from voice_status.statuses import CampaignStatus
from voice_status.tasks import CampaignTask
from voice_status.views import campaign_final_detail, campaign_final_detail_type

logger = Logger()
tracer = Tracer()
metrics = Metrics()

campaigns = CampaignRepository(boto3.client("dynamodb"), os.environ["TABLE_NAME"])


class CampaignNotFinal(Exception):
    """Only a Finished or Failed campaign has a final event."""


@logger.inject_lambda_context(correlation_id_path="campaignId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=CampaignTask)
def lambda_handler(task: CampaignTask, context: LambdaContext) -> dict[str, Any]:
    campaign, counts = campaigns.get_with_counts(task.campaign_id)
    if campaign is None or not CampaignStatus(campaign["status"]).is_final:
        raise CampaignNotFinal(f"campaign {task.campaign_id} is not Finished or Failed")
    metrics.add_metric(name=f"Campaigns{campaign['status']}", unit=MetricUnit.Count, value=1)
    return {
        "detailType": campaign_final_detail_type(campaign["status"]),
        "detail": campaign_final_detail(campaign, counts),
    }
