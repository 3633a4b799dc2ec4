"""The workflow's campaign status moves, exactly as the state machine sends them to DynamoDB.

Each Mark* state's updateItem parameters are taken from the deployed definition and resolved the
way Step Functions resolves them, so the conditions tested here are the real ones: a move happens
only from the expected status, and a retry of a move whose answer was lost passes once, without
showing the move twice.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import TestStack
from tests.workflow.support import Campaigns, recipients
from voice_status.repository import CampaignRepository
from voice_status.views import status_history

MOVES = [
    ("MarkQueued", "Scheduled", "Queued"),
    ("MarkRunning", "Queued", "Running"),
    ("MarkSent", "Running", "Sent"),
    ("MarkFinished", "Sent", "Finished"),
    ("MarkFailed", "Sent", "Failed"),
]
_FORMAT = re.compile(r"States\.Format\('([^']*)', \$\.(\w+)\)")


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


def _resolve(parameters: Any, state_input: dict[str, Any], entered_time: str) -> Any:
    """ASL Parameters -> the request: keys ending in `.$` take the value of their path."""
    if isinstance(parameters, list):
        return [_resolve(item, state_input, entered_time) for item in parameters]
    if not isinstance(parameters, dict):
        return parameters
    return {
        key.removesuffix(".$"): _evaluate(value, state_input, entered_time)
        if key.endswith(".$")
        else _resolve(value, state_input, entered_time)
        for key, value in parameters.items()
    }


def _move(stack: TestStack, state: str, campaign_id: str, entered_time: str) -> None:
    definition = json.loads(
        stack.client("stepfunctions").describe_state_machine(
            stateMachineArn=stack.outputs["CampaignStateMachineArn"]
        )["definition"]
    )
    parameters = definition["States"][state]["Parameters"]
    state_input = {"campaignId": campaign_id, "failure": {"reason": "Provider refused the campaign"}}
    stack.client("dynamodb").update_item(**_resolve(parameters, state_input, entered_time))


def _campaign(stack: TestStack, campaign_id: str) -> dict[str, Any]:
    item, _ = CampaignRepository(stack.client("dynamodb"), stack.outputs["TableName"]).get_with_counts(
        campaign_id
    )
    assert item is not None
    return item


@pytest.mark.parametrize(("state", "before", "after"), MOVES)
def test_a_move_happens_once_and_a_lost_answer_retry_passes(
    stack: TestStack, campaigns: Campaigns, state: str, before: str, after: str
) -> None:
    campaign_id = campaigns.create(recipients(2), start=False)
    campaigns.set_status(campaign_id, before)
    entered = "2026-11-27T09:00:00.123Z"
    history_before = status_history(_campaign(stack, campaign_id))

    _move(stack, state, campaign_id, entered)
    _move(stack, state, campaign_id, entered)  # the same state's retry: Step Functions never saw the answer

    item = _campaign(stack, campaign_id)
    assert item["status"] == after
    assert status_history(item)[len(history_before) :] == [{"status": after, "at": entered}]


@pytest.mark.parametrize(("state", "before", "after"), MOVES)
def test_a_move_from_another_status_is_refused(
    stack: TestStack, campaigns: Campaigns, state: str, before: str, after: str
) -> None:
    campaign_id = campaigns.create(recipients(2), start=False)
    campaigns.set_status(campaign_id, "Finished")  # final: no move may leave it

    with pytest.raises(ClientError) as refused:
        _move(stack, state, campaign_id, "2026-11-27T09:00:00.123Z")

    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert _campaign(stack, campaign_id)["status"] == "Finished"


def test_a_cancelled_campaign_keeps_its_reason_when_the_workflow_fails_it_later(
    stack: TestStack, campaigns: Campaigns
) -> None:
    campaign_id = campaigns.create(recipients(2), start=False)
    stack.api("DELETE", f"/campaigns/{campaign_id}")

    with pytest.raises(ClientError):
        _move(stack, "MarkFailed", campaign_id, "2026-11-27T09:00:00.123Z")

    assert _campaign(stack, campaign_id)["failureReason"] == "Cancelled"
