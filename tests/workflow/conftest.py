"""Fixtures for campaigns run through the real state machine in moto's Step Functions interpreter.

`campaigns` writes campaigns like POST /campaigns and starts their executions (support.py);
`provider` installs a fake voice provider (never a fake of AWS) in the Dispatch and Reconcile
handlers.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from tests.conftest import TestStack
from tests.workflow.support import Campaigns, FakeProvider, answer_invoke_locally


@pytest.fixture(autouse=True)
def _state_machine_reaches_handlers(stack: TestStack) -> Iterator[None]:
    """mock_aws patches boto3's default session to None; the interpreter's Lambda tasks use it."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    undo = answer_invoke_locally(boto3.DEFAULT_SESSION, stack.functions)
    yield
    undo()


@pytest.fixture
def campaigns(stack: TestStack) -> Iterator[Campaigns]:
    yield Campaigns(stack)
    # Executions a test left waiting (for a callback, or a scheduled start) end with the test.
    sfn = stack.client("stepfunctions")
    machine = stack.outputs["CampaignStateMachineArn"]
    for execution in sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]:
        sfn.stop_execution(executionArn=execution["executionArn"])


@pytest.fixture
def provider(stack: TestStack, monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    fake = FakeProvider()
    for function in ("DispatchFunction", "ReconcileFunction"):
        monkeypatch.setattr(stack.functions.module(function), "make_provider", lambda: fake)
    return fake
