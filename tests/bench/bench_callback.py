"""Callback costs: DynamoDB write requests per callback, counted on the handler's own client.

Run with `make bench`. (Cold import time is measured by bench_cold_start.py.)
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from local.functions import LocalFunctions
from tests.bench.support import in_memory_stack
from voice_status.signing import sign_campaign

WRITE_OPERATIONS = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"}


def _callback_event(functions: LocalFunctions, campaign_id: str, secret: str, body: dict[str, Any]) -> dict:
    from local.api import api_routes, match_route, proxy_event

    path = f"/callbacks/voice/{campaign_id}/{sign_campaign(secret, campaign_id)}"
    found = match_route(api_routes(functions.specs), "POST", path)
    assert found
    return proxy_event(found[0], path, found[1], body=json.dumps(body))


def count_writes() -> dict[str, Counter[str]]:
    """Write requests for each kind of callback, counted on the handler's own DynamoDB client,
    for a recipient of a campaign dispatched with the product's own functions."""
    from tests.conftest import TestStack
    from tests.workflow.support import Campaigns

    with in_memory_stack() as (session, stack, functions):
        module = functions.module("CallbackFunction")
        campaign_id = Campaigns(TestStack(stack, functions, session)).dispatched(["+306900000001"])
        secret = session.client("secretsmanager").get_secret_value(
            SecretId=stack.outputs["CallbackSigningSecretArn"]
        )["SecretString"]
        current: Counter[str] = Counter()

        def count(event_name: str, **_: Any) -> None:
            operation = event_name.rsplit(".", 1)[-1]
            if operation in WRITE_OPERATIONS:
                current[operation] += 1

        module.store._client.meta.events.register("before-call.dynamodb", count)
        results: dict[str, Counter[str]] = {}
        cases = [
            ("first report (Queued; claims the message id)", "Queued", 0),
            ("in-order intermediate (Ringing)", "Ringing", 2),
            ("duplicate intermediate (Ringing again)", "Ringing", 2),
            ("stale intermediate (Initiated after Ringing)", "Initiated", 1),
            ("final (Completed)", "Completed", 9),
            ("duplicate final (Completed again)", "Completed", 9),
        ]
        for label, status, second in cases:
            current.clear()
            body = {
                "messageId": "bench-1",
                "to": "+306900000001",
                "status": {"name": status, "updatedDate": f"2026-11-27T09:00:0{second}Z"},
            }
            event = _callback_event(functions, campaign_id, secret, body)
            result = functions.invoke("CallbackFunction", event)
            assert result["statusCode"] == 200, result
            results[label] = Counter(current)
        return results


def main() -> None:
    print("DynamoDB write requests per callback (counted on the handler's client):")
    for label, writes in count_writes().items():
        detail = ", ".join(f"{operation} x{n}" for operation, n in sorted(writes.items())) or "none"
        print(f"  {label:<48} {sum(writes.values())}  ({detail})")


if __name__ == "__main__":
    main()
