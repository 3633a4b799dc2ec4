"""Campaign items, their counter shards and recipient chunks."""

from __future__ import annotations

from typing import Any

from voice_status.counts import CampaignCounts
from voice_status.repository import keys


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
