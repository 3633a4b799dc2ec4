"""Campaign items, their counter shards and recipient chunks."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from voice_status.counts import CampaignCounts
from voice_status.errors import CampaignNotCancellable, CampaignNotFound, InvalidPageToken
from voice_status.repository import keys
from voice_status.statuses import CANCELLABLE_STATUSES, CANCELLED_REASON, CampaignStatus

_BATCH_WRITE_SIZE = 25  # DynamoDB's BatchWriteItem limit
_BATCH_WRITE_ATTEMPTS = 8
_MESSAGE_PAGE_KEY_NAMES = {"pk", "sk", "gsi1pk", "gsi1sk"}


class CampaignRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get_with_counts(self, campaign_id: str) -> tuple[dict[str, Any] | None, CampaignCounts]:
        """The campaign item (None if there is none) and its exact counts, in one consistent Query."""
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": keys.campaign_pk(campaign_id)}},
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**request)
            items.extend(keys.from_item(item) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        campaign = next((item for item in items if item["sk"] == keys.CAMPAIGN_SK), None)
        shards = [item for item in items if item["sk"].startswith(keys.COUNTER_PREFIX)]
        final: dict[str, int] = {}
        for shard in shards:
            for name, value in shard.items():
                if name.startswith(keys.FINAL_COUNT_PREFIX):
                    status = name.removeprefix(keys.FINAL_COUNT_PREFIX)
                    final[status] = final.get(status, 0) + int(value)
        total = int(campaign.get("total", 0)) if campaign else sum(final.values())
        return campaign, CampaignCounts(total=total, final=final)

    # ----- the API's reads and writes -----

    def create(self, campaign: dict[str, Any], chunks: Sequence[Sequence[str]]) -> None:
        """Store the recipient chunks, then the campaign item.

        Chunks go first so that a campaign item never exists without its recipients: the item is
        what the workflow and the API look for. The item's write refuses to replace a campaign."""
        campaign_id = campaign["campaignId"]
        self._put_all(
            [
                {
                    "pk": keys.chunks_pk(campaign_id),
                    "sk": f"{keys.CHUNK_PREFIX}{index:05d}",
                    "campaignId": campaign_id,
                    "index": index,
                    "recipients": list(recipients),
                    "state": "pending",
                }
                for index, recipients in enumerate(chunks)
            ]
        )
        self._client.put_item(
            TableName=self._table,
            Item=keys.to_attributes(
                {"pk": keys.campaign_pk(campaign_id), "sk": keys.CAMPAIGN_SK, **campaign}
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, campaign_id: str) -> dict[str, Any] | None:
        answer = self._client.get_item(
            TableName=self._table, Key=keys.campaign_key(campaign_id), ConsistentRead=True
        )
        return keys.from_item(answer["Item"]) if "Item" in answer else None

    def list_messages(
        self,
        campaign_id: str,
        status: str | None,
        limit: int,
        start_key: dict[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of a campaign's messages by status then id (index gsi1), and the key to continue
        from (None on the last page). `start_key` must come from the same listing."""
        values: dict[str, Any] = {":pk": {"S": keys.campaign_pk(campaign_id)}}
        condition = "gsi1pk = :pk"
        if status is not None:
            values[":status"] = {"S": f"{status}#"}
            condition += " AND begins_with(gsi1sk, :status)"
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": keys.GSI1,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": limit,
        }
        if start_key is not None:
            self._check_page_key(campaign_id, status, start_key)
            request["ExclusiveStartKey"] = start_key
        page = self._client.query(**request)
        return [keys.from_item(item) for item in page["Items"]], page.get("LastEvaluatedKey")

    def cancel(self, campaign_id: str, now: str) -> dict[str, Any]:
        """Scheduled or Queued -> Failed ("Cancelled") in one conditional write; the updated item.

        Raises CampaignNotFound, or CampaignNotCancellable with the campaign's current status."""
        return self._fail_from(campaign_id, CANCELLABLE_STATUSES, CANCELLED_REASON, now)

    def fail_unstarted(self, campaign_id: str, reason: str, now: str) -> dict[str, Any]:
        """Mark a campaign whose workflow could not be started as Failed (if nothing moved it since)."""
        return self._fail_from(campaign_id, CANCELLABLE_STATUSES, reason, now)

    def set_execution_arn(self, campaign_id: str, execution_arn: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=keys.campaign_key(campaign_id),
            UpdateExpression="SET executionArn = :arn",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=keys.to_attributes({":arn": execution_arn}),
        )

    # ----- helpers -----

    def _fail_from(
        self, campaign_id: str, allowed: Sequence[CampaignStatus], reason: str, now: str
    ) -> dict[str, Any]:
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
                        ":entry": [{"status": CampaignStatus.FAILED.value, "at": now}],
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
        return keys.from_item(answer["Attributes"])

    def _put_all(self, items: list[dict[str, Any]]) -> None:
        """BatchWriteItem in batches of 25, retrying unprocessed items with jittered backoff."""
        for start in range(0, len(items), _BATCH_WRITE_SIZE):
            pending = [
                {"PutRequest": {"Item": keys.to_attributes(item)}}
                for item in items[start : start + _BATCH_WRITE_SIZE]
            ]
            for attempt in range(_BATCH_WRITE_ATTEMPTS):
                answer = self._client.batch_write_item(RequestItems={self._table: pending})
                pending = answer.get("UnprocessedItems", {}).get(self._table, [])
                if not pending:
                    break
                # Unprocessed items mean throttling: back off before retrying just those.
                time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311 - jitter, not crypto
            else:
                raise RuntimeError(f"DynamoDB left {len(pending)} chunk items unprocessed after retries")

    @staticmethod
    def _check_page_key(campaign_id: str, status: str | None, key: dict[str, Any]) -> None:
        """A page key from another campaign, status filter or table shape is not a valid token."""
        if set(key) != _MESSAGE_PAGE_KEY_NAMES:
            raise InvalidPageToken()
        values = {name: value.get("S") if isinstance(value, dict) else None for name, value in key.items()}
        if (
            values["gsi1pk"] != keys.campaign_pk(campaign_id)
            or values["sk"] != keys.MESSAGE_SK
            or not str(values["pk"]).startswith("MESSAGE#")
            or (status is not None and not str(values["gsi1sk"]).startswith(f"{status}#"))
        ):
            raise InvalidPageToken()
