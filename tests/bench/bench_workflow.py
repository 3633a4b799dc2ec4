"""Workflow size: execution history events per campaign, for 10, 10,000 and 100,000 recipients.

Step Functions Standard fails an execution at 25,000 history events and bills per state
transition, so the campaign workflow must not grow with the number of recipients. Each campaign
runs through the real state machine in moto with the `silent` provider (accepts every chunk,
sends nothing, tracks nothing): it dispatches, times out waiting for completion after 1 s,
reconciles (nothing to find) and ends Failed. That is the longest path a campaign takes.

Measured twice: with Dispatch's default budget (as many chunks per call as its 15-minute time
budget allows) and with DISPATCH_MAX_CHUNKS_PER_INVOCATION=1, the worst case, where the loop
runs once per chunk of 1000 recipients.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from typing import Any

from tests.bench.support import in_memory_stack
from tests.conftest import TestStack
from tests.workflow import support

SIZES = (10, 10_000, 100_000)
HISTORY_LIMIT = 25_000
CHUNK_SIZE = 1000


def _environment() -> None:
    # The interpreter logs every Fail state as an error; this benchmark ends each campaign Failed.
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    for name, value in {
        "POWERTOOLS_METRICS_NAMESPACE": "VoiceStatus",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "API_URL": "https://api.example.test/dev",
    }.items():
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)


def measure(size: int, chunks_per_call: int | None) -> dict[str, Any]:
    """Run one campaign of `size` recipients to its end; its history size and Dispatch calls."""
    if chunks_per_call is None:
        os.environ.pop("DISPATCH_MAX_CHUNKS_PER_INVOCATION", None)
    else:
        os.environ["DISPATCH_MAX_CHUNKS_PER_INVOCATION"] = str(chunks_per_call)
    with in_memory_stack(execute_state_machine=True) as (session, created, functions):
        campaigns = support.Campaigns(
            TestStack(created, functions, session), deadline_seconds=600, poll_seconds=0.5
        )
        started = time.monotonic()
        campaign_id = campaigns.create(
            support.recipients(size), chunk_size=CHUNK_SIZE, completion_timeout_seconds=1
        )
        execution = campaigns.wait_for_end(campaign_id, "FAILED")
        events = campaigns.history(campaign_id)
    dispatches = sum(
        1
        for event in events
        if event["type"] == "TaskStateEntered" and event["stateEnteredEventDetails"]["name"] == "Dispatch"
    )
    return {
        "recipients": size,
        "chunks": -(-size // CHUNK_SIZE),
        "dispatch_calls": dispatches,
        "events": len(events),
        "seconds": time.monotonic() - started,
        "cause": execution.get("cause"),
    }


def main() -> None:
    _environment()
    print(
        f"Execution history events per campaign (limit {HISTORY_LIMIT:,}), chunks of {CHUNK_SIZE} recipients"
    )
    print("Path: dispatch -> Sent -> completion timeout -> reconcile -> Failed -> final event")
    print(
        f"{'chunks per call':>16} {'recipients':>11} {'chunks':>7} {'Dispatch calls':>15} {'events':>7} {'% limit':>8}"
    )
    worst = 0
    for chunks_per_call in (None, 1):
        for size in SIZES:
            result = measure(size, chunks_per_call)
            worst = max(worst, result["events"])
            label = "time budget" if chunks_per_call is None else str(chunks_per_call)
            print(
                f"{label:>16} {result['recipients']:>11,} {result['chunks']:>7} {result['dispatch_calls']:>15} "
                f"{result['events']:>7} {100 * result['events'] / HISTORY_LIMIT:>7.1f}%"
            )
    os.environ.pop("DISPATCH_MAX_CHUNKS_PER_INVOCATION", None)
    print(
        "Each extra Dispatch call adds one Task state and one Choice (7 events); recipients add nothing. "
        f"Largest history: {worst} events."
    )


if __name__ == "__main__":
    main()
