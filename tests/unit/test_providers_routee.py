"""The Routee client over real HTTP on 127.0.0.1: the simulated carrier for the happy path, a
scripted server for failures. Credentials come from Secrets Manager (moto)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from local.carrier import SimulatedCarrier, expected_outcome
from tests.unit.httpfakes import (
    HANG_READ_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    CallbackReceiver,
    Reply,
    ScriptedServer,
)
from voice_status import providers
from voice_status.providers import ProviderError, SilentProvider, Submission, TextMessage, from_environment
from voice_status.providers.routee import (
    RetryPolicy,
    RouteeClient,
    RouteeSettings,
    campaign_request,
    provider_campaign_name,
    retry_after_seconds,
)

SECRET_NAME = "voice-status/routee"
APP_ID, APP_SECRET = "app-id-123", "app-secret-do-not-log"
SIGNATURE = "c2lnbmF0dXJlLWRvLW5vdC1sb2c"
FAST_RETRIES = RetryPolicy(attempts=3, base_delay_seconds=0.001, max_delay_seconds=2.0)


@pytest.fixture(scope="module")
def secrets_manager() -> Iterator[None]:
    """One moto Secrets Manager for the module (starting moto per test costs more than the tests)."""
    with mock_aws():
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=SECRET_NAME,
            SecretString=json.dumps({"applicationId": APP_ID, "applicationSecret": APP_SECRET}),
        )
        yield


@pytest.fixture
def credentials_secret(secrets_manager: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ROUTEE_CREDENTIALS_SECRET_NAME", SECRET_NAME)
    parameters.clear_caches()
    yield
    parameters.clear_caches()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_for(
    api_url: str,
    auth_url: str | None = None,
    *,
    sleeps: list[float] | None = None,
    clock: Clock | None = None,
    **settings: object,
) -> RouteeClient:
    base = RouteeSettings(
        auth_url=auth_url or f"{api_url}/oauth/token",
        api_url=api_url,
        credentials_secret_name=SECRET_NAME,
        connect_timeout_seconds=1.0,
        read_timeout_seconds=READ_TIMEOUT_SECONDS,
        retry=FAST_RETRIES,
    )
    recorded = sleeps if sleeps is not None else []
    return RouteeClient(replace(base, **settings), sleep=recorded.append, clock=clock or Clock())  # type: ignore[arg-type]


def submission(
    recipients: list[str],
    callback_url: str = f"https://api.example.test/callbacks/voice/c-1/{SIGNATURE}",
    **fields: object,
) -> Submission:
    values: dict[str, object] = {
        "campaign_id": "c-1",
        "name": "Flu shot reminder",
        "from_number": "+302100000000",
        "recipients": recipients,
        "callback_url": callback_url,
        "message": TextMessage(text="Your appointment is tomorrow."),
    }
    return Submission(**(values | fields))  # type: ignore[arg-type]


TEN = [f"+30690000000{digit}" for digit in range(10)]
ACCEPTED = Reply(body={"trackingId": "track-1", "state": "Queued", "statuses": {"Queued": 1}})


# --- happy path against the simulated carrier -------------------------------------------------


@pytest.mark.usefixtures("credentials_secret")
def test_submit_and_track_against_the_simulated_carrier() -> None:
    with CallbackReceiver() as receiver, SimulatedCarrier(max_delay_seconds=0.01, seed=5) as carrier:
        client = client_for(carrier.url, carrier.auth_url, page_size=3)  # 10 messages: 4 pages
        accepted = client.submit(submission(TEN, callback_url=receiver.callback_url("c-1", SIGNATURE)))
        assert accepted.accepted == 10 and carrier.campaign(accepted.tracking_id) is not None

        reports = list(client.track(accepted.tracking_id))
        assert len({report.message_id for report in reports}) == 10
        finals: dict[str, int] = {}
        for report in reports:
            finals[str(report.status_name)] = finals.get(str(report.status_name), 0) + 1
        assert finals == expected_outcome(TEN)
        assert carrier.counters.tokens_issued == 1  # one token for the submit and every page
        assert carrier.counters.tracking_requests == 4

        assert carrier.wait_idle(10)
        assert {body["campaignTrackingId"] for body in receiver.bodies()} == {accepted.tracking_id}
        assert client.track_message(reports[0].message_id).message_id == reports[0].message_id


@pytest.mark.usefixtures("credentials_secret")
def test_a_revoked_token_is_renewed_once_and_the_call_repeated() -> None:
    with CallbackReceiver() as receiver, SimulatedCarrier(max_delay_seconds=0.01) as carrier:
        client = client_for(carrier.url, carrier.auth_url)
        accepted = client.submit(submission(["+306900000004"], callback_url=receiver.callback_url()))
        carrier.revoke_tokens()
        assert [report.status_name for report in client.track(accepted.tracking_id)] == ["Busy"]
        assert carrier.counters.tokens_issued == 2 and carrier.counters.campaigns == 1
        assert carrier.wait_idle(10)


# --- tokens -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("credentials_secret")
def test_token_request_uses_basic_credentials_and_is_cached_until_near_expiry() -> None:
    clock = Clock()
    with ScriptedServer() as server:
        server.script(
            "POST",
            "/oauth/token",
            Reply(body={"access_token": "t-1", "expires_in": 600}),
            Reply(body={"access_token": "t-2", "expires_in": 600}),
        )
        server.script("POST", "/voice/campaign", ACCEPTED)
        client = client_for(server.url, clock=clock)
        client.submit(submission(["+306900000001"]))
        clock.now += 500  # within 600 s minus the refresh margin
        client.submit(submission(["+306900000001"]))
        clock.now += 50  # 550 s: inside the last minute, fetch a new one
        client.submit(submission(["+306900000001"]))

        token_requests = server.to("POST", "/oauth/token")
        assert len(token_requests) == 2
        expected = base64.b64encode(f"{APP_ID}:{APP_SECRET}".encode()).decode()
        assert token_requests[0].headers["Authorization"] == f"Basic {expected}"
        assert token_requests[0].body == b"grant_type=client_credentials"
        bearers = [request.headers["Authorization"] for request in server.to("POST", "/voice/campaign")]
        assert bearers == ["Bearer t-1", "Bearer t-1", "Bearer t-2"]


@pytest.mark.usefixtures("credentials_secret")
def test_401_renews_the_token_once_then_gives_up() -> None:
    with ScriptedServer() as server:
        server.script("POST", "/voice/campaign", Reply(401), ACCEPTED)
        assert client_for(server.url).submit(submission(["+306900000001"])).tracking_id == "track-1"
        assert len(server.to("POST", "/oauth/token")) == 2

    with ScriptedServer() as server:
        server.script("POST", "/voice/campaign", Reply(403, {"developerMessage": "forbidden"}))
        with pytest.raises(ProviderError) as refused:
            client_for(server.url).submit(submission(["+306900000001"]))
        assert refused.value.status_code == 403 and not refused.value.retryable
        assert len(server.to("POST", "/voice/campaign")) == 2


@pytest.mark.usefixtures("credentials_secret")
def test_refused_credentials_are_read_again_once_then_fail() -> None:
    with ScriptedServer() as server:
        server.script("POST", "/oauth/token", Reply(401, {"developerMessage": "bad credentials"}))
        with pytest.raises(ProviderError, match="access token") as refused:
            client_for(server.url).submit(submission(["+306900000001"]))
        assert not refused.value.retryable and refused.value.status_code == 401
        assert len(server.to("POST", "/oauth/token")) == 2
        assert server.to("POST", "/voice/campaign") == []


@pytest.mark.usefixtures("credentials_secret")
def test_missing_or_malformed_secret_is_a_provider_error() -> None:
    with ScriptedServer() as server:
        missing = client_for(server.url, credentials_secret_name="voice-status/absent")
        with pytest.raises(ProviderError, match="credentials secret") as unreadable:
            missing.submit(submission(["+306900000001"]))
        assert unreadable.value.retryable

        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="voice-status/partial", SecretString=json.dumps({"applicationId": "x"})
        )
        partial = client_for(server.url, credentials_secret_name="voice-status/partial")
        with pytest.raises(ProviderError, match="applicationSecret") as malformed:
            partial.submit(submission(["+306900000001"]))
        assert not malformed.value.retryable
        assert server.requests == []


# --- retries and at-most-once -----------------------------------------------------------------


@pytest.mark.usefixtures("credentials_secret")
def test_429_is_retried_with_backoff_honouring_retry_after() -> None:
    sleeps: list[float] = []
    with ScriptedServer() as server:
        server.script(
            "POST", "/voice/campaign", Reply(429, headers={"Retry-After": "1"}), Reply(429), ACCEPTED
        )
        accepted = client_for(server.url, sleeps=sleeps).submit(submission(["+306900000001"]))
        assert accepted.tracking_id == "track-1"
        assert len(server.to("POST", "/voice/campaign")) == 3
    assert sleeps[0] >= 1.0  # Retry-After honoured
    assert 0 <= sleeps[1] <= 0.002  # then jittered exponential backoff (base 1 ms, 2nd retry <= 2 ms)


@pytest.mark.usefixtures("credentials_secret")
def test_retries_are_bounded_and_end_retryable() -> None:
    sleeps: list[float] = []
    with ScriptedServer() as server:
        server.script("POST", "/voice/campaign", Reply(429))
        with pytest.raises(ProviderError) as failed:
            client_for(server.url, sleeps=sleeps).submit(submission(["+306900000001"]))
        assert failed.value.retryable and failed.value.status_code == 429
        assert len(server.to("POST", "/voice/campaign")) == FAST_RETRIES.attempts
    assert len(sleeps) == FAST_RETRIES.attempts - 1


@pytest.mark.usefixtures("credentials_secret")
def test_reads_are_retried_on_5xx_because_they_change_nothing() -> None:
    with ScriptedServer() as server:
        page = {"content": [tracking_record("m-1", "Completed")], "last": True}
        server.script("GET", "/voice/tracking/campaign/track-1", Reply(503), Reply(body=page))
        reports = list(client_for(server.url).track("track-1"))
        assert [report.message_id for report in reports] == ["m-1"]
        assert len(server.to("GET", "/voice/tracking/campaign/track-1")) == 2


@pytest.mark.usefixtures("credentials_secret")
def test_a_retry_after_longer_than_the_policy_allows_gives_up_without_waiting() -> None:
    sleeps: list[float] = []
    with ScriptedServer() as server:
        server.script("POST", "/voice/campaign", Reply(429, headers={"Retry-After": "120"}))
        with pytest.raises(ProviderError, match="retry after 120") as failed:
            client_for(server.url, sleeps=sleeps).submit(submission(["+306900000001"]))
        assert failed.value.retryable
        assert len(server.to("POST", "/voice/campaign")) == 1
    assert sleeps == []


@pytest.mark.usefixtures("credentials_secret")
def test_other_4xx_is_not_retried() -> None:
    with ScriptedServer() as server:
        server.script(
            "POST", "/voice/campaign", Reply(400, {"code": "400005000", "developerMessage": "invalid from"})
        )
        with pytest.raises(ProviderError, match="invalid from") as refused:
            client_for(server.url).submit(submission(["+306900000001"]))
        assert refused.value.status_code == 400 and not refused.value.retryable
        assert len(server.to("POST", "/voice/campaign")) == 1


@pytest.mark.usefixtures("credentials_secret")
@pytest.mark.parametrize(
    "reply",
    [Reply(hang=True), Reply(drop=True), Reply(500), Reply(502), Reply(503), Reply(504)],
    ids=["read-timeout", "reset", "500", "502", "503", "504"],
)
def test_a_campaign_post_that_may_have_arrived_is_sent_exactly_once(reply: Reply) -> None:
    with ScriptedServer() as server:
        server.script("POST", "/voice/campaign", reply)
        with pytest.raises(ProviderError, match="not resent") as ambiguous:
            client_for(server.url, read_timeout_seconds=HANG_READ_TIMEOUT_SECONDS).submit(
                submission(["+306900000001"])
            )
        assert not ambiguous.value.retryable
        assert len(server.to("POST", "/voice/campaign")) == 1


@pytest.mark.usefixtures("credentials_secret")
def test_a_refused_connection_is_retried_because_nothing_was_sent() -> None:
    with ScriptedServer() as server:
        closed_port_url = server.url
    sleeps: list[float] = []
    with pytest.raises(ProviderError) as unreachable:
        client_for(closed_port_url, sleeps=sleeps).submit(submission(["+306900000001"]))
    assert unreachable.value.retryable
    assert len(sleeps) == FAST_RETRIES.attempts - 1


@pytest.mark.usefixtures("credentials_secret")
def test_tracking_reads_are_retried_after_a_read_timeout() -> None:
    with ScriptedServer() as server:
        page = {"content": [tracking_record("m-1", "Completed")], "last": True}
        server.script("GET", "/voice/tracking/campaign/track-1", Reply(hang=True), Reply(body=page))
        reports = list(
            client_for(server.url, read_timeout_seconds=HANG_READ_TIMEOUT_SECONDS).track("track-1")
        )
        assert [report.message_id for report in reports] == ["m-1"]
        assert len(server.to("GET", "/voice/tracking/campaign/track-1")) == 2


# --- tracking pages ---------------------------------------------------------------------------


def tracking_record(message_id: str, status: str) -> dict[str, object]:
    return {
        "messageId": message_id,
        "to": "+306900000001",
        "status": {"status": status, "date": "2026-11-27T09:00:31.877Z"},
        "price": 0.021,
        "duration": 23,
    }


@pytest.mark.usefixtures("credentials_secret")
@pytest.mark.parametrize(
    ("pages", "requested"),
    [
        ([{"content": ["a"], "last": False}, {"content": ["b"], "last": True}], 2),
        (
            [
                {"content": ["a"], "totalPages": 3},
                {"content": ["b"], "totalPages": 3},
                {"content": ["c"], "totalPages": 3},
            ],
            3,
        ),
        ([{"content": ["a"]}, {"content": ["b"]}, {"content": []}], 3),
    ],
    ids=["last-flag", "total-pages", "empty-page"],
)
def test_tracking_reads_every_page_and_stops_at_the_end(
    pages: list[dict[str, list[str]]], requested: int
) -> None:
    with ScriptedServer() as server:
        replies = [
            Reply(body=page | {"content": [tracking_record(f"m-{m}", "Busy") for m in page["content"]]})
            for page in pages
        ]
        server.script("GET", "/voice/tracking/campaign/track-1", *replies)
        reports = list(client_for(server.url, page_size=1).track("track-1"))
        expected = [f"m-{m}" for page in pages for m in page["content"]]
        assert [report.message_id for report in reports] == expected
        calls = server.to("GET", "/voice/tracking/campaign/track-1")
        assert [call.query["page"] for call in calls] == [[str(n)] for n in range(requested)]
        assert {call.query["size"][0] for call in calls} == {"1"}


@pytest.mark.usefixtures("credentials_secret")
def test_unreadable_tracking_records_are_skipped() -> None:
    with ScriptedServer() as server:
        page = {"content": [{"messageId": "m-0"}, tracking_record("m-1", "NoAnswer")], "last": True}
        server.script("GET", "/voice/tracking/campaign/track-1", Reply(body=page))
        assert [r.message_id for r in client_for(server.url).track("track-1")] == ["m-1"]


# --- request body and limits ------------------------------------------------------------------


def test_campaign_request_has_routee_fields() -> None:
    body = campaign_request(submission(["+306900000001", "+306900000002"]))
    assert body == {
        "from": "+302100000000",
        "to": ["+306900000001", "+306900000002"],
        "name": "Flu shot reminder",
        "message": {"text": "Your appointment is tomorrow.", "language": "en-US", "gender": "female"},
        "callback": {
            "url": f"https://api.example.test/callbacks/voice/c-1/{SIGNATURE}",
            "strategy": "OnChange",
        },
    }
    audio = campaign_request(submission(["+306900000001"], message=None, audio_url="https://x.test/a.wav"))
    assert audio["fileURL"] == "https://x.test/a.wav" and "message" not in audio


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Flu shot reminder", "Flu shot reminder"),
        ("A very long campaign name that keeps going", "A very long campaign name that"),
        ("  Offer: 50% off!!  <b>now</b> ", "Offer 50 off b now b"),
        ("X", "campaign-0193c9a4-7f1e-7cc1-9a"),
        ("☎☎☎", "campaign-0193c9a4-7f1e-7cc1-9a"),
    ],
)
def test_provider_campaign_name_is_2_to_30_safe_characters(name: str, expected: str) -> None:
    derived = provider_campaign_name(name, "0193c9a4-7f1e-7cc1-9a2b-3c4d5e6f7a8b")
    assert derived == expected and 2 <= len(derived) <= 30


@pytest.mark.parametrize("count", [0, 1001])
def test_submissions_outside_1_to_1000_recipients_are_refused_before_sending(count: int) -> None:
    recipients = [f"+30690{n:07d}" for n in range(count)]
    with ScriptedServer() as server:
        with pytest.raises(ProviderError, match="1 to 1000") as refused:
            client_for(server.url).submit(submission(recipients))
        assert not refused.value.retryable and server.requests == []
        with pytest.raises(ProviderError):
            SilentProvider().submit(submission(recipients))


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    from datetime import UTC, datetime

    now = datetime(2026, 11, 27, 9, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Fri, 27 Nov 2026 09:00:10 GMT", now) == 10.0


# --- secrets stay out of logs -----------------------------------------------------------------


@pytest.mark.usefixtures("credentials_secret")
def test_credentials_tokens_and_signatures_never_reach_logs_or_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ScriptedServer() as server:
        server.script(
            "POST", "/oauth/token", Reply(body={"access_token": "very-secret-token", "expires_in": 3600})
        )
        server.script(
            "POST",
            "/voice/campaign",
            Reply(429),
            Reply(401),
            Reply(
                422,
                {
                    "developerMessage": f"callback https://api.example.test/callbacks/voice/c-1/{SIGNATURE} refused"
                },
            ),
        )
        with pytest.raises(ProviderError) as failed:
            client_for(server.url).submit(submission(["+306900000001"]))
    output = capsys.readouterr()
    for text in (output.out, output.err, str(failed.value)):
        for secret in (APP_SECRET, "very-secret-token", SIGNATURE):
            assert secret not in text


# --- from_environment -------------------------------------------------------------------------


def test_from_environment_picks_the_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTEE_AUTH_URL", "http://127.0.0.1:1/oauth/token")
    monkeypatch.setenv("ROUTEE_API_URL", "http://127.0.0.1:1/")
    monkeypatch.setenv("ROUTEE_CREDENTIALS_SECRET_NAME", SECRET_NAME)
    monkeypatch.setenv("VOICE_PROVIDER", "silent")
    silent = from_environment()
    accepted = silent.submit(submission(TEN))
    assert accepted.tracking_id.startswith("silent-") and accepted.accepted == 10
    assert list(silent.track(accepted.tracking_id)) == []

    for name in ("routee", "simulated"):
        monkeypatch.setenv("VOICE_PROVIDER", name)
        client = from_environment()
        assert isinstance(client, RouteeClient) and client.settings.api_url == "http://127.0.0.1:1"
    assert from_environment() is from_environment()  # reused: keeps its token and connections

    monkeypatch.setenv("VOICE_PROVIDER", "carrier-pigeon")
    with pytest.raises(ValueError, match="VOICE_PROVIDER"):
        from_environment()
    monkeypatch.setenv("VOICE_PROVIDER", "routee")
    monkeypatch.delenv("ROUTEE_API_URL")
    with pytest.raises(ValueError, match="ROUTEE_API_URL"):
        from_environment()
    assert providers.PROVIDER_NAMES == ("routee", "simulated", "silent")
