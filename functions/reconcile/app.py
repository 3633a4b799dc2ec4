"""Campaign workflow, after the completion timeout: ask the provider about the messages that are
not final yet, in bounded steps.

Task input {"campaignId", "cursor"}, output {"cursor", "done", "allFinal", "pending",
"failureReason"}. One invocation works through chunks from `cursor` until its time budget nears;
the workflow loops while not done, then ends the campaign Finished or Failed by the verdict.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_status import providers
from voice_status.campaign import service
from voice_status.campaign.store import CampaignStore
from voice_status.campaign.workflow import budget_from_setting
from voice_status.providers import VoiceProvider
from voice_status.tasks import LoopTask

logger = Logger()
tracer = Tracer()
metrics = Metrics()

store = CampaignStore.from_environment()


def make_provider() -> VoiceProvider:
    """The configured provider (tests replace this factory with a fake provider)."""
    return providers.from_environment()


@logger.inject_lambda_context(correlation_id_path="campaignId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=LoopTask)
def lambda_handler(task: LoopTask, context: LambdaContext) -> dict[str, Any]:
    budget = budget_from_setting(os.environ.get("RECONCILE_MAX_CHUNKS_PER_INVOCATION"))
    progress = service.reconcile_step(
        store,
        make_provider(),
        task.campaign_id,
        task.cursor,
        budget=budget,
        remaining_ms=context.get_remaining_time_in_millis,
    )
    metrics.add_metric(
        name="MessagesFinalizedByReconciliation", unit=MetricUnit.Count, value=progress.finalized
    )
    verdict = progress.verdict
    return {
        "cursor": progress.cursor,
        "done": progress.done,
        "allFinal": verdict.all_final if verdict else False,
        "pending": verdict.pending if verdict else None,
        "failureReason": verdict.failure_reason if verdict else None,
    }
