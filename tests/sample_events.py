"""The events/ files: what each one needs set up, and what its function must answer and write.

One place for both the in-process tests (tests/integration, tests/workflow: handlers run like
`sam local invoke` runs them) and the container tier (tests/container: the functions in containers
through SAM's local Lambda emulator). Each group has a `prepare_*` that sets up the state its
samples were written for, through the product's own functions, and a `check_*` that invokes every
sample of the group in order through `invoke` and asserts the answer and the effect in the tables.

`invoke(function, event_file)` takes the function's logical id and the file name in events/ and
returns what the function returned (for API functions, the proxy integration result).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from local.testing import api_response
from tests.conftest import EVENTS_DIR, TestStack, load_event
from tests.notifications import assert_valid_detail, event_ids, queued_events
from tests.workflow.support import Campaigns, recipients
from voice_status.signing import sign_campaign
from voice_status.statuses import CampaignStatus

Invoke = Callable[[str, str], Any]


def in_process(stack: TestStack) -> Invoke:
    """`invoke` for the in-process tests: the template's handler, called with the file's event."""
    return lambda function, event_file: stack.invoke(function, load_event(event_file))


def sample_files(prefix: str) -> set[str]:
    return {path.name for path in EVENTS_DIR.glob(f"{prefix}-*.json")}


def table_items(stack: TestStack) -> list[dict[str, Any]]:
    return stack.client("dynamodb").scan(TableName=stack.outputs["TableName"], ConsistentRead=True)["Items"]


# ----- CallbackFunction: events/callback-*.json -----

EVENTS_SIGNING_KEY = "events-signing-key-not-secret"  # the key the sample callbacks are signed with
CALLBACK_CAMPAIGN_ID = "3f6c1c9e-5b2a-4d8e-9a41-7c0d2b6e8f10"
CALLBACK_RECIPIENTS = ["+306900000001", "+306900000002"]

# In delivery order: (file, status code, message status after it, applied)
CALLBACK_SEQUENCE = [
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
    Campaigns(stack).dispatched(CALLBACK_RECIPIENTS, campaign_id=CALLBACK_CAMPAIGN_ID)


def check_callback_samples(stack: TestStack, invoke: Invoke) -> None:
    store = Campaigns(stack).store
    for name, status_code, status, applied in CALLBACK_SEQUENCE:
        before = table_items(stack)
        response = api_response(invoke("CallbackFunction", name))
        assert response.status_code == status_code, (name, response.body)
        assert response.headers.get("Content-Type") == "application/json"
        if status_code == 200:
            assert response.body["status"] == status, name
            assert response.body["applied"] is applied, name
            stored = store.get_message(response.body["messageId"])
            assert stored is not None and stored.status == status, f"{name}: the table holds {stored}"
        else:
            assert isinstance(response.body["error"], str) and response.body["error"], name
            assert table_items(stack) == before, f"{name} was rejected but wrote something"
        if status_code == 422:
            assert response.body["details"], name


# ----- CampaignsApiFunction: events/campaigns_api-*.json -----

API_CAMPAIGN_ID = "5b1f6a2e-3c4d-4e8f-9a0b-1c2d3e4f5a6b"  # Running, its recipient dispatched
API_QUEUED_CAMPAIGN_ID = "9e8d7c6b-5a49-4382-a716-f5e4d3c2b1a0"  # Queued: the one to cancel
API_MESSAGE_ID = "8d3c2a4e-8b8e-4c8f-9d3e-2f5b6a7c8d90"
API_RECIPIENT = "+306900000001"
# In invocation order: file -> status code. The create comes after the list of Running campaigns:
# its workflow starts at once and passes through Running.
API_STATUS_CODES = {
    "campaigns_api-create-invalid.json": 422,
    "campaigns_api-get.json": 200,
    "campaigns_api-list.json": 200,
    "campaigns_api-list-messages.json": 200,
    "campaigns_api-get-message.json": 200,
    "campaigns_api-cancel.json": 200,
    "campaigns_api-create.json": 201,
    "campaigns_api-openapi.json": 200,
}


def prepare_api_samples(stack: TestStack) -> None:
    """The state the sample API events were written for: a Running campaign whose recipient has
    completed, and a Queued one (no workflow runs either)."""
    campaigns = Campaigns(stack)
    campaigns.dispatched([API_RECIPIENT], campaign_id=API_CAMPAIGN_ID)
    signature = sign_campaign(stack.secret(), API_CAMPAIGN_ID)
    callback = {
        "messageId": API_MESSAGE_ID,
        "to": API_RECIPIENT,
        "from": "+302100000000",
        "status": {"name": "Completed", "updatedDate": "2026-03-01T10:00:30Z"},
        "duration": 23,
        "price": 0.021,
    }
    answer = stack.api("POST", f"/callbacks/voice/{API_CAMPAIGN_ID}/{signature}", callback)
    assert answer.status_code == 200, answer.body
    campaigns.create(["+306900000001", "+306900000002"], start=False, campaign_id=API_QUEUED_CAMPAIGN_ID)


def check_api_samples(stack: TestStack, invoke: Invoke) -> None:
    answers = {}
    for name, status_code in API_STATUS_CODES.items():
        response = api_response(invoke("CampaignsApiFunction", name))
        assert response.status_code == status_code, (name, response.body)
        if status_code >= 400:
            assert response.body["error"] and isinstance(response.body["details"], list), name
        answers[name] = response.body
    campaigns = Campaigns(stack)

    created = campaigns.campaign(answers["campaigns_api-create.json"]["campaignId"])
    assert created.recipient_count == 3  # four numbers in the sample, one of them twice
    shown = answers["campaigns_api-get.json"]
    assert shown["counts"] == {"total": 1, "pending": 0, "final": {"Completed": 1}}
    assert campaigns.counts(API_CAMPAIGN_ID) == shown["counts"], "the table disagrees"
    running = answers["campaigns_api-list.json"]["items"]
    assert [item["campaignId"] for item in running] == [API_CAMPAIGN_ID]
    listed = answers["campaigns_api-list-messages.json"]["items"]
    assert [item["messageId"] for item in listed] == [API_MESSAGE_ID]
    message = answers["campaigns_api-get-message.json"]
    assert (message["status"], message["final"]) == ("Completed", True)
    cancelled = campaigns.campaign(API_QUEUED_CAMPAIGN_ID)
    assert (cancelled.status, cancelled.failure_reason) == ("Failed", "Cancelled")
    assert "/campaigns" in answers["campaigns_api-openapi.json"]["paths"]


# ----- the workflow's task functions, in the order the state machine calls them -----

WORKFLOW_SAMPLES = [
    ("AwaitScheduledStartFunction", "await_scheduled_start-store-token.json"),
    ("DispatchFunction", "dispatch-first-call.json"),
    ("DispatchFunction", "dispatch-continue.json"),
    ("AwaitCompletionFunction", "await_completion-store-token.json"),
    ("ReconcileFunction", "reconcile-after-timeout.json"),
    ("DescribeCampaignFunction", "describe_campaign-final.json"),
]
WORKFLOW_PREFIXES = (
    "await_scheduled_start",
    "dispatch",
    "await_completion",
    "reconcile",
    "describe_campaign",
)
WORKFLOW_RECIPIENTS = 2


def prepare_workflow_samples(stack: TestStack) -> tuple[str, list[str]]:
    """The Scheduled campaign every workflow sample names, with no execution running for it.
    Returns its id and recipients."""
    campaign_ids = {load_event(name)["campaignId"] for _, name in WORKFLOW_SAMPLES}
    assert len(campaign_ids) == 1, f"the workflow samples name several campaigns: {campaign_ids}"
    (campaign_id,) = campaign_ids
    numbers = recipients(WORKFLOW_RECIPIENTS)
    Campaigns(stack).create(numbers, seconds_until_start=60, start=False, campaign_id=campaign_id)
    return campaign_id, numbers


def check_workflow_samples(
    stack: TestStack, invoke: Invoke, campaign_id: str, tracked: dict[str, str]
) -> None:
    """Walk the prepared campaign through its tasks. `tracked` is what the provider's tracking API
    reports (a final status by recipient) when Reconcile asks: the in-process tests fake a
    provider; in containers it is the silent one, which reports nothing."""
    campaigns = Campaigns(stack)
    invoke("AwaitScheduledStartFunction", "await_scheduled_start-store-token.json")
    token = load_event("await_scheduled_start-store-token.json")["taskToken"]
    assert campaigns.campaign(campaign_id).schedule_token == token

    campaigns.advance(campaign_id, CampaignStatus.RUNNING)
    first = invoke("DispatchFunction", "dispatch-first-call.json")
    assert first == {"cursor": 1, "done": True, "accepted": WORKFLOW_RECIPIENTS}
    dispatched = campaigns.chunks(campaign_id)
    assert [chunk.state.value for chunk in dispatched] == ["submitted"]
    again = invoke("DispatchFunction", "dispatch-continue.json")
    assert again["done"] is True
    assert campaigns.chunks(campaign_id) == dispatched, "a later cursor must not resubmit anything"

    campaigns.advance(campaign_id, CampaignStatus.SENT)
    invoke("AwaitCompletionFunction", "await_completion-store-token.json")
    token = load_event("await_completion-store-token.json")["taskToken"]
    assert campaigns.campaign(campaign_id).completion_token == token

    verdict = invoke("ReconcileFunction", "reconcile-after-timeout.json")
    pending = WORKFLOW_RECIPIENTS - len(tracked)
    assert pending > 0, "this walk expects a campaign that ends with pending recipients"
    assert verdict == {
        "cursor": 1,
        "done": True,
        "allFinal": False,
        "pending": pending,
        "failureReason": (
            f"{pending} recipient{'s' if pending > 1 else ''} never reached a final status "
            f"({pending} never reported by the provider)"
        ),
    }

    campaigns.advance(campaign_id, CampaignStatus.FINISHED)
    described = invoke("DescribeCampaignFunction", "describe_campaign-final.json")
    assert described["detailType"] == "Voice Campaign Finished"
    assert described["detail"]["eventId"] == f"{campaign_id}:Finished"
    final = dict(Counter(tracked.values()))
    assert described["detail"]["counts"] == {"total": WORKFLOW_RECIPIENTS, "pending": pending, "final": final}
    assert campaigns.counts(campaign_id) == described["detail"]["counts"], "the table disagrees"


# ----- StreamPublisherFunction: events/stream_publisher-*.json -----

# What each sample publishes; a new events/stream_publisher-*.json needs its line here.
STREAM_SAMPLE_EVENT_IDS = {
    "stream_publisher-final-message.json": ["8d3c2a4e-8b8e-4c8f-9d3e-2f5b6a7c8d90:Completed"],
    # created final (Unsent) and moved into Busy; an intermediate move, a repeat after final and a
    # counter shard publish nothing.
    "stream_publisher-mixed-batch.json": [
        "1b2c3d4e-0000-4000-8000-000000000002:Unsent",
        "1b2c3d4e-0000-4000-8000-000000000005:Busy",
    ],
}


def check_stream_publisher_sample(stack: TestStack, invoke: Invoke, sample: str) -> None:
    """The sample's final moves reach the notifications queue (empty before), valid by their schema."""
    response = invoke("StreamPublisherFunction", sample)
    assert response == {"batchItemFailures": []}
    events = queued_events(stack)
    assert event_ids(events) == sorted(STREAM_SAMPLE_EVENT_IDS[sample])
    for event in events:
        assert_valid_detail(event)


def every_sample() -> set[str]:
    """The files the groups above cover, to compare with events/."""
    return (
        {name for name, *_ in CALLBACK_SEQUENCE}
        | set(API_STATUS_CODES)
        | {name for _, name in WORKFLOW_SAMPLES}
        | set(STREAM_SAMPLE_EVENT_IDS)
    )
