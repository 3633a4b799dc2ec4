"""Fixtures for the offline stack's own tests: fake credentials, one region, nothing real reachable."""

from __future__ import annotations

import pytest

REGION = "us-east-1"


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


from local.moto_fixes import apply_fixes  # noqa: E402 - after the fixtures it does not need

apply_fixes()  # as the offline stack runs moto: one lock, undo-log transactions, trimmed streams, ...
