"""The campaign's flows: one function for each thing a handler does.

Handlers parse their input, call one of these and shape the answer; the store does every read
and write, the provider every call to Routee, Step Functions every wait.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from voice_status.campaign.callbacks import is_stale_token, notify_if_complete
from voice_status.campaign.model import (
    CANCELLABLE_STATUSES,
    CANCELLED_REASON,
    Campaign,
    CampaignWithCounts,
    Chunk,
    Message,
    StartPlan,
    StatusAt,
    chunk_recipients,
    execution_arn,
    new_campaign_id,
    plan_start,
    workflow_input,
)
from voice_status.campaign.requests import CreateCampaignRequest
from voice_status.campaign.store import CampaignStore
from voice_status.campaign.workflow import (
    ReconciliationVerdict,
    StepBudget,
    StepProgress,
    SubmitFailure,
    classify_provider_error,
    dispatched_total,
    error_text,
    nothing_accepted_reason,
    reconciliation_verdict,
    submission_for,
    submission_problem,
)
from voice_status.errors import (
    CampaignCancelled,
    CampaignNotFinal,
    CampaignNotFound,
    CampaignNotRunning,
    CampaignNotSent,
    DispatchFailed,
    MessageIdConflict,
    MessageNotFound,
    ProviderUnavailable,
    RecipientNotFound,
)
from voice_status.paging import decode_page_token, encode_page_token
from voice_status.providers.base import MAX_RECIPIENTS_PER_SUBMISSION, ProviderError, VoiceProvider
from voice_status.statuses import CampaignStatus, MessageStatus
from voice_status.timeutil import to_iso, utc_now

logger = Logger(child=True)

UNSTARTED_REASON = "Workflow could not be started"

RemainingMs = Callable[[], int]


@dataclass(frozen=True)
class Workflows:
    """The campaign state machine, as the API starts and wakes its executions."""

    sfn: Any
    state_machine_arn: str


# ----- the API -----


def create_campaign(
    store: CampaignStore,
    workflows: Workflows,
    request: CreateCampaignRequest,
    callback_url_for: Callable[[str], str],
) -> Campaign:
    """Store the campaign with its recipient chunks, then start its workflow."""
    campaign, plan = store_new_campaign(store, request, callback_url_for)
    start_workflow(store, workflows, campaign, plan)
    return campaign


def store_new_campaign(
    store: CampaignStore,
    request: CreateCampaignRequest,
    callback_url_for: Callable[[str], str],
    *,
    campaign_id: str | None = None,
    chunk_size: int = MAX_RECIPIENTS_PER_SUBMISSION,
) -> tuple[Campaign, StartPlan]:
    """The campaign as POST /campaigns stores it, not started yet, and when it is to start."""
    campaign_id = campaign_id or new_campaign_id()
    now = utc_now()
    created_at = to_iso(now)
    plan = plan_start(request.scheduled_at, now)
    chunks = chunk_recipients(request.recipients, chunk_size)
    campaign = Campaign(
        campaign_id=campaign_id,
        name=request.name,
        from_number=request.from_,
        status=plan.status,
        status_history=(StatusAt(plan.status.value, created_at),),
        created_at=created_at,
        updated_at=created_at,
        scheduled_at=plan.scheduled_at,
        completion_timeout_seconds=request.completion_timeout_seconds,
        recipient_count=len(request.recipients),
        total=len(request.recipients),
        chunk_count=len(chunks),
        callback_url=callback_url_for(campaign_id),
        message=request.message,
        audio_url=request.audio_url,
    )
    store.create(campaign, chunks)
    logger.info(
        "Campaign created",
        extra={
            "campaign_id": campaign_id,
            "status": plan.status,
            "recipients": campaign.recipient_count,
            "chunks": len(chunks),
        },
    )
    return campaign, plan


def start_workflow(store: CampaignStore, workflows: Workflows, campaign: Campaign, plan: StartPlan) -> None:
    """One execution per campaign, named after it, so a repeated start cannot run it twice."""
    campaign_id = campaign.campaign_id
    execution_input = workflow_input(campaign_id, plan, campaign.completion_timeout_seconds)
    try:
        workflows.sfn.start_execution(
            stateMachineArn=workflows.state_machine_arn, name=campaign_id, input=json.dumps(execution_input)
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            # Without a workflow nothing would ever move the campaign: end it visibly.
            store.fail(campaign_id, UNSTARTED_REASON, to_iso(utc_now()), only_from=CANCELLABLE_STATUSES)
            raise
    store.set_execution_arn(campaign_id, execution_arn(workflows.state_machine_arn, campaign_id))


def describe_campaign(store: CampaignStore, campaign_id: str) -> CampaignWithCounts:
    found = store.get_with_counts(campaign_id)
    if found is None:
        raise CampaignNotFound(campaign_id)
    return found


def list_campaigns(
    store: CampaignStore, status: CampaignStatus | None, limit: int, next_token: str | None
) -> tuple[list[CampaignWithCounts], str | None]:
    """A page of campaigns, newest first, each with its exact counts."""
    start_key = decode_page_token(next_token) if next_token else None
    campaigns, last_key = store.list_campaigns(status, limit, start_key)
    page = [CampaignWithCounts(campaign, store.counts_of(campaign)) for campaign in campaigns]
    return page, encode_page_token(last_key) if last_key else None


def cancel_campaign(store: CampaignStore, workflows: Workflows, campaign_id: str) -> CampaignWithCounts:
    """Scheduled or Queued -> Failed ("Cancelled"), and a scheduled wait is ended now."""
    cancelled = store.fail(campaign_id, CANCELLED_REASON, to_iso(utc_now()), only_from=CANCELLABLE_STATUSES)
    if cancelled.schedule_token:
        try:
            workflows.sfn.send_task_failure(
                taskToken=cancelled.schedule_token,
                error="CampaignCancelled",
                cause="Cancelled through the API",
            )
        except ClientError as error:
            if not is_stale_token(error):
                raise
            logger.info("Scheduled wait already over", extra={"campaign_id": campaign_id})
    logger.info("Campaign cancelled", extra={"campaign_id": campaign_id})
    return describe_campaign(store, campaign_id)


def list_messages(
    store: CampaignStore, campaign_id: str, status: MessageStatus | None, limit: int, next_token: str | None
) -> tuple[list[Message], str | None]:
    if store.get(campaign_id) is None:
        raise CampaignNotFound(campaign_id)
    start_key = decode_page_token(next_token) if next_token else None
    messages, last_key = store.list_messages(campaign_id, status, limit, start_key)
    return messages, encode_page_token(last_key) if last_key else None


def get_message(store: CampaignStore, message_id: str) -> Message:
    message = store.get_message(message_id)
    if message is None:
        raise MessageNotFound(message_id)
    return message


# ----- the workflow's steps -----


def await_scheduled_start(store: CampaignStore, campaign_id: str, task_token: str) -> None:
    """Store the token a cancel ends the scheduled wait with (only while still Scheduled)."""
    if not store.store_schedule_token(campaign_id, task_token):
        raise CampaignCancelled(f"campaign {campaign_id} is no longer Scheduled")


def await_completion(store: CampaignStore, sfn: Any, campaign_id: str, task_token: str) -> bool:
    """Store the token the last final message wakes, then check: True if it is complete already."""
    if not store.store_completion_token(campaign_id, task_token):
        raise CampaignNotSent(f"campaign {campaign_id} is not Sent")
    return notify_if_complete(store, sfn, campaign_id)


@dataclass(frozen=True)
class DispatchProgress(StepProgress):
    accepted: int  # recipients the provider took in this step


def dispatch_step(
    store: CampaignStore,
    provider: VoiceProvider,
    campaign_id: str,
    cursor: int,
    *,
    budget: StepBudget,
    remaining_ms: RemainingMs,
) -> DispatchProgress:
    """Submit pending chunks from `cursor` until the budget is used. When every chunk is handled,
    the campaign's total becomes the recipients handed to the provider."""
    campaign = store.get(campaign_id)
    if campaign is None or campaign.status != CampaignStatus.RUNNING:
        raise CampaignNotRunning(f"campaign {campaign_id} is not Running")
    accepted = 0
    for handled, chunk in enumerate(store.pending_chunks(campaign_id, cursor, budget.chunks_per_read)):
        if not budget.allows_another(handled, remaining_ms()):
            logger.info("Dispatch budget used, continuing in the next call", extra={"cursor": chunk.index})
            return DispatchProgress(cursor=chunk.index, done=False, accepted=accepted)
        cursor = chunk.index + 1
        accepted += _submit_chunk(store, provider, campaign, chunk)

    outcomes = store.chunk_outcomes(campaign_id)
    total = dispatched_total(outcomes)
    store.set_dispatched_total(campaign_id, total)
    logger.info("Dispatch complete", extra={"total": total, "chunks": len(outcomes)})
    if total == 0:
        raise DispatchFailed(nothing_accepted_reason(campaign.recipient_count, outcomes))
    return DispatchProgress(cursor=cursor, done=True, accepted=accepted)


def _submit_chunk(store: CampaignStore, provider: VoiceProvider, campaign: Campaign, chunk: Chunk) -> int:
    """Claim, list, send and record one chunk, at most once; returns the recipients the provider took.

    Its messages are written before the provider call (callbacks may beat the answer) and removed
    again only when the provider certainly took nobody."""
    if not store.claim_chunk(chunk):
        return 0  # another attempt claimed it: it may be sent already, so never again
    submission = submission_for(campaign, chunk)
    problem = submission_problem(submission)
    if problem:
        store.mark_chunk_failed(chunk, problem)
        return 0
    store.add_messages(chunk, campaign.completion_timeout_seconds)
    try:
        taken = provider.submit(submission)
    except ProviderError as error:
        failure = classify_provider_error(error)
        logger.warning("Chunk not submitted", extra={"chunk": chunk.index, "failure": failure})
        if failure == SubmitFailure.RETRY_LATER:
            store.remove_messages(chunk)
            store.release_chunk(chunk)
            raise ProviderUnavailable(error_text(error)) from error
        if failure == SubmitFailure.REFUSED:
            store.remove_messages(chunk)
            store.mark_chunk_failed(chunk, error_text(error))
        else:
            store.mark_chunk_uncertain(chunk, error_text(error))
        return 0
    store.mark_chunk_submitted(chunk, taken.tracking_id, taken.accepted)
    return taken.accepted


@dataclass(frozen=True)
class ReconcileProgress(StepProgress):
    finalized: int  # messages this step made final
    verdict: ReconciliationVerdict | None  # once done


def reconcile_step(
    store: CampaignStore,
    provider: VoiceProvider,
    campaign_id: str,
    cursor: int,
    *,
    budget: StepBudget,
    remaining_ms: RemainingMs,
) -> ReconcileProgress:
    """After the completion timeout: ask the provider's tracking API about the messages that are
    not final yet, chunk by chunk from `cursor`, until the budget is used. Only chunks with such
    messages are asked about, and only such messages are written (by the callbacks' own rule)."""
    pending = {message.to: message for message in store.pending_messages(campaign_id)}
    waiting_chunks = {message.chunk for message in pending.values()}
    reported_now: set[str] = set()
    finalized = handled = 0
    for chunk in store.submitted_chunks(campaign_id, cursor, budget.chunks_per_read):
        if chunk.index in waiting_chunks:
            if not budget.allows_another(handled, remaining_ms()):
                logger.info(
                    "Reconcile budget used, continuing in the next call", extra={"cursor": chunk.index}
                )
                return ReconcileProgress(cursor=chunk.index, done=False, finalized=finalized, verdict=None)
            handled += 1
            assert chunk.tracking_id is not None  # submitted chunks carry the provider's id
            for report in provider.track(chunk.tracking_id):
                if report.to not in pending:
                    continue  # final already: nothing to visit
                try:
                    result = store.record_report(campaign_id, report)
                except (RecipientNotFound, MessageIdConflict) as refused:
                    logger.warning("Tracking record not applied", extra={"reason": type(refused).__name__})
                    continue
                reported_now.add(report.to)
                if result.became_final:
                    finalized += 1
                    del pending[report.to]
        cursor = chunk.index + 1
    found = store.get_with_counts(campaign_id)
    if found is None:
        raise CampaignNotFound(campaign_id)
    unreported = sum(1 for to, message in pending.items() if not message.reported and to not in reported_now)
    verdict = reconciliation_verdict(found.counts, unreported)
    logger.info("Reconciled", extra={"pending": verdict.pending, "unreported": verdict.unreported})
    return ReconcileProgress(cursor=cursor, done=True, finalized=finalized, verdict=verdict)


def final_campaign(store: CampaignStore, campaign_id: str) -> CampaignWithCounts:
    """The campaign once Finished or Failed, for its final event."""
    found = store.get_with_counts(campaign_id)
    if found is None or not found.campaign.status.is_final:
        raise CampaignNotFinal(f"campaign {campaign_id} is not Finished or Failed")
    return found
