"""The events/ files: what each one needs set up, and what its function must answer and write.

One place for both the in-process tests (tests/integration, tests/workflow: handlers run like
`sam local invoke` runs them) and the container tier (tests/container: the real `sam local
invoke -e events/<file>`). Each group has a `prepare_*` that sets up the state its samples need
through the product's own code, and a `check_*` that invokes every sample of the group in order
through `invoke` and asserts the answer and the effect in the tables.

`invoke(function, event_file)` takes the function's logical id and the file name in events/ and
returns what the function returned (for API functions, the proxy integration result).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.conftest import EVENTS_DIR, TestStack, api_response, load_event
from tests.notifications import assert_valid_detail, event_ids, queued_events
from tests.workflow.support import Campaigns, recipients
from voice_status.campaigns import CreateCampaignRequest, new_campaign_item, plan_start
from voice_status.repository import CampaignRepository, keys
from voice_status.signing import callback_url, sign_campaign
from voice_status.timeutil import to_iso

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

# In delivery order: (file, status code, message status after it, applied)
CALLBACK_SEQUENCE = [
    ("callback-ringing.json", 200, "Ringing", True),
    ("callback-ringing-duplicate.json", 200, "Ringing", False),
    ("callback-initiated-out-of-order.json", 200, "Ringing", False),
    ("callback-completed.json", 200, "Completed", True),
    ("callback-tracking-shape.json", 200, "Completed", False),
    ("callback-status-spelled-loosely.json", 200, "NoAnswer", True),
    ("callback-bad-signature.json", 403, None, None),
    ("callback-signature-for-other-campaign.json", 403, None, None),
    ("callback-malformed-json.json", 400, None, None),
    ("callback-missing-status.json", 422, None, None),
    ("callback-unknown-status.json", 422, None, None),
    ("callback-bad-date.json", 422, None, None),
]


def prepare_callback_events(stack: TestStack) -> None:
    """The signing secret holds the key the samples are signed with."""
    stack.client("secretsmanager").put_secret_value(
        SecretId=stack.outputs["CallbackSigningSecretArn"], SecretString=EVENTS_SIGNING_KEY
    )


def check_callback_events(stack: TestStack, invoke: Invoke) -> None:
    for name, status_code, status, applied in CALLBACK_SEQUENCE:
        before = table_items(stack)
        response = api_response(invoke("CallbackFunction", name))
        assert response.status_code == status_code, (name, response.body)
        assert response.headers.get("Content-Type") == "application/json"
        if status_code == 200:
            assert response.body["status"] == status, name
            assert response.body["applied"] is applied, name
            message_id = response.body["messageId"]
            stored = stack.client("dynamodb").get_item(
                TableName=stack.outputs["TableName"], Key=keys.message_key(message_id), ConsistentRead=True
            )
            assert keys.from_item(stored["Item"])["status"] == status, f"{name}: the table disagrees"
        else:
            assert isinstance(response.body["error"], str) and response.body["error"], name
            assert table_items(stack) == before, f"{name} was rejected but wrote something"
        if status_code == 422:
            assert response.body["details"], name


# ----- CampaignsApiFunction: events/campaigns_api-*.json -----

# The samples read this campaign and message; prepare_campaigns_api_events creates them.
API_EVENTS_CAMPAIGN_ID = "5b1f6a2e-3c4d-4e8f-9a0b-1c2d3e4f5a6b"
API_EVENTS_MESSAGE_ID = "8d3c2a4e-8b8e-4c8f-9d3e-2f5b6a7c8d90"
API_EVENTS_RECIPIENT = "+306900000001"
# In invocation order: (file, status code)
API_EVENT_STATUS_CODES = {
    "campaigns_api-create.json": 201,
    "campaigns_api-create-invalid.json": 422,
    "campaigns_api-get.json": 200,
    "campaigns_api-list-messages.json": 200,
    "campaigns_api-get-message.json": 200,
    "campaigns_api-cancel.json": 200,  # last but one: it ends the prepared campaign
    "campaigns_api-openapi.json": 200,
}


def prepare_campaigns_api_events(stack: TestStack) -> None:
    """A Queued campaign (no workflow runs for it) whose message has completed."""
    request = CreateCampaignRequest.model_validate(
        {
            "name": "Flu shot reminder",
            "from": "+302100000000",
            "message": {"text": "Your appointment is tomorrow.", "language": "en-US", "gender": "female"},
            "recipients": [API_EVENTS_RECIPIENT, "+306900000002"],
        }
    )
    now = datetime.now(UTC)
    campaign = new_campaign_item(
        API_EVENTS_CAMPAIGN_ID,
        request,
        plan_start(None, now),
        created_at=to_iso(now),
        callback_url=callback_url("https://api.example.test/dev", API_EVENTS_CAMPAIGN_ID, stack.secret()),
        chunk_count=1,
    )
    CampaignRepository(stack.client("dynamodb"), stack.outputs["TableName"]).create(
        campaign, [request.recipients]
    )
    signature = sign_campaign(stack.secret(), API_EVENTS_CAMPAIGN_ID)
    callback = {
        "messageId": API_EVENTS_MESSAGE_ID,
        "to": API_EVENTS_RECIPIENT,
        "from": "+302100000000",
        "status": {"name": "Completed", "updatedDate": "2026-03-01T10:00:30Z"},
        "duration": 23,
        "price": 0.021,
    }
    answer = stack.api("POST", f"/callbacks/voice/{API_EVENTS_CAMPAIGN_ID}/{signature}", callback)
    assert answer.status_code == 200, answer.body


def check_campaigns_api_events(stack: TestStack, invoke: Invoke) -> None:
    answers = {}
    for name, status_code in API_EVENT_STATUS_CODES.items():
        response = api_response(invoke("CampaignsApiFunction", name))
        assert response.status_code == status_code, (name, response.body)
        if status_code >= 400:
            assert response.body["error"] and isinstance(response.body["details"], list), name
        answers[name] = response.body
    repository = CampaignRepository(stack.client("dynamodb"), stack.outputs["TableName"])

    created = answers["campaigns_api-create.json"]
    stored, counts = repository.get_with_counts(created["campaignId"])
    assert stored is not None, "the created campaign is not in the table"
    assert counts.as_dict()["total"] == 3  # four recipients in the sample, one of them twice
    assert answers["campaigns_api-get.json"]["counts"] == {
        "total": 2,
        "pending": 1,
        "final": {"Completed": 1},
    }
    listed = answers["campaigns_api-list-messages.json"]["items"]
    assert [item["messageId"] for item in listed] == [API_EVENTS_MESSAGE_ID]
    message = answers["campaigns_api-get-message.json"]
    assert (message["status"], message["final"]) == ("Completed", True)
    cancelled, _ = repository.get_with_counts(API_EVENTS_CAMPAIGN_ID)
    assert cancelled is not None
    assert (cancelled["status"], cancelled["failureReason"]) == ("Failed", "Cancelled")
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


def prepare_workflow_events(stack: TestStack) -> tuple[str, list[str]]:
    """The Scheduled campaign every workflow sample names, with no execution running for it.
    Returns its id and recipients."""
    campaign_ids = {load_event(name)["campaignId"] for _, name in WORKFLOW_SAMPLES}
    assert len(campaign_ids) == 1, f"the workflow samples name several campaigns: {campaign_ids}"
    (campaign_id,) = campaign_ids
    numbers = recipients(WORKFLOW_RECIPIENTS)
    Campaigns(stack).create(numbers, seconds_until_start=60, start=False, campaign_id=campaign_id)
    return campaign_id, numbers


def check_workflow_events(
    stack: TestStack, invoke: Invoke, campaign_id: str, tracked: dict[str, str]
) -> None:
    """Walk the prepared campaign through its tasks. `tracked` is what the provider's tracking API
    reports, by recipient, when Reconcile asks (the in-process tests fake a provider; containers
    run the silent one, which reports nothing)."""
    campaigns = Campaigns(stack)
    token = load_event("await_scheduled_start-store-token.json")["taskToken"]
    invoke("AwaitScheduledStartFunction", "await_scheduled_start-store-token.json")
    assert campaigns.item(campaign_id)["scheduleTaskToken"] == token

    campaigns.set_status(campaign_id, "Running")
    first = invoke("DispatchFunction", "dispatch-first-call.json")
    assert first == {"cursor": 1, "done": True, "accepted": WORKFLOW_RECIPIENTS}
    submitted = campaigns.chunk(campaign_id, 0)
    assert submitted["state"] == "submitted"
    again = invoke("DispatchFunction", "dispatch-continue.json")
    assert again["done"] is True
    assert campaigns.chunk(campaign_id, 0) == submitted, "a later cursor must not resubmit anything"

    campaigns.set_status(campaign_id, "Sent")
    invoke("AwaitCompletionFunction", "await_completion-store-token.json")
    token = load_event("await_completion-store-token.json")["taskToken"]
    assert campaigns.item(campaign_id)["taskToken"] == token

    verdict = invoke("ReconcileFunction", "reconcile-after-timeout.json")
    pending = WORKFLOW_RECIPIENTS - len(tracked)
    assert (verdict["allFinal"], verdict["pending"]) == (pending == 0, pending)

    campaigns.set_status(campaign_id, "Finished")
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


def check_stream_publisher_event(stack: TestStack, invoke: Invoke, sample: str) -> None:
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
        | set(API_EVENT_STATUS_CODES)
        | {name for _, name in WORKFLOW_SAMPLES}
        | set(STREAM_SAMPLE_EVENT_IDS)
    )
