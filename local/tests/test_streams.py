"""The stream poller: Lambda's event source mapping semantics (filters, batches, bisection, retries,
OnFailure, a blocked shard) and the bounded memory of the stream it reads."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.utils import utcnow
from moto.dynamodb.models import dynamodb_backends

from local.functions import FunctionSpec, InvocationError
from local.moto_fixes import trim_stream
from local.streams import RecordFilter, StreamPoller, _LiteralPattern
from local.template import Resolver


def test_record_filter_ors_its_patterns_and_passes_everything_without_filters() -> None:
    either = RecordFilter(
        {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}, {"Pattern": '{"eventName": ["REMOVE"]}'}]}
    )
    assert either.matches({"eventName": "INSERT"})
    assert either.matches({"eventName": "REMOVE"})
    assert not either.matches({"eventName": "MODIFY"})
    assert RecordFilter(None).matches({"eventName": "MODIFY"})
    with pytest.raises(NotImplementedError):
        _LiteralPattern('{"eventName": [{"prefix": "INS"}]}')


class _FakeFunctions:
    """A LocalFunctions stand-in with one function `Fn` on a table `t` of keys `pk`: it records the
    keys of each batch and fails a batch holding a poisoned key."""

    def __init__(self, session: boto3.Session, poisoned: frozenset[str] = frozenset(), **event: Any) -> None:
        table = session.client("dynamodb").create_table(
            TableName="t",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        spec = FunctionSpec(
            "Fn", "fn", "arn:aws:lambda:us-east-1:123456789012:function:fn", "", "app.h", 3, 128, {}, []
        )
        spec.events = {
            "Changes": {"Type": "DynamoDB", "Properties": {"Stream": table["LatestStreamArn"], **event}}
        }
        self.specs = {"Fn": spec}
        self.poisoned = poisoned
        self.batches: list[list[str]] = []

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        keys = [record["dynamodb"]["Keys"]["pk"]["S"] for record in event["Records"]]
        self.batches.append(keys)
        if self.poisoned & set(keys):
            raise InvocationError({"errorMessage": "poisoned", "errorType": "ValueError"})
        return None


def _put(session: boto3.Session, *keys: str) -> None:
    for key in keys:
        session.client("dynamodb").put_item(TableName="t", Item={"pk": {"S": key}})


def _fake_poller(session: boto3.Session, functions: _FakeFunctions) -> StreamPoller:
    return StreamPoller(session, functions, Resolver({"Resources": {}}, "s", "us-east-1"))  # type: ignore[arg-type]


def test_poller_bisects_a_failing_batch_and_gives_up_only_on_the_poisoned_record() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        dead_letters = session.client("sqs").create_queue(QueueName="dlq")["QueueUrl"]
        functions = _FakeFunctions(
            session,
            poisoned=frozenset({"c"}),
            BatchSize=4,
            BisectBatchOnFunctionError=True,
            MaximumRetryAttempts=1,
            DestinationConfig={
                "OnFailure": {"Type": "SQS", "Destination": "arn:aws:sqs:us-east-1:123456789012:dlq"}
            },
        )
        _put(session, "a", "b", "c", "d", "e")
        poller = _fake_poller(session, functions)

        summary = poller.drain()

        # [a b c d] fails -> [a b] ok, [c d] fails -> [c] fails, retried once, given up; [d] ok; [e] ok.
        assert functions.batches == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"], ["c"], ["c"], ["d"], ["e"]]
        assert len(summary.sent_to_on_failure) == 1
        body = json.loads(session.client("sqs").receive_message(QueueUrl=dead_letters)["Messages"][0]["Body"])
        assert body["DDBStreamBatchInfo"]["batchSize"] == 1
        assert body["DDBStreamBatchInfo"]["startSequenceNumber"] == summary.sent_to_on_failure[0]
        assert body["responseContext"]["functionError"] == "Unhandled"
        # Everything is done with: the next drain finds nothing new.
        assert poller.drain().records_read == 0


def test_poller_without_a_retry_limit_keeps_the_shard_blocked_at_the_failing_record() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        functions = _FakeFunctions(session, poisoned=frozenset({"b"}), BatchSize=1)  # Lambda's default: -1
        _put(session, "a", "b", "c")
        poller = _fake_poller(session, functions)

        first = poller.drain()
        while_blocked = list(functions.batches)
        functions.poisoned = frozenset()  # fixed (say, a new deployment)
        second = poller.drain()

        assert first.blocked == ["Fn.Changes/shardId-00000001541626099285-f35f62ef"]
        assert first.sent_to_on_failure == []
        assert while_blocked[0] == ["a"]
        assert set(map(tuple, while_blocked[1:])) == {("b",)}  # retried, never passed over
        assert functions.batches[len(while_blocked) :] == [["b"], ["c"]]
        assert second.blocked == []


def test_while_polling_records_short_of_a_batch_wait_out_the_batching_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        functions = _FakeFunctions(session, BatchSize=3, MaximumBatchingWindowInSeconds=1)
        poller = _fake_poller(session, functions)
        clock = [1000.0]
        monkeypatch.setattr("local.streams.time.monotonic", lambda: clock[0])

        _put(session, "a", "b")
        short_of_a_batch = poller.poll_once(batching_window=True)
        _put(session, "c")
        a_full_batch = poller.poll_once(batching_window=True)
        _put(session, "d")
        window_open = poller.poll_once(batching_window=True)
        clock[0] += 1.0
        window_over = poller.poll_once(batching_window=True)
        _put(session, "e")
        drained = poller.drain().records_read

        assert (short_of_a_batch, a_full_batch, window_open, window_over, drained) == (0, 3, 0, 1, 1)
        assert functions.batches == [["a", "b", "c"], ["d"], ["e"]]


def test_each_poll_reads_on_from_its_last_read_and_never_reads_a_record_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        functions = _FakeFunctions(session, BatchSize=3, MaximumBatchingWindowInSeconds=1)
        stream_calls: list[tuple[str, int]] = []  # (operation, records returned)

        def count(model: Any, parsed: dict[str, Any], **_: Any) -> None:
            stream_calls.append((model.name, len(parsed.get("Records", []))))

        session.events.register("after-call.dynamodbstreams", count)
        poller = _fake_poller(session, functions)
        clock = [1000.0]
        monkeypatch.setattr("local.streams.time.monotonic", lambda: clock[0])

        _put(session, "a", "b")
        poller.poll_once(batching_window=True)  # a batch filling: read, not yet delivered
        poller.poll_once(batching_window=True)
        _put(session, "c", "d")
        poller.poll_once(batching_window=True)  # a full batch
        clock[0] += 1.0
        poller.poll_once(batching_window=True)  # the window over: the rest
        clock[0] += 11 * 60  # an iterator this old may have been forgotten: a new one is asked for
        _put(session, "e")
        poller.drain()

        assert functions.batches == [["a", "b", "c"], ["d"], ["e"]]
        assert stream_calls == [
            ("DescribeStream", 0),
            ("GetShardIterator", 0),
            ("GetRecords", 2),
            ("GetRecords", 0),
            ("GetRecords", 2),
            ("GetRecords", 0),
            ("GetShardIterator", 0),
            ("GetRecords", 1),
            ("GetRecords", 0),
        ]


def test_when_its_iterator_is_gone_the_poller_reads_on_from_a_new_one_and_loses_nothing() -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        functions = _FakeFunctions(session, BatchSize=10)
        poller = _fake_poller(session, functions)
        _put(session, "a")
        poller.drain()
        # The stream forgets every iterator it handed out (as after 15 minutes unread).
        dynamodbstreams_backends["123456789012"]["us-east-1"].shard_iterators.clear()
        _put(session, "b")

        with pytest.raises(Exception):  # noqa: B017 - whatever the stream answers
            poller.poll_once()
        poller.drain()

        assert functions.batches == [["a"], ["b"]]


def _shard_records(table: str = "t") -> list[Any]:
    shard = dynamodb_backends["123456789012"]["us-east-1"].get_table(table).stream_shard
    assert shard is not None
    return list(shard.items)


def test_records_every_source_is_done_with_leave_the_stream_and_numbering_goes_on() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        functions = _FakeFunctions(session, BatchSize=2)
        poller = _fake_poller(session, functions)
        _put(session, "a", "b", "c")

        first = poller.drain()
        left_after_first = _shard_records()
        _put(session, "d")
        second = poller.drain()

        assert functions.batches == [["a", "b"], ["c"], ["d"]]
        assert left_after_first == []
        assert (
            int(second.invocations[0].sequence_numbers[0])
            == int(first.invocations[-1].sequence_numbers[-1]) + 1
        )


def test_a_blocked_shard_keeps_the_records_not_yet_done_with() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        functions = _FakeFunctions(session, poisoned=frozenset({"b"}), BatchSize=1)
        _put(session, "a", "b", "c")

        _fake_poller(session, functions).drain()

        kept = [record.record["dynamodb"]["Keys"]["pk"]["S"] for record in _shard_records()]
        assert kept == ["b", "c"]


def test_records_older_than_a_day_expire_and_readers_start_at_the_oldest_left() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        functions = _FakeFunctions(session)
        _put(session, "old", "new")
        old = _shard_records()[0]
        old.record["dynamodb"]["ApproximateCreationDateTime"] = utcnow() - timedelta(hours=25)
        arn = session.client("dynamodb").describe_table(TableName="t")["Table"]["LatestStreamArn"]

        assert trim_stream(arn, None) == 1
        _fake_poller(session, functions).drain()

        assert functions.batches == [["new"]]


def test_shard_iterators_are_forgotten_after_fifteen_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        functions = _FakeFunctions(session)
        poller = _fake_poller(session, functions)
        _put(session, "a")
        poller.drain()
        iterators = dynamodbstreams_backends["123456789012"]["us-east-1"].shard_iterators
        handed_out = len(iterators)
        clock = time.monotonic() + 16 * 60
        monkeypatch.setattr("local.moto_fixes.time.monotonic", lambda: clock)

        poller.drain()

        assert handed_out > 0
        assert 0 < len(iterators) <= 2  # only the new poll's iterators


def test_moto_keeps_no_copy_of_every_item_version_it_ever_made() -> None:
    from moto.dynamodb.models.dynamo_type import Item

    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        _FakeFunctions(session)  # creates table t
        client = session.client("dynamodb")
        for count in range(50):
            client.update_item(
                TableName="t",
                Key={"pk": {"S": "a"}},
                UpdateExpression="SET n = :n",
                ExpressionAttributeValues={":n": {"N": str(count)}},
            )

        assert len(Item.instances_tracked) == 0  # type: ignore[attr-defined]
