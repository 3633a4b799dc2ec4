"""Property: any permutation and duplication of a message's callbacks, recorded through the real
handler and table, ends in the same status, history and counters as in-order delivery."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TestStack
from voice_status.repository import CampaignRepository, MessageRepository
from voice_status.signing import sign_campaign
from voice_status.views import message_view

LIFECYCLES = {
    "completed": ["Queued", "Initiated", "Ringing", "InProgress", "Completed"],
    "busy": ["Queued", "Initiated", "Ringing", "Busy"],
    "failed": ["Queued", "Initiated", "Failed"],
    "unsent": ["Queued", "Unsent"],
    "unknown-then-completed": ["Queued", "Initiated", "Unknown", "Completed"],
    "never-final": ["Queued", "Initiated", "Unknown"],
}
_case_numbers = itertools.count()


def _bodies(message_id: str, lifecycle: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "messageId": message_id,
            "to": "+306900000003",
            "status": {"name": status, "updatedDate": f"2026-11-27T09:01:{second:02d}.000Z"},
        }
        for second, status in enumerate(lifecycle)
    ]


def _deliver(stack: TestStack, campaign_id: str, bodies: list[dict[str, Any]]) -> tuple[dict, dict]:
    path = f"/callbacks/voice/{campaign_id}/{sign_campaign(stack.secret(), campaign_id)}"
    for body in bodies:
        assert stack.api("POST", path, json.dumps(body)).status_code == 200
    table = stack.outputs["TableName"]
    item = MessageRepository(stack.client("dynamodb"), table).get(bodies[0]["messageId"])
    _, counts = CampaignRepository(stack.client("dynamodb"), table).get_with_counts(campaign_id)
    assert item is not None
    view = message_view(item)
    return {key: view[key] for key in ("status", "final", "history")}, counts.final


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), lifecycle_name=st.sampled_from(sorted(LIFECYCLES)))
def test_any_delivery_order_ends_like_in_order_delivery(
    stack: TestStack, data: st.DataObject, lifecycle_name: str
) -> None:
    case = next(_case_numbers)
    lifecycle = LIFECYCLES[lifecycle_name]
    expected = _deliver(stack, f"in-order-{case}", _bodies(f"in-order-{case}", lifecycle))

    bodies = _bodies(f"shuffled-{case}", lifecycle)
    repeats = data.draw(st.lists(st.sampled_from(bodies), max_size=5), label="duplicates")
    delivered = data.draw(st.permutations(bodies + repeats), label="delivery order")
    actual = _deliver(stack, f"shuffled-{case}", delivered)

    assert actual == expected
