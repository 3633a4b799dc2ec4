"""Work-arounds for moto behaviour that differs from AWS in ways this stack would notice.

DynamoDB isolation (moto 5.2): moto's backend is not thread-safe. A conditional write reads the
item, evaluates the condition and then writes, in separate Python steps, so two requests served
by ThreadedMotoServer's threads could both pass the same condition (a final status counted
twice); a reader could see half of a transaction; a cancelled transaction restores its
before-images over whatever another thread wrote in between. Running every DynamoDB and DynamoDB
Streams backend operation under one lock gives the isolation DynamoDB promises. Each operation
now costs what it touches (local/moto_transactions.py replaces moto's whole-table copy per
transaction), so the lock is held for microseconds, not for a copy of the table.

DynamoDB Streams memory (moto 5.2): a table's stream keeps every record forever, and every
GetShardIterator and GetRecords call stores a new iterator forever. `trim_stream` drops records
that the stream's consumers are done with (or that are older than the stream's 24 hours), and
iterators expire after 15 minutes, as on AWS. A read from a trimmed position starts at the
oldest record still there, as Lambda's event source mapping does when records expire.

EventBridge targets (moto 5.2): the envelope delivered to a queue lacks `account`, which
EventBridge always sends and consumers' parsers (Powertools' EventBridgeModel) require.

DynamoDB queries (moto 5.2): `Table.query` starts from `all_items()`, every item of the table sorted
by key with Python comparisons, and only then keeps the queried partition; a query of one
campaign's ten counter shards cost O(n log n) in the table's size. `_query_only_what_it_reads`
hands a table query only its partition, and an index query the items unsorted (it sorts what it
keeps by the index's full key anyway), so results and their order are unchanged.

Parsing and serializing (moto 5.2): every event delivered to a target, and every path the Step
Functions interpreter reads, builds a new JSONPath parser (jsonpath_ng's yacc tables) for the
same few paths; they are parsed once now. GetRecords answers, and item reads (GetItem, Query,
Scan, BatchGetItem, TransactGetItems), went through moto's generic, botocore-shape-driven
serializer: about 9 ms for a Query of eleven items. Records and items are already in the wire
format, so those answers are dumped as JSON, as moto itself did before 5.1.

Update expressions (moto 5.2): each UpdateItem parsed its expression twice (once to check it, once
to apply it) and deep-copied the syntax tree to validate it: milliseconds per update with the
callback's expression. Each distinct expression is parsed once now, and its one tree is shared:
moto only reads it, and the validator's private copy (which it fills with the request's values) is
made by unpickling the tree's pickle, kept with it, at a tenth of deepcopy's cost. Its check that
each of SET, REMOVE and ADD appears once searched the subtree of every nested part of the
expression, O(n^2) in the number of clauses: each part's counts are now made from its children's,
in the same order, so the same section is named when one appears twice.
An item's attribute names are interned: every item of a table repeats the same few names, and
each request decoded its own copies of them.

State machines (moto 5.2): creating a state machine, and starting each of its executions, parsed
its definition again with ANTLR's Python runtime: about 85 ms for the campaign workflow's, paid by
every test stack and every workflow run. Each distinct definition is parsed once now; every parse
still gets an evaluation program of its own, made from the shared syntax tree, which moto's
visitors only read.

Request routing (moto 5.2): the server looks up which service a request is for by listing moto's
package directory and checking each entry with a `stat`, about 190 system calls, on every request
and under its dispatcher's lock. The listing is made once now.

SQS sends (moto 5.2): local/moto_sqs.py; `apply_fixes` installs it with the rest.

Model instances (moto 5.2): `BaseModel.__new__` appends every model object it ever creates (each
item version, stream record, shard iterator, queue message) to a class-level list for moto's
dashboard, so memory grew by tens of kilobytes per callback. The offline stack does not serve that
dashboard; here models are created without being tracked.
"""

from __future__ import annotations

import base64
import copy
import functools
import inspect
import json
import pickle
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import jsonpath_ng.ext
from moto import backends
from moto.core.common_models import BaseModel
from moto.core.model_instances import reset_model_data
from moto.core.serialize import TimestampSerializer
from moto.core.utils import utcnow
from moto.dynamodb.exceptions import TooManyClauses
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import LimitedSizeDict
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]
    Expression,
    Node,
    UpdateExpressionAddClause,
    UpdateExpressionFunction,
    UpdateExpressionRemoveClause,
    UpdateExpressionSetClause,
)
from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]
from moto.dynamodb.parsing.validators import ActionCountValidator
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.events.utils import EventTemplateParser
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils import json_path

from local import moto_sqs, moto_transactions

_dynamodb_lock = threading.RLock()
_applied = False
ITEM_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
STREAM_RETENTION = timedelta(hours=24)
SHARD_ITERATOR_SECONDS = 15 * 60
# moto's own clause check, kept for comparison tests.
MOTO_VERIFY_ACTION_COUNTS = ActionCountValidator.verify_action_counts
_PICKLED = "_offline_pickled"  # a shared update-expression tree's own pickle, for quick copies


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_lock:
            return method(*args, **kwargs)

    return locked


def apply_fixes() -> None:
    """Every fix in this module, and moto_sqs's, as the offline stack runs moto (the stack itself,
    the in-memory test stack and the benchmarks). Safe to call again: a second call changes nothing."""
    fix_dynamodb()
    complete_event_envelopes()
    moto_sqs.install()
    _list_moto_modules_once()
    _parse_state_machines_once()


def fix_dynamodb() -> None:
    """Every DynamoDB / DynamoDB Streams fix in this module: transactions that roll back by undo log
    (installed first, so that they take the lock too), bounded streams, expressions parsed once, and
    one shared lock around every public backend operation."""
    global _applied  # noqa: PLW0603 - patch once per process
    if _applied:
        return
    moto_transactions.install()
    _query_only_what_it_reads()
    _bound_stream_memory()
    _untrack_model_instances()
    _parse_json_paths_once()
    _get_records_as_json()
    _item_reads_as_json()
    _parse_update_expressions_once()
    _count_clauses_once()
    _intern_attribute_names()
    for backend in (DynamoDBBackend, DynamoDBStreamsBackend):
        for name, member in list(vars(backend).items()):
            if (
                callable(member)
                and not name.startswith("_")
                and not isinstance(member, staticmethod | classmethod)
            ):
                setattr(backend, name, _serialized(member))
    _applied = True


def trim_stream(stream_arn: str, consumed_through: int | None) -> int:
    """Drop the stream's records up to sequence number `consumed_through` (every consumer is done
    with them) and those older than 24 hours; the number dropped. Sequence numbers are unchanged."""
    arn_parts = stream_arn.split(":")
    region, account, table_name = arn_parts[3], arn_parts[4], arn_parts[5].split("/")[1]
    with _dynamodb_lock:
        shard = dynamodb_backends[account][region].get_table(table_name).stream_shard
        if shard is None:
            return 0
        count = 0
        if consumed_through is not None:
            count = max(0, min(consumed_through - shard.starting_sequence_number + 1, len(shard.items)))
        expired_before = utcnow() - STREAM_RETENTION
        while count < len(shard.items) and _created(shard.items[count]) < expired_before:
            count += 1
        if count:
            del shard.items[:count]
            shard.starting_sequence_number += count  # moto numbers records from here by position
        return count


def _created(record: Any) -> Any:
    return record.record["dynamodb"]["ApproximateCreationDateTime"]


class _ExpiringIterators(dict[str, Any]):
    """moto's shard iterator registry, forgetting iterators 15 minutes after they were handed out."""

    def __init__(self) -> None:
        super().__init__()
        self._handed_out: deque[tuple[float, str]] = deque()

    def __setitem__(self, key: str, value: Any) -> None:
        now = time.monotonic()
        while self._handed_out and self._handed_out[0][0] < now - SHARD_ITERATOR_SECONDS:
            self.pop(self._handed_out.popleft()[1], None)
        self._handed_out.append((now, key))
        super().__setitem__(key, value)


def _bound_stream_memory() -> None:
    moto_init = DynamoDBStreamsBackend.__init__

    def init(self: DynamoDBStreamsBackend, region_name: str, account_id: str) -> None:
        moto_init(self, region_name, account_id)
        self.shard_iterators = _ExpiringIterators()

    moto_get = StreamShard.get

    def get(self: StreamShard, start: int, quantity: int) -> list[dict[str, Any]]:
        return moto_get(self, max(start, self.starting_sequence_number), quantity)

    DynamoDBStreamsBackend.__init__ = init  # type: ignore[method-assign]
    StreamShard.get = get  # type: ignore[method-assign]


def _list_moto_modules_once() -> None:
    listed = frozenset(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: listed


def _parse_state_machines_once() -> None:
    moto_parse = AmazonStateLanguageParser.parse
    if getattr(moto_parse, "parses_once", False):
        return

    @functools.lru_cache(maxsize=64)  # a definition that does not parse raises, and is not kept
    def syntax_tree(definition: str) -> Any:
        return moto_parse(definition)[1]

    def parse(definition: str) -> tuple[Any, Any]:
        tree = syntax_tree(definition)
        return Preprocessor().visit(tree), tree

    parse.parses_once = True  # type: ignore[attr-defined]
    AmazonStateLanguageParser.parse = staticmethod(parse)  # type: ignore[method-assign]


def complete_event_envelopes() -> None:
    """Deliver events to targets with the `account` field, as EventBridge does."""
    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = template.replace(
            '"version": "0",', '"version": "0", "account": "<account>",', 1
        )


def _query_only_what_it_reads() -> None:
    moto_query, moto_all_items = Table.query, Table.all_items
    signature = inspect.signature(moto_query)
    querying = threading.local()  # (table, partition key or None for an index) during a query

    @functools.wraps(moto_query)
    def query(self: Table, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        querying.scope = (self, None if arguments.get("index_name") else arguments["hash_key"])
        try:
            return moto_query(self, *args, **kwargs)
        finally:
            querying.scope = None

    @functools.wraps(moto_all_items)
    def all_items(self: Table) -> list[Any]:
        table, partition = getattr(querying, "scope", None) or (None, None)
        if table is not self or not self.range_key_attr:
            return moto_all_items(self)
        if partition is not None:
            return list(self.items.get(partition, {}).values())
        return [item for partition_items in self.items.values() for item in partition_items.values()]

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def _parse_json_paths_once() -> None:
    parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)
    jsonpath_ng.ext.parse = parse  # moto.events.utils imports it on each call
    json_path.parse = parse  # imported once, by name


def _get_records_as_json() -> None:
    @functools.wraps(DynamoDBStreamsHandler.get_records)
    def get_records(self: DynamoDBStreamsHandler) -> str:
        limit = self._get_param("Limit") or 1000
        records = self.backend.get_records(self._get_param("ShardIterator"), limit)
        return json.dumps(records, default=_wire_value)

    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[assignment,method-assign]


def _item_reads_as_json() -> None:
    moto_serialized = DynamoHandler.serialized

    @functools.wraps(moto_serialized)
    def serialized(self: DynamoHandler, result: Any) -> Any:
        if type(result) is not DynamoResult or self._get_action() not in ITEM_READS:
            return moto_serialized(self, result)
        headers = {"Content-Type": "application/x-amz-json-1.0", **self.response_headers}
        return 200, headers, json.dumps(result.result, default=_wire_value)

    DynamoHandler.serialized = serialized  # type: ignore[assignment,method-assign]


def _wire_value(value: Any) -> Any:
    """What moto's serializer makes of the values `dynamo_to_dict` leaves: B as base64, dates as epoch."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return TimestampSerializer._timestamp_unixtimestamp(value)  # truncated to milliseconds
    raise TypeError(f"{type(value).__name__} is not in DynamoDB's wire format")


def _untrack_model_instances() -> None:
    def new(cls: type[BaseModel], *args: Any, **kwargs: Any) -> BaseModel:
        instance: BaseModel = super(BaseModel, cls).__new__(cls)
        return instance

    BaseModel.__new__ = new  # type: ignore[method-assign]
    reset_model_data()  # forget what was tracked before


def _parse_update_expressions_once() -> None:
    parse = UpdateExpressionParser.make.__func__

    # One tree per expression, shared: moto only reads the tree it parses (to check the expression's
    # names and values), and its validator fills in values on a copy of its own.
    @functools.lru_cache(maxsize=1024)
    @functools.wraps(parse)
    def make(parser: type, expression: str) -> Any:
        tree = parse(parser, expression)
        # With the tree's id: a deep copy of the tree would carry the attribute but not match it.
        setattr(tree, _PICKLED, (id(tree), pickle.dumps(tree, pickle.HIGHEST_PROTOCOL)))
        return tree

    UpdateExpressionParser.make = classmethod(make)  # type: ignore[arg-type]
    validators.deepcopy = _copy  # type: ignore[assignment]  # the validator's private copy of the tree


def _count_clauses_once() -> None:
    kinds = (UpdateExpressionAddClause, UpdateExpressionRemoveClause, UpdateExpressionSetClause)

    def counts(checker: ActionCountValidator, node: Node) -> tuple[int, ...]:
        # What moto's `node.find_clauses([kind])` finds, per kind, remembered for the rest of the walk.
        memo: dict[int, tuple[int, ...]] = checker.__dict__.setdefault("_clause_counts", {})
        if id(node) not in memo:
            total = [0, 0, 0]
            for child in node.children or []:
                if type(child) in kinds:
                    total[kinds.index(type(child))] += 1
                elif isinstance(child, Expression | UpdateExpressionFunction):
                    total = [
                        mine + theirs for mine, theirs in zip(total, counts(checker, child), strict=True)
                    ]
            memo[id(node)] = tuple(total)
        return memo[id(node)]

    def verify_action_counts(self: ActionCountValidator, node: Any) -> Any:
        for section, count in zip(("ADD", "REMOVE", "SET"), counts(self, node), strict=True):
            if count > 1:
                raise TooManyClauses(section)
        return node

    ActionCountValidator.verify_action_counts = verify_action_counts  # type: ignore[method-assign]


def _copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    if isinstance(value, Node):
        owner, pickled = getattr(value, _PICKLED, (None, b""))
        if owner != id(value):
            pickled = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        return pickle.loads(pickled)  # noqa: S301 - our own bytes
    return copy.deepcopy(value, memo)


def _intern_attribute_names() -> None:
    set_attribute = LimitedSizeDict.__setitem__

    @functools.wraps(set_attribute)
    def interned(attributes: LimitedSizeDict, name: str, value: Any) -> None:
        set_attribute(attributes, sys.intern(name), value)

    LimitedSizeDict.__setitem__ = interned  # type: ignore[method-assign]
