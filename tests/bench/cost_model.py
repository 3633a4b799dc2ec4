"""What one campaign costs on AWS, priced from the counts `make bench-scale` measured.

`python -m tests.bench.cost_model [.local/bench-scale.json]` prints a Markdown table per campaign
size: each measured size from its own counts, and 1,000,000 recipients (or any size not run)
extrapolated linearly from the two largest sizes measured (per-recipient slope plus a fixed part).

Prices: AWS's published on-demand list prices for us-east-1 (region us-east-1, x86 vs arm64 as
noted), as listed below; free tiers ignored. Change them here when they change.
Lambda durations are the handlers' own time measured in the offline stack divided by invocations
(moto answers slower than DynamoDB, so they are on the high side); billed memory is the template's.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from tests.bench.bench_scale import RESULTS_FILE

# us-east-1 on-demand list prices (USD).
PRICES = {
    "dynamodb_write_unit": 0.625 / 1e6,  # per write request unit, on-demand, Standard table class
    "dynamodb_read_unit": 0.125 / 1e6,  # per read request unit
    "lambda_gb_second_arm64": 0.0000133334,  # Arm, first 6 billion GB-s per month tier
    "lambda_request": 0.20 / 1e6,
    "stepfunctions_transition": 0.025 / 1000,  # Standard workflows
    "eventbridge_event": 1.00 / 1e6,  # custom events put (per 64 KB chunk)
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KB chunk
    "apigateway_request": 3.50 / 1e6,  # REST API, first 333 million per month
}
# An assumption for scale, not a quote: the simulated carrier charges 0.021 per started minute
# (local/carrier/planning.py); Routee's real voice rates depend on the destination country.
ROUTEE_PRICE_PER_MINUTE = 0.021
# Expected billed minutes per recipient under the simulated carrier's lifecycles: half the numbers
# are answered (5-90 s, so 1 or 2 started minutes, mean ~1.47), a tenth terminated after 1-30 s.
ROUTEE_MINUTES_PER_RECIPIENT = 0.5 * (1 + 31 / 86) + 0.1 * 1
SQS_CONSUMER_BATCH = 10  # a consumer receives and deletes in batches of 10
SIZES = (1_000, 10_000, 100_000, 1_000_000)


def costs(result: dict[str, Any]) -> dict[str, float]:
    """USD per service for one measured campaign."""
    requests = result["requests"]
    failed = result["failed_requests"]
    writes = result["item_writes"]
    # Item writes by size; transactions bill twice; each index entry written bills as a write.
    write_units = writes["item_units"] + writes["transactional_units"] + writes["index_units"]
    # A write whose condition failed still bills (1 unit; a cancelled two-item transaction, 4).
    write_units += failed.get("dynamodb:UpdateItem", 0) + failed.get("dynamodb:PutItem", 0)
    write_units += 4 * failed.get("dynamodb:TransactWriteItems", 0)
    # Reads here are single items or a campaign with its counter shards (under 4 KB): 1 unit each.
    read_units = sum(
        count
        for name, count in requests.items()
        if name in {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"}
    )
    gb_seconds = 0.0
    invocations = result["lambda_invocations"]
    for function, count in invocations.items():
        memory_gb = result["lambda_memory_mb"].get(function, 512) / 1024
        busy = result.get("lambda_busy_seconds", {}).get(function, 0.05 * count)
        gb_seconds += memory_gb * max(busy, 0.001 * count)  # billed per ms, at least 1 ms each
    events = result.get("events_put") or result["size"] + 1
    api_requests = invocations.get("CallbackFunction", 0) + 2  # callbacks, plus create and read
    return {
        "DynamoDB": write_units * PRICES["dynamodb_write_unit"] + read_units * PRICES["dynamodb_read_unit"],
        "Lambda": gb_seconds * PRICES["lambda_gb_second_arm64"]
        + sum(invocations.values()) * PRICES["lambda_request"],
        "Step Functions": result["state_transitions"] * PRICES["stepfunctions_transition"],
        "EventBridge": events * PRICES["eventbridge_event"],
        "SQS": events * (1 + 2 / SQS_CONSUMER_BATCH) * PRICES["sqs_request"],
        "API Gateway": api_requests * PRICES["apigateway_request"],
    }


def table(results: list[dict[str, Any]]) -> str:
    measured = {result["size"]: costs(result) for result in results}
    # A run that cut the carrier's tail short (bench_scale's SCALE_TAIL_SECONDS) says so in its row.
    still_planned = {result["size"]: result.get("callbacks_still_planned", 0) for result in results}
    services = list(next(iter(measured.values())))
    by_size = sorted(measured)
    rows = []
    for size in sorted(set(SIZES) | set(by_size)):
        if size in measured:
            figures, note = measured[size], "measured"
            if still_planned[size]:
                note = f"measured, without the last {still_planned[size]:,} callbacks"
        else:
            low, high = by_size[-2:] if len(by_size) > 1 else (by_size[0], by_size[0])
            figures = {}
            for service in services:
                slope = (
                    (measured[high][service] - measured[low][service]) / (high - low)
                    if high != low
                    else measured[high][service] / high
                )
                fixed = measured[high][service] - slope * high
                figures[service] = max(fixed + slope * size, 0.0)
            note = f"extrapolated from {low:,} and {high:,}" if high != low else f"scaled from {high:,}"
        total = sum(figures.values())
        routee = size * ROUTEE_MINUTES_PER_RECIPIENT * ROUTEE_PRICE_PER_MINUTE
        cells = " | ".join(_usd(figures[service]) for service in services)
        rows.append(
            f"| {size:,} | {cells} | **{_usd(total)}** | {_usd(total / size * 1000)} | {_usd(routee)} | {note} |"
        )
    header = (
        "| recipients | " + " | ".join(services) + " | AWS total | per 1,000 recipients | "
        "Routee calls (assumed) | |"
    )
    rule = "|" + "---|" * (len(services) + 5)
    return "\n".join([header, rule, *rows])


def _usd(amount: float) -> str:
    if amount == 0:
        return "$0"
    digits = max(2, 2 - math.floor(math.log10(amount))) if amount < 1 else 2
    return f"${amount:,.{min(digits, 5)}f}"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS_FILE
    print(table(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
