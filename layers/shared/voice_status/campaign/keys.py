"""The campaign aggregate's single-table key layout and item codec (used only by the store).

| record          | pk                            | sk            | gsi1pk / gsi1sk                          |
|-----------------|-------------------------------|---------------|------------------------------------------|
| campaign        | CAMPAIGN#<campaignId>         | CAMPAIGN      | CAMPAIGNS / <createdAt>#<campaignId>     |
| counter shard   | CAMPAIGN#<campaignId>         | COUNTER#<nn>  |                                          |
| recipient chunk | CHUNKS#<campaignId>           | CHUNK#<nnnnn> |                                          |
| message         | MESSAGE#<campaignId>#<to>     | MESSAGE       | CAMPAIGN#<campaignId> / <status>#<to>    |
| message id      | MESSAGEID#<messageId>         | MESSAGEID     |                                          |

A message is one recipient of one campaign: its key is what a callback's URL and `to` name, so
a callback's write is bound to its campaign by the key itself. The message-id record makes a
provider message id belong to one message only, and lets GET /messages/{messageId} find it.
A campaign's item and its counter shards share a partition, so one consistent Query reads the
campaign with exact counts; chunks live apart so that Query stays small.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

CAMPAIGN_SK = "CAMPAIGN"
MESSAGE_SK = "MESSAGE"
MESSAGE_ID_SK = "MESSAGEID"
COUNTER_PREFIX = "COUNTER#"
CHUNK_PREFIX = "CHUNK#"
CAMPAIGNS_LISTING = "CAMPAIGNS"  # gsi1pk of every campaign: GET /campaigns, newest first
HISTORY_PREFIX = "h#"  # one top-level attribute per reported status: h#<Status> = provider time
FINAL_COUNT_PREFIX = "final#"  # counter shard attribute per final status
GSI1 = "gsi1"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def campaign_pk(campaign_id: str) -> str:
    return f"CAMPAIGN#{campaign_id}"


def campaign_key(campaign_id: str) -> dict[str, Any]:
    return {"pk": {"S": campaign_pk(campaign_id)}, "sk": {"S": CAMPAIGN_SK}}


def counter_key(campaign_id: str, shard: int) -> dict[str, Any]:
    return {"pk": {"S": campaign_pk(campaign_id)}, "sk": {"S": f"{COUNTER_PREFIX}{shard:02d}"}}


def counter_shard(recipient: str, shards: int) -> int:
    """A message always counts in the same shard; shards spread one campaign's write load."""
    return int.from_bytes(hashlib.sha256(recipient.encode()).digest()[:4], "big") % shards


def chunks_pk(campaign_id: str) -> str:
    return f"CHUNKS#{campaign_id}"


def chunk_sk(index: int) -> str:
    return f"{CHUNK_PREFIX}{index:05d}"


def chunk_key(campaign_id: str, index: int) -> dict[str, Any]:
    return {"pk": {"S": chunks_pk(campaign_id)}, "sk": {"S": chunk_sk(index)}}


def message_pk(campaign_id: str, recipient: str) -> str:
    return f"MESSAGE#{campaign_id}#{recipient}"


def message_key(campaign_id: str, recipient: str) -> dict[str, Any]:
    return {"pk": {"S": message_pk(campaign_id, recipient)}, "sk": {"S": MESSAGE_SK}}


def message_listing_sk(status: str, recipient: str) -> str:
    return f"{status}#{recipient}"


def message_id_key(message_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"MESSAGEID#{message_id}"}, "sk": {"S": MESSAGE_ID_SK}}


def campaign_listing_sk(created_at: str, campaign_id: str) -> str:
    return f"{created_at}#{campaign_id}"


def _to_dynamo(value: Any) -> Any:
    # DynamoDB numbers are decimals; floats (prices) go through str to keep their digits.
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _to_dynamo(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_to_dynamo(inner) for inner in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_dynamo(inner) for key, inner in value.items()}
    if isinstance(value, list | set):
        return [_from_dynamo(inner) for inner in value]
    return value


def condition_failed(error: ClientError) -> bool:
    """A conditional write whose condition did not hold (the store's normal "no")."""
    return bool(error.response["Error"]["Code"] == "ConditionalCheckFailedException")


def to_attribute(value: Any) -> dict[str, Any]:
    serialized: dict[str, Any] = _serializer.serialize(_to_dynamo(value))  # type: ignore[assignment]
    return serialized


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    return {name: to_attribute(value) for name, value in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain JSON-ready values (numbers as int or float)."""
    return {name: _from_dynamo(_deserializer.deserialize(value)) for name, value in item.items()}
