"""Campaign workflow, Scheduled: store the task token the scheduled start waits on.

The workflow's `.waitForTaskToken` task times out at the scheduled time (that is the start);
the token exists so that DELETE /campaigns/{id} can end the wait early with SendTaskFailure.
The token is stored only while the campaign is still Scheduled: a campaign cancelled before
this ran raises CampaignCancelled, which the workflow treats exactly like the cancel's failure.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_status.campaign import service
from voice_status.campaign.store import CampaignStore
from voice_status.tasks import TaskTokenTask

logger = Logger()
tracer = Tracer()
metrics = Metrics()

store = CampaignStore.from_environment()


@logger.inject_lambda_context(correlation_id_path="campaignId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=TaskTokenTask)
def lambda_handler(task: TaskTokenTask, context: LambdaContext) -> dict[str, Any]:
    service.await_scheduled_start(store, task.campaign_id, task.task_token)
    logger.info("Waiting for the scheduled start")
    metrics.add_metric(name="ScheduledStartsAwaited", unit=MetricUnit.Count, value=1)
    return {"campaignId": task.campaign_id, "waiting": True}
