"""Property: any permutation and duplication of a message's callbacks, recorded through the real
handler and table, ends in the same status, history and counts as in-order delivery."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.workflow.support import Campaigns
from voice_status.signing import sign_campaign

EXAMPLES = 40
LIFECYCLES = {
    "completed": ["Queued", "Initiated", "Ringing", "InProgress", "Completed"],
    "busy": ["Queued", "Initiated", "Ringing", "Busy"],
    "failed": ["Queued", "Initiated", "Failed"],
    "unsent": ["Queued", "Unsent"],
    "unknown-then-completed": ["Queued", "Initiated", "Unknown", "Completed"],
    "never-final": ["Queued", "Initiated", "Unknown"],
}
PAIRS_PER_CAMPAIGN = 25
_case_numbers = itertools.count()


def _recipient_pair(campaigns: Campaigns) -> tuple[str, str, str]:
    """A campaign and two of its dispatched recipients no example used yet (in order, shuffled).
    Campaigns are dispatched a batch of recipients at a time, as examples need them."""
    case = next(_case_numbers)
    numbers = [f"+3069100{2 * case:05d}", f"+3069100{2 * case + 1:05d}"]
    pools: dict[int, str] = campaigns.__dict__.setdefault("ordering_pools", {})
    batch = case // PAIRS_PER_CAMPAIGN
    if batch not in pools:
        first = batch * PAIRS_PER_CAMPAIGN * 2
        pools[batch] = campaigns.dispatched(
            [f"+3069100{n:05d}" for n in range(first, first + 2 * PAIRS_PER_CAMPAIGN)]
        )
    return pools[batch], numbers[0], numbers[1]


def _bodies(message_id: str, to: str, lifecycle: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "messageId": message_id,
            "to": to,
            "status": {"name": status, "updatedDate": f"2026-11-27T09:01:{second:02d}.000Z"},
        }
        for second, status in enumerate(lifecycle)
    ]


def _deliver(campaigns: Campaigns, campaign_id: str, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    path = f"/callbacks/voice/{campaign_id}/{sign_campaign(campaigns.stack.secret(), campaign_id)}"
    for body in bodies:
        assert campaigns.stack.api("POST", path, json.dumps(body)).status_code == 200
    message = campaigns.stack.api("GET", f"/messages/{bodies[0]['messageId']}").body
    return {key: message[key] for key in ("status", "final", "history")}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), lifecycle_name=st.sampled_from(sorted(LIFECYCLES)))
def test_any_delivery_order_ends_like_in_order_delivery(
    campaigns: Campaigns, data: st.DataObject, lifecycle_name: str
) -> None:
    campaign_id, in_order_to, shuffled_to = _recipient_pair(campaigns)
    lifecycle = LIFECYCLES[lifecycle_name]
    finals_before = sum(campaigns.counts(campaign_id)["final"].values())
    expected = _deliver(
        campaigns, campaign_id, _bodies(f"in-order-{in_order_to[1:]}", in_order_to, lifecycle)
    )

    bodies = _bodies(f"shuffled-{shuffled_to[1:]}", shuffled_to, lifecycle)
    repeats = data.draw(st.lists(st.sampled_from(bodies), max_size=5), label="duplicates")
    delivered = data.draw(st.permutations(bodies + repeats), label="delivery order")
    actual = _deliver(campaigns, campaign_id, delivered)

    assert actual == expected
    # Each of the two messages counted once, and only if its lifecycle ends final.
    finals_added = sum(campaigns.counts(campaign_id)["final"].values()) - finals_before
    assert finals_added == (2 if expected["final"] else 0)
