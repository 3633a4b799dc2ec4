"""What the campaign workflow reads and writes: recipient chunks and the campaign's workflow fields.

Every chunk move is a conditional write on its current state, so two attempts of the dispatcher
can never both claim the same chunk: claiming (pending -> submitting) happens before the provider
call, and a chunk that is not pending is never submitted again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from voice_status.dispatching import Chunk, ChunkState, ChunkSummary
from voice_status.repository import keys
from voice_status.statuses import CampaignStatus
from voice_status.timeutil import now_iso


def _set_if(
    client: Any, table: str, key: dict[str, Any], guard: tuple[str, str], fields: dict[str, Any]
) -> bool:
    """SET `fields` on the item only while its attribute guard[0] equals guard[1]; False if not."""
    names = {"#guard": guard[0]}
    values: dict[str, Any] = {":guard": guard[1]}
    assignments = []
    for number, (name, value) in enumerate(fields.items()):
        names[f"#f{number}"] = name
        values[f":f{number}"] = value
        assignments.append(f"#f{number} = :f{number}")
    try:
        client.update_item(
            TableName=table,
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


class ChunkRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def pending_from(self, campaign_id: str, cursor: int, page_size: int = 10) -> Iterator[Chunk]:
        """Pending chunks with index >= cursor, in index order, read a page at a time as consumed.

        A page is a few chunks (each up to 1000 recipients), not DynamoDB's 1 MB: a call that
        stops after a few chunks reads little more than it uses."""
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk >= :from",
            "FilterExpression": "#state = :pending",
            "ExpressionAttributeNames": {"#state": "state", "#index": "index"},
            "ExpressionAttributeValues": keys.to_attributes(
                {
                    ":pk": keys.chunks_pk(campaign_id),
                    ":from": f"{keys.CHUNK_PREFIX}{cursor:05d}",
                    ":pending": ChunkState.PENDING.value,
                }
            ),
            "ProjectionExpression": "#index, recipients, #state",
            "ConsistentRead": True,
            "Limit": page_size,
        }
        for item in self._query(request):
            yield Chunk(campaign_id, int(item["index"]), list(item["recipients"]), ChunkState(item["state"]))

    def summaries(self, campaign_id: str) -> list[ChunkSummary]:
        """Every chunk's state, accepted count and error. Recipients are read (to be counted) only
        for chunks still `submitting`, which are rare: the rest need no recipient list."""
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeNames": {"#state": "state", "#error": "error", "#index": "index"},
            "ExpressionAttributeValues": keys.to_attributes({":pk": keys.chunks_pk(campaign_id)}),
            "ProjectionExpression": "#index, #state, accepted, #error",
            "ConsistentRead": True,
        }
        summaries = []
        for item in self._query(request):
            state = ChunkState(item["state"])
            recipients = (
                self._recipient_count(campaign_id, int(item["index"]))
                if state == ChunkState.SUBMITTING
                else 0
            )
            summaries.append(ChunkSummary(state, recipients, int(item.get("accepted", 0)), item.get("error")))
        return summaries

    def _recipient_count(self, campaign_id: str, index: int) -> int:
        answer = self._client.get_item(
            TableName=self._table,
            Key=keys.chunk_key(campaign_id, index),
            ProjectionExpression="recipients",
            ConsistentRead=True,
        )
        return len(keys.from_item(answer.get("Item", {})).get("recipients", []))

    def tracking_ids(self, campaign_id: str) -> list[str]:
        """The provider tracking ids of the submitted chunks, for reconciliation."""
        request = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "FilterExpression": "#state = :submitted AND attribute_exists(trackingId)",
            "ExpressionAttributeNames": {"#state": "state"},
            "ExpressionAttributeValues": keys.to_attributes(
                {":pk": keys.chunks_pk(campaign_id), ":submitted": ChunkState.SUBMITTED.value}
            ),
            "ProjectionExpression": "trackingId",
            "ConsistentRead": True,
        }
        return [str(item["trackingId"]) for item in self._query(request)]

    def claim(self, campaign_id: str, index: int) -> bool:
        """pending -> submitting; False if the chunk was not pending (then it must not be sent)."""
        return self._move(
            campaign_id, index, ChunkState.PENDING, ChunkState.SUBMITTING, {"claimedAt": now_iso()}
        )

    def mark_submitted(self, campaign_id: str, index: int, tracking_id: str, accepted: int) -> None:
        self._move(
            campaign_id,
            index,
            ChunkState.SUBMITTING,
            ChunkState.SUBMITTED,
            {"trackingId": tracking_id, "accepted": accepted, "submittedAt": now_iso()},
        )

    def mark_failed(self, campaign_id: str, index: int, error: str) -> None:
        self._move(campaign_id, index, ChunkState.SUBMITTING, ChunkState.FAILED, {"error": error})

    def mark_uncertain(self, campaign_id: str, index: int, error: str) -> None:
        """Keep the chunk `submitting` (possibly sent) and note why nobody knows."""
        self._move(campaign_id, index, ChunkState.SUBMITTING, ChunkState.SUBMITTING, {"error": error})

    def release(self, campaign_id: str, index: int) -> None:
        """submitting -> pending, only for a submission that certainly did not reach the provider."""
        self._move(campaign_id, index, ChunkState.SUBMITTING, ChunkState.PENDING, {})

    def _move(
        self, campaign_id: str, index: int, expected: ChunkState, target: ChunkState, fields: dict[str, Any]
    ) -> bool:
        key = keys.chunk_key(campaign_id, index)
        return _set_if(
            self._client, self._table, key, ("state", expected.value), {"state": target.value, **fields}
        )

    def _query(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            page = self._client.query(**request)
            yield from (keys.from_item(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                return
            request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}


class CampaignWorkflowRepository:
    """The campaign item's fields that the workflow's functions write, each guarded by the status."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get(self, campaign_id: str) -> dict[str, Any] | None:
        answer = self._client.get_item(
            TableName=self._table, Key=keys.campaign_key(campaign_id), ConsistentRead=True
        )
        return keys.from_item(answer["Item"]) if "Item" in answer else None

    def set_dispatched_total(self, campaign_id: str, total: int) -> bool:
        return self._set_if_status(
            campaign_id, CampaignStatus.RUNNING, {"total": total, "updatedAt": now_iso()}
        )

    def store_schedule_token(self, campaign_id: str, task_token: str) -> bool:
        """False when the campaign is no longer Scheduled (cancelled before the token was stored)."""
        return self._set_if_status(campaign_id, CampaignStatus.SCHEDULED, {"scheduleTaskToken": task_token})

    def store_completion_token(self, campaign_id: str, task_token: str) -> bool:
        return self._set_if_status(campaign_id, CampaignStatus.SENT, {"taskToken": task_token})

    def _set_if_status(self, campaign_id: str, status: CampaignStatus, fields: dict[str, Any]) -> bool:
        return _set_if(
            self._client, self._table, keys.campaign_key(campaign_id), ("status", status.value), fields
        )
