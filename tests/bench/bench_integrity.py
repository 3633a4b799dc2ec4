"""What campaign integrity costs, and reconciliation at full size.

1. Dispatch: the DynamoDB write requests and write units that one chunk of 1,000 recipients
   costs, counted on the store's client while the product's own dispatch step runs. Units are
   computed from the items' sizes (DynamoDB rounds each item up to 1 KB; the index gsi1 holds a
   copy of each message, so each message costs its units twice).
2. Reconciliation of a 100,000-recipient campaign with 10% of its messages not final when the
   completion timeout fires, through the real state machine in moto: Reconcile invocations,
   execution history events, tracking requests, and wall time. `BENCH_RECONCILE_SIZE` changes
   the size (the 90% final are recorded first, with the callbacks' own code: that takes a while).
"""

from __future__ import annotations

import logging
import math
import os
import time
import warnings
from collections import Counter
from typing import Any

from tests.bench.support import in_memory_stack
from tests.conftest import TestStack
from tests.workflow import support
from voice_status.campaign import service
from voice_status.campaign.store import CampaignStore
from voice_status.campaign.workflow import StepBudget
from voice_status.providers import SilentProvider
from voice_status.reports import StatusReport

WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}
HISTORY_LIMIT = 25_000


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings and numbers by their text)."""

    def value_size(value: dict[str, Any]) -> int:
        kind, inner = next(iter(value.items()))
        if kind in ("S", "N", "B"):
            return len(str(inner).encode())
        if kind == "BOOL" or kind == "NULL":
            return 1
        if kind == "M":
            return 3 + sum(len(name) + value_size(part) for name, part in inner.items())
        if kind == "L":
            return 3 + sum(1 + value_size(part) for part in inner)
        return len(str(inner))

    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


class CountingClient:
    """The store's DynamoDB client, counting write requests and the write units they cost."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.requests: Counter[str] = Counter()
        self.units = 0

    def batch_write_item(self, **request: Any) -> Any:
        self.requests["BatchWriteItem"] += 1
        for writes in request["RequestItems"].values():
            for write in writes:
                if "PutRequest" in write:
                    # The table's copy and the index gsi1's copy.
                    self.units += 2 * math.ceil(_item_size(write["PutRequest"]["Item"]) / 1024)
        return self._client.batch_write_item(**request)

    def __getattr__(self, name: str) -> Any:
        operation = "".join(part.title() for part in name.split("_"))
        if operation in WRITE_OPERATIONS:
            self.requests[operation] += 1
        return getattr(self._client, name)


def dispatch_cost(recipients: int = 1000) -> tuple[Counter[str], int]:
    with in_memory_stack() as (session, stack, functions):
        campaigns = support.Campaigns(TestStack(stack, functions, session))
        campaign_id = campaigns.create(support.recipients(recipients), start=False)
        campaigns.advance(campaign_id, support.CampaignStatus.RUNNING)
        client = CountingClient(session.client("dynamodb"))
        store = CampaignStore(client, stack.outputs["TableName"])
        service.dispatch_step(
            store, SilentProvider(), campaign_id, 0, budget=StepBudget(), remaining_ms=lambda: 900_000
        )
        return client.requests, client.units


def reconcile_at_scale(size: int, pending_share: float = 0.1) -> dict[str, Any]:
    with in_memory_stack(execute_state_machine=True) as (session, stack, functions):
        provider = support.FakeProvider()
        for function in ("DispatchFunction", "ReconcileFunction"):
            functions.module(function).make_provider = lambda: provider  # type: ignore[attr-defined]
        campaigns = support.Campaigns(
            TestStack(stack, functions, session), deadline_seconds=7200, poll_seconds=0.5
        )
        numbers = support.recipients(size)
        pending = set(numbers[:: round(1 / pending_share)])  # spread over every chunk
        store = campaigns.store

        def final_callbacks_arrive(submission: Any, tracking_id: str) -> None:
            # Callbacks beat the provider's answer: 90% of each chunk is final before Sent.
            for number, to in enumerate(submission.recipients):
                if to not in pending:
                    report = {"messageId": support.message_id(tracking_id, number), "to": to}
                    report["status"] = {"name": "Busy", "updatedDate": "2026-11-27T09:01:00Z"}
                    store.record_report(submission.campaign_id, StatusReport.parse(report))

        provider.on_submit = final_callbacks_arrive
        provider.tracking = dict.fromkeys(pending, "Completed")  # tracking finishes the rest
        started = time.monotonic()
        campaign_id = campaigns.create(numbers, completion_timeout_seconds=2)
        sent = campaigns.wait_for_sent(campaign_id)
        assert sent is not None
        prepared = time.monotonic() - started
        campaigns.wait_for_end(campaign_id, "SUCCEEDED")
        events = campaigns.history(campaign_id)
        counts = campaigns.counts(campaign_id)
    reconciles = sum(
        1
        for event in events
        if event["type"] == "TaskStateEntered" and event["stateEnteredEventDetails"]["name"] == "Reconcile"
    )
    return {
        "recipients": size,
        "pending": len(pending),
        "reconcile_invocations": reconciles,
        "tracking_requests": len(provider.tracked),
        "events": len(events),
        "prepare_seconds": prepared,
        "reconcile_seconds": time.monotonic() - started - prepared,
        "counts": counts,
    }


def main() -> None:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    os.environ.update(
        POWERTOOLS_LOG_LEVEL="ERROR",
        POWERTOOLS_METRICS_NAMESPACE="VoiceStatus",
        API_URL="https://api.example.test/dev",
    )
    requests, units = dispatch_cost()
    detail = ", ".join(f"{operation} x{count}" for operation, count in sorted(requests.items()))
    print("Dispatch of one chunk of 1,000 recipients (claim, one message per recipient, submitted):")
    print(
        f"  write requests {sum(requests.values())} ({detail}); message write units {units} (table + index gsi1)"
    )
    size = int(os.environ.get("BENCH_RECONCILE_SIZE", "100000"))
    result = reconcile_at_scale(size)
    print(
        f"Reconciliation of {result['recipients']:,} recipients with {result['pending']:,} not final "
        f"(tracking finishes them): {result['reconcile_invocations']} Reconcile invocations, "
        f"{result['tracking_requests']} tracking requests, {result['events']} history events "
        f"({100 * result['events'] / HISTORY_LIMIT:.1f}% of {HISTORY_LIMIT:,}); "
        f"after Sent {result['reconcile_seconds']:.1f} s (2 s of it the timeout; dispatch and the 90% "
        f"{result['prepare_seconds']:.0f} s) in moto; final counts {result['counts']}"
    )


if __name__ == "__main__":
    main()
