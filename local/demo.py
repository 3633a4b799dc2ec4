"""`python -m local.demo` (make demo): start the offline stack, run one simulated campaign to its
final status through the HTTP API, print what happened and exit 0 only if everything adds up.

The campaign has two recipients per last digit, so every lifecycle of the simulated carrier
(CONTRACT.md section 5) occurs; numbers ending in 9 never send a final callback and finish only
through reconciliation once the short completion timeout has passed.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import time
import uuid
import warnings
from collections import Counter
from typing import Any

import requests

from local.stack import LocalStack, Settings, StackError

RECIPIENTS = [f"+30690000{copy:03d}{digit}" for digit in range(10) for copy in (1, 2)]
COMPLETION_TIMEOUT_SECONDS = 20
# Time for dispatch, callbacks and reconciliation beyond the completion timeout.
DEADLINE_MARGIN_SECONDS = 60
NOTIFICATION_WAIT_SECONDS = 15
FINAL_CAMPAIGN_STATUSES = {"Finished", "Failed"}
FAILED_EXECUTION_STATUSES = {"FAILED", "TIMED_OUT", "ABORTED"}
MESSAGE_FINALIZED = "Voice Message Finalized"
CAMPAIGN_FINISHED = "Voice Campaign Finished"
CAMPAIGN_FAILED = "Voice Campaign Failed"


class DemoFailed(Exception):
    """The demo did not add up; the message says what differed."""


def campaign_request(completion_timeout_seconds: int) -> dict[str, Any]:
    return {
        "name": "Offline demo",
        "from": "+302100000000",
        "message": {"text": "This is the offline demo calling.", "language": "en-US", "gender": "female"},
        "recipients": RECIPIENTS,
        "completionTimeoutSeconds": completion_timeout_seconds,
    }


def execution_arn_of(stack: LocalStack, campaign_id: str) -> str:
    """The campaign's workflow execution: the API starts it with name = campaignId.
    (Imported here: the shared layer is on sys.path once the stack has started.)"""
    from voice_status.campaign.model import execution_arn

    return execution_arn(stack.outputs["CampaignStateMachineArn"], campaign_id)


def create_campaign(stack: LocalStack, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(
        f"{stack.api_url}/campaigns",
        json=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    )
    if response.status_code != 201:
        raise DemoFailed(f"POST /campaigns answered {response.status_code}: {response.text}")
    campaign: dict[str, Any] = response.json()
    return campaign


def wait_until_final(stack: LocalStack, campaign_id: str, deadline: float) -> dict[str, Any]:
    """Poll GET /campaigns/{id} until Finished; fail fast on Failed or a workflow that stopped."""
    sfn = stack.client("stepfunctions")
    execution_arn = execution_arn_of(stack, campaign_id)
    last_seen = None
    while True:
        response = requests.get(f"{stack.api_url}/campaigns/{campaign_id}", timeout=10)
        if response.status_code != 200:
            raise DemoFailed(f"GET /campaigns/{campaign_id} answered {response.status_code}: {response.text}")
        campaign: dict[str, Any] = response.json()
        seen = (campaign["status"], json.dumps(campaign["counts"]))
        if seen != last_seen:
            last_seen = seen
            print(f"  {time.strftime('%H:%M:%S')} campaign is {seen[0]}  counts {seen[1]}", flush=True)
        if campaign["status"] == "Failed":
            raise DemoFailed(f"the campaign failed: {campaign.get('failureReason')}\n{_pretty(campaign)}")
        if campaign["status"] in FINAL_CAMPAIGN_STATUSES:
            return campaign
        execution = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] in FAILED_EXECUTION_STATUSES or execution["status"] == "SUCCEEDED":
            raise DemoFailed(
                f"the workflow ended {execution['status']} ({execution.get('error')}: "
                f"{execution.get('cause')}) while the campaign is {campaign['status']}"
            )
        if time.monotonic() > deadline:
            raise DemoFailed(
                f"the campaign is still {campaign['status']} at the deadline\n{_pretty(campaign)}"
            )
        time.sleep(0.5)


def wait_for_workflow_end(stack: LocalStack, campaign_id: str, deadline: float) -> str:
    """The campaign's final event is put after its status is written: wait for the execution."""
    sfn = stack.client("stepfunctions")
    execution_arn = execution_arn_of(stack, campaign_id)
    while True:
        status = str(sfn.describe_execution(executionArn=execution_arn)["status"])
        if status != "RUNNING" or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def notifications(
    stack: LocalStack, campaign_id: str, expected: Counter[str], deadline: float
) -> Counter[str]:
    """The campaign's distinct notifications (by detail.eventId, as consumers de-duplicate) per
    detail-type, read from NotificationsQueue until `expected` is reached or the deadline passes."""
    sqs = stack.client("sqs")
    queue_url = stack.outputs["NotificationsQueueUrl"]
    seen: dict[str, str] = {}
    while True:
        stack.drain_streams()
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            event = json.loads(message["Body"])
            if event["detail"].get("campaignId") == campaign_id:
                seen[event["detail"]["eventId"]] = event["detail-type"]
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        counted = Counter(seen.values())
        if all(counted[kind] >= count for kind, count in expected.items()) or time.monotonic() > deadline:
            return counted


def report(title: str, expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    """Print expected vs actual per key; the keys that differ."""
    print(f"\n{title}")
    print(f"  {'':26} {'expected':>8} {'actual':>8}")
    differ = []
    for key in sorted(set(expected) | set(actual)):
        mark = "" if expected.get(key, 0) == actual.get(key, 0) else "   <- differs"
        print(f"  {key:26} {expected.get(key, 0):>8} {actual.get(key, 0):>8}{mark}")
        if mark:
            differ.append(key)
    return differ


def run(stack: LocalStack, completion_timeout_seconds: int = COMPLETION_TIMEOUT_SECONDS) -> None:
    """Run the demo campaign on a started stack; raise DemoFailed if anything does not add up."""
    if stack.carrier is None:
        raise DemoFailed("the demo needs the simulated carrier (VOICE_PROVIDER=simulated)")
    body = campaign_request(completion_timeout_seconds)
    started = time.monotonic()
    campaign = create_campaign(stack, body)
    campaign_id = campaign["campaignId"]
    print(
        f"Created campaign {campaign_id} with {len(RECIPIENTS)} recipients "
        f"(completion timeout {completion_timeout_seconds} s; numbers ending in 9 finish by reconciliation)",
        flush=True,
    )
    campaign = wait_until_final(
        stack, campaign_id, started + completion_timeout_seconds + DEADLINE_MARGIN_SECONDS
    )
    execution_status = wait_for_workflow_end(stack, campaign_id, time.monotonic() + NOTIFICATION_WAIT_SECONDS)
    print(f"\nCampaign {campaign_id}: {campaign['status']} after {time.monotonic() - started:.1f} s")
    print(
        "  status history: "
        + " -> ".join(f"{step['status']} ({step['at']})" for step in campaign["statusHistory"])
    )
    print(f"  counts: {json.dumps(campaign['counts'])}")

    problems = []
    expected_final = {
        str(status): count for status, count in stack.carrier.expected_outcome(RECIPIENTS).items()
    }
    if report("Final message statuses", expected_final, campaign["counts"]["final"]):
        problems.append("the final statuses differ from the carrier's lifecycles")
    if campaign["counts"]["total"] != len(RECIPIENTS) or campaign["counts"]["pending"] != 0:
        problems.append(f"counts.total should be {len(RECIPIENTS)} with 0 pending: {campaign['counts']}")
    if execution_status != "SUCCEEDED":
        problems.append(f"the workflow ended {execution_status}, not SUCCEEDED")

    expected_events = Counter({MESSAGE_FINALIZED: len(RECIPIENTS), CAMPAIGN_FINISHED: 1})
    received = notifications(
        stack, campaign_id, expected_events, time.monotonic() + NOTIFICATION_WAIT_SECONDS
    )
    if report(
        "Notifications on NotificationsQueue (distinct eventIds)", dict(expected_events), dict(received)
    ):
        problems.append("the notifications differ from one per message and one for the campaign")
    if problems:
        raise DemoFailed("; ".join(problems))


def main() -> int:
    # Readable output: handlers log warnings and errors only, unless LOG_LEVEL says otherwise.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    settings = Settings.from_environment(free_ports=True)
    # The demo's own outputs file: a `make local` running beside it keeps its .local/outputs.json.
    settings = dataclasses.replace(
        settings,
        voice_provider="simulated",
        outputs_file=settings.outputs_file.with_name("demo-outputs.json")
        if "LOCAL_OUTPUTS_FILE" not in os.environ
        else settings.outputs_file,
    )
    try:
        with LocalStack(settings) as stack:
            print(stack.ready_line(), flush=True)
            run(stack)
    except (StackError, DemoFailed) as error:
        print(f"\nDEMO FAILED: {error}", file=sys.stderr)
        return 1
    print("\nDemo OK: every message reached its expected final status and every notification arrived.")
    return 0


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2)


if __name__ == "__main__":
    sys.exit(main())
