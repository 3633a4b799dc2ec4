"""The undo-log TransactWriteItems behaves exactly as moto's own: each scenario runs through both.

Same answer (success, or the same error with the same cancellation reasons), the same items
after it, the same stream records. Tables have a stream and, one of them, a range key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from local import moto_transactions

PAIRS = "pairs"  # pk + sk
SINGLE = "single"  # id only


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _pair(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": _s(pk), "sk": _s(sk)}


SEED = [
    (PAIRS, {**_pair("a", "1"), "status": _s("Queued"), "n": _n(1)}),
    (PAIRS, {**_pair("a", "2"), "n": _n(2)}),
    (PAIRS, {**_pair("b", "1"), "n": _n(5)}),
    (SINGLE, {"id": _s("x"), "count": _n(0)}),
    (SINGLE, {"id": _s("y"), "count": _n(3)}),
]

ADD_ONE = {"UpdateExpression": "ADD #c :one", "ExpressionAttributeNames": {"#c": "count"},
           "ExpressionAttributeValues": {":one": _n(1)}}  # fmt: skip

SCENARIOS: dict[str, list[dict[str, Any]]] = {
    "all applied": [
        {
            "Update": {
                "TableName": PAIRS,
                "Key": _pair("a", "1"),
                "UpdateExpression": "SET #s = :done",
                "ConditionExpression": "#s = :queued",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":done": _s("Completed"), ":queued": _s("Queued")},
            }
        },
        {"Update": {"TableName": SINGLE, "Key": {"id": _s("x")}, **ADD_ONE}},
        {"Put": {"TableName": PAIRS, "Item": {**_pair("new", "1"), "n": _n(9)}}},
    ],
    "last condition fails": [
        {"Put": {"TableName": PAIRS, "Item": {**_pair("c", "1"), "n": _n(7)}}},
        {"Update": {"TableName": SINGLE, "Key": {"id": _s("x")}, **ADD_ONE}},
        {
            "Update": {
                "TableName": PAIRS,
                "Key": _pair("a", "2"),
                "UpdateExpression": "SET n = :z",
                "ConditionExpression": "attribute_not_exists(n)",
                "ExpressionAttributeValues": {":z": _n(0)},
            }
        },
    ],
    "first condition fails, later ones applied then undone": [
        {
            "ConditionCheck": {
                "TableName": PAIRS,
                "Key": _pair("a", "1"),
                "ConditionExpression": "#s = :x",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":x": _s("Done")},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
        {"Delete": {"TableName": PAIRS, "Key": _pair("b", "1")}},
        {
            "Update": {
                "TableName": PAIRS,
                "Key": _pair("a", "9"),
                "UpdateExpression": "SET n = :z",
                "ExpressionAttributeValues": {":z": _n(0)},
            }
        },
        {"Put": {"TableName": PAIRS, "Item": {**_pair("z", "1"), "n": _n(1)}}},
        {"Delete": {"TableName": SINGLE, "Key": {"id": _s("y")}}},
    ],
    "two conditions fail": [
        {
            "Update": {
                "TableName": SINGLE,
                "Key": {"id": _s("y")},
                **ADD_ONE,
                "ConditionExpression": "#c > :one",
            }
        },
        {
            "Delete": {
                "TableName": PAIRS,
                "Key": _pair("q", "1"),
                "ConditionExpression": "attribute_exists(pk)",
            }
        },
        {
            "Put": {
                "TableName": SINGLE,
                "Item": {"id": _s("w")},
                "ConditionExpression": "attribute_exists(id)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        },
    ],
    "same item twice, after a write": [
        {"Update": {"TableName": SINGLE, "Key": {"id": _s("y")}, **ADD_ONE}},
        {"Put": {"TableName": PAIRS, "Item": {**_pair("d", "1")}}},
        {"Update": {"TableName": SINGLE, "Key": {"id": _s("y")}, **ADD_ONE}},
    ],
    "invalid update after a write": [
        {"Put": {"TableName": PAIRS, "Item": {**_pair("d", "1")}}},
        {
            "Update": {
                "TableName": PAIRS,
                "Key": _pair("a", "2"),
                "UpdateExpression": "ADD n :s",
                "ExpressionAttributeValues": {":s": _s("text")},
            }
        },
    ],
    "item without its range key after a write": [
        {"Put": {"TableName": SINGLE, "Item": {"id": _s("v")}}},
        {"Put": {"TableName": PAIRS, "Item": {"pk": _s("e")}}},
    ],
    "incomplete key after a write": [
        {"Update": {"TableName": SINGLE, "Key": {"id": _s("x")}, **ADD_ONE}},
        {"Delete": {"TableName": PAIRS, "Key": {"pk": _s("a")}}},
    ],
}


def _run(scenario: list[dict[str, Any]]) -> dict[str, Any]:
    """Seed fresh tables, run one transaction, and describe everything a client can observe."""
    client: Any = boto3.client("dynamodb", region_name="us-east-1")
    streams: Any = boto3.client("dynamodbstreams", region_name="us-east-1")
    stream_spec = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    client.create_table(
        TableName=PAIRS, BillingMode="PAY_PER_REQUEST", StreamSpecification=stream_spec,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
    )  # fmt: skip
    client.create_table(
        TableName=SINGLE, BillingMode="PAY_PER_REQUEST", StreamSpecification=stream_spec,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )  # fmt: skip
    for table, item in SEED:
        client.put_item(TableName=table, Item=item)

    try:
        client.transact_write_items(TransactItems=scenario)
        answer: dict[str, Any] = {"ok": True}
    except ClientError as error:
        answer = {
            "code": error.response["Error"]["Code"],
            "message": error.response["Error"]["Message"],
            "reasons": error.response.get("CancellationReasons"),
        }

    observed: dict[str, Any] = {"answer": answer}
    for table in (PAIRS, SINGLE):
        items = client.scan(TableName=table)["Items"]
        observed[f"{table} items"] = sorted(items, key=repr)
        arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        observed[f"{table} stream"] = [
            {
                "event": record["eventName"],
                "sequence": record["dynamodb"]["SequenceNumber"],
                "keys": record["dynamodb"]["Keys"],
                "old": record["dynamodb"].get("OldImage"),
                "new": record["dynamodb"].get("NewImage"),
            }
            for record in records
        ]
    # The next write's sequence number shows whether the stream's position was restored too.
    client.put_item(TableName=SINGLE, Item={"id": _s("after")})
    arn = client.describe_table(TableName=SINGLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    last = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"][-1]
    observed["next sequence"] = last["dynamodb"]["SequenceNumber"]
    return observed


def _observe_with(
    monkeypatch: pytest.MonkeyPatch, implementation: Callable[..., None], scenario: list[dict[str, Any]]
) -> dict[str, Any]:
    with monkeypatch.context() as patch, mock_aws():
        patch.setattr(DynamoDBBackend, "transact_write_items", implementation)
        return _run(scenario)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_undo_log_matches_moto(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = SCENARIOS[name]
    expected = _observe_with(monkeypatch, moto_transactions.MOTO_TRANSACT_WRITE_ITEMS, scenario)
    actual = _observe_with(monkeypatch, moto_transactions.transact_write_items, scenario)
    assert actual == expected


def test_scenarios_cover_each_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guards the comparison above against scenarios that all end the same way."""
    answers = {
        name: _observe_with(monkeypatch, moto_transactions.transact_write_items, scenario)["answer"]
        for name, scenario in SCENARIOS.items()
    }
    assert answers["all applied"] == {"ok": True}
    cancelled = answers["first condition fails, later ones applied then undone"]
    assert cancelled["code"] == "TransactionCanceledException"
    assert [reason["Code"] for reason in cancelled["reasons"]] == ["ConditionalCheckFailed"] + ["None"] * 4
    assert cancelled["reasons"][0]["Item"]["status"] == _s("Queued")
    assert answers["same item twice, after a write"]["code"] == "ValidationException"
    assert answers["item without its range key after a write"]["reasons"][1]["Code"] == "KeyError"


def test_rolled_back_transaction_leaves_other_items_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the touched items are restored: an item written before the transaction stays as written."""
    with monkeypatch.context() as patch, mock_aws():
        patch.setattr(DynamoDBBackend, "transact_write_items", moto_transactions.transact_write_items)
        observed = _run(SCENARIOS["last condition fails"])
    assert {"id": _s("x"), "count": _n(0)} in observed["single items"]
    assert not any(item["pk"] == _s("c") for item in observed["pairs items"])
