"""Callback recording through the API route, against the real (moto) table from template.yaml.

Callbacks are bound to their campaign's dispatched recipients: each test dispatches a campaign
with the product's own functions first, then posts callbacks as the provider would."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import TestStack
from tests.workflow.support import Campaigns
from voice_status.campaign.model import Message
from voice_status.signing import sign_campaign

NUMBERS = [f"+30690000000{digit}" for digit in range(1, 8)]


def callback(message_id: str, status: str, second: int, to: str = NUMBERS[0], **extra: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "to": to,
        "from": "+302100000000",
        "status": {"name": status, "updatedDate": f"2026-11-27T09:00:{second:02d}.000Z"},
        **extra,
    }


class Callbacks:
    def __init__(self, campaigns: Campaigns, campaign_id: str) -> None:
        self.campaigns = campaigns
        self.stack = campaigns.stack
        self.campaign_id = campaign_id
        self.path = f"/callbacks/voice/{campaign_id}/{sign_campaign(self.stack.secret(), campaign_id)}"

    def post(self, body: Any, campaign_id: str | None = None) -> Any:
        path = self.path if campaign_id is None else self.path_of(campaign_id)
        return self.stack.api("POST", path, body, headers={"Content-Type": "application/json"})

    def path_of(self, campaign_id: str) -> str:
        return f"/callbacks/voice/{campaign_id}/{sign_campaign(self.stack.secret(), campaign_id)}"

    def message(self, message_id: str) -> Message:
        message = self.campaigns.store.get_message(message_id)
        assert message is not None
        return message

    def counts(self, campaign_id: str | None = None) -> dict[str, Any]:
        return self.campaigns.counts(campaign_id or self.campaign_id)


@pytest.fixture
def callbacks(campaigns: Campaigns) -> Callbacks:
    return Callbacks(campaigns, campaigns.dispatched(NUMBERS))


def test_in_order_callbacks_walk_the_message_to_its_final_status(callbacks: Callbacks) -> None:
    for second, status in enumerate(["Queued", "Initiated", "Ringing", "InProgress"]):
        response = callbacks.post(callback("m-1", status, second))
        assert (response.status_code, response.body) == (
            200,
            {"messageId": "m-1", "status": status, "applied": True},
        )
    final = callbacks.post(callback("m-1", "Completed", 30, duration=23, price=0.021))
    assert final.body == {"messageId": "m-1", "status": "Completed", "applied": True}
    message = callbacks.message("m-1")
    assert message.final and message.final_at == "2026-11-27T09:00:30.000Z"
    assert (message.duration, message.price, message.to) == (23, 0.021, NUMBERS[0])
    assert callbacks.counts()["final"] == {"Completed": 1}


def test_out_of_order_and_duplicate_callbacks_keep_the_furthest_status_and_full_history(
    callbacks: Callbacks,
) -> None:
    assert callbacks.post(callback("m-2", "Ringing", 4)).body["applied"] is True
    stale = callbacks.post(callback("m-2", "Initiated", 2))
    assert (stale.status_code, stale.body["status"], stale.body["applied"]) == (200, "Ringing", False)
    assert callbacks.post(callback("m-2", "Ringing", 4)).body["applied"] is False
    assert callbacks.post(callback("m-2", "Queued", 0)).body["status"] == "Ringing"

    history = callbacks.stack.api("GET", "/messages/m-2").body["history"]
    assert history == [
        {"status": "Queued", "at": "2026-11-27T09:00:00.000Z"},
        {"status": "Initiated", "at": "2026-11-27T09:00:02.000Z"},
        {"status": "Ringing", "at": "2026-11-27T09:00:04.000Z"},
    ]


def test_final_status_is_terminal_and_counted_exactly_once(callbacks: Callbacks) -> None:
    assert callbacks.post(callback("m-3", "Busy", 5)).body["status"] == "Busy"
    for body in (callback("m-3", "Busy", 5), callback("m-3", "Completed", 9), callback("m-3", "Ringing", 3)):
        response = callbacks.post(body)
        assert (response.status_code, response.body["status"], response.body["applied"]) == (
            200,
            "Busy",
            False,
        )
    message = callbacks.message("m-3")
    assert message.status == "Busy"
    assert [status for status, _ in message.ordered_history()] == ["Ringing", "Busy", "Completed"]
    busy = callbacks.stack.api("GET", f"/campaigns/{callbacks.campaign_id}/messages", query="status=Busy")
    assert [item["messageId"] for item in busy.body["items"]] == ["m-3"]
    assert callbacks.counts()["final"] == {"Busy": 1}


def test_counters_per_final_status_across_messages(callbacks: Callbacks) -> None:
    outcomes = {"a": "Completed", "b": "Completed", "c": "NoAnswer", "d": "Unsent", "e": "Terminated"}
    for (message_id, status), to in zip(outcomes.items(), NUMBERS, strict=False):
        for _ in range(2):  # every final callback delivered twice
            callbacks.post(callback(message_id, status, 10, to=to))
    assert callbacks.counts() == {
        "total": len(NUMBERS),
        "pending": 2,
        "final": {"Completed": 2, "NoAnswer": 1, "Unsent": 1, "Terminated": 1},
    }


def test_loosely_spelled_status_names_are_understood(callbacks: Callbacks) -> None:
    response = callbacks.post(callback("m-4", "no answer", 8))
    assert response.body == {"messageId": "m-4", "status": "NoAnswer", "applied": True}


# ----- integrity: a callback touches only its own campaign's recipients -----


def test_a_callback_cannot_touch_another_campaigns_message(
    callbacks: Callbacks, campaigns: Campaigns
) -> None:
    other = campaigns.dispatched(["+306911111111"])
    assert callbacks.post(callback("mine-1", "Ringing", 1)).status_code == 200

    # B's valid URL, A's message id and A's number: A's number is not one of B's recipients.
    forged = callbacks.post(callback("mine-1", "Busy", 2), campaign_id=other)
    assert forged.status_code == 404 and forged.body["error"]
    # B's valid URL, A's message id, B's own number: the id belongs to another campaign's message.
    stolen = callbacks.post(callback("mine-1", "Busy", 2, to="+306911111111"), campaign_id=other)
    assert stolen.status_code == 409 and stolen.body["error"]

    assert callbacks.message("mine-1").status == "Ringing"
    assert callbacks.counts()["final"] == {} and callbacks.counts(other)["final"] == {}
    listed = callbacks.stack.api("GET", f"/campaigns/{other}/messages").body["items"]
    assert [(item["to"], item["messageId"], item["status"]) for item in listed] == [
        ("+306911111111", None, "Queued")
    ]


def test_invented_message_ids_never_inflate_the_counts(callbacks: Callbacks) -> None:
    assert callbacks.post(callback("real-1", "Completed", 1)).status_code == 200
    for invented in ("made-up-1", "made-up-2", "made-up-3"):
        answer = callbacks.post(callback(invented, "Completed", 2))  # the same recipient, other ids
        assert answer.status_code == 409
    unknown = callbacks.post(callback("made-up-4", "Completed", 2, to="+306999999999"))
    assert unknown.status_code == 404

    counts = callbacks.counts()
    assert counts["final"] == {"Completed": 1}
    assert sum(counts["final"].values()) <= counts["total"]
    for invented in ("made-up-1", "made-up-2", "made-up-3", "made-up-4"):
        assert callbacks.stack.api("GET", f"/messages/{invented}").status_code == 404


def test_a_message_id_stays_with_its_first_recipient(callbacks: Callbacks) -> None:
    assert callbacks.post(callback("shared-id", "Ringing", 1, to=NUMBERS[1])).status_code == 200
    taken = callbacks.post(callback("shared-id", "Ringing", 1, to=NUMBERS[2]))
    assert taken.status_code == 409
    assert callbacks.stack.api("GET", "/messages/shared-id").body["to"] == NUMBERS[1]


def test_every_recipient_is_listed_from_dispatch_on(callbacks: Callbacks) -> None:
    callbacks.post(callback("m-10", "Completed", 3, to=NUMBERS[6]))
    queued = callbacks.stack.api("GET", f"/campaigns/{callbacks.campaign_id}/messages", query="status=Queued")
    assert sorted(item["to"] for item in queued.body["items"]) == NUMBERS[:6]
    assert all(item["messageId"] is None and item["history"] == [] for item in queued.body["items"])


def _scan(stack: TestStack) -> list[dict]:
    return stack.client("dynamodb").scan(TableName=stack.outputs["TableName"], ConsistentRead=True)["Items"]


@pytest.mark.parametrize(
    ("mutate", "status_code"),
    [
        (lambda path, body: (path.rsplit("/", 1)[0] + "/not-the-signature", body), 403),
        (lambda path, body: (path.replace("/voice/", "/voice/x", 1), body), 403),
        (lambda path, body: (path, "{not json"), 400),
        (lambda path, body: (path, json.dumps({"messageId": "m-9"})), 422),
        (lambda path, body: (path, json.dumps(callback("m-9", "Delivered", 1))), 422),
        (
            lambda path, body: (
                path,
                json.dumps(
                    callback("m-9", "Queued", 1) | {"status": {"name": "Queued", "updatedDate": "later"}}
                ),
            ),
            422,
        ),
        (lambda path, body: (path, json.dumps(callback("m-9", "Queued", 1, to="+30690000000\u0660"))), 422),
        (lambda path, body: (path, json.dumps(callback("m-9", "Queued", 1, to="+306999999999"))), 404),
        (
            lambda path, body: (path, json.dumps(callback("m-9", "Queued", 1) | {"padding": "x" * 70_000})),
            413,
        ),
    ],
    ids=[
        "bad-signature",
        "signature-of-other-campaign",
        "not-json",
        "missing-status",
        "unknown-status",
        "bad-date",
        "non-ascii-digit",
        "not-a-recipient",
        "too-large",
    ],
)
def test_rejected_callbacks_answer_with_json_errors_and_write_nothing(
    callbacks: Callbacks, mutate: Any, status_code: int
) -> None:
    before = _scan(callbacks.stack)
    path, body = mutate(callbacks.path, json.dumps(callback("m-9", "Queued", 1)))
    response = callbacks.stack.api("POST", path, body)
    assert response.status_code == status_code
    assert isinstance(response.body, dict) and response.body["error"]
    if status_code == 422:
        assert response.body["details"] and all("field" in detail for detail in response.body["details"])
    assert _scan(callbacks.stack) == before


def test_a_campaign_that_is_not_waiting_is_not_woken(callbacks: Callbacks) -> None:
    """A final callback for a campaign with no stored task token records and answers normally."""
    response = callbacks.post(callback("m-5", "Completed", 30))
    assert response.status_code == 200 and response.body["applied"] is True


def test_a_storage_failure_answers_500_json_so_the_provider_retries(
    callbacks: Callbacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = callbacks.stack.functions.module("CallbackFunction")

    def unavailable(*_: Any, **__: Any) -> None:
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(module.store, "record_report", unavailable)
    response = callbacks.post(callback("m-6", "Queued", 1))
    assert (response.status_code, response.body) == (500, {"error": "internal error", "details": []})
