"""Final-state fan-out: table stream -> StreamPublisherFunction -> EventBridge -> notifications queue.

Every message event comes from real callbacks: each test dispatches a campaign with the product's
own functions (tests/workflow/support.py), posts signed callbacks for its recipients through the
API route, the stream is driven by local/streams.py, and moto's EventBridge matches the
template's rule and delivers to the queue, so these tests see what a consumer sees.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.streams import RecordFilter, StreamPoller, _LiteralPattern
from tests.conftest import ApiResponse, TestStack, load_event
from tests.notifications import assert_valid_detail, event_ids, queued_events
from tests.sample_events import check_stream_publisher_sample, in_process, sample_files
from tests.workflow.support import Campaigns
from voice_status.campaign.model import CampaignWithCounts
from voice_status.signing import sign_campaign
from voice_status.statuses import CampaignStatus
from voice_status.views import (
    CAMPAIGN_FAILED,
    CAMPAIGN_FINISHED,
    EVENT_SOURCE,
    MESSAGE_FINALIZED,
    campaign_final_detail,
    campaign_final_detail_type,
)

PUBLISHER = "StreamPublisherFunction"
ANSWERS, BUSY = "+306900000001", "+306900000004"


# ----- helpers -----


def numbers(count: int) -> list[str]:
    return [f"+3069100{number:05d}" for number in range(count)]


def callback_body(message_id: str, to: str, status: str, at: str, **extra: Any) -> dict[str, Any]:
    """A Routee voice callback (shape of tests/fixtures/routee/callback-*.json)."""
    return {
        "messageId": message_id,
        "campaignTrackingId": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
        "to": to,
        "from": "+302100000000",
        "status": {"name": status, "updatedDate": at},
        "price": extra.pop("price", 0.0),
        "duration": extra.pop("duration", 0),
        "createdAt": "2026-11-27T09:00:00.105Z",
        **extra,
    }


def post_callback(stack: TestStack, campaign_id: str, body: dict[str, Any]) -> ApiResponse:
    signature = sign_campaign(stack.secret(), campaign_id)
    return stack.api("POST", f"/callbacks/voice/{campaign_id}/{signature}", body)


def post_callbacks(stack: TestStack, campaign_id: str, *bodies: dict[str, Any]) -> None:
    for body in bodies:
        response = post_callback(stack, campaign_id, body)
        assert response.status_code == 200, response.body


def finals(campaigns: Campaigns, status: str, count: int) -> tuple[str, list[str]]:
    """A dispatched campaign of `count` recipients, each with one callback reporting `status`:
    the campaign and the message ids, in the order they were posted."""
    recipients = numbers(count)
    campaign_id = campaigns.dispatched(recipients)
    message_ids = [str(uuid.uuid4()) for _ in recipients]
    post_callbacks(
        campaigns.stack,
        campaign_id,
        *(
            callback_body(message_id, to, status, "2026-11-27T09:00:31.877Z")
            for message_id, to in zip(message_ids, recipients, strict=True)
        ),
    )
    return campaign_id, message_ids


def poller(stack: TestStack) -> StreamPoller:
    """A poller that leaves the records in the stream, so a fresh one can redeliver them."""
    return StreamPoller(stack.session, stack.functions, stack.stack.resolver, trim_consumed=False)


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


def test_each_message_becoming_final_yields_exactly_one_event(stack: TestStack, campaigns: Campaigns) -> None:
    campaign_id = campaigns.dispatched([ANSWERS, BUSY])
    answered, busy = str(uuid.uuid4()), str(uuid.uuid4())
    post_callbacks(
        stack,
        campaign_id,
        callback_body(answered, ANSWERS, "Ringing", "2026-11-27T09:00:04.512Z"),
        callback_body(answered, ANSWERS, "Completed", "2026-11-27T09:00:31.877Z", duration=23, price=0.021),
        callback_body(
            answered, ANSWERS, "Completed", "2026-11-27T09:00:31.877Z", duration=23, price=0.021
        ),  # repeat
        callback_body(answered, ANSWERS, "No Answer", "2026-11-27T09:00:40.000Z"),  # later, another final
        callback_body(busy, BUSY, "Busy", "2026-11-27T09:00:12.000Z"),  # its first callback is final
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
        "to": ANSWERS,
        "status": "Completed",
        "finalAt": "2026-11-27T09:00:31.877Z",
        "duration": 23,
        "price": 0.021,
    }
    assert by_message[busy]["detail"]["to"] == BUSY
    assert by_message[busy]["detail"]["campaignId"] == campaign_id
    for event in events:
        assert_valid_detail(event)
    # The filter, not the function, dropped everything else (the dispatch's writes included):
    # one invocation with the two moves.
    assert [len(invocation.sequence_numbers) for invocation in summary.invocations] == [2]
    assert summary.records_filtered_out > 0


def test_intermediate_callbacks_yield_no_event_and_no_invocation(
    stack: TestStack, campaigns: Campaigns
) -> None:
    campaign_id, message_id = campaigns.dispatched([ANSWERS]), str(uuid.uuid4())
    post_callbacks(
        stack,
        campaign_id,
        *(
            callback_body(message_id, ANSWERS, status, f"2026-11-27T09:00:0{second}.000Z")
            for second, status in enumerate(["Queued", "Initiated", "Ringing", "InProgress", "Unknown"], 1)
        ),
    )

    summary = poller(stack).drain()

    assert summary.records_read >= 5
    assert summary.invocations == []
    assert queued_events(stack) == []


def test_rejected_callbacks_publish_nothing(stack: TestStack, campaigns: Campaigns) -> None:
    """A callback for another campaign's recipient, or with another message's id, writes nothing,
    so no consumer ever hears of it: only the real message's final move is published."""
    mine, other = campaigns.dispatched([ANSWERS]), campaigns.dispatched([BUSY])
    real = str(uuid.uuid4())
    post_callbacks(stack, mine, callback_body(real, ANSWERS, "Completed", "2026-11-27T09:00:31.877Z"))

    refused = [
        # My number on the other campaign's URL: not one of its recipients.
        post_callback(
            stack, other, callback_body(str(uuid.uuid4()), ANSWERS, "Busy", "2026-11-27T09:00:32Z")
        ),
        # The other campaign's recipient, with my message's id: the id is taken.
        post_callback(stack, other, callback_body(real, BUSY, "Busy", "2026-11-27T09:00:32Z")),
        # My recipient with an invented id: the recipient has its id already.
        post_callback(
            stack, mine, callback_body(str(uuid.uuid4()), ANSWERS, "Failed", "2026-11-27T09:00:33Z")
        ),
    ]
    assert [response.status_code for response in refused] == [404, 409, 409]

    poller(stack).drain()

    assert event_ids(queued_events(stack)) == [f"{real}:Completed"]


def test_redelivered_stream_batch_repeats_only_the_same_event_ids(
    stack: TestStack, campaigns: Campaigns
) -> None:
    _, messages = finals(campaigns, "Completed", 3)
    poller(stack).drain()
    first = event_ids(queued_events(stack))

    # A fresh poller reads the stream from TRIM_HORIZON again: Lambda redelivering the same batch.
    poller(stack).drain()
    again = event_ids(queued_events(stack))

    assert first == sorted(f"{message_id}:Completed" for message_id in messages)
    assert again == first  # at least once, and a consumer de-duplicating on eventId sees no change


def test_replay_from_the_archive_repeats_the_same_event_ids(stack: TestStack, campaigns: Campaigns) -> None:
    started = datetime.now(UTC) - timedelta(minutes=1)
    _, [message_id] = finals(campaigns, "NoAnswer", 1)
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


def test_every_final_status_event_validates_against_its_schema(
    stack: TestStack, campaigns: Campaigns
) -> None:
    statuses = ["Completed", "Busy", "NoAnswer", "Failed", "Unsent", "Terminated"]
    recipients = dict(zip(statuses, numbers(len(statuses)), strict=True))
    ids = {status: str(uuid.uuid4()) for status in statuses}
    campaign_id = campaigns.dispatched(list(recipients.values()))
    post_callbacks(
        stack,
        campaign_id,
        *(
            callback_body(ids[status], recipients[status], "Initiated", "2026-11-27T09:00:02.000Z")
            for status in statuses[:3]
        ),
        *(
            callback_body(ids[status], recipients[status], status, "2026-11-27T09:00:30.000Z", duration=9)
            for status in statuses
        ),
    )
    poller(stack).drain()
    events = queued_events(stack)

    assert sorted(event["detail"]["status"] for event in events) == sorted(statuses)
    for event in events:
        assert event["detail"]["to"] == recipients[event["detail"]["status"]]
        assert_valid_detail(event)
    assert campaigns.counts(campaign_id) == {
        "total": 6,
        "pending": 0,
        "final": dict.fromkeys(statuses, 1),
    }


def test_background_poller_publishes_while_running(stack: TestStack, campaigns: Campaigns) -> None:
    campaign_id, message_id = campaigns.dispatched([ANSWERS]), str(uuid.uuid4())
    with StreamPoller(stack.session, stack.functions, stack.stack.resolver, interval_seconds=0.05):
        post_callbacks(
            stack, campaign_id, callback_body(message_id, ANSWERS, "Completed", "2026-11-27T09:00:31.877Z")
        )
        sqs, deadline = stack.client("sqs"), time.monotonic() + 10
        messages: list[dict[str, Any]] = []
        while not messages and time.monotonic() < deadline:  # long polls of 1 s
            answer = sqs.receive_message(QueueUrl=stack.outputs["NotificationsQueueUrl"], WaitTimeSeconds=1)
            messages = answer.get("Messages", [])
    assert event_ids([json.loads(message["Body"]) for message in messages]) == [f"{message_id}:Completed"]


# ----- PutEvents failures -----


def test_partially_failed_put_events_resends_only_the_failed_entries(
    stack: TestStack, campaigns: Campaigns, failing_events: Any
) -> None:
    _, messages = finals(campaigns, "Completed", 12)
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
    stack: TestStack, campaigns: Campaigns, failing_events: Any
) -> None:
    _, [first, poisoned, last] = finals(campaigns, "Busy", 3)
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


def _found(campaigns: Campaigns, campaign_id: str) -> CampaignWithCounts:
    found = campaigns.store.get_with_counts(campaign_id)
    assert found is not None
    return found


def test_campaign_final_events_reach_the_queue_and_other_sources_do_not(
    stack: TestStack, campaigns: Campaigns
) -> None:
    # A campaign whose three messages all became final, moved to Finished by the deployed
    # definition's own states; and one cancelled before it started.
    recipients = numbers(3)
    finished_id = campaigns.dispatched(recipients)
    post_callbacks(
        stack,
        finished_id,
        *(
            callback_body(str(uuid.uuid4()), to, status, "2026-11-27T09:00:31.877Z")
            for to, status in zip(recipients, ["Completed", "Completed", "Busy"], strict=True)
        ),
    )
    campaigns.advance(finished_id, CampaignStatus.FINISHED)
    cancelled_id = campaigns.create(numbers(2), start=False)
    campaigns.cancel(cancelled_id)
    finished, failed = _found(campaigns, finished_id), _found(campaigns, cancelled_id)

    bus = stack.outputs["EventBusName"]
    entries = [
        {
            "Source": EVENT_SOURCE,
            "DetailType": campaign_final_detail_type(found),
            "Detail": json.dumps(campaign_final_detail(found)),
            "EventBusName": bus,
        }
        for found in (finished, failed)
    ]
    foreign = {**entries[0], "Source": "someone.else"}
    answer = stack.client("events").put_events(Entries=[*entries, foreign])
    assert answer["FailedEntryCount"] == 0

    events = {event["detail-type"]: event for event in queued_events(stack)}

    assert sorted(events) == [CAMPAIGN_FAILED, CAMPAIGN_FINISHED]  # and not the foreign one
    done = events[CAMPAIGN_FINISHED]["detail"]
    assert (done["campaignId"], done["status"], done["eventId"]) == (
        finished_id,
        "Finished",
        f"{finished_id}:Finished",
    )
    assert done["counts"] == {"total": 3, "pending": 0, "final": {"Completed": 2, "Busy": 1}}
    assert [entry["status"] for entry in done["statusHistory"]] == ["Queued", "Running", "Sent", "Finished"]
    assert "failureReason" not in done
    cancelled = events[CAMPAIGN_FAILED]["detail"]
    assert (cancelled["campaignId"], cancelled["status"]) == (cancelled_id, "Failed")
    assert cancelled["counts"] == {"total": 2, "pending": 2, "final": {}}
    assert cancelled["failureReason"] == "Cancelled"
    assert [entry["status"] for entry in cancelled["statusHistory"]] == ["Queued", "Failed"]
    for event in events.values():
        assert event["source"] == EVENT_SOURCE
        assert_valid_detail(event)


# ----- the sample events -----


@pytest.mark.parametrize("sample", sorted(sample_files("stream_publisher")))
def test_sample_stream_events_publish_their_final_moves(stack: TestStack, sample: str) -> None:
    # The expectations live in tests/sample_events.py, shared with the container tier.
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
