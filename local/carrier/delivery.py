"""The simulated carrier's callback scheduler: real HTTP POSTs of each message's planned callbacks.

One scheduler thread hands due callbacks to a bounded worker pool, no more than it has workers
(a campaign's backlog waits in the schedule, not as queued futures); a message's callbacks go out
one after the other in their planned order (repeats and swaps included), each after a small
random delay; a failed POST is retried with exponential backoff, as Routee does.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

from local.carrier.planning import CampaignRecord, Delivery, MessagePlan, callback_body, plan_deliveries

logger = logging.getLogger("local.carrier")


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


@dataclass(frozen=True)
class DeliverySettings:
    duplicate_rate: float
    reorder_rate: float
    max_delay_seconds: float
    workers: int
    attempts: int
    retry_base_delay_seconds: float
    timeout_seconds: float


class CallbackScheduler:
    """Plans and sends callbacks. Shares the carrier's condition (its lock) and counters."""

    def __init__(
        self,
        settings: DeliverySettings,
        wakeup: threading.Condition,
        counters: CarrierCounters,
        rng: random.Random,
    ) -> None:
        self.settings = settings
        self._wakeup = wakeup
        self._counters = counters
        self._rng = rng
        self._schedule: list[tuple[float, int, _Job]] = []
        self._sequence = itertools.count()
        self.pending = 0  # callback POSTs planned and not yet delivered or abandoned; under the lock
        self._in_flight = 0  # jobs handed to the workers and not yet back; under the lock
        self._executor: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    def start(self) -> None:
        self._stopping = False
        self._executor = ThreadPoolExecutor(
            max_workers=self.settings.workers, thread_name_prefix="carrier-callback"
        )
        self._thread = threading.Thread(target=self._run, name="carrier-schedule", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sending; callbacks not yet sent are dropped, POSTs in flight are not waited for."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._wakeup:
            while self.pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wakeup.wait(remaining)
            return True

    def plan(self, campaign: CampaignRecord, plan: MessagePlan) -> None:
        """Schedule one message's callbacks. Caller holds the lock."""
        settings = self.settings
        deliveries = plan_deliveries(
            len(plan.callbacks), settings.duplicate_rate, settings.reorder_rate, self._rng
        )
        self.pending += len(deliveries)
        self._counters.callbacks_planned += len(deliveries)
        self._counters.callbacks_duplicated += sum(delivery.duplicate for delivery in deliveries)
        self._counters.callbacks_reordered += sum(delivery.out_of_order for delivery in deliveries)
        self._push(_Job(campaign, plan, deliveries), self._rng.uniform(0, settings.max_delay_seconds))

    def _push(self, job: _Job, delay: float) -> None:
        # Caller holds the lock.
        heapq.heappush(self._schedule, (time.monotonic() + delay, next(self._sequence), job))
        self._wakeup.notify_all()

    def _run(self) -> None:
        with self._wakeup:
            while not self._stopping:
                now = time.monotonic()
                if self._in_flight >= self.settings.workers or not self._schedule:
                    self._wakeup.wait()  # until a worker is free or a job is planned
                elif self._schedule[0][0] <= now:
                    job = heapq.heappop(self._schedule)[2]
                    if self._executor is not None:
                        self._in_flight += 1
                        self._executor.submit(self._deliver, job)
                else:
                    self._wakeup.wait(self._schedule[0][0] - now)

    def _deliver(self, job: _Job) -> None:
        delivery = job.deliveries[job.position]
        try:
            body = callback_body(job.campaign, job.plan, delivery.index)
            response = requests.post(
                str(job.campaign.callback_url), json=body, timeout=self.settings.timeout_seconds
            )
            delivered = 200 <= response.status_code < 300
            response.close()
        except requests.RequestException:
            delivered = False
        except Exception:  # a bug here must not lose the job, nor keep its worker slot taken
            logger.exception("Simulated carrier: callback not delivered; retrying it like a failed one")
            delivered = False
        with self._wakeup:
            self._in_flight -= 1
            self._wakeup.notify_all()
            if self._stopping:
                return
            if delivered:
                self._counters.callbacks_delivered += 1
            else:
                self._counters.delivery_failures += 1
                if job.attempt < self.settings.attempts:
                    # Like Routee: retry later with exponential backoff.
                    delay = self.settings.retry_base_delay_seconds * 2 ** (job.attempt - 1)
                    job.attempt += 1
                    self._push(job, delay)
                    return
                self._counters.callbacks_abandoned += 1
            job.position += 1
            job.attempt = 1
            self.pending -= 1
            if job.position < len(job.deliveries):
                self._push(job, self._rng.uniform(0, self.settings.max_delay_seconds))
            self._wakeup.notify_all()
