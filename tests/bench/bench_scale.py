"""`make bench-scale`: simulated campaigns end to end through the offline stack, one size at a time.

For each size (env SIZES, comma-separated; 1,000 and 10,000 by default) a fresh process starts the
offline stack as `make local` runs it (moto server, API over HTTP, simulated carrier, stream
poller), creates one campaign of that many recipients through the API and waits until it is
Finished with every count exact. It prints per size: wall time, callbacks/s, peak RSS, the
requests moto served by service and operation, Lambda invocations per function, Step Functions
state transitions and PutEvents calls; and the DynamoDB item writes behind them (size in 1 KB
units, index entries, inside a transaction or not), which `tests/bench/cost_model.py` prices.
Results go to .local/bench-scale.json as well.

The campaign's own work is counted: the stack's creation is subtracted, and the benchmark watches
progress through Step Functions' DescribeExecution and the carrier, not through the API.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

DEFAULT_SIZES = (1_000, 10_000)
RESULTS_FILE = Path(__file__).resolve().parents[2] / ".local" / "bench-scale.json"
# Numbers ending in 9 finish only by reconciliation, after the completion timeout: long enough for
# every callback to arrive first, at a conservative guess of the callback rate.
CALLBACKS_PER_RECIPIENT = 4.4
# A conservative guess of what this 2-core machine delivers (env SCALE_CALLBACKS_PER_SECOND); when
# slower, reconciliation asks the carrier for the messages whose final callbacks have not arrived
# yet and ends the campaign first.
GUESSED_CALLBACKS_PER_SECOND = 25
# Once the campaign has ended, the carrier's remaining callbacks (repeats, and whatever
# reconciliation settled first) still arrive; at 100,000 recipients that tail lasts hours at the
# offline stack's rate. The figures are taken when it is over or after this many seconds
# (env SCALE_TAIL_SECONDS), saying how many callbacks were still to come.
TAIL_SECONDS = 300
FINAL_STATUSES = {"Finished", "Failed"}


# ----- counting, inside the measured process -----


@dataclasses.dataclass
class ItemWrites:
    """DynamoDB item writes seen on the table's stream, for write-unit pricing."""

    items: int = 0
    item_units: int = 0  # sum of ceil(size / 1 KB)
    transactional_units: int = 0  # the part of item_units written inside TransactWriteItems
    index_entries: int = 0  # gsi entries put or deleted
    index_units: int = 0


class _Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # "service:Operation"
        self.failed: Counter[str] = Counter()  # answered 4xx/5xx (failed conditions among them)
        self.writes = ItemWrites()
        self.events_put = 0  # PutEvents entries: EventBridge bills per event
        self.in_transaction = threading.local()

    def install(self) -> None:
        from moto.core.responses import BaseResponse
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import StreamShard

        counters = self
        call_action = BaseResponse.call_action

        def counted_call(response: Any) -> Any:
            name = f"{response.service_name}:{response._get_action()}"
            entries = _put_events_entries(response) if name == "events:PutEvents" else 0
            result = call_action(response)
            with counters.lock:
                counters.requests[name] += 1
                counters.events_put += entries
                if int(result[0]) >= 400:
                    counters.failed[name] += 1
            return result

        transact = DynamoDBBackend.transact_write_items

        def counted_transaction(backend: Any, items: Any) -> Any:
            counters.in_transaction.on = True
            try:
                return transact(backend, items)
            finally:
                counters.in_transaction.on = False

        add = StreamShard.add

        def counted_add(shard: Any, old: Any, new: Any) -> None:
            add(shard, old, new)
            units = max(_units(old), _units(new))
            entries = _index_entries(shard.table, old, new)
            with counters.lock:
                counters.writes.items += 1
                counters.writes.item_units += units
                if getattr(counters.in_transaction, "on", False):
                    counters.writes.transactional_units += units
                counters.writes.index_entries += entries
                counters.writes.index_units += entries * units

        BaseResponse.call_action = counted_call  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items = counted_transaction  # type: ignore[method-assign]
        StreamShard.add = counted_add  # type: ignore[method-assign]

    def snapshot(self) -> tuple[Counter[str], Counter[str], ItemWrites]:
        with self.lock:
            return Counter(self.requests), Counter(self.failed), dataclasses.replace(self.writes)


def _put_events_entries(response: Any) -> int:
    body = response.body
    parsed = body if isinstance(body, dict) else json.loads(body or "{}")
    return len(parsed.get("Entries") or [])


def _units(item: Any) -> int:
    return math.ceil(item.size() / 1024) if item is not None else 0


def _index_key(index: Any, item: Any) -> tuple[Any, ...] | None:
    if item is None:
        return None
    names = [part["AttributeName"] for part in index.schema]
    if any(name not in item.attrs for name in names):
        return None
    return tuple(str(item.attrs[name].value) for name in names)


def _index_entries(table: Any, old: Any, new: Any) -> int:
    """Index writes DynamoDB bills for one item write: a changed key is a delete and a put."""
    entries = 0
    for index in table.global_indexes or []:
        before, after = _index_key(index, old), _index_key(index, new)
        if before is None and after is None:
            continue
        if before is not None and after is not None and before != after:
            entries += 2
        else:
            entries += 1
    return entries


def _state_transitions(stack: Any) -> int:
    sfn = stack.client("stepfunctions")
    machine = stack.outputs["CampaignStateMachineArn"]
    total = 0
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine):
        for execution in page["executions"]:
            for history in sfn.get_paginator("get_execution_history").paginate(
                executionArn=execution["executionArn"]
            ):
                total += sum(event["type"].endswith("StateEntered") for event in history["events"])
    return total


def measure(size: int, completion_timeout: int, tail_seconds: int) -> dict[str, Any]:
    """One campaign of `size` recipients through a fresh offline stack in this process."""
    import requests

    from local.moto_fixes import apply_fixes
    from local.stack import LocalStack, Settings

    os.environ.setdefault("LOG_LEVEL", "ERROR")
    apply_fixes()  # first, so that the counting wraps the stack's own transaction method
    counters = _Counters()
    counters.install()
    outputs = Path(tempfile.mkdtemp()) / "outputs.json"
    settings = dataclasses.replace(
        Settings.from_environment(free_ports=True),
        voice_provider="simulated",
        log_level="ERROR",
        outputs_file=outputs,
    )
    recipients = [f"+3069{index:08d}" for index in range(size)]
    with LocalStack(settings) as stack:
        assert stack.carrier is not None and stack.functions is not None
        requests_before, failed_before, _ = counters.snapshot()
        invocations_before = Counter(stack.functions.invocations)
        busy_before = dict(stack.functions.busy_seconds)
        events_before = counters.events_put
        started = time.monotonic()
        response = requests.post(
            f"{stack.api_url}/campaigns",
            json={
                "name": f"Scale {size}",
                "from": "+302100000000",
                "message": {"text": "Scale benchmark", "language": "en-US", "gender": "female"},
                "recipients": recipients,
                "completionTimeoutSeconds": completion_timeout,
            },
            headers={"Idempotency-Key": str(uuid.uuid4())},
            timeout=600,
        )
        assert response.status_code == 201, response.text
        campaign_id = response.json()["campaignId"]
        from voice_status.campaign.model import execution_arn as execution_of  # layer on sys.path by now

        execution_arn = execution_of(stack.outputs["CampaignStateMachineArn"], campaign_id)
        sfn = stack.client("stepfunctions")
        deadline = started + completion_timeout + 600 + size * CALLBACKS_PER_RECIPIENT / 5
        callbacks_done_at = None
        while True:
            counters_now = stack.carrier.counters
            if callbacks_done_at is None and counters_now.messages >= size and stack.carrier.idle():
                callbacks_done_at = time.monotonic()
            status = sfn.describe_execution(executionArn=execution_arn)["status"]
            if status != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"size {size}: still running at the deadline")
            time.sleep(1)
        finished_at = time.monotonic()
        # Reconciliation may finish the campaign before every callback has arrived: the rate
        # counts them all, so wait for the carrier's last one, for a while.
        if callbacks_done_at is None and stack.carrier.wait_idle(
            min(tail_seconds, max(0, deadline - finished_at))
        ):
            callbacks_done_at = time.monotonic()
        callbacks_measured_at = callbacks_done_at or time.monotonic()
        carrier = stack.carrier.counters
        callbacks_still_planned = stack.carrier.pending_callbacks
        stack.drain_streams()  # the last final moves' events
        campaign = requests.get(f"{stack.api_url}/campaigns/{campaign_id}", timeout=60).json()
        requests_after, failed_after, writes = counters.snapshot()
        invocations = Counter(stack.functions.invocations) - invocations_before
        busy = {
            name: seconds - busy_before.get(name, 0.0)
            for name, seconds in stack.functions.busy_seconds.items()
        }
        events_put = counters.events_put - events_before
        transitions = _state_transitions(stack)
        sqs = stack.client("sqs")
        notifications = int(
            sqs.get_queue_attributes(
                QueueUrl=stack.outputs["NotificationsQueueUrl"],
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        expected = stack.carrier.expected_outcome(recipients)
    callback_seconds = callbacks_measured_at - started
    return {
        "size": size,
        "campaign_status": campaign["status"],
        "counts": campaign["counts"],
        "counts_exact": campaign["counts"]["final"] == expected
        and campaign["counts"]["total"] == size
        and campaign["counts"]["pending"] == 0,
        "wall_seconds": round(finished_at - started, 1),
        "callback_phase_seconds": round(callback_seconds, 1),
        "callbacks_delivered": carrier.callbacks_delivered,
        "callbacks_per_second": round(carrier.callbacks_delivered / callback_seconds, 1),
        "callbacks_still_planned": callbacks_still_planned,  # not yet sent when measured
        "delivery_failures": carrier.delivery_failures,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "requests": dict(sorted((requests_after - requests_before).items())),
        "failed_requests": dict(sorted((failed_after - failed_before).items())),
        "item_writes": dataclasses.asdict(writes),
        "lambda_invocations": dict(sorted(invocations.items())),
        "lambda_busy_seconds": {name: round(seconds, 2) for name, seconds in sorted(busy.items())},
        "events_put": events_put,
        "lambda_memory_mb": {spec.logical_id: spec.memory_mb for spec in stack.functions.specs.values()},
        "state_transitions": transitions,
        "notifications_queued": notifications,
        "completion_timeout_seconds": completion_timeout,
    }


# ----- the driver -----


def _sizes() -> list[int]:
    raw = os.environ.get("SIZES", "")
    return [int(part.replace("_", "")) for part in raw.split(",") if part.strip()] or list(DEFAULT_SIZES)


def _print(result: dict[str, Any]) -> None:
    print(f"  {result['size']:,} recipients: campaign {result['campaign_status']}, counts exact: "
          f"{result['counts_exact']} {json.dumps(result['counts'])}")  # fmt: skip
    print(f"    campaign Finished after {result['wall_seconds']} s (completion timeout {result['completion_timeout_seconds']} s); "
          f"callbacks {result['callbacks_delivered']:,} in {result['callback_phase_seconds']} s = "
          f"{result['callbacks_per_second']}/s; peak RSS {result['peak_rss_mib']} MiB")  # fmt: skip
    if result["callbacks_still_planned"]:
        print(f"    {result['callbacks_still_planned']:,} callbacks were still to come when measured (the tail after the "
              f"campaign ended outlasted SCALE_TAIL_SECONDS): the requests below do not include them")  # fmt: skip
    dynamodb = {k.split(":", 1)[1]: v for k, v in result["requests"].items() if k.startswith("dynamodb:")}
    print(f"    DynamoDB requests: {json.dumps(dynamodb)}")
    failed = {k: v for k, v in result["failed_requests"].items() if k.startswith("dynamodb:")}
    print(f"      of which answered with an error (failed conditions): {json.dumps(failed)}")
    print(f"    DynamoDB item writes: {json.dumps(result['item_writes'])}")
    print(f"    Lambda invocations: {json.dumps(result['lambda_invocations'])}")
    print(f"    Step Functions state transitions: {result['state_transitions']}")
    print(f"    PutEvents calls: {result['requests'].get('events:PutEvents', 0)} ({result['events_put']} events); "
          f"SQS messages queued: {result['notifications_queued']}")  # fmt: skip


def main() -> None:
    results = []
    guessed_rate = float(os.environ.get("SCALE_CALLBACKS_PER_SECOND") or GUESSED_CALLBACKS_PER_SECOND)
    tail_seconds = int(os.environ.get("SCALE_TAIL_SECONDS") or TAIL_SECONDS)
    for size in _sizes():
        timeout = max(30, math.ceil(size * CALLBACKS_PER_RECIPIENT / guessed_rate))
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.bench.bench_scale",
                "--one",
                str(size),
                str(timeout),
                str(tail_seconds),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            print(f"  {size:,} recipients: FAILED\n{run.stderr[-3000:]}")
            continue
        result = json.loads(run.stdout.strip().splitlines()[-1])
        _print(result)
        results.append(result)
    # Earlier runs of other sizes stay (a 100,000 run is long, and often run on its own).
    earlier = json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.exists() else []
    measured = {result["size"] for result in results}
    merged = [result for result in earlier if result["size"] not in measured] + results
    RESULTS_FILE.parent.mkdir(exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(sorted(merged, key=lambda r: r["size"]), indent=2) + "\n")
    print(f"  (results in {RESULTS_FILE.relative_to(RESULTS_FILE.parents[1])})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))), flush=True)
    else:
        main()
