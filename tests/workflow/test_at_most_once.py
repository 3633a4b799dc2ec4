"""At most once, whatever the provider answers: the real Routee client against a fake Routee that
records every request, driven by the real state machine. Only an answer that proves the request
was not processed (429, a connection never opened) may be resent; every other failure after the
request left leaves the chunk possibly sent, for reconciliation, and is never resent."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from aws_lambda_powertools.utilities import parameters

from tests.conftest import TestStack
from tests.unit.httpfakes import HANG_READ_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, Reply, ScriptedServer
from tests.workflow.support import Campaigns, recipients
from voice_status.providers.routee import RetryPolicy, RouteeClient, RouteeSettings

SECRET_NAME = "voice-status/routee-fake"


@pytest.fixture
def read_timeout_seconds() -> float:
    """The Routee client's; a test whose Routee never answers parametrizes it short."""
    return READ_TIMEOUT_SECONDS


@pytest.fixture
def routee(
    stack: TestStack, monkeypatch: pytest.MonkeyPatch, read_timeout_seconds: float
) -> Iterator[ScriptedServer]:
    """A scripted Routee that the Dispatch and Reconcile functions reach with the real client."""
    stack.client("secretsmanager").create_secret(
        Name=SECRET_NAME, SecretString=json.dumps({"applicationId": "app", "applicationSecret": "secret"})
    )
    parameters.clear_caches()
    with ScriptedServer() as server:
        settings = RouteeSettings(
            auth_url=f"{server.url}/oauth/token",
            api_url=server.url,
            credentials_secret_name=SECRET_NAME,
            read_timeout_seconds=read_timeout_seconds,
            retry=RetryPolicy(attempts=3, base_delay_seconds=0.001),
        )
        client = RouteeClient(settings)
        for function in ("DispatchFunction", "ReconcileFunction"):
            monkeypatch.setattr(stack.functions.module(function), "make_provider", lambda: client)
        yield server


@pytest.mark.parametrize(
    ("reply", "read_timeout_seconds"),
    [
        (Reply(500), READ_TIMEOUT_SECONDS),
        (Reply(502), READ_TIMEOUT_SECONDS),
        (Reply(503), READ_TIMEOUT_SECONDS),
        (Reply(504), READ_TIMEOUT_SECONDS),
        (Reply(drop=True), READ_TIMEOUT_SECONDS),
        (Reply(hang=True), HANG_READ_TIMEOUT_SECONDS),
    ],
    ids=["500", "502", "503", "504", "reset", "read-timeout"],
)
def test_every_chunk_is_posted_exactly_once_and_left_to_reconciliation(
    campaigns: Campaigns, routee: ScriptedServer, reply: Reply
) -> None:
    routee.script("POST", "/voice/campaign", reply)
    numbers = recipients(6)
    campaign_id = campaigns.create(numbers, chunk_size=2, completion_timeout_seconds=1)

    execution = campaigns.wait_for_end(campaign_id, "FAILED")

    posts = routee.to("POST", "/voice/campaign")
    assert sorted(number for post in posts for number in post.json()["to"]) == numbers  # one POST per chunk
    assert len(posts) == 3
    assert campaigns.chunk_states(campaign_id) == ["submitting"] * 3  # possibly sent, never resent
    reason = "6 recipients never reached a final status (6 never reported by the provider)"
    assert (campaigns.campaign(campaign_id).failure_reason, execution["cause"]) == (reason, reason)
    # They may have been called: counted, and listed as not reached yet.
    assert campaigns.counts(campaign_id) == {"total": 6, "pending": 6, "final": {}}


def test_a_429_is_retried_and_the_chunk_sent_once_it_is_taken(
    campaigns: Campaigns, routee: ScriptedServer
) -> None:
    accepted = Reply(body={"trackingId": "track-1", "state": "Queued"})
    routee.script("POST", "/voice/campaign", Reply(429), accepted)
    routee.script("GET", "/voice/tracking/campaign/track-1", Reply(body={"content": [], "last": True}))
    campaign_id = campaigns.create(recipients(2), completion_timeout_seconds=1)

    campaigns.wait_for_end(campaign_id, "FAILED")  # nobody ever reports: reconciliation finds nothing

    assert len(routee.to("POST", "/voice/campaign")) == 2
    assert campaigns.chunk_states(campaign_id) == ["submitted"]
    assert len(routee.to("GET", "/voice/tracking/campaign/track-1")) == 1
