"""The simulated carrier: lifecycle table, repeat/swap planning, real callback POSTs, tracking API."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from local.carrier import (
    LIFECYCLES,
    SimulatedCarrier,
    delivery,
    expected_outcome,
    lifecycle_for,
    plan_deliveries,
    plan_message,
    tracked_final_status,
)
from tests.unit.httpfakes import CallbackReceiver
from voice_status.reports import StatusReport
from voice_status.statuses import MessageStatus as S

CREATED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TABLE = {
    0: ([S.QUEUED, S.INITIATED, S.RINGING, S.IN_PROGRESS, S.COMPLETED], S.COMPLETED),
    1: ([S.QUEUED, S.INITIATED, S.RINGING, S.IN_PROGRESS, S.COMPLETED], S.COMPLETED),
    2: ([S.QUEUED, S.INITIATED, S.RINGING, S.IN_PROGRESS, S.COMPLETED], S.COMPLETED),
    3: ([S.QUEUED, S.INITIATED, S.RINGING, S.IN_PROGRESS, S.COMPLETED], S.COMPLETED),
    4: ([S.QUEUED, S.INITIATED, S.RINGING, S.BUSY], S.BUSY),
    5: ([S.QUEUED, S.INITIATED, S.RINGING, S.NO_ANSWER], S.NO_ANSWER),
    6: ([S.QUEUED, S.INITIATED, S.FAILED], S.FAILED),
    7: ([S.QUEUED, S.UNSENT], S.UNSENT),
    8: ([S.QUEUED, S.INITIATED, S.RINGING, S.IN_PROGRESS, S.TERMINATED], S.TERMINATED),
    9: ([S.QUEUED, S.INITIATED, S.UNKNOWN], S.COMPLETED),
}
TEN = [f"+30690000000{digit}" for digit in range(10)]


def number(digit: int) -> str:
    return f"+30690000123{digit}"


# --- pure planning ----------------------------------------------------------------------------


@pytest.mark.parametrize("digit", range(10))
def test_lifecycle_by_last_digit_follows_the_contract_table(digit: int) -> None:
    callbacks, tracked = TABLE[digit]
    assert list(lifecycle_for(number(digit))) == callbacks
    assert tracked_final_status(number(digit)) is tracked


def test_only_nine_stops_short_of_a_final_status() -> None:
    endings = {digit: statuses[-1].is_final for digit, statuses in LIFECYCLES.items()}
    assert endings == {digit: digit != 9 for digit in range(10)}


def test_expected_outcome_counts_final_statuses_with_nine_as_completed() -> None:
    recipients = [*TEN, "+306900000010", "+306900000009"]  # one more 0, one repeat of a 9
    assert expected_outcome(recipients) == {
        "Busy": 1,
        "Completed": 6,
        "Failed": 1,
        "NoAnswer": 1,
        "Terminated": 1,
        "Unsent": 1,
    }
    assert SimulatedCarrier.expected_outcome(["+306900000004"]) == {"Busy": 1}


@pytest.mark.parametrize("digit", range(10))
def test_planned_message_has_increasing_times_and_final_figures(digit: int) -> None:
    plan = plan_message(number(digit), CREATED, random.Random(digit))
    times = [planned.at for planned in plan.callbacks]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert plan.created_at < times[0]
    assert plan.tracked.at >= times[-1]
    assert plan.tracked.status is TABLE[digit][1]
    if plan.tracked.status is S.COMPLETED:
        assert plan.duration > 0 and plan.price > 0
    elif plan.tracked.status is not S.TERMINATED:
        assert plan.duration == 0 and plan.price == 0


def test_without_noise_every_callback_goes_once_in_order() -> None:
    order = plan_deliveries(5, 0.0, 0.0, random.Random(1))
    assert [(d.index, d.duplicate, d.out_of_order) for d in order] == [(i, False, False) for i in range(5)]


def test_repeat_and_swap_rates_stay_near_their_settings_for_a_seed() -> None:
    rng = random.Random(7)
    plans = [plan_deliveries(5, 0.05, 0.05, rng) for _ in range(4000)]
    callbacks = 5 * len(plans)
    repeats = sum(d.duplicate for plan in plans for d in plan)
    swapped = sum(d.out_of_order for plan in plans for d in plan)
    assert 0.04 <= repeats / callbacks <= 0.06
    assert 0.03 <= swapped / callbacks <= 0.06
    for plan in plans:  # every callback goes at least once, a repeat never before its original
        assert {d.index for d in plan} == set(range(5))
        assert sum(not d.duplicate for d in plan) == 5


def test_same_seed_same_plan() -> None:
    first = [plan_deliveries(5, 0.3, 0.3, random.Random(3)) for _ in range(3)]
    second = [plan_deliveries(5, 0.3, 0.3, random.Random(3)) for _ in range(3)]
    assert first == second


# --- the running carrier ----------------------------------------------------------------------


def token(carrier: SimulatedCarrier) -> str:
    answer = requests.post(
        carrier.auth_url, data={"grant_type": "client_credentials"}, auth=("app-id", "app-secret"), timeout=5
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["expires_in"] > 0
    return str(body["access_token"])


def submit(carrier: SimulatedCarrier, recipients: list[str], callback_url: str | None) -> requests.Response:
    body: dict[str, Any] = {
        "from": "+302100000000",
        "to": recipients,
        "name": "Flu shot reminder",
        "message": {"text": "Your appointment is tomorrow.", "language": "en-US", "gender": "female"},
    }
    if callback_url:
        body["callback"] = {"url": callback_url, "strategy": "OnChange"}
    headers = {"Authorization": f"Bearer {token(carrier)}"}
    return requests.post(f"{carrier.url}/voice/campaign", json=body, headers=headers, timeout=5)


def quiet_carrier(**settings: Any) -> SimulatedCarrier:
    defaults: dict[str, Any] = {
        "duplicate_rate": 0.0,
        "reorder_rate": 0.0,
        "max_delay_seconds": 0.01,
        "seed": 11,
        "retry_base_delay_seconds": 0.001,
    }
    return SimulatedCarrier(**(defaults | settings))


def by_message(bodies: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for body in bodies:
        grouped[body["messageId"]].append(body)
    return grouped


def test_callbacks_are_posted_with_routee_shapes_and_lifecycle_per_digit() -> None:
    with CallbackReceiver() as receiver, quiet_carrier() as carrier:
        answer = submit(carrier, TEN, receiver.callback_url())
        assert answer.status_code == 200
        accepted = answer.json()
        assert accepted["state"] == "Queued" and accepted["statuses"] == {"Queued": 10}
        assert accepted["trackingId"] and accepted["createdAt"]

        assert carrier.wait_idle(10)
        assert all(request.path == "/callbacks/voice/c-1/SIGNATURE" for request in receiver.requests)
        messages = by_message(receiver.bodies())
        assert len(messages) == 10
        for callbacks in messages.values():
            digit = int(callbacks[0]["to"][-1])
            assert [c["status"]["name"] for c in callbacks] == [str(s) for s in TABLE[digit][0]]
            dates = [c["status"]["updatedDate"] for c in callbacks]
            assert dates == sorted(dates) and len(set(dates)) == len(dates)
            for callback in callbacks:
                assert callback["campaignTrackingId"] == accepted["trackingId"]
                assert callback["audioMessage"]["text"] == "Your appointment is tomorrow."
                report = StatusReport.parse(callback)
                assert report.to == callback["to"] and report.from_ == "+302100000000"
            final = callbacks[-1]
            if final["status"]["name"] == "Completed":
                assert final["duration"] > 0 and final["price"] > 0
            assert "price" in final and "duration" in final
        counters = carrier.counters
        assert counters.callbacks_delivered == counters.callbacks_planned == len(receiver.requests) == 41


def test_every_callback_repeated_and_reordered_when_rates_are_one() -> None:
    with CallbackReceiver() as receiver, quiet_carrier(duplicate_rate=1.0, reorder_rate=1.0) as carrier:
        assert submit(carrier, ["+306900000001"], receiver.callback_url()).status_code == 200
        assert carrier.wait_idle(10)
        names = [body["status"]["name"] for body in receiver.bodies()]
        assert sorted(names) == sorted(2 * ["Queued", "Initiated", "Ringing", "InProgress", "Completed"])
        assert names != sorted(names, key=lambda name: list(S).index(S(name)))  # out of order
        assert carrier.counters.callbacks_duplicated == 5


def test_failed_callbacks_are_retried_and_eventually_abandoned() -> None:
    flaky = CallbackReceiver(status_for=lambda n: 503 if n <= 2 else 200)
    with flaky as receiver, quiet_carrier(delivery_attempts=3) as carrier:
        submit(carrier, ["+306900000007"], receiver.callback_url())  # Queued, Unsent
        assert carrier.wait_idle(10)
        assert [body["status"]["name"] for body in receiver.bodies()] == [
            "Queued",
            "Queued",
            "Queued",
            "Unsent",
        ]
        assert carrier.counters.delivery_failures == 2 and carrier.counters.callbacks_abandoned == 0

    with (
        CallbackReceiver(status_for=lambda _: 500) as receiver,
        quiet_carrier(delivery_attempts=2) as carrier,
    ):
        submit(carrier, ["+306900000007"], receiver.callback_url())
        assert carrier.wait_idle(10)
        assert len(receiver.requests) == 4
        assert carrier.counters.callbacks_abandoned == 2 and carrier.counters.callbacks_delivered == 0


def test_unreachable_callback_url_is_given_up_after_bounded_attempts() -> None:
    with CallbackReceiver() as receiver:
        dead_url = receiver.callback_url()
    with quiet_carrier(delivery_attempts=2) as carrier:
        submit(carrier, ["+306900000007"], dead_url)
        assert carrier.wait_idle(10)
        assert carrier.counters.callbacks_abandoned == 2


def test_tracking_pages_cover_every_message_with_its_final_status() -> None:
    recipients = [f"+3069000001{n:02d}" for n in range(25)]
    with quiet_carrier() as carrier:
        accepted = submit(carrier, recipients, None).json()
        assert carrier.idle()  # no callback URL, nothing to send
        headers = {"Authorization": f"Bearer {token(carrier)}"}
        url = f"{carrier.url}/voice/tracking/campaign/{accepted['trackingId']}"
        pages = [
            requests.get(url, params={"page": p, "size": 10}, headers=headers, timeout=5).json()
            for p in range(3)
        ]
        assert [len(page["content"]) for page in pages] == [10, 10, 5]
        assert [page["last"] for page in pages] == [False, False, True]
        assert {page["totalPages"] for page in pages} == {3}
        assert {page["totalElements"] for page in pages} == {25}
        records = [record for page in pages for record in page["content"]]
        reports = [StatusReport.parse(record) for record in records]
        assert sorted(report.to or "" for report in reports) == recipients
        assert {report.to: str(report.status_name) for report in reports} == {
            to: str(tracked_final_status(to)) for to in recipients
        }
        nine = next(record for record in records if record["to"].endswith("9"))
        assert nine["status"]["status"] == "Completed" and nine["duration"] > 0

        one = requests.get(f"{carrier.url}/voice/tracking/{nine['messageId']}", headers=headers, timeout=5)
        assert one.status_code == 200 and one.json() == nine
        missing = requests.get(f"{carrier.url}/voice/tracking/campaign/nope", headers=headers, timeout=5)
        assert missing.status_code == 404


def test_api_requires_tokens_and_valid_requests() -> None:
    with quiet_carrier() as carrier:
        no_basic = requests.post(carrier.auth_url, data={"grant_type": "client_credentials"}, timeout=5)
        assert no_basic.status_code == 401
        unauthenticated = requests.post(f"{carrier.url}/voice/campaign", json={}, timeout=5)
        assert unauthenticated.status_code == 401
        too_many = submit(carrier, [f"+30690{n:07d}" for n in range(1001)], None)
        assert too_many.status_code == 400 and "1000" in too_many.json()["developerMessage"]
        carrier.revoke_tokens()
        stale = requests.get(
            f"{carrier.url}/voice/tracking/x", headers={"Authorization": "Bearer gone"}, timeout=5
        )
        assert stale.status_code == 401
        assert carrier.counters.rejected_requests == 4 and carrier.counters.campaigns == 0


def test_settings_come_from_the_environment_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMULATED_DUPLICATE_RATE", "0.5")
    monkeypatch.setenv("SIMULATED_REORDER_RATE", "0")
    monkeypatch.setenv("SIMULATED_MAX_DELAY_SECONDS", "0.01")
    from_env = SimulatedCarrier()
    assert (from_env.duplicate_rate, from_env.reorder_rate, from_env.max_delay_seconds) == (0.5, 0.0, 0.01)
    assert SimulatedCarrier(duplicate_rate=0.1).duplicate_rate == 0.1
    with pytest.raises(ValueError, match="between 0 and 1"):
        SimulatedCarrier(reorder_rate=2)


def test_wait_idle_times_out_while_callbacks_are_still_due() -> None:
    with CallbackReceiver() as receiver, quiet_carrier(max_delay_seconds=30) as carrier:
        submit(carrier, ["+306900000001"], receiver.callback_url())
        assert not carrier.idle()
        assert carrier.wait_idle(0.05) is False


def test_an_unexpected_error_while_posting_is_retried_like_a_failed_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    post, calls = requests.post, []

    def failing_once(*args: Any, **kwargs: Any) -> requests.Response:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("not a requests error")
        return post(*args, **kwargs)

    with CallbackReceiver() as receiver, quiet_carrier() as carrier:
        carrier_requests = SimpleNamespace(post=failing_once, RequestException=requests.RequestException)
        monkeypatch.setattr(delivery, "requests", carrier_requests)  # the carrier's posts only
        submit(carrier, ["+306900000007"], receiver.callback_url())  # Queued, Unsent
        assert carrier.wait_idle(10)
        assert [body["status"]["name"] for body in receiver.bodies()] == ["Queued", "Unsent"]
        assert carrier.counters.delivery_failures == 1
