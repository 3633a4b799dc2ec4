"""Final-state fan-out: table stream -> StreamPublisherFunction -> EventBridge -> notifications queue.

Callbacks go through the API, the stream is driven by local/streams.py, and moto's EventBridge
matches the template's rule and delivers to the queue, so these tests see what a consumer sees.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local.functions import FunctionSpec, InvocationError
from local.streams import RecordFilter, StreamPoller, _LiteralPattern
from local.template import Resolver
from tests.conftest import TestStack, load_event
from tests.notifications import assert_valid_detail, event_ids, queued_events
from tests.sample_events import check_stream_publisher_sample, in_process, sample_files
from voice_status.counts import CampaignCounts
from voice_status.signing import sign_campaign
from voice_status.views import (
    CAMPAIGN_FAILED,
    CAMPAIGN_FINISHED,
    EVENT_SOURCE,
    MESSAGE_FINALIZED,
    campaign_final_detail,
    campaign_final_detail_type,
)

PUBLISHER = "StreamPublisherFunction"


# ----- helpers -----


def callback_body(message_id: str, status: str, at: str, **extra: Any) -> dict[str, Any]:
    """A Routee voice callback (shape of tests/fixtures/routee/callback-*.json)."""
    return {
        "messageId": message_id,
        "campaignTrackingId": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        "to": extra.pop("to", "+306900000001"),
        "from": "+302100000000",
        "status": {"name": status, "updatedDate": at},
        "price": extra.pop("price", 0.0),
        "duration": extra.pop("duration", 0),
        "createdAt": "2026-11-27T09:00:00.105Z",
        **extra,
    }


def post_callbacks(stack: TestStack, campaign_id: str, *bodies: dict[str, Any]) -> None:
    signature = sign_campaign(stack.secret(), campaign_id)
    for body in bodies:
        response = stack.api("POST", f"/callbacks/voice/{campaign_id}/{signature}", body)
        assert response.status_code == 200, response.body


def poller(stack: TestStack) -> StreamPoller:
    return StreamPoller(stack.session, stack.functions, stack.stack.resolver)


class FailingEvents:
    """Wraps the publisher's EventBridge client: rejects chosen entries the way PutEvents reports
    a partial failure (moto itself never does), and records every call's eventIds."""

    def __init__(self, client: Any, reject: Any) -> None:
        self._client = client
        self._reject = reject  # (call number, entry index, eventId) -> bool
        self.calls: list[list[str]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        ids = [json.loads(entry["Detail"])["eventId"] for entry in Entries]
        call = len(self.calls)
        self.calls.append(ids)
        rejected = [self._reject(call, index, event_id) for index, event_id in enumerate(ids)]
        accepted = [entry for entry, reject in zip(Entries, rejected, strict=True) if not reject]
        results = iter(self._client.put_events(Entries=accepted)["Entries"] if accepted else [])
        entries = [
            {"ErrorCode": "InternalFailure", "ErrorMessage": "injected"} if reject else next(results)
            for reject in rejected
        ]
        return {"FailedEntryCount": sum(rejected), "Entries": entries}


@pytest.fixture
def failing_events(stack: TestStack, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Install a FailingEvents on the publisher: `failing_events(reject)` returns it."""
    module = stack.functions.module(PUBLISHER)
    monkeypatch.setattr(module, "RETRY_BACKOFF_SECONDS", 0)

    def install(reject: Any) -> FailingEvents:
        wrapper = FailingEvents(module.events_client, reject)
        monkeypatch.setattr(module, "events_client", wrapper)
        return wrapper

    return install


# ----- one event per message that becomes final -----


def test_each_message_becoming_final_yields_exactly_one_event(stack: TestStack) -> None:
    campaign_id = str(uuid.uuid4())
    answered, busy = str(uuid.uuid4()), str(uuid.uuid4())
    post_callbacks(
        stack,
        campaign_id,
        callback_body(answered, "Ringing", "2026-11-27T09:00:04.512Z"),
        callback_body(answered, "Completed", "2026-11-27T09:00:31.877Z", duration=23, price=0.021),
        callback_body(answered, "Completed", "2026-11-27T09:00:31.877Z", duration=23, price=0.021),  # repeat
        callback_body(answered, "No Answer", "2026-11-27T09:00:40.000Z"),  # later, another final status
        callback_body(
            busy, "Busy", "2026-11-27T09:00:12.000Z", to="+306900000004"
        ),  # first callback is final
    )

    summary = poller(stack).drain()
    events = queued_events(stack)

    assert event_ids(events) == sorted([f"{answered}:Completed", f"{busy}:Busy"])
    by_message = {event["detail"]["messageId"]: event for event in events}
    assert by_message[answered]["source"] == EVENT_SOURCE
    assert by_message[answered]["detail-type"] == MESSAGE_FINALIZED
    assert by_message[answered]["detail"] == {
        "version": "1",
        "eventId": f"{answered}:Completed",
        "messageId": answered,
        "campaignId": campaign_id,
        "to": "+306900000001",
        "status": "Completed",
        "finalAt": "2026-11-27T09:00:31.877Z",
        "duration": 23,
        "price": 0.021,
    }
    assert by_message[busy]["detail"]["to"] == "+306900000004"
    for event in events:
        assert_valid_detail(event)
    # The filter, not the function, dropped everything else: one invocation with the two moves.
    assert [len(invocation.sequence_numbers) for invocation in summary.invocations] == [2]
    assert summary.records_filtered_out > 0


def test_intermediate_callbacks_yield_no_event_and_no_invocation(stack: TestStack) -> None:
    campaign_id, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    post_callbacks(
        stack,
        campaign_id,
        *(
            callback_body(message_id, status, f"2026-11-27T09:00:0{second}.000Z")
            for second, status in enumerate(["Queued", "Initiated", "Ringing", "InProgress", "Unknown"], 1)
        ),
    )

    summary = poller(stack).drain()

    assert summary.records_read >= 5
    assert summary.invocations == []
    assert queued_events(stack) == []


def test_redelivered_stream_batch_repeats_only_the_same_event_ids(stack: TestStack) -> None:
    campaign_id = str(uuid.uuid4())
    messages = [str(uuid.uuid4()) for _ in range(3)]
    post_callbacks(
        stack,
        campaign_id,
        *(callback_body(message_id, "Completed", "2026-11-27T09:00:31.877Z") for message_id in messages),
    )
    poller(stack).drain()
    first = event_ids(queued_events(stack))

    # A fresh poller reads the stream from TRIM_HORIZON again: Lambda redelivering the same batch.
    poller(stack).drain()
    again = event_ids(queued_events(stack))

    assert first == sorted(f"{message_id}:Completed" for message_id in messages)
    assert again == first  # at least once, and a consumer de-duplicating on eventId sees no change


def test_replay_from_the_archive_repeats_the_same_event_ids(stack: TestStack) -> None:
    campaign_id, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    started = datetime.now(UTC) - timedelta(minutes=1)
    post_callbacks(stack, campaign_id, callback_body(message_id, "NoAnswer", "2026-11-27T09:00:31.877Z"))
    poller(stack).drain()
    original = queued_events(stack)
    events = stack.client("events")
    bus_arn = events.describe_event_bus(Name=stack.outputs["EventBusName"])["Arn"]
    archive = events.list_archives(EventSourceArn=bus_arn)["Archives"][0]["ArchiveName"]

    events.start_replay(
        ReplayName="catch-up",
        EventSourceArn=events.describe_archive(ArchiveName=archive)["ArchiveArn"],
        EventStartTime=started,
        EventEndTime=datetime.now(UTC) + timedelta(minutes=1),
        Destination={
            "Arn": bus_arn,
            "FilterArns": [stack.stack.resolver.get_att("FinalStateNotificationsRule", "Arn")],
        },
    )
    replayed = queued_events(stack)

    assert event_ids(replayed) == event_ids(original) == [f"{message_id}:NoAnswer"]
    assert replayed[0]["replay-name"] == "catch-up"
    assert replayed[0]["id"] != original[0]["id"]  # so consumers de-duplicate on detail.eventId


def test_every_final_status_event_validates_against_its_schema(stack: TestStack) -> None:
    campaign_id = str(uuid.uuid4())
    finals = ["Completed", "Busy", "NoAnswer", "Failed", "Unsent", "Terminated"]
    ids = {status: str(uuid.uuid4()) for status in finals}
    post_callbacks(
        stack,
        campaign_id,
        *(callback_body(ids[status], "Initiated", "2026-11-27T09:00:02.000Z") for status in finals[:3]),
        *(callback_body(ids[status], status, "2026-11-27T09:00:30.000Z", duration=9) for status in finals),
    )
    poller(stack).drain()
    events = queued_events(stack)

    assert sorted(event["detail"]["status"] for event in events) == sorted(finals)
    for event in events:
        assert_valid_detail(event)


def test_background_poller_publishes_while_running(stack: TestStack) -> None:
    campaign_id, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    with StreamPoller(stack.session, stack.functions, stack.stack.resolver, interval_seconds=0.05):
        post_callbacks(stack, campaign_id, callback_body(message_id, "Completed", "2026-11-27T09:00:31.877Z"))
        sqs, deadline = stack.client("sqs"), time.monotonic() + 10
        messages: list[dict[str, Any]] = []
        while not messages and time.monotonic() < deadline:  # long polls of 1 s
            answer = sqs.receive_message(QueueUrl=stack.outputs["NotificationsQueueUrl"], WaitTimeSeconds=1)
            messages = answer.get("Messages", [])
    assert event_ids([json.loads(message["Body"]) for message in messages]) == [f"{message_id}:Completed"]


# ----- PutEvents failures -----


def test_partially_failed_put_events_resends_only_the_failed_entries(
    stack: TestStack, failing_events: Any
) -> None:
    campaign_id = str(uuid.uuid4())
    messages = [str(uuid.uuid4()) for _ in range(12)]
    post_callbacks(
        stack,
        campaign_id,
        *(callback_body(message_id, "Completed", "2026-11-27T09:00:31.877Z") for message_id in messages),
    )
    # The first call loses its 2nd and 5th entries.
    wrapper = failing_events(lambda call, index, event_id: call == 0 and index in (1, 4))
    summary = poller(stack).drain()
    events = queued_events(stack)

    assert [len(ids) for ids in wrapper.calls] == [10, 2, 2]  # 12 entries: 10 + re-send of 2 + 2
    assert wrapper.calls[1] == [wrapper.calls[0][1], wrapper.calls[0][4]]
    assert Counter(event_ids(events)) == Counter(f"{message_id}:Completed" for message_id in messages)
    assert all(not invocation.failed for invocation in summary.invocations)
    assert summary.sent_to_on_failure == []


def test_event_that_cannot_be_put_is_reported_as_batch_item_failure(
    stack: TestStack, failing_events: Any
) -> None:
    failing_events(lambda call, index, event_id: True)
    batch = load_event("stream_publisher-final-message.json")

    response = stack.invoke(PUBLISHER, batch)

    sequence_number = batch["Records"][0]["dynamodb"]["SequenceNumber"]
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
    assert queued_events(stack) == []


def test_record_whose_event_cannot_be_put_ends_in_the_on_failure_queue(
    stack: TestStack, failing_events: Any
) -> None:
    campaign_id = str(uuid.uuid4())
    first, poisoned, last = (str(uuid.uuid4()) for _ in range(3))
    post_callbacks(
        stack,
        campaign_id,
        *(
            callback_body(message_id, "Busy", "2026-11-27T09:00:20.000Z")
            for message_id in (first, poisoned, last)
        ),
    )
    wrapper = failing_events(lambda call, index, event_id: event_id.startswith(poisoned))

    summary = poller(stack).drain()

    # Reported by the first invocation, retried from there MaximumRetryAttempts (5) times, then given up.
    reported = summary.invocations[0].failed
    assert len(reported) == 1
    assert len(summary.invocations) == 1 + 5
    assert summary.sent_to_on_failure[0] == reported[0]
    dead_letters = [
        json.loads(message["Body"])
        for message in stack.client("sqs")
        .receive_message(QueueUrl=stack.outputs["StreamPublisherDeadLetterQueueUrl"], MaxNumberOfMessages=10)
        .get("Messages", [])
    ]
    assert len(dead_letters) == 1
    info = dead_letters[0]["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == reported[0]
    assert info["streamArn"] == stack.stack.resolver.get_att("VoiceTable", "StreamArn")
    assert dead_letters[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    # Nothing else was lost: the others are on the queue (the one after the poisoned record
    # possibly more than once), the poisoned one never was.
    assert set(event_ids(queued_events(stack))) == {f"{first}:Busy", f"{last}:Busy"}
    # Each of the 6 invocations tried the poisoned event a bounded number of times.
    attempts = stack.functions.module(PUBLISHER).PUT_ATTEMPTS
    assert sum(f"{poisoned}:Busy" in call for call in wrapper.calls) == 6 * attempts


# ----- campaign events through the same rule -----


def test_campaign_final_events_reach_the_queue_and_other_sources_do_not(stack: TestStack) -> None:
    history = [
        {"status": "Queued", "at": "2026-11-27T09:00:00.000Z"},
        {"status": "Running", "at": "2026-11-27T09:00:01.000Z"},
        {"status": "Sent", "at": "2026-11-27T09:00:05.000Z"},
    ]
    finished = campaign_final_detail(
        {
            "campaignId": "c-finished",
            "name": "Flu shot reminder",
            "status": "Finished",
            "statusHistory": [*history, {"status": "Finished", "at": "2026-11-27T10:00:00.000Z"}],
        },
        CampaignCounts(total=3, final={"Completed": 2, "Busy": 1}),
    )
    failed = campaign_final_detail(
        {
            "campaignId": "c-failed",
            "name": "Cancelled one",
            "status": "Failed",
            "failureReason": "Cancelled",
            "statusHistory": [history[0], {"status": "Failed", "at": "2026-11-27T09:00:02.000Z"}],
        },
        CampaignCounts(total=2),
    )
    bus = stack.outputs["EventBusName"]
    entries = [
        {
            "Source": EVENT_SOURCE,
            "DetailType": campaign_final_detail_type(detail["status"]),
            "Detail": json.dumps(detail),
            "EventBusName": bus,
        }
        for detail in (finished, failed)
    ]
    foreign = {**entries[0], "Source": "someone.else"}
    answer = stack.client("events").put_events(Entries=[*entries, foreign])
    assert answer["FailedEntryCount"] == 0

    events = {event["detail-type"]: event for event in queued_events(stack)}

    assert sorted(events) == [CAMPAIGN_FAILED, CAMPAIGN_FINISHED]  # and not the foreign one
    assert events[CAMPAIGN_FINISHED]["detail"]["counts"] == {
        "total": 3,
        "pending": 0,
        "final": {"Completed": 2, "Busy": 1},
    }
    assert events[CAMPAIGN_FAILED]["detail"]["counts"] == {"total": 2, "pending": 2, "final": {}}
    assert events[CAMPAIGN_FAILED]["detail"]["failureReason"] == "Cancelled"
    for event in events.values():
        assert event["source"] == EVENT_SOURCE
        assert_valid_detail(event)


# ----- the sample events -----


@pytest.mark.parametrize("sample", sorted(sample_files("stream_publisher")))
def test_sample_stream_events_publish_their_final_moves(stack: TestStack, sample: str) -> None:
    # The expectations are tests/sample_events.py's, shared with the container tier.
    check_stream_publisher_sample(stack, in_process(stack), sample)


# ----- local/streams.py on its own -----


def _record(event_name: str, new: dict[str, Any] | None, old: dict[str, Any] | None = None) -> dict[str, Any]:
    dynamodb: dict[str, Any] = {"Keys": {"pk": {"S": "MESSAGE#m"}, "sk": {"S": "MESSAGE"}}}
    if new is not None:
        dynamodb["NewImage"] = new
    if old is not None:
        dynamodb["OldImage"] = old
    return {"eventID": "1", "eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": dynamodb}


def _message(final: bool, sk: str = "MESSAGE") -> dict[str, Any]:
    return {"pk": {"S": "MESSAGE#m"}, "sk": {"S": sk}, "final": {"BOOL": final}, "status": {"S": "x"}}


FILTER_CASES = [
    ("created final", _record("INSERT", _message(True)), True),
    ("became final", _record("MODIFY", _message(True), _message(False)), True),
    ("created intermediate", _record("INSERT", _message(False)), False),
    ("intermediate move", _record("MODIFY", _message(False), _message(False)), False),
    ("repeat after final", _record("MODIFY", _message(True), _message(True)), False),
    ("keys only (moto's first transaction record)", _record("INSERT", {"pk": {"S": "MESSAGE#m"}}), False),
    ("counter shard", _record("INSERT", {"pk": {"S": "CAMPAIGN#c"}, "sk": {"S": "COUNTER#01"}}), False),
    ("final non-message", _record("INSERT", _message(True, sk="CAMPAIGN")), False),
    ("removed", _record("REMOVE", None, _message(True)), False),
]


@pytest.mark.parametrize("engine", ["moto", "literal fallback"])
@pytest.mark.parametrize(("case", "record", "expected"), FILTER_CASES, ids=[case[0] for case in FILTER_CASES])
def test_template_filter_lets_through_only_moves_into_final(
    template: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    engine: str,
    case: str,
    record: dict[str, Any],
    expected: bool,
) -> None:
    if engine == "literal fallback":
        monkeypatch.setattr("local.streams._load_pattern", _LiteralPattern)
    events = template["Resources"][PUBLISHER]["Properties"]["Events"]
    criteria = events["MessageBecameFinal"]["Properties"]["FilterCriteria"]

    assert RecordFilter(criteria).matches(record) is expected, case


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


def test_poller_delivers_records_written_after_moto_rewinds_the_stream() -> None:
    """moto rolls back a failed transaction by putting back a copy of the table taken before it,
    stream included: records read meanwhile vanish and the next write reuses their sequence number."""
    from moto.dynamodb.models import dynamodb_backends

    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        functions = _FakeFunctions(session)
        poller = _fake_poller(session, functions)
        tables = dynamodb_backends["123456789012"]["us-east-1"].tables
        _put(session, "a")
        poller.drain()

        before_transaction = copy.deepcopy(tables["t"])
        _put(session, "rolled-back")
        poller.drain()
        tables["t"] = before_transaction  # the failed transaction's rollback
        _put(session, "after")
        poller.drain()

        assert functions.batches == [["a"], ["rolled-back"], ["after"]]


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
