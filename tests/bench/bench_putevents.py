"""PutEvents cost of the stream publisher: calls for one stream batch of 100 messages turning final.

Run with `make bench`. The 100 messages are recorded final with the same repository code the
callback handler uses, the table stream is driven by local/streams.py (BatchSize 100 from
template.yaml), and PutEvents calls are counted on the publisher's own EventBridge client.
EventBridge takes at most 10 entries per call, so 10 calls is the floor; one call per record would be 100.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from local.streams import StreamPoller
from tests.bench.support import in_memory_stack

PUBLISHER = "StreamPublisherFunction"
FINAL_RECORDS = 100


def measure() -> dict[str, Any]:
    with in_memory_stack() as (session, stack, functions):
        # Imported after LocalFunctions put the layer on sys.path.
        from tests.conftest import TestStack
        from tests.workflow.support import Campaigns
        from voice_status.reports import StatusReport

        numbers = [f"+3069000{index:05d}" for index in range(FINAL_RECORDS)]
        campaigns = Campaigns(TestStack(stack, functions, session))
        campaign_id = campaigns.dispatched(numbers)
        StreamPoller(session, functions, stack.resolver).drain()  # the dispatch's own records: none final
        for index, to in enumerate(numbers):
            report = StatusReport.parse(
                {
                    "messageId": f"bench-{index:03d}",
                    "to": to,
                    "status": {"name": "Completed", "updatedDate": "2026-11-27T09:00:31.877Z"},
                    "duration": 23,
                    "price": 0.021,
                }
            )
            campaigns.store.record_report(campaign_id, report)

        entries_per_call: list[int] = []

        def count(params: dict[str, Any], **_: Any) -> None:
            entries_per_call.append(len(params["Entries"]))

        client = functions.module(PUBLISHER).events_client
        client.meta.events.register("before-parameter-build.events.PutEvents", count)
        try:
            started = time.perf_counter()
            summary = StreamPoller(session, functions, stack.resolver).drain()
            seconds = time.perf_counter() - started
        finally:
            client.meta.events.unregister("before-parameter-build.events.PutEvents", count)
        return {
            "records delivered": summary.records_delivered,
            "invocations": len(summary.invocations),
            "PutEvents calls": len(entries_per_call),
            "entries per call": dict(sorted(Counter(entries_per_call).items())),
            "seconds (in-process, moto)": round(seconds, 3),
        }


def main() -> None:
    results = measure()
    print(f"Stream publisher, {FINAL_RECORDS} messages turning final (one stream batch):")
    for label, value in results.items():
        print(f"  {label:<30} {value}")
    calls = results["PutEvents calls"]
    print(
        f"  => {calls} PutEvents calls for {FINAL_RECORDS} events (one call per record would be {FINAL_RECORDS})"
    )


if __name__ == "__main__":
    main()
