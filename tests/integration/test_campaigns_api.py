"""The campaign and message API (CONTRACT.md section 3) through the template's routes, in moto.

The campaign state machine is tested elsewhere; these tests assert that its execution was
started (by name = campaignId, with the agreed input) and what the API stored, never how far
the workflow got. Campaigns that must stay in one status are created with the product's own
service functions without a workflow (tests/workflow/support.py), so no execution can move them
while a test looks.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import openapi_spec_validator
import pytest

from local.api import api_routes, match_route, proxy_event
from tests.conftest import TestStack
from tests.sample_events import (
    API_STATUS_CODES,
    check_api_samples,
    in_process,
    prepare_api_samples,
    sample_files,
)
from tests.workflow.support import Campaigns
from voice_status.campaign.model import execution_arn
from voice_status.signing import callback_url, sign_campaign
from voice_status.statuses import CampaignStatus
from voice_status.timeutil import to_iso

HOST = "api.example.test"
BASE_URL = f"https://{HOST}/dev"  # what the API derives from the request when CALLBACK_BASE_URL is empty


def _body(recipients: list[str] | None = None, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Flu shot reminder",
        "from": "+302100000000",
        "message": {"text": "Your appointment is tomorrow.", "language": "en-US", "gender": "female"},
        "recipients": recipients or ["+306900000001", "+306900000002"],
        **changes,
    }


def _numbers(count: int) -> list[str]:
    return [f"+3069{index:08d}" for index in range(count)]


def _create(stack: TestStack, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Host": HOST, "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return stack.api("POST", "/campaigns", body, headers=headers)


def _execution_arn(stack: TestStack, campaign_id: str) -> str:
    return execution_arn(stack.outputs["CampaignStateMachineArn"], campaign_id)


def _executions(stack: TestStack) -> list[dict[str, Any]]:
    machine = stack.outputs["CampaignStateMachineArn"]
    return list(stack.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"])


def _listed_campaigns(stack: TestStack) -> list[str]:
    """Every stored campaign's id, newest first, as GET /campaigns lists them."""
    response = stack.api("GET", "/campaigns", query="limit=100")
    assert response.status_code == 200, response.body
    return [item["campaignId"] for item in response.body["items"]]


def _seed(
    stack: TestStack, status: CampaignStatus = CampaignStatus.QUEUED, campaign_id: str | None = None
) -> str:
    """A campaign with no workflow, walked to `status` the way the state machine moves it."""
    campaigns = Campaigns(stack)
    scheduled = status == CampaignStatus.SCHEDULED
    created = campaigns.create(
        ["+306900000001", "+306900000002"],
        seconds_until_start=3600 if scheduled else 0,
        start=False,
        campaign_id=campaign_id,
    )
    campaigns.advance(created, status)
    return created


def _callback(stack: TestStack, campaign_id: str, message_id: str, status: str, at: str, to: str) -> None:
    signature = sign_campaign(stack.secret(), campaign_id)
    body = {
        "messageId": message_id,
        "to": to,
        "from": "+302100000000",
        "status": {"name": status, "updatedDate": at},
        "duration": 23,
        "price": 0.021,
    }
    response = stack.api("POST", f"/callbacks/voice/{campaign_id}/{signature}", body)
    assert response.status_code == 200, response.body


def _assert_error(response: Any, status_code: int) -> None:
    assert response.status_code == status_code, response.body
    assert response.headers.get("Content-Type") == "application/json"
    assert isinstance(response.body["error"], str) and response.body["error"]
    assert isinstance(response.body["details"], list)


# ----- create -----


def test_create_stores_the_campaign_and_its_chunks_and_starts_the_workflow(stack: TestStack) -> None:
    recipients = [*_numbers(2500), *_numbers(10)]  # 10 duplicates
    response = _create(stack, _body(recipients, completionTimeoutSeconds=600))

    assert response.status_code == 201, response.body
    view = response.body
    campaign_id = view["campaignId"]
    assert view["status"] == "Queued"
    assert view["statusHistory"] == [{"status": "Queued", "at": view["createdAt"]}]
    assert view["scheduledAt"] is None
    assert view["failureReason"] is None
    assert view["counts"] == {"total": 2500, "pending": 2500, "final": {}}
    assert view["callbackUrl"] == callback_url(BASE_URL, campaign_id, stack.secret())

    store = Campaigns(stack).store
    chunks = list(store.pending_chunks(campaign_id, 0, 10))
    assert [len(chunk.recipients) for chunk in chunks] == [1000, 1000, 500]
    assert [number for chunk in chunks for number in chunk.recipients] == _numbers(2500)

    stored = store.get(campaign_id)
    assert stored is not None
    assert (stored.total, stored.chunk_count) == (2500, 3)
    assert stored.callback_url == view["callbackUrl"]
    assert stored.execution_arn == _execution_arn(stack, campaign_id)

    execution = stack.client("stepfunctions").describe_execution(
        executionArn=_execution_arn(stack, campaign_id)
    )
    assert execution["name"] == campaign_id
    assert json.loads(execution["input"]) == {
        "campaignId": campaign_id,
        "scheduledAt": None,
        "secondsUntilStart": 0,
        "completionTimeoutSeconds": 600,
    }

    assert stack.api("GET", f"/campaigns/{campaign_id}").body["campaignId"] == campaign_id


def test_a_future_start_is_scheduled_and_the_workflow_is_told_how_long_to_wait(stack: TestStack) -> None:
    start = datetime.now(UTC) + timedelta(hours=2)
    response = _create(stack, _body(scheduledAt=start.isoformat()))

    assert response.status_code == 201, response.body
    assert response.body["status"] == "Scheduled"
    assert response.body["scheduledAt"] == to_iso(start)
    execution = stack.client("stepfunctions").describe_execution(
        executionArn=_execution_arn(stack, response.body["campaignId"])
    )
    started = json.loads(execution["input"])
    assert started["scheduledAt"] == to_iso(start)
    assert 7100 < started["secondsUntilStart"] <= 7201


def test_an_audio_campaign_with_a_past_start_starts_now(stack: TestStack) -> None:
    body = _body(scheduledAt="2020-01-01T00:00:00+02:00", audioUrl="https://cdn.example.com/reminder.wav")
    del body["message"]
    response = _create(stack, body)
    assert response.status_code == 201, response.body
    assert (response.body["status"], response.body["scheduledAt"]) == ("Queued", None)


def test_the_configured_callback_base_url_wins_over_the_request_host(
    stack: TestStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLBACK_BASE_URL", "https://voice.example.com/")
    view = _create(stack, _body()).body
    assert view["callbackUrl"] == callback_url(
        "https://voice.example.com", view["campaignId"], stack.secret()
    )


# ----- errors -----


INVALID_CAMPAIGNS = [
    ({"name": ""}, "name"),
    ({"from": "2100000000"}, "from"),
    ({"recipients": ["+306900000001", "306900000002"]}, "recipients.1"),
    ({"message": {"text": "x" * 1001}}, "message.text"),
    ({"audioUrl": "https://cdn.example.com/a.wav"}, ""),  # both message and audioUrl
    ({"scheduledAt": "2026-12-01T09:00:00"}, "scheduledAt"),  # no zone
    ({"scheduledAt": to_iso(datetime.now(UTC) + timedelta(days=400))}, "scheduledAt"),
    ({"completionTimeoutSeconds": 604_801}, "completionTimeoutSeconds"),
    ({"priority": "high"}, "priority"),
]


def test_an_invalid_campaign_is_a_422_naming_the_field_and_writes_nothing(stack: TestStack) -> None:
    # One stack for all cases: each case must leave it empty anyway.
    for changes, field in INVALID_CAMPAIGNS:
        response = _create(stack, _body(**changes))

        _assert_error(response, 422)
        assert field in [detail["field"] for detail in response.body["details"]], (changes, response.body)
        assert all(detail["in"] == "body" for detail in response.body["details"])
        assert _listed_campaigns(stack) == [], changes
        assert _executions(stack) == [], changes


def test_validation_errors_do_not_echo_the_recipients(stack: TestStack) -> None:
    response = _create(stack, _body(["+306900000001", "06900000002"]))
    _assert_error(response, 422)
    assert "06900000002" not in json.dumps(response.body)


def test_a_body_that_is_not_json_is_a_400(stack: TestStack) -> None:
    response = stack.api(
        "POST", "/campaigns", '{"name": "Flu shot', headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 400)
    assert _listed_campaigns(stack) == []


def test_unknown_ids_are_a_404(stack: TestStack) -> None:
    unknown = "3c0d4a1e-0000-4000-8000-000000000000"
    for method, path in [
        ("GET", f"/campaigns/{unknown}"),
        ("DELETE", f"/campaigns/{unknown}"),
        ("GET", f"/campaigns/{unknown}/messages"),
        ("GET", "/messages/no-such-message"),
    ]:
        _assert_error(stack.api(method, path), 404)


def test_bad_list_parameters_are_a_422(stack: TestStack) -> None:
    campaign_id = _seed(stack)
    for query, field in [
        ("status=Delivered", "status"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
    ]:
        response = stack.api("GET", f"/campaigns/{campaign_id}/messages", query=query)
        _assert_error(response, 422)
        assert response.body["details"][0]["in"] == "query", query
        assert response.body["details"][0]["field"] == field, query


def test_a_next_token_not_issued_for_this_listing_is_a_400(stack: TestStack) -> None:
    campaigns = Campaigns(stack)
    one, two = (campaigns.dispatched(_numbers(3)) for _ in range(2))
    token_of_one = stack.api("GET", f"/campaigns/{one}/messages", query="limit=1").body["nextToken"]
    assert token_of_one
    campaigns_token = stack.api("GET", "/campaigns", query="limit=1").body["nextToken"]
    assert campaigns_token

    for token in ("not-a-token", "eyJwayI6IDF9", token_of_one, campaigns_token):
        _assert_error(stack.api("GET", f"/campaigns/{two}/messages", query=f"nextToken={token}"), 400)
    # The same token with another status filter than the one it was issued under.
    _assert_error(
        stack.api("GET", f"/campaigns/{one}/messages", query=f"status=Busy&nextToken={token_of_one}"), 400
    )
    # A message listing's token is no campaign listing's token.
    _assert_error(stack.api("GET", "/campaigns", query=f"nextToken={token_of_one}"), 400)


# ----- idempotency -----


def test_the_same_idempotency_key_and_body_return_the_same_campaign_once(stack: TestStack) -> None:
    first = _create(stack, _body(), key="order-42")
    again = _create(stack, _body(), key="order-42")

    assert first.status_code == again.status_code == 201
    assert again.body["campaignId"] == first.body["campaignId"]
    assert _listed_campaigns(stack) == [first.body["campaignId"]]
    assert [execution["name"] for execution in _executions(stack)] == [first.body["campaignId"]]


def test_the_same_idempotency_key_with_another_body_is_a_409(stack: TestStack) -> None:
    first = _create(stack, _body(), key="order-43")
    other = _create(stack, _body(name="Another campaign"), key="order-43")

    _assert_error(other, 409)
    assert _listed_campaigns(stack) == [first.body["campaignId"]]
    assert len(_executions(stack)) == 1


def test_without_an_idempotency_key_every_post_creates_a_campaign(stack: TestStack) -> None:
    ids = {_create(stack, _body()).body["campaignId"] for _ in range(2)}
    assert len(ids) == 2
    assert set(_listed_campaigns(stack)) == ids


def test_different_idempotency_keys_create_different_campaigns(stack: TestStack) -> None:
    first = _create(stack, _body(), key="order-44")
    second = _create(stack, _body(), key="order-45")
    assert first.body["campaignId"] != second.body["campaignId"]


def test_idempotency_keys_are_scoped_to_the_caller(stack: TestStack) -> None:
    found = match_route(api_routes(stack.functions.specs), "POST", "/campaigns")
    assert found
    route, _ = found
    ids = set()
    for caller in ("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/bob"):
        event = proxy_event(
            route, "/campaigns", {}, body=json.dumps(_body()), headers={"Idempotency-Key": "k"}
        )
        event["requestContext"]["identity"]["userArn"] = caller
        response = stack.api_event("CampaignsApiFunction", event)
        assert response.status_code == 201, response.body
        ids.add(response.body["campaignId"])
    assert len(ids) == 2


# ----- reading -----


def test_counts_follow_the_callbacks_each_message_counted_once(stack: TestStack) -> None:
    first, second, third = numbers = _numbers(3)
    campaign_id = Campaigns(stack).dispatched(numbers)
    _callback(stack, campaign_id, "m1", "Completed", "2026-03-01T10:00:05Z", first)
    _callback(stack, campaign_id, "m1", "Completed", "2026-03-01T10:00:05Z", first)  # duplicate
    _callback(stack, campaign_id, "m2", "Busy", "2026-03-01T10:00:04Z", second)
    _callback(
        stack, campaign_id, "m2", "Completed", "2026-03-01T10:00:09Z", second
    )  # after final: not counted
    _callback(stack, campaign_id, "m3", "Ringing", "2026-03-01T10:00:02Z", third)

    view = stack.api("GET", f"/campaigns/{campaign_id}").body
    assert view["counts"] == {"total": 3, "pending": 1, "final": {"Completed": 1, "Busy": 1}}


def test_messages_are_listed_by_status_across_pages_without_gaps_or_repeats(stack: TestStack) -> None:
    numbers = iter(_numbers(28))
    campaign_id = Campaigns(stack).dispatched(_numbers(28))
    statuses = {"Completed": 12, "Busy": 8, "Ringing": 5}
    expected: dict[str, set[str]] = {}
    for status, count in statuses.items():
        for index in range(count):
            message_id = f"{status.lower()}-{index:02d}"
            _callback(stack, campaign_id, message_id, status, "2026-03-01T10:00:00Z", next(numbers))
            expected.setdefault(status, set()).add(message_id)

    def all_pages(limit: int, status: str | None = None) -> list[str]:
        seen: list[str] = []
        token = None
        for _ in range(30):
            query = (
                f"limit={limit}"
                + (f"&status={status}" if status else "")
                + (f"&nextToken={token}" if token else "")
            )
            response = stack.api("GET", f"/campaigns/{campaign_id}/messages", query=query)
            assert response.status_code == 200, response.body
            assert len(response.body["items"]) <= limit
            seen += [item["messageId"] or "none" for item in response.body["items"]]
            token = response.body["nextToken"]
            if token is None:
                return seen
        raise AssertionError("listing did not end")

    completed = all_pages(5, "Completed")
    assert sorted(completed) == sorted(expected["Completed"])  # none missing, none twice
    busy = all_pages(3, "BUSY")  # status names are matched loosely
    assert sorted(busy) == sorted(expected["Busy"])
    everything = all_pages(7)
    # Every recipient is listed: three no callback reached yet show Queued with messageId null.
    assert sorted(everything) == sorted([*set().union(*expected.values()), "none", "none", "none"])
    assert all_pages(2, "Queued") == ["none"] * 3
    assert all_pages(10, "no_answer") == []

    page = stack.api("GET", f"/campaigns/{campaign_id}/messages", query="status=Ringing").body
    assert {item["status"] for item in page["items"]} == {"Ringing"}
    assert page["nextToken"] is None
    assert {
        "messageId",
        "campaignId",
        "to",
        "status",
        "final",
        "history",
        "duration",
        "price",
        "updatedAt",
    } <= set(page["items"][0])


def test_a_message_shows_its_history_in_provider_time_order(stack: TestStack) -> None:
    campaign_id = Campaigns(stack).dispatched(["+306900000001"])
    # Delivered out of order and once twice.
    for status, at in [
        ("Ringing", "2026-03-01T10:00:03.000Z"),
        ("Queued", "2026-03-01T10:00:00.000Z"),
        ("Completed", "2026-03-01T10:00:30.000Z"),
        ("Initiated", "2026-03-01T10:00:01.000Z"),
        ("Ringing", "2026-03-01T10:00:03.000Z"),
    ]:
        _callback(stack, campaign_id, "msg-1", status, at, "+306900000001")

    response = stack.api("GET", "/messages/msg-1")

    assert response.status_code == 200, response.body
    message = response.body
    assert message["history"] == [
        {"status": "Queued", "at": "2026-03-01T10:00:00.000Z"},
        {"status": "Initiated", "at": "2026-03-01T10:00:01.000Z"},
        {"status": "Ringing", "at": "2026-03-01T10:00:03.000Z"},
        {"status": "Completed", "at": "2026-03-01T10:00:30.000Z"},
    ]
    assert (message["status"], message["final"], message["campaignId"]) == ("Completed", True, campaign_id)
    assert (message["to"], message["duration"], message["price"]) == ("+306900000001", 23, 0.021)


# ----- cancel -----


def test_cancelling_a_scheduled_campaign_fails_it_as_cancelled(stack: TestStack) -> None:
    start = datetime.now(UTC) + timedelta(days=1)
    campaign_id = _create(stack, _body(scheduledAt=start.isoformat())).body["campaignId"]

    response = stack.api("DELETE", f"/campaigns/{campaign_id}")

    assert response.status_code == 200, response.body
    assert (response.body["status"], response.body["failureReason"]) == ("Failed", "Cancelled")
    assert [entry["status"] for entry in response.body["statusHistory"]] == ["Scheduled", "Failed"]
    assert stack.api("GET", f"/campaigns/{campaign_id}").body["status"] == "Failed"
    _assert_error(stack.api("DELETE", f"/campaigns/{campaign_id}"), 409)


def test_cancelling_a_queued_campaign_fails_it_as_cancelled(stack: TestStack) -> None:
    campaign_id = _seed(stack, CampaignStatus.QUEUED)
    response = stack.api("DELETE", f"/campaigns/{campaign_id}")
    assert response.status_code == 200, response.body
    assert (response.body["status"], response.body["failureReason"]) == ("Failed", "Cancelled")
    assert response.body["updatedAt"] == response.body["statusHistory"][-1]["at"]


def test_cancelling_a_waiting_scheduled_campaign_survives_a_stale_wait_token(stack: TestStack) -> None:
    campaign_id = _seed(stack, CampaignStatus.SCHEDULED)
    assert Campaigns(stack).store.store_schedule_token(campaign_id, "token-of-a-wait-that-already-ended")
    response = stack.api("DELETE", f"/campaigns/{campaign_id}")
    assert response.status_code == 200, response.body
    assert response.body["failureReason"] == "Cancelled"


def test_a_campaign_that_started_cannot_be_cancelled(stack: TestStack) -> None:
    for status in (CampaignStatus.RUNNING, CampaignStatus.SENT, CampaignStatus.FINISHED):
        campaign_id = _seed(stack, status)
        response = stack.api("DELETE", f"/campaigns/{campaign_id}")
        _assert_error(response, 409)
        assert response.body["details"] == [{"field": "status", "message": status.value}]
        assert stack.api("GET", f"/campaigns/{campaign_id}").body["status"] == status.value


# ----- document and sample events -----


def test_the_openapi_document_describes_the_routes(stack: TestStack) -> None:
    response = stack.api("GET", "/openapi.json")

    assert response.status_code == 200
    document = response.body
    assert document["openapi"].startswith("3.")
    openapi_spec_validator.validate(document)  # every $ref resolves, every field is OpenAPI
    paths = document["paths"]
    assert set(paths["/campaigns"]) == {"post", "get"}
    assert set(paths["/campaigns/{campaignId}"]) == {"get", "delete"}
    assert set(paths["/campaigns/{campaignId}/messages"]) == {"get"}
    assert set(paths["/messages/{messageId}"]) == {"get"}
    create = paths["/campaigns"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "CreateCampaignRequest"
    )
    assert {"201", "409", "422"} <= set(create["responses"])
    listed = {
        parameter["name"] for parameter in paths["/campaigns/{campaignId}/messages"]["get"]["parameters"]
    }
    assert {"campaignId", "status", "limit", "nextToken"} <= listed
    callback = paths["/callbacks/voice/{campaignId}/{signature}"]["post"]
    assert {"200", "400", "403", "413", "422"} <= set(callback["responses"])
    status_report = document["components"]["schemas"]["StatusReport"]
    assert {"messageId", "to", "status"} <= set(status_report["required"])


def test_every_sample_event_file_is_covered() -> None:
    assert set(API_STATUS_CODES) == sample_files("campaigns_api")


def test_each_sample_event_gets_the_expected_answer(stack: TestStack) -> None:
    # The set-up and the expectations live in tests/sample_events.py, shared with the container tier.
    prepare_api_samples(stack)
    check_api_samples(stack, in_process(stack))


def test_the_largest_campaign_is_accepted_in_one_request_and_stored_in_chunks(stack: TestStack) -> None:
    numbers = _numbers(100_000)
    response = _create(stack, _body(numbers + numbers[:10]))  # duplicates are removed
    assert response.status_code == 201, response.body
    assert response.body["counts"] == {"total": 100_000, "pending": 100_000, "final": {}}
    chunks = list(Campaigns(stack).store.pending_chunks(response.body["campaignId"], 0, 10))
    assert len(chunks) == 100
    assert sum(len(chunk.recipients) for chunk in chunks) == 100_000
