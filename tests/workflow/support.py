"""Driving campaigns through the real state machine in moto (tests and the workflow benchmark).

`Campaigns` creates campaigns with the product's own service functions (what POST /campaigns
does, with smaller chunks where a test needs several), moves them with the deployed state
machine's own status-move states, and reads them back through the store: nothing here writes
or reads a raw item. `FakeProvider` fakes the voice provider, never AWS.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import jsonschema
import pytest

from tests.conftest import EVENTS_DIR, ApiResponse, TestStack
from voice_status.campaign import service
from voice_status.campaign.model import Campaign, Chunk, execution_arn
from voice_status.campaign.requests import CreateCampaignRequest
from voice_status.campaign.store import CampaignStore
from voice_status.campaign.workflow import StepBudget
from voice_status.providers import SilentProvider
from voice_status.providers.base import Accepted, ProviderError, Submission
from voice_status.reports import StatusReport
from voice_status.signing import callback_url, sign_campaign
from voice_status.statuses import CampaignStatus
from voice_status.timeutil import now_iso, utc_now

EVENT_SCHEMAS = {
    "Voice Campaign Finished": "voice-campaign-finished.schema.json",
    "Voice Campaign Failed": "voice-campaign-failed.schema.json",
}
DEADLINE_SECONDS = 30.0
POLL_SECONDS = 0.05
DEFAULT_API_URL = "https://api.example.test/dev"  # where callbacks point when no API_URL is set
# The state machine's status moves, in lifecycle order: the path to any status.
MARK_STATES = {
    CampaignStatus.QUEUED: "MarkQueued",
    CampaignStatus.RUNNING: "MarkRunning",
    CampaignStatus.SENT: "MarkSent",
    CampaignStatus.FINISHED: "MarkFinished",
}
LIFECYCLE = [CampaignStatus.SCHEDULED, *MARK_STATES]


@dataclass
class FakeProvider:
    """Accepts every chunk and gives each recipient a message id `<trackingId>-<n>`.

    `refuse` makes every submit raise it; `crash_once_on` raises a plain error (a crash) on the
    first submission holding that recipient; `on_submit` runs after a submission is accepted;
    `tracking` maps a recipient to the status the tracking API reports for its message."""

    refuse: ProviderError | None = None
    crash_once_on: str | None = None
    on_submit: Callable[[Submission, str], None] | None = None
    tracking: dict[str, str] = field(default_factory=dict)
    submissions: list[Submission] = field(default_factory=list)
    sent: dict[str, list[str]] = field(default_factory=dict)  # trackingId -> recipients
    tracked: list[str] = field(default_factory=list)  # trackingIds asked about, in order
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def submit(self, submission: Submission) -> Accepted:
        self.submissions.append(submission)
        if self.crash_once_on in submission.recipients:
            self.crash_once_on = None
            raise ConnectionResetError("connection reset while sending")
        if self.refuse is not None:
            raise self.refuse
        tracking_id = f"trk-{next(self._ids)}"
        self.sent[tracking_id] = list(submission.recipients)
        if self.on_submit:
            self.on_submit(submission, tracking_id)
        return Accepted(tracking_id=tracking_id, accepted=len(submission.recipients))

    def track(self, tracking_id: str) -> Iterator[StatusReport]:
        self.tracked.append(tracking_id)
        for number, recipient in enumerate(self.sent.get(tracking_id, [])):
            if recipient in self.tracking:
                yield StatusReport.parse(
                    {
                        "messageId": message_id(tracking_id, number),
                        "to": recipient,
                        "status": {"status": self.tracking[recipient], "date": "2026-11-27T09:05:00.000Z"},
                    }
                )

    def messages(self) -> list[tuple[str, str]]:
        """(messageId, recipient) of every accepted recipient."""
        return [
            (message_id(tracking_id, number), recipient)
            for tracking_id, recipients in self.sent.items()
            for number, recipient in enumerate(recipients)
        ]


def message_id(tracking_id: str, number: int) -> str:
    return f"{tracking_id}-{number}"


def recipients(count: int) -> list[str]:
    return [f"+3069{number:08d}" for number in range(count)]


def campaign_request(
    numbers: list[str], *, seconds_until_start: int = 0, completion_timeout_seconds: int = 60
) -> CreateCampaignRequest:
    body: dict[str, Any] = {
        "name": "Flu shot reminder",
        "from": "+302100000000",
        "message": {"text": "Your appointment is tomorrow.", "language": "en-US", "gender": "female"},
        "recipients": numbers,
        "completionTimeoutSeconds": completion_timeout_seconds,
    }
    if seconds_until_start > 0:
        body["scheduledAt"] = (utc_now() + timedelta(seconds=seconds_until_start)).isoformat()
    return CreateCampaignRequest.model_validate(body)


@dataclass
class Campaigns:
    stack: TestStack
    deadline_seconds: float = DEADLINE_SECONDS
    poll_seconds: float = POLL_SECONDS
    _plans: dict[str, Any] = field(default_factory=dict, init=False)

    @property
    def store(self) -> CampaignStore:
        return CampaignStore(self.stack.client("dynamodb"), self.stack.outputs["TableName"])

    @property
    def workflows(self) -> service.Workflows:
        return service.Workflows(
            self.stack.client("stepfunctions"), self.stack.outputs["CampaignStateMachineArn"]
        )

    def create(
        self,
        numbers: list[str],
        *,
        seconds_until_start: int = 0,
        completion_timeout_seconds: int = 60,
        chunk_size: int = 1000,
        claimed_chunks: tuple[int, ...] = (),
        start: bool = True,
        campaign_id: str | None = None,
    ) -> str:
        """Store a campaign like POST /campaigns does, then start its execution.

        `claimed_chunks`: chunks an earlier dispatch attempt claimed and then crashed on."""
        secret = self.stack.secret()
        campaign, plan = service.store_new_campaign(
            self.store,
            campaign_request(
                numbers,
                seconds_until_start=seconds_until_start,
                completion_timeout_seconds=completion_timeout_seconds,
            ),
            lambda created: callback_url(os.environ.get("API_URL", DEFAULT_API_URL), created, secret),
            campaign_id=campaign_id,
            chunk_size=chunk_size,
        )
        for chunk in self.store.pending_chunks(campaign.campaign_id, 0, 1000):
            if chunk.index in claimed_chunks:
                assert self.store.claim_chunk(chunk)
        if start:
            service.start_workflow(self.store, self.workflows, campaign, plan)
        self._plans[campaign.campaign_id] = (campaign, plan)
        return campaign.campaign_id

    def dispatched(self, numbers: list[str], *, campaign_id: str | None = None) -> str:
        """A Running campaign whose recipients were all handed to the provider (no workflow runs
        it): what callbacks need to exist."""
        campaign_id = self.create(numbers, start=False, campaign_id=campaign_id)
        self.advance(campaign_id, CampaignStatus.RUNNING)
        progress = service.dispatch_step(
            self.store, SilentProvider(), campaign_id, 0, budget=StepBudget(), remaining_ms=lambda: 900_000
        )
        assert progress.done
        return campaign_id

    def start(self, campaign_id: str) -> None:
        campaign, plan = self._plans[campaign_id]
        service.start_workflow(self.store, self.workflows, campaign, plan)

    def campaign(self, campaign_id: str) -> Campaign:
        campaign = self.store.get(campaign_id)
        assert campaign is not None
        return campaign

    def statuses(self, campaign_id: str) -> list[str]:
        return [entry.status for entry in self.campaign(campaign_id).shown_history()]

    def counts(self, campaign_id: str) -> dict[str, Any]:
        found = self.store.get_with_counts(campaign_id)
        assert found is not None
        return found.counts.as_dict()

    def chunks(self, campaign_id: str) -> list[Chunk]:
        return self.store.chunk_outcomes(campaign_id)

    def chunk_states(self, campaign_id: str) -> list[str]:
        return [chunk.state.value for chunk in self.chunks(campaign_id)]

    def describe(self, campaign_id: str) -> dict[str, Any]:
        execution = self.stack.client("stepfunctions").describe_execution(
            executionArn=execution_arn(self.stack.outputs["CampaignStateMachineArn"], campaign_id)
        )
        return dict(execution)

    def wait_until(self, campaign_id: str, condition: Callable[[Campaign], bool], what: str) -> Campaign:
        """Poll the campaign until `condition` holds; fail fast if the execution ended."""
        deadline = time.monotonic() + self.deadline_seconds
        while time.monotonic() < deadline:
            campaign = self.campaign(campaign_id)
            if condition(campaign):
                return campaign
            execution = self.describe(campaign_id)
            if execution["status"] != "RUNNING":
                pytest.fail(
                    f"execution ended {execution['status']} before: {what} ({execution.get('cause')})"
                )
            time.sleep(self.poll_seconds)
        pytest.fail(f"timed out waiting for: {what}; campaign is {self.campaign(campaign_id).status}")

    def wait_for_sent(self, campaign_id: str) -> Campaign:
        return self.wait_until(campaign_id, lambda campaign: campaign.completion_token is not None, "Sent")

    def wait_for_end(self, campaign_id: str, expected: str) -> dict[str, Any]:
        """Poll the execution until it ends; fail fast on any end other than `expected`."""
        deadline = time.monotonic() + self.deadline_seconds
        while time.monotonic() < deadline:
            execution = self.describe(campaign_id)
            if execution["status"] == expected:
                return execution
            if execution["status"] != "RUNNING":
                pytest.fail(
                    f"execution ended {execution['status']}, expected {expected}: "
                    f"{execution.get('error')} {execution.get('cause')}"
                )
            time.sleep(self.poll_seconds)
        pytest.fail(f"execution still running after {self.deadline_seconds}s, expected {expected}")

    def history(self, campaign_id: str) -> list[dict[str, Any]]:
        sfn = self.stack.client("stepfunctions")
        events: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "executionArn": execution_arn(self.stack.outputs["CampaignStateMachineArn"], campaign_id),
            "maxResults": 1000,
        }
        while True:
            page = sfn.get_execution_history(**request)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            request["nextToken"] = page["nextToken"]

    def callback(self, campaign_id: str, message: str, to: str, status: str) -> ApiResponse:
        signature = sign_campaign(self.stack.secret(), campaign_id)
        body = {"messageId": message, "to": to, "status": {"name": status, "updatedDate": now_iso()}}
        return self.stack.api("POST", f"/callbacks/voice/{campaign_id}/{signature}", body)

    def cancel(self, campaign_id: str) -> None:
        service.cancel_campaign(self.store, self.workflows, campaign_id)

    def move(self, campaign_id: str, state: str, entered_time: str | None = None, failure: str = "") -> None:
        """Run one of the deployed state machine's status-move states, as Step Functions would."""
        parameters = state_parameters(self.stack, state)
        state_input = {"campaignId": campaign_id, "failure": {"reason": failure}}
        request = resolve_parameters(parameters, state_input, entered_time or now_iso())
        self.stack.client("dynamodb").update_item(**request)

    def advance(self, campaign_id: str, target: CampaignStatus) -> None:
        """Walk a campaign that no workflow runs along the lifecycle to `target`."""
        current = self.campaign(campaign_id).status
        for status in LIFECYCLE[LIFECYCLE.index(current) + 1 : LIFECYCLE.index(target) + 1]:
            self.move(campaign_id, MARK_STATES[status])

    def notifications(self, count: int) -> list[dict[str, Any]]:
        """The next `count` events on the notifications queue (EventBridge envelopes)."""
        sqs = self.stack.client("sqs")
        deadline = time.monotonic() + self.deadline_seconds
        received: list[dict[str, Any]] = []
        while len(received) < count and time.monotonic() < deadline:
            answer = sqs.receive_message(
                QueueUrl=self.stack.outputs["NotificationsQueueUrl"], MaxNumberOfMessages=10
            )
            received.extend(json.loads(message["Body"]) for message in answer.get("Messages", []))
        assert len(received) == count, f"expected {count} notifications, got {received}"
        for event in received:
            schema = json.loads((EVENTS_DIR / "schemas" / EVENT_SCHEMAS[event["detail-type"]]).read_text())
            jsonschema.validate(event, schema, format_checker=jsonschema.FormatChecker())  # envelope too
        return received


# ----- the deployed definition's parameters, resolved the way Step Functions resolves them -----

_FORMAT = re.compile(r"States\.Format\('([^']*)', \$\.(\w+)\)")


def state_parameters(stack: TestStack, state: str) -> dict[str, Any]:
    definition = json.loads(
        stack.client("stepfunctions").describe_state_machine(
            stateMachineArn=stack.outputs["CampaignStateMachineArn"]
        )["definition"]
    )
    parameters: dict[str, Any] = definition["States"][state]["Parameters"]
    return parameters


def _evaluate(expression: str, state_input: dict[str, Any], entered_time: str) -> Any:
    if expression == "$$.State.EnteredTime":
        return entered_time
    formatted = _FORMAT.fullmatch(expression)
    if formatted:
        return formatted.group(1).replace("{}", str(state_input[formatted.group(2)]))
    assert expression.startswith("$."), f"no evaluator for {expression!r}"
    value: Any = state_input
    for part in expression[2:].split("."):
        value = value[part]
    return value


def resolve_parameters(parameters: Any, state_input: dict[str, Any], entered_time: str) -> Any:
    """ASL Parameters -> the request: keys ending in `.$` take the value of their path."""
    if isinstance(parameters, list):
        return [resolve_parameters(item, state_input, entered_time) for item in parameters]
    if not isinstance(parameters, dict):
        return parameters
    return {
        key.removesuffix(".$"): _evaluate(value, state_input, entered_time)
        if key.endswith(".$")
        else resolve_parameters(value, state_input, entered_time)
        for key, value in parameters.items()
    }
