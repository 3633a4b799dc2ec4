"""Every read and write of the campaign aggregate's records: campaigns, counter shards, recipient
chunks, messages and message ids (key layout in `keys`). Nothing above this module sees an item.

Writes that must not happen twice are conditional writes, so retries and concurrent callers are
safe: a chunk is claimed once, a campaign moves only along its lifecycle, a message moves only
forward and is counted once. The state machine's `updateItem` states are the only other writer
of campaign items (their parameters are pinned to this module's format by a test).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from types import MappingProxyType
from typing import Any, TypeVar

import boto3
from botocore.exceptions import ClientError

from voice_status.campaign import keys
from voice_status.campaign.model import (
    MAX_COMPLETION_TIMEOUT_SECONDS,
    UNREPORTED_RANK,
    Campaign,
    CampaignWithCounts,
    Chunk,
    ChunkState,
    Message,
    StatusAt,
    statuses_that_may_move_to,
)
from voice_status.counts import CampaignCounts
from voice_status.errors import (
    CampaignNotCancellable,
    CampaignNotFound,
    InvalidPageToken,
    MessageIdConflict,
    RecipientNotFound,
    StorageBusy,
)
from voice_status.providers.base import TextMessage
from voice_status.reports import StatusReport
from voice_status.statuses import INTERMEDIATE_MESSAGE_STATUSES, CampaignStatus, MessageStatus
from voice_status.timeutil import now_iso, utc_now

T = TypeVar("T")

DEFAULT_RETENTION = timedelta(days=90)
# Reconciliation may run after the completion timeout: records outlive it by this much too.
RECONCILIATION_MARGIN = timedelta(days=1)
_BATCH_WRITE_SIZE = 25  # DynamoDB's BatchWriteItem limit
_BATCH_WRITE_ATTEMPTS = 8
_PAGE_KEY_NAMES = {"pk", "sk", "gsi1pk", "gsi1sk"}
# Details that describe the call and never change once known.
_FIRST_SEEN_DETAILS = ("from", "country", "operator", "campaignTrackingId", "createdAt")
# Errors that say "not now" rather than "no": worth another try after a pause.
_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
_TRANSIENT_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


@dataclass(frozen=True)
class WriteRetryPolicy:
    """Conflicts and throttling are retried with full-jitter backoff, for at most `budget_seconds`."""

    budget_seconds: float = 3.0
    base_delay_seconds: float = 0.02
    max_delay_seconds: float = 0.4


@dataclass(frozen=True)
class RecordResult:
    message_id: str
    status: MessageStatus  # the message's status after this report
    applied: bool  # the report moved the status
    became_final: bool  # this report made the message final (and was counted)
    write_retries: int = 0  # conflicts and throttling met on the way


class CampaignStore:
    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        counter_shards: int = 10,
        retention: timedelta = DEFAULT_RETENTION,
        retry: WriteRetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table_name
        self._counter_shards = counter_shards
        self._retention = retention
        self._retry = retry or WriteRetryPolicy()
        self._sleep = sleep

    @classmethod
    def from_environment(cls, client: Any | None = None) -> CampaignStore:
        """The store as the template configures it: TABLE_NAME, COUNTER_SHARDS, RETENTION_DAYS."""
        env = os.environ
        return cls(
            client or boto3.client("dynamodb"),
            env["TABLE_NAME"],
            counter_shards=int(env.get("COUNTER_SHARDS") or 10),
            retention=timedelta(days=int(env.get("RETENTION_DAYS") or DEFAULT_RETENTION.days)),
        )

    def _expires_at(self, campaign_ends_within: timedelta) -> int:
        """TTL (epoch seconds) of a record holding a phone number: kept for the retention period
        after the latest time its campaign can still be running."""
        return int((utc_now() + campaign_ends_within + RECONCILIATION_MARGIN + self._retention).timestamp())

    # ----- campaigns -----

    def create(self, campaign: Campaign, chunks: Sequence[Sequence[str]]) -> None:
        """Store the recipient chunks, then the campaign item.

        Chunks go first so that a campaign item never exists without its recipients: the item is
        what the workflow and the API look for. The item's write refuses to replace a campaign."""
        campaign_id = campaign.campaign_id
        expires_at = self._expires_at(campaign.longest_run)
        self._write_all(
            [
                {
                    "PutRequest": {
                        "Item": keys.to_attributes(
                            {
                                "pk": keys.chunks_pk(campaign_id),
                                "sk": keys.chunk_sk(index),
                                "campaignId": campaign_id,
                                "index": index,
                                "recipients": list(recipients),
                                "size": len(recipients),
                                "state": ChunkState.PENDING.value,
                                "expiresAt": expires_at,
                            }
                        )
                    }
                }
                for index, recipients in enumerate(chunks)
            ]
        )
        self._client.put_item(
            TableName=self._table,
            Item=keys.to_attributes(_campaign_item(campaign)),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, campaign_id: str) -> Campaign | None:
        answer = self._client.get_item(
            TableName=self._table, Key=keys.campaign_key(campaign_id), ConsistentRead=True
        )
        return _campaign(keys.from_item(answer["Item"])) if "Item" in answer else None

    def get_with_counts(self, campaign_id: str) -> CampaignWithCounts | None:
        """The campaign and its exact counts, in one consistent Query (None if there is none)."""
        items = list(
            self._query(
                {
                    "KeyConditionExpression": "pk = :pk",
                    "ExpressionAttributeValues": {":pk": {"S": keys.campaign_pk(campaign_id)}},
                    "ConsistentRead": True,
                }
            )
        )
        item = next((item for item in items if item["sk"] == keys.CAMPAIGN_SK), None)
        if item is None:
            return None
        final: dict[str, int] = {}
        _add_counts(final, items)
        campaign = _campaign(item)
        return CampaignWithCounts(campaign, CampaignCounts(total=campaign.total, final=final))

    def counts_of(self, campaign: Campaign) -> CampaignCounts:
        """The campaign's exact counts: its counter shards, in one consistent Query."""
        final: dict[str, int] = {}
        request = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :counters)",
            "ExpressionAttributeValues": keys.to_attributes(
                {":pk": keys.campaign_pk(campaign.campaign_id), ":counters": keys.COUNTER_PREFIX}
            ),
            "ConsistentRead": True,
        }
        _add_counts(final, self._query(request))
        return CampaignCounts(total=campaign.total, final=final)

    def list_campaigns(
        self, status: CampaignStatus | None, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[Campaign], dict[str, Any] | None]:
        """One page of campaigns, newest first (index gsi1), and the key to continue from."""
        request: dict[str, Any] = {
            "IndexName": keys.GSI1,
            "KeyConditionExpression": "gsi1pk = :listing",
            "ExpressionAttributeValues": {":listing": {"S": keys.CAMPAIGNS_LISTING}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status is not None:
            # Few campaigns per status at a time: a filter on the one listing beats an index each.
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            request["ExpressionAttributeValues"][":status"] = {"S": status.value}
        if start_key is not None:
            _check_page_key(start_key, keys.CAMPAIGNS_LISTING, keys.CAMPAIGN_SK, "CAMPAIGN#")
            request["ExclusiveStartKey"] = start_key
        page = self._client.query(TableName=self._table, **request)
        return [_campaign(keys.from_item(item)) for item in page["Items"]], page.get("LastEvaluatedKey")

    def fail(
        self, campaign_id: str, reason: str, now: str, *, only_from: Sequence[CampaignStatus]
    ) -> Campaign:
        """Move the campaign to Failed with `reason`, from one of `only_from` (and only along the
        lifecycle). Raises CampaignNotFound, or CampaignNotCancellable with its current status."""
        allowed = statuses_that_may_move_to(CampaignStatus.FAILED, only_from)
        allowed_values = {f":from{index}": status.value for index, status in enumerate(allowed)}
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=keys.campaign_key(campaign_id),
                UpdateExpression=(
                    "SET #status = :failed, failureReason = :reason, updatedAt = :now, "
                    "statusHistory = list_append(if_not_exists(statusHistory, :empty), :entry)"
                ),
                ConditionExpression=f"attribute_exists(pk) AND #status IN ({', '.join(allowed_values)})",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=keys.to_attributes(
                    {
                        ":failed": CampaignStatus.FAILED.value,
                        ":reason": reason,
                        ":now": now,
                        ":empty": [],
                        ":entry": [_history_entry(CampaignStatus.FAILED, now)],
                        **allowed_values,
                    }
                ),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not keys.condition_failed(error):
                raise
            old: Any = error.response.get("Item")
            if not old:
                raise CampaignNotFound(campaign_id) from None
            raise CampaignNotCancellable(campaign_id, keys.from_item(old)["status"]) from None
        return _campaign(keys.from_item(answer["Attributes"]))

    def set_execution_arn(self, campaign_id: str, execution_arn: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=keys.campaign_key(campaign_id),
            UpdateExpression="SET executionArn = :arn",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=keys.to_attributes({":arn": execution_arn}),
        )

    def set_dispatched_total(self, campaign_id: str, total: int) -> bool:
        return self._set_if(
            keys.campaign_key(campaign_id),
            ("status", CampaignStatus.RUNNING.value),
            {"total": total, "updatedAt": now_iso()},
        )

    def store_schedule_token(self, campaign_id: str, task_token: str) -> bool:
        """False when the campaign is no longer Scheduled (cancelled before the token was stored)."""
        return self._set_if(
            keys.campaign_key(campaign_id),
            ("status", CampaignStatus.SCHEDULED.value),
            {"scheduleTaskToken": task_token},
        )

    def store_completion_token(self, campaign_id: str, task_token: str) -> bool:
        """False when the campaign is not Sent."""
        return self._set_if(
            keys.campaign_key(campaign_id), ("status", CampaignStatus.SENT.value), {"taskToken": task_token}
        )

    # ----- chunks -----

    def pending_chunks(self, campaign_id: str, cursor: int, page_size: int) -> Iterator[Chunk]:
        """Pending chunks with index >= cursor, in index order, read a page at a time as consumed.

        A page is a few chunks (each up to 1000 recipients), not DynamoDB's 1 MB: a call that
        stops after a few chunks reads little more than it uses."""
        request = {
            "KeyConditionExpression": "pk = :pk AND sk >= :from",
            "FilterExpression": "#state = :pending",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": keys.to_attributes(
                {
                    ":pk": keys.chunks_pk(campaign_id),
                    ":from": keys.chunk_sk(cursor),
                    ":pending": ChunkState.PENDING.value,
                }
            ),
            "ConsistentRead": True,
            "Limit": page_size,
        }
        yield from (_chunk(item) for item in self._query(request))

    def submitted_chunks(self, campaign_id: str, cursor: int, page_size: int) -> Iterator[Chunk]:
        """Chunks from `cursor` that the provider took (they have a tracking id), without recipients."""
        request = {
            "KeyConditionExpression": "pk = :pk AND sk >= :from",
            "FilterExpression": "#state = :submitted AND attribute_exists(trackingId)",
            "ExpressionAttributeNames": {"#state": "state", "#index": "index"},
            "ExpressionAttributeValues": keys.to_attributes(
                {
                    ":pk": keys.chunks_pk(campaign_id),
                    ":from": keys.chunk_sk(cursor),
                    ":submitted": ChunkState.SUBMITTED.value,
                }
            ),
            "ProjectionExpression": "campaignId, #index, #state, trackingId",
            "ConsistentRead": True,
            "Limit": page_size,
        }
        yield from (_chunk(item) for item in self._query(request))

    def chunk_outcomes(self, campaign_id: str) -> list[Chunk]:
        """Every chunk's state, size and error; recipients are left out except for their number."""
        request = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeNames": {
                "#state": "state",
                "#error": "error",
                "#index": "index",
                "#size": "size",
            },
            "ExpressionAttributeValues": keys.to_attributes({":pk": keys.chunks_pk(campaign_id)}),
            "ProjectionExpression": "campaignId, #index, #state, #size, accepted, #error",
            "ConsistentRead": True,
        }
        return [_chunk(item) for item in self._query(request)]

    def claim_chunk(self, chunk: Chunk) -> bool:
        """pending -> submitting; False if the chunk was not pending (then it must not be sent)."""
        return self._move_chunk(chunk, ChunkState.PENDING, ChunkState.SUBMITTING, {"claimedAt": now_iso()})

    def mark_chunk_submitted(self, chunk: Chunk, tracking_id: str, accepted: int) -> None:
        self._move_chunk(
            chunk,
            ChunkState.SUBMITTING,
            ChunkState.SUBMITTED,
            {"trackingId": tracking_id, "accepted": accepted, "submittedAt": now_iso()},
        )

    def mark_chunk_failed(self, chunk: Chunk, error: str) -> None:
        self._move_chunk(chunk, ChunkState.SUBMITTING, ChunkState.FAILED, {"error": error})

    def mark_chunk_uncertain(self, chunk: Chunk, error: str) -> None:
        """Keep the chunk `submitting` (possibly sent) and note why nobody knows."""
        self._move_chunk(chunk, ChunkState.SUBMITTING, ChunkState.SUBMITTING, {"error": error})

    def release_chunk(self, chunk: Chunk) -> None:
        """submitting -> pending, only for a submission that certainly did not reach the provider."""
        self._move_chunk(chunk, ChunkState.SUBMITTING, ChunkState.PENDING, {})

    def _move_chunk(
        self, chunk: Chunk, expected: ChunkState, target: ChunkState, fields: dict[str, Any]
    ) -> bool:
        key = keys.chunk_key(chunk.campaign_id, chunk.index)
        return self._set_if(key, ("state", expected.value), {"state": target.value, **fields})

    # ----- messages -----

    def add_messages(self, chunk: Chunk, completion_timeout_seconds: int) -> None:
        """One message per recipient of a claimed chunk, written before the provider call (its
        callbacks can arrive before its answer does): Queued, not reported yet, no message id."""
        expires_at = self._expires_at(timedelta(seconds=completion_timeout_seconds))
        self._write_all(
            [
                {"PutRequest": {"Item": keys.to_attributes(_new_message_item(chunk, to, expires_at))}}
                for to in chunk.recipients
            ]
        )

    def remove_messages(self, chunk: Chunk) -> None:
        """Forget the messages of a chunk that certainly reached nobody (refused, or given back)."""
        self._write_all(
            [{"DeleteRequest": {"Key": keys.message_key(chunk.campaign_id, to)}} for to in chunk.recipients]
        )

    def record_report(self, campaign_id: str, report: StatusReport) -> RecordResult:
        """Apply a provider report to the campaign's message for `report.to`.

        One conditional write when it moves the message (a transaction with the counter when it
        makes it final, and with the message-id record when it is the message's first report),
        one more only to add a stale status to the history, none for a pure duplicate. Every
        condition is checked by DynamoDB in the write: the message must exist (a dispatched
        recipient of this campaign) and carry this report's message id, or none yet.
        Raises RecipientNotFound, MessageIdConflict, or StorageBusy."""
        result, retries = self._retrying(lambda: self._record(campaign_id, report))
        return replace(result, write_retries=retries)

    def get_message(self, message_id: str) -> Message | None:
        """The message a provider message id belongs to."""
        owner = self._client.get_item(
            TableName=self._table, Key=keys.message_id_key(message_id), ConsistentRead=True
        ).get("Item")
        if owner is None:
            return None
        pointer = keys.from_item(owner)
        answer = self._client.get_item(
            TableName=self._table,
            Key=keys.message_key(pointer["campaignId"], pointer["to"]),
            ConsistentRead=True,
        )
        return _message(keys.from_item(answer["Item"])) if "Item" in answer else None

    def list_messages(
        self,
        campaign_id: str,
        status: MessageStatus | None,
        limit: int,
        start_key: dict[str, Any] | None = None,
    ) -> tuple[list[Message], dict[str, Any] | None]:
        """One page of a campaign's messages by status then number (index gsi1), and the key to
        continue from (None on the last page). `start_key` must come from the same listing."""
        listing = keys.campaign_pk(campaign_id)
        values: dict[str, Any] = {":pk": {"S": listing}}
        condition = "gsi1pk = :pk"
        if status is not None:
            values[":status"] = {"S": keys.message_listing_sk(status.value, "")}
            condition += " AND begins_with(gsi1sk, :status)"
        request: dict[str, Any] = {
            "IndexName": keys.GSI1,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        if start_key is not None:
            _check_page_key(start_key, listing, keys.MESSAGE_SK, keys.message_pk(campaign_id, ""))
            if status is not None and not start_key["gsi1sk"]["S"].startswith(values[":status"]["S"]):
                raise InvalidPageToken()
            request["ExclusiveStartKey"] = start_key
        page = self._client.query(TableName=self._table, **request)
        return [_message(keys.from_item(item)) for item in page["Items"]], page.get("LastEvaluatedKey")

    def pending_messages(self, campaign_id: str) -> Iterator[Message]:
        """Every message of the campaign that is not final yet (index gsi1, one query per status)."""
        for status in INTERMEDIATE_MESSAGE_STATUSES:
            request = {
                "IndexName": keys.GSI1,
                "KeyConditionExpression": "gsi1pk = :pk AND begins_with(gsi1sk, :status)",
                "ExpressionAttributeValues": keys.to_attributes(
                    {
                        ":pk": keys.campaign_pk(campaign_id),
                        ":status": keys.message_listing_sk(status.value, ""),
                    }
                ),
            }
            yield from (_message(item) for item in self._query(request))

    # ----- recording, step by step -----

    def _record(self, campaign_id: str, report: StatusReport) -> RecordResult:
        status = report.status_name
        applied = RecordResult(report.message_id, status, True, status.is_final)
        # A message's first report claims its message id. Queued is nearly always the first, so
        # it tries the claim first; any other status first tries the message's own id.
        claim_first = status == MessageStatus.QUEUED
        try:
            self._apply(campaign_id, report, claim=claim_first)
            return applied
        except _ConditionFailed as failed:
            old = failed.old_item
        except _MessageIdTaken as taken:
            raise self._conflict_or_race(campaign_id, report, taken) from None
        if not old:
            raise RecipientNotFound(campaign_id)
        known = old.get("messageId")
        if known is None:
            if claim_first:
                raise _Raced()  # the claim failed on something a concurrent write changed
            try:
                self._apply(campaign_id, report, claim=True)
                return applied
            except _MessageIdTaken as taken:
                raise self._conflict_or_race(campaign_id, report, taken) from None
            except _ConditionFailed:
                raise _Raced() from None
        if known != report.message_id:
            raise MessageIdConflict(f"this recipient of campaign {campaign_id} has another message id")
        return self._record_stale(campaign_id, report, old)

    @staticmethod
    def _conflict_or_race(campaign_id: str, report: StatusReport, taken: _MessageIdTaken) -> Exception:
        if taken.owner != (campaign_id, report.to):
            return MessageIdConflict(
                f"message id {report.message_id} belongs to another recipient or campaign"
            )
        return _Raced()  # a concurrent first report of the same message claimed it: read again

    def _apply(self, campaign_id: str, report: StatusReport, *, claim: bool) -> None:
        update = self._status_update(campaign_id, report, claim=claim)
        if not claim and not report.status_name.is_final:
            try:
                self._client.update_item(**update)
            except ClientError as error:
                if keys.condition_failed(error):
                    raise _ConditionFailed(keys.from_item(error.response.get("Item", {}))) from error  # type: ignore[arg-type]
                raise
            return
        items: list[dict[str, Any]] = [{"Update": update}]
        if claim:
            items.append({"Put": self._message_id_put(campaign_id, report)})
        if report.status_name.is_final:
            items.append({"Update": self._count(campaign_id, report)})
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            reasons: list[dict[str, Any]] = error.response.get("CancellationReasons") or []  # type: ignore[assignment]
            codes = [reason.get("Code") for reason in reasons]
            if codes and codes[0] == "ConditionalCheckFailed":
                raise _ConditionFailed(keys.from_item(reasons[0].get("Item", {}))) from error
            if claim and len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                owner = keys.from_item(reasons[1].get("Item", {}))
                raise _MessageIdTaken((owner.get("campaignId"), owner.get("to"))) from error
            raise

    def _status_update(self, campaign_id: str, report: StatusReport, *, claim: bool) -> dict[str, Any]:
        status = report.status_name
        names = {"#final": "final", "#status": "status", "#history": keys.HISTORY_PREFIX + status}
        values: dict[str, Any] = {
            ":false": False,
            ":rank": status.rank,  # every final status has FINAL_RANK
            ":status": status.value,
            ":final": status.is_final,
            ":at": report.reported_at,
            ":now": now_iso(),
            ":messageId": report.message_id,
            ":listed": keys.message_listing_sk(status.value, report.to),
        }
        assignments = [
            "#status = :status",
            "statusRank = :rank",
            "#final = :final",
            "statusAt = :at",
            "updatedAt = :now",
            "gsi1sk = :listed",
            "#history = if_not_exists(#history, :at)",
        ]
        if claim:
            assignments.append("messageId = :messageId")
        if status.is_final:
            assignments.append("finalAt = :at")
        for index, (name, value) in enumerate(sorted(report.details().items())):
            names[f"#d{index}"] = name
            values[f":d{index}"] = value
            if name in _FIRST_SEEN_DETAILS:
                assignments.append(f"#d{index} = if_not_exists(#d{index}, :d{index})")
            else:  # duration and price: the latest applied report knows best
                assignments.append(f"#d{index} = :d{index}")
        owner = "attribute_not_exists(messageId)" if claim else "messageId = :messageId"
        moves = "#final = :false" if status.is_final else "(#final = :false AND statusRank < :rank)"
        return {
            "TableName": self._table,
            "Key": keys.message_key(campaign_id, report.to),
            "UpdateExpression": "SET " + ", ".join(assignments),
            "ConditionExpression": f"attribute_exists(pk) AND {owner} AND {moves}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": keys.to_attributes(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _message_id_put(self, campaign_id: str, report: StatusReport) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": keys.to_attributes(
                {
                    **keys.from_item(keys.message_id_key(report.message_id)),
                    "messageId": report.message_id,
                    "campaignId": campaign_id,
                    "to": report.to,
                    # Its campaign's timeout is not read here: the longest a campaign can wait.
                    "expiresAt": self._expires_at(timedelta(seconds=MAX_COMPLETION_TIMEOUT_SECONDS)),
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _count(self, campaign_id: str, report: StatusReport) -> dict[str, Any]:
        """The counter increment that goes with a message's move to final: counted exactly once."""
        shard = keys.counter_shard(report.to, self._counter_shards)
        return {
            "TableName": self._table,
            "Key": keys.counter_key(campaign_id, shard),
            "UpdateExpression": "ADD #count :one, finalTotal :one SET campaignId = :campaignId",
            "ExpressionAttributeNames": {"#count": keys.FINAL_COUNT_PREFIX + report.status_name},
            "ExpressionAttributeValues": keys.to_attributes({":one": 1, ":campaignId": campaign_id}),
        }

    def _record_stale(self, campaign_id: str, report: StatusReport, old: dict[str, Any]) -> RecordResult:
        history_attribute = keys.HISTORY_PREFIX + report.status_name
        if history_attribute not in old:
            self._client.update_item(
                TableName=self._table,
                Key=keys.message_key(campaign_id, report.to),
                UpdateExpression="SET #history = if_not_exists(#history, :at), updatedAt = :now",
                ConditionExpression="messageId = :messageId",
                ExpressionAttributeNames={"#history": history_attribute},
                ExpressionAttributeValues=keys.to_attributes(
                    {":at": report.reported_at, ":now": now_iso(), ":messageId": report.message_id}
                ),
            )
        return RecordResult(report.message_id, MessageStatus(old["status"]), False, False)

    def _retrying(self, write: Callable[[], T]) -> tuple[T, int]:
        """Run `write`, retrying conflicts, throttling and lost races with full-jitter backoff
        within the policy's time budget. Returns its result and the number of retries."""
        policy = self._retry
        deadline = time.monotonic() + policy.budget_seconds
        retries = 0
        while True:
            try:
                return write(), retries
            except (ClientError, _Raced) as error:
                if isinstance(error, ClientError) and not _is_transient(error):
                    raise
                if time.monotonic() >= deadline:
                    raise StorageBusy(f"still conflicting after {retries} retries") from error
            retries += 1
            ceiling = min(policy.max_delay_seconds, policy.base_delay_seconds * 2 ** min(retries, 16))
            self._sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not crypto

    # ----- plumbing -----

    def _set_if(self, key: dict[str, Any], guard: tuple[str, str], fields: dict[str, Any]) -> bool:
        """SET `fields` on the item only while its attribute guard[0] equals guard[1]; False if not."""
        names = {"#guard": guard[0]}
        values: dict[str, Any] = {":guard": guard[1]}
        assignments = []
        for number, (name, value) in enumerate(fields.items()):
            names[f"#f{number}"] = name
            values[f":f{number}"] = value
            assignments.append(f"#f{number} = :f{number}")
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET " + ", ".join(assignments),
                ConditionExpression="#guard = :guard",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=keys.to_attributes(values),
            )
        except ClientError as error:
            if keys.condition_failed(error):
                return False
            raise
        return True

    def _query(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        request = {"TableName": self._table, **request}
        while True:
            page = self._client.query(**request)
            yield from (keys.from_item(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return
            request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}

    def _write_all(self, requests: list[dict[str, Any]]) -> None:
        """BatchWriteItem in batches of 25, retrying unprocessed items with jittered backoff."""
        for start in range(0, len(requests), _BATCH_WRITE_SIZE):
            pending = requests[start : start + _BATCH_WRITE_SIZE]
            for attempt in range(_BATCH_WRITE_ATTEMPTS):
                answer = self._client.batch_write_item(RequestItems={self._table: pending})
                pending = answer.get("UnprocessedItems", {}).get(self._table, [])
                if not pending:
                    break
                # Unprocessed items mean throttling: back off before retrying just those.
                self._sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311 - jitter
            else:
                raise StorageBusy(f"DynamoDB left {len(pending)} items unprocessed after retries")


# ----- items <-> objects -----


def _history_entry(status: CampaignStatus, at: str) -> dict[str, str]:
    """One statusHistory entry, as the state machine's Mark* states append them too."""
    return {"status": status.value, "at": at}


def _campaign_item(campaign: Campaign) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": keys.campaign_pk(campaign.campaign_id),
        "sk": keys.CAMPAIGN_SK,
        "gsi1pk": keys.CAMPAIGNS_LISTING,
        "gsi1sk": keys.campaign_listing_sk(campaign.created_at, campaign.campaign_id),
        "campaignId": campaign.campaign_id,
        "name": campaign.name,
        "from": campaign.from_number,
        "status": campaign.status.value,
        "statusHistory": [{"status": entry.status, "at": entry.at} for entry in campaign.status_history],
        "createdAt": campaign.created_at,
        "updatedAt": campaign.updated_at,
        "scheduledAt": campaign.scheduled_at,
        "completionTimeoutSeconds": campaign.completion_timeout_seconds,
        "recipientCount": campaign.recipient_count,
        "total": campaign.total,
        "chunkCount": campaign.chunk_count,
        "failureReason": campaign.failure_reason,
        "callbackUrl": campaign.callback_url,
    }
    if campaign.message is not None:
        item["message"] = asdict(campaign.message)
    else:
        item["audioUrl"] = campaign.audio_url
    return item


def _campaign(item: dict[str, Any]) -> Campaign:
    message = item.get("message")
    return Campaign(
        campaign_id=item["campaignId"],
        name=item["name"],
        from_number=item["from"],
        status=CampaignStatus(item["status"]),
        status_history=tuple(
            StatusAt(entry["status"], str(entry["at"])) for entry in item.get("statusHistory", [])
        ),
        created_at=item["createdAt"],
        updated_at=item.get("updatedAt", item["createdAt"]),
        scheduled_at=item.get("scheduledAt"),
        completion_timeout_seconds=int(item["completionTimeoutSeconds"]),
        recipient_count=int(item.get("recipientCount", item.get("total", 0))),
        total=int(item.get("total", 0)),
        chunk_count=int(item.get("chunkCount", 0)),
        callback_url=item["callbackUrl"],
        message=TextMessage(**message) if message else None,
        audio_url=item.get("audioUrl"),
        failure_reason=item.get("failureReason"),
        execution_arn=item.get("executionArn"),
        completion_token=item.get("taskToken"),
        schedule_token=item.get("scheduleTaskToken"),
    )


def _chunk(item: dict[str, Any]) -> Chunk:
    recipients = tuple(item.get("recipients", ()))
    return Chunk(
        campaign_id=item["campaignId"],
        index=int(item["index"]),
        recipients=recipients,  # left out by the reads that need only the chunk's outcome
        size=int(item.get("size", len(recipients))),
        state=ChunkState(item["state"]),
        tracking_id=item.get("trackingId"),
        accepted=int(item.get("accepted", 0)),
        error=item.get("error"),
    )


def _new_message_item(chunk: Chunk, to: str, expires_at: int) -> dict[str, Any]:
    return {
        **keys.from_item(keys.message_key(chunk.campaign_id, to)),
        "gsi1pk": keys.campaign_pk(chunk.campaign_id),
        "gsi1sk": keys.message_listing_sk(MessageStatus.QUEUED.value, to),
        "campaignId": chunk.campaign_id,
        "to": to,
        "chunk": chunk.index,
        "status": MessageStatus.QUEUED.value,
        "statusRank": UNREPORTED_RANK,
        "final": False,
        "updatedAt": now_iso(),
        "expiresAt": expires_at,
    }


def _message(item: dict[str, Any]) -> Message:
    history = {
        MessageStatus(name.removeprefix(keys.HISTORY_PREFIX)): str(at)
        for name, at in item.items()
        if name.startswith(keys.HISTORY_PREFIX)
    }
    return Message(
        campaign_id=item["campaignId"],
        to=item["to"],
        chunk=int(item.get("chunk", 0)),
        status=MessageStatus(item["status"]),
        message_id=item.get("messageId"),
        history=MappingProxyType(history),
        duration=item.get("duration"),
        price=item.get("price"),
        updated_at=item.get("updatedAt"),
        final_at=item.get("finalAt"),
    )


def message_from_stream_image(image: dict[str, Any]) -> Message | None:
    """The message in a table stream record's image (DynamoDB JSON), or None for another record."""
    item = keys.from_item(image)
    is_message = item.get("sk") == keys.MESSAGE_SK and {"campaignId", "to", "status"} <= set(item)
    return _message(item) if is_message else None


def _add_counts(final: dict[str, int], shards: Iterable[dict[str, Any]]) -> None:
    for shard in shards:
        for name, value in shard.items():
            if name.startswith(keys.FINAL_COUNT_PREFIX):
                status = name.removeprefix(keys.FINAL_COUNT_PREFIX)
                final[status] = final.get(status, 0) + int(value)


def _check_page_key(key: dict[str, Any], listing: str, sk: str, pk_prefix: str) -> None:
    """A page key from another listing, status filter or table shape is not a valid token."""
    if set(key) != _PAGE_KEY_NAMES:
        raise InvalidPageToken()
    values = {name: value.get("S") if isinstance(value, dict) else None for name, value in key.items()}
    if values["gsi1pk"] != listing or values["sk"] != sk or not str(values["pk"]).startswith(pk_prefix):
        raise InvalidPageToken()


def _is_transient(error: ClientError) -> bool:
    code = error.response["Error"]["Code"]
    if code in _THROTTLED or code == "TransactionConflictException":
        return True
    if code != "TransactionCanceledException":
        return False
    reasons: list[dict[str, Any]] = error.response.get("CancellationReasons") or []  # type: ignore[assignment]
    codes = {reason.get("Code") for reason in reasons}
    return bool(codes & _TRANSIENT_REASONS) and "ConditionalCheckFailed" not in codes


class _ConditionFailed(Exception):
    def __init__(self, old_item: dict[str, Any]) -> None:
        super().__init__("condition failed")
        self.old_item = old_item


class _MessageIdTaken(Exception):
    def __init__(self, owner: tuple[Any, Any]) -> None:
        super().__init__("message id taken")
        self.owner = owner


class _Raced(Exception):
    """A concurrent write changed the message between two steps of recording: start again."""
