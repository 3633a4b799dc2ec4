"""Hostile input through the template's API routes: each case gets a 4xx in the contract's shape
and writes nothing, whatever state its campaign is in.

One stack serves the module: a real campaign is created through the API, scheduled and then
cancelled, so its workflow has ended before any case runs (nothing else writes meanwhile), and
callbacks carry a valid signature for a real campaign and reach the body checks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.api import api_routes, match_route, proxy_event
from local.functions import LambdaContext
from tests.conftest import ApiResponse, TestStack
from voice_status.campaign.model import execution_arn
from voice_status.signing import sign_campaign

HEADERS = {"Host": "api.example.test", "Content-Type": "application/json"}
DEADLINE_SECONDS = 30.0
ARABIC_INDIC = "+3069" + "".join(chr(0x0660 + int(digit)) for digit in "00000001")
FULL_WIDTH = "+3069" + "".join(chr(0xFF10 + int(digit)) for digit in "00000001")


def _callback(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messageId": "hostile-1",
        "to": "+306900000001",
        "status": {"name": "Completed", "updatedDate": "2026-11-27T09:00:30.000Z"},
        "duration": 23,
        "price": 0.021,
    }
    status_changes = changes.pop("status", {})
    body["status"] = {**body["status"], **status_changes}
    return {**body, **changes}


def _campaign(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Hostile",
        "from": "+302100000000",
        "message": {"text": "Hello."},
        "recipients": ["+306900000001"],
        **changes,
    }


def _raw(text: str) -> str:
    """A body sent as written (for what json.dumps would never produce)."""
    return text


# (case id, body as JSON value or raw str/bytes, expected status)
CALLBACK_CASES: list[tuple[str, Any, int]] = [
    ("not UTF-8", b'{"messageId": "\xff\xfe"}', 400),
    ("nested 30,000 levels", _raw("[" * 30_000 + "]" * 30_000), 400),
    ("nested objects", _raw('{"a":' * 5_000 + "1" + "}" * 5_000), 400),
    ("not JSON", _raw("{messageId: m}"), 400),
    ("price Infinity literal", _raw(json.dumps(_callback()).replace("0.021", "Infinity")), 400),
    ("price NaN literal", _raw(json.dumps(_callback()).replace("0.021", "NaN")), 400),
    ("price 1e999 (infinite once parsed)", _raw(json.dumps(_callback()).replace("0.021", "1e999")), 422),
    ("price NaN as text", _callback(price="NaN"), 422),
    ("price 1e308", _callback(price=1e308), 422),
    ("price negative", _callback(price=-0.01), 422),
    ("duration 10^40", _callback(duration=10**40), 422),
    ("duration 1e308", _callback(duration=1e308), 422),
    ("duration negative", _callback(duration=-1), 422),
    ("integer of 5,000 digits", _raw(json.dumps(_callback()).replace("23", "9" * 5_000)), 400),
    ("updatedDate year 1 with a zone", _callback(status={"updatedDate": "0001-01-01T00:00:00+01:00"}), 422),
    ("updatedDate year 9999 behind UTC", _callback(status={"updatedDate": "9999-12-31T23:59:59-01:00"}), 422),
    ("updatedDate before 2000", _callback(status={"updatedDate": "1999-12-31T23:59:59Z"}), 422),
    ("updatedDate over 100 years ahead", _callback(status={"updatedDate": "2200-01-01T00:00:00Z"}), 422),
    ("updatedDate numeric", _callback(status={"updatedDate": 5}), 422),
    ("createdAt year 1 with a zone", _callback(createdAt="0001-01-01T00:00:00+01:00"), 422),
    ("createdAt numeric", _callback(createdAt=1_700_000_000), 422),
    ("to in Arabic-Indic digits", _callback(to=ARABIC_INDIC), 422),
    ("to in full-width digits", _callback(to=FULL_WIDTH), 422),
    ("to not E.164", _callback(to="6900000001"), 422),
    ("messageId of 10,000 characters", _callback(messageId="m" * 10_000), 422),
    ("messageId with non-ASCII letters", _callback(messageId="mé"), 422),
    ("status name of 10,000 characters", _callback(status={"name": "Q" * 10_000}), 422),
    ("operator of 10,000 characters", _callback(operator="o" * 10_000), 422),
    ("body over 64 KiB", _callback(padding="x" * 70_000), 413),
    ("JSON array, not an object", [1, 2], 422),
    ("JSON null", None, 422),
]

CAMPAIGN_CASES: list[tuple[str, Any, int]] = [
    ("not UTF-8", b'{"name": "\xff"}', 400),
    ("nested 30,000 levels", _raw("[" * 30_000 + "]" * 30_000), 400),
    ("nested inside a field", _raw('{"name": ' + "[" * 30_000 + "]" * 30_000 + "}"), 400),
    ("NaN literal", _raw(json.dumps(_campaign()).replace("}", ', "completionTimeoutSeconds": NaN}', 1)), 400),
    ("recipient in Arabic-Indic digits", _campaign(recipients=[ARABIC_INDIC]), 422),
    ("recipient in full-width digits", _campaign(recipients=["+306900000001", FULL_WIDTH]), 422),
    ("from in Arabic-Indic digits", _campaign(**{"from": ARABIC_INDIC}), 422),
    ("recipient with a trailing newline", _campaign(recipients=["+306900000001\n"]), 422),
    ("completionTimeoutSeconds 1e308", _campaign(completionTimeoutSeconds=1e308), 422),
    ("scheduledAt numeric", _campaign(scheduledAt=5), 422),
]


class Hostile:
    """A real campaign waiting in Sent, and requests sent to its routes as API Gateway would."""

    def __init__(self, stack: TestStack) -> None:
        self.stack = stack
        later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        created = stack.api("POST", "/campaigns", _campaign(scheduledAt=later), headers=HEADERS)
        assert created.status_code == 201, created.body
        self.campaign_id = created.body["campaignId"]
        signature = sign_campaign(stack.secret(), self.campaign_id)
        self.callback_path = f"/callbacks/voice/{self.campaign_id}/{signature}"
        self._cancel_and_wait_until_the_workflow_ended()

    def _cancel_and_wait_until_the_workflow_ended(self) -> None:
        # Snapshots are compared while nothing else writes: cancel, then wait for the execution's end.
        cancelled = self.stack.api("DELETE", f"/campaigns/{self.campaign_id}")
        assert cancelled.status_code == 200, cancelled.body
        execution = execution_arn(self.stack.outputs["CampaignStateMachineArn"], self.campaign_id)
        stepfunctions = self.stack.client("stepfunctions")
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if stepfunctions.describe_execution(executionArn=execution)["status"] != "RUNNING":
                return
            time.sleep(0.05)
        pytest.fail(f"the campaign's workflow did not end within {DEADLINE_SECONDS} s")

    def send(self, method: str, path: str, body: Any, *, base64_body: str | None = None) -> ApiResponse:
        raw = body if isinstance(body, str | bytes) else json.dumps(body)
        found = match_route(api_routes(self.stack.functions.specs), method, path)
        assert found is not None
        route, parameters = found
        event = proxy_event(route, path, parameters, body=raw, headers=HEADERS)
        if base64_body is not None:
            event.update(body=base64_body, isBase64Encoded=True)
        return self.stack.api_event(route.function, event)

    def snapshot(self) -> list[Any]:
        dynamodb = self.stack.client("dynamodb")
        tables = [self.stack.outputs["TableName"], self.stack.outputs["IdempotencyTableName"]]
        return [sorted(map(repr, dynamodb.scan(TableName=table)["Items"])) for table in tables]


@pytest.fixture(scope="module")
def hostile(module_stack: TestStack) -> Hostile:
    return Hostile(module_stack)


def _assert_rejected(hostile: Hostile, send: Callable[[], ApiResponse], status_code: int) -> ApiResponse:
    before = hostile.snapshot()
    response = send()
    assert response.status_code == status_code, response.body
    assert response.headers.get("Content-Type") == "application/json"
    assert isinstance(response.body, dict) and isinstance(response.body["error"], str), response.body
    if status_code == 422:
        assert isinstance(response.body["details"], list) and response.body["details"]
    assert hostile.snapshot() == before, "a rejected request wrote something"
    return response


@pytest.mark.parametrize(
    ("body", "status_code"), [case[1:] for case in CALLBACK_CASES], ids=[c[0] for c in CALLBACK_CASES]
)
def test_hostile_callback_is_rejected_and_writes_nothing(
    hostile: Hostile, body: Any, status_code: int
) -> None:
    _assert_rejected(hostile, lambda: hostile.send("POST", hostile.callback_path, body), status_code)


@pytest.mark.parametrize(
    ("body", "status_code"), [case[1:] for case in CAMPAIGN_CASES], ids=[c[0] for c in CAMPAIGN_CASES]
)
def test_hostile_campaign_is_rejected_and_creates_nothing(
    hostile: Hostile, body: Any, status_code: int
) -> None:
    _assert_rejected(hostile, lambda: hostile.send("POST", "/campaigns", body), status_code)


@pytest.mark.parametrize("path", ["/campaigns", "CALLBACK"])
@pytest.mark.parametrize("encoded", ["not base64!", "e30"], ids=["bad characters", "bad padding"])
def test_invalid_base64_body_is_a_400(hostile: Hostile, path: str, encoded: str) -> None:
    target = hostile.callback_path if path == "CALLBACK" else path
    _assert_rejected(hostile, lambda: hostile.send("POST", target, "", base64_body=encoded), 400)


def test_a_callback_with_a_valid_signature_but_bad_body_never_reaches_storage_even_if_the_message_exists(
    hostile: Hostile,
) -> None:
    """Rejection does not depend on campaign state: the same hostile body, again, after a good one."""
    good = hostile.send("POST", hostile.callback_path, _callback(messageId="hostile-known"))
    assert good.status_code < 500, good.body
    _assert_rejected(
        hostile,
        lambda: hostile.send(
            "POST", hostile.callback_path, _callback(messageId="hostile-known", duration=10**40)
        ),
        422,
    )


def test_price_below_dynamodb_range_is_kept_to_six_decimals_not_a_500(hostile: Hostile) -> None:
    response = hostile.send("POST", hostile.callback_path, _callback(messageId="hostile-tiny", price=1e-300))
    assert response.status_code < 500, response.body


def test_a_concurrent_repeat_of_an_idempotency_key_is_told_to_retry_then_gets_the_same_campaign(
    hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """409 is for another body; the same request arriving while the first runs gets 429 + Retry-After."""
    functions = hostile.stack.functions
    api = functions.module("CampaignsApiFunction")
    headers = {**HEADERS, "Idempotency-Key": "concurrent-1"}
    body = _campaign(name="Concurrent")
    repeats: list[dict[str, Any]] = []
    create = api._create_campaign

    def create_while_a_repeat_arrives(*args: Any) -> Any:
        # The repeat runs while the first request is between its idempotency record and its answer
        # (called directly: the local invoke lock would serialise the two).
        found = match_route(api_routes(functions.specs), "POST", "/campaigns")
        assert found is not None
        event = proxy_event(found[0], "/campaigns", {}, body=json.dumps(body), headers=headers)
        repeats.append(api.lambda_handler(event, LambdaContext(functions.spec_for("CampaignsApiFunction"))))
        return create(*args)

    monkeypatch.setattr(api, "_create_campaign", create_while_a_repeat_arrives)
    first = hostile.stack.api("POST", "/campaigns", body, headers=headers)
    monkeypatch.undo()

    assert first.status_code == 201, first.body
    [repeat] = repeats
    assert repeat["statusCode"] == 429
    assert repeat["multiValueHeaders"]["Retry-After"] == ["1"]
    assert "still in progress" in json.loads(repeat["body"])["error"]
    later = hostile.stack.api("POST", "/campaigns", body, headers=headers)
    assert (later.status_code, later.body["campaignId"]) == (201, first.body["campaignId"])
