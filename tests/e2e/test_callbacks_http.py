"""Provider callbacks over real HTTP against the offline stack (CONTRACT.md section 2).

The stack runs VOICE_PROVIDER=silent: campaigns are created over HTTP and dispatched by their
workflow, nobody calls back, and these tests post the callbacks for their recipients as Routee
would. Each test works on recipients no other test touches.
"""

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
    dispatched_campaign,
    get,
    listed_message,
    new_id,
    post_callback,
    stored_message,
    table_item_count,
)
from voice_status.signing import sign_campaign

pytestmark = pytest.mark.e2e

# The shared campaign's recipients, one per use.
STORED, ORDERED, UNTOUCHED, CLAIMED, NEIGHBOUR = (f"+30691000000{digit}" for digit in range(5))
SHARED_RECIPIENTS = [STORED, ORDERED, UNTOUCHED, CLAIMED, NEIGHBOUR]


@pytest.fixture(scope="module")
def campaign(silent_stack: LocalStack) -> str:
    """One dispatched campaign that the tests below share, each on its own recipient."""
    return dispatched_campaign(silent_stack, SHARED_RECIPIENTS)


def test_signed_callback_is_stored_and_visible_through_the_api_and_the_aws_endpoint(
    silent_stack: LocalStack, campaign: str
) -> None:
    message_id = new_id()

    response = post_callback(
        silent_stack, campaign, callback_body(message_id, STORED, "Ringing", "2026-11-27T09:00:04.512Z")
    )

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"messageId": message_id, "status": "Ringing", "applied": True}
    shown = get(silent_stack, f"/messages/{message_id}")
    assert shown.status_code == 200
    assert {key: shown.json()[key] for key in ("messageId", "campaignId", "to", "status", "final")} == {
        "messageId": message_id,
        "campaignId": campaign,
        "to": STORED,
        "status": "Ringing",
        "final": False,
    }
    assert shown.json()["history"] == [{"status": "Ringing", "at": "2026-11-27T09:00:04.512Z"}]
    assert listed_message(silent_stack, campaign, STORED)["messageId"] == message_id
    stored = stored_message(silent_stack, message_id)
    assert stored is not None
    assert (stored.campaign_id, stored.to, stored.status, stored.final) == (
        campaign,
        STORED,
        "Ringing",
        False,
    )


def test_duplicate_and_out_of_order_callbacks_end_in_the_right_status_and_history(
    silent_stack: LocalStack,
) -> None:
    recipient = "+306910000101"
    campaign_id, message_id = dispatched_campaign(silent_stack, [recipient]), new_id()
    sent = [  # (reported status, provider time, expected status after it, applied)
        ("Ringing", "2026-11-27T09:00:03Z", "Ringing", True),
        ("Queued", "2026-11-27T09:00:01Z", "Ringing", False),  # late
        ("Ringing", "2026-11-27T09:00:03Z", "Ringing", False),  # repeated
        ("Completed", "2026-11-27T09:00:30Z", "Completed", True),
        ("completed", "2026-11-27T09:00:30Z", "Completed", False),  # repeated, other spelling
        ("In Progress", "2026-11-27T09:00:05Z", "Completed", False),  # after final
    ]

    answers = [
        post_callback(
            silent_stack, campaign_id, callback_body(message_id, recipient, status, at, duration=23)
        )
        for status, at, _, _ in sent
    ]

    assert [(a.status_code, a.json()["status"], a.json()["applied"]) for a in answers] == [
        (200, expected, applied) for _, _, expected, applied in sent
    ]
    message = get(silent_stack, f"/messages/{message_id}").json()
    assert (message["status"], message["final"], message["duration"]) == ("Completed", True, 23)
    assert message["history"] == [
        {"status": "Queued", "at": "2026-11-27T09:00:01.000Z"},
        {"status": "Ringing", "at": "2026-11-27T09:00:03.000Z"},
        {"status": "InProgress", "at": "2026-11-27T09:00:05.000Z"},
        {"status": "Completed", "at": "2026-11-27T09:00:30.000Z"},
    ]
    # Counted once, however often the final status was reported.
    counts = get(silent_stack, f"/campaigns/{campaign_id}").json()["counts"]
    assert counts == {"total": 1, "pending": 0, "final": {"Completed": 1}}


def test_message_history_is_shown_in_provider_time_order(silent_stack: LocalStack, campaign: str) -> None:
    message_id = new_id()
    for status, at in [("Initiated", "09:00:02"), ("Busy", "09:00:09"), ("Queued", "09:00:01")]:
        answer = post_callback(
            silent_stack, campaign, callback_body(message_id, ORDERED, status, f"2026-11-27T{at}Z")
        )
        assert answer.status_code == 200

    response = get(silent_stack, f"/messages/{message_id}")

    assert response.status_code == 200
    message = response.json()
    assert message["status"] == "Busy"
    assert message["final"] is True
    assert [step["status"] for step in message["history"]] == ["Queued", "Initiated", "Busy"]


def test_a_message_id_belongs_to_one_recipient_and_a_recipient_keeps_its_first_id(
    silent_stack: LocalStack, campaign: str
) -> None:
    first, other = new_id(), new_id()
    ringing = callback_body(first, CLAIMED, "Ringing", "2026-11-27T09:00:03Z")
    assert post_callback(silent_stack, campaign, ringing).status_code == 200
    items_before = table_item_count(silent_stack)

    another_id = post_callback(
        silent_stack, campaign, callback_body(other, CLAIMED, "Completed", "2026-11-27T09:00:30Z")
    )
    taken_id = post_callback(
        silent_stack, campaign, callback_body(first, NEIGHBOUR, "Completed", "2026-11-27T09:00:30Z")
    )

    assert (another_id.status_code, taken_id.status_code) == (409, 409)
    assert another_id.json()["error"] and taken_id.json()["error"]
    assert table_item_count(silent_stack) == items_before
    claimed = get(silent_stack, f"/messages/{first}").json()
    assert (claimed["to"], claimed["status"]) == (CLAIMED, "Ringing")
    assert get(silent_stack, f"/messages/{other}").status_code == 404
    neighbour = listed_message(silent_stack, campaign, NEIGHBOUR)
    assert (neighbour["messageId"], neighbour["status"], neighbour["history"]) == (None, "Queued", [])


def _valid(message_id: str) -> dict[str, Any]:
    return callback_body(message_id, UNTOUCHED, "Completed", "2026-11-27T09:00:31.877Z")


def _without(field: str) -> Callable[[str], dict[str, Any]]:
    def body(message_id: str) -> dict[str, Any]:
        valid = _valid(message_id)
        del valid[field]
        return valid

    return body


def _with_status(name: Any, updated_date: Any) -> Callable[[str], dict[str, Any]]:
    return lambda message_id: {**_valid(message_id), "status": {"name": name, "updatedDate": updated_date}}


def _to(number: str) -> Callable[[str], dict[str, Any]]:
    return lambda message_id: {**_valid(message_id), "to": number}


def _oversized(message_id: str) -> bytes:
    return json.dumps({**_valid(message_id), "padding": "x" * (64 * 1024)}).encode()


SIGNED = "signed"
UNKNOWN_CAMPAIGN = "unknown-campaign"
# (case, signature: SIGNED | UNKNOWN_CAMPAIGN | "other-campaign" | literal, body(message_id), status)
BAD_CALLBACKS = [
    ("bad signature", "A" * 43, _valid, 403),
    ("signature of another campaign", "other-campaign", _valid, 403),
    ("missing signature", "", _valid, 403),
    ("not JSON", SIGNED, lambda message_id: b"messageId=" + message_id.encode(), 400),
    ("missing messageId", SIGNED, _without("messageId"), 422),
    ("missing to", SIGNED, _without("to"), 422),
    ("missing status", SIGNED, _without("status"), 422),
    ("unknown status", SIGNED, _with_status("Exploded", "2026-11-27T09:00:31Z"), 422),
    ("bad date", SIGNED, _with_status("Completed", "the day after tomorrow"), 422),
    ("to not E.164", SIGNED, _to("306910000002"), 422),
    ("over 64 KiB", SIGNED, _oversized, 413),
    ("not a recipient of the campaign", SIGNED, _to("+306919999999"), 404),
    ("unknown campaign", UNKNOWN_CAMPAIGN, _valid, 404),
]


@pytest.mark.parametrize(
    ("signature", "body", "expected_status"),
    [case[1:] for case in BAD_CALLBACKS],
    ids=[case[0] for case in BAD_CALLBACKS],
)
def test_rejected_callback_answers_with_an_error_and_writes_nothing(
    silent_stack: LocalStack,
    campaign: str,
    signature: str,
    body: Callable[[str], Any],
    expected_status: int,
) -> None:
    campaign_id, message_id = campaign, new_id()
    if signature == SIGNED:
        signature = sign_campaign(silent_stack.secret(), campaign_id)
    elif signature == UNKNOWN_CAMPAIGN:
        campaign_id = new_id()
        signature = sign_campaign(silent_stack.secret(), campaign_id)
    elif signature == "other-campaign":
        signature = sign_campaign(silent_stack.secret(), new_id())
    items_before = table_item_count(silent_stack)

    response = post_callback(silent_stack, campaign_id, body(message_id), signature=signature)

    assert response.status_code == expected_status
    assert response.headers["Content-Type"] == "application/json"
    answer = response.json()
    assert answer["error"]
    if expected_status == 422:
        assert answer["details"], "422 names what is wrong"
    assert get(silent_stack, f"/messages/{message_id}").status_code == 404
    assert stored_message(silent_stack, message_id) is None
    assert table_item_count(silent_stack) == items_before
    untouched = listed_message(silent_stack, campaign, UNTOUCHED)
    assert (untouched["messageId"], untouched["status"], untouched["history"]) == (None, "Queued", [])


def test_missing_signature_segment_is_refused(silent_stack: LocalStack, campaign: str) -> None:
    items_before = table_item_count(silent_stack)

    response = requests.post(
        f"{silent_stack.api_url}/callbacks/voice/{campaign}",
        json=_valid(new_id()),
        timeout=HTTP_TIMEOUT_SECONDS,
    )

    assert response.status_code == 403
    assert response.json()["error"]
    assert table_item_count(silent_stack) == items_before


def test_unknown_path_and_wrong_method_get_api_gateways_403_in_the_error_shape(
    silent_stack: LocalStack,
) -> None:
    unknown = requests.get(f"{silent_stack.api_url}/nothing/here", timeout=HTTP_TIMEOUT_SECONDS)
    wrong_method = requests.get(
        f"{silent_stack.api_url}/callbacks/voice/{new_id()}/signature", timeout=HTTP_TIMEOUT_SECONDS
    )

    # As a REST API does: no route for this path or method is "Missing Authentication Token".
    for response in (unknown, wrong_method):
        assert response.status_code == 403
        assert response.json() == {"error": "Missing Authentication Token", "details": []}
