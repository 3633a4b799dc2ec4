"""Campaign workflow, Running: submit the campaign's recipient chunks to the provider.

Task input {"campaignId", "cursor"}, output {"cursor", "done", "accepted"}. One invocation
handles chunks from `cursor` until its time budget nears; the workflow loops while not done.
At most once per chunk: a chunk is claimed (pending -> submitting) before the provider call and
a chunk that is not pending is skipped, so a retried or repeated invocation never sends a chunk
twice. When every chunk is handled, the campaign's total becomes what the provider accepted.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, field_validator

from voice_status import providers
from voice_status.dispatching import (
    Chunk,
    SubmitFailure,
    budget_from_settings,
    classify_provider_error,
    dispatched_total,
    error_text,
    nothing_accepted_reason,
    submission_for,
    submission_problem,
)
from voice_status.providers import ProviderError, VoiceProvider
from voice_status.repository.dispatch import CampaignWorkflowRepository, ChunkRepository
from voice_status.statuses import CampaignStatus
from voice_status.tasks import CampaignTask

logger = Logger()
tracer = Tracer()
metrics = Metrics()

_dynamodb = boto3.client("dynamodb")
chunks = ChunkRepository(_dynamodb, os.environ["TABLE_NAME"])
campaigns = CampaignWorkflowRepository(_dynamodb, os.environ["TABLE_NAME"])


def make_provider() -> VoiceProvider:
    """The configured provider (tests replace this factory with a fake provider)."""
    return providers.from_environment()


class DispatchTask(CampaignTask):
    cursor: int = Field(default=0, ge=0, description="Index of the first chunk not handled yet.")

    @field_validator("cursor", mode="before")
    @classmethod
    def _start_when_absent(cls, value: Any) -> Any:
        return 0 if value is None else value


class DispatchFailed(Exception):
    """The provider accepted nobody: the campaign fails with this message as its failureReason."""


class ProviderUnavailable(Exception):
    """A submission certainly did not reach the provider; the workflow retries after a pause."""


class CampaignNotRunning(Exception):
    """Only a Running campaign is dispatched (nothing is sent for any other)."""


def submit_chunk(campaign: dict[str, Any], chunk: Chunk, provider: VoiceProvider) -> int:
    """Claim, send and record one chunk; returns the recipients the provider took."""
    campaign_id = campaign["campaignId"]
    if not chunks.claim(campaign_id, chunk.index):
        return 0  # another attempt claimed it: it may be sent already, so never again
    submission = submission_for(campaign, chunk)
    problem = submission_problem(submission)
    if problem:
        chunks.mark_failed(campaign_id, chunk.index, problem)
        return 0
    try:
        taken = provider.submit(submission)
    except ProviderError as error:
        failure = classify_provider_error(error)
        logger.warning("Chunk not submitted", extra={"chunk": chunk.index, "failure": failure})
        if failure == SubmitFailure.RETRY_LATER:
            chunks.release(campaign_id, chunk.index)
            raise ProviderUnavailable(error_text(error)) from error
        if failure == SubmitFailure.REFUSED:
            chunks.mark_failed(campaign_id, chunk.index, error_text(error))
        else:
            chunks.mark_uncertain(campaign_id, chunk.index, error_text(error))
        return 0
    chunks.mark_submitted(campaign_id, chunk.index, taken.tracking_id, taken.accepted)
    return taken.accepted


@tracer.capture_method
def dispatch(task: DispatchTask, context: LambdaContext) -> dict[str, Any]:
    campaign_id = task.campaign_id
    campaign = campaigns.get(campaign_id)
    if campaign is None or campaign.get("status") != CampaignStatus.RUNNING:
        raise CampaignNotRunning(f"campaign {campaign_id} is not Running")
    provider = make_provider()
    budget = budget_from_settings(os.environ.get("DISPATCH_MAX_CHUNKS_PER_INVOCATION"))
    accepted = 0
    cursor = task.cursor
    for handled, chunk in enumerate(chunks.pending_from(campaign_id, task.cursor, budget.chunks_per_read)):
        if not budget.allows_another(handled, context.get_remaining_time_in_millis()):
            logger.info("Dispatch budget used, continuing in the next call", extra={"cursor": chunk.index})
            metrics.add_metric(name="RecipientsSubmitted", unit=MetricUnit.Count, value=accepted)
            return {"cursor": chunk.index, "done": False, "accepted": accepted}
        cursor = chunk.index + 1
        accepted += submit_chunk(campaign, chunk, provider)

    metrics.add_metric(name="RecipientsSubmitted", unit=MetricUnit.Count, value=accepted)
    summaries = chunks.summaries(campaign_id)
    total = dispatched_total(summaries)
    campaigns.set_dispatched_total(campaign_id, total)
    logger.info("Dispatch complete", extra={"total": total, "chunks": len(summaries)})
    if total == 0:
        raise DispatchFailed(nothing_accepted_reason(int(campaign.get("total", 0)), summaries))
    return {"cursor": cursor, "done": True, "accepted": accepted}


@logger.inject_lambda_context(correlation_id_path="campaignId", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_parser(model=DispatchTask)
def lambda_handler(task: DispatchTask, context: LambdaContext) -> dict[str, Any]:
    return dispatch(task, context)
