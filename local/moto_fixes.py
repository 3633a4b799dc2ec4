"""Work-arounds for moto behaviour that differs from AWS in ways this stack would notice.

DynamoDB isolation (moto 5.2): moto's backend is not thread-safe. A conditional write reads the
item, evaluates the condition and then writes, in separate Python steps, so two requests served
by ThreadedMotoServer's threads could both pass the same condition (a final status counted
twice); a reader could see half of a transaction; a cancelled transaction restores its
before-images over whatever another thread wrote in between. Running every DynamoDB and DynamoDB
Streams backend operation under one lock gives the isolation DynamoDB promises. Each operation
now costs what it touches (local/moto_transactions.py replaces moto's whole-table copy per
transaction), so the lock is held for microseconds, not for a copy of the table.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodbstreams.models import DynamoDBStreamsBackend

from local import moto_transactions

_dynamodb_lock = threading.RLock()
_applied = False


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_lock:
            return method(*args, **kwargs)

    return locked


def serialize_dynamodb() -> None:
    """Make every public DynamoDB / DynamoDB Streams backend operation take one shared lock, with
    transactions that roll back by undo log (installed first, so that they take the lock too)."""
    global _applied  # noqa: PLW0603 - patch once per process
    if _applied:
        return
    moto_transactions.install()
    for backend in (DynamoDBBackend, DynamoDBStreamsBackend):
        for name, member in list(vars(backend).items()):
            if (
                callable(member)
                and not name.startswith("_")
                and not isinstance(member, staticmethod | classmethod)
            ):
                setattr(backend, name, _serialized(member))
    _applied = True
