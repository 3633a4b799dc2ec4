"""DynamoDB TransactWriteItems for moto that rolls back with an undo log, not a copy of every table.

moto 5.2's `DynamoDBBackend.transact_write_items` deep-copies each table a transaction names
(every item and every stream record) before it applies the transaction, and puts the copies
back when the transaction is cancelled. Each transaction therefore costs time and memory in
proportion to the table: at 1,000 items a two-item transaction ran at 6/s, and a burst of
callbacks grew the process past 15 GB.

Here the copy is replaced by an undo log of what the transaction touches: before an operation
reaches an item, the log keeps that item's before-image (a copy of the one item, or "absent"),
and before the first operation on a table it notes how many records the table's stream holds.
A cancelled transaction puts the before-images back, newest first, and drops the stream records
it appended. Everything else is moto's method line for line: the same checks in the same order,
the same cancellation reasons, the same items and stream records after a failed transaction
(tests in local/tests/test_moto_transactions.py run each scenario through both and compare).
One difference on purpose: a table named by its ARN is rolled back too (moto keys its copies by
table name and so left such a table half-written).

Written so that it can go upstream as it is: `transact_write_items` is the body of moto's method
with its two backup/restore steps replaced by `_UndoLog` calls (marked "undo log"). Until then,
`install()` puts it in place of moto's method for this process.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import StreamRecord, Table

# moto's own method, kept for comparison tests and for `uninstall()`.
MOTO_TRANSACT_WRITE_ITEMS = DynamoDBBackend.transact_write_items


@dataclass
class _BeforeImage:
    table: Table
    hash_key: DynamoType
    range_key: DynamoType | None
    item: Item | None  # a copy: updates change items in place
    bucket_existed: bool  # tables with a range key keep a dict per hash key


@dataclass
class _StreamMark:
    records: list[StreamRecord]  # the shard's list as it was (moto may swap in a new one)
    length: int


@dataclass
class _UndoLog:
    """Before-images of the items a transaction touches, and where each touched stream ended."""

    images: list[_BeforeImage] = field(default_factory=list)
    streams: dict[int, tuple[Table, _StreamMark]] = field(default_factory=dict)

    def remember(self, backend: DynamoDBBackend, table_name: str, key: dict[str, Any]) -> None:
        table = backend.get_table(table_name)
        hash_key, range_key = backend.get_keys_value(table, key)
        if id(table) not in self.streams and table.stream_shard is not None:
            records = table.stream_shard.items
            self.streams[id(table)] = (table, _StreamMark(records, len(records)))
        # `in` before the lookup: moto's items is a defaultdict, and a lookup would add the bucket.
        bucket_existed = hash_key in table.items
        current = table.get_item(hash_key, range_key)
        self.images.append(_BeforeImage(table, hash_key, range_key, copy.deepcopy(current), bucket_existed))

    def roll_back(self) -> None:
        for image in reversed(self.images):
            items = image.table.items
            if image.range_key is None:
                if image.item is None:
                    items.pop(image.hash_key, None)
                else:
                    items[image.hash_key] = image.item  # type: ignore[assignment]  # as moto does
                continue
            bucket = items[image.hash_key]
            if image.item is None:
                bucket.pop(image.range_key, None)
                if not bucket and not image.bucket_existed:
                    del items[image.hash_key]
            else:
                bucket[image.range_key] = image.item
        for table, mark in self.streams.values():
            del mark.records[mark.length :]
            if table.stream_shard is not None:
                table.stream_shard.items = mark.records


# moto's method body, kept as it is (hence its length) so that the change reads as a small diff.
def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:  # noqa: PLR0912, PLR0915
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    undo_log = _UndoLog()  # undo log: replaces the deep copy of every table named

    target_items: set[tuple[str, str]] = set()

    def check_unicity(table_name: str, key: dict[str, Any]) -> None:
        item = (str(table_name), str(dict(sorted(key.items()))))
        if item in target_items:
            raise MultipleTransactionsException()
        target_items.add(item)

    errors: list[tuple[str, str, dict[str, Any] | None] | tuple[None, None, None]] = []
    for item in transact_items:
        original_item: dict[str, Any] | None = None
        # Check transact writes are not performing multiple operations on the same item
        if len(list(item.keys())) > 1:
            raise TransactWriteSingleOpException

        try:
            op_type, op = next(iter(item.items()))
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")

            table_name = op["TableName"]
            condition_expression = op.get("ConditionExpression")
            expression_attribute_names = op.get("ExpressionAttributeNames")
            expression_attribute_values = op.get("ExpressionAttributeValues")
            return_values_on_condition_check_failure = op.get("ReturnValuesOnConditionCheckFailure")

            if op_type == "Put":
                attrs = op["Item"]
                table = self.get_table(table_name)
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]

            check_unicity(table_name, key)
            undo_log.remember(self, table_name, key)  # undo log: the item's before-image

            current = self.get_item(table_name, key)
            if condition_expression is not None:
                condition_op = get_filter_expression(
                    condition_expression,
                    expression_attribute_names,
                    expression_attribute_values,
                )
                if not condition_op.expr(current):
                    if return_values_on_condition_check_failure == "ALL_OLD" and current:
                        original_item = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original_item)

            if op_type == "Put":
                self.put_item(
                    table_name,
                    op["Item"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Delete":
                self.delete_item(
                    table_name,
                    key,
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            elif op_type == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    condition_expression=condition_expression,
                    expression_attribute_names=expression_attribute_names,
                    expression_attribute_values=expression_attribute_values,
                )
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            undo_log.roll_back()  # undo log: instead of restoring the copies
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original_item))
        except Exception as e:  # as moto: any other failure becomes a cancellation reason
            errors.append((type(e).__name__, str(e), original_item))

    if any(code is not None for code, _, _ in errors):
        undo_log.roll_back()  # undo log: instead of restoring the copies
        raise TransactionCanceledException(errors)


def install() -> None:
    """Use the undo-log transaction in every moto DynamoDB backend of this process."""
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def uninstall() -> None:
    DynamoDBBackend.transact_write_items = MOTO_TRANSACT_WRITE_ITEMS  # type: ignore[method-assign]
