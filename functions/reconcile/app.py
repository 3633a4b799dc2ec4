"""Campaign workflow, after the completion timeout: ask the provider about every message.

For each submitted chunk, the provider's tracking API lists its messages with their latest
status; each is applied exactly like a callback (MessageRepository.record: forward only,
counted once). Output {"allFinal", "pending"}: the workflow ends Finished or Failed by it.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from voice_status import providers
from voice_status.dispatching import reconciliation_verdict
from voice_status.providers import VoiceProvider
from voice_status.repository import CampaignRepository, MessageRepository
from voice_status.repository.dispatch import ChunkRepository
from voice_status.tasks import CampaignTask

logger = Logger()
tracer = Tracer()
metrics = Metrics()

_dynamodb = boto3.client("dynamodb")
chunks = ChunkRepository(_dynamodb, os.environ["TABLE_NAME"])
messages = MessageRepository(_dynamodb, os.environ["TABLE_NAME"], int(os.environ.get("COUNTER_SHARDS", "10")))
campaigns = CampaignRepository(_dynamodb, os.environ["TABLE_NAME"])


def make_provider() -> VoiceProvider:
    """The configured provider (tests replace this factory with a fake provider)."""
    return providers.from_environment()


@tracer.capture_method
def reconcile(campaign_id: str) -> dict[str, Any]:
    provider = make_provider()
    finalized = 0
    for tracking_id in chunks.tracking_ids(campaign_id):
        for report in provider.track(tracking_id):
            finalized += messages.record(campaign_id, report).became_final
    _, counts = campaigns.get_with_counts(campaign_id)
    verdict = reconciliation_verdict(counts)
    metrics.add_metric(name="MessagesFinalizedByReconciliation", unit=MetricUnit.Count, value=finalized)
    logger.info("Reconciled", extra={"finalized": finalized, "pending": verdict.pending})
    return verdict.as_dict()


@logger.inject_lambda_context(correlation_id_path="campaignId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=CampaignTask)
def lambda_handler(task: CampaignTask, context: LambdaContext) -> dict[str, Any]:
    return reconcile(task.campaign_id)
