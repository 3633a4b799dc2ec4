"""A simulated Routee carrier: a real HTTP server speaking Routee's voice API shapes, offline.

Split by job: `planning` (lifecycles by last digit, callback order, bodies, tracking records: pure),
`server` (Routee's paths, request validation, answers), `delivery` (the scheduler that POSTs
callbacks), `__main__` (run it alone: `python -m local.carrier [port]`). `SimulatedCarrier` here
holds the state (tokens, campaigns, plans) and ties them together.

Like a real network the carrier repeats some callbacks, swaps some of a message's callbacks, adds
small delays, and retries failed POSTs with backoff.
"""

from __future__ import annotations

import base64
import os
import random
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from local.carrier.delivery import CallbackScheduler, CarrierCounters, DeliverySettings
from local.carrier.planning import (
    DEFAULT_DUPLICATE_RATE,
    DEFAULT_MAX_DELAY_SECONDS,
    DEFAULT_REORDER_RATE,
    LIFECYCLES,
    MAX_RECIPIENTS,
    PRICE_PER_MINUTE,
    SILENT_ENDINGS,
    CampaignRecord,
    Delivery,
    MessagePlan,
    PlannedStatus,
    callback_body,
    expected_outcome,
    last_digit,
    lifecycle_for,
    plan_deliveries,
    plan_message,
    tracked_final_status,
    tracking_page,
    tracking_record,
)
from local.carrier.server import (
    CarrierError,
    CarrierHTTPServer,
    CarrierRequestHandler,
    campaign_fields,
    int_param,
)
from voice_status.timeutil import to_iso, utc_now

__all__ = [
    "LIFECYCLES",
    "MAX_RECIPIENTS",
    "PRICE_PER_MINUTE",
    "SILENT_ENDINGS",
    "CampaignRecord",
    "CarrierCounters",
    "Delivery",
    "MessagePlan",
    "PlannedStatus",
    "SimulatedCarrier",
    "callback_body",
    "expected_outcome",
    "last_digit",
    "lifecycle_for",
    "plan_deliveries",
    "plan_message",
    "tracked_final_status",
    "tracking_page",
    "tracking_record",
]


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


def _rate(value: float, name: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value}")
    return value


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
        self.token_ttl_seconds = token_ttl_seconds
        self._credentials = credentials  # None: any non-empty Basic credentials are accepted
        self._host, self._port = host, port
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # planning, tokens, records, counters
        self._wakeup = threading.Condition(self._lock)
        self._counters = CarrierCounters()
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self._campaigns: dict[str, CampaignRecord] = {}
        self._messages: dict[str, tuple[CampaignRecord, MessagePlan]] = {}
        settings = DeliverySettings(
            duplicate_rate=self.duplicate_rate,
            reorder_rate=self.reorder_rate,
            max_delay_seconds=self.max_delay_seconds,
            workers=max(1, workers),
            attempts=max(1, delivery_attempts),
            retry_base_delay_seconds=retry_base_delay_seconds,
            timeout_seconds=callback_timeout_seconds,
        )
        self._scheduler = CallbackScheduler(settings, self._wakeup, self._counters, self._rng)
        self._server: CarrierHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SimulatedCarrier:
        if self._server is not None:
            return self
        server = CarrierHTTPServer((self._host, self._port), CarrierRequestHandler)
        server.carrier = self
        self._server = server
        self._scheduler.start()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="carrier-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; callbacks not yet sent are dropped."""
        server, self._server = self._server, None
        if server is None:
            return
        self._scheduler.stop()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

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
            return self._scheduler.pending

    def idle(self) -> bool:
        """True when every planned callback was delivered (or given up)."""
        return self.pending_callbacks == 0

    def wait_idle(self, timeout: float) -> bool:
        """Wait until idle(); False if `timeout` seconds pass first."""
        return self._scheduler.wait_idle(timeout)

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
            raise CarrierError(HTTPStatus.BAD_REQUEST, "grant_type must be client_credentials")
        if not self._basic_ok(authorization):
            raise CarrierError(
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
            raise CarrierError(HTTPStatus.UNAUTHORIZED, "a valid Bearer access token is required")

    def create_campaign(self, body: Any) -> dict[str, Any]:
        request = campaign_fields(body)
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
                    self._scheduler.plan(campaign, plan)
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
        page, size = int_param(query, "page", 0, 0), int_param(query, "size", 20, 1)
        with self._lock:
            self._counters.tracking_requests += 1
            campaign = self._campaigns.get(tracking_id)
        if campaign is None:
            raise CarrierError(HTTPStatus.NOT_FOUND, f"no campaign with trackingId {tracking_id}")
        records = [tracking_record(campaign, plan) for plan in campaign.plans]
        return tracking_page(records, page, min(size, 1000))

    def track_message(self, message_id: str) -> dict[str, Any]:
        with self._lock:
            self._counters.tracking_requests += 1
            found = self._messages.get(message_id)
        if found is None:
            raise CarrierError(HTTPStatus.NOT_FOUND, f"no message with id {message_id}")
        return tracking_record(*found)

    def count_rejection(self) -> None:
        with self._lock:
            self._counters.rejected_requests += 1

    # --- callback delivery -------------------------------------------------------------------
