"""Message items: recording status reports with one conditional write each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from voice_status.reports import StatusReport
from voice_status.repository import keys
from voice_status.statuses import MessageStatus
from voice_status.timeutil import now_iso

# The condition that makes a write move a message only forward and never off a final status
# (rules.moves_forward, enforced atomically).
_MOVES_FORWARD = "attribute_not_exists(pk) OR (#final = :false AND statusRank < :rank)"
_NOT_FINAL = "attribute_not_exists(pk) OR #final = :false"
# Details that describe the call and never change once known.
_FIRST_SEEN_DETAILS = ("to", "from", "country", "operator", "campaignTrackingId", "createdAt")
_TRANSACTION_ATTEMPTS = 3


@dataclass(frozen=True)
class RecordResult:
    message_id: str
    status: MessageStatus  # the message's status after this report
    applied: bool  # the report moved the status
    became_final: bool  # this report made the message final (and was counted)
    campaign_id: str


class MessageRepository:
    def __init__(self, client: Any, table_name: str, counter_shards: int = 10) -> None:
        self._client = client
        self._table = table_name
        self._counter_shards = counter_shards

    def record(self, campaign_id: str, report: StatusReport) -> RecordResult:
        """Apply a report: one write when it moves the message, a second only to add a stale
        status to the history, none for a pure duplicate."""
        status = report.status_name
        update = self._status_update(campaign_id, report)
        try:
            if status.is_final:
                self._write_final(campaign_id, report, update)
            else:
                self._update_message(update)
        except _ConditionFailed as failed:
            return self._record_stale(campaign_id, report, failed.old_item)
        return RecordResult(report.message_id, status, True, status.is_final, campaign_id)

    def get(self, message_id: str) -> dict[str, Any] | None:
        answer = self._client.get_item(
            TableName=self._table, Key=keys.message_key(message_id), ConsistentRead=True
        )
        return keys.from_item(answer["Item"]) if "Item" in answer else None

    # ----- writes -----

    def _status_update(self, campaign_id: str, report: StatusReport) -> dict[str, Any]:
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
            ":campaignId": campaign_id,
            ":gsi1pk": keys.campaign_pk(campaign_id),
            ":gsi1sk": f"{status.value}#{report.message_id}",
        }
        assignments = [
            "#status = :status",
            "statusRank = :rank",
            "#final = :final",
            "statusAt = :at",
            "updatedAt = :now",
            "messageId = :messageId",
            "campaignId = if_not_exists(campaignId, :campaignId)",
            "gsi1pk = if_not_exists(gsi1pk, :gsi1pk)",
            "gsi1sk = :gsi1sk",
            "#history = if_not_exists(#history, :at)",
        ]
        if status.is_final:
            assignments.append("finalAt = :at")
        for index, (field, value) in enumerate(sorted(report.details().items())):
            names[f"#d{index}"] = field
            values[f":d{index}"] = value
            if field in _FIRST_SEEN_DETAILS:
                assignments.append(f"#d{index} = if_not_exists(#d{index}, :d{index})")
            else:  # duration and price: the latest applied report knows best
                assignments.append(f"#d{index} = :d{index}")
        return {
            "TableName": self._table,
            "Key": keys.message_key(report.message_id),
            "UpdateExpression": "SET " + ", ".join(assignments),
            "ConditionExpression": _NOT_FINAL if status.is_final else _MOVES_FORWARD,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": keys.to_attributes(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _write_final(self, campaign_id: str, report: StatusReport, update: dict[str, Any]) -> None:
        """The message's move to final and its count, in one transaction: counted exactly once."""
        shard = keys.counter_shard(report.message_id, self._counter_shards)
        count = {
            "TableName": self._table,
            "Key": keys.counter_key(campaign_id, shard),
            "UpdateExpression": "ADD #count :one, finalTotal :one SET campaignId = :campaignId",
            "ExpressionAttributeNames": {"#count": keys.FINAL_COUNT_PREFIX + report.status_name},
            "ExpressionAttributeValues": keys.to_attributes({":one": 1, ":campaignId": campaign_id}),
        }
        for attempt in range(1, _TRANSACTION_ATTEMPTS + 1):
            try:
                self._client.transact_write_items(TransactItems=[{"Update": update}, {"Update": count}])
                return
            except ClientError as error:
                reasons: list[dict[str, Any]] = error.response.get("CancellationReasons") or []  # type: ignore[assignment]
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    raise _ConditionFailed(reasons[0].get("Item", {})) from error
                conflict = any(reason.get("Code") == "TransactionConflict" for reason in reasons)
                if not conflict or attempt == _TRANSACTION_ATTEMPTS:
                    raise

    def _update_message(self, update: dict[str, Any]) -> None:
        try:
            self._client.update_item(**update)
        except ClientError as error:
            if keys.condition_failed(error):
                old_item: dict[str, Any] = error.response.get("Item", {})  # type: ignore[assignment]
                raise _ConditionFailed(old_item) from error
            raise

    def _record_stale(self, campaign_id: str, report: StatusReport, old_item: dict[str, Any]) -> RecordResult:
        old = keys.from_item(old_item)
        current = MessageStatus(old["status"])
        history_attribute = keys.HISTORY_PREFIX + report.status_name
        if history_attribute not in old:
            self._client.update_item(
                TableName=self._table,
                Key=keys.message_key(report.message_id),
                UpdateExpression="SET #history = if_not_exists(#history, :at), updatedAt = :now",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#history": history_attribute},
                ExpressionAttributeValues=keys.to_attributes({":at": report.reported_at, ":now": now_iso()}),
            )
        return RecordResult(report.message_id, current, False, False, old.get("campaignId", campaign_id))


class _ConditionFailed(Exception):
    def __init__(self, old_item: dict[str, Any]) -> None:
        super().__init__("condition failed")
        self.old_item = old_item
