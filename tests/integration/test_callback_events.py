"""Every events/callback-*.json invoked the way `sam local invoke CallbackFunction -e` would.

The sample events name one campaign and are signed with a fixed key; `prepare_callback_samples`
sets up that campaign with the product's own functions (its two recipients dispatched), so the
events meet the state they were written for. The container tier uses the same set-up."""

from __future__ import annotations

import pytest

from tests.conftest import EVENTS_DIR, TestStack, load_event
from tests.workflow.support import Campaigns

EVENTS_SIGNING_KEY = "events-signing-key-not-secret"  # the key the sample events are signed with
SAMPLE_CAMPAIGN_ID = "3f6c1c9e-5b2a-4d8e-9a41-7c0d2b6e8f10"
SAMPLE_RECIPIENTS = ["+306900000001", "+306900000002"]

# In delivery order: (file, status code, message status after it, applied)
SEQUENCE = [
    ("callback-ringing.json", 200, "Ringing", True),
    ("callback-ringing-duplicate.json", 200, "Ringing", False),
    ("callback-initiated-out-of-order.json", 200, "Ringing", False),
    ("callback-completed.json", 200, "Completed", True),
    ("callback-tracking-shape.json", 200, "Completed", False),
    ("callback-status-spelled-loosely.json", 200, "NoAnswer", True),
    ("callback-unknown-recipient.json", 404, None, None),
    ("callback-message-id-conflict.json", 409, None, None),
    ("callback-bad-signature.json", 403, None, None),
    ("callback-signature-for-other-campaign.json", 403, None, None),
    ("callback-malformed-json.json", 400, None, None),
    ("callback-missing-status.json", 422, None, None),
    ("callback-unknown-status.json", 422, None, None),
    ("callback-bad-date.json", 422, None, None),
]


def prepare_callback_samples(stack: TestStack) -> None:
    """The state the sample callbacks were written for: the signing key they were signed with,
    and their campaign with both its recipients handed to the provider."""
    stack.client("secretsmanager").put_secret_value(
        SecretId=stack.outputs["CallbackSigningSecretArn"], SecretString=EVENTS_SIGNING_KEY
    )
    Campaigns(stack).dispatched(SAMPLE_RECIPIENTS, campaign_id=SAMPLE_CAMPAIGN_ID)


@pytest.fixture
def signed_stack(stack: TestStack) -> TestStack:
    prepare_callback_samples(stack)
    return stack


def _table_items(stack: TestStack) -> list[dict]:
    return stack.client("dynamodb").scan(TableName=stack.outputs["TableName"], ConsistentRead=True)["Items"]


def test_the_sequence_covers_every_callback_event_file() -> None:
    assert {name for name, *_ in SEQUENCE} == {path.name for path in EVENTS_DIR.glob("callback-*.json")}


def test_each_event_file_gets_the_contracts_answer(signed_stack: TestStack) -> None:
    for name, status_code, status, applied in SEQUENCE:
        before = _table_items(signed_stack)
        response = signed_stack.api_event("CallbackFunction", load_event(name))
        assert response.status_code == status_code, (name, response.body)
        assert response.headers.get("Content-Type") == "application/json"
        if status_code == 200:
            assert response.body["status"] == status, name
            assert response.body["applied"] is applied, name
        else:
            assert isinstance(response.body["error"], str) and response.body["error"], name
            assert _table_items(signed_stack) == before, f"{name} was rejected but wrote something"
        if status_code == 422:
            assert response.body["details"], name
