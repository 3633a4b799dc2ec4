"""The simulated carrier's pure planning: lifecycles by last digit, callback order, bodies, tracking.

Each recipient's lifecycle comes from the last digit of its number (the contract's simulated
carrier table, `LIFECYCLES`). Nothing here does I/O, so tests check it directly.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from voice_status.statuses import MessageStatus
from voice_status.timeutil import to_iso

S = MessageStatus
# CONTRACT.md section 5: callbacks sent, by the last digit of the number.
LIFECYCLES: dict[int, tuple[MessageStatus, ...]] = {
    **dict.fromkeys((0, 1, 2, 3), (S.QUEUED, S.INITIATED, S.RINGING, S.IN_PROGRESS, S.COMPLETED)),
    4: (S.QUEUED, S.INITIATED, S.RINGING, S.BUSY),
    5: (S.QUEUED, S.INITIATED, S.RINGING, S.NO_ANSWER),
    6: (S.QUEUED, S.INITIATED, S.FAILED),
    7: (S.QUEUED, S.UNSENT),
    8: (S.QUEUED, S.INITIATED, S.RINGING, S.IN_PROGRESS, S.TERMINATED),
    9: (S.QUEUED, S.INITIATED, S.UNKNOWN),  # then silence; tracking says Completed
}
# What tracking reports when the callbacks stop short of a final status.
SILENT_ENDINGS: dict[int, MessageStatus] = {9: S.COMPLETED}

DEFAULT_DUPLICATE_RATE = 0.05
DEFAULT_REORDER_RATE = 0.05
DEFAULT_MAX_DELAY_SECONDS = 0.2
MAX_RECIPIENTS = 1000
PRICE_PER_MINUTE = 0.021
OPERATOR = "Simulated Carrier"
_COUNTRY_BY_PREFIX = {"+30": "GR", "+44": "GB", "+49": "DE", "+1": "US"}


def last_digit(number: str) -> int:
    digits = [character for character in number if character.isdigit()]
    if not digits:
        raise ValueError(f"{number!r} has no digits")
    return int(digits[-1])


def lifecycle_for(number: str) -> tuple[MessageStatus, ...]:
    """The statuses the carrier reports by callback for this number, in order."""
    return LIFECYCLES[last_digit(number)]


def tracked_final_status(number: str) -> MessageStatus:
    """The final status the tracking API reports for this number."""
    digit = last_digit(number)
    return SILENT_ENDINGS.get(digit, LIFECYCLES[digit][-1])


def expected_outcome(recipients: Iterable[str]) -> dict[str, int]:
    """Final status -> count for these recipients (duplicates counted once, as a campaign does),
    once reconciliation has run: a number ending in 9 counts as Completed."""
    counts = Counter(str(tracked_final_status(number)) for number in dict.fromkeys(recipients))
    return dict(sorted(counts.items()))


@dataclass(frozen=True)
class PlannedStatus:
    status: MessageStatus
    at: datetime  # provider time, strictly increasing within a message


@dataclass(frozen=True)
class MessagePlan:
    message_id: str
    to: str
    created_at: datetime
    callbacks: tuple[PlannedStatus, ...]  # what the callbacks report, in lifecycle order
    tracked: PlannedStatus  # what tracking reports (final)
    duration: int  # seconds, on the final status (Completed: > 0)
    price: float  # on the final status


def _call_figures(final: MessageStatus, rng: random.Random) -> tuple[int, float]:
    if final is S.COMPLETED:
        duration = rng.randint(5, 90)
    elif final is S.TERMINATED:
        duration = rng.randint(1, 30)
    else:
        duration = 0
    return duration, round(PRICE_PER_MINUTE * math.ceil(duration / 60), 4)


def plan_message(
    to: str,
    created_at: datetime,
    rng: random.Random,
    *,
    message_id: str | None = None,
    step_seconds: float = 0.2,
) -> MessagePlan:
    """One message's callbacks with provider times, and its tracking record's final status."""
    statuses = lifecycle_for(to)
    tracked_status = tracked_final_status(to)
    # A lifecycle that stops short of a final status (9) still ends, later, in tracking.
    timeline = statuses if tracked_status in statuses else (*statuses, tracked_status)
    moment = created_at
    timed: list[PlannedStatus] = []
    for status in timeline:
        # Whole milliseconds, at least 1 ms apart: ISO strings (ms precision) stay strictly ordered.
        moment += timedelta(milliseconds=1 + int(rng.uniform(0, step_seconds) * 1000))
        timed.append(PlannedStatus(status, moment))
    duration, price = _call_figures(tracked_status, rng)
    return MessagePlan(
        message_id=message_id or str(uuid.uuid4()),
        to=to,
        created_at=created_at,
        callbacks=tuple(timed[: len(statuses)]),
        tracked=timed[-1],
        duration=duration,
        price=price,
    )


@dataclass(frozen=True)
class Delivery:
    index: int  # which of the message's callbacks
    duplicate: bool = False  # a repeat of a callback already planned
    out_of_order: bool = False  # sent before a callback that precedes it


def plan_deliveries(
    count: int, duplicate_rate: float, reorder_rate: float, rng: random.Random
) -> list[Delivery]:
    """The order in which a message's `count` callbacks go out.

    Each callback is repeated with probability `duplicate_rate` (the copy right after it);
    each adjacent pair of different callbacks is swapped with probability `reorder_rate`
    (a swapped pair is not swapped again, so about that share of callbacks is out of order).
    """
    order: list[Delivery] = []
    for index in range(count):
        order.append(Delivery(index))
        if rng.random() < duplicate_rate:
            order.append(Delivery(index, duplicate=True))
    position = 1
    while position < len(order):
        earlier, later = order[position - 1], order[position]
        if later.index != earlier.index and rng.random() < reorder_rate:
            order[position - 1] = replace(later, out_of_order=True)
            order[position] = earlier
            position += 2
        else:
            position += 1
    return order


@dataclass(frozen=True)
class CampaignRecord:
    tracking_id: str
    name: str
    from_number: str
    created_at: datetime
    callback_url: str | None
    message: dict[str, Any] | None
    file_url: str | None
    plans: tuple[MessagePlan, ...]


def _country(number: str) -> str | None:
    return next((code for prefix, code in _COUNTRY_BY_PREFIX.items() if number.startswith(prefix)), None)


def callback_body(campaign: CampaignRecord, plan: MessagePlan, index: int) -> dict[str, Any]:
    """The callback JSON Routee POSTs for the message's `index`-th status (status.name/updatedDate)."""
    reported = plan.callbacks[index]
    final = reported.status.is_final
    body: dict[str, Any] = {
        "messageId": plan.message_id,
        "campaignTrackingId": campaign.tracking_id,
        "campaignName": campaign.name,
        "to": plan.to,
        "from": campaign.from_number,
        "country": _country(plan.to),
        "operator": OPERATOR,
        "groups": [],
        "applicationName": "default",
        "originatingService": "Voice",
        "direction": "Outbound",
        "status": {"name": str(reported.status), "updatedDate": to_iso(reported.at)},
        "price": plan.price if final else 0.0,
        "duration": plan.duration if final else 0,
        "chargeInterval": 60,
        "createdAt": to_iso(plan.created_at),
        "hangupDelay": 0,
        "respectQuietHours": False,
    }
    if campaign.message is not None:
        body["audioMessage"] = campaign.message
    else:
        body["fileURL"] = campaign.file_url
    return body


def tracking_record(campaign: CampaignRecord, plan: MessagePlan) -> dict[str, Any]:
    """The tracking API's record of a message (status.status/date).

    It reports the final status straight away: the simulation knows how each call ends, and
    reconciliation only asks after the campaign's completion timeout.
    """
    return {
        "messageId": plan.message_id,
        "campaignTrackingId": campaign.tracking_id,
        "to": plan.to,
        "from": campaign.from_number,
        "status": {"status": str(plan.tracked.status), "date": to_iso(plan.tracked.at)},
        "price": plan.price,
        "duration": plan.duration,
        "createdAt": to_iso(plan.created_at),
    }


def tracking_page(records: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
    """A Spring-like page, as Routee's tracking API returns them."""
    total_pages = math.ceil(len(records) / size) if records else 0
    content = records[page * size : (page + 1) * size]
    return {
        "content": content,
        "totalElements": len(records),
        "totalPages": total_pages,
        "number": page,
        "size": size,
        "numberOfElements": len(content),
        "first": page == 0,
        "last": page + 1 >= total_pages,
    }
