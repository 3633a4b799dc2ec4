"""Updates apply exactly as moto's own do, now that each update expression is parsed once into a
shared syntax tree, copied by unpickling for the validator, whose clause counts are made once.

Each sequence of updates runs twice on a fresh table: with moto's own `UpdateExpressionParser.make`
and deep copy, and with the offline stack's; every answer (attributes returned, or the error) and
the item left behind must be the same.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

from local.moto_fixes import MOTO_VERIFY_ACTION_COUNTS

TABLE = "updates"
KEY = {"pk": {"S": "campaign-1"}, "sk": {"S": "MESSAGE#+306900000001"}}


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


STATUS = (
    "SET #status = :status, statusRank = :rank, statusAt = :at, "
    "#history = if_not_exists(#history, :at), #d0 = if_not_exists(#d0, :d0)"
)
# (update expression, names, values, condition): applied in this order to one item.
UPDATES: dict[str, list[tuple[str, dict[str, str], dict[str, Any], str | None]]] = {
    "the same expression with other values each time": [
        (STATUS, {"#status": "status", "#history": "hQueued", "#d0": "country"},
         {":status": _s("Queued"), ":rank": _n(1), ":at": _s("2026-11-28T00:00:01Z"), ":d0": _s("GR")},
         "attribute_not_exists(statusRank) OR statusRank < :rank"),
        (STATUS, {"#status": "status", "#history": "hRinging", "#d0": "country"},
         {":status": _s("Ringing"), ":rank": _n(3), ":at": _s("2026-11-28T00:00:02Z"), ":d0": _s("DE")},
         "statusRank < :rank"),
        (STATUS, {"#status": "status", "#history": "hQueued", "#d0": "country"},
         {":status": _s("Queued"), ":rank": _n(1), ":at": _s("2026-11-28T00:00:03Z"), ":d0": _s("GB")},
         "statusRank < :rank"),  # stale: the condition fails
    ],
    "lists, counters, nested paths and removal": [
        ("SET history = list_append(if_not_exists(history, :empty), :entry)", {},
         {":empty": {"L": []}, ":entry": {"L": [{"M": {"status": _s("Running"), "at": _s("1")}}]}}, None),
        ("SET history = list_append(if_not_exists(history, :empty), :entry)", {},
         {":empty": {"L": []}, ":entry": {"L": [{"M": {"status": _s("Sent"), "at": _s("2")}}]}}, None),
        ("ADD #count :one, finalTotal :one SET campaignId = :campaign", {"#count": "fCompleted"},
         {":one": _n(1), ":campaign": _s("campaign-1")}, None),
        ("ADD #count :one, finalTotal :one SET campaignId = :campaign", {"#count": "fBusy"},
         {":one": _n(1), ":campaign": _s("campaign-1")}, None),
        ("SET history[0].#s = :s, meta = :m REMOVE campaignId", {"#s": "status"},
         {":s": _s("Queued"), ":m": {"M": {"a": {"M": {"b": _n(1)}}}}}, None),
        ("SET meta.a.b = meta.a.b + :one, tags = :tags", {},
         {":one": _n(1), ":tags": {"SS": ["x", "y"]}}, None),
        ("DELETE tags :x", {}, {":x": {"SS": ["x"]}}, None),
    ],
    "expressions moto rejects": [
        ("SET a = :a,, b = :b", {}, {":a": _n(1), ":b": _n(2)}, None),
        ("SET a = :a, a = :b", {}, {":a": _n(1), ":b": _n(2)}, None),
        ("SET a = :missing", {}, {":a": _n(1)}, None),
        ("SET pk = :a", {}, {":a": _s("other")}, None),
        ("SET a = :a", {}, {":a": _n(1)}, None),
        ("ADD a :text", {}, {":text": _s("not a number")}, None),
        ("SET a = list_append(a, :l)", {}, {":l": {"L": []}}, None),
        # Two sections of a kind: which one moto names depends on where it finds them first.
        ("SET a = :a REMOVE b SET c = :a REMOVE d", {}, {":a": _n(1)}, None),
        ("REMOVE a SET b = :a SET c = :a REMOVE d", {}, {":a": _n(1)}, None),
        ("ADD n :a SET b = :a ADD m :a", {}, {":a": _n(1)}, None),
    ],
}  # fmt: skip


def _apply(updates: list[tuple[str, dict[str, str], dict[str, Any], str | None]]) -> list[Any]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
        dynamodb.put_item(TableName=TABLE, Item={**KEY, "to": _s("+306900000001")})
        answers: list[Any] = []
        for expression, names, values, condition in updates:
            request: dict[str, Any] = {
                "TableName": TABLE,
                "Key": KEY,
                "UpdateExpression": expression,
                "ExpressionAttributeValues": values,
                "ReturnValues": "ALL_NEW",
            }
            if names:
                request["ExpressionAttributeNames"] = names
            if condition:
                request["ConditionExpression"] = condition
            try:
                answers.append(dynamodb.update_item(**request)["Attributes"])
            except ClientError as error:
                answers.append(error.response["Error"])
        answers.append(dynamodb.get_item(TableName=TABLE, Key=KEY)["Item"])
        return answers


@pytest.mark.parametrize("updates", UPDATES.values(), ids=UPDATES.keys())
def test_updates_apply_as_moto_applies_them(updates: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _apply(updates)
    with monkeypatch.context() as moto_own:
        moto_own.setattr(
            UpdateExpressionParser, "make", classmethod(inspect.unwrap(UpdateExpressionParser.make))
        )
        moto_own.setattr(validators, "deepcopy", copy.deepcopy)
        moto_own.setattr(validators.ActionCountValidator, "verify_action_counts", MOTO_VERIFY_ACTION_COUNTS)
        motos = _apply(updates)
    assert ours == motos
    assert ours[-1] != {**KEY, "to": _s("+306900000001")} or updates is UPDATES["expressions moto rejects"]


def test_a_rejected_expression_is_rejected_every_time() -> None:
    # A parse error is not remembered as a parse: the second attempt is refused the same way.
    first, second, _ = _apply([UPDATES["expressions moto rejects"][0]] * 2)
    assert first == second
    assert first["Code"] == "ValidationException"


def test_a_changed_copy_of_a_shared_tree_is_copied_as_it_is_now() -> None:
    # The shared tree's kept pickle serves only that tree, not a deep copy that carries it along.
    shared = UpdateExpressionParser.make("SET a = :a")
    changed = copy.deepcopy(shared)
    changed.children = []
    assert validators.deepcopy(changed).children == []
    assert validators.deepcopy(shared).children != []
