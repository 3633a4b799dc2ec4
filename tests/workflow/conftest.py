"""Fixtures for campaigns run through the real state machine in moto's Step Functions interpreter.

`campaigns` writes campaigns like POST /campaigns and starts their executions (support.py);
`provider` installs a fake voice provider (never a fake of AWS) in the Dispatch and Reconcile
handlers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import TestStack
from tests.workflow.support import Campaigns, FakeProvider


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
