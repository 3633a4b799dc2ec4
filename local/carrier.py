"""A simulated Routee carrier: a real HTTP server speaking Routee's voice API shapes, offline.

Endpoints (same paths and bodies as Routee, see tests/fixtures/routee/):
  POST /oauth/token                              Basic auth, form grant_type=client_credentials
  POST /voice/campaign                           Bearer; <= 1000 `to`; answers trackingId, state, ...
  GET  /voice/tracking/campaign/{id}?page&size   Bearer; Spring-like pages of tracking records
  GET  /voice/tracking/{messageId}               Bearer; one tracking record

Each recipient's lifecycle comes from the last digit of its number (CONTRACT.md section 5,
`LIFECYCLES`). Callbacks are real HTTP POSTs to the submission's callback URL, delivered by a
scheduler thread and a bounded worker pool; like a real network the carrier repeats some
callbacks, swaps some of a message's callbacks, adds small delays, and retries failed POSTs
with backoff. The pure planning (`lifecycle_for`, `plan_message`, `plan_deliveries`,
`callback_body`, `tracking_record`, `tracking_page`) is separate from the server so tests can
check it directly.

Run alone: `python -m local.carrier [port]`.
"""

from __future__ import annotations

import base64
import contextlib
import heapq
import itertools
import json
import math
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from voice_status.statuses import MessageStatus
from voice_status.timeutil import to_iso, utc_now

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


# --- pure planning ----------------------------------------------------------------------------


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


# --- the server -------------------------------------------------------------------------------


@dataclass
class CarrierCounters:
    tokens_issued: int = 0
    campaigns: int = 0
    messages: int = 0
    callbacks_planned: int = 0  # POSTs to make, repeats included
    callbacks_duplicated: int = 0
    callbacks_reordered: int = 0
    callbacks_delivered: int = 0  # answered 2xx
    delivery_failures: int = 0  # attempts that failed (non-2xx or no connection)
    callbacks_abandoned: int = 0  # failed every attempt
    tracking_requests: int = 0
    rejected_requests: int = 0  # 4xx answers of the carrier itself


@dataclass
class _Job:
    """The remaining callbacks of one message, sent one after the other in planned order."""

    campaign: CampaignRecord
    plan: MessagePlan
    deliveries: list[Delivery]
    position: int = 0
    attempt: int = 1


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _rate(value: float, name: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return value


class _CarrierError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class SimulatedCarrier:
    """The simulated Routee carrier. `start()` it, point ROUTEE_AUTH_URL / ROUTEE_API_URL at
    `auth_url` / `url` (see `provider_environment()`), `wait_idle()` for callbacks, `stop()` it.

    Rates and the delay default to env SIMULATED_DUPLICATE_RATE, SIMULATED_REORDER_RATE and
    SIMULATED_MAX_DELAY_SECONDS, else 0.05, 0.05 and 0.2 s; arguments given win over both.
    `seed` makes planning (lifecycle times, durations, repeats, swaps, delays) reproducible.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        duplicate_rate: float | None = None,
        reorder_rate: float | None = None,
        max_delay_seconds: float | None = None,
        seed: int | None = None,
        workers: int = 8,
        delivery_attempts: int = 5,
        retry_base_delay_seconds: float = 0.5,
        callback_timeout_seconds: float = 5.0,
        token_ttl_seconds: int = 3600,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self.duplicate_rate = _rate(
            duplicate_rate
            if duplicate_rate is not None
            else _env_float("SIMULATED_DUPLICATE_RATE", DEFAULT_DUPLICATE_RATE),
            "duplicate_rate",
        )
        self.reorder_rate = _rate(
            reorder_rate
            if reorder_rate is not None
            else _env_float("SIMULATED_REORDER_RATE", DEFAULT_REORDER_RATE),
            "reorder_rate",
        )
        self.max_delay_seconds = max(
            0.0,
            max_delay_seconds
            if max_delay_seconds is not None
            else _env_float("SIMULATED_MAX_DELAY_SECONDS", DEFAULT_MAX_DELAY_SECONDS),
        )
        self.delivery_attempts = max(1, delivery_attempts)
        self.retry_base_delay_seconds = retry_base_delay_seconds
        self.callback_timeout_seconds = callback_timeout_seconds
        self.token_ttl_seconds = token_ttl_seconds
        self._credentials = credentials  # None: any non-empty Basic credentials are accepted
        self._host, self._port = host, port
        self._workers = max(1, workers)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # planning, tokens, records, counters
        self._counters = CarrierCounters()
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self._campaigns: dict[str, CampaignRecord] = {}
        self._messages: dict[str, tuple[CampaignRecord, MessagePlan]] = {}
        self._schedule: list[tuple[float, int, _Job]] = []
        self._sequence = itertools.count()
        self._pending = 0  # callback POSTs planned and not yet delivered or abandoned
        self._wakeup = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._executor: ThreadPoolExecutor | None = None
        self._stopping = False

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SimulatedCarrier:
        if self._server is not None:
            return self
        server = _CarrierHTTPServer((self._host, self._port), _Handler)
        server.carrier = self  # type: ignore[attr-defined]
        self._server = server
        self._stopping = False
        self._executor = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="carrier-callback")
        self._threads = [
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="carrier-http", daemon=True
            ),
            threading.Thread(target=self._run_schedule, name="carrier-schedule", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; callbacks not yet sent are dropped."""
        server, self._server = self._server, None
        if server is None:
            return
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify_all()
        server.shutdown()
        server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> SimulatedCarrier:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL of the API (ROUTEE_API_URL)."""
        if self._server is None:
            raise RuntimeError("the carrier is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def auth_url(self) -> str:
        """Token endpoint (ROUTEE_AUTH_URL)."""
        return f"{self.url}/oauth/token"

    def provider_environment(self) -> dict[str, str]:
        """The environment that points the Routee client at this carrier."""
        return {"VOICE_PROVIDER": "simulated", "ROUTEE_AUTH_URL": self.auth_url, "ROUTEE_API_URL": self.url}

    expected_outcome = staticmethod(expected_outcome)

    # --- observation -------------------------------------------------------------------------

    @property
    def counters(self) -> CarrierCounters:
        with self._lock:
            return replace(self._counters)

    @property
    def pending_callbacks(self) -> int:
        with self._lock:
            return self._pending

    def idle(self) -> bool:
        """True when every planned callback was delivered (or given up)."""
        return self.pending_callbacks == 0

    def wait_idle(self, timeout: float) -> bool:
        """Wait until idle(); False if `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._wakeup:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wakeup.wait(remaining)
            return True

    def campaign(self, tracking_id: str) -> CampaignRecord | None:
        with self._lock:
            return self._campaigns.get(tracking_id)

    def revoke_tokens(self) -> None:
        """Forget every issued token, so the next API call gets 401 (tests token refresh)."""
        with self._lock:
            self._tokens.clear()

    # --- API (called by the request handler) -------------------------------------------------

    def issue_token(self, authorization: str | None, form: Mapping[str, list[str]]) -> dict[str, Any]:
        if form.get("grant_type") != ["client_credentials"]:
            raise _CarrierError(HTTPStatus.BAD_REQUEST, "grant_type must be client_credentials")
        if not self._basic_ok(authorization):
            raise _CarrierError(
                HTTPStatus.UNAUTHORIZED, "Basic authentication with application credentials required"
            )
        token = uuid.uuid4().hex
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl_seconds
            self._counters.tokens_issued += 1
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": self.token_ttl_seconds,
            "scope": "voice",
        }

    def _basic_ok(self, authorization: str | None) -> bool:
        scheme, _, encoded = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            application_id, colon, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except ValueError:
            return False
        if not (colon and application_id and secret):
            return False
        return self._credentials is None or (application_id, secret) == self._credentials

    def check_bearer(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        with self._lock:
            expiry = self._tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is None or time.monotonic() >= expiry:
            raise _CarrierError(HTTPStatus.UNAUTHORIZED, "a valid Bearer access token is required")

    def create_campaign(self, body: Any) -> dict[str, Any]:
        request = _campaign_fields(body)
        created_at = utc_now()
        tracking_id = str(uuid.uuid4())
        with self._wakeup:
            plans = tuple(
                plan_message(number, created_at, self._rng, step_seconds=max(self.max_delay_seconds, 0.01))
                for number in request["to"]
            )
            campaign = CampaignRecord(
                tracking_id=tracking_id,
                name=request["name"],
                from_number=request["from"],
                created_at=created_at,
                callback_url=request["callback_url"],
                message=request["message"],
                file_url=request["file_url"],
                plans=plans,
            )
            self._campaigns[tracking_id] = campaign
            for plan in plans:
                self._messages[plan.message_id] = (campaign, plan)
            self._counters.campaigns += 1
            self._counters.messages += len(plans)
            if campaign.callback_url:
                for plan in plans:
                    self._plan_job(campaign, plan)
            self._wakeup.notify_all()
        return {
            "trackingId": tracking_id,
            "name": campaign.name,
            "from": campaign.from_number,
            "state": "Queued",
            "statuses": {"Queued": len(plans)},
            "createdAt": to_iso(created_at),
        }

    def track_campaign(self, tracking_id: str, query: Mapping[str, list[str]]) -> dict[str, Any]:
        page, size = _int_param(query, "page", 0, 0), _int_param(query, "size", 20, 1)
        with self._lock:
            self._counters.tracking_requests += 1
            campaign = self._campaigns.get(tracking_id)
        if campaign is None:
            raise _CarrierError(HTTPStatus.NOT_FOUND, f"no campaign with trackingId {tracking_id}")
        records = [tracking_record(campaign, plan) for plan in campaign.plans]
        return tracking_page(records, page, min(size, 1000))

    def track_message(self, message_id: str) -> dict[str, Any]:
        with self._lock:
            self._counters.tracking_requests += 1
            found = self._messages.get(message_id)
        if found is None:
            raise _CarrierError(HTTPStatus.NOT_FOUND, f"no message with id {message_id}")
        return tracking_record(*found)

    def count_rejection(self) -> None:
        with self._lock:
            self._counters.rejected_requests += 1

    # --- callback delivery -------------------------------------------------------------------

    def _plan_job(self, campaign: CampaignRecord, plan: MessagePlan) -> None:
        # Caller holds the lock.
        deliveries = plan_deliveries(len(plan.callbacks), self.duplicate_rate, self.reorder_rate, self._rng)
        self._pending += len(deliveries)
        self._counters.callbacks_planned += len(deliveries)
        self._counters.callbacks_duplicated += sum(delivery.duplicate for delivery in deliveries)
        self._counters.callbacks_reordered += sum(delivery.out_of_order for delivery in deliveries)
        self._push(_Job(campaign, plan, deliveries), self._rng.uniform(0, self.max_delay_seconds))

    def _push(self, job: _Job, delay: float) -> None:
        # Caller holds the lock.
        heapq.heappush(self._schedule, (time.monotonic() + delay, next(self._sequence), job))
        self._wakeup.notify_all()

    def _run_schedule(self) -> None:
        with self._wakeup:
            while not self._stopping:
                now = time.monotonic()
                if self._schedule and self._schedule[0][0] <= now:
                    job = heapq.heappop(self._schedule)[2]
                    if self._executor is not None:
                        self._executor.submit(self._deliver, job)
                    continue
                self._wakeup.wait(self._schedule[0][0] - now if self._schedule else None)

    def _deliver(self, job: _Job) -> None:
        delivery = job.deliveries[job.position]
        body = callback_body(job.campaign, job.plan, delivery.index)
        try:
            response = requests.post(
                str(job.campaign.callback_url), json=body, timeout=self.callback_timeout_seconds
            )
            delivered = 200 <= response.status_code < 300
            response.close()
        except requests.RequestException:
            delivered = False
        with self._wakeup:
            if self._stopping:
                return
            if delivered:
                self._counters.callbacks_delivered += 1
            else:
                self._counters.delivery_failures += 1
                if job.attempt < self.delivery_attempts:
                    # Like Routee: retry later with exponential backoff.
                    delay = self.retry_base_delay_seconds * 2 ** (job.attempt - 1)
                    job.attempt += 1
                    self._push(job, delay)
                    return
                self._counters.callbacks_abandoned += 1
            job.position += 1
            job.attempt = 1
            self._pending -= 1
            if job.position < len(job.deliveries):
                self._push(job, self._rng.uniform(0, self.max_delay_seconds))
            self._wakeup.notify_all()


def _int_param(query: Mapping[str, list[str]], name: str, default: int, minimum: int) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[0])
    except ValueError:
        raise _CarrierError(HTTPStatus.BAD_REQUEST, f"{name} must be an integer") from None
    if value < minimum:
        raise _CarrierError(HTTPStatus.BAD_REQUEST, f"{name} must be at least {minimum}")
    return value


def _campaign_fields(body: Any) -> dict[str, Any]:
    """Validate POST /voice/campaign the way Routee documents it; 400 otherwise."""

    def bad(message: str) -> _CarrierError:
        return _CarrierError(HTTPStatus.BAD_REQUEST, message)

    if not isinstance(body, dict):
        raise bad("body must be a JSON object")
    sender, recipients, name = body.get("from"), body.get("to"), body.get("name")
    if not isinstance(sender, str) or not sender:
        raise bad("from is required")
    if not isinstance(recipients, list) or not recipients or not all(isinstance(n, str) for n in recipients):
        raise bad("to must be a non-empty list of numbers")
    if len(recipients) > MAX_RECIPIENTS:
        raise bad(f"to holds at most {MAX_RECIPIENTS} numbers")
    try:
        for number in recipients:
            last_digit(number)
    except ValueError as error:
        raise bad(str(error)) from None
    if not isinstance(name, str) or not 2 <= len(name) <= 30:
        raise bad("name must be 2 to 30 characters")
    message, file_url = body.get("message"), body.get("fileURL")
    if (message is None) == (file_url is None):
        raise bad("exactly one of message and fileURL is required")
    if message is not None and (
        not isinstance(message, dict)
        or not isinstance(message.get("text"), str)
        or len(message["text"]) > 1000
    ):
        raise bad("message.text is required, at most 1000 characters")
    callback = body.get("callback")
    callback_url, strategy = None, "OnChange"
    if callback is not None:
        if not isinstance(callback, dict) or not isinstance(callback.get("url"), str):
            raise bad("callback.url is required")
        callback_url, strategy = callback["url"], callback.get("strategy", "OnChange")
        if strategy != "OnChange":
            # The simulation sends every status change; a final-only strategy is not simulated.
            raise bad("the simulated carrier supports callback strategy OnChange only")
    return {
        "from": sender,
        "to": recipients,
        "name": name,
        "message": message,
        "file_url": file_url,
        "callback_url": callback_url,
        "strategy": strategy,
    }


class _CarrierHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops connections under load (1 s SYN retries)


class _Handler(BaseHTTPRequestHandler):
    server_version = "SimulatedRoutee/1.0"

    @property
    def carrier(self) -> SimulatedCarrier:
        return self.server.carrier  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test and demo output clean

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path == "/oauth/token":
            form = parse_qs(self._body().decode("utf-8", "replace"))
            self._answer(lambda: self.carrier.issue_token(self.headers.get("Authorization"), form))
        elif path == "/voice/campaign":
            self._answer(lambda: self._authorized(lambda: self.carrier.create_campaign(self._json_body())))
        else:
            self._send(HTTPStatus.NOT_FOUND, {"developerMessage": f"no route POST {path}"})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        segments = [segment for segment in parts.path.split("/") if segment]
        query = parse_qs(parts.query)
        if segments[:3] == ["voice", "tracking", "campaign"] and len(segments) == 4:
            self._answer(lambda: self._authorized(lambda: self.carrier.track_campaign(segments[3], query)))
        elif segments[:2] == ["voice", "tracking"] and len(segments) == 3:
            self._answer(lambda: self._authorized(lambda: self.carrier.track_message(segments[2])))
        else:
            self._send(HTTPStatus.NOT_FOUND, {"developerMessage": f"no route GET {parts.path}"})

    def _authorized(self, action: Any) -> Any:
        self.carrier.check_bearer(self.headers.get("Authorization"))
        return action()

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> Any:
        try:
            return json.loads(self._body() or b"null")
        except ValueError:
            raise _CarrierError(HTTPStatus.BAD_REQUEST, "body is not JSON") from None

    def _answer(self, action: Any) -> None:
        try:
            result = action()
        except _CarrierError as error:
            self.carrier.count_rejection()
            self._send(error.status, {"code": str(error.status.value), "developerMessage": str(error)})
            return
        self._send(HTTPStatus.OK, result)

    def _send(self, status: HTTPStatus, body: Any) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main(argv: list[str]) -> None:
    port = int(argv[1]) if len(argv) > 1 else 0
    with SimulatedCarrier(port=port) as carrier:
        print(f"simulated carrier on {carrier.url} (token: {carrier.auth_url}); Ctrl-C stops it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv)
