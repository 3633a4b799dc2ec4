"""Shared fixtures: the stack's resources created in moto from template.yaml, handlers run in-process.

`stack` gives a fresh in-memory AWS (moto, with the Step Functions interpreter executing ASL)
holding every resource of the template, with the template's handlers run the way
`sam local invoke` runs them: the offline stack's one fixture for product tests
(local/testing.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.testing import REGION, ApiResponse, InMemoryStack, api_response, in_memory_stack, load_template

ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = ROOT / "events"
TestStack = InMemoryStack  # the name product tests use
__all__ = ["EVENTS_DIR", "REGION", "ApiResponse", "TestStack", "api_response", "load_event"]


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_aws_environment(monkeypatch)


def _fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and one region, so nothing can reach a real account."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def stack(template: dict[str, Any]) -> Iterator[InMemoryStack]:
    with in_memory_stack(template) as created:
        os.environ["API_URL"] = "https://api.example.test/dev"
        yield created


@pytest.fixture(scope="module")
def module_stack(template: dict[str, Any]) -> Iterator[InMemoryStack]:
    """One stack shared by a module's tests: for many cases that each write nothing, and fuzzing."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _fake_aws_environment(monkeypatch)
        with in_memory_stack(template) as created:
            os.environ["API_URL"] = "https://api.example.test/dev"
            yield created


def load_event(name: str) -> dict[str, Any]:
    return json.loads(Path(EVENTS_DIR, name).read_text())
