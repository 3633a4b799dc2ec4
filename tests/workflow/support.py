"""Driving campaigns through the real state machine in moto (tests and the workflow benchmark).

`Campaigns` writes a campaign the way POST /campaigns does (campaign item + recipient chunks,
then StartExecution named after the campaign: team-notes "workflow contract"), so nothing here
depends on the API function. `FakeProvider` fakes the voice provider, never AWS.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest

from tests.conftest import EVENTS_DIR, ApiResponse, TestStack
from voice_status.providers.base import Accepted, ProviderError, Submission
from voice_status.reports import StatusReport
from voice_status.repository import CampaignRepository, keys
from voice_status.signing import callback_url, sign_campaign
from voice_status.timeutil import now_iso

EVENT_SCHEMAS = {
    "Voice Campaign Finished": "voice-campaign-finished.schema.json",
    "Voice Campaign Failed": "voice-campaign-failed.schema.json",
}
DEADLINE_SECONDS = 30.0
POLL_SECONDS = 0.05


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
        for number, recipient in enumerate(self.sent.get(tracking_id, [])):
            if recipient in self.tracking:
                yield StatusReport.model_validate(
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


@dataclass
class Campaigns:
    stack: TestStack
    deadline_seconds: float = DEADLINE_SECONDS
    poll_seconds: float = POLL_SECONDS

    @property
    def table(self) -> str:
        return self.stack.outputs["TableName"]

    def create(
        self,
        numbers: list[str],
        *,
        seconds_until_start: int = 0,
        completion_timeout_seconds: int = 60,
        chunk_size: int = 1000,
        chunk_states: dict[int, str] | None = None,
        start: bool = True,
        campaign_id: str | None = None,
    ) -> str:
        """Write the campaign and its chunks like POST /campaigns, then start its execution."""
        campaign_id = campaign_id or str(uuid.uuid4())
        created_at = now_iso()
        status = "Scheduled" if seconds_until_start > 0 else "Queued"
        chunks = [numbers[first : first + chunk_size] for first in range(0, len(numbers), chunk_size)]
        dynamodb = self.stack.client("dynamodb")
        for index, chunk in enumerate(chunks):
            state = (chunk_states or {}).get(index, "pending")
            item = {"campaignId": campaign_id, "index": index, "recipients": chunk, "state": state}
            dynamodb.put_item(
                TableName=self.table, Item=keys.to_attributes(item) | keys.chunk_key(campaign_id, index)
            )
        campaign = {
            "campaignId": campaign_id,
            "name": "Flu shot reminder",
            "from": "+302100000000",
            "message": {"text": "Your appointment is tomorrow.", "language": "en-US", "gender": "female"},
            "status": status,
            "statusHistory": [{"status": status, "at": created_at}],
            "createdAt": created_at,
            "updatedAt": created_at,
            "scheduledAt": "2026-12-01T09:00:00.000Z" if seconds_until_start > 0 else None,
            "completionTimeoutSeconds": completion_timeout_seconds,
            "total": len(numbers),
            "chunkCount": len(chunks),
            "failureReason": None,
            "callbackUrl": callback_url(os.environ["API_URL"], campaign_id, self.stack.secret()),
        }
        dynamodb.put_item(
            TableName=self.table, Item=keys.to_attributes(campaign) | keys.campaign_key(campaign_id)
        )
        if start:
            self.start(campaign_id, seconds_until_start, completion_timeout_seconds)
        return campaign_id

    def start(self, campaign_id: str, seconds_until_start: int, completion_timeout_seconds: int) -> None:
        self.stack.client("stepfunctions").start_execution(
            stateMachineArn=self.stack.outputs["CampaignStateMachineArn"],
            name=campaign_id,
            input=json.dumps(
                {
                    "campaignId": campaign_id,
                    "scheduledAt": "2026-12-01T09:00:00.000Z" if seconds_until_start > 0 else None,
                    "secondsUntilStart": seconds_until_start,
                    "completionTimeoutSeconds": completion_timeout_seconds,
                }
            ),
        )

    def execution_arn(self, campaign_id: str) -> str:
        machine = self.stack.outputs["CampaignStateMachineArn"]
        return f"{machine.replace(':stateMachine:', ':execution:')}:{campaign_id}"

    def item(self, campaign_id: str) -> dict[str, Any]:
        campaign, _ = CampaignRepository(self.stack.client("dynamodb"), self.table).get_with_counts(
            campaign_id
        )
        assert campaign is not None
        return campaign

    def counts(self, campaign_id: str) -> dict[str, Any]:
        _, counts = CampaignRepository(self.stack.client("dynamodb"), self.table).get_with_counts(campaign_id)
        return counts.as_dict()

    def chunk(self, campaign_id: str, index: int) -> dict[str, Any]:
        answer = self.stack.client("dynamodb").get_item(
            TableName=self.table, Key=keys.chunk_key(campaign_id, index), ConsistentRead=True
        )
        return keys.from_item(answer["Item"])

    def describe(self, campaign_id: str) -> dict[str, Any]:
        execution = self.stack.client("stepfunctions").describe_execution(
            executionArn=self.execution_arn(campaign_id)
        )
        return dict(execution)

    def wait_until(
        self, campaign_id: str, condition: Callable[[dict[str, Any]], bool], what: str
    ) -> dict[str, Any]:
        """Poll the campaign item until `condition` holds; fail fast if the execution ended."""
        deadline = time.monotonic() + self.deadline_seconds
        while time.monotonic() < deadline:
            item = self.item(campaign_id)
            if condition(item):
                return item
            execution = self.describe(campaign_id)
            if execution["status"] != "RUNNING":
                pytest.fail(
                    f"execution ended {execution['status']} before: {what} ({execution.get('cause')})"
                )
            time.sleep(self.poll_seconds)
        pytest.fail(f"timed out waiting for: {what}; campaign is {self.item(campaign_id)['status']}")

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
        request: dict[str, Any] = {"executionArn": self.execution_arn(campaign_id), "maxResults": 1000}
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
        """What DELETE /campaigns/{id} does to a Scheduled campaign (team-notes workflow contract)."""
        now = now_iso()
        answer = self.stack.client("dynamodb").update_item(
            TableName=self.table,
            Key=keys.campaign_key(campaign_id),
            UpdateExpression=(
                "SET #status = :failed, failureReason = :reason, updatedAt = :now, "
                "statusHistory = list_append(statusHistory, :entry)"
            ),
            ConditionExpression="#status IN (:scheduled, :queued)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=keys.to_attributes(
                {
                    ":failed": "Failed",
                    ":reason": "Cancelled",
                    ":now": now,
                    ":entry": [{"status": "Failed", "at": now}],
                    ":scheduled": "Scheduled",
                    ":queued": "Queued",
                }
            ),
            ReturnValues="ALL_NEW",
        )
        token = keys.from_item(answer["Attributes"]).get("scheduleTaskToken")
        if token:
            self.stack.client("stepfunctions").send_task_failure(
                taskToken=token, error="CampaignCancelled", cause="Cancelled"
            )

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

    def set_status(self, campaign_id: str, status: str) -> None:
        self.stack.client("dynamodb").update_item(
            TableName=self.table,
            Key=keys.campaign_key(campaign_id),
            UpdateExpression="SET #status = :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": {"S": status}},
        )
