"""Work-arounds for moto behaviour that differs from AWS in ways this stack would notice.

DynamoDB transactions (moto 5.2): TransactWriteItems deep-copies every table it touches and
puts the copies back when the transaction is cancelled. Whatever another thread wrote in
between (an item, its stream record) silently vanishes. Duplicate final callbacks cancel
transactions routinely, and handlers, Step Functions tasks and the stream poller write
concurrently, so writes were lost now and then. Running moto's DynamoDB and DynamoDB Streams
backend operations one at a time makes the rollback safe, in server mode and in mock_aws alike.

EventBridge targets (moto 5.2): the envelope delivered to a queue lacks `account`, which
EventBridge always sends and consumers' parsers (Powertools' EventBridgeModel) require.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.events.utils import EventTemplateParser

_dynamodb_lock = threading.RLock()
_applied = False


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_lock:
            return method(*args, **kwargs)

    return locked


def serialize_dynamodb() -> None:
    """Make every public DynamoDB / DynamoDB Streams backend operation take one shared lock."""
    global _applied  # noqa: PLW0603 - patch once per process
    if _applied:
        return
    for backend in (DynamoDBBackend, DynamoDBStreamsBackend):
        for name, member in list(vars(backend).items()):
            if (
                callable(member)
                and not name.startswith("_")
                and not isinstance(member, staticmethod | classmethod)
            ):
                setattr(backend, name, _serialized(member))
    _applied = True


def complete_event_envelopes() -> None:
    """Deliver events to targets with the `account` field, as EventBridge does."""
    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = template.replace(
            '"version": "0",', '"version": "0", "account": "<account>",', 1
        )
