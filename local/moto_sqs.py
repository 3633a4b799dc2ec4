"""SQS SendMessage for moto that does not count the queue's messages to send one.

moto 5.2's `SQSBackend.send_message` reads `queue.attributes.get("ContentBasedDeduplication")`.
`Queue.attributes` builds every attribute of the queue, and three of them
(ApproximateNumberOfMessages, ...Delayed, ...NotVisible) walk every message in the queue, reading
the clock for each. So each message sent cost time in proportion to the messages already queued.
Offline nobody reads the notifications queue, so every final notification that EventBridge
delivered to it got slower than the last: at a few thousand queued messages, about a third of the
offline stack's time went to those counts.

Here the one attribute is read by itself (moto's checks for FIFO queues still build them all;
the queues this stack sends to are standard ones): `_content_based_deduplication` answers what
`queue.attributes.get("ContentBasedDeduplication")` answers (the attribute exists only on FIFO
queues, as "true" or "false"). Everything else is moto's method line for line
(local/tests/test_moto_sqs.py sends through both and compares). Written so that it can go
upstream as it is; until then, `install()` puts it in place of moto's method for this process.
"""

from __future__ import annotations

import hashlib
import string
from typing import Any

from moto.moto_api._internal import mock_random as random
from moto.sqs.exceptions import InvalidParameterValue
from moto.sqs.models import MAXIMUM_MESSAGE_DELAY, Message, Queue, SQSBackend

# moto's own method, kept for comparison tests and for `uninstall()`.
MOTO_SEND_MESSAGE = SQSBackend.send_message


def _content_based_deduplication(queue: Queue) -> str | None:
    if not queue.fifo_queue:
        return None
    value = queue.content_based_deduplication  # type: ignore[attr-defined]
    return str(value).lower() if isinstance(value, bool) else value


# moto's method body, kept as it is so that the change reads as a one-line diff.
def send_message(  # noqa: PLR0917 - moto's signature
    self: SQSBackend,
    queue_name: str,
    message_body: str,
    message_attributes: dict[str, Any] | None = None,
    delay_seconds: int | None = None,
    deduplication_id: str | None = None,
    group_id: str | None = None,
    system_attributes: dict[str, Any] | None = None,
    validate_group_id: bool = True,
) -> Message:
    queue = self.get_queue(queue_name)

    self._validate_message(
        queue,
        message_body=message_body,
        delay_seconds=int(delay_seconds or 0),
        deduplication_id=deduplication_id,
        group_id=group_id,
        validate_group_id=validate_group_id,
    )

    if delay_seconds is not None:  # noqa: SIM108 - moto's lines
        delay_seconds = int(delay_seconds)
    else:
        delay_seconds = queue.delay_seconds  # type: ignore[attr-defined]

    message_id = str(random.uuid4())
    message = Message(message_id, message_body, system_attributes)

    # if content based deduplication is set then set sha256 hash of the message
    # as the deduplication_id
    if _content_based_deduplication(queue) == "true":  # the one change: not queue.attributes.get(...)
        sha256 = hashlib.sha256()
        sha256.update(message_body.encode("utf-8"))
        message.deduplication_id = sha256.hexdigest()

    # Attributes, but not *message* attributes
    if deduplication_id is not None:
        message.deduplication_id = deduplication_id
        message.sequence_number = "".join(random.choice(string.digits) for _ in range(20))

    if group_id is not None:
        message.group_id = group_id

    if message_attributes:
        message.message_attributes = message_attributes

    if delay_seconds > MAXIMUM_MESSAGE_DELAY:
        msg = f"Value {delay_seconds} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900."
        raise InvalidParameterValue(msg)

    message.mark_sent(delay_seconds=delay_seconds)

    queue.add_message(message)

    return message


def install() -> None:
    """Use this SendMessage in every moto SQS backend of this process."""
    SQSBackend.send_message = send_message  # type: ignore[method-assign]


def uninstall() -> None:
    SQSBackend.send_message = MOTO_SEND_MESSAGE  # type: ignore[method-assign]
