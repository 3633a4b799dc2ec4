"""DynamoDB stream event sources, driven offline the way Lambda's event source mapping drives them.

moto keeps a table's stream but invokes nothing from it. For every template function with a
`DynamoDB` event, `StreamPoller` reads the stream with the dynamodbstreams API, applies the
event's FilterCriteria, and invokes the function in-process with `{"Records": [...]}` batches in
Lambda's shape. Like Lambda it retries from the first record the function reports in
`batchItemFailures` (or the whole batch if the function raised, split in two first when
BisectBatchOnFunctionError is on), and after MaximumRetryAttempts sends the failed records'
metadata to the OnFailure SQS destination and moves on.

Records every source of a stream is done with are trimmed from moto's stream (local/moto_fixes.py),
so memory stays bounded however long the stack runs. Like Lambda's poller, each shard is read on
with the NextShardIterator of its last read, one GetRecords per poll, and holds at most a page of
1000 records it has read but is not done with (a batch still filling, or one still failing).

While polling, a shard's matching records wait up to the event's MaximumBatchingWindowInSeconds
for a full batch, as Lambda's do (so batches, invocations and PutEvents calls per record are what
they would be on AWS); `drain()` delivers at once.

Not modelled: MaximumRecordAgeInSeconds, ParallelizationFactor, tumbling windows, shard lineage
(moto keeps one shard per stream, so each stream is described once).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import boto3

from local.functions import FunctionSpec, InvocationError, LocalFunctions
from local.template import Resolver

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams.literals import ShardIteratorTypeType

logger = logging.getLogger(__name__)

EVENT_SOURCE_TYPE = "DynamoDB"
# Lambda's default MaximumRetryAttempts is -1: retry until the records expire, blocking the shard.
# Locally a drain cannot wait for that, so such a shard stops for this pass after a few retries and
# is listed in DrainSummary.blocked; the next poll tries it again.
RETRY_UNTIL_EXPIRED = -1
UNBOUNDED_RETRIES_PER_PASS = 2
MAX_DRAIN_PASSES = 100_000  # passes move up to a page of records each; a self-feeding loop ends
RECORDS_PER_READ = 1000  # GetRecords' own maximum
# DynamoDB Streams (and moto here, local/moto_fixes.py) forget a shard iterator 15 minutes after
# handing it out: an older one is not used again.
ITERATOR_REUSE_SECONDS = 10 * 60


class _Pattern(Protocol):
    def matches_event(self, event: Any) -> bool: ...


class _LiteralPattern:
    """Fallback when moto's pattern engine is not importable: literal values and nesting only."""

    def __init__(self, text: str) -> None:
        self._pattern = json.loads(text)
        _reject_operators(self._pattern, text)

    def matches_event(self, event: Any) -> bool:
        return _matches_literals(self._pattern, event)


def _reject_operators(pattern: dict[str, Any], text: str) -> None:
    for expected in pattern.values():
        if isinstance(expected, dict):
            _reject_operators(expected, text)
        elif any(isinstance(value, dict) for value in expected):
            raise NotImplementedError(f"filter operators need moto's pattern engine: {text}")


def _matches_literals(pattern: dict[str, Any], value: Any) -> bool:
    for key, expected in pattern.items():
        if not isinstance(value, dict) or key not in value:
            return False
        actual = value[key]
        if isinstance(expected, dict):
            if not _matches_literals(expected, actual):
                return False
        elif not any(
            candidate in expected for candidate in (actual if isinstance(actual, list) else [actual])
        ):
            return False
    return True


def _load_pattern(text: str) -> _Pattern:
    try:
        from moto.events.models import EventPattern
    except ImportError:
        return _LiteralPattern(text)
    pattern: _Pattern = EventPattern.load(text)
    return pattern


class RecordFilter:
    """An event source's FilterCriteria: a record passes if any of its Filters' Patterns matches
    (each an EventBridge-style pattern over the Lambda record); no Filters lets everything pass."""

    def __init__(self, filter_criteria: dict[str, Any] | None) -> None:
        self._patterns = [_load_pattern(f["Pattern"]) for f in (filter_criteria or {}).get("Filters", [])]

    def matches(self, record: dict[str, Any]) -> bool:
        return not self._patterns or any(pattern.matches_event(record) for pattern in self._patterns)


@dataclass(frozen=True)
class StreamSource:
    """One `DynamoDB` event of one template function, its properties resolved to local values."""

    function: str  # logical id
    function_arn: str
    event: str  # the event's name under the function's Events
    stream_arn: str
    starting_position: str
    batch_size: int
    batching_window_seconds: float
    max_retries: int
    bisect_on_error: bool
    reports_item_failures: bool
    on_failure_arn: str | None
    record_filter: RecordFilter

    @classmethod
    def from_template(cls, spec: FunctionSpec, event: str, properties: dict[str, Any]) -> StreamSource:
        on_failure = (properties.get("DestinationConfig") or {}).get("OnFailure") or {}
        if on_failure and on_failure.get("Type", "SQS") != "SQS":
            raise NotImplementedError(
                f"{spec.logical_id}.{event}: only SQS OnFailure destinations run locally"
            )
        return cls(
            function=spec.logical_id,
            function_arn=spec.arn,
            event=event,
            stream_arn=properties["Stream"],
            starting_position=properties.get("StartingPosition", "TRIM_HORIZON"),
            batch_size=int(properties.get("BatchSize", 100)),
            batching_window_seconds=float(properties.get("MaximumBatchingWindowInSeconds", 0)),
            max_retries=int(properties.get("MaximumRetryAttempts", RETRY_UNTIL_EXPIRED)),
            bisect_on_error=bool(properties.get("BisectBatchOnFunctionError", False)),
            reports_item_failures="ReportBatchItemFailures"
            in (properties.get("FunctionResponseTypes") or []),
            on_failure_arn=on_failure.get("Destination"),
            record_filter=RecordFilter(properties.get("FilterCriteria")),
        )

    @property
    def name(self) -> str:
        return f"{self.function}.{self.event}"


@dataclass
class Invocation:
    function: str
    sequence_numbers: list[str]
    failed: list[str]  # reported in batchItemFailures, or the whole batch when the function raised
    error: str | None = None  # the function's error message when it raised


@dataclass
class DrainSummary:
    records_read: int = 0
    records_filtered_out: int = 0
    invocations: list[Invocation] = field(default_factory=list)
    sent_to_on_failure: list[str] = field(default_factory=list)  # sequence numbers given up on
    blocked: list[str] = field(default_factory=list)  # "<function>.<event>/<shard>" still failing

    @property
    def records_delivered(self) -> int:
        """Distinct records handed to a function at least once."""
        return len({number for invocation in self.invocations for number in invocation.sequence_numbers})


def lambda_record(raw: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record in the shape Lambda hands to a function."""
    stream = dict(raw["dynamodb"])
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):  # botocore parses it; Lambda sends epoch seconds
        stream["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": raw["awsRegion"],
        "dynamodb": stream,
        "eventSourceARN": stream_arn,
    }


def _sequence_number(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


@dataclass
class _ReadAhead:
    """A shard's records read but not yet done with, in stream order, and where to read on."""

    records: list[dict[str, Any]]
    next_iterator: str | None
    handed_out_at: float  # time.monotonic() when the stream handed out `next_iterator`


class StreamPoller:
    """Drives every `DynamoDB` event source of the template's functions.

    `drain()` processes everything in the streams now (synchronously: for tests); `start()` /
    `stop()` poll in a background thread (for the offline stack). Both never overlap.
    """

    def __init__(
        self,
        session: boto3.Session,
        functions: LocalFunctions,
        resolver: Resolver,
        *,
        endpoint_url: str | None = None,
        interval_seconds: float = 0.25,
        trim_consumed: bool = True,
    ) -> None:
        self._functions = functions
        self._streams = session.client("dynamodbstreams", endpoint_url=endpoint_url)
        self._sqs = session.client("sqs", endpoint_url=endpoint_url)
        self.interval_seconds = interval_seconds
        self.sources = [
            StreamSource.from_template(spec, name, resolver.resolve(event.get("Properties") or {}))
            for spec in functions.specs.values()
            for name, event in spec.events.items()
            if event.get("Type") == EVENT_SOURCE_TYPE and (event.get("Properties") or {}).get("Enabled", True)
        ]
        # The sequence number each (source name, shard id) is done with, and what it has read past it.
        self._positions: dict[tuple[str, str], int] = {}
        self._read_ahead: dict[tuple[str, str], _ReadAhead] = {}
        # Since when each (source name, shard id) has held matching records short of a batch.
        self._batch_waiting_since: dict[tuple[str, str], float] = {}
        self._shards: dict[str, list[str]] = {}  # stream ARN: shard ids
        self._trim_consumed = trim_consumed
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        for source in self.sources:
            if source.starting_position == "LATEST":  # only what is written from now on
                for shard_id in self._shard_ids(source):
                    while records := self._read_new(source, shard_id):
                        self._advance(source, shard_id, records)

    # ----- driving -----

    def drain(self) -> DrainSummary:
        """Process every record now in the streams, and those the invocations write in turn."""
        summary = DrainSummary()
        for _ in range(MAX_DRAIN_PASSES):
            if not self.poll_once(summary):
                return summary
        raise RuntimeError(
            f"streams still moving after {MAX_DRAIN_PASSES} passes (a function feeding itself?)"
        )

    def poll_once(self, summary: DrainSummary | None = None, *, batching_window: bool = False) -> int:
        """One pass over every shard of every source; the number of records moved past. With
        `batching_window`, records short of a batch wait up to the source's batching window."""
        summary = summary if summary is not None else DrainSummary()
        with self._lock:
            return sum(
                self._poll_shard(source, shard_id, summary, batching_window)
                for source in self.sources
                for shard_id in self._shard_ids(source)
            )

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="stream-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_seconds)
            self._thread = None

    def __enter__(self) -> StreamPoller:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stopping.is_set():
            moved = 0
            try:
                moved = self.poll_once(batching_window=True)
            except Exception:  # keep the offline stack serving; the next poll tries again
                logger.exception("stream poll failed")
            if not moved:  # behind: read the next page at once
                self._stopping.wait(self.interval_seconds)

    # ----- reading -----

    def _shard_ids(self, source: StreamSource) -> list[str]:
        if source.stream_arn not in self._shards:
            description = self._streams.describe_stream(StreamArn=source.stream_arn)["StreamDescription"]
            self._shards[source.stream_arn] = [shard["ShardId"] for shard in description["Shards"]]
        return self._shards[source.stream_arn]

    def _read_new(self, source: StreamSource, shard_id: str) -> list[dict[str, Any]]:
        """Up to a page of the records not yet done with, in stream order: those read before, then
        what has arrived since. Under the stack's DynamoDB lock a record is visible only once
        committed, so a record once read never disappears."""
        ahead = self._read_ahead.get((source.name, shard_id))
        if ahead is None:
            ahead = _ReadAhead([], None, 0.0)
            self._read_ahead[(source.name, shard_id)] = ahead
        room = RECORDS_PER_READ - len(ahead.records)
        if room <= 0:
            return list(ahead.records)
        iterator = ahead.next_iterator
        if iterator is None or time.monotonic() - ahead.handed_out_at > ITERATOR_REUSE_SECONDS:
            iterator = self._iterator_after(source, shard_id, ahead.records)
        if iterator is not None:
            ahead.next_iterator = None  # should this read fail, the next one asks for a new iterator
            page = self._streams.get_records(ShardIterator=iterator, Limit=room)
            ahead.records += [lambda_record(raw, source.stream_arn) for raw in page["Records"]]
            ahead.next_iterator, ahead.handed_out_at = page.get("NextShardIterator"), time.monotonic()
        return list(ahead.records)

    def _iterator_after(self, source: StreamSource, shard_id: str, read: list[dict[str, Any]]) -> str | None:
        """A new iterator past the records read (or done with): at the shard's oldest record when
        there are none."""
        last = _sequence_number(read[-1]) if read else self._positions.get((source.name, shard_id))
        kind: ShardIteratorTypeType = "TRIM_HORIZON" if last is None else "AFTER_SEQUENCE_NUMBER"
        position = {} if last is None else {"SequenceNumber": str(last)}
        return self._streams.get_shard_iterator(
            StreamArn=source.stream_arn, ShardId=shard_id, ShardIteratorType=kind, **position
        ).get("ShardIterator")

    def _advance(self, source: StreamSource, shard_id: str, done: list[dict[str, Any]]) -> None:
        """Done with `done`, the first records of those read."""
        if not done:
            return
        key = (source.name, shard_id)
        del self._read_ahead[key].records[: len(done)]
        self._positions[key] = int(_sequence_number(done[-1]))
        if self._trim_consumed:
            from local.moto_fixes import trim_stream

            readers = [other for other in self.sources if other.stream_arn == source.stream_arn]
            positions = [self._positions.get((other.name, shard_id)) for other in readers]
            if all(position is not None for position in positions):
                trim_stream(source.stream_arn, min(p for p in positions if p is not None))

    # ----- delivering -----

    def _poll_shard(
        self, source: StreamSource, shard_id: str, summary: DrainSummary, batching_window: bool
    ) -> int:
        records = self._read_new(source, shard_id)
        if not records:
            return 0
        matching = [record for record in records if source.record_filter.matches(record)]
        if batching_window and self._batch_still_filling(source, shard_id, len(matching)):
            return 0  # read again at the next poll, with whatever arrived since
        self._batch_waiting_since.pop((source.name, shard_id), None)
        summary.records_read += len(records)
        summary.records_filtered_out += len(records) - len(matching)
        stuck = self._deliver(source, shard_id, matching, summary)
        done = records if stuck is None else records[: records.index(stuck)]
        self._advance(source, shard_id, done)
        return len(done)

    def _batch_still_filling(self, source: StreamSource, shard_id: str, matching: int) -> bool:
        if not matching or matching >= source.batch_size or not source.batching_window_seconds:
            return False
        since = self._batch_waiting_since.setdefault((source.name, shard_id), time.monotonic())
        return time.monotonic() - since < source.batching_window_seconds

    def _deliver(
        self, source: StreamSource, shard_id: str, records: list[dict[str, Any]], summary: DrainSummary
    ) -> dict[str, Any] | None:
        """Invoke in batches, in order, retrying like Lambda; the first record of a batch that is
        still failing when retries are unbounded (the shard stays blocked there), else None."""
        size = source.batch_size
        # Each entry: a batch and how many times it has been retried. Splitting is no retry.
        batches = deque((records[start : start + size], 0) for start in range(0, len(records), size))
        while batches:
            batch, retries = batches.popleft()
            retry_from, raised = self._invoke(source, batch, summary)
            if retry_from is None:
                continue
            remaining = batch[retry_from:]
            if raised and source.bisect_on_error and len(remaining) > 1:
                half = len(remaining) // 2
                batches.extendleft([(remaining[half:], retries), (remaining[:half], retries)])
                continue
            unbounded = source.max_retries == RETRY_UNTIL_EXPIRED
            if retries < (UNBOUNDED_RETRIES_PER_PASS if unbounded else source.max_retries):
                batches.appendleft((remaining, retries + 1))
            elif unbounded:
                if f"{source.name}/{shard_id}" not in summary.blocked:
                    summary.blocked.append(f"{source.name}/{shard_id}")
                return remaining[0]
            else:
                self._send_to_on_failure(source, shard_id, remaining, retries + 1, raised)
                summary.sent_to_on_failure += [_sequence_number(record) for record in remaining]
        return None

    def _invoke(
        self, source: StreamSource, batch: list[dict[str, Any]], summary: DrainSummary
    ) -> tuple[int | None, bool]:
        """One invocation: (index of the first record to retry, or None when all succeeded;
        whether the function raised)."""
        numbers = [_sequence_number(record) for record in batch]
        try:
            response = self._functions.invoke(source.function, {"Records": batch})
        except InvocationError as error:
            summary.invocations.append(Invocation(source.function, numbers, numbers, str(error)))
            return 0, True
        failed = _reported_failures(response, numbers) if source.reports_item_failures else []
        summary.invocations.append(Invocation(source.function, numbers, failed))
        return (min(numbers.index(number) for number in failed) if failed else None), False

    def _send_to_on_failure(
        self, source: StreamSource, shard_id: str, records: list[dict[str, Any]], invokes: int, raised: bool
    ) -> None:
        """The metadata Lambda sends to an OnFailure destination (not the records themselves)."""
        logger.warning(
            "%s: giving up on %d record(s) after %d invocations", source.name, len(records), invokes
        )
        if not source.on_failure_arn:
            return
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": source.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invokes,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"}
            | ({"functionError": "Unhandled"} if raised else {}),
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(records),
                "streamArn": source.stream_arn,
            },
        }
        queue_name = source.on_failure_arn.rsplit(":", 1)[-1]
        queue_url = self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))


def _reported_failures(response: Any, numbers: list[str]) -> list[str]:
    """Sequence numbers in batchItemFailures; like Lambda, an identifier that is missing or not in
    the batch fails the whole batch."""
    if not isinstance(response, dict):
        return []
    reported = [item.get("itemIdentifier") for item in response.get("batchItemFailures") or []]
    if any(number not in numbers for number in reported):
        return numbers
    return [number for number in numbers if number in reported]


def _iso(epoch_seconds: Any) -> str | None:
    if epoch_seconds is None:
        return None
    return datetime.fromtimestamp(float(epoch_seconds), UTC).isoformat().replace("+00:00", "Z")
