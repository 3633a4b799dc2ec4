"""Callback recording through the API route, against the real (moto) table from template.yaml."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import TestStack
from voice_status.repository import CampaignRepository, MessageRepository
from voice_status.signing import sign_campaign
from voice_status.views import message_view

CAMPAIGN = "campaign-0001"


def callback(message_id: str, status: str, second: int, **extra: Any) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "to": "+306900000001",
        "from": "+302100000000",
        "status": {"name": status, "updatedDate": f"2026-11-27T09:00:{second:02d}.000Z"},
        **extra,
    }


class Callbacks:
    def __init__(self, stack: TestStack, campaign_id: str = CAMPAIGN) -> None:
        self.stack = stack
        self.campaign_id = campaign_id
        self.path = f"/callbacks/voice/{campaign_id}/{sign_campaign(stack.secret(), campaign_id)}"

    def post(self, body: Any) -> Any:
        return self.stack.api("POST", self.path, body, headers={"Content-Type": "application/json"})

    def message(self, message_id: str) -> dict[str, Any]:
        item = MessageRepository(self.stack.client("dynamodb"), self.stack.outputs["TableName"]).get(
            message_id
        )
        assert item is not None
        return item

    def counts(self) -> dict[str, int]:
        _, counts = CampaignRepository(
            self.stack.client("dynamodb"), self.stack.outputs["TableName"]
        ).get_with_counts(self.campaign_id)
        return counts.final


@pytest.fixture
def callbacks(stack: TestStack) -> Callbacks:
    return Callbacks(stack)


def test_in_order_callbacks_walk_the_message_to_its_final_status(callbacks: Callbacks) -> None:
    for second, status in enumerate(["Queued", "Initiated", "Ringing", "InProgress"]):
        response = callbacks.post(callback("m-1", status, second))
        assert (response.status_code, response.body) == (
            200,
            {"messageId": "m-1", "status": status, "applied": True},
        )
    final = callbacks.post(callback("m-1", "Completed", 30, duration=23, price=0.021))
    assert final.body == {"messageId": "m-1", "status": "Completed", "applied": True}
    item = callbacks.message("m-1")
    assert item["final"] is True and item["finalAt"] == "2026-11-27T09:00:30.000Z"
    assert (item["duration"], item["price"], item["to"]) == (23, 0.021, "+306900000001")
    assert callbacks.counts() == {"Completed": 1}


def test_out_of_order_and_duplicate_callbacks_keep_the_furthest_status_and_full_history(
    callbacks: Callbacks,
) -> None:
    assert callbacks.post(callback("m-2", "Ringing", 4)).body["applied"] is True
    stale = callbacks.post(callback("m-2", "Initiated", 2))
    assert (stale.status_code, stale.body["status"], stale.body["applied"]) == (200, "Ringing", False)
    assert callbacks.post(callback("m-2", "Ringing", 4)).body["applied"] is False
    assert callbacks.post(callback("m-2", "Queued", 0)).body["status"] == "Ringing"

    history = message_view(callbacks.message("m-2"))["history"]
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
    item = callbacks.message("m-3")
    assert item["status"] == "Busy" and item["gsi1sk"] == "Busy#m-3"
    assert {"h#Busy", "h#Completed", "h#Ringing"} <= set(item)
    assert callbacks.counts() == {"Busy": 1}


def test_counters_per_final_status_across_messages(callbacks: Callbacks) -> None:
    outcomes = {"a": "Completed", "b": "Completed", "c": "NoAnswer", "d": "Unsent", "e": "Terminated"}
    for message_id, status in outcomes.items():
        for _ in range(2):  # every final callback delivered twice
            callbacks.post(callback(message_id, status, 10))
    assert callbacks.counts() == {"Completed": 2, "NoAnswer": 1, "Unsent": 1, "Terminated": 1}


def test_loosely_spelled_status_names_are_understood(callbacks: Callbacks) -> None:
    response = callbacks.post(callback("m-4", "no answer", 8))
    assert response.body == {"messageId": "m-4", "status": "NoAnswer", "applied": True}


def _scan(stack: TestStack) -> list[dict]:
    return stack.client("dynamodb").scan(TableName=stack.outputs["TableName"])["Items"]


@pytest.mark.parametrize(
    ("mutate", "status_code"),
    [
        (lambda path, body: (path.rsplit("/", 1)[0] + "/not-the-signature", body), 403),
        (lambda path, body: (path.replace(CAMPAIGN, "campaign-0002"), body), 403),
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
        "too-large",
    ],
)
def test_rejected_callbacks_answer_with_json_errors_and_write_nothing(
    callbacks: Callbacks, mutate: Any, status_code: int
) -> None:
    path, body = mutate(callbacks.path, json.dumps(callback("m-9", "Queued", 1)))
    response = callbacks.stack.api("POST", path, body)
    assert response.status_code == status_code
    assert isinstance(response.body, dict) and response.body["error"]
    if status_code == 422:
        assert response.body["details"] and all("field" in detail for detail in response.body["details"])
    assert _scan(callbacks.stack) == []


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

    monkeypatch.setattr(module.messages, "record", unavailable)
    response = callbacks.post(callback("m-6", "Queued", 1))
    assert (response.status_code, response.body) == (500, {"error": "internal error"})
