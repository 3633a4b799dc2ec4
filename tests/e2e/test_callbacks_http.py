"""Provider callbacks over real HTTP against the offline stack (CONTRACT.md section 2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from local.stack import LocalStack
from tests.e2e.helpers import (
    HTTP_TIMEOUT_SECONDS,
    callback_body,
    message_item,
    new_id,
    post_callback,
    table_item_count,
)
from voice_status.signing import sign_campaign

pytestmark = pytest.mark.e2e


def test_signed_callback_is_stored_and_visible_through_the_aws_endpoint(local_stack: LocalStack) -> None:
    campaign_id, message_id = new_id(), new_id()

    response = post_callback(
        local_stack, campaign_id, callback_body(message_id, "Ringing", "2026-11-27T09:00:04.512Z")
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"messageId": message_id, "status": "Ringing", "applied": True}
    item = message_item(local_stack, message_id)
    assert item is not None
    assert item["status"] == {"S": "Ringing"}
    assert item["campaignId"] == {"S": campaign_id}
    assert item["final"] == {"BOOL": False}


def test_duplicate_and_out_of_order_callbacks_end_in_the_right_status_and_history(
    local_stack: LocalStack,
) -> None:
    campaign_id, message_id = new_id(), new_id()
    sent = [  # (reported status, provider time, expected status after it, applied)
        ("Ringing", "2026-11-27T09:00:03Z", "Ringing", True),
        ("Queued", "2026-11-27T09:00:01Z", "Ringing", False),  # late
        ("Ringing", "2026-11-27T09:00:03Z", "Ringing", False),  # repeated
        ("Completed", "2026-11-27T09:00:30Z", "Completed", True),
        ("completed", "2026-11-27T09:00:30Z", "Completed", False),  # repeated, other spelling
        ("In Progress", "2026-11-27T09:00:05Z", "Completed", False),  # after final
    ]

    answers = [
        post_callback(local_stack, campaign_id, callback_body(message_id, status, at, duration=23))
        for status, at, _, _ in sent
    ]

    assert [(a.status_code, a.json()["status"], a.json()["applied"]) for a in answers] == [
        (200, expected, applied) for _, _, expected, applied in sent
    ]
    item = message_item(local_stack, message_id)
    assert item is not None
    assert item["status"] == {"S": "Completed"}
    assert item["final"] == {"BOOL": True}
    history = {name.removeprefix("h#"): value["S"] for name, value in item.items() if name.startswith("h#")}
    assert sorted(history) == ["Completed", "InProgress", "Queued", "Ringing"]
    assert history["Queued"].startswith("2026-11-27T09:00:01")
    # Counted once, however often the final status was reported.
    counters = local_stack.client("dynamodb").query(
        TableName=local_stack.outputs["TableName"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :counter)",
        ExpressionAttributeValues={":pk": {"S": f"CAMPAIGN#{campaign_id}"}, ":counter": {"S": "COUNTER#"}},
        ConsistentRead=True,
    )["Items"]
    assert sum(int(counter["finalTotal"]["N"]) for counter in counters) == 1


def test_message_history_is_shown_in_provider_time_order(local_stack: LocalStack) -> None:
    campaign_id, message_id = new_id(), new_id()
    for status, at in [("Initiated", "09:00:02"), ("Busy", "09:00:09"), ("Queued", "09:00:01")]:
        post_callback(local_stack, campaign_id, callback_body(message_id, status, f"2026-11-27T{at}Z"))

    response = requests.get(f"{local_stack.api_url}/messages/{message_id}", timeout=HTTP_TIMEOUT_SECONDS)

    assert response.status_code == 200
    message = response.json()
    assert message["status"] == "Busy"
    assert message["final"] is True
    assert [step["status"] for step in message["history"]] == ["Queued", "Initiated", "Busy"]


def _valid(message_id: str) -> dict[str, Any]:
    return callback_body(message_id, "Completed", "2026-11-27T09:00:31.877Z")


def _without(field: str) -> Callable[[str], dict[str, Any]]:
    def body(message_id: str) -> dict[str, Any]:
        valid = _valid(message_id)
        del valid[field]
        return valid

    return body


def _with_status(name: Any, updated_date: Any) -> Callable[[str], dict[str, Any]]:
    return lambda message_id: {**_valid(message_id), "status": {"name": name, "updatedDate": updated_date}}


def _oversized(message_id: str) -> bytes:
    return json.dumps({**_valid(message_id), "padding": "x" * (64 * 1024)}).encode()


SIGNED = "signed"
# (case, signature: SIGNED | "other-campaign" | literal, body(message_id), expected status)
BAD_CALLBACKS = [
    ("bad signature", "A" * 43, _valid, 403),
    ("signature of another campaign", "other-campaign", _valid, 403),
    ("missing signature", "", _valid, 403),
    ("not JSON", SIGNED, lambda message_id: b"messageId=" + message_id.encode(), 400),
    ("missing messageId", SIGNED, _without("messageId"), 422),
    ("missing status", SIGNED, _without("status"), 422),
    ("unknown status", SIGNED, _with_status("Exploded", "2026-11-27T09:00:31Z"), 422),
    ("bad date", SIGNED, _with_status("Completed", "the day after tomorrow"), 422),
    ("over 64 KiB", SIGNED, _oversized, 413),
]


@pytest.mark.parametrize(
    ("signature", "body", "expected_status"),
    [case[1:] for case in BAD_CALLBACKS],
    ids=[case[0] for case in BAD_CALLBACKS],
)
def test_rejected_callback_answers_with_an_error_and_writes_nothing(
    local_stack: LocalStack, signature: str, body: Callable[[str], Any], expected_status: int
) -> None:
    campaign_id, message_id = new_id(), new_id()
    if signature == SIGNED:
        signature = sign_campaign(local_stack.secret(), campaign_id)
    elif signature == "other-campaign":
        signature = sign_campaign(local_stack.secret(), new_id())
    items_before = table_item_count(local_stack)

    response = post_callback(local_stack, campaign_id, body(message_id), signature=signature)

    assert response.status_code == expected_status
    assert response.headers["Content-Type"] == "application/json"
    answer = response.json()
    assert answer["error"]
    if expected_status == 422:
        assert answer["details"], "422 names what is wrong"
    assert message_item(local_stack, message_id) is None
    assert table_item_count(local_stack) == items_before


def test_missing_signature_segment_is_refused(local_stack: LocalStack) -> None:
    items_before = table_item_count(local_stack)

    response = requests.post(
        f"{local_stack.api_url}/callbacks/voice/{new_id()}",
        json=_valid(new_id()),
        timeout=HTTP_TIMEOUT_SECONDS,
    )

    assert response.status_code == 403
    assert response.json()["error"]
    assert table_item_count(local_stack) == items_before


def test_unknown_path_and_wrong_method_get_api_gateways_403_in_the_error_shape(
    local_stack: LocalStack,
) -> None:
    unknown = requests.get(f"{local_stack.api_url}/nothing/here", timeout=HTTP_TIMEOUT_SECONDS)
    wrong_method = requests.get(
        f"{local_stack.api_url}/callbacks/voice/{new_id()}/signature", timeout=HTTP_TIMEOUT_SECONDS
    )

    # As a REST API does: no route for this path or method is "Missing Authentication Token".
    for response in (unknown, wrong_method):
        assert response.status_code == 403
        assert response.json() == {"error": "Missing Authentication Token", "details": []}
