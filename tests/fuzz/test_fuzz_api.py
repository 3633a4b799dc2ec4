"""Fuzzing tier: schemathesis cases from the API's own OpenAPI document, run in-process through
the template's routes (moto behind them), positive and negative, against real campaigns.

Every answer must be below 500 and every error `{"error": ...}`. Deterministic: one seed
(FUZZ_SEED, default 7) and a bounded count (FUZZ_EXAMPLES per test, default small so `make
test` stays quick; `make fuzz` raises it). Each test prints how many requests it sent and
what status codes came back.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from local.api import GatewayAnswer, GatewayResponses, api_routes, proxy_event, route_request
from local.functions import InvocationError
from local.template import load_template
from tests.conftest import TestStack
from voice_status.signing import sign_campaign

FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "7"))
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
DISPATCH_DEADLINE_SECONDS = 30.0
CALLBACK_PATH = "/callbacks/voice/{campaignId}/{signature}"
RECIPIENTS = ["+306900000001", "+306900000002", "+306900000003"]
MOSTLY = st.sampled_from([True, True, True, False])
RECENT_DATES = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC)).map(
    datetime.isoformat
)
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    database=None,  # the seed alone decides the cases
    deadline=None,
    suppress_health_check=list(HealthCheck),  # schemas this size generate slowly; that is fine here
    print_blob=True,
)


@dataclass
class Tally:
    """What the fuzzer sent and what came back, printed at the end of each test."""

    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def report(self, name: str) -> str:
        total = sum(self.answers.values())
        by_status = Counter(status for (_, status) in self.answers.elements())
        lines = [
            f"{name}: {total} requests (seed {FUZZ_SEED}), status counts {dict(sorted(by_status.items()))}"
        ]
        lines += [
            f"  {label} -> {status}: {count}" for (label, status), count in sorted(self.answers.items())
        ]
        return "\n".join(lines)


class Fuzzed:
    """The stack, its OpenAPI document as schemathesis sees it, and two real campaigns."""

    def __init__(self, stack: TestStack) -> None:
        self.stack = stack
        self.routes = api_routes(stack.functions.specs)
        self.gateway = GatewayResponses.of_template(load_template())
        document = stack.api("GET", "/openapi.json").body
        self.schema = schemathesis.openapi.from_dict(document)
        headers = {"Host": "api.example.test", "Content-Type": "application/json"}
        # One dispatched now (its recipients can be called back), one scheduled a day ahead.
        later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        self.campaigns = [
            stack.api("POST", "/campaigns", _campaign(), headers=headers).body["campaignId"],
            stack.api("POST", "/campaigns", _campaign(scheduledAt=later), headers=headers).body["campaignId"],
        ]
        self.secret = stack.secret()
        self._wait_until_dispatched(self.campaigns[0])

    def _wait_until_dispatched(self, campaign_id: str) -> None:
        # Callbacks count only for recipients handed to the provider: wait for the workflow's Sent.
        deadline = time.monotonic() + DISPATCH_DEADLINE_SECONDS
        while time.monotonic() < deadline:
            if self.stack.api("GET", f"/campaigns/{campaign_id}").body.get("status") == "Sent":
                return
            time.sleep(0.05)
        pytest.fail(f"campaign {campaign_id} was not dispatched within {DISPATCH_DEADLINE_SECONDS} s")

    def send(self, case: Any, tally: Tally) -> None:
        parameters = {name: quote(str(value), safe="") for name, value in case.path_parameters.items()}
        target = case.path.format(**parameters) if parameters else case.path
        if case.query:
            target += "?" + urlencode(case.query, doseq=True)
        label = f"{case.method.upper()} {case.path}"
        routed = route_request(self.routes, self.gateway, case.method, target)
        if isinstance(routed, GatewayAnswer):
            tally.answers[(label + " (gateway)", routed.status)] += 1
            return
        headers = {str(name): str(value) for name, value in (case.headers or {}).items()}
        headers.setdefault("Content-Type", "application/json")
        body = _raw_body(case.body)
        event = proxy_event(
            routed.route, routed.path, routed.path_parameters, body=body, headers=headers, query=routed.query
        )
        try:
            response = self.stack.api_event(routed.route.function, event)
        except InvocationError as error:  # on AWS: a 502 from API Gateway
            tally.answers[(label, 502)] += 1
            tally.failures.append(f"{label}: handler raised {error}: {target} {body!r:.300}")
            return
        tally.answers[(label, response.status_code)] += 1
        problem = _problem(response.status_code, response.body)
        if problem:
            tally.failures.append(f"{label} -> {response.status_code}: {problem}: {target} {body!r:.300}")


def _raw_body(body: Any) -> str | bytes | None:
    if type(body).__name__ == "NotSet":  # schemathesis' marker for "no body"
        return None
    return body if isinstance(body, bytes) else json.dumps(body)


def _problem(status_code: int, body: Any) -> str | None:
    if status_code >= 500:
        return "a 5xx"
    if status_code >= 400 and not (isinstance(body, dict) and isinstance(body.get("error"), str)):
        return "an error body without a string `error`"
    return None


def _campaign(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Fuzzed",
        "from": "+302100000000",
        "message": {"text": "Hello."},
        "recipients": RECIPIENTS,
        **changes,
    }


@pytest.fixture(scope="module")
def fuzzed(module_stack: TestStack) -> Fuzzed:
    return Fuzzed(module_stack)


@pytest.fixture
def tally(capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest) -> Iterator[Tally]:
    counted = Tally()
    yield counted
    with capsys.disabled():
        print("\n" + counted.report(request.node.name))


def _modes() -> st.SearchStrategy[GenerationMode]:
    return st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


def test_campaign_api_answers_every_case_below_500_in_the_error_shape(fuzzed: Fuzzed, tally: Tally) -> None:
    operations = [
        result.ok() for result in fuzzed.schema.get_all_operations() if result.ok().path != CALLBACK_PATH
    ]
    real_ids = st.fixed_dictionaries({}, optional={"campaignId": st.sampled_from(fuzzed.campaigns)})

    @seed(FUZZ_SEED)
    @FUZZ_SETTINGS
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        operation = data.draw(st.sampled_from(operations), label="operation")
        known = data.draw(real_ids, label="known ids") if "{campaignId}" in operation.path else {}
        case = data.draw(operation.as_strategy(data.draw(_modes()), path_parameters=known or None))
        fuzzed.send(case, tally)

    run()
    assert tally.failures == [], "\n".join(tally.failures[:20])


def test_callbacks_with_valid_signatures_answer_every_case_below_500_in_the_error_shape(
    fuzzed: Fuzzed, tally: Tally
) -> None:
    [callback] = [r.ok() for r in fuzzed.schema.get_all_operations() if r.ok().path == CALLBACK_PATH]
    dispatched, scheduled = fuzzed.campaigns
    signed = st.sampled_from([dispatched, dispatched, dispatched, scheduled]).map(
        lambda campaign_id: {
            "campaignId": campaign_id,
            "signature": sign_campaign(fuzzed.secret, campaign_id),
        }
    )

    @seed(FUZZ_SEED)
    @FUZZ_SETTINGS
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(callback.as_strategy(data.draw(_modes()), path_parameters=data.draw(signed)))
        # The schema cannot say "a recipient of this campaign", "the id its messages already have"
        # or "a recent date"; without these
        # nudges almost no case would get past validation to the recording logic.
        if isinstance(case.body, dict) and data.draw(MOSTLY, label="a real recipient"):
            recipient = data.draw(st.sampled_from(RECIPIENTS))
            case.body["to"] = recipient
            if data.draw(st.booleans(), label="its usual message id"):
                case.body["messageId"] = f"fuzz-{recipient[1:]}"
        status = case.body.get("status") if isinstance(case.body, dict) else None
        if isinstance(status, dict) and data.draw(st.booleans(), label="a recent date"):
            status["updatedDate"] = data.draw(RECENT_DATES)
        fuzzed.send(case, tally)

    run()
    assert tally.failures == [], "\n".join(tally.failures[:20])
