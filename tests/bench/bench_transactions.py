"""Two-item TransactWriteItems per second in moto, with moto's own rollback and with the undo log.

moto 5.2 copies every table a transaction names before applying it (local/moto_transactions.py
says why that matters); the undo log copies only the touched items. Each rate is measured beside
UpdateItem on the same table in the same run, at 1,000 and 10,000 items (stream enabled, one
record per item already in it, as after a campaign's dispatch).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import boto3
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from local import moto_transactions

SIZES = (1_000, 10_000)
SECONDS_PER_RATE = 2.0
TABLE = "bench-transactions"


def _table(client: Any, size: int) -> None:
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )
    items = [{"pk": {"S": f"M#{i}"}, "sk": {"S": "M"}, "status": {"S": "Queued"}} for i in range(size)]
    for start in range(0, size, 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        client.batch_write_item(RequestItems={TABLE: batch})


def _rate(request: Callable[[int], None]) -> float:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < SECONDS_PER_RATE or done < 3:
        request(done)
        done += 1
    return done / elapsed


def _update(client: Any, size: int) -> Callable[[int], None]:
    def request(n: int) -> None:
        client.update_item(
            TableName=TABLE,
            Key={"pk": {"S": f"M#{n % size}"}, "sk": {"S": "M"}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": f"Ringing{n}"}},
        )

    return request


def _transaction(client: Any, size: int) -> Callable[[int], None]:
    """A final callback's shape: the message moves, and a counter shard counts it."""

    def request(n: int) -> None:
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": f"M#{n % size}"}, "sk": {"S": "M"}},
                        "UpdateExpression": "SET #s = :s",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":s": {"S": f"Completed{n}"}},
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "CAMPAIGN"}, "sk": {"S": f"COUNTER#{n % 10}"}},
                        "UpdateExpression": "ADD completed :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )

    return request


def measure(size: int) -> dict[str, float]:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    rates: dict[str, float] = {}
    implementations = {
        "moto's rollback (table copy)": moto_transactions.MOTO_TRANSACT_WRITE_ITEMS,
        "undo log": moto_transactions.transact_write_items,
    }
    saved = DynamoDBBackend.transact_write_items
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        _table(client, size)
        rates["UpdateItem"] = _rate(_update(client, size))
        try:
            for label, implementation in implementations.items():
                DynamoDBBackend.transact_write_items = implementation  # type: ignore[method-assign]
                rates[f"TransactWriteItems, {label}"] = _rate(_transaction(client, size))
        finally:
            DynamoDBBackend.transact_write_items = saved  # type: ignore[method-assign]
    return rates


def main() -> None:
    print("moto in-process, requests/s on one thread (2 items per transaction):")
    for size in SIZES:
        rates = measure(size)
        anchor = rates["UpdateItem"]
        print(f"  table of {size:,} items")
        for label, rate in rates.items():
            print(f"    {label:<48} {rate:8.1f}/s  ({rate / anchor:.2f}x UpdateItem)")


if __name__ == "__main__":
    main()
