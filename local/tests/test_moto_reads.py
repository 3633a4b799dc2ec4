"""Reads answer exactly as moto's own do, now that queries read only the queried partition and
item reads skip moto's generic serializer.

Each read runs twice against the same tables: with moto's `Table.query`, `Table.all_items` and
`DynamoHandler.serialized`, and with the offline stack's; the answers (items with every attribute
type, order, counts, LastEvaluatedKey, consumed capacity) must be the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

PAIRS, SINGLE = "pairs", "single"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


QUERIES: dict[str, dict[str, Any]] = {
    "one partition": {"TableName": PAIRS, "KeyConditionExpression": "pk = :p",
                      "ExpressionAttributeValues": {":p": _s("campaign-2")}},
    "a range of it, newest first": {
        "TableName": PAIRS, "KeyConditionExpression": "pk = :p AND begins_with(sk, :m)",
        "ExpressionAttributeValues": {":p": _s("campaign-2"), ":m": _s("MESSAGE#1")},
        "ScanIndexForward": False},
    "filtered, in pages": {
        "TableName": PAIRS, "KeyConditionExpression": "pk = :p", "FilterExpression": "n > :n",
        "ExpressionAttributeValues": {":p": _s("campaign-1"), ":n": {"N": "3"}}, "Limit": 4},
    "a partition that is not there": {"TableName": PAIRS, "KeyConditionExpression": "pk = :p",
                                      "ExpressionAttributeValues": {":p": _s("nobody")}},
    "an index, in pages": {
        "TableName": PAIRS, "IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :g",
        "ExpressionAttributeValues": {":g": _s("STATUS#Queued")}, "Limit": 3},
    "an index, a range, newest first": {
        "TableName": PAIRS, "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :g AND gsi1sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {":g": _s("STATUS#Final"), ":a": _s("1"), ":b": _s("5")},
        "ScanIndexForward": False},
    "a table without a range key": {"TableName": SINGLE, "KeyConditionExpression": "id = :i",
                                    "ExpressionAttributeValues": {":i": _s("x")}},
    "counted, with consumed capacity": {
        "TableName": PAIRS, "KeyConditionExpression": "pk = :p", "Select": "COUNT",
        "ReturnConsumedCapacity": "TOTAL", "ExpressionAttributeValues": {":p": _s("campaign-3")}},
    "projected": {"TableName": PAIRS, "KeyConditionExpression": "pk = :p",
                  "ProjectionExpression": "sk, #b, tags", "ExpressionAttributeNames": {"#b": "bytes"}, "ExpressionAttributeValues": {":p": _s("campaign-1")}},
}  # fmt: skip

OTHER_READS: dict[str, tuple[str, dict[str, Any]]] = {
    "an item": ("get_item", {"TableName": PAIRS, "Key": {"pk": _s("campaign-1"), "sk": _s("MESSAGE#3")}}),
    "no item": ("get_item", {"TableName": PAIRS, "Key": {"pk": _s("campaign-1"), "sk": _s("nothing")}}),
    "a batch": ("batch_get_item", {"RequestItems": {
        PAIRS: {"Keys": [{"pk": _s("campaign-2"), "sk": _s("MESSAGE#1")}, {"pk": _s("nobody"), "sk": _s("x")}]},
        SINGLE: {"Keys": [{"id": _s("y")}]}}}),
    "a transaction": ("transact_get_items", {"TransactItems": [
        {"Get": {"TableName": SINGLE, "Key": {"id": _s("z")}}},
        {"Get": {"TableName": PAIRS, "Key": {"pk": _s("campaign-3"), "sk": _s("MESSAGE#11")}}}]}),
    "a scan page": ("scan", {"TableName": PAIRS, "Limit": 5, "ReturnConsumedCapacity": "INDEXES"}),
}  # fmt: skip


def _create_tables(dynamodb: Any) -> None:
    attributes = [{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "gsi1pk", "gsi1sk")]
    dynamodb.create_table(
        TableName=PAIRS,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=attributes,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    dynamodb.create_table(
        TableName=SINGLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    # Written out of key order, with ties on the index key, so order is the tables' to make.
    for index in (7, 3, 11, 0, 5, 9, 1, 10, 4, 8, 2, 6):
        for campaign in (3, 1, 2):
            status = "Queued" if index % 3 else "Final"
            dynamodb.put_item(
                TableName=PAIRS,
                Item={
                    "pk": _s(f"campaign-{campaign}"),
                    "sk": _s(f"MESSAGE#{index}"),
                    "gsi1pk": _s(f"STATUS#{status}"),
                    "gsi1sk": _s(str(index % 6)),
                    "n": {"N": str(index)},
                    # Every attribute type, for the serializer.
                    "bytes": {"B": bytes([index, 255])},
                    "blobs": {"BS": [b"a", bytes([index])]},
                    "tags": {"SS": ["x", f"t{index}"]},
                    "sizes": {"NS": ["1.5", str(index)]},
                    "history": {"L": [{"M": {"at": {"S": "2026"}, "ok": {"BOOL": True}}}, {"NULL": True}]},
                },
            )
    for name in ("y", "x", "z"):
        dynamodb.put_item(TableName=SINGLE, Item={"id": _s(name)})


def _pages(dynamodb: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    while True:
        page = dynamodb.query(**request)
        yield _answer(page)
        if "LastEvaluatedKey" not in page:
            return
        request = {**request, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def _as_moto_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    patched = (
        (Table, "query"),
        (Table, "all_items"),
        (DynamoHandler, "serialized"),
        (DynamoDBStreamsHandler, "get_records"),
    )
    for owner, name in patched:
        monkeypatch.setattr(owner, name, getattr(owner, name).__wrapped__)


def _answer(page: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in page.items() if key != "ResponseMetadata"}


@pytest.mark.parametrize("request_", QUERIES.values(), ids=QUERIES.keys())
def test_a_query_answers_as_moto_does(request_: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _create_tables(dynamodb)
        ours = list(_pages(dynamodb, request_))
        with monkeypatch.context() as moto_own:
            _as_moto_reads(moto_own)
            motos = list(_pages(dynamodb, request_))
        assert ours == motos
        assert sum(page["Count"] for page in ours) > 0 or request_ is QUERIES["a partition that is not there"]
        # Reading a partition that is not there leaves none behind (the table's items are a defaultdict).
        assert len(dynamodb.scan(TableName=PAIRS)["Items"]) == 36


@pytest.mark.parametrize(("operation", "request_"), OTHER_READS.values(), ids=OTHER_READS.keys())
def test_an_item_read_answers_as_moto_does(
    operation: str, request_: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _create_tables(dynamodb)
        ours = _answer(getattr(dynamodb, operation)(**request_))
        with monkeypatch.context() as moto_own:
            _as_moto_reads(moto_own)
            motos = _answer(getattr(dynamodb, operation)(**request_))
        assert ours == motos


def test_stream_records_read_as_moto_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        _create_tables(dynamodb)
        dynamodb.delete_item(TableName=PAIRS, Key={"pk": _s("campaign-1"), "sk": _s("MESSAGE#1")})
        streams = boto3.client("dynamodbstreams", region_name="us-east-1")
        arn = dynamodb.describe_table(TableName=PAIRS)["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

        def records() -> list[Any]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
            )
            page = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=50)
            return list(page["Records"])

        ours = records()
        with monkeypatch.context() as moto_own:
            _as_moto_reads(moto_own)
            motos = records()
        assert len(ours) == 37
        assert ours == motos
