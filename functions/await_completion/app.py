"""Campaign workflow, Sent: store the task token that the campaign's last final message wakes.

Stores the token (only while the campaign is Sent), then checks the counts itself: a callback
that finalized the last message before the token existed found nothing to wake, so this check,
made after the token's write, is what wakes the workflow then.
"""

from __future__ import annotations

from typing import Any

import boto3
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
sfn = boto3.client("stepfunctions")


@logger.inject_lambda_context(correlation_id_path="campaignId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=TaskTokenTask)
def lambda_handler(task: TaskTokenTask, context: LambdaContext) -> dict[str, Any]:
    woken = service.await_completion(store, sfn, task.campaign_id, task.task_token)
    logger.info("Waiting for the last message to turn final", extra={"complete_already": woken})
    metrics.add_metric(name="CompletionsAwaited", unit=MetricUnit.Count, value=1)
    return {"campaignId": task.campaign_id, "completeAlready": woken}
