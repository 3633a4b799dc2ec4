"""Campaign workflow, final: the detail of the campaign's final event.

Returns {"detailType", "detail"} for the workflow's `events:putEvents` task: `Voice Campaign
Finished` or `Voice Campaign Failed` with exact counts and the status history.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_status.campaign import service
from voice_status.campaign.store import CampaignStore
from voice_status.tasks import CampaignTask
from voice_status.views import campaign_final_detail, campaign_final_detail_type

logger = Logger()
tracer = Tracer()
metrics = Metrics()

store = CampaignStore.from_environment()


@logger.inject_lambda_context(correlation_id_path="campaignId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=CampaignTask)
def lambda_handler(task: CampaignTask, context: LambdaContext) -> dict[str, Any]:
    final = service.final_campaign(store, task.campaign_id)
    metrics.add_metric(name=f"Campaigns{final.campaign.status.value}", unit=MetricUnit.Count, value=1)
    return {"detailType": campaign_final_detail_type(final), "detail": campaign_final_detail(final)}
